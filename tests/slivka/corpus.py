"""The differential test's corpus: the submissions slivka and switchyard both
judge (tests/slivka.rs runs this, then oracle.py and the plugins on its output).

Writes one JSON object per line to standard output:
    {"id", "service", "inputs", "class", "type", "field", "media_types", "bounded"}
`inputs` is a switchyard payload's inputs (NAME: string | [string|null] | null),
`type` is what the agreement table groups by (the declared type of the
parameter under test, "condition", "combination", "unknown-parameter",
"slivka-test", "base" or "runner"), `field` the parameter under test (if
one), `media_types` the service's file parameters and their media types,
`bounded` its parameters with a `min` or `max`, `class` names the kind of value (a boundary, a spelling, a FASTA
oddity, ...). The output depends only on the service files and the seed.

usage: corpus.py --services DIR [--services DIR ...] --tiers tiers.json [--seed N]
"""

import argparse
import json
import os
import random
import sys

import yaml

MISSING = object()

FALSE_SPELLINGS = ["no", "No", "NO", "false", "False", "FALSE", "0", "n", "N",
                   "f", "F", "none", "None", "NONE", "null", "NULL", "off",
                   "Off", "OFF"]
TRUE_SPELLINGS = ["yes", "true", "True", "TRUE", "1", "on", "t", "T", "y", "Y",
                  "anything", " ", "  false ", "00", "0.0", "nan", "-1",
                  "\u0660", "false!", "nö"]

# Text that Python's int() / float() read as numbers, or almost do.
NUMBER_SPELLINGS = [
    ("python-underscore", "5_0"), ("python-underscore", "1_000"),
    ("python-underscore-bad", "_5"), ("python-underscore-bad", "5_"),
    ("python-underscore-bad", "1__0"),
    ("full-width-digits", "\uff13"), ("full-width-digits", "\uff11\uff10"),
    ("arabic-indic-digits", "\u0663"), ("arabic-indic-digits", "\u0661\u0660"),
    ("devanagari-digits", "\u0967"),
    ("whitespace", " 7 "), ("whitespace", "\t3\n"), ("whitespace", "\u00a04"),
    ("whitespace", "\u20032"), ("whitespace", "   "),
    ("sign", "+3"), ("sign", "-0"), ("sign", "+-3"), ("sign", "- 3"),
    ("float-text", "7.0"), ("float-text", "7.5"), ("float-text", "1e1"),
    ("float-text", ".5"), ("float-text", "5."),
    ("hex", "0x10"), ("octal", "0o7"), ("binary", "0b1"),
    ("leading-zeros", "007"),
    ("inf", "inf"), ("inf", "-inf"), ("inf", "Infinity"), ("inf", "+INF"),
    ("inf", "infinity "),
    ("nan", "nan"), ("nan", "NaN"), ("nan", "-nan"), ("nan", "+NAN"),
    ("huge", "1e400"), ("huge", "-1e400"), ("huge", "1e308"),
    ("tiny", "1e-400"), ("tiny", "-1e-320"),
    ("big-int", "99999999999999999999999"),
    ("big-int", "-99999999999999999999999"),
    ("big-int", "9223372036854775808"), ("big-int", "-9223372036854775809"),
    ("big-int", "18446744073709551616"),
    ("not-a-number", "abc"), ("not-a-number", "1,5"), ("not-a-number", "1 2"),
    ("not-a-number", "True"), ("not-a-number", "0x"), ("not-a-number", "e5"),
    ("not-a-number", "1e"), ("not-a-number", "--1"), ("not-a-number", "\u00bd"),
    ("not-a-number", "\u2155"), ("not-a-number", "\u00b2"),
    ("float-underscore", "1_0.5"), ("float-underscore", "1.5_0"),
    ("float-underscore", "1_e3"), ("float-digits", "\u0663.\u0665"),
    ("float-digits", "\uff13.\uff15"), ("float-exp", "1E-3"),
    ("float-exp", "2.5e+0"), ("nul", "1\u0000"),
]

