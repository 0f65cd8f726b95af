"""`nndsl boundary`: a picture of what a two-input model decides, for binary, several-class
and regression outputs; trains first only when the weights are neither given nor written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.lecture.boundary import plot_boundary

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
LECTURE = ROOT / "examples" / "lecture"
PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


def test_perceptron_draws_its_written_line_without_training(tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.png"
    args = ["boundary", str(LECTURE / "perceptron.nn"), "--out", str(out), "--mark", "-1, 2"]
    assert main(args) == 0
    assert is_png(out)
    err = capsys.readouterr().err
    assert "training" not in err and f"wrote {out}" in err


def test_line_separates_the_perceptron_points(tmp_path: Path) -> None:
    model = nndsl.compile_file(LECTURE / "perceptron.nn").build()
    x = np.loadtxt(LECTURE / "perceptron.csv", delimiter=",", skiprows=1)
    result = plot_boundary(model, x[:, :2], x[:, 2], tmp_path / "p.png")
    assert result == {"accuracy": 1.0}


def test_trains_first_when_weights_are_initial(tmp_path: Path, capsys) -> None:
    out = tmp_path / "xor.png"
    args = ["boundary", str(ROOT / "examples" / "xor.nn"), "--out", str(out), "--epochs", "2"]
    assert main(args) == 0
    assert is_png(out)
    assert "training xor first (2 epochs" in capsys.readouterr().err


def test_saved_weights_and_other_data(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    xor = str(ROOT / "examples" / "xor.nn")
    assert main(["run", xor, "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    np.savez(tmp_path / "d.npz", x=np.array([[0.0, 0.0], [1.0, 1.0]]), y=np.array([0.0, 0.0]))
    out = tmp_path / "b.png"
    weights = str(run / "weights.npz")
    args = ["boundary", xor, "--weights", weights, "--data", str(tmp_path / "d.npz")]
    assert main([*args, "--out", str(out)]) == 0
    assert is_png(out)
    assert "training" not in capsys.readouterr().err


SEVERAL = """
model m {{
    input(2)
    dense(8, activation=tanh)
    dense({units}{act})
}}
train m {{
    data   = synthetic("blobs", n=60, classes={classes}, seed=0)
    loss   = {loss}
    epochs = 2
}}
"""


@pytest.mark.parametrize(
    "units, act, loss",
    [
        (3, ", activation=softmax", "sparse_categorical_crossentropy"),  # arg-max regions
        (1, "", "mse"),  # a value over the plane
        (1, "", "binary_crossentropy"),  # logits: probabilities through the sigmoid
    ],
)
def test_other_outputs(tmp_path: Path, units: int, act: str, loss: str) -> None:
    path = tmp_path / "m.nn"
    path.write_text(SEVERAL.format(units=units, act=act, loss=loss, classes=max(units, 2)))
    out = tmp_path / "m.png"
    assert main(["boundary", str(path), "--out", str(out), "--no-train"]) == 0
    assert is_png(out)


def test_refuses_models_without_two_inputs(tmp_path: Path, capsys) -> None:
    digits = str(ROOT / "examples" / "digits.nn")
    assert main(["boundary", digits, "--out", str(tmp_path / "d.png"), "--no-train"]) == 1
    err = capsys.readouterr().err
    assert "one input of 2 features" in err
    assert not (tmp_path / "d.png").exists()
