"""Writes expressions.json: what slivka 0.8.5b7 itself answers, for the Rust port.

The slivka-form plugin ports slivka's condition language
(slivka/utils/expression_parser.py) and Python's `int()`/`float()`. This
script asks the real thing: it runs slivka's own `Expression` and Python's
number parsing on a corpus of cases and records every answer, so the Rust
unit tests in src/condition.rs can check the port agrees on all of them.

    /tmp/slv/bin/python plugins/slivka-form/tests/python/expressions.py

(any Python 3.11 with slivka==0.8.5b7 installed). The corpus is fixed
(a seeded random part included), so running it again writes the same file.

Values are encoded as tagged lists: ["none"], ["bool", b], ["int", "digits"],
["float", "repr"], ["str", s], ["list", [values]], ["file", content].
An outcome is {"ok": value} or {"error": "Kind: message"}; a parse error is
{"parse_error": "Kind: category"} (the category is derived from slivka's
message or raising line).
"""

import io
import json
import pathlib
import random
import sys
import traceback

import slivka
from slivka.server.forms.file_proxy import FileProxy
from slivka.utils.expression_parser import Expression

OUT = pathlib.Path(__file__).resolve().with_name("expressions.json")

# ---------------------------------------------------------------- encoding


def enc(v):
    if v is None:
        return ["none"]
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", str(v)]
    if isinstance(v, float):
        return ["float", repr(v)]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, list):
        return ["list", [enc(x) for x in v]]
    if isinstance(v, FileProxy):
        return ["file", v.file.getvalue().decode()]
    raise TypeError(type(v))


def dec(e):
    kind = e[0]
    if kind == "none":
        return None
    if kind in ("bool", "str"):
        return e[1]
    if kind == "int":
        return int(e[1])
    if kind == "float":
        return float(e[1])
    if kind == "list":
        return [dec(x) for x in e[1]]
    if kind == "file":
        return FileProxy(file=io.BytesIO(e[1].encode()))
    raise ValueError(kind)


def parse_category(error):
    """What made slivka refuse an expression. slivka formats the offending
    token with `%r % token`, and a token is a tuple, so its "mismatched
    parenthesis" and "unexpected operator" errors surface as a TypeError
    ("not all arguments converted during string formatting"); the raising
    line tells them apart."""
    line = traceback.extract_tb(error.__traceback__)[-1].line
    message = str(error) if isinstance(error, ValueError) else line
    for prefix, category in [
        ("Unexpected character", "unexpected-character"),
        ('raise ValueError("mismatched parenthesis', "mismatched-parenthesis"),
        ('raise ValueError("unexpected operator', "unexpected-operator"),
        ("line contains multiple expressions", "multiple-expressions"),
        ("Exceeds the limit", "int-digits"),
    ]:
        if message.startswith(prefix):
            return f"{type(error).__name__}: {category}"
    raise AssertionError(message)


def outcome(thunk):
    try:
        return {"ok": enc(thunk())}
    except (KeyError, TypeError, ZeroDivisionError, OverflowError, MemoryError) as e:
        message = f"unknown name {e.args[0]!r}" if isinstance(e, KeyError) else str(e)
        return {"error": f"{type(e).__name__}: {message}"}


def case(source, variables=None):
    """One expression: parse, and evaluate with `variables` (encoded)."""
    variables = variables or {}
    try:
        expression = Expression(source)
    except (ValueError, TypeError) as e:
        return {"source": source, "parse_error": parse_category(e)}
    values = {name: dec(v) for name, v in variables.items()}
    return {
        "source": source,
        "variables": variables,
        **outcome(lambda: expression.evaluate(values)),
    }


# ---------------------------------------------------------------- numbers


def number_case(text):
    entry = {"text": text}
    try:
        entry["int"] = str(int(text))
    except ValueError:
        entry["int"] = None
    try:
        entry["float"] = repr(float(text))
    except ValueError:
        entry["float"] = None
    return entry