FASTA_CLASSES = [
    ("fasta-valid", ">a\nACGT\n>b\nAC\n"),
    ("fasta-valid-one", ">seq1 description here\nMKV\n"),
    ("fasta-wrapped", ">a\nACGT\nACGT\nAC\n"),
    ("fasta-no-final-newline", ">a\nACGT"),
    ("fasta-header-only", ">a\n"),
    ("fasta-header-only", ">a"),
    ("fasta-bare-gt", ">"),
    ("fasta-bare-gt", ">\n"),
    ("fasta-bare-gt", ">\nACGT\n"),
    ("fasta-header-then-record", ">a\n>b\nACGT\n"),
    ("fasta-digits", ">a\nAC12GT\n"),
    ("fasta-dots", ">a\nAC..GT\n"),
    ("fasta-gaps", ">a\nAC--GT\n"),
    ("fasta-spaces", ">a\nAC GT\n"),
    ("fasta-tabs", ">a\nAC\tGT\n"),
    ("fasta-lowercase", ">a\nacgt\n"),
    ("fasta-crlf", ">a\r\nACGT\r\n"),
    ("fasta-blank-lines", "\n\n>a\n\nAC\n\n"),
    ("fasta-comment-first", ";comment\n>a\nAC\n"),
    ("fasta-text-first", "junk\n>a\nAC\n"),
    ("fasta-leading-space", " >a\nAC\n"),
    ("fasta-no-header", "ACGT\n"),
    ("fasta-non-ascii-header", ">\u00e9\nACGT\n"),
    ("fasta-non-ascii-sequence", ">a\nAC\u00c9GT\n"),
    ("fasta-non-ascii-later", ">a\nACGT\n>b\nAC\n>\u00fc\nA\n"),
    ("fasta-nul", ">a\nAC\u0000GT\n"),
    ("fasta-control", ">a\nAC\u0001GT\n"),
    ("fasta-del", ">a\nAC\u007fGT\n"),
    ("fasta-only-whitespace", " \n\t\n"),
    ("fasta-star", ">a\nMKV*\n"),
    ("empty-file", ""),
    ("json-file", '{"a": [1, 2.5, null]}'),
    ("json-file", "[1, 2"),
    ("json-file", "NaN"),
    ("json-file", "\ufeff{}"),
    ("json-file", '{"\u00e9": 1}'),
    ("yaml-file", "a: [1, 2\n"),
    ("yaml-file", "key: value\n"),
    ("plain-text", "hello world\n"),
    ("plain-text", "caf\u00e9\n"),
    ("plain-text", "bell\u0007tab\tesc\u001b\n"),
    ("plain-text", "nul\u0000\n"),
    ("plain-text", "del\u007f\n"),
    ("plain-text", "vt\u000b\n"),
    ("clustal", "CLUSTAL W (1.83) multiple sequence alignment\n\na    ACGT\nb    ACGA\n"),
    ("stockholm", "# STOCKHOLM 1.0\na ACGT\nb ACGA\n//\n"),
]


def fasta(count, length, rng, header="seq"):
    """`count` records of `length` residues, 60 to a line."""
    out = []
    for i in range(count):
        out.append(">%s%d\n" % (header, i + 1))
        seq = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(length))
        for j in range(0, len(seq), 60):
            out.append(seq[j:j + 60] + "\n")
    return "".join(out)


def fasta_lengths(lengths, rng):
    """One record per length, 60 residues to a line."""
    out = []
    for i, length in enumerate(lengths):
        out.append(">s%d\n" % (i + 1))
        seq = "".join(rng.choice("ACGT") for _ in range(length))
        for j in range(0, len(seq), 60):
            out.append(seq[j:j + 60] + "\n")
    return "".join(out)


def odd_fasta(rng):
    """Records near the local tiers with what FASTA readers disagree on:
    header-only records, spaces and tabs inside sequences, blank lines,
    CRLF, lower case, digits and gaps."""
    newline = rng.choice(["\n", "\r\n"])
    out = []
    for i in range(rng.randint(1, 35)):
        out.append(">r%d %s%s" % (i, rng.choice(["", "desc", "x y"]), newline))
        length = rng.choice([0, rng.randint(1, 40), rng.randint(400, 620)])
        seq = "".join(rng.choice("ACGTacgt-.*0123 \t") for _ in range(length))
        width = rng.choice([60, 80, 1000])
        for j in range(0, len(seq), width):
            out.append(seq[j:j + width] + newline)
        if rng.random() < 0.2:
            out.append(newline)
    return "".join(out)


def load_services(dirs):
    services = []
    for directory in dirs:
        for name in sorted(os.listdir(directory)):
            if not (name.endswith(".service.yaml") or name.endswith(".service.yml")):
                continue
            with open(os.path.join(directory, name)) as f:
                conf = yaml.safe_load(f)
            services.append((name.split(".service.")[0], conf))
    return services


def is_array(param):
    return param["type"].endswith("[]")


