"""`nndsl trace`: the lecture's perceptron worked by hand, gradients against central
differences, and the shapes of the text and JSON output for any model."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.lecture.trace import trace

ROOT = Path(__file__).resolve().parents[2]
PERCEPTRON = ROOT / "examples" / "lecture" / "perceptron.nn"

TWO_LAYERS = """
model two {
    input(2)
    dense(2, activation=tanh, weights=[[0.5, -1], [0.25, 2]], bias=[0.1, -0.2], l2=0.01)
    dense(1, activation=sigmoid, weights=[[1.5], [-0.5]], bias=[0.3])
}
train two { loss = mse }
"""

BRANCHES = """
model branches {
    input(3)
    h = dense(4, activation=relu)
    dense(4, activation=elu)
    add(h)
    dropout(0.5)
    dense(3)
    softmax()
}
train branches { loss = sparse_categorical_crossentropy }
"""


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def run(capsys, *args: str) -> str:
    assert main(["trace", *args]) == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------- the worked example


def test_perceptron_trace_is_the_hand_computation() -> None:
    """x = [-1, 2], w0 = 1, w = [3, -2], t = 1, binary cross-entropy."""
    model = nndsl.compile_file(PERCEPTRON).build(dtype="float64")
    tr = trace(model, np.array([[-1.0, 2.0]]), np.array([1.0]))
    dense = tr.nodes[1]
    z = 1 + 3 * (-1) + (-2) * 2
    y = sigmoid(z)
    assert z == -6
    assert dense.z[0] == pytest.approx(-6)
    assert dense.a[0] == pytest.approx(y, rel=1e-12)
    assert round(y, 4) == 0.0025
    assert tr.loss == pytest.approx(-math.log(y), rel=1e-12)
    # the chain rule as the lecture writes it: dJ/dw_i = dJ/dy * dy/dz * dz/dw_i
    dj_dy = -1 / y  # d/dy of -log(y)
    dy_dz = y * (1 - y)
    assert dense.upstream[0] == pytest.approx(dj_dy, rel=1e-9)
    assert dense.local[0] == pytest.approx(dy_dz, rel=1e-12)
    assert dense.dz[0] == pytest.approx(dj_dy * dy_dz, rel=1e-9)
    assert dense.dz[0] == pytest.approx(y - 1, rel=1e-12)  # sigmoid + cross-entropy
    x = [-1.0, 2.0]
    expected_w = [[dj_dy * dy_dz * x[0]], [dj_dy * dy_dz * x[1]]]
    np.testing.assert_allclose(dense.grads["weight"], expected_w, rtol=1e-9)
    np.testing.assert_allclose(dense.grads["bias"], [dj_dy * dy_dz], rtol=1e-9)


def test_perceptron_gradients_match_central_differences() -> None:
    model = nndsl.compile_file(PERCEPTRON).build(dtype="float64")
    x, t = np.array([[-1.0, 2.0]]), np.array([1.0])
    tr = trace(model, x, t)
    w0 = model.get_weights()

    def loss(w: dict) -> float:
        model.set_weights(w)
        return model.engine.loss_and_grads(x, t)[0]

    eps = 1e-6
    for key, name in (("dense_1.weight", "weight"), ("dense_1.bias", "bias")):
        numeric = np.zeros_like(w0[key])
        for idx in np.ndindex(numeric.shape):
            up = {k: v.copy() for k, v in w0.items()}
            up[key][idx] += eps
            down = {k: v.copy() for k, v in w0.items()}
            down[key][idx] -= eps
            numeric[idx] = (loss(up) - loss(down)) / (2 * eps)
        np.testing.assert_allclose(tr.nodes[1].grads[name], numeric, rtol=1e-7, atol=1e-9)


def test_perceptron_text(capsys) -> None:
    text = run(capsys, str(PERCEPTRON), "--input", "-1, 2", "--target", "1")
    assert "z = 1 + 3*(-1) + (-2)*2 = -6" in text
    assert "y = sigmoid(-6) = 0.0025" in text
    assert "J = binary_crossentropy(y, t) = 6.0025" in text
    assert "dJ/dy = -404.4288" in text
    assert "dy/dz = sigmoid'(-6) = 0.0025" in text
    assert "dJ/dw[1] = dJ/dy * dy/dz * dz/dw[1] = (-404.4288) * 0.0025 * (-1) = 0.9975" in text
    assert "dJ/dw[2] = dJ/dy * dy/dz * dz/dw[2] = (-404.4288) * 0.0025 * 2 = -1.9951" in text
    assert "dJ/db = dJ/dy * dy/dz * dz/db = (-404.4288) * 0.0025 * 1 = -0.9975" in text
    assert "weights: written in the file" in text


def test_forward_only_without_target(capsys) -> None:
    text = run(capsys, str(PERCEPTRON), "--input", "-1, 2")
    assert "y = sigmoid(-6) = 0.0025" in text
    assert "loss" not in text and "dJ/" not in text


def test_more_digits(capsys) -> None:
    text = run(capsys, str(PERCEPTRON), "--input", "-1, 2", "--digits", "8")
    assert "sigmoid(-6) = 0.00247262" in text


def test_json(capsys) -> None:
    data = json.loads(
        run(capsys, str(PERCEPTRON), "--input=-1,2", "--target", "1", "--format", "json")
    )
    assert data["model"] == "perceptron"
    dense = data["nodes"][1]
    assert dense["z"]["values"] == [-6.0]
    assert dense["a"]["values"][0] == pytest.approx(sigmoid(-6))
    back = dense["backward"]
    assert back["dJ/dz"]["values"][0] == pytest.approx(sigmoid(-6) - 1)
    assert back["grads"]["weight"]["shape"] == [2, 1]
    assert data["loss"]["value"] == pytest.approx(6 + math.log1p(math.exp(-6)))
    assert "backward" not in data["nodes"][0]  # the input has no gradient of its own


# ---------------------------------------------------------------- any model


@pytest.mark.parametrize("source, x, t", [(TWO_LAYERS, [1, -1], [1]), (BRANCHES, [1, -1, 0.5], 2)])
def test_every_gradient_is_the_engines_and_factors_multiply(source, x, t) -> None:
    model = nndsl.compile_string(source).build(dtype="float64", seed=3)
    xb = np.array([x], dtype=float)
    tb = np.array([t])
    tr = trace(model, xb, tb)
    loss, grads = model.engine.loss_and_grads(xb, tb)
    assert tr.loss == loss
    for node in tr.nodes:
        for name, g in node.grads.items():
            np.testing.assert_array_equal(g, grads[f"{node.name}.{name}"])
        if node.local is not None and node.upstream is not None:
            np.testing.assert_allclose(node.upstream * node.local, node.dz, rtol=1e-12)
    # forward values are the engine's: the output is predict's
    np.testing.assert_allclose(tr.output, model.predict(xb)[0], rtol=1e-12)


def test_two_layer_gradients_match_central_differences() -> None:
    model = nndsl.compile_string(TWO_LAYERS).build(dtype="float64")
    x, t = np.array([[1.0, -1.0]]), np.array([1.0])
    tr = trace(model, x, t)
    w0 = model.get_weights()
    eps = 1e-6
    for node in tr.nodes:
        for name, g in node.grads.items():
            key = f"{node.name}.{name}"
            numeric = np.zeros_like(w0[key])
            for idx in np.ndindex(numeric.shape):
                losses = []
                for step in (eps, -eps):
                    w = {k: v.copy() for k, v in w0.items()}
                    w[key][idx] += step
                    model.set_weights(w)
                    losses.append(model.engine.loss_and_grads(x, t)[0])
                numeric[idx] = (losses[0] - losses[1]) / (2 * eps)
            np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_hidden_layer_text_shows_the_chain(capsys, tmp_path) -> None:
    path = tmp_path / "two.nn"
    path.write_text(TWO_LAYERS)
    text = run(capsys, str(path), "--input", "1, -1", "--target", "1")
    assert "z[1] = 0.1 + 0.5*1 + 0.25*(-1) = 0.35" in text
    assert "a[1] = tanh(0.35) = 0.3364" in text
    assert re.search(r"dJ/da\[1\] = -?[\d.]+   \(from dense_2\)", text)
    assert "da[1]/dz[1] = tanh'(0.35) = 0.8869" in text
    assert "+ 2*l2*w[1,1]" in text and "(includes the L2 penalty" in text
    assert re.search(r"dJ/dx\[1\] = sum of dJ/dz\*w = .* \(to dense_1\)", text)


def test_big_layers_print_statistics(capsys) -> None:
    text = run(capsys, str(ROOT / "examples" / "spirals.nn"), "--input", "0.5, -1", "--target", "1")
    assert re.search(r"a = relu\(z\): shape \(64,\): min 0, mean \S+, max \S+, norm \S+", text)
    assert re.search(r"dJ/dw = x\^T\.dJ/dz: shape \(64, 64\)", text)
    assert "initial (seed 0, not trained" in text


def test_standardized_inputs_and_trained_weights(capsys, tmp_path) -> None:
    example = ROOT / "examples" / "lecture" / "will_i_pass.nn"
    out = tmp_path / "run"
    assert main(["run", str(example), "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    weights = str(out / "weights.npz")
    text = run(capsys, str(example), "--weights", weights, "--input", "20, 30", "--target", "1")
    assert f"weights: from {weights}" in text
    assert "input input_1 = [20, 30]   (standardized as in training" in text
    model = nndsl.compile_file(example).build()
    model.load(weights)
    y = model.predict(np.array([[20.0, 30.0]]))[0, 0]
    assert f"output y = [{round(float(y), 4):g}]" in text


def test_several_inputs(capsys, tmp_path) -> None:
    path = tmp_path / "two_inputs.nn"
    path.write_text(
        "model m {\n  a = input(2)\n  b = input(1)\n  concat(a, b)\n  dense(1)\n}\n"
        "train m { loss = mse }\n"
    )
    text = run(capsys, str(path), "--input", "a=1, 2", "--input", "b=3", "--target", "0.5")
    assert "input a = [1, 2]" in text and "input b = [3]" in text
    assert "a = [1, 2, 3]   (concat(a, b))" in text
    assert re.search(r"dJ/dw\[3\] = dJ/dz \* dz/dw\[3\] = \S+ \* 3 = ", text)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--input", "1, 2, 3"], ["3 value(s)", "(2,)"]),
        (["--input", "one, two"], ["expected numbers"]),
        (["--input", "a=1, 2"], ["no input 'a'"]),
    ],
)
def test_bad_inputs_are_one_line_errors(capsys, args, words) -> None:
    assert main(["trace", str(PERCEPTRON), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    for word in words:
        assert word in err


def test_target_needs_a_loss(capsys, tmp_path) -> None:
    path = tmp_path / "m.nn"
    path.write_text("model m { input(2) dense(1, weights=[[1], [2]]) }\n")
    assert main(["trace", str(path), "--input", "1, 1"]) == 0
    assert "z = 0 + 1*1 + 2*1 = 3" in capsys.readouterr().out
    assert main(["trace", str(path), "--input", "1, 1", "--target", "1"]) == 1
    assert "has no train block" in capsys.readouterr().err
