"""Highlighting of blocks, `use`, `output`, parameter kinds, operators and dotted names:
the Pygments lexer gives each its role with no error tokens, and the TextMate grammar's
rules match them (and leave `output`, `use` as layer names alone)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("pygments")
from pygments.token import Error, Keyword, Name, Number, Operator, String  # noqa: E402

from nndsl.syntax.lexer import NNDSLLexer  # noqa: E402
from nndsl.syntax.textmate import grammar  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOURCE = """use std
use "blocks.nn"  # more blocks

block residual(units: int, rate: float = 0.1, act = relu, sizes = [1, [2, 3]], k = f(2)) {
    x = input()
    dense(units * 4, activation=act)
    dropout(rate / 2)
    dense(units // 2 - 1)
    repeat depth % 3 { dense(-units) }
    add(x)
    output x, enc.mean
}

model m {
    input(4)
    output = dense(1)
    block = dense(2)
    use = dense(2)
    add(output)
    r = residual((8 + 1) * 2)
}
train m { loss = mse terms = (sparsity = 0.001 * l1(r.x)) }
"""


def tokens(text: str) -> list[tuple]:
    return [(t, v) for t, v in NNDSLLexer().get_tokens(text) if v.strip()]


def roles(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for t, v in tokens(text):
        out.setdefault(v, []).append(t)
    return out


def test_block_file_tokenizes_without_errors():
    toks = list(NNDSLLexer().get_tokens(SOURCE))
    assert not [v for t, v in toks if t in Error]
    assert "".join(v for _, v in toks) == SOURCE


def test_the_standard_library_tokenizes_without_errors():
    for path in (ROOT / "nndsl" / "stdlib").glob("*.nn"):
        assert not [v for t, v in tokens(path.read_text(encoding="utf-8")) if t in Error]


def test_roles_of_the_new_forms():
    r = roles(SOURCE)
    assert r["use"][0] in Keyword.Namespace and r["std"][0] in Name.Namespace
    assert r['"blocks.nn"'][0] in String
    assert r["block"][0] in Keyword.Declaration and r["residual"][0] in Name.Function
    assert r["units"][0] in Name.Variable and r["rate"][0] in Name.Variable
    assert r["int"] == [Keyword.Type] and r["float"] == [Keyword.Type]
    assert r["relu"][0] in Name.Builtin  # a default value is a value
    assert r["0.1"][0] in Number.Float
    for op in ("*", "/", "//", "-", "%", "+"):
        assert r[op][0] in Operator, op
    assert r["output"][0] in Keyword  # `output x, enc.mean`
    assert r["enc.mean"] == [Name] and r["r.x"] == [Name]
    i = SOURCE.index("dense(-units)")
    neg = tokens(SOURCE[i : i + len("dense(-units)")])
    assert neg[2:4] == [(Operator, "-"), (Name, "units")]  # `-units`: an operator, a name


def test_new_words_as_layer_names_are_coloured_as_names():
    body = roles("model m {\n    output = dense(1)\n    add(output)\n    block = dense(2)\n}\n")
    assert body["output"] == [Name.Variable, Name]
    assert body["block"] == [Name.Variable]


def test_a_repeat_count_expression_is_coloured():
    r = roles("model m { repeat n * 2 { dense(1) } }")
    assert r["repeat"][0] in Keyword and r["*"][0] in Operator and r["2"][0] in Number


# ------------------------------------------------------------------ TextMate


def rule(name: str) -> re.Pattern:
    return re.compile(grammar()["repository"][name]["match"])


def test_textmate_lists_every_new_rule():
    included = [p["include"] for p in grammar()["patterns"]]
    for name in ("#definition", "#use", "#output", "#operator", "#kind", "#member"):
        assert name in included
    # a dotted name is a member before any layer word inside it is a layer
    assert included.index("#member") < included.index("#layer")


def test_textmate_block_use_and_output():
    m = rule("definition").match("block residual(units: int) {")
    assert m and m.group(1) == "block" and m.group(2) == "residual"
    assert rule("use").match("use std").group(2) == "std"
    assert rule("use").match('use "blocks.nn"').group(1) == "use"
    assert not rule("use").search("    use = dense(2)")
    assert rule("output").search("    output label, value").group(1) == "output"
    for text in ("    output = dense(1)", "    add(output)", "    output(3)", "outputs x"):
        assert not rule("output").search(text), text


def test_textmate_operators_kinds_and_members():
    op = rule("operator")
    assert [m.group() for m in op.finditer("a + b - c * d / e // f % g")] == [
        "+", "-", "*", "/", "//", "%",
    ]  # fmt: skip
    kind = rule("kind").search("block b(units: int, rate:float = 0.1)")
    assert kind.group(2) == "int"
    assert [m.group(2) for m in rule("kind").finditer("(units: int, rate:float = 0.1)")] == [
        "int",
        "float",
    ]
    assert rule("member").fullmatch("enc.mean") and rule("member").fullmatch("a.b.c")
    assert not rule("member").search("dense(0.5)")