NUMBER_TEXTS = [
    "0", "7", " 7 ", "-7", "+7", "007", "5_0", "5__0", "_5", "5_", "0_0", "+_5", "1_000_000",
    "١٢", "١_٢", "１２", "٣.٣", "٣e٣", "\u0f23", "𝟗", "߃", "᭑",
    "", " ", "+", "-", "+-5", "- 5", "5 5", "\x1c5", "5\x1c", "\u30005\u3000", "\x855\x85",
    "\xa05", "\u20285", "\t\n5\r\x0b\x0c", "5\x00", "0x10", "0b1", "0o7", "1e5", "1E-5",
    "1e+5", "1.5", ".5", "5.", "1.e5", "._5", "1_.5", "1._5", "1_e5", "1e_5", "1e5_0",
    "1_0.5_0", "inf", "-Infinity", "INF", "nAn", "+nan", "-nan", "infinit", "infinity ",
    " -iNF", "in_f", "0x1p3", "1e", "e5", ".", "-.5", "+.5e-3", "1e400", "-1e400", "1e-400",
    "-0", "-0.0", "9999999999999999999999", "-9999999999999999999999",
    "9007199254740993", "2.2250738585072011e-308", "2.2250738585072014e-308",
    "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
    "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
    "0.1", "0.30000000000000004", "123456789012345678901234567890e-10",
    "1" * 4300, "1" * 4301, "0" * 4300 + "1", "1_" * 4299 + "1", "-" + "9" * 4300, "٣" * 4301,
    "1" * 400 + "e-300", "0." + "0" * 400 + "1e400",
]


def random_number_texts(rng):
    pieces = [" ", "\t", "\x1c", "\u3000", "\x85", "_", "-", "+", ".", "e", "E", "0", "1",
              "9", "٣", "１", "inf", "nan", "x", "5", "2"]
    texts = []
    for _ in range(1000):
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 7))))
    for _ in range(400):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        point = rng.randint(0, len(digits))
        texts.append(f"{digits[:point]}.{digits[point:]}e{rng.randint(-340, 320)}")
    return texts


# ---------------------------------------------------------------- expressions

# Inputs of slivka's own tests (bartongroup/slivka test/utils/test_expression_parser.py),
# transcribed as data; names are bound to concrete values below.
SLIVKA_TESTS = [
    "5 10 -3", "3.5 0.001", "1.25E-4 2.01e2", '"hello" "1.05" "and"', "and or xor not null",
    "foo_bar var with-dash", "not-op me_and_you orion", "!invalid", "me@host", "me&you",
    "2 + 2", "2 - 2", "2 * 2", "2 / 2", "2 <= 2", "2 >= 2", "2 < 2", "2 > 2", "2 != 2",
    "2 == 2", "5", "2.45", "1.1e2", '"foobar"', "null", "value", "a + b", "a - b", "a * b",
    "a / b", "-a", "a <= b", "a < b", "a >= b", "a > b", "a == b", "a != b", "#a",
    "a + b + d", "a + b * c", "a <= b + c", "a * (b + (c == d))",
]

