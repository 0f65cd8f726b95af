"""The shared training loop on the NumPy backend: seeded and bit-reproducible, every
sample used every epoch (the last partial batch included), losses averaged per sample,
validation each epoch, divergence caught, gradients clipped."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import nndsl
from nndsl.errors import NNDSLError
from nndsl.train.callbacks import Callback

SOURCE = """
model m {{
  input(3)
  dense(8, activation=tanh)
  dropout(0.2)
  dense(1, activation=sigmoid)
}}
train m {{
  loss = binary_crossentropy
  optimizer = {optimizer}
  batch_size = 16
  epochs = 4
  metrics = [accuracy]
  {extra}
}}
"""


def program(optimizer: str = "adam(lr=0.01)", extra: str = "") -> nndsl.Program:
    return nndsl.compile_string(SOURCE.format(optimizer=optimizer, extra=extra))


def data(n: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)


class StepCounter(Callback):
    """Counts optimizer steps per epoch by wrapping the engine's optimizer."""

    def on_train_begin(self) -> None:
        self.steps: list[int] = []
        optimizer = self.trainer.engine.optimizer
        step = optimizer.step

        def counted() -> None:
            self.steps[-1] += 1
            step()

        optimizer.step = counted

    def on_epoch_begin(self, epoch: int) -> None:
        self.steps.append(0)


