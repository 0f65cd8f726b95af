"""The convolution family's NumPy kernels against written-out definitions: Keras'
padding (`same` puts the odd padded row/column after), pooling that ignores padding,
loops over every output position as the reference (the kernels themselves never loop
over pixels), and max pooling's gradient on ties."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.ir.ops_conv import window

NINE = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def build(body: str, shape: tuple[int, ...], dtype: str = "float64"):
    dims = ", ".join(map(str, shape))
    program = nndsl.compile_string(f"model m {{\n input({dims})\n{body}\n}}\n")
    return program.build(dtype=dtype)


def test_same_padding_puts_the_odd_row_and_column_after():
    model = build(" conv2d(1, 2, strides=2, padding=same, use_bias=false)", (3, 3, 1))
    model.set_weights({"conv2d_1.weight": np.ones((2, 2, 1, 1))})
    out = model.predict(NINE)[0, :, :, 0]
    np.testing.assert_array_equal(out, [[1 + 2 + 4 + 5, 3 + 6], [7 + 8, 9]])


def test_pools_with_same_padding_ignore_the_padding():
    assert build(" max_pool2d(2, padding=same)", (3, 3, 1)).predict(NINE)[0, :, :, 0].tolist() == [
        [5, 6],
        [8, 9],
    ]
    avg = build(" avg_pool2d(2, padding=same)", (3, 3, 1)).predict(NINE)[0, :, :, 0]
    np.testing.assert_allclose(avg, [[3, 4.5], [7.5, 9]])


def reference_conv(x, w, b, strides, dilation, padding):
    """Keras' Conv2D, one output position at a time. x (N, H, W, C), w (kh, kw, C, F)."""
    n, h, wd, _ = x.shape
    kh, kw, _, f = w.shape
    rows = window(h, kh, strides[0], dilation[0], padding)
    cols = window(wd, kw, strides[1], dilation[1], padding)
    out = np.zeros((n, rows.out, cols.out, f))
    for i in range(rows.out):
        for j in range(cols.out):
            for a in range(kh):
                for c in range(kw):
                    r = i * rows.stride - rows.pad_before + a * rows.dilation
                    s = j * cols.stride - cols.pad_before + c * cols.dilation
                    if 0 <= r < h and 0 <= s < wd:
                        out[:, i, j] += x[:, r, s] @ w[a, c]
    return out + b


@pytest.mark.parametrize(
    "shape, kernel, strides, dilation, padding",
    [
        ((7, 6, 3), (3, 3), (1, 1), (1, 1), "valid"),
        ((7, 6, 3), (3, 2), (2, 2), (1, 1), "same"),
        ((8, 9, 2), (2, 3), (3, 1), (2, 2), "same"),
        ((8, 9, 2), (3, 3), (1, 2), (2, 1), "valid"),
        ((5, 5, 1), (4, 4), (2, 3), (1, 1), "same"),
    ],
)
def test_conv2d_equals_the_definition(shape, kernel, strides, dilation, padding):
    layer = (
        f" conv2d(4, [{kernel[0]}, {kernel[1]}], strides=[{strides[0]}, {strides[1]}], "
        f"dilation=[{dilation[0]}, {dilation[1]}], padding={padding})"
    )
    model = build(layer, shape)
    rng = np.random.default_rng(0)
    w = {k: rng.normal(size=v.shape) for k, v in model.get_weights().items()}
    model.set_weights(w)
    x = rng.normal(size=(3, *shape))
    expected = reference_conv(
        x, w["conv2d_1.weight"], w["conv2d_1.bias"], strides, dilation, padding
    )
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-12, atol=1e-12)


def test_conv1d_is_conv2d_of_height_one():
    rng = np.random.default_rng(1)
    one = build(" c = conv1d(3, 3, strides=2, dilation=2, padding=same)", (9, 2))
    two = build(" c = conv2d(3, [1, 3], strides=2, dilation=2, padding=same)", (1, 9, 2))
    w = {k: rng.normal(size=v.shape) for k, v in one.get_weights().items()}
    one.set_weights(w)
    two.set_weights({k: v.reshape(two.get_weights()[k].shape) for k, v in w.items()})
    x = rng.normal(size=(4, 9, 2))
    np.testing.assert_allclose(one.predict(x), two.predict(x[:, None])[:, 0], rtol=1e-12)


def test_upsample_repeats_nearest():
    x = np.arange(6.0).reshape(1, 2, 3, 1)
    out = build(" upsample([2, 1])", (2, 3, 1)).predict(x)[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]])


def test_max_pool_gradient_on_ties_goes_to_the_first_maximum():
    """Whole-number inputs tie within windows: each window's gradient goes to its first
    largest value, in row-major order, as torch's max pooling sends it. An identity
    probe keeps the ties; its weight's gradient shows where the gradient went."""
    pytest.importorskip("torch")
    body = " max_pool2d(3, strides=2, padding=same)\n flatten()\n dense(1)"
    probe = "probe = dense(2, weights=[[1, 0], [0, 1]])"
    source = f"model m {{\n input(6, 5, 2)\n {probe}\n{body}\n}}\ntrain m {{ loss = mse }}"
    program = nndsl.compile_string(source)
    ref = program.build(dtype="float64")
    got = program.build(backend="torch", dtype="float64", device="cpu")
    got.set_weights(ref.get_weights())
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=(4, 6, 5, 2)).astype(float)
    y = rng.normal(size=(4, 1))
    _, grads = ref.engine.loss_and_grads(x, y)
    _, torch_grads = got.engine.loss_and_grads(x, y)
    for key, g in grads.items():
        np.testing.assert_allclose(torch_grads[key], g, rtol=1e-10, atol=1e-12, err_msg=key)
    # the last maximum instead of the first would give another probe gradient
    assert np.abs(grads["probe.weight"]).sum() > 0


def test_float32_kernels_stay_float32():
    model = build(
        " conv2d(4, 3, padding=same, activation=relu)\n avg_pool2d(2, padding=same)\n"
        " max_pool2d(2)\n upsample(2)\n global_avg_pool()",
        (5, 5, 2),
        dtype="float32",
    )
    out = model.predict(np.ones((2, 5, 5, 2)))
    assert out.dtype == np.float32 and out.shape == (2, 4)
