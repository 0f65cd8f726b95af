"""Fuzzing the front end: anything typed ends in success or one located NNDSLError.

A bounded, seeded run of each kind of case in `nndsl.fuzz` (about 3,000 in all); the
long campaigns are `python tools/fuzz.py`. Below them, one regression test for each
crash the fuzzer found.
"""

from __future__ import annotations

import functools
import random
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import nndsl
from nndsl.errors import NNDSLError
from nndsl.fuzz import (
    FuzzFailure,
    check_bytes,
    check_located,
    check_source,
    check_weights_file,
    corpus,
    deep_nesting,
    hostile_from_bytes,
    message_template,
    mutate,
    program_from_bytes,
    programs,
)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = corpus(ROOT)
MUTANTS_PER_SEED = 12


def test_the_corpus_has_examples_programs_and_broken_files() -> None:
    names = [name for name, _ in SEEDS]
    assert any(n.startswith("examples/") for n in names)
    assert any(n.startswith("tests/programs/") for n in names)
    assert sum(n.startswith("tests/errors/cases/") for n in names) >= 40


@pytest.mark.parametrize("name, data", SEEDS, ids=[name for name, _ in SEEDS])
def test_byte_mutants_of_every_seed_file(name: str, data: bytes) -> None:
    rng = random.Random(f"{name}:{len(data)}")  # one stream per file, the same every run
    for _ in range(MUTANTS_PER_SEED):
        check_bytes(mutate(data, rng))