def base_type(param):
    return param["type"][:-2] if is_array(param) else param["type"]


def needs_value(param):
    return bool(param.get("required", True)) and param.get("default") is None


def valid_value(param, rng):
    kind = base_type(param)
    if kind in ("int", "integer"):
        low, high = param.get("min"), param.get("max")
        value = 1 if low is None else low
        if high is not None and value > high:
            value = high
        text = str(value)
    elif kind in ("float", "decimal"):
        low, high = param.get("min"), param.get("max")
        if low is not None and high is not None:
            text = repr((low + high) / 2)
        elif low is not None:
            text = repr(low + 1.0)
        elif high is not None:
            text = repr(high - 1.0)
        else:
            text = "0.5"
    elif kind in ("text", "string"):
        text = "a" * max(param.get("min-length") or 1, 1)
    elif kind in ("boolean", "flag"):
        text = "true"
    elif kind == "choice":
        keys = [k for k in (param.get("choices") or {}) if isinstance(k, str)]
        text = keys[0] if keys else "x"
    elif kind == "file":
        text = fasta(2, 10, rng)
    else:
        text = "x"
    return [text] if is_array(param) else text


def number_variants(param, integer):
    out = []
    low, high = param.get("min"), param.get("max")
    excl_low = bool(param.get("min-exclusive")) and not integer
    excl_high = bool(param.get("max-exclusive")) and not integer
    for bound, name, exclusive in ((low, "min", excl_low), (high, "max", excl_high)):
        if bound is None:
            continue
        edge = "exclusive-" if exclusive else ""
        if integer:
            for delta in (-1, 0, 1):
                out.append(("%s%s%+d" % (edge, name, delta), str(bound + delta)))
        else:
            for delta in (-1, 0, 1):
                out.append(("%s%s%+d" % (edge, name, delta), repr(float(bound) + delta)))
            for delta in (-1e-9, 1e-9):
                out.append(("%s%s%+g" % (edge, name, delta), repr(float(bound) + delta)))
            out.append(("%s%s-as-int" % (edge, name), str(int(bound)) if float(bound).is_integer() else repr(bound)))
    out.extend(NUMBER_SPELLINGS)
    return out


def variants(param, rng):
    """(class, value) pairs for one parameter; value MISSING drops it."""
    kind = base_type(param)
    out = [("missing", MISSING), ("null", None), ("empty-string", ""),
           ("list-empty", []), ("list-null", [None]), ("list-empty-string", [""])]
    if kind in ("int", "integer"):
        out += number_variants(param, True)
    elif kind in ("float", "decimal"):
        out += number_variants(param, False)
    elif kind in ("text", "string"):
        lows = param.get("min-length")
        highs = param.get("max-length")
        for bound, name in ((lows, "min-length"), (highs, "max-length")):
            if bound is None:
                continue
            for delta in (-1, 0, 1):
                if bound + delta >= 0:
                    out.append(("%s%+d" % (name, delta), "x" * (bound + delta)))
                    out.append(("%s%+d-non-ascii" % (name, delta), "\u00e9" * (bound + delta)))
                    out.append(("%s%+d-astral" % (name, delta), "\U0001F600" * (bound + delta)))
        out += [("whitespace", "   "), ("whitespace", " a "), ("text", "abc"),
                ("text", "hello"), ("text", "null"), ("text", "0"),
                ("newline", "a\nb"), ("combining", "e\u0301e\u0301e\u0301"),
                ("nul", "ab\u0000")]
    elif kind in ("boolean", "flag"):
        out += [("false-spelling", s) for s in FALSE_SPELLINGS]
        out += [("true-spelling", s) for s in TRUE_SPELLINGS]
    elif kind == "choice":
        choices = param.get("choices") or {}
        for key, value in choices.items():
            out.append(("choice-key", str(key)))
            if value is not None:
                out.append(("choice-value", str(value)))
            out.append(("choice-key-case", str(key).upper()))
            out.append(("choice-key-space", " %s" % key))
        out += [("choice-unknown", "zzz"), ("choice-null-text", "null"),
                ("choice-null-text", "None")]
    elif kind == "file":
        out += FASTA_CLASSES
        out.append(("fasta-large", fasta(50, 300, rng)))
    # A list for a single-valued field, and several values for an array.
    good = valid_value(param, rng)
    good = good[0] if isinstance(good, list) else good
    out += [("list-first-valid", [good, "zzz-not-valid"]),
            ("list-first-invalid", ["zzz-not-valid", good]),
            ("list-null-then-valid", [None, good]),
            ("list-valid-then-empty", [good, ""]),
            ("list-empty-then-valid", ["", good]),
            ("list-two-valid", [good, good])]
    return out


