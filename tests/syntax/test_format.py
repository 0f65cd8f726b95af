"""`nndsl fmt`: the canonical layout, comments kept, idempotent, IR unchanged."""

from __future__ import annotations

import dataclasses
import functools
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nndsl.api import compile_string
from nndsl.cli import main
from nndsl.errors import NNDSLError
from nndsl.syntax.format import format_source
from nndsl.syntax.parser import parse


def fmt(source: str) -> str:
    return format_source(source)


# ------------------------------------------------------------------ expected layouts


def test_canonical_layout():
    src = (
        "model   m{input( 2 ,)h=dense(3,activation = relu , )dropout( 0.5 )}train m{loss=mse\n"
        "optimizer = adam(lr=1e-3,betas=[0.9,0.999])  early_stop=(monitor=val_loss,patience=+20)}"
    )
    assert fmt(src) == (
        "model m {\n"
        "    input(2)\n"
        "    h = dense(3, activation=relu)\n"
        "    dropout(0.5)\n"
        "}\n"
        "\n"
        "train m {\n"
        "    loss       = mse\n"
        "    optimizer  = adam(lr=1e-3, betas=[0.9, 0.999])\n"
        "    early_stop = (monitor=val_loss, patience=+20)\n"
        "}\n"
    )


def test_nested_repeat_indents_and_empty_blocks():
    src = "model m { input(4) repeat 2 { repeat 3 { dense(4) } dropout(0.1) } }\n"
    src += "model e {}\ntrain{}"
    assert fmt(src) == (
        "model m {\n"
        "    input(4)\n"
        "    repeat 2 {\n"
        "        repeat 3 {\n"
        "            dense(4)\n"
        "        }\n"
        "        dropout(0.1)\n"
        "    }\n"
        "}\n"
        "\n"
        "model e {\n"
        "}\n"
        "\n"
        "train {\n"
        "}\n"
    )


def test_numbers_and_strings_are_kept_as_written():
    src = 'train { a = [1e-3, 1E3, .5, 5., -0.0, +2, 007]  b = "q\\"uote\\t\\u00e9 # x" }'
    out = fmt(src)
    assert "a = [1e-3, 1E3, .5, 5., -0.0, +2, 007]" in out
    assert 'b = "q\\"uote\\t\\u00e9 # x"' in out


def test_nested_lists_groups_and_calls():
    src = "model m { dense(1, weights=[[ 3 ],[-2]], init=normal(std = 0.1,mean=0)) }"
    assert "    dense(1, weights=[[3], [-2]], init=normal(std=0.1, mean=0))\n" in fmt(src)
    assert "k = (a=[], b=(), c=none, d=true)" in fmt("train { k = ( a=[ ],b=( ) ,c=none,d=true) }")


def test_blank_lines_between_blocks_are_normalized_and_kept_once_inside():
    src = "\n\n\nmodel a {\n\n  input(1)\n\n\n\n  dense(1)\n\n}\nmodel b {\n input(1)\n}\n\n\n"
    assert fmt(src) == (
        "model a {\n    input(1)\n\n    dense(1)\n}\n\nmodel b {\n    input(1)\n}\n"
    )


def test_crlf_sources_format_like_lf_ones():
    src = "model m {  # c\n  input(2)\n\n  dense(1)  # d\n}\n# end\n"
    assert fmt(src.replace("\n", "\r\n")) == fmt(src)


def test_empty_and_comment_only_sources():
    assert fmt("") == ""
    assert fmt("  \n\n") == ""
    assert fmt("# just a note\n\n\n# another") == "# just a note\n\n# another\n"


# ------------------------------------------------------------------ comments


def test_comments_are_kept_in_place():
    src = (
        "# header\n"
        "model m {   # the model\n"
        "  # first layer\n"
        "  input(2)    # two features\n"
        "  dense(8,  # units\n"
        "     # more about it\n"
        "     activation=relu)  # end of a long call\n"
        "  repeat 2 {\n"
        "      dense(8)\n"
        "  # closing the repeat\n"
        "  }  # after repeat\n"
        "    # closing the model\n"
        "}\n"
        "# between blocks\n"
        "train m {\n"
        "  loss = mse  # short\n"
        "  optimizer = sgd(lr=0.1)\n"
        '  data = csv("data#1.csv", target="y")  # longer\n'
        "}\n"
        "# file end\n"
    )
    assert fmt(src) == (
        "# header\n"
        "model m {  # the model\n"
        "    # first layer\n"
        "    input(2)                   # two features\n"
        "    # units\n"
        "    # more about it\n"
        "    dense(8, activation=relu)  # end of a long call\n"
        "    repeat 2 {\n"
        "        dense(8)\n"
        "        # closing the repeat\n"
        "    }                          # after repeat\n"
        "    # closing the model\n"
        "}\n"
        "\n"
        "# between blocks\n"
        "train m {\n"
        "    loss      = mse  # short\n"
        "    optimizer = sgd(lr=0.1)\n"
        '    data      = csv("data#1.csv", target="y")  # longer\n'
        "}\n"
        "# file end\n"
    )


