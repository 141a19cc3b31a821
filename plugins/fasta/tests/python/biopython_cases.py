"""Writes tests/biopython_cases.json: FASTA texts with Biopython's reading.

Why this exists: the `fasta` crate must read a text exactly as slivka does,
that is as Biopython 1.88 does when slivka checks an `application/fasta`
upload and slivka-bio's limiters count one:

    list(Bio.SeqIO.parse(io.TextIOWrapper(io.BytesIO(text.encode("utf-8")),
                                          encoding="ascii"), "fasta"))

This script builds a corpus (systematic cases for every class of line, then
seeded random texts over awkward characters), asks Biopython about each and
writes the answers as JSON; `tests/biopython.rs` checks the crate agrees on
every case. The fixture is committed, so the Rust tests need no Python.

Run from the repository root with a Python that has biopython==1.88:

    python plugins/fasta/tests/python/biopython_cases.py

Each case is {"name", "parts": [[piece, repeat], ...], "expect"}; the text is
the pieces, each repeated, joined (so long lines stay small in the file).
"expect" is {"sequences": n, "residues": n} or {"error": "ValueError" |
"UnicodeDecodeError" | "IndexError"}.
"""

import io
import json
import random
import sys
from pathlib import Path

import Bio
from Bio import SeqIO

if Bio.__version__ != "1.88":
    sys.exit(f"Biopython 1.88 is the reference, this is {Bio.__version__}")

OUT = Path(__file__).resolve().parent.parent / "biopython_cases.json"
SEED = 12


def biopython(text):
    """Biopython's answer for `text`, as the fixture records it."""
    stream = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="ascii")
    try:
        records = list(SeqIO.parse(stream, "fasta"))
    except (ValueError, IndexError) as error:
        # UnicodeDecodeError is a ValueError; slivka catches both.
        return {"error": type(error).__name__}
    return {"sequences": len(records), "residues": sum(len(r.seq) for r in records)}


cases = []


def add(name, *parts):
    """Adds a case; a part is a string or (string, repeat)."""
    merged = []
    for part in parts:
        piece, repeat = (part, 1) if isinstance(part, str) else part
        if repeat == 1 and merged and merged[-1][1] == 1:
            merged[-1][0] += piece
        else:
            merged.append([piece, repeat])
    parts = merged or [["", 1]]
    text = "".join(piece * repeat for piece, repeat in parts)
    cases.append({"name": name, "parts": parts, "expect": biopython(text)})


# --- Systematic cases, one class of line at a time. ---
add("empty", "")
for name, text in [
    ("newline only", "\n"),
    ("carriage return only", "\r"),
    ("crlf only", "\r\n"),
    ("space only", " "),
    ("tab only", "\t"),
    ("whitespace only", " \t\n \r\n\t"),
    ("NUL only", "\0"),
    ("vertical tab only", "\x0b"),
    ("form feed only", "\x0c"),
]:
    add(name, text)

for name, text in [
    ("gt only", ">"),
    ("gt newline", ">\n"),
    ("gt crlf", ">\r\n"),
    ("gt cr", ">\r"),
    ("header only", ">a\n"),
    ("header only no newline", ">a"),
    ("header with description", ">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\nMVLSPADKTNVKAAWGKVGA\n"),
    ("two headers", ">a\n>b\n"),
    ("header then blank lines", ">a\n\n\n"),
    ("header then whitespace lines", ">a\n \n\t\n"),
    ("gt gt", ">>\nMK\n"),
    ("header of spaces", ">   \nMK\n"),
    ("header of tabs", ">\t\t\nMK\n"),
    ("header with NUL", ">a\0b\nMK\n"),
    ("header with vertical tab", ">a\x0bb\nMK\n"),
    ("header with form feed", ">a\x0cb\nMK\n"),
    ("header then gt mid line", ">a b>c\nMK\n"),
]:
    add(name, text)

for name, text in [
    ("leading blank line", "\n>a\nMKV\n"),
    ("leading crlf", "\r\n>a\nMKV\n"),
    ("leading cr", "\r>a\nMKV\n"),
    ("leading space", " >a\nMKV\n"),
    ("leading tab", "\t>a\nMKV\n"),
    ("leading comment", "; comment\n>a\nMKV\n"),
    ("leading hash comment", "# comment\n>a\nMKV\n"),
    ("sequence first", "MKV\n>a\nMKV\n"),
    ("sequence without header", "MKV\n"),
    ("leading NUL", "\0>a\nMKV\n"),
    ("leading vertical tab", "\x0b>a\nMKV\n"),
    ("leading form feed", "\x0c>a\nMKV\n"),
    ("leading BOM", "\ufeff>a\nMKV\n"),
    ("json", '{"not": "fasta"}'),
]:
    add(name, text)