def form_cases(services, rng):
    cases = []
    for service, conf in services:
        params = conf.get("parameters") or {}
        base = {name: valid_value(p, rng) for name, p in params.items() if needs_value(p)}
        cases.append(dict(service=service, inputs=dict(base), cls="base", type="base", field=None))
        for name, param in params.items():
            for cls, value in variants(param, rng):
                inputs = dict(base)
                if value is MISSING:
                    inputs.pop(name, None)
                else:
                    inputs[name] = value
                cases.append(dict(service=service, inputs=inputs, cls=cls,
                                  type=param["type"], field=name))
        cases.append(dict(service=service, inputs=dict(base, **{"no-such-parameter": "1"}),
                          cls="unknown-parameter", type="unknown-parameter", field="no-such-parameter"))
        cases.append(dict(service=service, inputs=dict(base, **{"no-such-parameter": None}),
                          cls="unknown-parameter-null", type="unknown-parameter", field="no-such-parameter"))
        cases.append(dict(service=service, inputs={}, cls="nothing", type="base", field=None))
    return cases


def combination_cases(services, rng, per_service=60):
    """Several parameters set at once, each to one of its variants, so that
    errors on many fields (and their interplay) are compared too."""
    cases = []
    for service, conf in services:
        params = conf.get("parameters") or {}
        pools = {name: [v for _, v in variants(p, rng) if v is not MISSING]
                 for name, p in params.items()}
        base = {name: valid_value(p, rng) for name, p in params.items() if needs_value(p)}
        for _ in range(per_service):
            inputs = dict(base)
            for name, pool in pools.items():
                if rng.random() < 0.4:
                    inputs[name] = rng.choice(pool)
            cases.append(dict(service=service, inputs=inputs, cls="combination",
                              type="combination", field=None))
    return cases


def condition_cases(rng, count=400):
    """Random combinations over the conditions service's fields."""
    domains = {
        "n": [None, "0", "1", "3", "4", "10"],
        "m": [None, "0", "2", "3", "21", "-1"],
        "chain": [None, "0", "1", "2", "5"],
        "label": [None, "ab", "abc", "abcd", ""],
        "mode": [None, "fast", "slow", "f"],
        "depth": [None, "0", "3"],
        "inverse": [None, "0", "1", "-2"],
        "either": [None, "true", "false"],
        "verbose": [None, "true", "false", "no"],
        "one": [None, "true", "false"],
        "auto": [None, "5", "0"],
        "ratio": [None, "0", "1", "2", "20"],
        "inputs": [None, [">a\nAC\n"], [">a\nAC\n", ">b\nGT\n"], ["x"]],
        "pick": [None, "0", "1"],
        "nothing": [None, "1", "6"],
        "paren": [None, "0", "-5", "1.5", "nan", "inf"],
        "words": [None, ["a"], ["a", "b", "c"], ["a", None, "b"]],
    }
    cases = []
    # Each field alone, with every value.
    for name, values in domains.items():
        for value in values:
            if value is not None:
                cases.append(dict(service="conditions", inputs={name: value},
                                  cls="alone", type="condition", field=name))
    for _ in range(count):
        inputs = {}
        for name, values in domains.items():
            if rng.random() < 0.35:
                value = rng.choice(values)
                if value is not None:
                    inputs[name] = value
        cases.append(dict(service="conditions", inputs=inputs, cls="random",
                          type="condition", field=None))
    return cases