HAND = [
    # precedence and associativity
    "1 < 2 < 3", "3 > 2 > 1", "1 == 1 == 1", "2 == 2 == 2", "1 < 2 == 2 < 3", "1 + 2 * 3",
    "(1 + 2) * 3", "10 - 2 - 3", "24 / 4 / 2", "2 * 3 / 4", "1 - 2 + 3",
    "not 1 == 0", "not (1 == 0)", "not 0 and 0", "not 0 or 0", "1 or 0 and 0",
    "(1 or 0) and 0", "1 xor 1 or 1", "1 or 1 xor 1", "1 xor 1 and 0", "0 and 1 xor 1",
    "1 xor 0 xor 1", "#\"abc\" + 1", "#\"abc\" * 2", "-2 * 3", "- 2 * 3", "-(2 * 3)",
    "- - 2", "--2", "---2", "not not 1", "not - 1", "- not 1", "# - 1", "not #\"\"",
    "1 - -1", "1 - - 1", "1 -1", "1-1", "(1)-1", "(1) - 1", "a-1", "a - 1", "a -1",
    "1 + + 1", "1 * - 1", "1 * not 0", "1 == not 0", "not 1 == not 0", "a not b",
    "1 2", "1 (2)", "(1)(2)", "()", "", " ", "\t", "\n", "(", ")", "((1)", "(1))", ")(",
    "1 +", "+ 1", "* 1", "# 1", "1 #", "not", "and", "1 and", "and 1", "(1 +) 2",
    "(((1 + 2)))", "(not 1) + 1", "1 < (2 < 3)",
    # numbers
    "1.5", "1.", "1.e5", ".5", "1e5", "1E5", "1e-5", "1e+5", "1e", "1e-", "-1.5e-3",
    "1e400", "-1e400", "1e400 - 1e400", "1e-400", "9999999999999999999999",
    "9999999999999999999999 + 1", "9999999999999999999999 * 9999999999999999999999",
    "5_0", "0005", "007 == 7", "١٢", "١٢ + 1", "١.٥", "１２ == 12", "٣e٣", "inf", "nan",
    "-inf", "1" * 4300, "1" * 4301, "-" + "1" * 4301, "0" * 4301, "1." + "1" * 5000,
    "1 / 3", "2 / 2", "0 / -5", "-0.0", "0.0 == -0.0", "1 / 0", "1.0 / 0", "1 / 0.0",
    "0 / 0", "10 ** 2", "7 % 2",
    "1e308 * 10", "1e308 + 1e308", "-1e308 * 10", "1e308 * 10 - 1e308 * 10",
    "1e308 * 10 == 1e400", "(1e308 * 10) / (1e308 * 10)",
    "99999999999999999999999999 / 3", "1" + "0" * 400 + " / 1", "1" + "0" * 400 + " / 3" + "0" * 400,
    "1" + "0" * 309 + " + 1.0", "1" + "0" * 308 + " + 1.0", "1" + "0" * 400 + " < 1e308",
    "1" + "0" * 400 + " > 1e400", "9007199254740993 == 9007199254740992.0",
    "9007199254740993 > 9007199254740992.0", "9007199254740993 + 0.0",
    "1 == 1.0", "1 != 1.0", "0.1 + 0.2", "0.1 + 0.2 == 0.3",
    # strings
    '"a"', '"a" + "b"', '"a" * 3', '3 * "a"', '"a" * -1', '"a" * 0', '"ab" * 2.0',
    '"a" + 1', '1 + "a"', '"a" - "a"', '"a" / 1', '-"a"', '#"héllo"', '#""', '# "a" + "b"',
    '"a" < "b"', '"B" < "a"', '"a" < "ab"', '"é" > "z"', '"a" == "a"', '"a" != "b"',
    '"a" < 1', '1 < "a"', '"1" == 1', '"a\\"b"', '"a\\\\"', '"a\\nb"', '"a\\"', '"a',
    '"a" "b"', "'a'", '"and"', '"" or ""', '"x" and "y"', 'not ""', '"a\nb"', '"a\\\nb"',
    '"a" * 9999999999999999999999', '"" * 9999999999999999999999', '"a" * ' + str(2**62),
    '"ab" * ' + str(2**62), '"" * ' + str(2**62),
    # null and keywords
    "null", "null == null", "null != null", "null == 0", "null < 1", "null < null",
    "not null", "null or 1", "null and 1", "null + 1", "-null", "#null", "nullx", "null-x",
    "notnull", "not-x", "andx", "xor", "1 xor", "1 and 1", "1and 1", "1 and1", "(1)and(0)",
    "1 or(0)", "not(0)", "not\t0", "not\n0", "AND", "True", "False", "true", "None",
    "null_", "null1", "nulé", "noté", "not é",
    # identifiers
    "_", "_0", "a_b", "a-b", "a--b", "a-", "a1", "a\u00e9", "\u00e9a", "a\u0663", "a\u0301",
    "a\u2160", "a\u00b2", "a\u02b0", "Ab", "a.b", "a b", "self",
    # other characters
    "1 = 1", "1 === 1", "1 =! 1", "!1", "1 ! 1", "a & b", "a | b", "1 % 2", "1 ^ 2",
    "1\r", "1\u00a0", "1\u3000+1", "\x0b1", "1 \n+\n 2", "[1]", "{}", "a.b", "1,2", ";",
    "@", "é",
]

# Pool of values for the variables; factories, so each binding is a new object
# (Python compares list elements with an identity shortcut; see value.rs).
POOL = [
    lambda: None, lambda: True, lambda: False, lambda: 0, lambda: 1, lambda: -3,
    lambda: 2**53 + 1, lambda: 2**1024, lambda: 0.0, lambda: -0.0, lambda: 1.5,
    lambda: 1e308, lambda: float("nan"), lambda: float("inf"), lambda: "", lambda: "ab",
    lambda: "é", lambda: [], lambda: [1, "a"], lambda: [1, 2.0], lambda: [True],
    lambda: FileProxy(file=io.BytesIO(b">a\nACGT\n")),
]