class WeightLog(Callback):
    def on_train_begin(self) -> None:
        self.weights: list[dict[str, np.ndarray]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.weights.append(self.trainer.engine.get_weights())


# ---------------------------------------------------------------- reproducibility


def _run(seed: int):
    model = program().build(seed=seed)
    x, y = data()
    history = model.fit(x, y, validation_split=0.2, verbose=0)
    return history, model.get_weights()


def test_same_seed_is_bit_identical() -> None:
    h1, w1 = _run(seed=5)
    h2, w2 = _run(seed=5)
    assert h1.history == h2.history  # exact float equality, every key and epoch
    assert set(h1.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    for key in w1:
        np.testing.assert_array_equal(w1[key], w2[key])


def test_different_seeds_differ() -> None:
    h1, w1 = _run(seed=5)
    h2, w2 = _run(seed=6)
    assert h1.history["loss"] != h2.history["loss"]
    assert any(not np.array_equal(w1[k], w2[k]) for k in w1)


def test_shuffling_follows_the_seed_not_only_the_weights() -> None:
    """Same initial weights, different seeds: the batch order (and masks) differ."""
    x, y = data()
    prog = program(extra="")
    start = prog.build(seed=0).get_weights()
    finals = []
    for seed in (1, 1, 2):
        model = prog.build(seed=seed)
        model.set_weights(start)
        model.fit(x, y, verbose=0)
        finals.append(model.get_weights())
    assert all(np.array_equal(finals[0][k], finals[1][k]) for k in start)
    assert any(not np.array_equal(finals[0][k], finals[2][k]) for k in start)


# ---------------------------------------------------------------- batches


@pytest.mark.parametrize(
    "n, batch_size, steps", [(50, 16, 4), (48, 16, 3), (5, 16, 1), (17, 1, 17)]
)
def test_steps_per_epoch_include_the_last_partial_batch(n, batch_size, steps) -> None:
    model = program().build(seed=0)
    counter = StepCounter()
    x, y = data(n)
    model.fit(x, y, epochs=2, batch_size=batch_size, verbose=0, callbacks=[counter])
    assert counter.steps == [steps, steps]


def test_the_last_partial_batch_is_trained_on() -> None:
    """17 samples in batches of 16, unshuffled: the second step sees sample 16 alone."""
    x, y = data(17)
    prog = program(optimizer="sgd(lr=0.5)", extra="shuffle = false")
    full = prog.build(seed=0)
    full.fit(x, y, epochs=1, verbose=0)
    first_16 = prog.build(seed=0)
    first_16.fit(x[:16], y[:16], epochs=1, verbose=0)
    # the same first step; the 17th sample then moved the weights further
    assert any(
        not np.array_equal(full.get_weights()[k], first_16.get_weights()[k])
        for k in full.get_weights()
    )


def test_epoch_loss_is_the_mean_over_samples() -> None:
    """With lr=0 nothing moves: the epoch's loss must equal the loss on all the data,
    which holds only if the partial batch is weighted by its size."""
    prog = nndsl.compile_string(
        "model m { input(3) dense(1) } "
        "train m { loss = mse optimizer = sgd(lr=0.0) batch_size = 16 metrics = [mae] }"
    )
    model = prog.build(seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = rng.normal(size=50) * np.arange(50)  # large errors in the last (partial) batch
    history = model.fit(x, y, epochs=1, verbose=0)
    expected = model.evaluate(x, y)
    assert history.history["loss"][0] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["mae"][0] == pytest.approx(expected["mae"], rel=1e-12)


def test_validation_logs_are_evaluations_after_each_epoch() -> None:
    model = program().build(seed=0)
    x, y = data(60)
    xv, yv = data(20, seed=1)
    log = WeightLog()
    history = model.fit(x, y, validation_data=(xv, yv), verbose=0, callbacks=[log])
    assert len(history.history["val_loss"]) == 4
    for epoch, weights in enumerate(log.weights):
        model.set_weights(weights)
        result = model.evaluate(xv, yv)
        assert history.history["val_loss"][epoch] == pytest.approx(result["loss"], rel=1e-6)
        assert history.history["val_accuracy"][epoch] == pytest.approx(result["accuracy"])
    assert history.history["lr"] == [pytest.approx(0.01)] * 4


def test_training_lowers_the_loss() -> None:
    model = program().build(seed=0)
    x, y = data(200)
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


# ---------------------------------------------------------------- divergence and clipping

REGRESSION = """
model r {{ input(2) dense(4, activation=relu) dense(1) }}
train r {{ loss = mse optimizer = sgd(lr={lr}) batch_size = 10 epochs = 5 {extra} }}
"""


def _regression_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    return x, 1e6 * (x[:, :1] + x[:, 1:])


class BlowUpAfter(Callback):
    """Raise the learning rate to something absurd after epoch `epoch`."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if epoch == self.epoch:
            self.trainer.engine.lr = 1e30


def test_divergence_from_the_start_is_an_error_and_keeps_the_first_weights() -> None:
    model = nndsl.compile_string(REGRESSION.format(lr=1e6, extra="")).build(seed=0)
    start = model.get_weights()
    x, y = _regression_data()
    with warnings.catch_warnings(), pytest.raises(NNDSLError) as info:
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x, y, verbose=0)
    message = str(info.value)
    assert re.search(r"epoch 1, batch \d+", message), message
    assert "learning rate" in message  # the hint
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, start[key])


def test_divergence_later_keeps_the_last_good_epoch() -> None:
    model = nndsl.compile_string(REGRESSION.format(lr=1e-14, extra="")).build(seed=0)
    log = WeightLog()
    x, y = _regression_data()
    with warnings.catch_warnings(), pytest.raises(NNDSLError, match=r"epoch 3, batch \d+"):
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x, y, verbose=0, callbacks=[log, BlowUpAfter(epoch=1)])
    assert len(log.weights) == 2  # epochs 1 and 2 completed
    for key, value in model.get_weights().items():
        assert np.all(np.isfinite(value))
        np.testing.assert_array_equal(value, log.weights[-1][key])
    assert len(model.trainer.history.history["loss"]) == 2


def test_clip_norm_limits_each_step() -> None:
    """One full-batch SGD step of lr 1 moves the weights by exactly the clipped gradient."""
    x, y = _regression_data()
    for clip in (0.5, None):
        extra = f"clip_norm = {clip}" if clip else ""
        model = nndsl.compile_string(REGRESSION.format(lr=1.0, extra=extra)).build(
            seed=0, dtype="float64"
        )
        start = model.get_weights()
        _, grads = model.engine.loss_and_grads(x, y)
        norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
        assert norm > 1.0
        model.fit(x, y, epochs=1, batch_size=40, verbose=0)
        scale = clip / norm if clip else 1.0
        for key, value in model.get_weights().items():
            np.testing.assert_allclose(
                value, start[key] - scale * grads[key], rtol=1e-9, atol=1e-12
            )


def test_history_csv_reads_back_as_it_was_written() -> None:
    from nndsl.train.history import History

    h = History(info={"stopped_epoch": 3})
    for e, loss in enumerate([0.9, 0.5, float("nan")]):
        h.append(e, {"loss": loss, "val_loss": loss + 0.1} if e else {"loss": loss})
    back = History.from_csv(h.to_csv(), h.info)
    assert back.epoch == [0, 1, 2] and back.info == {"stopped_epoch": 3}
    assert back.to_csv() == h.to_csv()  # NaN where a value was missing, kept as NaN