def slivka_test_cases():
    """The inputs of slivka's own form tests (test/form_fields, test/forms),
    as strings; slivka itself is asked for the verdict."""
    s = "slivka-tests"
    rows = []

    def add(test, field, values):
        for value in values:
            rows.append(dict(service=s, inputs={field: value}, cls=test,
                             type="slivka-test", field=field))

    add("test_fetch_value", "text-plain", ["value", "", "0", "False", ["12", "14", "16", "18"]])
    add("test_fetch_array_value", "int-array", ["5", ["1", "1", "2", "3"], [], [""]])
    add("test_string_conversion", "bool",
        ["false", "FALSE", "False", "F", "off", "0", "no", "NO", "N", "NULL",
         "null", "NONE", "", "true", "TRUE", "True", "T", "on", "1", "yes", "YES", "Y"])
    add("test_number_conversion", "bool", ["0", "1", "0.0", "1.0"])
    add("test_validate_if_value_is_choice_key", "choice", ["foo", "bar", "baz"])
    add("test_validate_if_value_is_choice_value", "choice", ["FOO", "BAR", "BAZ"])
    add("test_validate_numeric_choices", "choice-numeric", ["1", "22/7", "42"])
    add("test_validate_none_if_none_is_a_choice", "choice", ["nothing", ""])
    add("test_array_to_cmd_args", "choice-array",
        [["foo", "bar"], ["baz", "BAR", "foo"], ["foo", None], ["bar", "nothing"], [], ["nothing"], ["undefined"]])
    add("test_convert_valid_value", "dec-plain",
        ["0.4", "210000.0", "0.0", "5", "0.001", "0.125", "-12.3", "3.1415e3", ".5", "inf", "-inf"])
    add("test_convert_invalid_value", "dec-plain", ["xyz", "0xFF", "3.14.15", "- 5", "True", "False"])
    add("test_convert_empty_value", "dec-plain", [None, ""])
    add("test_validate_if_value_in_inclusive_bounds", "dec-0-5", ["0.0", "3.5", "5.0"])
    add("test_validate_if_value_in_inclusive_bounds", "dec-10-", ["10.0", "99999.0", "inf"])
    add("test_validate_if_value_in_inclusive_bounds", "dec--5", ["0.0", "-99999.0", "5.0", "-inf"])
    add("test_validate_if_value_in_inclusive_bounds", "dec-plain", ["99999.0", "inf", "-inf"])
    add("test_validate_if_value_in_exclusive_bounds", "dec-x-01-5", ["4.99999999", "0.10000001"])
    add("test_validate_if_value_in_exclusive_bounds", "dec-x-m25-", ["-2.4999999", "999999.9999", "inf"])
    add("test_validate_if_value_not_in_exclusive_bounds", "dec-x-0-5",
        ["0.0", "5.0", "5.0000001", "inf", "-0.000001", "-inf"])
    add("test_convert_valid_integers", "int-plain", ["10", "-8", "0", "1", "15", "-4"])
    add("test_array_convert_valid_integers", "int-array", [["1", "2", "4", "8"], ["1", "4", "16"], ["1", None, "-1"]])
    add("test_empty_values", "int-plain", [None, ""])
    add("test_illegal_value", "int-plain", ["3.1415", "0.65", "xyz", "True", "False", "0xFF"])
    add("test_validate_if_value_not_in_bounds", "int-0-1", ["-1", "-999999", "2", "99999"])
    add("test_validate_if_value_not_in_bounds", "int-m40-m20", ["-19", "-41"])
    add("test_validate_if_value_not_in_bounds", "int-40-80", ["81", "39"])
    add("test_validate_if_value_not_in_bounds", "int-20-", ["19", "0"])
    add("test_validate_if_value_not_in_bounds", "int--m10", ["10", "0"])
    add("test_validate_if_value_in_bounds", "int-0-1", ["0", "1", None])
    add("test_validate_if_value_in_bounds", "int-m40-20", ["0", "-40", "20", "8"])
    add("test_validate_if_value_in_bounds", "int--m10", ["-999999"])
    add("test_validate_if_value_in_bounds", "int-20-", ["999999"])
    add("test_validate_if_value_in_bounds", "int-plain", ["0", "-999999", "999999"])
    add("test_validate_valid_string", "text-plain", ["foo", "bar"])
    add("test_validate_empty_value_if_optional_converted_to_none", "text-plain", ["", None])
    add("test_validate_min_length", "text-min5", ["a", "aaa", "aaaaa", "abababa", "ababababa"])
    add("test_validate_max_length", "text-max5", ["a", "aaa", "aaaaa", "abababa", "ababababa"])
    add("test_array_validation", "int-array",
        [["0", "0", "0"], ["1", "2", "3"], ["1", None, "3"], [None, None, "7"], [None], [""], [], [None, None], ["", "5"]])

    # test/forms/test_form_validation.py: MyForm1 and MyForm2.
    valid1 = {"int": "5", "m_int": ["10", "15", "0"], "m_int2": "2", "float": "5.0",
              "text": "foo bar baz", "bool": "yes", "bool2": "no", "choice": "a",
              "m_choice": ["a", "c"]}
    rows.append(dict(service="myform", inputs=valid1, cls="valid_form1", type="slivka-test", field=None))
    for name in list(valid1):
        inputs = {k: v for k, v in valid1.items() if k != name}
        rows.append(dict(service="myform", inputs=inputs, cls="valid_form1-without-" + name,
                         type="slivka-test", field=name))
    for inputs in ({"int1": "1"}, {"int1": "1", "int3": None}, {"int1": "-1"},
                   {"int1": "1", "int3": "2"}, {"int1": "-1", "int3": "1"}):
        rows.append(dict(service="myform2", inputs=inputs,
                         cls="test_cleaned_data_for_conditions_if_valid_values",
                         type="slivka-test", field=None))
    for inputs in ({"int1": "1", "int2": "0"}, {"int1": "2", "int2": "1"}, {"int1": None},
                   {"int1": "3", "int3": "2"}):
        rows.append(dict(service="myform2", inputs=inputs,
                         cls="test_invalid_form_for_conditions", type="slivka-test", field=None))
    return rows


