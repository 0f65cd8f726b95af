"""The syntax of blocks, `use`, `output`, arithmetic and dotted names: each form becomes
the AST the compiler reads, with exact spans; old files keep their meaning."""

from __future__ import annotations

import pytest

from nndsl.errors import NNDSLError
from nndsl.syntax import ast
from nndsl.syntax.ast import Span
from nndsl.syntax.parser import MAX_NESTING, parse


def S(line: int, col: int, end_line: int, end_col: int) -> Span:
    return Span(line, col, end_line, end_col)


def value_of(text: str) -> ast.Value:
    """The AST of one value, written as a setting on line 1 at column 15."""
    return parse("train m { k = " + text + " }").trains[0].settings[0].value


def shape(v: ast.Value) -> object:
    """A value without its spans, e.g. ('-', 'units', 1), to compare structure."""
    if isinstance(v, ast.BinOp):
        return (v.op, shape(v.left), shape(v.right))
    if isinstance(v, ast.Neg):
        return ("neg", shape(v.operand))
    if isinstance(v, ast.Paren):
        return ("()", shape(v.inner))
    if isinstance(v, ast.Name):
        return v.name
    if isinstance(v, ast.Number):
        return v.value
    if isinstance(v, ast.Call):
        return (v.name, *[(a.name, shape(a.value)) for a in v.args])
    if isinstance(v, ast.Group):
        return ("group", *[(a.name, shape(a.value)) for a in v.args])
    if isinstance(v, ast.ListValue):
        return [shape(x) for x in v.items]
    return type(v).__name__


RESIDUAL = """block residual(units: int, rate: float = 0.1, act = relu) {
    x = input()
    dense(units, activation=act)
    dropout(rate / 2)
    dense(units)
    add(x)
}
"""


# ------------------------------------------------------------------ blocks


def test_block_definition():
    module = parse(RESIDUAL)
    (block,) = module.block_defs
    assert module.blocks == [block] and module.models == [] and module.uses == []
    assert block.name == "residual" and block.name_span == S(1, 7, 1, 15)
    assert block.span == S(1, 1, 7, 2)
    units, rate, act = block.params
    assert units == ast.BlockParam("units", "int", None, S(1, 16, 1, 26), S(1, 16, 1, 21),
                                   S(1, 23, 1, 26))  # fmt: skip
    assert rate == ast.BlockParam(
        "rate",
        "float",
        ast.Number(0.1, S(1, 42, 1, 45), "0.1"),
        S(1, 28, 1, 45),
        S(1, 28, 1, 32),
        S(1, 34, 1, 39),
    )
    assert act == ast.BlockParam(
        "act", None, ast.Name("relu", S(1, 53, 1, 57)), S(1, 47, 1, 57), S(1, 47, 1, 50)
    )
    x, dense, dropout, dense2, add = block.body
    assert x.target == "x" and x.call == ast.Call("input", (), S(2, 9, 2, 16), S(2, 9, 2, 14))
    assert dense.call.args[1].value == ast.Name("act", S(3, 29, 3, 32))
    assert dropout.call.args[0].value == ast.BinOp(
        "/",
        ast.Name("rate", S(4, 13, 4, 17)),
        ast.Number(2, S(4, 20, 4, 21), "2"),
        S(4, 13, 4, 21),
    )
    assert add.call.args[0].value == ast.Name("x", S(6, 9, 6, 10))


@pytest.mark.parametrize(
    "params, expected",
    [
        ("", []),
        ("units", [("units", None, None)]),
        ("units,", [("units", None, None)]),
        ("units: int", [("units", "int", None)]),
        ("act = relu", [("act", None, "relu")]),
        ("n: int = 2 * 3,", [("n", "int", ("*", 2, 3))]),
        ("a: bool = true, b: string = \"x\", c: name = tanh",
         [("a", "bool", "Bool"), ("b", "string", "String"), ("c", "name", "tanh")]),
    ],
)  # fmt: skip
def test_block_parameters(params, expected):
    (block,) = parse(f"block b({params}) {{ dense(1) }}").block_defs
    got = [(p.name, p.kind, None if p.default is None else shape(p.default)) for p in block.params]
    assert got == expected


