"""Semantic warnings: located like errors, rendered `file:line:col: warning: ...`, never
fatal (`nndsl check` exits 0); `program.warnings`, `model.warnings` and Python warnings
from `fit`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import NNDSLError, NNDSLWarning
from nndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent


def program_warnings(source: str) -> list[NNDSLWarning]:
    return nndsl.compile_string(source, "f.nn").warnings


def only(source: str) -> NNDSLWarning:
    found = program_warnings(source)
    assert len(found) == 1, [w.render() for w in found]
    return found[0]


TRAIN = "train m {{\n    loss = {loss}\n    optimizer = {optimizer}\n    batch_size = 8\n}}\n"


def file(layers: str, loss: str = "mse", optimizer: str = "adam") -> str:
    return f"model m {{\n{layers}}}\n" + TRAIN.format(loss=loss, optimizer=optimizer)


def test_a_clean_file_has_no_warnings(valid_path: Path) -> None:
    if valid_path.name == "residual.nn" and "tests" in valid_path.parts:
        pytest.skip("its repeated block is unused on purpose: see the next test")
    assert nndsl.compile_file(valid_path).warnings == []


def test_an_unused_layer_is_located_once_even_inside_a_repeat() -> None:
    """tests/programs/residual.nn branches past its repeated block (from=h)."""
    found = nndsl.compile_file(ROOT / "tests/programs/residual.nn").warnings
    assert [(w.line, w.column) for w in found] == [(6, 13), (7, 9), (8, 9), (9, 9)]
    assert "layer 'a' is not used" in found[0].message


def test_an_unused_branch_and_an_unused_input() -> None:
    source = file(
        "    x = input(4)\n    y = input(3)\n    h = dense(8, from=x)\n"
        "    side = dense(2, from=h)\n    dense(1, from=h)\n"
    )
    found = program_warnings(source)
    assert [(w.line, w.column, w.message.split(":")[0]) for w in found] == [
        (3, 9, "input 'y' is not used"),
        (5, 12, "layer 'side' is not used"),
    ]


def test_rendered_like_an_error_with_warning_in_place_of_error() -> None:
    w = only(file("    input(4)\n    dense(1)\n    dropout(0.5)\n"))
    assert w.render().splitlines() == [
        "f.nn:4:5: warning: dropout after the output layer: in training it zeroes 50% of "
        "the model's outputs, not of a hidden layer's units",
        "   4 |     dropout(0.5)",
        "           ^^^^^^^^^^^^",
        "  hint: put dropout between hidden layers, before the last dense layer",
    ]


@pytest.mark.parametrize(
    "layers",
    [
        "    input(4)\n    dense(3)\n    dropout(0.2)\n    softmax()\n",  # on the logits
        "    input(4)\n    dense(3, activation=softmax)\n    dropout(0.2)\n    flatten()\n",
    ],
)
def test_dropout_after_the_last_dense_layer(layers: str) -> None:
    found = program_warnings(file(layers))
    assert any("dropout after the output layer" in w.message for w in found)


def test_dropout_between_hidden_layers_is_fine() -> None:
    layers = "    input(4)\n    dense(8)\n    dropout(0.5)\n    dense(1)\n"
    assert program_warnings(file(layers)) == []


@pytest.mark.parametrize(
    "act, loss",
    [("softmax", "binary_crossentropy"), ("sigmoid", "categorical_crossentropy")],
)
def test_probabilities_hidden_behind_a_layer_are_not_logits(act: str, loss: str) -> None:
    """A softmax output with binary cross-entropy (and a sigmoid one with categorical)
    are compile errors; behind a later layer they would silently be read as logits."""
    source = file(f"    input(4)\n    dense(3, activation={act})\n    dropout(0.1)\n", loss=loss)
    found = {w.message.split(",")[0]: w for w in program_warnings(source)}
    w = next(w for m, w in found.items() if "as logits" in m)
    assert (w.line, w.column) == (7, 12)  # the loss setting
    assert f"they are {act} probabilities (dense_1, line 3) passed through dropout_1" in w.message
    with pytest.raises(NNDSLError):  # without the dropout: an error, as before
        nndsl.compile_string(file(f"    input(4)\n    dense(3, activation={act})\n", loss=loss))


@pytest.mark.parametrize(
    "optimizer, column, word",
    [
        ("sgd(lr=20)", 24, "diverge"),
        ("adam(1e-9)", 22, "barely move"),
        ("sgd(momentum=0.9, lr=0)", 38, "never change"),
    ],
)
def test_a_learning_rate_outside_the_usual_range(optimizer: str, column: int, word: str) -> None:
    w = only(file("    input(4)\n    dense(1)\n", optimizer=optimizer))
    assert (w.line, w.column) == (7, column)  # at the lr value itself
    assert "outside 1e-06..10" in w.message and word in w.message


def test_learning_rates_at_the_edges_are_fine() -> None:
    for lr in ("1e-6", "10", "0.001"):
        source = file("    input(4)\n    dense(1)\n", optimizer=f"sgd(lr={lr})")
        assert program_warnings(source) == []


def test_batch_size_larger_than_synthetic_data_is_known_before_loading() -> None:
    source = (
        "model m {\n    input(2)\n    dense(1, activation=sigmoid)\n}\n"
        'train m {\n    data = synthetic("xor", n=40)\n    validation = 0.25\n'
        "    loss = binary_crossentropy\n    batch_size = 64\n}\n"
    )
    w = only(source)
    assert (w.line, w.column) == (9, 18)
    assert "batch_size 64 is larger than the 30 training samples" in w.message


def test_check_prints_warnings_and_exits_0(tmp_path: Path, capsys) -> None:
    path = tmp_path / "w.nn"
    path.write_text(file("    input(4)\n    dense(1)\n    dropout(0.5)\n"))
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}:4:5: warning: dropout after the output layer")
    assert "   4 |     dropout(0.5)" in err


def test_fit_warns_about_a_batch_larger_than_the_data() -> None:
    program = nndsl.compile_string(file("    input(2)\n    dense(1)\n"), "f.nn")
    model = program.build(seed=0)
    x, y = np.zeros((5, 2)), np.zeros(5)
    with pytest.warns(NNDSLWarning, match="batch_size 8 is larger than the 5 training") as got:
        model.fit(x, y, epochs=1)
    w = got[0].message
    assert (w.path, w.line, w.column) == ("f.nn", 8, 18)
    assert model.warnings == [w]
    with pytest.warns(NNDSLWarning, match=r"batch_size 6 is larger") as got:
        model.fit(x, y, epochs=1, batch_size=6)
    assert got[0].message.line is None  # given to fit(), not written in the file
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=1, verbose=0)  # silent, but still collected
    assert len(model.warnings) == 1


def test_run_prints_warnings_before_training_and_none_when_quiet(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.nn"
    path.write_text(
        "model m {\n    input(2)\n    dense(1, activation=sigmoid)\n}\n"
        'train m {\n    data = synthetic("xor", n=20)\n    loss = binary_crossentropy\n'
        "    optimizer = sgd(lr=50)\n    epochs = 1\n}\n"
    )
    assert main(["run", str(path), "--out", str(tmp_path / "r")]) in (0, 1)
    err = capsys.readouterr().err
    assert f"{path}:8:24: warning: learning rate 50 is outside" in err
    assert f"{path}:5:1: warning: batch_size 32 (the default) is larger than" in err
    assert err.index("warning") < err.index("epoch 1/1") if "epoch 1/1" in err else True
    assert main(["run", str(path), "--out", str(tmp_path / "q"), "--quiet"]) in (0, 1)
    assert "warning" not in capsys.readouterr().err


def test_set_overrides_are_not_located_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.nn"
    path.write_text(file("    input(2)\n    dense(1)\n"))
    program = nndsl.compile_file(path, overrides=["optimizer=sgd(lr=100)"])
    (w,) = program.warnings
    assert w.line is None and "learning rate 100" in w.message
