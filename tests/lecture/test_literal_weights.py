"""Weights written in the file: they survive fmt and save/load, a wrong shape is a
located error naming both shapes, and a model whose weights are all written runs
without training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.syntax.format import format_source

ROOT = Path(__file__).resolve().parents[2]
PERCEPTRON = ROOT / "examples" / "lecture" / "perceptron.nn"

MESSY = """model m {
  input( 3 )
  dense(2,activation = tanh,weights=[ [ 0.5,-1e-3 ],[2.25 , -0.0],[ 1,3 ] ], bias=[ -.5, 4e2 ])
  dense(1, weights=[[-7], [0.125]], use_bias=false)
}
train m { loss = mse }
"""


def literal_values(graph) -> dict[str, list]:
    return {node.weight_key(w): w.value for node in graph.nodes for w in node.weights}


def test_fmt_keeps_every_literal_value() -> None:
    formatted = format_source(MESSY, "m.nn")
    assert format_source(formatted, "m.nn") == formatted
    assert "weights=[[0.5, -1e-3], [2.25, -0.0], [1, 3]], bias=[-.5, 4e2]" in formatted
    before = nndsl.compile_string(MESSY)
    after = nndsl.compile_string(formatted)
    assert literal_values(after.graph) == literal_values(before.graph)
    w_before = before.build(dtype="float64").get_weights()
    w_after = after.build(dtype="float64").get_weights()
    for key, value in w_before.items():
        np.testing.assert_array_equal(w_after[key], value)
    np.testing.assert_array_equal(w_after["dense_1.bias"], [-0.5, 400.0])


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    program = nndsl.compile_string(MESSY)
    model = program.build()
    path = tmp_path / f"w{suffix}"
    model.save(path)
    # loaded on its own (the graph travels with the weights): the literals come back
    again = nndsl.load(path)
    assert literal_values(again.graph) == literal_values(program.graph)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(again.get_weights()[key], value)
    x = np.array([[1.0, 2.0, -1.0]])
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_trained_weights_replace_the_literals_when_loaded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(PERCEPTRON), "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    trained = nndsl.load(out / "weights.npz").get_weights()
    assert not np.array_equal(trained["dense_1.weight"], [[3.0], [-2.0]])
    model = nndsl.compile_file(PERCEPTRON).build()
    np.testing.assert_array_equal(model.get_weights()["dense_1.weight"], [[3.0], [-2.0]])
    model.load(out / "weights.npz")
    np.testing.assert_array_equal(model.get_weights()["dense_1.weight"], trained["dense_1.weight"])


@pytest.mark.parametrize(
    "layer, column, message",
    [
        (
            "dense(1, weights=[[3, -2]])",
            22,
            "literal 'weight' has shape (1, 2), but the layer needs (2, 1)",
        ),
        (
            "dense(1, weights=[[3], [-2], [1]])",
            22,
            "literal 'weight' has shape (3, 1), but the layer needs (2, 1)",
        ),
        (
            "dense(2, weights=[[1, 2], [3, 4]], bias=[1])",
            45,
            "literal 'bias' has shape (1), but the layer needs (2)",
        ),
    ],
)
def test_a_wrong_shape_is_a_located_error_naming_both(
    tmp_path: Path, capsys, layer: str, column: int, message: str
) -> None:
    path = tmp_path / "bad.nn"
    path.write_text(f"model m {{\n    input(2)\n    {layer}\n}}\n")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    first, source, caret = err.splitlines()[:3]
    assert first == f"{path}:3:{column}: error: dense(): {message}"
    assert source == f"   3 |     {layer}"
    assert caret.index("^") == len("   3 | ") + column - 1


def test_literal_model_predicts_and_evaluates_without_training() -> None:
    model = nndsl.compile_file(PERCEPTRON).build()
    x = np.array([[-1.0, 2.0], [2.0, 0.0]])
    np.testing.assert_allclose(
        model.predict(x)[:, 0], 1 / (1 + np.exp(-np.array([-6.0, 7.0]))), rtol=1e-6
    )
    # the file's points are labelled by this very line: every one is classified right
    metrics = model.evaluate()
    assert metrics["accuracy"] == 1.0


def test_cli_evaluate_and_predict_need_no_weights_file(tmp_path: Path, capsys) -> None:
    assert main(["evaluate", str(PERCEPTRON)]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "1.0000"
    np.savez(tmp_path / "x.npz", x=np.array([[-1.0, 2.0]]))
    assert main(["predict", str(PERCEPTRON), "--data", str(tmp_path / "x.npz")]) == 0
    assert capsys.readouterr().out.splitlines() == ["p_label,label", "0.00247262,0"]
    # a model with weights left to the initializer still needs them
    assert main(["evaluate", str(ROOT / "examples" / "xor.nn")]) == 1
    assert "--weights W is needed" in capsys.readouterr().err


CONV = """model c {{
    input(3, 3, 1)
    conv2d(1, 2, weights={weights}, bias=[0.5])
    flatten()
}}
"""


def test_conv_kernels_can_be_written_too() -> None:
    # a 2x2 kernel [[1, 0], [0, -1]]: each output is x[i, j] - x[i+1, j+1] + 0.5
    kernel = "[[[[1]], [[0]]], [[[0]], [[-1]]]]"
    model = nndsl.compile_string(CONV.format(weights=kernel)).build(dtype="float64")
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(model.predict(x), [[-3.5, -3.5, -3.5, -3.5]])
    flat = nndsl.compile_string(CONV.format(weights="[1, 0, 0, -1]")).build(dtype="float64")
    np.testing.assert_array_equal(flat.predict(x), model.predict(x))


def test_conv_kernel_of_the_wrong_shape_names_both_shapes() -> None:
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(CONV.format(weights="[[1, 0, 2], [0, -1, 3]]"), "c.nn")
    err = info.value
    assert (err.line, err.column) == (3, 26)
    assert "literal 'weight' has shape (2, 3), but the layer needs (2, 2, 1, 1)" in err.message
    assert "(kernel_height, kernel_width, in_channels, filters)" in err.hint
