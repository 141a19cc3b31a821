"""Writes tests/load_cases.json: service files and whether slivka 0.8.5b7
loads each (its own YAML loader, schema, ServiceConfig and FormLoader).

Run with the Python that has slivka==0.8.5b7 installed:
    python tests/python/load_cases.py > tests/load_cases.json
The Rust test `load_cases` checks slivka-form's loader agrees on every case
(except the cases a listed difference covers, marked with its id).
"""
import io
import json
import sys

import jsonschema
import yaml
from slivka.compat import resources
from slivka.conf import loaders
from slivka.server.forms.form import FormLoader
from slivka.utils import ConfigYamlLoader

SCHEMA = json.load(resources.open_text("slivka.conf", "service-schema.json"))

HEAD = """slivka-version: 0.8.5b7
name: Test
command: run
args: {}
outputs: {}
execution:
  runners:
    local:
      type: SlivkaQueueRunner
parameters:
"""


def slivka_loads(text):
    """True when slivka loads the service file `text`, else the reason."""
    try:
        conf = yaml.load(io.StringIO(text), ConfigYamlLoader)
        jsonschema.validate(conf, SCHEMA, jsonschema.Draft7Validator)
        conf["id"] = "test"
        service = loaders._deserialize(loaders.ServiceConfig, conf)
        FormLoader().read_config(service)
    except BaseException as e:  # noqa: BLE001 - any failure refuses the file
        return f"{type(e).__name__}: {e}".splitlines()[0][:200]
    return True


def parameter(body):
    """A file whose only parameter `p` is `body` (indented YAML lines)."""
    return HEAD + "  p:\n" + "".join(f"    {line}\n" for line in body.splitlines())


CASES = []


def case(text, note="", difference=None):
    CASES.append({"text": text, "note": note, "difference": difference})


# Field keys per type, both spellings, unknown keys.
for type_ in ["int", "integer", "float", "decimal", "text", "string", "boolean", "flag",
              "choice", "file", "int[]", "flag[]", "file[]", "choice[]"]:
    case(parameter(f"name: P\ntype: {type_}"), "bare " + type_)
    for key, value in [("min", "1"), ("max", "10"), ("min-exclusive", "true"),
                       ("max_exclusive", "false"), ("min-length", "1"), ("max_length", "5"),
                       ("choices", "{a: A}"), ("media-type", "text/plain"),
                       ("media_type_parameters", "{}"), ("extensions", "[fa]"),
                       ("label", "x"), ("multiple", "true"), ("id", "x"), ("self", "1"),
                       ("description", "d"), ("required", "no"), ("required", "'no'"),
                       ("required", "'maybe'"), ("required", "1"), ("condition", "p > 1"),
                       ("condition", "p >"), ("condition", "1"), ("condition", "null"),
                       ("default", "null"), ("type_", "x")]:
        case(parameter(f"name: P\ntype: {type_}\n{key}: {value}"), f"{type_} {key}: {value}")

# Types.
for type_ in ["Int", "bool", "int[][]", "a.b", "a.b[]", "1int", "int []", "'int'", "5", "null",
              "[int]", "float[", "x_y", "_"]:
    case(parameter(f"name: P\ntype: {type_}"), f"type {type_}",
         "D4" if "." in type_ and not type_.startswith("'") else None)

# Defaults per type.
DEFAULTS = ["0", "5", "-3", "2.5", "5.0", "1e3", "1.0e+3", ".inf", ".nan", "'5'", "'abc'", "''",
            "yes", "no", "'no'", "true", "[]", "[1, 2]", "[a]", "{}", "{a: 1}", "0x10", "010",
            "1_000", "1:30", "'1:30'", "~", "abcdef", "a", "'5 '", "' 7'", "'+3'", "'1_0'",
            "'0x10'", "'1e3'", "'infinity'", "'NaN'", "99999999999999999999999", "1e400",
            "'1e400'", "2020-01-01"]
