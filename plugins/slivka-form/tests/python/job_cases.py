"""Writes tests/job_cases.json: jobs for tests/services/everything.service.yaml
and slivka 0.8.5b7's verdict on each, from its own form.

Run with the Python that has slivka==0.8.5b7 installed:
    python tests/python/job_cases.py > tests/job_cases.json
A job is `{"inputs": {name: string | [string|null] | null}}`, mapped onto
slivka's form as switchyard pins it: strings of a file field are uploaded
files' contents, other strings form data, lists give their non-null
elements, null gives nothing. The verdict is the sorted list of
[field, code] slivka reports (empty: valid), or "500" where slivka fails the
request. The Rust test `job_cases` checks slivka-form agrees.
"""
import io
import itertools
import json
import os
import sys

import yaml
from werkzeug.datastructures import FileStorage, MultiDict
from slivka.conf import loaders
from slivka.server.forms.fields import FileField
from slivka.server.forms.file_proxy import FileProxy
from slivka.server.forms.form import FormLoader
from slivka.utils import ConfigYamlLoader

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = os.path.join(HERE, "..", "services", "everything.service.yaml")

with open(SERVICE) as f:
    conf = yaml.load(f, ConfigYamlLoader)
conf["id"] = "everything"
FORM = FormLoader().read_config(loaders._deserialize(loaders.ServiceConfig, conf))


def verdict(inputs):
    try:
        data, files = MultiDict(), MultiDict()
        for name, value in inputs.items():
            values = ([] if value is None else [value] if isinstance(value, str)
                      else [v for v in value if v is not None])
            for v in values:
                field = FORM[name]  # KeyError for an unknown name: HTTP 500
                if isinstance(field, FileField):
                    files.add(name, FileProxy(file=io.BytesIO(v.encode("utf-8"))))
                else:
                    data.add(name, v)
        form = FORM(data, files)
        form.is_valid()
        return sorted([k, e.code] for k, e in form.errors.items())
    except Exception:  # noqa: BLE001 - slivka answers HTTP 500
        return "500"


FASTA = ">a\nMKV\n>b\nMKL\n"
VALUES = {
    "sequences": [FASTA, "", "MKV", ">a\n", ">a\n\n>b\nMK", "é>a\nMK", ">a\nMK\x00", "  \n>x\nAC"],
    "notes": ["plain text\n", "", "tab\there", "bell\x07", "nul\x00", "del\x7f", "é ✓", "\x0b"],
    "settings": ["{}", "", "[1, 2]", "NaN", "{\"a\": Infinity}", "[1,]", "{'a': 1}", "01",
                 "\"\\ud800\"", " 7 ", "1.", "[" * 1000 + "]" * 1000],
    "extra-files": [[FASTA], [FASTA, "x"], [], [None], [""], ["x", FASTA]],
    "anything": ["", "\x00binary", FASTA],
    "count": ["1", "100", "0", "101", "", " 7 ", "+5", "1_0", "1__0", "5.0", "abc", "٣",
              "1e2", "-0", "99999999999999999999999", ["3", "200"], [None, "50"], [], [None]],
    "offset": ["-5", "-6", "0", "x", "0x10", "1_000_000"],
    "threshold": ["0", "0.0", "1e-9", "1.5", "1.5000001", "-0", "inf", "-inf", "nan", "NaN",
                  "1_0", "  .5  ", "1e", "infinity", "abc", "١.٥"],
    "weight": ["nan", "inf", "1e999", "-1e999", "0x10", "1.5"],
    "title": ["ab", "a", "abcdefgh", "abcdefghi", "αβ", "é" * 8, "\U0001F600\U0001F600", ""],
    "label": ["", "x", "0"],
    "verbose": ["true", "false", "FALSE", "no", "N", "f", "None", "null", "off", "0", "",
                "yes", "anything", "False ", ["false", "true"], ["true", "false"]],
    "fast": ["false", "true", "0", ""],
    "must-agree": ["true", "false", "", "no"],
    "format": ["clustal", "fasta", "1", "clu", "Clustal", "", "one"],
    "levels": [["1", "9"], ["10"], ["x"], ["1", ""], [""], ["1", None, "2"], "5"],
    "tags": [["abc", "d"], ["abcd"], [""], ["ab", ""]],
    "modes": [["a", "b"], ["c"], [], [""], "b", ["a", ""]],
    "gap-open": ["1.0", "", "x"],
    "gap-extend": ["0.1", "", "x"],
    "iterations": ["5", "10", "11", ""],
    "summary": ["abc", "abcd", "", "x"],
    "broken": ["1", ""],
}

BASE = {"sequences": FASTA, "must-agree": "true"}
CASES = []


def case(inputs, note, difference=None, needs=None):
    CASES.append({"inputs": inputs, "note": note, "slivka": verdict(inputs),
                  "difference": difference, "needs": needs})


case(dict(BASE), "only the required file")
case({}, "nothing")
case({"sequences": None}, "null file")
case({"sequences": [None, FASTA]}, "list with a null first")
case({"sequences": ["MKV", FASTA]}, "single file field takes the first")
case({"sequences": [FASTA, "MKV"]}, "single file field takes the first (good)")
case(dict(BASE, unknown="x"), "unknown input")
case(dict(BASE, unknown=None), "unknown null input")
for name, values in VALUES.items():
    for value in values:
        inputs = dict(BASE)
        inputs[name] = value
        nan = name == "threshold" and str(value).lower() == "nan"
        # Cases that need the Biopython-exact FASTA reader or Python's
        # int()/float() with Unicode digits (see `PENDING` in job_cases.rs).
        needs = ("fasta" if name in ("sequences", "extra-files")
                 else "number" if any(ord(c) > 127 for c in str(value))
                 and name in ("count", "offset", "threshold", "weight")
                 else None)
        case(inputs, f"{name}={value!r}"[:80], "D3" if nan else None, needs)

# Conditions with the fields they read.
for verbose, count, gap_open, gap_extend in itertools.product(
        ["true", "false", None], ["3", "10", None], ["1.0", None], ["0.1", None]):
    inputs = dict(BASE)
    for name, value in [("verbose", verbose), ("count", count), ("gap-open", gap_open),
                        ("gap-extend", gap_extend)]:
        if value is not None:
            inputs[name] = value
    case(inputs, f"conditions {verbose} {count} {gap_open} {gap_extend}")
for title, summary in itertools.product(["long", "ab", None], ["abcdef", "abc", None]):
    inputs = dict(BASE)
    if title:
        inputs["title"] = title
    if summary:
        inputs["summary"] = summary
    case(inputs, f"summary {title} {summary}")
for iterations, count in itertools.product(["5", "50"], ["20", None, "x"]):
    inputs = dict(BASE, iterations=iterations)
    if count:
        inputs["count"] = count
    case(inputs, f"iterations {iterations} count {count}")
# Several errors at once: one per field.
case({"count": "0", "title": "a", "format": "xml", "levels": ["1", "99", "x"]}, "many errors")
case({"sequences": "", "count": "x", "verbose": "true", "gap-open": "1"}, "errors stop conditions")

json.dump(CASES, sys.stdout, indent=1, ensure_ascii=False)
print()
