"""Output shapes and parameter counts equal Keras' for the same models.

The Keras numbers are written down as constants (from `model.summary()` of the equivalent
Keras model); shapes leave out the batch dimension, as Keras' `(None, ...)` does.
"""

from __future__ import annotations

import pytest

import nndsl
from nndsl.ir.graph import Graph


def graph(body: str, name: str = "m") -> Graph:
    return nndsl.compile_string(f"model {name} {{\n{body}\n}}\n").models[name]


def shapes(g: Graph) -> dict[str, tuple[int, ...]]:
    return {n.name: n.shape for n in g.nodes}


def params(g: Graph) -> dict[str, int]:
    return {n.name: n.param_count for n in g.nodes}


# ------------------------------------------------------------------ dense stacks


def test_dense_784_to_256():
    g = graph("input(784)\ndense(256)")
    assert g.param_count == 200_960  # Keras: Dense(256) on (None, 784)
    assert g.output.shape == (256,)


def test_mlp_784_256_128_10():
    g = graph("input(784)\ndense(256, relu)\ndense(128, relu)\ndense(10, softmax)")
    # Keras summary: 200,960 + 32,896 + 1,290
    assert params(g) == {"input_1": 0, "dense_1": 200_960, "dense_2": 32_896, "dense_3": 1_290}
    assert g.param_count == 235_146
    assert shapes(g)["dense_3"] == (10,)


def test_dense_without_bias():
    assert graph("input(784)\ndense(256, use_bias=false)").param_count == 200_704


def test_perceptron_and_small_net():
    assert graph("input(2)\ndense(1, activation=sigmoid)").param_count == 3
    # will_i_pass: 2 -> 3 -> 1 = 9 + 4
    g = graph("input(2)\ndense(3, relu)\ndropout(0.5)\ndense(1, sigmoid)")
    assert g.param_count == 13
    assert shapes(g)["dropout_1"] == (3,)


def test_dense_acts_on_the_last_axis():
    g = graph("input(5, 3)\ndense(4)")
    assert g.output.shape == (5, 4)  # Keras: Dense(4) on (None, 5, 3) -> (None, 5, 4)
    assert g.param_count == 16  # 3 * 4 + 4: one kernel shared over the 5 rows


def test_flatten():
    g = graph("input(28, 28, 1)\nflatten()\ndense(10)")
    assert shapes(g)["flatten_1"] == (784,)
    assert g.param_count == 7_850


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "gelu"])
def test_activation_layers_keep_shape_and_have_no_parameters(act):
    g = graph(f"input(6, 2)\n{act}()")
    assert g.output.shape == (6, 2)
    assert g.param_count == 0


# ------------------------------------------------------------------ merges


def test_add_keeps_the_shape():
    g = graph("x = input(16)\nh = dense(16)\ndense(16)\nadd(h)")
    assert g.output.shape == (16,)
    assert g.output.inputs == ["dense_1", "h"]
    assert g.param_count == 2 * 272


def test_add_of_three():
    g = graph("a = input(8)\nb = dense(8)\nc = dense(8, from=a)\nadd(a, b, c)")
    assert g.output.shape == (8,)
    assert g.output.inputs == ["a", "b", "c"]


def test_concat_on_the_last_axis():
    g = graph("x = input(10)\nh = dense(8)\ndense(16)\nconcat(h)")
    assert g.output.shape == (24,)  # Keras Concatenate()([(None, 16), (None, 8)])
    assert g.output.inputs == ["dense_1", "h"]


def test_concat_on_another_axis():
    g = graph("a = input(4, 3)\nb = input(5, 3)\nconcat(a, b, axis=0)")
    assert g.output.shape == (9, 3)  # Keras Concatenate(axis=1) on (None, 4, 3), (None, 5, 3)
    g = graph("a = input(4, 3)\nb = input(4, 2)\nconcat(a, b, axis=-1)")
    assert g.output.shape == (4, 5)


# ------------------------------------------------------------------ blocks and branches


def test_repeat_blocks():
    g = graph("input(64)\nrepeat 3 {\n dense(64, relu)\n dropout(0.1)\n}\ndense(1)")
    assert [n.op for n in g.nodes].count("dense") == 4
    assert g.param_count == 3 * 4_160 + 65
    assert [n.name for n in g.nodes][1:4] == ["dense_1", "dropout_1", "dense_2"]


def test_nested_repeat():
    g = graph("input(4)\nrepeat 2 {\n repeat 3 {\n  dense(4)\n }\n}")
    assert len(g.nodes) == 1 + 6
    assert g.param_count == 6 * 20


def test_residual_block_in_a_repeat_uses_each_copy():
    g = graph("input(32)\nrepeat 2 {\n a = dense(32, relu)\n dense(32)\n add(a)\n}")
    adds = [n for n in g.nodes if n.op == "add"]
    assert [n.inputs for n in adds] == [["dense_1", "a"], ["dense_2", "a_2"]]
    assert g.param_count == 4 * 1_056


def test_from_starts_a_branch():
    g = graph("x = input(10)\nh = dense(20)\nside = dense(5, from=x)\ndense(3, from=h)")
    assert g["side"].inputs == ["x"] and g["side"].shape == (5,)
    assert g.output.inputs == ["h"]
    assert g.param_count == 220 + 55 + 63


def test_multiple_inputs():
    # Keras: two Input layers, Dense(8) on each, Concatenate, Dense(1)
    g = graph(
        "a = input(10)\nb = input(5)\nha = dense(8, from=a)\nhb = dense(8, from=b)\n"
        "concat(ha, hb)\ndense(1)"
    )
    assert [n.name for n in g.inputs] == ["a", "b"]
    assert params(g) == {"a": 0, "b": 0, "ha": 88, "hb": 48, "concat_1": 0, "dense_1": 17}
    assert g.param_count == 153
    assert shapes(g)["concat_1"] == (16,)


def test_test_programs_totals():
    program = nndsl.compile_string(
        "model mlp {\n input(784)\n dense(256, relu)\n dropout(0.2)\n dense(128, relu)\n"
        " dense(10, softmax)\n}\n"
    )
    assert "Total params: 235,146" in program.summary()


def test_multiply_keeps_the_shape():
    # Keras: Multiply()([Dense(16), Dense(16, "sigmoid")]) -> (None, 16), no parameters
    g = graph(
        "x = input(16)\nh = dense(16)\ng = dense(16, activation=sigmoid, from=x)\nmultiply(h, g)"
    )
    assert g.output.shape == (16,) and g.output.param_count == 0
    assert g.output.inputs == ["h", "g"]
    with pytest.raises(nndsl.NNDSLError, match="multiply needs equal shapes"):
        graph("x = input(4)\nh = dense(3)\nmultiply(h, x)")