for type_, extra in [("int", "min: 0\nmax: 10"), ("int", ""), ("float", "min: 0\nmax: 10"),
                     ("float", "min: 0\nmin-exclusive: yes"), ("float", ""),
                     ("text", "min-length: 2\nmax-length: 4"), ("text", ""), ("flag", ""),
                     ("choice", "choices: {a: A, '5': five, 5: FIVE, yes: Y}"),
                     ("int[]", "max: 3"), ("text[]", "max-length: 1"), ("file", ""),
                     ("int", "max: '10'"), ("text", "max-length: '3'")]:
    for default in DEFAULTS:
        body = f"name: P\ntype: {type_}\ndefault: {default}"
        if extra:
            body += "\n" + extra
        difference = "D8" if default in ("{a: 1}", "{}", "2020-01-01") else None
        case(parameter(body), f"{type_} ({extra}) default {default}", difference)

# Choices shapes.
for choices in ["{a: A}", "[[a, A], [b, B]]", "[ab, cd]", "[a, b]", "[[a, A, x]]", "a", "5",
                "null", "[]", "{}", "[{a: A}]", "{1: one, 2: two}", "[[[a], A]]"]:
    difference = "D8" if choices in ("[{a: A}]",) else None
    case(parameter(f"name: P\ntype: choice\nchoices: {choices}"), f"choices {choices}", difference)

# Schema, top level.
TOP = HEAD + "  p:\n    name: P\n    type: int\n"
case(TOP, "minimal")
for drop in ["slivka-version", "name", "parameters", "command", "args", "outputs", "execution"]:
    lines = TOP.split("\n")
    text = "\n".join(l for l in lines if not l.startswith(drop + ":"))
    case(text, f"without {drop}")
for extra in ["extra: 1", "env: {A: b}", "env: {1A: b}", "env: {A: 1}", "tests: []",
              "classifiers: [a, 1]", "classifiers: a", "description: 5", "version: 1.2",
              "version: '1.2'", "license: ~", "author: [a]",
              "tests: [{applicable-runners: [local], parameters: {p: '1'}, timeout: 1.0}]",
              "tests: [{applicable-runners: [local], parameters: {p: [a, b]}, interval: 1.5}]",
              "tests: [{applicable-runners: [], parameters: {}}]",
              "tests: [{applicable-runners: [local]}]",
              "tests: [{applicable-runners: [local], parameters: {p: 1}}]",
              "tests: [{applicable-runners: [local], parameters: {}, timeout: yes}]"]:
    case(TOP + extra + "\n", f"with {extra}")
for version in ["0.8", "0.8.5b7", "'0.8.5'", "0.8.5.1", "0.8b", "v0.8", "1", "0.8.5b7x"]:
    case(TOP.replace("slivka-version: 0.8.5b7", f"slivka-version: {version}"), f"version {version}")
for command in ["''", "[]", "[a, '']", "[a, b]", "5", "[a, 5]"]:
    case(TOP.replace("command: run", f"command: {command}"), f"command {command}")
for args in ["{a: {arg: x}}", "{a: {}}", "{a: {arg: ''}}", "{a: {arg: x, symlink: ''}}",
             "{a: {arg: x, join: ''}}", "{a: {arg: x, extra: 1}}", "{a b: {arg: x}}",
             "{a: {arg: x, default: 5}}", "[]"]:
    case(TOP.replace("args: {}", f"args: {args}"), f"args {args}")
for outputs in ["{o: {path: x}}", "{o: {}}", "{o.x: {path: x, media-type: text/plain}}",
                "{o: {path: x, extra: 1}}", "{o/x: {path: x}}", "{o: {path: 5}}"]:
    case(TOP.replace("outputs: {}", f"outputs: {outputs}"), f"outputs {outputs}")
