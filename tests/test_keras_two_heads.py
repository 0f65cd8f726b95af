"""A model with two heads (a class and a value) against Keras 3 itself (its torch
backend): the same layers, the same weights and data give the same parameter counts, the
same per-head and weighted total losses, and after one SGD step on the weighted total the
same weights (so the same gradients), to 1e-6."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
keras = pytest.importorskip("keras")

import nndsl  # noqa: E402

SOURCE = """
model two {
    input(5)
    h = dense(8, activation=tanh)
    label = dense(3, activation=softmax)
    value = dense(2, from=h)
    output label, value
}
train two {
    loss         = (label=sparse_categorical_crossentropy, value=mse)
    loss_weights = (label=1, value=0.5)
    optimizer    = sgd(lr=0.1)
    batch_size   = 16
    epochs       = 1
    shuffle      = false
}
"""


def keras_model() -> keras.Model:
    x = keras.Input((5,))
    h = keras.layers.Dense(8, activation="tanh", name="h")(x)
    label = keras.layers.Dense(3, activation="softmax", name="label")(h)
    value = keras.layers.Dense(2, name="value")(h)
    model = keras.Model(x, {"label": label, "value": value})
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss={"label": "sparse_categorical_crossentropy", "value": "mse"},
        loss_weights={"label": 1.0, "value": 0.5},
    )
    return model


def data(n: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    return x, {"label": rng.integers(0, 3, n), "value": rng.normal(size=(n, 2)).astype("float32")}


def copy_weights(ours, theirs: keras.Model) -> None:
    w = ours.get_weights()
    for name in ("h", "label", "value"):
        theirs.get_layer(name).set_weights([w[f"{name}.weight"], w[f"{name}.bias"]])


@pytest.fixture
def pair():
    ours = nndsl.compile_string(SOURCE).build(seed=3)
    theirs = keras_model()
    copy_weights(ours, theirs)
    return ours, theirs


def test_parameter_counts_equal_keras(pair):
    ours, theirs = pair
    graph = ours.graph
    assert graph.param_count == theirs.count_params() == 5 * 8 + 8 + 8 * 3 + 3 + 8 * 2 + 2
    for name in ("h", "label", "value"):
        assert graph[name].param_count == theirs.get_layer(name).count_params()


def test_losses_equal_keras(pair):
    ours, theirs = pair
    x, y = data()
    got = ours.evaluate(x, y)
    want = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert got["label_loss"] == pytest.approx(want["label_loss"], abs=1e-6)
    assert got["value_loss"] == pytest.approx(want["value_loss"], abs=1e-6)
    assert got["loss"] == pytest.approx(want["loss"], abs=1e-6)
    assert got["loss"] == pytest.approx(got["label_loss"] + 0.5 * got["value_loss"], abs=1e-6)


def test_one_step_of_the_weighted_total_equals_keras(pair):
    ours, theirs = pair
    x, y = data()
    ours.fit(x, y, epochs=1, batch_size=16, verbose=0)  # one batch: one step
    theirs.train_on_batch(x, y)
    after = ours.get_weights()
    for name in ("h", "label", "value"):
        kernel, bias = theirs.get_layer(name).get_weights()
        np.testing.assert_allclose(after[f"{name}.weight"], kernel, atol=1e-6)
        np.testing.assert_allclose(after[f"{name}.bias"], bias, atol=1e-6)