def test_blocks_models_trains_and_uses_keep_source_order():
    src = 'use std\nblock a() { }\nmodel m { a() }\nuse "more.nn"\ntrain m { }\nblock b(n) { }'
    module = parse(src)
    kinds = [type(b).__name__ for b in module.blocks]
    assert kinds == ["Use", "BlockDef", "Model", "Use", "Train", "BlockDef"]
    assert [b.name for b in module.block_defs] == ["a", "b"]
    assert [u.path for u in module.uses] == ["std", "more.nn"]


def test_block_body_holds_repeats_and_outputs():
    (block,) = parse("block b(depth) { repeat depth { dense(4) } output h }").block_defs
    rep, out = block.body
    assert isinstance(rep, ast.Repeat) and isinstance(out, ast.Output)


# ------------------------------------------------------------------ use


def test_use_a_file_and_std():
    first, second = parse('use "lib/blocks.nn"\n  use std\n').uses
    assert first == ast.Use("lib/blocks.nn", S(1, 1, 1, 20), S(1, 5, 1, 20))
    assert second == ast.Use("std", S(2, 3, 2, 10), S(2, 7, 2, 10), std=True)


def test_use_keeps_string_escapes_as_values():
    (use,) = parse(r'use "a\\b.nn"').uses
    assert use.path == "a\\b.nn" and not use.std


# ------------------------------------------------------------------ output


def test_output_statement():
    body = parse("model m {\n    h = dense(2)\n    output label, enc.value\n}").models[0].body
    out = body[1]
    assert out == ast.Output(
        (ast.Name("label", S(3, 12, 3, 17)), ast.Name("enc.value", S(3, 19, 3, 28))),
        S(3, 5, 3, 28),
    )
    (single,) = parse("model m { output h }").models[0].body
    assert single.names == (ast.Name("h", S(1, 18, 1, 19)),)


def test_output_then_more_statements_needs_no_separator():
    body = parse("model m { output a, b dense(1) }").models[0].body
    assert [type(s).__name__ for s in body] == ["Output", "Layer"]
    assert [n.name for n in body[0].names] == ["a", "b"]


# ------------------------------------------------------------------ the words stay names


@pytest.mark.parametrize("word", ["output", "block", "use", "std", "int", "float", "name"])
def test_new_words_still_name_layers_and_values(word):
    src = f"model m {{\n    {word} = dense(1)\n    add({word})\n}}\ntrain m {{ {word} = {word} }}\n"
    module = parse(src)
    layer, add = module.models[0].body
    assert isinstance(layer, ast.Layer)
    assert layer.target == word and layer.target_span == S(2, 5, 2, 5 + len(word))
    assert layer.call.name == "dense"
    assert add.call.args[0].value == ast.Name(word, S(3, 9, 3, 9 + len(word)))
    setting = module.trains[0].settings[0]
    assert setting.key == word and setting.value.name == word


def test_output_as_a_call_is_still_a_layer_named_output():
    (layer,) = parse("model m { output(3) }").models[0].body
    assert isinstance(layer, ast.Layer) and layer.call.name == "output"
    assert layer.call.name_span == S(1, 11, 1, 17) and layer.span == S(1, 11, 1, 20)


@pytest.mark.parametrize("name", ["repeated", "outputs", "blocks", "user", "used", "output_1"])
def test_longer_words_are_plain_names(name):
    module = parse(f"model m {{ {name} = dense(4) add({name}) }}\ntrain {{ k = {name} }}")
    assert module.models[0].body[0].target == name
    assert module.trains[0].settings[0].value == ast.Name(name, S(2, 13, 2, 13 + len(name)))


def test_block_and_use_are_names_inside_blocks_and_as_model_names():
    module = parse("model use { block = dense(2) use = dense(2) }\ntrain use { }")
    assert module.models[0].name == "use" and module.trains[0].model == "use"
    assert [s.target for s in module.models[0].body] == ["block", "use"]
    (block,) = parse("block block(use, output) { use = dense(1) }").block_defs
    assert block.name == "block" and [p.name for p in block.params] == ["use", "output"]


