#!/usr/bin/env python3
"""Writes examples/slivka/jobs.jsonl, the mix `make demo` sends: every sample
job of jobs/ plus variants (more alignments of each size, a few more
mistakes, a truncated JSON payload), shuffled, one entry per line. The
variants are made from a fixed seed, so running it again gives the same
file; run it after changing the samples, then check the outcome table in
jobs/README.md with `make demo`.

    examples/slivka/make-jobs-jsonl.py
"""

import base64
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
RESIDUES = "ACDEFGHIKLMNPQRSTVWY"

rng = random.Random(39)


def job_id():
    """A slivka job id: URL-safe base64 of 12 bytes."""
    return base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(12))).decode()


def fasta(count, shortest, longest):
    """`count` synthetic protein records, 60 residues a line."""
    records = []
    for n in range(count):
        residues = "M" + "".join(rng.choice(RESIDUES) for _ in range(rng.randint(shortest, longest) - 1))
        lines = [residues[i:i + 60] for i in range(0, len(residues), 60)]
        records.append(">seq%04d synthetic\n%s\n" % (n + 1, "\n".join(lines)))
    return "".join(records)


def job(service, inputs):
    return {"service": service, "job-id": job_id(), "payload": {"inputs": inputs}}


samples = []
for name in sorted(os.listdir(os.path.join(HERE, "jobs"))):
    if name.endswith(".json"):
        with open(os.path.join(HERE, "jobs", name)) as f:
            samples.append(json.load(f))

two = fasta(2, 140, 150)
variants = [
    # valid, local runner
    job("clustalo", {"input": fasta(18, 60, 180), "iterations": "3"}),
    job("clustalo", {"input": fasta(6, 80, 140), "iterations": "2", "dealign": "true"}),
    job("clustalo", {"input": fasta(20, 60, 160), "max-hmm-iterations": "1"}),
    job("mafft", {"input": fasta(10, 80, 160), "retree": "2", "sequence-type": "amino acid"}),
    job("mafft", {"input": fasta(3, 80, 140), "retree": "3", "output-order": "reorder"}),
    job("mafft", {"input": fasta(4, 100, 160), "retree": "1", "matrix": "blosum80"}),
    # valid, default runner (the cluster)
    job("clustalo", {"input": fasta(179, 40, 110), "dealign": "yes"}),
    job("clustalo", {"input": fasta(46, 40, 110), "full-distance": "on"}),
    job("clustalo", {"input": fasta(59, 40, 110)}),
    job("clustalo", {"input": fasta(196, 40, 110), "dealign": "yes"}),
    job("mafft", {"input": fasta(25, 60, 120), "pairwise": "genaf"}),
    job("jpred", {"input": fasta(1, 100, 300), "format": "seq"}),
    job("jpred", {"input": fasta(1, 100, 300), "skippdb": "on"}),
    # invalid
    job("mafft", {"input": two, "retree": "0"}),
    job("clustalo", {"input": two, "iterations": "-1"}),
    job("clustalo", {"input": two, "max-guidetree-iterations": "0", "iterations": "3"}),
    # a JSON payload cut short
    {"service": "jpred", "job-id": job_id(), "payload": '{"inputs": {"input": ">x\\nMKV"'},
]

entries = samples + variants
rng.shuffle(entries)
with open(os.path.join(HERE, "jobs.jsonl"), "w") as f:
    for entry in entries:
        f.write(json.dumps(entry) + "\n")
print("%d entries in jobs.jsonl" % len(entries))
