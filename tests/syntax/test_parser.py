"""The parser: every syntax form becomes the expected AST, with exact source spans."""

from __future__ import annotations

import pytest

from nndsl.errors import NNDSLError
from nndsl.syntax import ast
from nndsl.syntax.ast import Span
from nndsl.syntax.grammar import grammar_path, lalr_parser
from nndsl.syntax.parser import parse


def value_of(text: str) -> ast.Value:
    """The AST of one value, written as a setting on line 1 at column 13."""
    return parse("train m { k = " + text + " }").trains[0].settings[0].value


def S(line: int, col: int, end_line: int, end_col: int) -> Span:
    return Span(line, col, end_line, end_col)


# ------------------------------------------------------------------ grammar


def test_grammar_file_is_the_repo_one():
    assert grammar_path().name == "nndsl.lark"
    assert grammar_path().is_file()


def test_grammar_builds_strict_without_terminal_collisions():
    pytest.importorskip("interegular")
    parser = lalr_parser(strict=True)  # raises if two terminals could match the same text
    assert parser.options.parser == "lalr"
    assert parser.options.strict


# ------------------------------------------------------------------ blocks


def test_empty_file_has_no_blocks():
    module = parse("")
    assert module.models == [] and module.trains == [] and module.blocks == []


def test_model_with_layers():
    src = "model net {\n    input(2)\n    dense(3, activation=relu)\n}\n"
    module = parse(src, "net.nn")
    assert module.path == "net.nn" and module.source == src
    (model,) = module.models
    assert model.name == "net"
    assert model.span == S(1, 1, 4, 2)
    assert model.name_span == S(1, 7, 1, 10)
    first, second = model.body
    assert first == ast.Layer(
        ast.Call(
            "input",
            (ast.Arg(None, ast.Number(2, S(2, 11, 2, 12), "2"), S(2, 11, 2, 12)),),
            S(2, 5, 2, 13),
            S(2, 5, 2, 10),
        ),
        S(2, 5, 2, 13),
    )
    assert second.call.name == "dense"
    units, act = second.call.args
    assert units == ast.Arg(None, ast.Number(3, S(3, 11, 3, 12), "3"), S(3, 11, 3, 12))
    assert act == ast.Arg("activation", ast.Name("relu", S(3, 25, 3, 29)), S(3, 14, 3, 29))
    assert second.target is None and second.target_span is None


def test_several_models_and_trains_keep_source_order():
    src = "model a { input(1) }\ntrain a { loss = mse }\nmodel b { input(2) }\ntrain { }"
    module = parse(src)
    assert [m.name for m in module.models] == ["a", "b"]
    assert [t.model for t in module.trains] == ["a", None]
    assert [type(b).__name__ for b in module.blocks] == ["Model", "Train", "Model", "Train"]


def test_empty_blocks():
    module = parse("model m {}\ntrain m {}\ntrain {}")
    assert module.models[0].body == ()
    assert module.models[0].span == S(1, 1, 1, 11)
    assert module.trains[0].settings == () and module.trains[0].model == "m"
    assert module.trains[0].model_span == S(2, 7, 2, 8)
    assert module.trains[1].model is None and module.trains[1].model_span is None
    assert module.trains[1].span == S(3, 1, 3, 9)


def test_train_settings():
    src = "train net {\n    loss = mse\n    epochs = 30\n}"
    (train,) = parse(src).trains
    assert train.model == "net"
    assert train.span == S(1, 1, 4, 2)
    loss, epochs = train.settings
    mse = ast.Name("mse", S(2, 12, 2, 15))
    assert loss == ast.Setting("loss", mse, S(2, 5, 2, 15), S(2, 5, 2, 9))
    assert epochs.key == "epochs"
    assert epochs.value == ast.Number(30, S(3, 14, 3, 16), "30")


def test_train_without_model_name():
    (train,) = parse("train { seed = 1 }").trains
    assert train.model is None
    assert train.settings[0].key == "seed"


