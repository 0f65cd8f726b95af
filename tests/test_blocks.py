"""User-defined blocks, as a user writes them: a block and the same layers written inline
compile to the same graph (up to names), start from the same weights and train to the
same history on both backends; parameters are checked like a built-in layer's; names go
by path; blocks come from other files (`use`) and from the standard library."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.blocks import std_files
from nndsl.errors import NNDSLError
from nndsl.syntax.format import format_source

TRAIN = """
train m {
    loss = sparse_categorical_crossentropy
    optimizer = adam(lr=0.01)
    batch_size = 16
    epochs = 3
    metrics = [accuracy]
    seed = 3
}
"""

BLOCK = (
    """
block unit(units: int, rate: float = 0.1, act = relu) {
    x = input()
    h = dense(units * 2, activation=act)
    dropout(rate / 2)
    dense(units)
    add(x)
}
model m {
    input(6)
    dense(8)
    r = unit(8)
    unit(units=8, rate=0.4, act=tanh)
    dense(3, activation=softmax)
}
"""
    + TRAIN
)

INLINE = (
    """
model m {
    input(6)
    x = dense(8)
    dense(16, activation=relu)
    dropout(0.05)
    dense(8)
    y = add(x)
    dense(16, activation=tanh)
    dropout(0.2)
    dense(8)
    add(y)
    dense(3, activation=softmax)
}
"""
    + TRAIN
)


def data(n: int = 96, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)


def _structure(graph):
    """Each node as (op, positions of its inputs, shape, attributes): the graph less names."""
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    return [(n.op, [index[i] for i in n.inputs], n.shape, n.attrs) for n in graph.nodes]


def test_a_block_compiles_to_the_graph_of_its_layers_written_inline():
    block, inline = nndsl.compile_string(BLOCK).graph, nndsl.compile_string(INLINE).graph
    assert _structure(block) == _structure(inline)
    assert (
        block.param_count == inline.param_count == 6 * 8 + 8 + 2 * (8 * 16 + 16 + 16 * 8 + 8) + 27
    )
    names = [n.name for n in block.nodes]
    assert names[:7] == [
        "input_1",
        "dense_1",
        "r.h",
        "r.dropout_1",
        "r.dense_1",
        "r.add_1",
        "unit_1.h",
    ]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_block_starts_from_and_trains_to_what_its_inline_layers_do(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    x, y = data()
    runs = []
    for source in (BLOCK, INLINE):
        model = nndsl.compile_string(source).build(backend=backend, seed=5, dtype="float64")
        first = list(model.get_weights().values())
        history = model.fit(x, y)
        runs.append((first, history.history, model.predict(x)))
    (w_block, h_block, p_block), (w_inline, h_inline, p_inline) = runs
    assert len(w_block) == len(w_inline)
    for a, b in zip(w_block, w_inline):
        np.testing.assert_array_equal(a, b)
    assert h_block.keys() == h_inline.keys()
    for key in h_block:
        np.testing.assert_allclose(h_block[key], h_inline[key], rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_block, p_inline, rtol=0, atol=1e-12)


NESTED = """
block inner(units: int) {
    hidden = dense(units, activation=relu)
    dense(units)
}
block encoder(units: int, depth: int = 2) {
    repeat depth {
        inner(units)
    }
    code = dense(units // 2)
}
model m {
    input(4)
    enc = encoder(8)
    encoder(8, depth=1)
    dense(2, from=enc.code)
}
"""


def test_names_go_by_path_in_the_graph_summary_and_weights(tmp_path):
    program = nndsl.compile_string(NESTED)
    names = [n.name for n in program.graph.nodes]
    assert "enc.inner_1.hidden" in names and "enc.inner_2.dense_1" in names
    assert "enc.code" in names and "encoder_1.inner_1.hidden" in names
    assert "encoder_1.inner_2.hidden" not in names  # depth=1: one inner unit
    model = program.build(seed=0)
    keys = list(model.get_weights())
    assert "enc.inner_2.hidden.weight" in keys and "encoder_1.code.bias" in keys
    summary = program.summary()
    assert "enc.inner_2.hidden" in summary
    # `from=enc.code` reads the first encoder's code, not the last layer
    assert program.graph.nodes[-1].inputs == ["enc.code"]
    path = tmp_path / "w.npz"
    model.save(str(path))
    again = nndsl.load(str(path))
    assert list(again.get_weights()) == keys


def test_torch_names_its_parameters_by_the_same_paths():
    pytest.importorskip("torch")
    program = nndsl.compile_string(NESTED)
    numpy_model = program.build(seed=1)
    torch_model = program.build(backend="torch", seed=1)
    a, b = numpy_model.get_weights(), torch_model.get_weights()
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=0)
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(numpy_model.predict(x), torch_model.predict(x), atol=1e-5)


def _error(source: str, path: str | None = None) -> NNDSLError:
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(source, path)
    return info.value


UNIT = "block unit(units: int, rate: float = 0.1) {\n    dense(units)\n    dropout(rate)\n}\n"


@pytest.mark.parametrize(
    ("use", "message"),
    [
        ("unit(8, 0.2, 3)", "at most 2 positional arguments"),
        ("unit(units=8, units=9)", "given twice"),
        ("unit(8, rate=true)", "'rate' must be a number, got a boolean"),
        ('unit("8")', "'units' must be an integer, got a string"),
        ("unit(8, rate=2)", "dropout(): 'rate' must be in [0, 1)"),
        ("unit(-units)", "'-' needs numbers"),
        ("unit(8, 0.5, rate=0.1)", "given twice"),
        ("unti(8)", "unknown layer 'unti'"),
    ],
)
def test_a_block_use_is_checked_like_a_built_in(use, message):
    err = _error(UNIT + f"model m {{\n    input(4)\n    {use}\n}}\n")
    assert message in err.message, err.render()
    assert err.line is not None and err.column is not None


def test_unknown_block_gets_did_you_mean():
    err = _error(UNIT + "model m {\n    input(4)\n    unti(8)\n}\n")
    assert err.hint == "did you mean 'unit'?"


def test_arithmetic_follows_int_and_float_rules():
    source = """
block shapes(units: int, rate: float) {
    dense(units * 4 + 1)
    dense((units + 1) * 2)
    dense(units // 3)
    dense(units % 5 + 1)
    dropout(rate / 2)
}
model m {
    input(4)
    shapes(8, 0.5)
}
"""
    graph = nndsl.compile_string(source).graph
    units = [n.attrs["units"] for n in graph.nodes if n.op == "dense"]
    assert units == [33, 18, 2, 4]
    assert all(isinstance(u, int) for u in units)
    rate = next(n.attrs["rate"] for n in graph.nodes if n.op == "dropout")
    assert rate == 0.25 and isinstance(rate, float)
    err = _error(source.replace("units // 3", "units / 3"))
    assert "must be an integer" in err.message and "//" in err.hint


def test_long_expressions_compile_or_are_refused_with_a_located_message():
    expr = " + ".join(["1"] * 60)
    graph = nndsl.compile_string(f"model m {{\n    input(2)\n    dense({expr})\n}}\n").graph
    assert graph.nodes[-1].attrs["units"] == 60
    err = _error(f"model m {{\n    input(2)\n    dense({' + '.join(['1'] * 5000)})\n}}\n")
    assert err.line == 3 and "nests more than" in err.message


def test_blocks_with_several_inputs_take_the_others_by_keyword():
    source = """
block mix(units: int) {
    x = input()
    memory = input()
    concat(memory)
    dense(units)
}
model m {
    a = input(3)
    b = dense(5)
    dense(2, from=a)
    mix(4, memory=b)
}
"""
    graph = nndsl.compile_string(source).graph
    concat = graph["mix_1.concat_1"]
    assert concat.inputs == ["dense_1", "b"] and concat.shape == (7,)


def test_block_inside_a_repeat_names_each_use():
    source = UNIT + "model m {\n    input(4)\n    repeat 3 {\n        u = unit(4)\n    }\n}\n"
    names = [n.name for n in nndsl.compile_string(source).graph.nodes]
    assert names == [
        "input_1",
        "u.dense_1",
        "u.dropout_1",
        "u_2.dense_1",
        "u_2.dropout_1",
        "u_3.dense_1",
        "u_3.dropout_1",
    ]


def test_a_block_that_explodes_is_refused_before_it_is_built():
    source = """
block wide(n: int) {
    repeat 1000 { dense(n) }
}
block huge(n: int) {
    repeat 1000 { wide(n) }
}
model m {
    input(2)
    huge(2)
}
"""
    err = _error(source)
    assert "at most 10,000" in err.message or "over 10,000" in err.message


# --------------------------------------------------------------------- use


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_use_reads_blocks_relative_to_the_file_from_any_folder(tmp_path, monkeypatch):
    _write(tmp_path / "lib" / "units.nn", UNIT)
    _write(
        tmp_path / "lib" / "more.nn",
        'use "units.nn"\nblock twice(n: int) {\n    unit(n)\n    unit(n)\n}\n',
    )
    main = _write(
        tmp_path / "project" / "model.nn",
        'use "../lib/more.nn"\nmodel m {\n    input(4)\n    twice(3)\n    unit(2)\n}\n',
    )
    monkeypatch.chdir(tmp_path / "lib")  # somewhere else than the file
    graph = nndsl.compile_file(main).graph
    assert [n.name for n in graph.nodes][-2:] == ["unit_1.dense_1", "unit_1.dropout_1"]
    assert graph["twice_1.unit_2.dense_1"].shape == (3,)


def test_a_mistake_in_a_used_file_is_reported_there(tmp_path):
    lib = _write(tmp_path / "units.nn", "block bad(n: int) {\n    dense(n)\n    dropout(2)\n}\n")
    main = _write(tmp_path / "model.nn", 'use "units.nn"\nmodel m {\n    input(4)\n    bad(3)\n}\n')
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file(main)
    err = info.value
    assert err.path == str(lib) and (err.line, err.column) == (3, 13)
    assert "used at" in err.hint and "model.nn:4" in err.hint
    assert "units.nn:3:13" in err.render()


def test_a_cycle_of_uses_is_refused_at_the_use_that_closes_it(tmp_path):
    _write(tmp_path / "a.nn", 'use "b.nn"\nblock a1(n: int) {\n    dense(n)\n}\n')
    b = _write(tmp_path / "b.nn", 'use "a.nn"\nblock b1(n: int) {\n    dense(n)\n}\n')
    main = _write(tmp_path / "m.nn", 'use "a.nn"\nmodel m {\n    input(2)\n    b1(2)\n}\n')
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file(main)
    err = info.value
    assert err.path == str(b) and err.line == 1
    assert "a.nn -> b.nn -> a.nn" in err.message


def test_a_file_used_twice_is_read_once_and_its_blocks_are_not_duplicates(tmp_path):
    _write(tmp_path / "base.nn", UNIT)
    _write(tmp_path / "x.nn", 'use "base.nn"\n')
    _write(tmp_path / "y.nn", 'use "base.nn"\n')
    main = _write(
        tmp_path / "m.nn", 'use "x.nn"\nuse "y.nn"\nmodel m {\n    input(2)\n    unit(3)\n}\n'
    )
    assert nndsl.compile_file(main).graph.output.shape == (3,)


@pytest.mark.parametrize(
    ("target", "message"),
    [("missing.nn", "no such file"), (".", "not a regular file")],
)
def test_use_of_something_that_is_not_a_source_file(tmp_path, target, message):
    main = _write(tmp_path / "m.nn", f'use "{target}"\nmodel m {{\n    input(2)\n}}\n')
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file(main)
    assert info.value.line == 1 and info.value.column == 5
    assert message in info.value.message or message in str(info.value.hint)


def test_a_binary_file_used_is_refused_with_a_message(tmp_path):
    (tmp_path / "blob.nn").write_bytes(b"\xff\xfe\x00garbage")
    main = _write(tmp_path / "m.nn", 'use "blob.nn"\nmodel m {\n    input(2)\n}\n')
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file(main)
    assert "not UTF-8" in info.value.message and info.value.line == 1


# --------------------------------------------------------------------- the standard library


def test_the_standard_library_ships_its_blocks_canonically_formatted():
    files = std_files()
    assert files, "nndsl/stdlib/*.nn is missing"
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert format_source(text) == text, f"{path.name} is not as nndsl fmt writes it"


def test_std_blocks_build_the_layers_they_document():
    source = """
use std
model m {
    input(8, 8, 1)
    conv_unit(4)
    flatten()
    dense_unit(16, rate=0.1)
    residual_unit(16)
    dense(3, activation=softmax)
}
"""
    graph = nndsl.compile_string(source).graph
    ops = [n.op for n in graph.nodes]
    assert ops == [
        "input",
        "conv2d",
        "batch_norm",
        "relu",
        "max_pool2d",
        "flatten",
        "dense",
        "batch_norm",
        "relu",
        "dropout",
        "batch_norm",
        "relu",
        "dense",
        "batch_norm",
        "relu",
        "dropout",
        "dense",
        "add",
        "dense",
    ]
    assert graph["conv_unit_1.max_pool2d_1"].shape == (4, 4, 4)
    assert graph["residual_unit_1.add_1"].inputs[1] == "dense_unit_1.dropout_1"
    # Keras' counts: conv 3x3x1x4 (no bias) + BN 4x4; dense 64*16 + BN 16x4; two dense 16x16+16
    assert graph["conv_unit_1.conv2d_1"].param_count == 36
    assert graph["dense_unit_1.dense_1"].param_count == 64 * 16


def test_std_is_brought_in_only_by_use():
    err = _error("model m {\n    input(4)\n    dense_unit(3)\n}\n")
    assert "unknown layer 'dense_unit'" in err.message


def test_a_user_block_may_not_take_a_std_name():
    err = _error(
        "use std\nblock dense_unit(n: int) {\n    dense(n)\n}\nmodel m {\n    input(2)\n}\n"
    )
    assert "already defined" in err.message and "units.nn" in err.message


def test_a_used_file_is_shown_beside_the_importer_as_the_user_wrote_it(tmp_path, monkeypatch):
    _write(tmp_path / "lib" / "units.nn", UNIT)
    _write(tmp_path / "m.nn", 'use "lib/units.nn"\nmodel m {\n    input(2)\n    unit(0)\n}\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file("m.nn")
    err = info.value
    assert err.path == os.path.join("lib", "units.nn") and (err.line, err.column) == (2, 11)
    assert err.render().startswith(os.path.join("lib", "units.nn") + ":2:11: error:")
    assert "used at m.nn:4" in err.hint


def test_arithmetic_in_train_settings_is_worked_out(tmp_path):
    source = UNIT + (
        "model m {\n    input(4)\n    h = unit(3)\n}\n"
        "train m {\n    loss = mse\n    epochs = 2 * 3\n    validation = 1 / 5\n"
        "    optimizer = adam(lr=1e-3 * 2)\n    terms = (s = 0.5 * l1(h))\n}\n"
    )
    plan = nndsl.compile_string(source).train
    assert (plan.epochs, plan.validation, plan.optimizer.args["lr"]) == (6, 0.2, 0.002)
    assert plan.terms[0].weight == 0.5 and plan.terms[0].inputs == ("h.dropout_1",)
    err = _error(source.replace("2 * 3", "12 / 2"))
    assert "'epochs' must be an integer" in err.message and "//" in err.hint


def test_a_source_file_beyond_the_limit_is_refused_before_it_is_parsed(tmp_path):
    big = _write(tmp_path / "big.nn", "model m {\n" + "    dense(1)\n" * 100_000 + "}\n")
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_file(big)
    assert "more than the 1.0 MiB nndsl reads" in info.value.message


def test_one_setting_in_parentheses_is_still_a_group():
    source = (
        "model m {\n    input(2)\n    dense(1)\n}\n"
        "train m {\n    loss = mse\n    validation = 0.2\n    early_stop = (val_loss)\n}\n"
    )
    assert nndsl.compile_string(source).train.early_stop["monitor"] == "val_loss"