def test_trailing_comments_align_within_a_block():
    out = fmt(
        "train {\n  seed = 1  # a\n  batch_size = 64 # b\n  epochs = 3\n"
        '  data = csv("a/long/path/to/the/data.csv", target="y") # c\n}\n'
    )
    assert out.splitlines()[1:5] == [
        "    seed       = 1   # a",
        "    batch_size = 64  # b",
        "    epochs     = 3",
        '    data       = csv("a/long/path/to/the/data.csv", target="y")  # c',  # too long to align
    ]
    out = fmt("model m { input(2) # a\n repeat 2 { dense(2) # b\n } # c\n}")
    assert out.splitlines()[1:5] == [
        "    input(2)      # a",
        "    repeat 2 {",
        "        dense(2)  # b",
        "    }             # c",
    ]


def comment_texts(source: str) -> list[str]:
    return [c.text for c in parse(source).comments]


def test_comments_survive_and_keep_their_order(valid_path: Path):
    src = valid_path.read_text(encoding="utf-8")
    assert comment_texts(fmt(src)) == comment_texts(src)


# ------------------------------------------------------------------ idempotence, IR


def test_idempotent_on_examples(example_path: Path):
    once = fmt(example_path.read_text(encoding="utf-8"))
    assert fmt(once) == once


def test_idempotent_on_test_programs(program_path: Path):
    once = fmt(program_path.read_text(encoding="utf-8"))
    assert fmt(once) == once


def test_idempotent_on_error_cases_that_parse(repo_root: Path):
    """Broken programs that still parse are formatted too (fmt does not compile)."""
    for path in sorted((repo_root / "tests" / "errors" / "cases").glob("*.nn")):
        src = path.read_text(encoding="utf-8")
        try:
            once = fmt(src)
        except NNDSLError:
            continue
        assert fmt(once) == once, path.name


def without_positions(compiled) -> dict:
    """The compiled IR, minus the source line/column each node remembers for messages."""
    graphs = {}
    for name, graph in compiled.models.items():
        data = graph.to_dict()
        for node in data["nodes"]:
            node.pop("line")
            node.pop("column")
        graphs[name] = data
    return {"graphs": graphs, "plans": [p.to_dict() for p in compiled.plans]}


def test_formatting_never_changes_the_ir(valid_path: Path):
    src = valid_path.read_text(encoding="utf-8")
    before = compile_string(src, str(valid_path))
    after = compile_string(fmt(src), str(valid_path))
    assert without_positions(after) == without_positions(before)


def test_syntax_error_raises_located_error():
    with pytest.raises(NNDSLError) as info:
        format_source("model m {\n  dense(8\n}\n", "bad.nn")
    assert info.value.path == "bad.nn"
    assert info.value.line == 3


# ------------------------------------------------------------------ generated programs

NUMBERS = ["0", "3", "-2", "+7", "0.5", ".5", "5.", "1e-3", "2.5E+4", "-1.5e2"]
STRINGS = ['"a"', '""', '"x y"', r'"t\tq"', r'"q\"q"', '"#not a comment"']
NAMES = ["relu", "x", "val_loss", "h1", "_n", "dense"]
SEPARATORS = [" ", "  ", "\n", "\n\n\n", "\t", " # c\n", "\n  # own line\n", "  #\n"]


@functools.cache
def _value(depth: int) -> st.SearchStrategy[list[str]]:
    leaves = st.one_of(
        st.sampled_from(NUMBERS),
        st.sampled_from(STRINGS),
        st.sampled_from(NAMES + ["true", "false", "none"]),
    ).map(lambda t: [t])
    if depth == 0:
        return leaves
    inner = _value(depth - 1)
    items = st.lists(inner, max_size=3)
    lists = st.tuples(items, st.booleans()).map(
        lambda a: ["[", *_joined(a[0], trailing=a[1] and bool(a[0])), "]"]
    )
    calls = st.tuples(st.sampled_from(NAMES), _args(depth - 1)).map(
        lambda a: [a[0], "(", *a[1], ")"]
    )
    groups = _args(depth - 1).map(lambda a: ["(", *a, ")"])
    return st.one_of(leaves, lists, calls, groups)


