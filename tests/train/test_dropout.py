"""Inverted dropout: drops a fraction `rate` in training, scales the rest by 1/(1-rate),
is the identity in evaluation, and draws its masks from the model's seed."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.backends.numpy.kernels import KERNELS

SOURCE = """
model m {{
  input(8)
  dense(16, activation=relu)
  dropout({rate})
  dense(1)
}}
train m {{ loss = mse  epochs = 3  batch_size = 16  optimizer = sgd(lr=0.05) }}
"""


def dropout_kernel(rate: float, dtype: str = "float32", seed: int = 0):
    src = f"model m {{ input(4) dropout({rate}) }}"
    node = nndsl.compile_string(src).graph["dropout_1"]
    rng = np.random.default_rng(seed)
    return KERNELS["dropout"](node, {}, {}, [True], np.dtype(dtype), rng)


def data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8))
    return x, x[:, :1] - 0.5 * x[:, 1:2]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_kept_fraction_and_scale(rate: float, dtype: str) -> None:
    kernel = dropout_kernel(rate, dtype)
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=(1000, 200)).astype(dtype)
    y = kernel.forward([x], True).copy()
    kept = y != 0
    fraction = kept.mean()
    sigma = np.sqrt(rate * (1 - rate) / x.size)
    assert abs(fraction - (1 - rate)) < 5 * sigma, fraction
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6)
    # values, not whole rows or columns, are dropped
    assert 0 < kept.mean(axis=0).min() and kept.mean(axis=0).max() < 1
    assert 0 < kept.mean(axis=1).min() and kept.mean(axis=1).max() < 1


def test_backward_uses_the_same_mask() -> None:
    kernel = dropout_kernel(0.5)
    x = np.ones((50, 4), dtype=np.float32)
    y = kernel.forward([x], True).copy()
    (dx,) = kernel.backward(np.full_like(x, 3.0))
    np.testing.assert_array_equal(dx, 3.0 * y)


def test_identity_in_evaluation_and_at_rate_zero() -> None:
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    np.testing.assert_array_equal(dropout_kernel(0.5).forward([x], False), x)
    np.testing.assert_array_equal(dropout_kernel(0.0).forward([x], True), x)


def test_masks_follow_the_seed() -> None:
    x = np.ones((30, 40), dtype=np.float32)
    a, b, c = dropout_kernel(0.5, seed=3), dropout_kernel(0.5, seed=3), dropout_kernel(0.5, seed=4)
    first = a.forward([x], True).copy()
    np.testing.assert_array_equal(first, b.forward([x], True))
    assert not np.array_equal(first, c.forward([x], True))
    assert not np.array_equal(first, a.forward([x], True)), "a fresh mask every step"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_with_dropout_trains(dtype: str) -> None:
    model = nndsl.compile_string(SOURCE.format(rate=0.3)).build(seed=0, dtype=dtype)
    x, y = data()
    history = model.fit(x, y, verbose=0)
    assert len(history.history["loss"]) == 3
    assert all(np.isfinite(v) for v in history.history["loss"])


def test_predict_and_evaluate_ignore_dropout() -> None:
    with_dropout = nndsl.compile_string(SOURCE.format(rate=0.5)).build(seed=0)
    x, y = data()
    with_dropout.fit(x, y, verbose=0)
    p1 = with_dropout.predict(x)
    np.testing.assert_array_equal(p1, with_dropout.predict(x))
    assert with_dropout.evaluate(x, y) == with_dropout.evaluate(x, y)
    # the same weights without the dropout layer predict the same
    plain = nndsl.compile_string(SOURCE.format(rate=0.5).replace("dropout(0.5)", "")).build()
    plain.set_weights(with_dropout.get_weights())
    np.testing.assert_array_equal(plain.predict(x), p1)


def test_training_masks_come_from_the_model_seed() -> None:
    """Same weights, same order: only the dropout seed differs."""
    x, y = data()
    program = nndsl.compile_string(SOURCE.format(rate=0.5))
    runs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        model = program.build(seed=seed)
        model.set_weights(program.build(seed=0).get_weights())
        model.fit(x, y, verbose=0, shuffle=False)
        runs[name] = model.get_weights()
    for key in runs["a"]:
        np.testing.assert_array_equal(runs["a"][key], runs["b"][key])
    assert any(not np.array_equal(runs["a"][k], runs["c"][k]) for k in runs["a"])
    # and without dropout the seed would not matter here
    program = nndsl.compile_string(SOURCE.format(rate=0.0))
    finals = []
    for seed in (1, 2):
        model = program.build(seed=seed)
        model.set_weights(program.build(seed=0).get_weights())
        model.fit(x, y, verbose=0, shuffle=False)
        finals.append(model.get_weights())
    for key in finals[0]:
        np.testing.assert_array_equal(finals[0][key], finals[1][key])
