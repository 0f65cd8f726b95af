"""Fuzzing the front end: anything typed ends in success or one located NNDSLError.

A bounded, seeded run of each kind of case in `nndsl.fuzz` (about 3,000 sources, 400
cases of the language of issue 13 with the files they use, and 300 hostile files); the
long campaigns are `python tools/fuzz.py`. Below them, one regression test for each
crash the fuzzer found.
"""

from __future__ import annotations

import functools
import os
import random
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import nndsl
from nndsl.errors import NNDSLError
from nndsl.fuzz import (
    FILE_CLASSES,
    LOADERS,
    FuzzFailure,
    Member,
    check_bytes,
    check_case,
    check_file,
    check_hostile_file,
    check_located,
    check_source,
    check_weights_file,
    corpus,
    crc32_zeros,
    deep_nesting,
    deflated_zeros,
    file_seeds,
    hostile_file,
    hostile_from_bytes,
    language_from_bytes,
    message_template,
    mutate,
    npy_bytes,
    program_from_bytes,
    programs,
    zip_bytes,
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


# ---------------------------------------------------------------- the language (issue 13)

LANGUAGE = [language_from_bytes(random.Random(f"language:{i}").randbytes(60 + i % 300))
            for i in range(400)]  # fmt: skip


@functools.cache
def language_run(tmp: str) -> tuple[str, ...]:
    """Each case's message ('' when it compiled), checked in one folder, made once."""
    return tuple(check_case(case, Path(tmp) / "case") or "" for case in LANGUAGE)


@pytest.fixture(scope="module")
def language_messages(tmp_path_factory) -> tuple[str, ...]:
    return language_run(str(tmp_path_factory.mktemp("language")))


def test_language_cases_end_in_success_or_a_located_error(language_messages) -> None:
    """Blocks, use, arithmetic, output and per-output train settings: every case compiles
    (and formats idempotently to the same graphs) or is refused at a place in the file,
    used files included (`check_case` raises FuzzFailure otherwise)."""
    assert len(language_messages) == len(LANGUAGE)


@pytest.mark.parametrize(
    "fragment",
    [
        "use cycle: main.nn -> main.nn",  # the file uses itself
        "use cycle: a.nn -> b.nn -> a.nn",  # two files use each other
        "is a folder, not a regular file",
        "is a FIFO (named pipe), not a regular file",
        "is a character device",
        "more than the 1.0 MiB nndsl reads",
        "Too many levels of symbolic links",
        "is not UTF-8 text",
        "no such file",
        "is a built-in layer; a block needs a name of its own",
        "is already defined",  # a std block's name taken
        "needs numbers on both sides",
        "this expression nests more than 64 deep",
        "is already an output",
        "undefined name",
        "is both a parameter and a layer",
    ],
)
def test_language_cases_reach_every_class(language_messages, fragment: str) -> None:
    assert any(fragment in m for m in language_messages)


def test_language_cases_compile_often_and_fail_in_many_ways(language_messages) -> None:
    assert language_messages.count("") >= 50
    kinds = {message_template(m) for m in language_messages if m}
    assert len(kinds) >= 60
    sources = [c.source for c in LANGUAGE]
    compiled = [s for s, m in zip(sources, language_messages) if not m]
    for form in ("block ", "use std", 'use "lib.nn"', "output ", "loss = (", "repeat "):
        assert any(form in s for s in compiled), form


def test_the_format_oracle_refuses_a_formatter_that_changes_the_file(monkeypatch) -> None:
    import nndsl.syntax.format as fmt

    source = "model m {\n    input(2)\n    dense(3)\n}\n"
    monkeypatch.setattr(fmt, "format_source", lambda text, path=None: text + "#\n")
    with pytest.raises(FuzzFailure, match="fmt is not idempotent"):
        check_source(source)
    monkeypatch.setattr(fmt, "format_source", lambda text, path=None: text.replace("3", "4"))
    with pytest.raises(FuzzFailure, match="fmt changed what the file means"):
        check_source(source)


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
    if depth > 64:
        assert message is not None and "nested more than 64 deep" in message
    else:  # `dense((((1))))` is 1 in parentheses, since arithmetic (issue 13)
        assert (message is None) == (opener == "(")


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


# ---------------------------------------------------------------- hostile files (issue 20)

FILE_CASES = 30  # per class: 240 files, each given to every loader


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return file_seeds(tmp_path_factory.mktemp("fuzz-files"))


# Failures of the oracle that are known and open, each with a strict xfail below: the
# bounded run may show only these, as (class, fragment of the case, of the failure).
KNOWN_OPEN: list[tuple[str, str, str]] = []  # (class, case note, failure): none now
FILE_TIMEOUT = 2.0  # seconds per loader: every known case takes under 0.3


def known_open(case, failure: str) -> bool:
    return any(
        case.kind == kind and note in case.note and reason in failure
        for kind, note, reason in KNOWN_OPEN
    )


_FILE_RUNS: dict[str, list] = {}  # kind -> the run, made once per session


def file_run(kind: str, seeds) -> list[tuple[object, str | None, str]]:
    """(case, message, failure text) for FILE_CASES seeded cases of class `kind`."""
    if kind not in _FILE_RUNS:
        rng = random.Random(f"files:{kind}")
        run = []
        for _ in range(FILE_CASES):
            case = hostile_file(seeds, rng.randbytes(64), kind)
            try:
                run.append((case, check_hostile_file(case, seeds, FILE_TIMEOUT), ""))
            except FuzzFailure as f:
                run.append((case, None, str(f)))
        _FILE_RUNS[kind] = run
    return _FILE_RUNS[kind]


@pytest.mark.parametrize("kind", FILE_CLASSES)
def test_hostile_files_load_or_are_refused_naming_the_file(seeds, kind: str) -> None:
    """Every loader, on every case: success or an NNDSLError naming the file, within
    the time limit and the memory bound of what the file really holds."""
    unknown = [f for case, _, f in file_run(kind, seeds) if f and not known_open(case, f)]
    assert not unknown, f"{len(unknown)} of {FILE_CASES} failed; first:\n{unknown[0]}"


# What each class must reach (a fragment of some refusal): the generator is not vacuous.
FILE_CLASS_REACHES = {
    "mutant": ["not a readable weights file", "not a readable checkpoint"],
    "npy-claim": ["but the file holds", "invalid shape"],
    "zip-bomb": ["refuses to inflate a file by more than", "but the model needs"],
    "zip-size": ["more than compression can produce", "lies past the end of the file",
                 "stored but sizes disagree"],
    "safetensors": ["is not a readable weights file"],
    "checkpoint": ["checkpoint field 'epoch'", "checkpoint field 'history.epoch'",
                   "checkpoint field 'engine'", "checkpoint field 'meta.seed'"],
    "special-path": ["is a FIFO (named pipe), not a regular file", "is a character device",
                     "is a folder"],
    "bad-name": ["contains a NUL character", "lone surrogate"],
}  # fmt: skip


@pytest.mark.parametrize("kind", FILE_CLASSES)
def test_each_class_of_hostile_file_is_generated(seeds, kind: str) -> None:
    run = file_run(kind, seeds)
    assert len(run) == FILE_CASES and all(case.kind == kind for case, _, _ in run)
    messages = "\n".join(m for _, m, _ in run if m)
    for fragment in FILE_CLASS_REACHES[kind]:
        assert fragment in messages, fragment
    if kind in ("npy-claim", "zip-bomb", "zip-size", "special-path", "checkpoint"):
        assert sum(bool(case.refuse) for case, _, _ in run) >= FILE_CASES // 4


def test_zip_bombs_declare_gigabytes_from_megabytes(seeds) -> None:
    notes = [case.note for case, _, _ in file_run("zip-bomb", seeds)]
    huge = [case for case, _, _ in file_run("zip-bomb", seeds) if case.refuse]
    assert huge and all(Path(c.path).stat().st_size < 8 << 20 for c in huge), notes


def test_a_zip_bomb_stream_inflates_to_what_it_declares(tmp_path: Path) -> None:
    head = npy_bytes("'<f4'", "(786432,)")
    raw, crc = deflated_zeros(head, 3 << 20)
    assert len(raw) < 8_000 and zlib.decompress(raw, -15) == head + bytes(3 << 20)
    assert crc == zlib.crc32(head + bytes(3 << 20))
    for n in (0, 1, 7, 1 << 20, (5 << 20) + 3):
        assert crc32_zeros(0x1234, n) == zlib.crc32(bytes(n), 0x1234)
    path = tmp_path / "bomb.npz"
    path.write_bytes(zip_bytes([Member("x.npy", raw, True, crc, len(head) + (3 << 20))]))
    assert np.load(path, allow_pickle=False)["x"].shape == (786432,)  # a valid archive


@pytest.fixture
def blocking_fifo(tmp_path: Path) -> str:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    return str(path)


def test_the_file_oracle_catches_a_hang_a_crash_and_memory(seeds, monkeypatch, blocking_fifo):
    import nndsl.data.npzfile as npzfile

    def hang(path, **kwargs):
        with open(path, "rb"):  # a FIFO with no writer: blocks until the alarm
            pass

    monkeypatch.setattr(npzfile, "load_npz", hang)
    started = time.perf_counter()
    with pytest.raises(FuzzFailure, match=r"load_npz ran past 0.5 s \(a hang\)"):
        check_file(blocking_fifo, seeds.model, timeout=0.5)
    assert time.perf_counter() - started < 5
    monkeypatch.setattr(npzfile, "load_npz", lambda path, **kw: {}["bug"])
    with pytest.raises(FuzzFailure, match="crash in load_npz"):
        check_file(str(seeds.folder / "data.npz"), seeds.model)

    def greedy(path, **kwargs):
        buffer = np.ones(16 << 20)  # 128 MiB for a file of a few hundred bytes
        raise NNDSLError(f"{path} refused after {buffer.nbytes} bytes")

    monkeypatch.setattr(npzfile, "load_npz", greedy)
    with pytest.raises(FuzzFailure, match="load_npz allocated"):
        check_file(str(seeds.folder / "data.npz"), seeds.model)
    monkeypatch.setattr(npzfile, "load_npz", lambda path, **kw: (_ for _ in ()).throw(
        NNDSLError("a file was refused")))  # fmt: skip
    with pytest.raises(FuzzFailure, match="message does not name the file"):
        check_file(str(seeds.folder / "data.npz"), seeds.model)


def test_the_file_oracle_wants_a_refusal_where_the_class_demands_one(seeds) -> None:
    with pytest.raises(FuzzFailure, match="accepted a file it must refuse"):
        check_file(str(seeds.folder / "weights.npz"), seeds.model, refuse=LOADERS)
    assert check_file(str(seeds.folder / "checkpoint.npz"), seeds.model, checkpoint=True)


def test_a_weights_name_with_a_line_break_is_shown_escaped(seeds, tmp_path: Path) -> None:
    path = tmp_path / "a\nb.npz"
    path.write_bytes(seeds.files["data.npz"])
    check_file(str(path), seeds.model)


def test_npz_data_of_many_features_loads_in_bounded_time(seeds, tmp_path: Path) -> None:
    """A few KiB on disk: 2 samples of 524,288 features (zeros, 1 MiB as arrays) took
    over 0.5 s in load_npz, a name made per feature (4,194,304 features: 10 s and
    840 MiB under tracemalloc, for 16 MiB of arrays); such wide data is left unnamed."""
    head = npy_bytes("'|u1'", "(2, 524288)")
    raw, crc = deflated_zeros(head, 2 << 19)
    path = tmp_path / "wide.npz"
    members = [Member(name, raw, True, crc, len(head) + (2 << 19)) for name in ("x.npy", "y.npy")]
    path.write_bytes(zip_bytes(members))
    check_file(str(path), seeds.model, timeout=0.5)


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
