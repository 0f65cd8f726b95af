"""The lecture's claims, checked on its example files (examples/lecture/).

Each runs the example as written (or with fewer samples/epochs where noted), seeded, so
the numbers are the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import nndsl
from nndsl.cli import main
from nndsl.train.trainer import TrainingDiverged

ROOT = Path(__file__).resolve().parents[2]
LECTURE = ROOT / "examples" / "lecture"


def test_every_lecture_example_is_there() -> None:
    names = {p.name for p in LECTURE.glob("*.nn")}
    assert {
        "perceptron.nn",
        "linear_vs_relu.nn",
        "learning_rates.nn",
        "overfitting.nn",
        "optimizers.nn",
        "will_i_pass.nn",
    } <= names


def test_perceptron_trace_prints_the_lectures_number(capsys) -> None:
    assert main(["trace", str(LECTURE / "perceptron.nn"), "--input", "-1, 2"]) == 0
    out = capsys.readouterr().out
    assert "z = 1 + 3*(-1) + (-2)*2 = -6" in out
    assert "y = sigmoid(-6) = 0.0025" in out


def test_linear_activations_stay_near_chance_relu_separates_the_spirals() -> None:
    program = nndsl.compile_file(LECTURE / "linear_vs_relu.nn")
    accuracy = {}
    for name in ("linear_net", "relu_net"):
        model = program.build(model=name)
        model.fit(verbose=0)
        accuracy[name] = model.evaluate()["accuracy"]  # the held-out test split
    assert accuracy["linear_net"] < 0.70, accuracy
    assert accuracy["relu_net"] > 0.95, accuracy


def trained_trials(path: Path, **fit) -> list[tuple[dict, object, np.ndarray | None]]:
    """(the trial's values, its trained model, its training loss per epoch; None when
    training diverged) for every trial of a sweep example."""
    out = []
    for trial in nndsl.compile_file(path).trials:
        model = trial.program.build()
        try:
            losses = np.array(model.fit(verbose=0, **fit)["loss"])
        except TrainingDiverged:
            losses = None
        out.append((trial.config, model, losses))
    return out


def test_learning_rates_crawl_converge_and_oscillate() -> None:
    (small_cfg, _, small), (good_cfg, _, good), (large_cfg, _, large) = trained_trials(
        LECTURE / "learning_rates.nn"
    )
    assert small_cfg["optimizer.lr"] < good_cfg["optimizer.lr"] < large_cfg["optimizer.lr"]
    # the good rate converges: the loss falls at every step and ends near the minimum
    assert np.all(np.diff(good) <= 1e-7) and good[-1] < 0.1
    # the small one moves the right way, but after the same budget is still far off
    assert np.all(np.diff(small) <= 1e-7) and small[-1] > 0.5 > 5 * good[-1]
    # the large one diverges, or bounces up as often as it goes down and never settles
    if large is not None:
        assert np.mean(np.diff(large) > 0) > 0.3
        assert large[-10:].min() > 5 * good[-1]


def train_validation_gap(model) -> float:
    splits = model.load_data()
    train = model.evaluate_scaled(splits.train.x, splits.train.y)["loss"]
    validation = model.evaluate_scaled(splits.validation.x, splits.validation.y)["loss"]
    return validation - train


def test_dropout_and_early_stopping_shrink_the_overfitting_gap() -> None:
    gaps = {
        (cfg["dropout_1.rate"] > 0, cfg["early_stop"] is not None): train_validation_gap(model)
        for cfg, model, _ in trained_trials(LECTURE / "overfitting.nn", epochs=100)
    }
    plain = gaps[(False, False)]
    assert plain > 1.0, gaps  # memorized: validation loss far above training loss
    assert gaps[(True, False)] < plain and gaps[(False, True)] < plain, gaps
    assert gaps[(True, True)] < plain / 4, gaps


def test_momentum_and_adaptive_optimizers_beat_plain_sgd() -> None:
    trials = trained_trials(LECTURE / "optimizers.nn", epochs=15)
    names = [str(cfg["optimizer"]) for cfg, _, _ in trials]
    assert [n.split("(")[0] for n in names] == [
        "sgd",
        "sgd",
        "adagrad",
        "adadelta",
        "rmsprop",
        "adam",
    ]
    assert "momentum=0.9" in names[1]
    plain = trials[0][2][-1]
    for name, (_, _, losses) in zip(names[1:], trials[1:]):
        assert losses[-1] < plain / 2, (name, losses[-1], plain)