@settings(
    max_examples=1500,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(programs())
def test_programs_written_from_the_declarations(source: str) -> None:
    check_source(source)


def test_programs_reach_deep_into_the_checker() -> None:
    """The generator is not vacuous: it writes programs that compile, and programs that
    the checker (not only the parser) refuses in many different ways."""
    rng = random.Random(0)
    outcomes = [check_source(program_from_bytes(rng.randbytes(200))) for _ in range(400)]
    assert outcomes.count(None) >= 20
    kinds = {message_template(m) for m in outcomes if m}
    assert len(kinds) >= 60
    assert not any(k.startswith("unexpected") for k in kinds) or len(kinds) > 80


HOSTILE = [hostile_from_bytes(random.Random(i).randbytes(120 + i % 200)) for i in range(600)]


@functools.cache
def hostile_messages() -> list[str]:
    return [check_source(s) or "" for s in HOSTILE]


@pytest.mark.parametrize("start", range(0, len(HOSTILE), 100))
def test_hostile_cases_end_in_success_or_a_located_error(start: int) -> None:
    for source in HOSTILE[start : start + 100]:
        check_source(source, build=True)


@pytest.mark.parametrize(
    "fragment",
    [
        "digits; nndsl reads integers of at most 100 digits",  # big integer literals
        "blocks nested more than 64 deep",
        "brackets nested more than 64 deep",
        "must be a finite number",  # extreme floats
        "must be an integer of at most 9,223,372,036,854,775,807",
        "is below 'low'",  # initializer ranges
        "in size (a float32)",
        "\\x",  # control characters, escaped
        "nndsl sweeps at most 100,000",  # extreme grids
        "is too large: the model needs",  # extreme shapes
    ],
)
def test_hostile_cases_reach_every_class_of_issue_20(fragment: str) -> None:
    """The generator is not vacuous: each kind of hostile input is refused somewhere."""
    assert any(fragment in m for m in hostile_messages())


def test_hostile_cases_include_names_that_begin_with_keywords_and_a_bom() -> None:
    compiled = [s for s, m in zip(HOSTILE, hostile_messages()) if not m]
    assert any("repeated =" in s or "none_of_these" in s for s in compiled)
    assert any(s.startswith("\ufeff") for s in compiled)


def test_the_oracle_refuses_an_unlocated_error_and_a_crash(monkeypatch) -> None:
    with pytest.raises(FuzzFailure, match="without a line"):
        check_located(NNDSLError("somewhere"), "model m {}", "f.nn")
    with pytest.raises(FuzzFailure, match="outside the file"):
        check_located(NNDSLError("far", line=9, column=1), "model m {}", "f.nn")

    def boom(*args, **kwargs):
        raise KeyError("bug")

    with pytest.raises(FuzzFailure, match="a control character in the message"):
        error = NNDSLError("x", line=1, column=1)
        error.message = "raw \x1b"
        check_located(error, "model m {}", "f.nn")
    monkeypatch.setattr("nndsl.api.compile_string", boom)
    with pytest.raises(FuzzFailure, match="crash while compiling"):
        check_source("model m { input(1) }")


@pytest.mark.parametrize("opener", ["[", "(", "f("])
@pytest.mark.parametrize("depth", [60, 65, 5000])
def test_deep_nesting_is_an_error_not_a_recursion_error(opener: str, depth: int) -> None:
    message = check_source(deep_nesting(opener, depth))
    assert message is not None
    if depth > 64:
        assert "nested more than 64 deep" in message


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_mutated_weight_files_are_refused_or_loaded(tmp_path: Path, suffix: str) -> None:
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    program = nndsl.compile_string("model m {\n input(3)\n dense(4)\n dense(2)\n}\n")
    model = program.build(seed=0)
    seed_file = tmp_path / f"seed{suffix}"
    model.save(seed_file)
    data = seed_file.read_bytes()
    rng = random.Random(suffix)
    case = tmp_path / "case.bin"
    for _ in range(150):
        case.write_bytes(mutate(data, rng))
        check_weights_file(case, model)


# ---------------------------------------------------------------- crashes the fuzzer found


def located(source: str) -> NNDSLError:
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(source, "f.nn")
    check_located(info.value, source, "f.nn")
    return info.value


@pytest.mark.parametrize(
    "string, reason",
    [
        ('"\\x"', "truncated \\xXX escape"),
        ('"\\u12"', "truncated \\uXXXX escape"),
        ('"\\N{no such name}"', "unknown Unicode character name"),
        ('"a\x00b"', "NUL byte"),
    ],
)
def test_a_bad_string_escape_is_located(string: str, reason: str) -> None:
    """Was: SyntaxError out of ast.literal_eval."""
    err = located(f"model m {{ input(2) dense(1) }}\ntrain {{ data = csv({string}) loss = mse }}")
    assert (err.line, err.column) == (2, 20)
    assert "bad string" in err.message and reason in err.message


@pytest.mark.parametrize("breaker", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_characters_python_counts_as_line_breaks_do_not_shift_lines(breaker: str) -> None:
    """Was: the error named one line and showed another (str.splitlines breaks at these,
    the parser only at '\\n'); an end-of-file error could point past the last line."""
    err = located(f"# a{breaker}comment\nmodel m {{\n    input(2)\n    dens(1)\n}}\n")
    assert err.line == 4
    assert "    dens(1)" in err.render().splitlines()[1]
    err = located(f"model m {{\n    input(2)  # a{breaker}b\n    dense(1")
    assert (err.line, err.column) == (3, 12)


def test_a_number_run_after_a_line_break_character_is_reported() -> None:
    """Was: AttributeError in the malformed-number message ('NoneType' has no 'group')."""
    err = located("# x\x1c\nmodel m {\n    input(4(\n    dense(1)\n}\n")
    assert err.line == 3


def test_control_characters_are_not_echoed_to_the_terminal() -> None:
    err = located("model m {\n    input(2) \x1b[2J\n}\n")
    snippet = err.render().splitlines()[1]
    assert "\x1b" not in snippet and "?[2J" in snippet


def test_a_comment_with_a_line_break_character_formats() -> None:
    """Was: IndexError in `nndsl fmt` (comments were found on str.splitlines lines)."""
    from nndsl.syntax.format import format_source

    source = "model m {\n    # a\x1cb\n    input(2)\n    dense(1)\n}\n"
    assert "input(2)" in format_source(source, "f.nn")


def test_a_huge_repeat_is_refused_before_it_is_stamped_out() -> None:
    """Was: a hang (a hundred million layers compiled one by one)."""
    started = time.perf_counter()
    err = located("model m {\n    input(2)\n    repeat 100000000 { dense(1) dense(1) }\n}\n")
    assert "200,000,001 layers" in err.message and "at most 10,000" in err.message
    assert (err.line, err.column) == (3, 12)
    nndsl.compile_string("model m {\n    input(2)\n    repeat 100000000 { }\n    dense(1)\n}\n")
    assert time.perf_counter() - started < 5  # generous: it used to take minutes


def test_loaded_weights_of_a_string_dtype_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, **{"dense_1.weight": np.array(["a", "b"])})
    with pytest.raises(NNDSLError, match="'dense_1.weight' holds <U1, not numbers"):
        nndsl.load(path, program=nndsl.compile_string("model m { input(1) dense(2) }"))


def test_a_grid_too_large_to_list_is_refused_before_any_trial_is_made() -> None:
    """Was: a hang in `nndsl check`: a conv2d sweeping six arguments at once made a grid
    of 262,144 trials, every one listed before the size was looked at."""
    from nndsl.sweep.trials import check_trials

    values = "[" + ", ".join(["[1]", "[2]", "[3]", "[1]", "[2]", "[3]", "[1]", "[2]"]) + "]"
    sweeps = ", ".join(f"{k}={values}" for k in ("kernel_size", "strides", "dilation"))
    eight = ", ".join(["same"] * 8)
    acts = ", ".join(["relu", "tanh"] * 4)
    filters = "[1, 2, 3, 4, 5, 6, 7, 8]"
    layer = f"conv2d(filters={filters}, {sweeps}, padding=[{eight}], activation=[{acts}])"
    started = time.perf_counter()
    err = located(f"model m {{\n    input(8, 8, 3)\n    {layer}\n}}\n")
    assert "this list makes the sweep 262,144 trials or more" in err.message
    assert "at most 100,000" in err.message
    assert (err.line, err.column) == (3, layer.index("activation=") + 16)
    small = layer[: layer.index(", padding")] + ")"
    program = nndsl.compile_string(
        f"model m {{\n    input(8, 8, 3)\n    {small}\n    flatten()\n    dense(1)\n}}\n"
    )
    assert len(program.sweep) == 4096 and check_trials(program) == 0  # too many to try
    assert time.perf_counter() - started < 5


def test_checking_a_sweep_of_a_long_model_is_bounded() -> None:
    """Each value of a list in a layer compiles the model again: bounded, not a hang; a
    list in the train block leaves the model compiled once."""
    values = ", ".join(str(i) for i in range(1, 101))
    started = time.perf_counter()
    err = located(f"model m {{\n    input(2)\n    repeat 9000 {{ dense([{values}]) }}\n}}\n")
    assert (err.line, err.column) == (3, 25)
    assert "compiles the model 100 times (9,001 layers each)" in err.message
    nndsl.compile_string(
        "model m {\n    input(2)\n    repeat 3000 { dense(1) }\n}\n"
        f"train m {{\n    loss = mse\n    batch_size = [{values}]\n}}\n"
    )
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "layer",
    [
        "conv2d(4, kernel_size=[2147483647, 5, -1, 12, 10])",
        "conv2d(2147483647, [2147483647, 2147483647], dilation=2147483647, padding=same)",
        "conv2d(1, 1, strides=[2147483647, 1], dilation=[1e18, 1e18], padding=same)",
        "upsample([9223372036854775807, 9223372036854775807])",
        "max_pool2d(9223372036854775807, strides=9223372036854775807, padding=same)",
    ],
)
def test_extreme_window_arguments_compile_quickly(layer: str) -> None:
    started = time.perf_counter()
    for _ in range(20):
        check_source(f"model m {{\n    input(2147483647, 3, 3)\n    {layer}\n    dense(1)\n}}\n")
    assert time.perf_counter() - started < 2