@functools.cache
def _args(depth: int) -> st.SearchStrategy[list[str]]:
    positional = _value(depth)
    keyword = st.tuples(st.sampled_from(NAMES), _value(depth)).map(lambda a: [a[0], "=", *a[1]])
    return st.tuples(st.lists(st.one_of(positional, keyword), max_size=3), st.booleans()).map(
        lambda a: _joined(a[0], trailing=a[1] and bool(a[0]))
    )


def _joined(parts: list[list[str]], trailing: bool) -> list[str]:
    out: list[str] = []
    for i, part in enumerate(parts):
        if i:
            out.append(",")
        out.extend(part)
    return out + ([","] if trailing else [])


@functools.cache
def _statements(depth: int) -> st.SearchStrategy[list[str]]:
    layer = st.tuples(st.none() | st.sampled_from(NAMES), st.sampled_from(NAMES), _args(1)).map(
        lambda a: ([a[0], "="] if a[0] else []) + [a[1], "(", *a[2], ")"]
    )
    if depth == 0:
        return layer
    body = st.lists(_statements(depth - 1), max_size=2)
    repeat = st.tuples(st.sampled_from(["1", "2", "10"]), body).map(
        lambda a: ["repeat", a[0], "{", *sum(a[1], []), "}"]
    )
    return st.one_of(layer, repeat)


@functools.cache
def _block() -> st.SearchStrategy[list[str]]:
    model = st.tuples(st.sampled_from(NAMES), st.lists(_statements(2), max_size=3)).map(
        lambda a: ["model", a[0], "{", *sum(a[1], []), "}"]
    )
    setting = st.tuples(st.sampled_from(NAMES + ["batch_size"]), _value(2)).map(
        lambda a: [a[0], "=", *a[1]]
    )
    train = st.tuples(st.none() | st.sampled_from(NAMES), st.lists(setting, max_size=3)).map(
        lambda a: ["train", *([a[0]] if a[0] else []), "{", *sum(a[1], []), "}"]
    )
    return st.one_of(model, train)


def _program(blocks: list[list[str]], seed: int) -> str:
    tokens = sum(blocks, [])
    rng = random.Random(seed)  # one draw picks every separator
    return "".join(rng.choice(SEPARATORS) + tok for tok in tokens + [""])


def programs() -> st.SearchStrategy[str]:
    """Random valid source: blocks of random statements, random spaces and comments."""
    blocks = st.lists(_block(), max_size=3)  # strategies are built once (cached)
    return st.builds(_program, blocks, st.integers(0, 2**32))


def shape_of(node):
    """An AST node with every span dropped, for comparing layouts."""
    if isinstance(node, (list, tuple)):
        return tuple(shape_of(x) for x in node)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            shape_of(getattr(node, f.name))
            for f in dataclasses.fields(node)
            if "span" not in f.name and f.name not in ("source", "comments")
        )
    return node


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(programs())
def test_generated_programs_keep_ast_and_comments_and_are_idempotent(source):
    once = fmt(source)
    assert shape_of(parse(once).blocks) == shape_of(parse(source).blocks)
    assert comment_texts(once) == comment_texts(source)
    assert fmt(once) == once


# ------------------------------------------------------------------ the command


def test_fmt_check_exit_codes(tmp_path: Path, capsys):
    messy = tmp_path / "messy.nn"
    messy.write_text("model m{input(2) dense(1)}\n", encoding="utf-8")
    assert main(["fmt", "--check", str(messy)]) == 1
    assert "would reformat" in capsys.readouterr().err
    assert messy.read_text(encoding="utf-8") == "model m{input(2) dense(1)}\n"

    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text(encoding="utf-8") == "model m {\n    input(2)\n    dense(1)\n}\n"
    assert main(["fmt", "--check", str(messy)]) == 0


def test_fmt_reports_syntax_errors(tmp_path: Path, capsys):
    bad = tmp_path / "bad.nn"
    bad.write_text("model m {\n  input(2\n}\n", encoding="utf-8")
    assert main(["fmt", "--check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:1: error:" in err
    assert "Traceback" not in err