# ------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize(
    "text, expected",
    [
        ("units * 4", ("*", "units", 4)),
        ("rate / 2", ("/", "rate", 2)),
        ("units // 2", ("//", "units", 2)),
        ("n % 3", ("%", "n", 3)),
        ("a + b - 1", ("-", ("+", "a", "b"), 1)),
        ("a - b - c", ("-", ("-", "a", "b"), "c")),
        ("a / b / c", ("/", ("/", "a", "b"), "c")),
        ("a + b * c", ("+", "a", ("*", "b", "c"))),
        ("a * b + c", ("+", ("*", "a", "b"), "c")),
        ("a * b // c % d", ("%", ("//", ("*", "a", "b"), "c"), "d")),
        ("-units", ("neg", "units")),
        ("-a * b", ("*", ("neg", "a"), "b")),
        ("a * -b", ("*", "a", ("neg", "b"))),
        ("--a", ("neg", ("neg", "a"))),
        ("(units + 1) * 2", ("*", ("()", ("+", "units", 1)), 2)),
        ("-(units)", ("neg", ("()", "units"))),
        ("units-1", ("-", "units", 1)),
        ("units -1", ("-", "units", 1)),
        ("units - 1", ("-", "units", 1)),
        ("units - -1", ("-", "units", -1)),
        ("1+1", ("+", 1, 1)),
        ("2-1", ("-", 2, 1)),
        ("0.5*x", ("*", 0.5, "x")),
        ("f(a)-g(b)", ("-", ("f", (None, "a")), ("g", (None, "b")))),
        ("- 3", -3),
        ("- .5", -0.5),
        ("enc.mean * 2", ("*", "enc.mean", 2)),
    ],
)
def test_arithmetic(text, expected):
    assert shape(value_of(text)) == expected


def test_arithmetic_spans():
    v = value_of("(units + 1) * -n")
    assert v.span == S(1, 15, 1, 31)
    assert isinstance(v.left, ast.Paren) and v.left.span == S(1, 15, 1, 26)
    assert v.left.inner.span == S(1, 16, 1, 25)
    assert v.right == ast.Neg(ast.Name("n", S(1, 30, 1, 31)), S(1, 29, 1, 31))
    folded = value_of("- 3")
    assert folded == ast.Number(-3, S(1, 15, 1, 18), "-3")


def test_signed_numbers_where_a_value_starts_stay_numbers():
    assert shape(value_of("[1, -1, +2, -0.5, -.5, -1e-3]")) == [1, -1, 2, -0.5, -0.5, -1e-3]
    (layer,) = parse("model m { dense(-3) }").models[0].body
    assert layer.call.args[0].value == ast.Number(-3, S(1, 17, 1, 19), "-3")


def test_floats_are_not_dotted_names():
    assert value_of(".5") == ast.Number(0.5, S(1, 15, 1, 17), ".5")
    assert value_of("1.") == ast.Number(1.0, S(1, 15, 1, 17), "1.")
    assert shape(value_of("1.*x")) == ("*", 1.0, "x")


def test_arithmetic_everywhere_a_value_goes():
    src = (
        "model m {\n    dense(units * 4, activation=act, l2=1e-3 / n)\n}\n"
        "train m {\n    epochs = 10 * 3\n    metrics = [a + 1, -b]\n"
        "    terms = (sparsity = 0.001 * l1(h), kl = kl_normal(mean, log_var))\n}\n"
    )
    module = parse(src)
    (dense,) = module.models[0].body
    assert shape(dense.call) == (
        "dense",
        (None, ("*", "units", 4)),
        ("activation", "act"),
        ("l2", ("/", 0.001, "n")),
    )
    epochs, metrics, terms = module.trains[0].settings
    assert shape(epochs.value) == ("*", 10, 3)
    assert shape(metrics.value) == [("+", "a", 1), ("neg", "b")]
    assert shape(terms.value) == (
        "group",
        ("sparsity", ("*", 0.001, ("l1", (None, "h")))),
        ("kl", ("kl_normal", (None, "mean"), (None, "log_var"))),
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(units * 2)", ("()", ("*", "units", 2))),
        ("(x)", ("()", "x")),
        ("((x))", ("()", ("()", "x"))),
        ("(x,)", ("group", (None, "x"))),
        ("(x, y)", ("group", (None, "x"), (None, "y"))),
        ("(monitor=val_loss, patience=3)", ("group", ("monitor", "val_loss"), ("patience", 3))),
        ("(patience=3)", ("group", ("patience", 3))),
        ("(val_loss, patience=3)", ("group", (None, "val_loss"), ("patience", 3))),
        ("()", ("group",)),
    ],
)
def test_parentheses_and_groups(text, expected):
    assert shape(value_of(text)) == expected


