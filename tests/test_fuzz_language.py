"""Crashes and hangs the language fuzzer found (blocks, use, arithmetic; issue 13): each
input now ends in one located NNDSLError, or compiles, within a second or two."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import nndsl
from nndsl.errors import NNDSLError
from nndsl.fuzz import check_located, check_located_anywhere, check_source


def located(source: str, path: str = "f.nn") -> NNDSLError:
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(source, path)
    check_located_anywhere(info.value, source, path)
    return info.value


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("param", ["n: int = 2 * 3", "n = 2 * 3", "n: int = (6)", "n = -6"])
def test_arithmetic_in_a_parameter_default_is_worked_out(param: str) -> None:
    """Was: AttributeError ('BinOp' object has no attribute 'args') out of literal()."""
    source = f"block u({param}) {{\n    dense(n)\n}}\nmodel m {{\n    input(2)\n    u()\n}}\n"
    if "-6" in param:
        assert "must be >= 1" in located(source).message
    else:
        assert nndsl.compile_string(source).graph["u_1.dense_1"].shape == (6,)
        assert check_source(source) is None  # and fmt keeps it


@pytest.mark.parametrize("param", ["n: int = 1 // 0", "n = 1 // 0", "r: float = 1e308 * 10"])
def test_a_default_that_cannot_be_worked_out_is_refused_in_the_block_file(
    tmp_path: Path, param: str
) -> None:
    _write(tmp_path / "lib.nn", f"block u({param}) {{\n    relu()\n}}\n")
    main = _write(tmp_path / "m.nn", 'use "lib.nn"\nmodel m {\n    input(2)\n    u()\n}\n')
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file(main)
    err = info.value
    default = param.split("= ")[1]
    assert err.path == str(tmp_path / "lib.nn") and err.line == 1
    start = len("block u(") + param.index(default) + 1
    assert start <= err.column < start + len(default)  # in the default (its divisor)
    assert "division by zero" in err.message or "overflows" in err.message
    check_located(err, (tmp_path / "lib.nn").read_text(), err.path)


def test_blocks_that_add_no_layers_cannot_multiply_into_a_hang() -> None:
    """Was: a hang: a block of empty repeats, used 9999 times by a block used 9999 times,
    stamps out no layer, so the 10,000-layer bound never tripped (10^8 expansions)."""
    source = (
        "block b() {\n    repeat 5 { }\n}\n"
        "block d() {\n    repeat 9999 { b() }\n}\n"
        "block e() {\n    repeat 9999 { d() }\n}\n"
        "model m {\n    input(2)\n    e()\n}\n"
    )
    started = time.perf_counter()
    err = located(source)
    assert time.perf_counter() - started < 5
    assert "blocks are used more than 10,000 times in model 'm'" in err.message
    assert err.line == 5  # the use that went over, inside d
    assert "in block 'd'" in err.hint


def test_blocks_and_repeats_nested_through_each_other_do_not_overflow_the_stack() -> None:
    """Was: RecursionError: 63 blocks, each inside 60 repeats, each using the one below
    (each block and each file within its own nesting bounds)."""
    blocks = ["block b0() {\n    dense(1)\n}\n"]
    for i in range(1, 64):
        blocks.append(
            f"block b{i}() {{\n" + "repeat 1 {\n" * 60 + f"b{i - 1}()\n" + "}\n" * 60 + "}\n"
        )
    source = "".join(blocks) + "model m {\n    input(2)\n    b63()\n}\n"
    err = located(source)
    assert "repeats and blocks nest more than 128 deep here" in err.message
    shallow = "".join(blocks[:3]) + "model m {\n    input(2)\n    b2()\n}\n"
    assert [n.op for n in nndsl.compile_string(shallow).graph.nodes] == ["input", "dense"]


@pytest.mark.parametrize(
    "written, fragment",
    [
        ("a\\x00b.nn", "contains a NUL character"),
        ("\\ud800.nn", "holds a character with no encoding"),
    ],
)
def test_a_used_name_no_file_can_have_is_located(written: str, fragment: str) -> None:
    """Was: ValueError (embedded null byte) / UnicodeEncodeError out of Path.resolve()."""
    err = located(f'use "{written}"\nmodel m {{\n    input(2)\n}}\n')
    assert fragment in err.message and (err.line, err.column) == (1, 5)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_a_used_symlink_loop_is_located(tmp_path: Path) -> None:
    """Was: RuntimeError ('Symlink loop from ...') out of Path.resolve()."""
    os.symlink("loop.nn", tmp_path / "loop.nn")
    source = 'use "loop.nn"\nmodel m {\n    input(2)\n}\n'
    err = located(source, str(tmp_path / "m.nn"))
    assert "loop.nn" in err.message and (err.line, err.column) == (1, 5)


def test_a_used_file_past_one_mib_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """Was: a hang: 15 MiB (under the old 16 MiB bound) took the parser minutes."""
    with open(tmp_path / "big.nn", "wb") as f:
        f.truncate(15 << 20)
    started = time.perf_counter()
    err = located('use "big.nn"\nmodel m {\n    input(2)\n}\n', str(tmp_path / "m.nn"))
    assert "is 15.0 MiB, more than the 1.0 MiB nndsl reads" in err.message
    assert time.perf_counter() - started < 2


def test_hostile_arithmetic_is_refused_where_it_is_written() -> None:
    cases = {
        "1e308 * 10": "this arithmetic overflows a number",
        "9223372036854775807 + 1": "an integer beyond 64 bits",
        "4 // -0": "division by zero in '//'",
        '"a" * 3': "'*' needs numbers on both sides, got a string",
        "true + 1": "got a boolean",
        "[1, 2] * 3": "got a list",
        "-" * 100 + "3": "this expression nests more than 64 deep",
        "-(" * 40 + "3" + ")" * 40: "nests more than 64 deep",
    }
    for expr, fragment in cases.items():
        err = located(f"model m {{\n    input(2)\n    dense({expr})\n}}\n")
        assert fragment in err.message, (expr, err.message)
        assert err.line == 3
    assert check_source("model m {\n    input(2)\n    dense(-(-(-(-3))))\n}\n") is None


@pytest.mark.parametrize("ref", ["a", "zz"])
def test_an_output_inside_a_repeat_is_refused_even_when_nothing_is_stamped_out(ref: str) -> None:
    """Was: compiled, the output (even of an undefined name) silently ignored: a repeat
    whose body holds no layer returned before looking at it."""
    source = f"model m {{\n    a = input(2)\n    b = dense(3)\n    repeat 2 {{ output {ref} }}\n}}"
    err = located(source)
    assert err.message == "output cannot be repeated" and (err.line, err.column) == (4, 16)
