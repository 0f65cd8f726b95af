"""`nndsl fmt` on blocks, `use`, `output` and arithmetic: one canonical spelling, the
same AST, comments kept, idempotent."""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nndsl.syntax.format import format_source
from nndsl.syntax.parser import parse

from .test_format import NAMES, NUMBERS, STRINGS, _joined, _program, comment_texts, shape_of


def same_ast(a: str, b: str) -> bool:
    return shape_of(parse(a).blocks) == shape_of(parse(b).blocks)


def test_block_file_layout():
    src = (
        'use   std use "lib.nn"\n'
        "block residual( units :int,rate:float=0.1 ,act=relu, ){x=input()\n"
        "dense(units,activation=act) dropout(rate/2)   dense( units )\n"
        "add(x) repeat depth*2{dense(units//2)}output x,h.y}\n"
        'use "more.nn"\n'
        "model m{input(4) r=residual(8) output r}\n"
    )
    out = format_source(src)
    assert out == (
        "use std\n"
        'use "lib.nn"\n'
        "\n"
        "block residual(units: int, rate: float = 0.1, act = relu) {\n"
        "    x = input()\n"
        "    dense(units, activation=act)\n"
        "    dropout(rate / 2)\n"
        "    dense(units)\n"
        "    add(x)\n"
        "    repeat depth * 2 {\n"
        "        dense(units // 2)\n"
        "    }\n"
        "    output x, h.y\n"
        "}\n"
        "\n"
        'use "more.nn"\n'
        "\n"
        "model m {\n"
        "    input(4)\n"
        "    r = residual(8)\n"
        "    output r\n"
        "}\n"
    )
    assert same_ast(out, src) and format_source(out) == out


def test_empty_block_and_parameters_without_kinds():
    assert format_source("block b(){}") == "block b() {\n}\n"
    assert format_source("block b(a,b=2,){}") == "block b(a, b = 2) {\n}\n"


def test_arithmetic_is_spaced_and_parentheses_are_kept():
    src = (
        "train m{a=units*4 b=units-1 c=-units d=( units+1 )*2 e=n%3//2 f=[1,-1,x- -1]\n"
        "g=(x) h=(x,) i=((x)) j=- 3 k=--x l=2*-x m=enc.mean/2 n=()\n"
        "terms=(sparsity=0.001*l1(enc.h),kl=kl_normal(mean,log_var))}"
    )
    out = format_source(src)
    assert out == (
        "train m {\n"
        "    a     = units * 4\n"
        "    b     = units - 1\n"
        "    c     = -units\n"
        "    d     = (units + 1) * 2\n"
        "    e     = n % 3 // 2\n"
        "    f     = [1, -1, x - -1]\n"
        "    g     = (x)\n"
        "    h     = (x,)\n"
        "    i     = ((x))\n"
        "    j     = -3\n"
        "    k     = --x\n"
        "    l     = 2 * -x\n"
        "    m     = enc.mean / 2\n"
        "    n     = ()\n"
        "    terms = (sparsity=0.001 * l1(enc.h), kl=kl_normal(mean, log_var))\n"
        "}\n"
    )
    assert same_ast(out, src) and format_source(out) == out


def test_comments_in_and_around_blocks_are_kept():
    src = (
        "# lib\n"
        "use std  # the standard blocks\n"
        "block r(  # params\n"
        "    units: int,  # width\n"
        "    rate = 0.1\n"
        ") {  # body\n"
        "    # first\n"
        "    dense(units * 2)  # twice\n"
        "    output h  # the end\n"
        "}\n"
    )
    out = format_source(src)
    assert comment_texts(out) == comment_texts(src)
    assert "block r(units: int, rate = 0.1) {  # body\n" in out
    assert "    dense(units * 2)  # twice\n" in out
    assert "use std  # the standard blocks\n" in out
    assert same_ast(out, src) and format_source(out) == out


def test_repeat_counts_as_written():
    src = "model m { repeat 3 { dense(1) } repeat n*2 { relu() } repeat (n) { } }"
    out = format_source(src)
    assert "    repeat 3 {\n" in out and "    repeat n * 2 {\n" in out
    assert "    repeat (n) {\n" in out
    assert same_ast(out, src)