BINARY = ["or", "xor", "and", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/"]
UNARY = ["-", "not ", "#"]

VARIABLE_HAND = [
    ("a", {"a": 1}), ("a", {}), ("a + b", {"a": 1}), ("b + a", {"a": 1}), ("x", {"y": 1}),
    ("a-1", {"a": 3}), ("a - 1", {"a": 3}), ("a -1", {"a": 3}), ("self <= 10", {"self": 3}),
    ("iterations > 0 and dealign", {"iterations": 2, "dealign": True}),
    ("iterations > 0 and dealign", {"iterations": 2, "dealign": None}),
    ("iterations > 0 and dealign", {"iterations": None, "dealign": True}),
    ("max-hmm-iterations <= 10", {"max-hmm-iterations": 5}),
    ("#seqs > 2", {"seqs": ["a", "b", "c"]}), ("#seqs", {"seqs": ">a\nAC"}),
    ("f == f", {"f": "FILE"}), ("f == g", {"f": "FILE", "g": "FILE"}), ("#f", {"f": "FILE"}),
    ("not f", {"f": "FILE"}), ("f and 1", {"f": "FILE"}), ("f == null", {"f": "FILE"}),
    ("f < f", {"f": "FILE"}), ("f + f", {"f": "FILE"}), ("-f", {"f": "FILE"}),
    ("a + a", {"a": [1, "x"]}), ("a * 2", {"a": [1, "x"]}), ("2 * a", {"a": [1]}),
    ("a * -1", {"a": [1]}), ("a + b", {"a": [1], "b": "x"}), ("a < b", {"a": [1, 2], "b": [1, 3]}),
    ("a < b", {"a": [1, 2], "b": [1]}), ("a < b", {"a": [1, "x"], "b": [1, 2]}),
    ("a == b", {"a": [1, 2.0], "b": [True, 2]}), ("a < b", {"a": [1], "b": ["x"]}),
    ("a <= b", {"a": [None], "b": [None]}), ("a < b", {"a": [None], "b": [None, 1]}),
    ("a < b", {"a": [None], "b": [1]}), ("a == a", {"a": float("nan")}),
    ("a != a", {"a": float("nan")}), ("a < a", {"a": float("nan")}),
    ("a * b", {"a": "ab", "b": True}), ("a * b", {"a": "ab", "b": False}),
    ("a * b", {"a": [1], "b": 2**70}), ("a / b", {"a": 2**1100, "b": 2**1000}),
    ("a / b", {"a": 2**1100, "b": 3}), ("a / b", {"a": 1, "b": 2**1100}),
    ("a / b", {"a": 1, "b": 2**1080}), ("a / b", {"a": 3, "b": 2**1075}),
    ("a / b", {"a": 1, "b": 2**1075}), ("a / b", {"a": 1, "b": 2**1075 - 1}),
    ("a / b", {"a": 2**1024 - 2**970, "b": 1}), ("a / b", {"a": 2**1024 - 2**971, "b": 1}),
    ("a + 0.0", {"a": 2**1024 - 2**970}), ("a + 0.0", {"a": 2**1024 - 2**970 - 1}),
    ("a + 0.0", {"a": 2**53 + 1}), ("a + 0.0", {"a": 2**53 + 3}), ("a + 0.0", {"a": -(2**60) - 1}),
    ("a < b", {"a": 2**1024, "b": float("inf")}), ("a > b", {"a": -(2**1024), "b": float("-inf")}),
    ("a == b", {"a": 2**63, "b": 2.0**63}), ("a < b", {"a": 2**63 - 1, "b": 2.0**63}),
    ("a > b", {"a": -5, "b": -5.5}), ("a < b", {"a": -6, "b": -5.5}), ("a == b", {"a": 0, "b": -0.0}),
    ("a == b", {"a": 1, "b": 1.0000000000000002}), ("a < b", {"a": 1, "b": 1.0000000000000002}),
    ("a / b", {"a": 7, "b": 2}), ("a / b", {"a": -7, "b": 2}), ("a / b", {"a": 1, "b": 10}),
    ("a / b", {"a": 10**30 + 1, "b": 10**15}), ("a / b", {"a": 123456789 * 10**40, "b": 987654321}),
]

TOKEN_POOL = [
    "1", "0", "-1", "2.5", "1e3", "١", '"a"', '"b"', '""', "null", "a", "b", "c", "x-y",
    "and", "or", "xor", "not", "#", "+", "-", "*", "/", "<", ">", "<=", ">=", "==", "!=",
    "(", ")", "(", ")",
]

SMALL_VALUES = [None, True, False, 0, 1, 2, -1, 1.5, 0.0, float("nan"), "", "a", "ab", [], [1, "a"], [2]]


def random_expressions(rng):
    cases = []
    for _ in range(1000):
        tokens = [rng.choice(TOKEN_POOL) for _ in range(rng.randint(1, 9))]
        source = " ".join(tokens) if rng.random() < 0.7 else "".join(tokens)
        variables = {}
        for name in ("a", "b", "c", "x-y"):
            if rng.random() < 0.9:
                variables[name] = enc(rng.choice(SMALL_VALUES))
        cases.append(case(source, variables))
    atoms = ["1", "0", "-1", "2", "2.5", "-0.5", "1e3", "١", '"a"', '"ab"', '""', "null",
             "a", "b", "c", "x-y"]
    binary = ["and", "or", "xor", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/"]

    def grow(depth):
        roll = rng.random()
        if depth == 0 or roll < 0.3:
            return rng.choice(atoms)
        if roll < 0.45:
            return rng.choice(["not ", "#", "-", "- "]) + grow(depth - 1)
        if roll < 0.55:
            return "(" + grow(depth - 1) + ")"
        space = rng.choice([" ", " ", ""])
        return grow(depth - 1) + space + rng.choice(binary) + space + grow(depth - 1)

    for _ in range(1200):
        source = grow(rng.randint(1, 4))
        variables = {}
        for name in ("a", "b", "c", "x-y"):
            if rng.random() < 0.95:
                variables[name] = enc(rng.choice(SMALL_VALUES))
        cases.append(case(source, variables))
    alphabet = 'ab1 -+*/#<>=!()"\\.eE_n\t\n٣'
    for _ in range(400):
        source = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        cases.append(case(source, {"a": enc(1), "b": enc("b"), "n": enc(None)}))
    return cases


def matrix():
    """Every binary operator on every pair of POOL values, every unary one on
    each value. An outcome is stored once, in `outcomes`; the tables hold
    indices into it."""
    values = [enc(f()) for f in POOL]
    outcomes = []
    index = {}

    def intern(result):
        key = json.dumps(result, ensure_ascii=False)
        if key not in index:
            index[key] = len(outcomes)
            outcomes.append(result)
        return index[key]

    binary = {}
    for op in BINARY:
        rows = []
        for fa in POOL:
            row = []
            for fb in POOL:
                expression = Expression(f"a {op} b")
                row.append(intern(outcome(lambda: expression.evaluate({"a": fa(), "b": fb()}))))
            rows.append(row)
        binary[op] = rows
    unary = {}
    for op in UNARY:
        expression = Expression(f"{op}a")
        unary[op] = [intern(outcome(lambda: expression.evaluate({"a": f()}))) for f in POOL]
    return {"values": values, "outcomes": outcomes, "binary": binary, "unary": unary}


def main():
    rng = random.Random(12)
    numbers = [number_case(t) for t in NUMBER_TEXTS + random_number_texts(rng)]
    cases = [case(s) for s in SLIVKA_TESTS + HAND]
    for source in SLIVKA_TESTS:
        names = {"value": 7, "a": 6, "b": 2, "c": 3, "d": 3}
        cases.append(case(source, {k: enc(v) for k, v in names.items()}))
    for source, variables in VARIABLE_HAND:
        encoded = {}
        for name, v in variables.items():
            encoded[name] = ["file", ">a\nACGT\n"] if v == "FILE" else enc(v)
        cases.append(case(source, encoded))
    cases += random_expressions(rng)
    document = {
        "python": sys.version.split()[0],
        "slivka": slivka.__version__,
        "numbers": numbers,
        "expressions": cases,
        "matrix": matrix(),
    }
    with OUT.open("w") as out:
        out.write("{\n")
        keys = list(document)
        for i, key in enumerate(keys):
            value = document[key]
            comma = "," if i < len(keys) - 1 else ""
            if isinstance(value, list):
                out.write(f"{json.dumps(key)}: [\n")
                out.write(",\n".join(json.dumps(v, ensure_ascii=False) for v in value))
                out.write(f"\n]{comma}\n")
            else:
                out.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}\n")
        out.write("}\n")
    print(f"{len(numbers)} numbers, {len(cases)} expressions, "
          f"{len(BINARY) * len(POOL) ** 2 + len(UNARY) * len(POOL)} matrix outcomes -> {OUT}")


if __name__ == "__main__":
    main()