def runner_cases(tiers, rng):
    """FASTA inputs around every tier boundary, for each service with tiers,
    and a few for a service without (jpred: slivka's default selector)."""
    cases = []

    def add(service, cls, text):
        cases.append(dict(service=service, inputs={"input": text}, cls=cls,
                          type="runner", field="input"))

    for service in sorted(tiers):
        for tier in tiers[service]:
            n, l = tier["max-sequences"], tier["max-average-length"]
            for dn in (-1, 0, 1):
                add(service, "count%+d" % dn, fasta(n + dn, 10, rng))
            for dl in (-1, 0, 1):
                add(service, "average%+d" % dl, fasta(3, l + dl, rng))
            # Average rounded down: total = 3L + 2 floors to L; 3L + 3 is L + 1.
            add(service, "average-floor", fasta_lengths([l, l + 1, l + 1], rng))
            add(service, "average-floor+1", fasta_lengths([l + 1, l + 1, l + 1], rng))
            add(service, "corner", fasta(n, l, rng))
            add(service, "corner-count+1", fasta(n + 1, l, rng))
            add(service, "corner-average+1", fasta_lengths([l + 1] * n, rng))
        add(service, "one-record", ">a\nACGT\n")
        add(service, "header-only-records", ">a\n>b\n>c\nACGT\n")
        add(service, "header-only-zero-length", ">a\n")
        add(service, "spaces-in-sequence", ">a\n" + "AC GT " * 100 + "\n")
        add(service, "tabs-in-sequence", ">a\n" + "AC\tGT" * 100 + "\n")
        add(service, "digits-in-sequence", ">a\n" + "AC12GT" * 100 + "\n")
        add(service, "blank-lines", ">a\n\nACGT\n\n>b\n" + "A" * 600 + "\n\n")
        add(service, "crlf", ">a\r\n" + "A" * 499 + "\r\n>b\r\n" + "A" * 503 + "\r\n")
        for _ in range(20):
            count = rng.randint(1, 60)
            lengths = [rng.randint(0, 1200) for _ in range(count)]
            add(service, "random", fasta_lengths(lengths, rng))
        for _ in range(30):
            add(service, "random-odd", odd_fasta(rng))
    add("jpred", "no-tiers", fasta(5, 100, rng))
    add("jpred", "no-tiers-large", fasta(3000, 10, rng))
    return cases


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", action="append", required=True)
    parser.add_argument("--tiers", required=True)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    services = load_services(args.services)
    with open(args.tiers) as f:
        tiers = json.load(f)
    cases = form_cases(services, rng)
    cases += combination_cases([(s, c) for s, c in services if s != "conditions"], rng)
    if any(s == "conditions" for s, _ in services):
        cases += condition_cases(rng)
    if any(s == "slivka-tests" for s, _ in services):
        cases += slivka_test_cases()
    cases += runner_cases(tiers, rng)
    bounded = {service: [name for name, p in (conf.get("parameters") or {}).items()
                         if p.get("min") is not None or p.get("max") is not None]
               for service, conf in services}
    media_types = {service: {name: p["media-type"] for name, p in (conf.get("parameters") or {}).items()
                             if p.get("media-type") is not None}
                   for service, conf in services}
    out = sys.stdout
    for i, case in enumerate(cases):
        record = {"id": "c%05d" % i, "service": case["service"], "inputs": case["inputs"],
                  "class": case["cls"], "type": case["type"], "field": case["field"],
                  "media_types": media_types.get(case["service"], {}),
                  "bounded": bounded.get(case["service"], [])}
        out.write(json.dumps(record, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