def test_named_layer():
    (layer,) = parse("model m { h = dense(8) }").models[0].body
    assert layer.target == "h"
    assert layer.target_span == S(1, 11, 1, 12)
    assert layer.span == S(1, 11, 1, 23)
    assert layer.call.span == S(1, 15, 1, 23)
    assert layer.call.name_span == S(1, 15, 1, 20)


def test_repeat():
    (rep,) = parse("model m {\n  repeat 3 {\n    dense(8)\n    dropout(0.1)\n  }\n}").models[0].body
    assert isinstance(rep, ast.Repeat)
    assert rep.count == 3
    assert rep.count_span == S(2, 10, 2, 11)
    assert rep.span == S(2, 3, 5, 4)
    assert [s.call.name for s in rep.body] == ["dense", "dropout"]


def test_nested_repeat_and_empty_repeat():
    src = "model m { repeat 2 { dense(1) repeat 4 { relu() } repeat 1 { } } }"
    (outer,) = parse(src).models[0].body
    assert outer.count == 2
    dense, inner, empty = outer.body
    assert dense.call.name == "dense"
    assert inner.count == 4 and inner.body[0].call.name == "relu"
    assert inner.body[0].call.args == ()
    assert empty.count == 1 and empty.body == ()


def test_statements_need_no_newlines():
    body = parse("model m { input(2) h = dense(3) add(h) }").models[0].body
    assert [(s.target, s.call.name) for s in body] == [
        (None, "input"),
        ("h", "dense"),
        (None, "add"),
    ]


# ------------------------------------------------------------------ arguments


def test_positional_and_keyword_arguments_in_written_order():
    (layer,) = parse("model m { dense(8, relu, use_bias=false, l2=0.1) }").models[0].body
    args = layer.call.args
    assert [a.name for a in args] == [None, None, "use_bias", "l2"]
    assert args[1].value == ast.Name("relu", S(1, 20, 1, 24))
    assert args[2].value == ast.Bool(False, S(1, 35, 1, 40))
    assert args[3].span == S(1, 42, 1, 48)


def test_trailing_comma_in_arguments():
    (layer,) = parse("model m { dense(8, relu,) }").models[0].body
    assert len(layer.call.args) == 2


def test_empty_call():
    (layer,) = parse("model m { flatten() }").models[0].body
    assert layer.call.args == ()
    assert layer.call.span == S(1, 11, 1, 20)


def test_nested_call_value():
    v = value_of("adam(lr=0.01, betas=[0.9, 0.999])")
    assert isinstance(v, ast.Call) and v.name == "adam"
    assert v.span == S(1, 15, 1, 48)
    assert v.name_span == S(1, 15, 1, 19)
    lr, betas = v.args
    assert lr.name == "lr" and lr.value.value == 0.01
    assert [x.value for x in betas.value.items] == [0.9, 0.999]


# ------------------------------------------------------------------ values


@pytest.mark.parametrize(
    "text, value, kind",
    [
        ("0", 0, int),
        ("42", 42, int),
        ("-3", -3, int),
        ("+7", 7, int),
        ("0.5", 0.5, float),
        (".5", 0.5, float),
        ("5.", 5.0, float),
        ("-0.25", -0.25, float),
        ("1e-3", 1e-3, float),
        ("1E3", 1000.0, float),
        ("2.5e+4", 25000.0, float),
        ("-1.5E-2", -0.015, float),
        ("+3e2", 300.0, float),
    ],
)
def test_numbers(text, value, kind):
    v = value_of(text)
    assert isinstance(v, ast.Number)
    assert v.value == value and type(v.value) is kind
    assert v.text == text
    assert v.span == S(1, 15, 1, 15 + len(text))