def test_dotted_names():
    (layer,) = parse("model m { dense(8, from=enc.mean) add(r.x) l1(enc.h) }").models[0].body[:1]
    assert layer.call.args[1] == ast.Arg(
        "from", ast.Name("enc.mean", S(1, 25, 1, 33)), S(1, 20, 1, 33)
    )
    body = parse("model m { add(r.x) add(a.b.c) }").models[0].body
    assert [s.call.args[0].value.name for s in body] == ["r.x", "a.b.c"]


# ------------------------------------------------------------------ repeat counts


def test_repeat_with_a_literal_count_is_as_before():
    (rep,) = parse("model m { repeat 3 { dense(1) } }").models[0].body
    assert rep.count == 3 and rep.count_expr is None and rep.count_span == S(1, 18, 1, 19)
    (neg,) = parse("model m { repeat -1 { } }").models[0].body
    assert neg.count == -1 and neg.count_expr is None


@pytest.mark.parametrize(
    "count, expected",
    [("depth", "depth"), ("n * 2", ("*", "n", 2)), ("(n)", ("()", "n")), ("1.5", 1.5)],
)
def test_repeat_with_an_expression_count(count, expected):
    (rep,) = parse(f"model m {{ repeat {count} {{ dense(1) }} }}").models[0].body
    assert rep.count == 0 and shape(rep.count_expr) == expected
    assert rep.count_span == rep.count_expr.span == S(1, 18, 1, 18 + len(count))
    assert rep.span == S(1, 11, 1, 31 + len(count))


# ------------------------------------------------------------------ syntax errors


def located(source: str) -> NNDSLError:
    with pytest.raises(NNDSLError) as info:
        parse(source, "f.nn")
    err = info.value
    assert err.path == "f.nn" and err.line is not None and err.column is not None
    assert "__ANON" not in err.message and "__ANON" not in (err.hint or "")
    return err


