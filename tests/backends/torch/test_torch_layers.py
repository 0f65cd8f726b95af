"""Models with convolutions and batch normalization train the same on both backends
(training-mode statistics, running statistics, optimizer steps), in float64."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import nndsl  # noqa: E402

CNN = """
model cnn {
    input(6, 6, 2)
    conv2d(4, 3, padding=same, activation=relu)
    bn = batch_norm(momentum=0.3)
    max_pool2d(2)
    conv1 = conv2d(3, 2, strides=[1, 2], padding=same)
    layer_norm()
    upsample(2)
    avg_pool2d(3, strides=2, padding=same)
    global_avg_pool()
    dense(3, activation=softmax)
}
train cnn {
    loss       = sparse_categorical_crossentropy
    optimizer  = sgd(lr=0.1, momentum=0.9)
    batch_size = 7
    epochs     = 3
    metrics    = [accuracy]
    dtype      = float64
}
"""


def test_cnn_with_batch_norm_trains_identically():
    program = nndsl.compile_string(CNN)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6, 6, 2))
    y = rng.integers(0, 3, 30)
    ref = program.build(backend="numpy")
    got = program.build(backend="torch", device="cpu")
    ref_history = ref.fit(x, y, verbose=0).history
    got_history = got.fit(x, y, verbose=0).history
    for key, values in ref_history.items():
        np.testing.assert_allclose(got_history[key], values, rtol=1e-9, err_msg=key)
    weights = got.get_weights()
    for key, w in ref.get_weights().items():
        np.testing.assert_allclose(weights[key], w, rtol=1e-8, atol=1e-10, err_msg=key)
    assert not np.allclose(weights["bn.running_mean"], 0)
    np.testing.assert_allclose(got.predict(x), ref.predict(x), rtol=1e-8, atol=1e-12)


def test_torch_module_shares_running_statistics():
    program = nndsl.compile_string(CNN)
    model = program.build(backend="torch", device="cpu")
    module = model.torch_module()
    x = np.random.default_rng(1).normal(size=(30, 6, 6, 2))
    model.fit(x, np.zeros(30, dtype=int), epochs=1, verbose=0)
    buffers = dict(module.named_buffers())
    np.testing.assert_array_equal(
        buffers["bn.running_mean"].numpy(), model.get_weights()["bn.running_mean"]
    )