@pytest.mark.parametrize(
    "text, value",
    [
        ('"grades.csv"', "grades.csv"),
        ('""', ""),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"a\tb\nc"', "a\tb\nc"),
        (r'"back\\slash"', "back\\slash"),
        ('"# not a comment"', "# not a comment"),
        ('"unicode é"', "unicode é"),
    ],
)
def test_strings(text, value):
    v = value_of(text)
    assert v == ast.String(value, S(1, 15, 1, 15 + len(text)))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", ast.Bool(True, S(1, 15, 1, 19))),
        ("false", ast.Bool(False, S(1, 15, 1, 20))),
        ("none", ast.NoneValue(S(1, 15, 1, 19))),
        ("val_loss", ast.Name("val_loss", S(1, 15, 1, 23))),
        ("_x9", ast.Name("_x9", S(1, 15, 1, 18))),
        ("truthy", ast.Name("truthy", S(1, 15, 1, 21))),
        ("models", ast.Name("models", S(1, 15, 1, 21))),
    ],
)
def test_words(text, expected):
    assert value_of(text) == expected


def test_lists():
    assert value_of("[]") == ast.ListValue((), S(1, 15, 1, 17))
    v = value_of("[accuracy, mse,]")
    assert [x.name for x in v.items] == ["accuracy", "mse"]
    assert v.span == S(1, 15, 1, 31)


def test_nested_lists():
    v = value_of("[[3], [-2.5, 1e2]]")
    assert isinstance(v, ast.ListValue)
    first, second = v.items
    assert first == ast.ListValue((ast.Number(3, S(1, 17, 1, 18), "3"),), S(1, 16, 1, 19))
    assert [x.value for x in second.items] == [-2.5, 100.0]
    assert [x.text for x in second.items] == ["-2.5", "1e2"]


def test_groups():
    v = value_of("(monitor=val_loss, patience=20, restore_best=true)")
    assert isinstance(v, ast.Group)
    assert v.span == S(1, 15, 1, 65)
    assert [(a.name, type(a.value).__name__) for a in v.args] == [
        ("monitor", "Name"),
        ("patience", "Number"),
        ("restore_best", "Bool"),
    ]
    assert value_of("()") == ast.Group((), S(1, 15, 1, 17))


# ------------------------------------------------------------------ comments


def test_comments_everywhere_are_ignored_and_recorded():
    src = (
        "# file header\n"
        "model m { # after brace\n"
        "    # own line\n"
        "    dense(8, # inside a call\n"
        '        activation=relu) # after "code"\n'
        "} # after block\n"
        "train m {\n"
        '    data = csv("a#b.csv", target="y")  # hash inside a string\n'
        "}\n"
        "# end of file"
    )
    module = parse(src)
    assert [c.text for c in module.comments] == [
        "# file header",
        "# after brace",
        "# own line",
        "# inside a call",
        '# after "code"',
        "# after block",
        "# hash inside a string",
        "# end of file",
    ]
    assert [(c.line, c.column) for c in module.comments] == [
        (1, 1),
        (2, 11),
        (3, 5),
        (4, 14),
        (5, 26),
        (6, 3),
        (8, 40),
        (10, 1),
    ]
    assert module.models[0].body[0].call.args[1].name == "activation"
    assert module.trains[0].settings[0].value.args[0].value.value == "a#b.csv"


def test_comment_only_file():
    module = parse("# nothing here\n\n# really\n")
    assert module.blocks == []
    assert len(module.comments) == 2


def test_crlf_line_endings():
    module = parse("model m {\r\n    input(2)\r\n}\r\n")
    assert module.models[0].body[0].span == S(2, 5, 2, 13)


# ------------------------------------------------------------------ syntax errors


def test_syntax_errors_are_located_nndsl_errors():
    with pytest.raises(NNDSLError) as info:
        parse("model m {\n    dense(8 relu)\n}", "x.nn")
    err = info.value
    assert (err.line, err.column) == (2, 13)
    assert err.path == "x.nn"
    assert "expected ')' or ','" in err.message


# ------------------------------------------------------------------ hostile input (issue 20)


