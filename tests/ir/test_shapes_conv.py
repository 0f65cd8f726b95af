"""Convolution, pooling, upsampling and reshape: output shapes and parameter counts equal
Keras' (written down from `model.summary()` of the same Keras layers; shapes without the
batch dimension, channels last)."""

from __future__ import annotations

import pytest

import nndsl
from nndsl.ir.graph import Graph


def graph(body: str) -> Graph:
    return nndsl.compile_string(f"model m {{\n{body}\n}}\n").models["m"]


@pytest.mark.parametrize(
    "body, shape, params",
    [
        # Conv2D(32, 3) on (28, 28, 1): 3 * 3 * 1 * 32 + 32
        ("input(28, 28, 1)\nconv2d(32, 3)", (26, 26, 32), 320),
        ("input(28, 28, 1)\nconv2d(32, 3, use_bias=false)", (26, 26, 32), 288),
        ("input(28, 28, 32)\nconv2d(64, 3, strides=2, padding=same)", (14, 14, 64), 18_496),
        ("input(28, 28, 3)\nconv2d(8, [5, 3], padding=same)", (28, 28, 8), 368),
        ("input(28, 28, 3)\nconv2d(8, 3, dilation=2)", (24, 24, 8), 224),
        ("input(27, 27, 3)\nconv2d(4, 4, strides=[2, 3])", (12, 8, 4), 196),
        ("input(7, 7, 3)\nconv2d(4, 2, strides=2, padding=same)", (4, 4, 4), 52),
        # Conv1D(16, 5) on (100, 8): 5 * 8 * 16 + 16
        ("input(100, 8)\nconv1d(16, 5)", (96, 16), 656),
        ("input(100, 8)\nconv1d(16, 5, strides=3, padding=same)", (34, 16), 656),
        ("input(100, 8)\nconv1d(4, 3, dilation=4)", (92, 4), 100),
    ],
)
def test_convolutions(body, shape, params):
    g = graph(body)
    assert g.output.shape == shape
    assert g.param_count == params


@pytest.mark.parametrize(
    "body, shape",
    [
        ("input(26, 26, 32)\nmax_pool2d()", (13, 13, 32)),  # MaxPooling2D()
        ("input(13, 13, 32)\nmax_pool2d(2)", (6, 6, 32)),
        ("input(13, 13, 32)\nmax_pool2d(3, strides=2, padding=same)", (7, 7, 32)),
        ("input(13, 13, 32)\navg_pool2d([3, 2], strides=1)", (11, 12, 32)),
        ("input(9, 9, 2)\navg_pool2d(2, padding=same)", (5, 5, 2)),
        ("input(96, 16)\nmax_pool1d()", (48, 16)),
        ("input(96, 16)\navg_pool1d(5, strides=2)", (46, 16)),
        ("input(95, 16)\navg_pool1d(2, padding=same)", (48, 16)),
        ("input(7, 7, 32)\nglobal_avg_pool()", (32,)),  # GlobalAveragePooling2D
        ("input(50, 12)\nglobal_avg_pool()", (12,)),  # GlobalAveragePooling1D
        ("input(7, 7, 32)\nupsample()", (14, 14, 32)),  # UpSampling2D()
        ("input(7, 5, 3)\nupsample([2, 3])", (14, 15, 3)),
        ("input(10, 3)\nupsample(4)", (40, 3)),  # UpSampling1D(4)
        ("input(64)\nreshape(8, 8, 1)", (8, 8, 1)),  # Reshape((8, 8, 1))
        ("input(6, 4)\nreshape(-1, 3)", (8, 3)),  # Reshape((-1, 3))
    ],
)
def test_layers_without_parameters(body, shape):
    g = graph(body)
    assert g.output.shape == shape
    assert g.param_count == 0


def test_keras_mnist_convnet():
    """Keras' 'Simple MNIST convnet' example: Total params: 34,826."""
    g = graph(
        "input(28, 28, 1)\nconv2d(32, 3, activation=relu)\nmax_pool2d(2)\n"
        "conv2d(64, 3, activation=relu)\nmax_pool2d(2)\nflatten()\ndropout(0.5)\n"
        "dense(10, activation=softmax)"
    )
    assert [n.shape for n in g.nodes] == [
        (28, 28, 1),
        (26, 26, 32),
        (13, 13, 32),
        (11, 11, 64),
        (5, 5, 64),
        (1600,),
        (1600,),
        (10,),
    ]
    assert [n.param_count for n in g.nodes if n.weights] == [320, 18_496, 16_010]
    assert g.param_count == 34_826


def test_conv_weight_layout_and_fans_are_keras():
    (weight, bias) = graph("input(9, 9, 3)\nconv2d(8, [5, 3])").output.weights
    assert weight.shape == (5, 3, 3, 8) and bias.shape == (8,)  # (kh, kw, in, filters)
    assert (weight.fan_in, weight.fan_out) == (5 * 3 * 3, 5 * 3 * 8)


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "input(2, 2, 1)\nconv2d(4, 3)",
            "a 3x3 kernel does not fit a 2x2 input with padding=valid (height 2 < 3)",
        ),
        ("input(8, 2, 1)\nconv2d(4, 3)", "(width 2 < 3)"),
        ("input(8, 8, 1)\nconv2d(4, 3, dilation=4)", "a 9x9 kernel does not fit a 8x8 input"),
        (
            "input(2, 3)\nconv1d(4, 3)",
            "a 3 kernel does not fit a 2 input with padding=valid (length 2 < 3)",
        ),
        (
            "input(64)\nconv2d(4, 3)",
            "conv2d needs samples of shape (height, width, channels), got (batch, 64)",
        ),
        ("input(8, 8, 1)\nconv1d(4, 3)", "conv1d needs samples of shape (length, channels)"),
        (
            "input(8, 8, 1)\nconv2d(4, [3, 3, 3])",
            "'kernel_size' takes one number or 2 (one per axis), got 3",
        ),
        ("input(8, 8, 1)\nmax_pool2d(2, strides=[1, 2, 3])", "'strides' takes one number or 2"),
        ("input(3, 3, 1)\nmax_pool2d(4)", "a 4x4 pool window does not fit a 3x3 input"),
        (
            "input(8)\nglobal_avg_pool()",
            "global_avg_pool needs samples with positions and channels",
        ),
        ("input(8)\nupsample()", "upsample needs samples (length, channels) or"),
        (
            "input(64)\nreshape(8, 7)",
            "reshape to 8x7 needs 56 values per sample, but (batch, 64) has 64",
        ),
        ("input(64)\nreshape(-1, 5)", "reshape cannot infer -1"),
        ("input(64)\nreshape(-1, -1)", "at most one -1"),
    ],
)
def test_shape_errors_say_which_dimension_and_why(body, message):
    with pytest.raises(nndsl.NNDSLError) as info:
        graph(body)
    assert message in info.value.message


def test_shape_error_hints():
    with pytest.raises(nndsl.NNDSLError) as info:
        graph("input(64)\nconv2d(4, 3)")
    assert "reshape(8, 8, 1)" in info.value.hint
    with pytest.raises(nndsl.NNDSLError) as info:
        graph("input(2, 2, 1)\nconv2d(4, 3)")
    assert "padding=same" in info.value.hint