EXEC = "execution:\n  runners:\n    local:\n      type: SlivkaQueueRunner\n"
for execution in ["execution: {runners: {}}", "execution: {}",
                  "execution: {runners: {local: {}}}",
                  "execution: {runners: {local: {type: a.b.c}}}",
                  "execution: {runners: {local: {type: a..b}}}",
                  "execution: {runners: {local: {type: X, parameters: {a: 1}}}}",
                  "execution: {runners: {local: {type: X, parameters: {a-b: 1}}}}",
                  "execution: {runners: {local: {type: X, consts: {a: 1}}}}",
                  "execution: {runners: {local: {type: X, env: {A: x}}}}",
                  "execution: {runners: {local: {type: X, extra: 1}}}",
                  "execution: {runners: {local: {type: X, selector-options: {x: 1}}}}",
                  "execution: {runners: {local: {type: X}}, selector: my.sel}",
                  "execution: {runners: {local: {type: X}}, selector: my-sel}",
                  "execution: {runners: {local: {type: X}}, extra: 1}",
                  "execution: {runners: []}"]:
    case(TOP.replace(EXEC, execution + "\n"), execution)
for params in ["parameters: {}", "parameters: []", "parameters: ~", "parameters: {a b: {name: x, type: int}}",
               "parameters: {p: {type: int}}", "parameters: {p: {name: x}}",
               "parameters: {p: {name: 5, type: int}}", "parameters: {p: 5}",
               "parameters: {1: {name: x, type: int}}", "parameters: {p: {name: x, type: int, 5: x}}"]:
    text = TOP.replace("parameters:\n  p:\n    name: P\n    type: int\n", params + "\n")
    case(text, params, "D8" if params.startswith("parameters: {1:") else None)

# YAML itself.
for text in ["", "a: [", "- 1\n- 2", "--- \na: 1\n--- \nb: 2", TOP + "name: Again\n",
             TOP.replace("name: Test", "name: !!str 5"), TOP.replace("name: Test", "name: !!int 5"),
             TOP.replace("name: Test", "name: !include other.yaml"),
             TOP.replace("name: Test", "name: &n Test\ndescription: *n"),
             TOP.replace("name: Test", "name: 2020-01-01"),
             TOP.replace("name: Test", "name: =")]:
    difference = "D4" if "!include" in text else None
    case(text, "yaml " + repr(text[:40]), difference)
case(HEAD + "  base: &b\n    name: B\n    type: int\n    max: 5\n  p:\n    <<: *b\n    min: 1\n",
     "merge key")
case(HEAD + "  p:\n    <<: [{name: A, type: int}, {name: B, type: text, max-length: 3}]\n",
     "merge list")

# Scalars as PyYAML resolves them: a string passes `description`, a number
# compares with a default under `max`, a float under `min` of an int field
# compares exactly.
SCALARS = ["0b101", "-0b11", "0b", "0b_", "0x1F", "-0x1f", "0x", "0x_", "0o17", "017", "-017",
           "08", "0_", "00", "1__0", "_1", "1_", "+5", "-0", "+.inf", ".Inf", "-.INF", ".NaN",
           ".nan", "-.nan", ".5", "-.5", "+.5", "1.", "1.0e5", "1.0e+5", "1e+5", "1E-2", "1.5E-2",
           "12:30:45", "1:60", "1:59", "0:30", "1:5:0", "-1:30", "1:30.5", "1_0:3_0",
           "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
           "2001-1-1 1:00:00", "2001-1-1", "2001-12-14T21:59:43Z", "Yes", "yEs", "ON", "oN", "y",
           "n", "Null", "~", "NULL", "nULL", "true", "TRUE", "tRUE", "off", "Off", "1,000", "1 000",
           "0.1.2", "1e5", "1_000.5_5", "'5'", '"5"', "!!str 5", "!!float 5", "!!int '7'",
           "!!bool yes", "!!null ''", "! 5", "99999999999999999999999999", "-1e400", "1.0e+400",
           "|\n      5", ">-\n      5"]
for scalar in SCALARS:
    shown = scalar.replace("\\n", "\n")
    case(TOP.replace("name: Test", "name: Test\ndescription: " + shown), f"description {scalar}")
    case(parameter(f"name: P\ntype: int\ndefault: 0\nmax: {shown}"), f"int max {scalar}")
    case(parameter(f"name: P\ntype: float\ndefault: 0.5\nmin: {shown}"), f"float min {scalar}")

for c in CASES:
    c["slivka"] = slivka_loads(c["text"])
json.dump(CASES, sys.stdout, indent=1, ensure_ascii=False)
print()
