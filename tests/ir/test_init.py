"""Initial weights: a function of (graph, seed) only, drawn as each initializer defines."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nndsl
from nndsl.ir.init import initial_weights


def graph(body: str):
    return nndsl.compile_string(f"model m {{\n{body}\n}}\n").graph


MLP = "input(20)\ndense(16, relu)\ndense(8, tanh, init=he_uniform)\ndense(3)"


def test_same_seed_gives_identical_weights():
    a = initial_weights(graph(MLP), seed=3)
    b = initial_weights(graph(MLP), seed=3)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_keys_and_shapes():
    w = initial_weights(graph(MLP), seed=0)
    assert {k: v.shape for k, v in w.items()} == {
        "dense_1.weight": (20, 16),
        "dense_1.bias": (16,),
        "dense_2.weight": (16, 8),
        "dense_2.bias": (8,),
        "dense_3.weight": (8, 3),
        "dense_3.bias": (3,),
    }
    assert all(v.dtype == np.float64 for v in w.values())
    assert initial_weights(graph(MLP), 0, dtype="float32")["dense_1.weight"].dtype == np.float32


def test_different_seeds_differ():
    a = initial_weights(graph(MLP), seed=1)
    b = initial_weights(graph(MLP), seed=2)
    for key in ("dense_1.weight", "dense_2.weight", "dense_3.weight"):
        assert not np.array_equal(a[key], b[key])


def test_tensors_of_one_seed_are_not_copies_of_each_other():
    w = initial_weights(graph("input(8)\ndense(8)\ndense(8)"), seed=0)
    assert not np.array_equal(w["dense_1.weight"], w["dense_2.weight"])


def test_adding_a_layer_at_the_end_leaves_the_others_unchanged():
    before = initial_weights(graph(MLP), seed=5)
    after = initial_weights(graph(MLP + "\nrelu()\ndense(2)"), seed=5)
    assert set(after) == set(before) | {"dense_4.weight", "dense_4.bias"}
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


# ------------------------------------------------------------------ distributions

N = 1000  # 1,000,000 values per weight: sample statistics within about 0.3%


def weight(init: str, fan_in: int = N, units: int = N) -> np.ndarray:
    g = graph(f"input({fan_in})\ndense({units}, init={init})")
    return initial_weights(g, seed=0)["dense_1.weight"]


def test_glorot_uniform_is_the_default():
    w = initial_weights(graph(f"input({N})\ndense({N // 2})"), seed=0)["dense_1.weight"]
    limit = math.sqrt(6 / (N + N // 2))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit
    assert w.var() == pytest.approx(limit**2 / 3, rel=0.01)
    assert abs(w.mean()) < 0.01 * limit


def test_glorot_normal():
    w = weight("glorot_normal", N, N // 2)
    assert w.std() == pytest.approx(math.sqrt(2 / (N + N // 2)), rel=0.01)


def test_he_normal():
    w = weight("he_normal")
    assert w.std() == pytest.approx(math.sqrt(2 / N), rel=0.01)
    assert abs(w.mean()) < 0.01 * w.std()


def test_he_uniform():
    w = weight("he_uniform")
    limit = math.sqrt(6 / N)
    assert np.abs(w).max() <= limit
    assert w.var() == pytest.approx(limit**2 / 3, rel=0.01)


def test_lecun_normal():
    assert weight("lecun_normal").std() == pytest.approx(math.sqrt(1 / N), rel=0.01)


def test_normal_with_std():
    w = weight("normal(std=0.1)")
    assert w.std() == pytest.approx(0.1, rel=0.01)
    assert abs(w.mean()) < 0.001
    w = weight("normal(std=0.5, mean=2)")
    assert w.mean() == pytest.approx(2.0, abs=0.005)


def test_uniform_zeros_ones_constant():
    w = weight("uniform(low=-1, high=3)")
    assert w.min() >= -1 and w.max() <= 3
    assert w.mean() == pytest.approx(1.0, abs=0.01)
    assert not weight("zeros", 10, 10).any()
    assert (weight("ones", 10, 10) == 1).all()
    assert (weight("constant(value=0.25)", 10, 10) == 0.25).all()


def test_bias_defaults_to_zeros_and_takes_an_initializer():
    w = initial_weights(graph("input(4)\ndense(3, bias_init=constant(value=0.1))\ndense(2)"), 0)
    assert (w["dense_1.bias"] == 0.1).all()
    assert not w["dense_2.bias"].any()


def test_literal_weights_are_used_verbatim():
    g = graph("input(2)\ndense(1, activation=sigmoid, weights=[[3], [-2]], bias=[0.5])")
    for seed in (0, 1):
        w = initial_weights(g, seed)
        np.testing.assert_array_equal(w["dense_1.weight"], [[3.0], [-2.0]])
        np.testing.assert_array_equal(w["dense_1.bias"], [0.5])