for name, text in [
    ("plain", ">a\nMKV\n"),
    ("wrapped", ">a\nMKV\nLLA\nG\n"),
    ("lowercase", ">a\nacgt\n"),
    ("blank lines between", ">a\nMK\n\nV\n\n>b\n\nM\n"),
    ("internal spaces", ">a\nM K V\n"),
    ("internal tabs", ">a\nM\tK\tV\n"),
    ("leading and trailing spaces", ">a\n  MKV  \n"),
    ("digits", ">a\n1 MKV 11\n61 LLA\n"),
    ("dots", ">a\nMK..V\n"),
    ("dashes", ">a\n--MKV--\n"),
    ("stars", ">a\nMKV*\n"),
    ("gt mid line", ">a\nMK>V\n"),
    ("gt after space", ">a\n >b\nMK\n"),
    ("NUL in sequence", ">a\nM\0K\n"),
    ("vertical tab in sequence", ">a\nM\x0bK\n"),
    ("form feed in sequence", ">a\nM\x0cK\n"),
    ("file separator in sequence", ">a\nM\x1cK\x1dV\x1eL\n"),
    ("escape and delete", ">a\nM\x1bK\x7f\n"),
    ("cr line ends", ">a\rMK\rV\r>b\rLL\r"),
    ("crlf line ends", ">a\r\nMK\r\nV\r\n>b\r\nLL\r\n"),
    ("mixed line ends", ">a\nMK\r\nV\rL\n\r>b\r\rLL"),
    ("cr before gt", ">a\nMK\r>b\nV"),
    ("lone cr inside", ">a\nM\rK\n"),
    ("no final newline", ">a\nMKV"),
    ("many records", ">a\nM\n>b\nMK\n>c\nMKV\n>d\n>e\nMKVL\n"),
    ("punctuation", ">a\n!\"#$%&'()+,/:;<=?@[\\]^_`{|}~\n"),
]:
    add(name, text)

for name, text in [
    ("e acute in sequence", ">a\nMKé\n"),
    ("e acute in header", ">é\nMK\n"),
    ("e acute before header", "é\n>a\nMK\n"),
    ("nbsp in sequence", ">a\nMK\u00a0V\n"),
    ("next line character", ">a\nMK\u0085V\n"),
    ("line separator", ">a\nMK\u2028V\n"),
    ("emoji in header", ">a \U0001f600\nMK\n"),
    ("non-ascii in last line", ">a\nMK\n>b\nV\nLLé"),
]:
    add(name, text)
add("non-ascii after many lines", ">a\n", ("MKVLLAGGTT\n", 2000), ">b\nMKé\n")
add("non-ascii far into a long line", ">a\n", ("M", 20000), "é\n")

# Long lines, and line ends on the decoder's 8192-character chunk edges.
add("long line", ">a\n", ("ACDEFGHIKLMNPQRSTVWY", 5000), "\n")
add("long header", ">", ("x", 100000), "\nMKV\n")
add("long line with spaces", ">a\n", ("MKV ", 30000))
add("many short records", (">s\nMKV\n", 20000))
for before in range(8185, 8195):
    add(f"crlf at {before}", ">a\n", ("M", before - 3), "\r\n", "KV\r\n>b\r\nL")
    add(f"cr at {before}", ">a\n", ("M", before - 3), "\r", ">b\rKV")
    add(f"gt at {before}", ">a\n", ("M", before - 4), "\n>b\nKV")
add("cr then lf at chunk edges", ">a", ("\r", 8191), ("\n", 3), "MK")

# --- Random texts over awkward pieces (seeded, so the fixture is stable). ---
PIECES = (
    [">"] * 6
    + ["\n"] * 8
    + ["\r", "\r\n", " ", "\t", "  ", "\0", "\x0b", "\x0c", "\x1c", "\x7f"]
    + list("ACDEFGHIKLMNPQRSTVWYacgt") * 2
    + list("0123456789.-*;#>!")
    + ["MKVLLAGG" * 4, "header text", "é", "\u00a0", "\u0085", "\u2028", "\U0001f600"]
)
ASCII_PIECES = [p for p in PIECES if p.isascii()]
random = random.Random(SEED)
for index in range(2500):
    pieces = ASCII_PIECES if index % 3 else PIECES
    length = random.choice([1, 2, 3, 5, 8, 13, 21, 40, 80])
    body = [random.choice(pieces) for _ in range(length)]
    # Most texts start with a header, so most are read rather than refused.
    start = [">" + random.choice(["", "a", "seq 1", " "]) + random.choice(["\n", "\r\n", "\r", ""])]
    parts = start + body if index % 5 else body
    add(f"random {index}", *parts)

# One case a line, so a change to the corpus reads well in a diff.
with OUT.open("w") as out:
    out.write(f'{{"biopython": "{Bio.__version__}", "seed": {SEED}, "cases": [\n')
    out.write(",\n".join(json.dumps(case) for case in cases))
    out.write("\n]}\n")
errors = sum("error" in c["expect"] for c in cases)
print(f"{len(cases)} cases ({errors} errors) written to {OUT}")