def refused(source: str) -> NNDSLError:
    """The error `parse` gives, which `nndsl check` and `nndsl fmt` both report."""
    from nndsl.syntax.format import format_source

    with pytest.raises(NNDSLError) as info:
        parse(source, "f.nn")
    with pytest.raises(NNDSLError) as again:
        format_source(source, "f.nn")
    assert (again.value.line, again.value.column) == (info.value.line, info.value.column)
    return info.value


@pytest.mark.parametrize(
    "source, column",
    [
        ("train ghost { loss = " + "9" * 5000 + " }", 22),
        ("model m { repeat " + "9" * 5000 + " { } }", 18),
        ("model m { dense(-" + "1" * 101 + ") }", 17),
    ],
)
def test_an_integer_literal_over_100_digits_is_located(source: str, column: int):
    """Was: ValueError from int() (Python reads at most 4,300 digits) in any position."""
    err = refused(source)
    assert (err.line, err.column) == (1, column)
    assert "digits; nndsl reads integers of at most 100 digits" in err.message
    assert parse("train m { seed = " + "9" * 100 + " }").trains[0].settings[0].value.value


def test_blocks_nested_too_deep_are_refused_by_check_and_fmt_alike():
    """Was: RecursionError in the sweep finder, the layer counter and the formatter."""
    source = "model m {\n    input(1)\n" + "repeat 1 {\n" * 300 + "dense(1)\n" + "}\n" * 301
    err = refused(source)
    assert (err.line, err.column) == (66, 10)  # the 64th repeat's brace is the 65th block
    assert "blocks nested more than 64 deep" in err.message


def test_the_deepest_nesting_allowed_leaves_most_of_the_stack():
    """Every walk over the AST (compile, sweep, lint, fmt) at the largest depths parse
    allows, blocks and brackets at once, within a third of Python's usual stack."""
    import inspect
    import sys

    import nndsl
    from nndsl.syntax.format import format_source

    value = "[" * 62 + "[1, 2]" + "]" * 62  # inside `dense(`: 64 brackets deep
    body = "repeat 1 {\n" * 63 + f"dense([1, 2], weights={value})\n" + "}\n" * 63
    source = f"model m {{\ninput(1)\n{body}}}\ntrain m {{ loss = mse batch_size = [1, 2] }}\n"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 330)
    try:
        with pytest.raises(NNDSLError, match="literal 'weight' has shape"):
            nndsl.compile_string(source, "f.nn")
        assert "repeat 1 {" in format_source(source, "f.nn")
    finally:
        sys.setrecursionlimit(old)


@pytest.mark.parametrize(
    "name", ["repeated", "none_of_these", "true_x", "falsehood", "models", "trainer", "nonex"]
)
def test_keywords_are_whole_words(name: str):
    """Was: `repeated` read as the keyword `repeat` and the name `ed`."""
    module = parse(f"model m {{ {name} = dense(4) }}\ntrain {{ k = {name} }}")
    assert module.models[0].body[0].target == name
    assert module.trains[0].settings[0].value == ast.Name(name, S(2, 13, 2, 13 + len(name)))


def test_a_byte_order_mark_at_the_start_is_accepted_and_not_counted():
    """Was: "unexpected character '\\ufeff'" (editors on some systems write one)."""
    from nndsl.syntax.format import format_source

    module = parse("\ufeffmodel m { dense(1) }")
    assert module.models[0].span == S(1, 1, 1, 21)
    assert format_source("\ufeffmodel m {\n    dense(1)\n}\n") == "model m {\n    dense(1)\n}\n"
    err = refused("\ufeffmodel m { dens 1 }")
    assert (err.line, err.column) == (1, 11)  # `dens`, counted from after the mark
    assert err.render().splitlines()[1:3] == ["   1 | model m { dens 1 }", " " * 17 + "^^^^"]
    refused("model m { \ufeff }")  # anywhere else it is a stray character
