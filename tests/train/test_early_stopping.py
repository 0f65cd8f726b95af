"""EarlyStopping follows Keras 3's algorithm (keras/src/callbacks/early_stopping.py).

Keras, at the end of each epoch (epochs count from 0):
  1. epochs before `start_from_epoch` are ignored entirely;
  2. with restore_best, the first watched epoch's weights are kept as a fallback;
  3. `wait += 1`;
  4. improvement means `current - min_delta < best` (mode min) or `current + min_delta > best`
     (mode max), `best` starting at +-inf; on improvement: best = current, remember the
     weights, and reset `wait` to 0 only if `current` also beats `baseline` (when given);
     then go to the next epoch;
  5. otherwise stop when `wait >= patience` and `epoch > 0`.
At the end of training (stopped or not) the remembered best weights are restored.
Mode auto: max for accuracy, min for losses and error metrics.

The expected epochs below are worked out by hand from these rules.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nndsl
from nndsl.errors import NNDSLError
from nndsl.train.callbacks import Callback, EarlyStopping


class FakeEngine:
    """Weights are tagged with the epoch that produced them."""

    def __init__(self) -> None:
        self.epoch = -1

    def get_weights(self) -> dict[str, np.ndarray]:
        return {"w": np.array([self.epoch])}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self.epoch = int(weights["w"][0])


class FakeTrainer:
    def __init__(self) -> None:
        self.engine = FakeEngine()
        self.stop_training = False


def drive(values: list[float], monitor: str = "val_loss", **kwargs):
    """Run the callback over a scripted metric sequence the way the trainer does.

    Returns (epochs run, the epoch whose weights the model ends with, end-of-train logs)."""
    es = EarlyStopping(monitor=monitor, **kwargs)
    trainer = FakeTrainer()
    es.trainer = trainer
    es.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        trainer.engine.epoch = epoch  # the weights this epoch trained
        ran += 1
        es.on_epoch_end(epoch, {"loss": 0.0, monitor: value})
        if trainer.stop_training:
            break
    logs: dict = {}
    es.on_train_end(logs)
    return ran, trainer.engine.epoch, logs


# (values, kwargs, epochs run, epoch of the final weights with restore_best)
CASES = {
    # e0 best; e1 improves; e2 wait 1 >= 0 -> stop at e2
    "patience-0": ([1.0, 0.9, 0.95, 0.8], {"patience": 0}, 3, 1),
    # e2 wait 1; e3 improves (wait 0); e4 wait 1; e5 wait 2 -> stop at e5
    "patience-2": ([5, 4, 4.5, 3.9, 4.0, 4.1, 4.2, 3.0], {"patience": 2}, 6, 3),
    # equal is not better: e2 wait 2 >= 2 -> stop
    "patience-2-ties": ([2.0, 2.0, 2.0, 1.0], {"patience": 2}, 3, 0),
    # min_delta 0.1: 0.95 is no improvement on 1.0 (wait 1); 0.85 is (best e2); 0.84 and
    # 0.83 are not (0.84 + 0.1 > 0.85): e4 wait 2 -> stop, best stays e2
    "min-delta": ([1.0, 0.95, 0.85, 0.84, 0.83, 0.5], {"patience": 2, "min_delta": 0.1}, 5, 2),
    # the sign of min_delta does not matter (Keras takes abs)
    "min-delta-negative": (
        [1.0, 0.95, 0.85, 0.84, 0.83, 0.5],
        {"patience": 2, "min_delta": -0.1},
        5,
        2,
    ),
    # mode max: rising is improving; e2 equals e1 -> wait 1 >= 1 -> stop
    "mode-max": ([0.5, 0.6, 0.6, 0.7], {"patience": 1, "mode": "max"}, 3, 1),
    # mode max with min_delta: 0.62 is not 0.05 above 0.6
    "mode-max-min-delta": (
        [0.5, 0.6, 0.62, 0.64, 0.9],
        {"patience": 2, "mode": "max", "min_delta": 0.05},
        4,
        1,
    ),
    # mode min on a rising sequence stops at e1
    "mode-min-rising": ([0.5, 0.7, 0.9, 0.95], {"patience": 0, "mode": "min"}, 2, 0),
    # baseline 0.5 never beaten: wait is never reset (1, 2 at e0, e1), so the first
    # non-improvement (e2: wait 3 >= 2) stops
    "baseline-not-beaten": ([0.9, 0.8, 0.85, 0.7, 0.6], {"patience": 2, "baseline": 0.5}, 3, 1),
    # without the baseline the same sequence runs to the end
    "no-baseline": ([0.9, 0.8, 0.85, 0.7, 0.6], {"patience": 2}, 5, 4),
    # baseline 0.85 beaten at e1 (wait reset to 0); e2 wait 1, e3 wait 2 -> stop
    "baseline-beaten": ([0.9, 0.8, 0.82, 0.83, 0.84, 0.1], {"patience": 2, "baseline": 0.85}, 4, 1),
    # strictly improving values never stop, even below a baseline never reached
    "baseline-improving": ([0.9, 0.8, 0.7, 0.6], {"patience": 0, "baseline": 0.1}, 4, 3),
    # mode max with a baseline
    "baseline-max": ([0.5, 0.6, 0.55, 0.9], {"patience": 2, "mode": "max", "baseline": 0.95}, 3, 1),
    # e0 and e1 ignored; e2 best; e3 improves; e4 wait 1 >= 0 -> stop
    "start-from-epoch": ([1, 2, 3, 2.5, 2.6, 0.0], {"patience": 0, "start_from_epoch": 2}, 5, 3),
    # the same values without start_from_epoch stop at e1
    "start-from-epoch-0": ([1, 2, 3, 2.5, 2.6, 0.0], {"patience": 0}, 2, 0),
    # patience never runs out: the best epoch (1) is restored at the end anyway
    "never-stops": ([3, 1, 2, 2.5], {"patience": 10}, 4, 1),
    # the first epoch is the best and nothing improves on it
    "first-is-best": ([1.0, 2.0, 3.0, 4.0], {"patience": 2}, 3, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_stops_at_the_right_epoch_and_restores_the_best(case: str) -> None:
    values, kwargs, ran, best = CASES[case]
    got_ran, weights_epoch, logs = drive(values, restore_best=True, **kwargs)
    assert got_ran == ran
    assert weights_epoch == best
    assert logs["restored_epoch"] == best + 1  # people count epochs from 1, as Keras prints
    if ran < len(values):
        assert logs["stopped_epoch"] == ran
    else:
        assert "stopped_epoch" not in logs


@pytest.mark.parametrize("case", list(CASES))
def test_without_restore_best_the_last_weights_stay(case: str) -> None:
    values, kwargs, ran, _ = CASES[case]
    got_ran, weights_epoch, logs = drive(values, **kwargs)
    assert got_ran == ran
    assert weights_epoch == ran - 1
    assert "restored_epoch" not in logs


@pytest.mark.parametrize(
    "monitor, values, ran",
    [
        # auto is max for accuracy: rising values never stop
        ("val_accuracy", [0.5, 0.7, 0.9, 0.95], 4),
        ("accuracy", [0.9, 0.8, 0.95], 2),
        # auto is min for losses and error metrics
        ("val_loss", [0.5, 0.7, 0.9, 0.95], 2),
        ("loss", [3.0, 2.0, 1.0], 3),
        ("val_mae", [1.0, 0.5, 0.7, 0.1], 3),
        ("val_mse", [1.0, 1.5, 0.1], 2),
    ],
)
def test_mode_auto(monitor: str, values: list[float], ran: int) -> None:
    expected_stop = ran < len(values)
    got, _, logs = drive(values, monitor=monitor, patience=0)
    assert got == ran
    assert ("stopped_epoch" in logs) == expected_stop


def test_ends_before_start_from_epoch_restores_nothing() -> None:
    ran, weights_epoch, logs = drive(
        [3.0, 2.0, 1.0], patience=0, start_from_epoch=5, restore_best=True
    )
    assert (ran, weights_epoch) == (3, 2)
    assert "restored_epoch" not in logs


def test_nan_counts_as_no_improvement() -> None:
    """Keras compares NaN like any value: never an improvement, and it uses up patience."""
    ran, weights_epoch, _ = drive([1.0, math.nan, math.nan, 0.5], patience=1, restore_best=True)
    assert (ran, weights_epoch) == (2, 0)
    ran, weights_epoch, _ = drive([math.nan, 2.0, 1.0], patience=1, restore_best=True)
    assert (ran, weights_epoch) == (3, 2)


def test_reusable_across_fits() -> None:
    es = EarlyStopping(monitor="loss", patience=0)
    es.trainer = FakeTrainer()
    for _ in range(2):
        es.trainer.stop_training = False
        es.on_train_begin()
        es.on_epoch_end(0, {"loss": 5.0})
        es.on_epoch_end(1, {"loss": 4.0})
        assert not es.trainer.stop_training  # a fresh best each time


def test_unreported_monitor_is_a_clear_error() -> None:
    es = EarlyStopping(monitor="val_loss", patience=1)
    es.trainer = FakeTrainer()
    es.on_train_begin()
    with pytest.raises(NNDSLError, match="val_loss") as info:
        es.on_epoch_end(0, {"loss": 1.0})
    assert "validation" in (info.value.hint or "")


# ---------------------------------------------------------------- through a real fit

SOURCE = """
model m {{
  input(2)
  dense(4, activation=tanh)
  dense(1)
}}
train m {{
  loss = mse
  optimizer = {optimizer}
  epochs = 30
  batch_size = 8
  early_stop = ({early_stop})
}}
"""


class WeightLog(Callback):
    def on_train_begin(self) -> None:
        self.weights: list[dict[str, np.ndarray]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.weights.append(self.trainer.engine.get_weights())


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    return x, np.sin(x[:, :1] * 2) + 0.3 * rng.normal(size=(40, 1))


def test_fit_stops_when_nothing_changes() -> None:
    src = SOURCE.format(optimizer="sgd(lr=0.0)", early_stop="monitor=val_loss, patience=2")
    model = nndsl.compile_string(src).build(seed=0)
    x, y = _data()
    history = model.fit(x, y, validation_split=0.25, verbose=0)
    # e0 best; e1 wait 1; e2 wait 2 >= 2 -> stop, in the third epoch
    assert len(history.history["val_loss"]) == 3
    assert history.info["stopped_epoch"] == 3


def test_fit_restores_the_best_epoch() -> None:
    # a learning rate large enough to make the validation loss wander
    src = SOURCE.format(
        optimizer="sgd(lr=0.3, momentum=0.9)",
        early_stop="monitor=val_loss, patience=4, restore_best=true",
    )
    model = nndsl.compile_string(src).build(seed=0)
    log = WeightLog()
    x, y = _data()
    history = model.fit(x, y, validation_split=0.25, verbose=0, callbacks=[log])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert history.info["restored_epoch"] == best + 1
    assert best != len(val) - 1, "the scenario should end on a worse epoch"
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, log.weights[best][key])
    assert model.evaluate(x[30:], y[30:])["loss"] == pytest.approx(val[best], rel=1e-5)
