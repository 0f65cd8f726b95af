"""Models with convolutions and batch normalization train the same on both backends
(training-mode statistics, running statistics, optimizer steps), in float64 (float32 on
a GPU: the `precise` fixture of conftest.py), the torch side on the `device` fixture's."""

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


# (history rtol, weights rtol and atol, predictions rtol and atol) after three epochs;
# in float32, momentum and small batches' statistics grow rounding to 1e-4 (measured on
# the CPU: weights 1e-4 off, predictions 2e-4, history 4e-6 relative)
TOLERANCES = {
    "float64": (1e-9, 1e-8, 1e-10, 1e-8, 1e-12),
    "float32": (1e-4, 1e-3, 1e-3, 1e-3, 2e-3),
}


def test_cnn_with_batch_norm_trains_identically(device: str, precise: str):
    program = nndsl.compile_string(CNN)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6, 6, 2))
    y = rng.integers(0, 3, 30)
    ref = program.build(backend="numpy", dtype=precise)
    got = program.build(backend="torch", device=device, dtype=precise)
    history, w_rtol, w_atol, p_rtol, p_atol = TOLERANCES[precise]
    ref_history = ref.fit(x, y, verbose=0).history
    got_history = got.fit(x, y, verbose=0).history
    for key, values in ref_history.items():
        np.testing.assert_allclose(got_history[key], values, rtol=history, err_msg=key)
    weights = got.get_weights()
    for key, w in ref.get_weights().items():
        np.testing.assert_allclose(weights[key], w, rtol=w_rtol, atol=w_atol, err_msg=key)
    assert not np.allclose(weights["bn.running_mean"], 0)
    np.testing.assert_allclose(got.predict(x), ref.predict(x), rtol=p_rtol, atol=p_atol)


def test_torch_module_shares_running_statistics(device: str):
    program = nndsl.compile_string(CNN)
    model = program.build(backend="torch", device=device)
    module = model.torch_module()
    x = np.random.default_rng(1).normal(size=(30, 6, 6, 2))
    model.fit(x, np.zeros(30, dtype=int), epochs=1, verbose=0)
    buffers = dict(module.named_buffers())
    np.testing.assert_array_equal(
        buffers["bn.running_mean"].cpu().numpy(), model.get_weights()["bn.running_mean"]
    )