@pytest.mark.parametrize(
    "source, line, column, message, hint",
    [
        ("block residual(units: int = ) {\n}", 1, 27, "expected a default value", "= 0.1"),
        ("block r(a = \n", 1, 13, "expected a value", "expected a default value"),
        ("block residual(units: int {\n    dense(units)\n}", 1, 27, "missing its closing ')'",
         "block NAME(units: int) {"),
        ("block residual(units: ) {\n}", 1, 21, "expected a kind after ':'", "int, float"),
        ("block (units) {\n}", 1, 1, "'block' needs a name", "block NAME(params)"),
        ("block residual {\n}", 1, 7, "parameters go in parentheses", "block residual() {"),
        ("block r(units)\n    dense(units)\n}", 1, 14, "expected '{'", "block NAME(params)"),
        ("block r(units,, rate) {\n}", 1, 15, "in a block's parameter list", "name: kind"),
        ("model m {\n    dense(1)\n    output\n}", 3, 5, "'output' needs the names",
         "output label, value"),
        ("model m {\n    output a,\n}", 2, 13, "another layer name after ','", "no ','"),
        ("use\nmodel m {}", 1, 1, "'use' needs a file path or std", 'use "blocks.nn"'),
        ("use 3", 1, 1, "'use' needs a file path or std", "use std"),
        ("use foo", 1, 5, "takes a file path in double quotes, or std", 'use "foo.nn"'),
        ("use", 1, 4, "unexpected end of file", "'use' needs a file path"),
        ("model m {\n    dense(units *)\n}", 2, 17, "'*' needs a value on its right",
         "units * 2"),
        ("train {\n    k = units *\n}", 2, 15, "'*' needs a value on its right", "units * 2"),
        ("train { k = units -", 1, 20, "unexpected end of file", "'-' needs a value"),
        ("model m { dense(2 ** 3) }", 1, 19, "no '**' (power) operator", "x * x"),
        ("model m { dense(2 ^ 3) }", 1, 19, "unexpected character '^'", "no power operator"),
        ("model m {\n    dense((units + 1 * 2)\n}", 3, 1, "expected ')' or ','", "','"),
        ("model m {\n    repeat {\n    }\n}", 2, 5, "'repeat' needs a count", "repeat 3"),
        ("model m {\n    dense(1)\nblock r() {}", 3, 1, "'block' starts a new block",
         "missing '}'"),
        ("model m {\n    dense(1)\nuse std", 3, 1, "'use' starts a new line", "missing '}'"),
        ("model m { dense(enc.) }", 1, 20, "unexpected character '.'", "enc.mean"),
        ("x = 3", 1, 1, "expected 'block', 'model', 'train', 'use' or end of file",
         "block NAME(...)"),
        ("model m {\n    dense\n}", 2, 5, "'dense' needs parentheses", "dense(...)"),
        ("model m { dense(8 relu) }", 1, 19, "expected ')' or ','", "separate arguments"),
    ],
)  # fmt: skip
def test_broken_snippets_are_located_and_explained(source, line, column, message, hint):
    err = located(source)
    assert (err.line, err.column) == (line, column), err.render()
    assert message in err.message, err.render()
    assert err.hint is not None and hint in err.hint, err.render()
    rendered = err.render().splitlines()
    assert rendered[0].startswith(f"f.nn:{line}:{column}: error: ")
    assert rendered[2].index("^") == len(f"{line:>4} | ") + column - 1


def test_every_terminal_has_a_word_for_error_messages():
    from nndsl.syntax.grammar import lalr_parser
    from nndsl.syntax.parser import TERMINAL_WORDS

    parser = lalr_parser()
    names = {t.name for t in parser.terminals} - set(parser.ignore_tokens)
    assert not [n for n in names if n.startswith("__")]  # no anonymous terminal
    assert names - set(TERMINAL_WORDS) == set()


# ------------------------------------------------------------------ hostile input


def test_long_chains_and_deep_expressions_are_refused_with_a_location():
    """1 + 1 + ... and - - - ... build trees as deep as they are long: bounded like brackets,
    so no walk over the AST (compiler, fmt, ==) runs out of stack."""
    ok = " + ".join(["1"] * (MAX_NESTING + 1))  # MAX_NESTING operators
    assert shape(value_of(ok))[0] == "+"
    long = " + ".join(["1"] * 100_000)
    err = located("train m {\n    k = " + long + "\n}")
    assert "nests more than 64 deep" in err.message and err.line == 2
    assert err.column == 9 + 4 * (MAX_NESTING + 1) - 2  # the operator one too many
    err = located("train { k = " + "-" * 5000 + "x }")
    assert "nests more than 64 deep" in err.message
    err = located("train { k = " + "(" * 40 + "1" + " * 2)" * 40 + " }")
    assert "nests more than 64 deep" in err.message
    err = located("train { k = " + "(" * 70 + "1" + ")" * 70 + " }")
    assert "brackets nested more than 64 deep" in err.message


def test_a_long_chain_in_a_syntax_error_is_still_reported():
    """lark copies its stack to list what was expected; the bound keeps that copy small."""
    err = located("train { k = " + " * ".join(["2"] * 60) + " * }")
    assert "'*' needs a value on its right" in err.message


def test_deep_arithmetic_formats_in_a_small_stack():
    import inspect
    import sys

    from nndsl.syntax.format import format_source

    value = "[" * 30 + "(" * 30 + "1" + " + 1" * 3 + ")" * 30 + "]" * 30
    source = "train m {\n    k = " + value + "\n    j = " + " - ".join(["x"] * 65) + "\n}\n"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 330)
    try:
        once = format_source(source)
    finally:
        sys.setrecursionlimit(old)
    assert once == source
