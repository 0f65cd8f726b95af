"""Convolutions run channels-last end to end: the IR's samples are (height, width,
channels), so the (N, C, H, W) view torch's conv2d takes is already in channels-last
memory, its output comes back in it, and the view back to the IR's layout copies
nothing. (On a GPU that is the layout tensor cores want; no per-layer transposes.)"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import nndsl  # noqa: E402
from nndsl.backends.torch import layers_conv  # noqa: E402

CNN = """
model cnn {
    input(12, 12, 3)
    c1 = conv2d(8, 3, padding=same, activation=relu)
    max_pool2d(2)
    c2 = conv2d(16, 3, strides=2)
    reshape(4, 16)
    c4 = conv1d(4, 2)
    flatten()
    dense(2)
}
"""


def test_convolutions_read_and_write_channels_last_memory(monkeypatch) -> None:
    model = nndsl.compile_string(CNN).build(backend="torch", device="cpu")
    seen = []
    real = layers_conv.F.conv2d

    def conv2d(x, w, *args):
        y = real(x, w, *args)
        seen.append((x.is_contiguous(memory_format=torch.channels_last), y))
        return y

    monkeypatch.setattr(layers_conv.F, "conv2d", conv2d)
    outputs = {}
    for name in ("c1", "c2", "c4"):
        module = model.engine.net.get_submodule(name)
        module.register_forward_hook(lambda m, args, out, name=name: outputs.update({name: out}))
    x = np.random.default_rng(0).normal(size=(4, 12, 12, 3)).astype(np.float32)
    model.predict(x)

    assert len(seen) == 3
    for (x_channels_last, y), name in zip(seen, ("c1", "c2", "c4")):
        assert x_channels_last, f"{name}: its input was copied out of channels-last memory"
        assert y.is_contiguous(memory_format=torch.channels_last), name
        out = outputs[name]
        assert out.is_contiguous(), name  # the IR's (N, H, W, C) layout
        if name != "c1":  # c1's relu makes a new tensor; the others are views of y
            assert out.data_ptr() == y.data_ptr(), f"{name}: copied back to channels-last"