def test_words_that_became_keywords_still_format_as_layer_names():
    src = "model m { output=dense(1) block=dense(2) use=dense(2) output(3) add(output) }"
    out = format_source(src)
    assert out == (
        "model m {\n"
        "    output = dense(1)\n"
        "    block = dense(2)\n"
        "    use = dense(2)\n"
        "    output(3)\n"
        "    add(output)\n"
        "}\n"
    )
    assert same_ast(out, src)


# ------------------------------------------------------------------ generated programs

OPERATORS = ["+", "-", "*", "/", "//", "%"]
REFS = NAMES + ["enc.mean", "r.x"]


@functools.cache
def _expr(depth: int) -> st.SearchStrategy[list[str]]:
    leaves = st.one_of(
        st.sampled_from(NUMBERS), st.sampled_from(STRINGS), st.sampled_from(REFS)
    ).map(lambda t: [t])
    if depth == 0:
        return leaves
    inner = _expr(depth - 1)
    binops = st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda a: [*a[0], a[1], *a[2]])
    negs = inner.map(lambda a: ["-", *a])
    parens = inner.map(lambda a: ["(", *a, ")"])
    single_groups = inner.map(lambda a: ["(", *a, ",", ")"])
    keyword_groups = st.lists(
        st.tuples(st.sampled_from(NAMES), inner).map(lambda a: [a[0], "=", *a[1]]), max_size=2
    ).map(lambda a: ["(", *_joined(a, trailing=False), ")"])
    calls = st.tuples(st.sampled_from(NAMES), st.lists(inner, max_size=2)).map(
        lambda a: [a[0], "(", *_joined(a[1], trailing=False), ")"]
    )
    lists = st.lists(inner, max_size=2).map(lambda a: ["[", *_joined(a, trailing=False), "]"])
    return st.one_of(leaves, binops, negs, parens, single_groups, keyword_groups, calls, lists)


@functools.cache
def _body(depth: int) -> st.SearchStrategy[list[str]]:
    layer = st.tuples(st.none() | st.sampled_from(NAMES + ["output"]), _expr(2)).map(
        lambda a: ([a[0], "="] if a[0] else []) + ["dense", "(", *a[1], ")"]
    )
    output = st.lists(st.sampled_from(REFS), min_size=1, max_size=3).map(
        lambda a: ["output", *_joined([[n] for n in a], trailing=False)]
    )
    if depth == 0:
        return st.one_of(layer, output)
    repeat = st.tuples(_expr(1), st.lists(_body(depth - 1), max_size=2)).map(
        lambda a: ["repeat", *a[0], "{", *sum(a[1], []), "}"]
    )
    return st.one_of(layer, output, repeat)


def _param() -> st.SearchStrategy[list[str]]:
    kinds = st.none() | st.sampled_from(["int", "float", "name"])
    return st.tuples(st.sampled_from(NAMES), kinds, st.none() | _expr(1)).map(
        lambda a: [a[0], *([":", a[1]] if a[1] else []), *(["=", *a[2]] if a[2] else [])]
    )


@functools.cache
def _item() -> st.SearchStrategy[list[str]]:
    use = st.sampled_from(['"blocks.nn"', "std", r'"a\\b.nn"']).map(lambda p: ["use", p])
    block = st.tuples(
        st.sampled_from(NAMES),
        st.lists(_param(), max_size=3),
        st.booleans(),
        st.lists(_body(1), max_size=3),
    ).map(
        lambda a: [
            "block",
            a[0],
            "(",
            *_joined(a[1], trailing=a[2] and bool(a[1])),
            ")",
            "{",
            *sum(a[3], []),
            "}",
        ]
    )
    model = st.lists(_body(1), max_size=3).map(lambda a: ["model", "m", "{", *sum(a, []), "}"])
    setting = st.tuples(st.sampled_from(NAMES), _expr(2)).map(lambda a: [a[0], "=", *a[1]])
    train = st.lists(setting, max_size=3).map(lambda a: ["train", "{", *sum(a, []), "}"])
    return st.one_of(use, block, model, train)


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.builds(_program, st.lists(_item(), max_size=4), st.integers(0, 2**32)))
def test_generated_block_programs_keep_ast_and_comments_and_are_idempotent(source):
    once = format_source(source)
    assert shape_of(parse(once).blocks) == shape_of(parse(source).blocks)
    assert comment_texts(once) == comment_texts(source)
    assert format_source(once) == once
