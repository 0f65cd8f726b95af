"""The NumPy kernels: one per op, activations stable at +-1000, buffers that never leak.

"No warnings" means: Python warnings are errors, and NumPy's overflow, division by zero
and invalid-operation flags raise. Underflow is allowed: exp(-2000) rounding to 0 is the
correctly rounded result (and NumPy ignores underflow by default).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pytest

import nndsl
from nndsl.backends.numpy.activations import ACTIVATIONS, apply
from nndsl.backends.numpy.composed import activation_of
from nndsl.backends.numpy.kernels import KERNELS
from nndsl.ir.ops import OPS, activation_names

ARGS = {"leaky_relu": {"alpha": 0.01}, "elu": {"alpha": 1.0}}


@contextmanager
def strict_numerics():
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("op", list(OPS))
def test_every_op_has_a_kernel(op: str) -> None:
    assert op in KERNELS, f"op '{op}' has no NumPy kernel"


@pytest.mark.parametrize("name", activation_names())
def test_every_activation_has_a_function(name: str) -> None:
    # a hand-written one, or its declaration's composition of primitives
    assert name in ACTIVATIONS or OPS[name].compute is not None
    assert callable(activation_of(name).forward) and callable(activation_of(name).backward)


def _forward_backward(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    act = activation_of(name)
    args = ARGS.get(name, {})
    with strict_numerics():
        a = act.forward(z, np.empty_like(z), **args)
        d = act.backward(np.ones_like(z), z, a, np.empty_like(z), **args)
    return a, d


# value and derivative at +1000 and -1000 (softmax is checked on its own below)
LIMITS = {
    "linear": ((1000.0, 1.0), (-1000.0, 1.0)),
    "relu": ((1000.0, 1.0), (0.0, 0.0)),
    "sigmoid": ((1.0, 0.0), (0.0, 0.0)),
    "tanh": ((1.0, 0.0), (-1.0, 0.0)),
    "leaky_relu": ((1000.0, 1.0), (-10.0, 0.01)),
    "elu": ((1000.0, 1.0), (-1.0, 0.0)),
    "gelu": ((1000.0, 1.0), (0.0, 0.0)),
    "silu": ((1000.0, 1.0), (0.0, 0.0)),
    "softplus": ((1000.0, 1.0), (0.0, 0.0)),
    "mish": ((1000.0, 1.0), (0.0, 0.0)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [n for n in activation_names() if n != "softmax"])
def test_activation_limits_at_1000(name: str, dtype: str) -> None:
    assert name in LIMITS, f"activation '{name}' needs its limits in LIMITS"
    z = np.array([[1000.0, -1000.0], [500.0, -500.0]], dtype=dtype)
    a, d = _forward_backward(name, z)
    assert a.dtype == d.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
    (hi, dhi), (lo, dlo) = LIMITS[name]
    np.testing.assert_allclose(a[0], [hi, lo], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(d[0], [dhi, dlo], rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_at_1000(dtype: str) -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]], dtype=dtype)
    a, d = _forward_backward("softmax", z)
    np.testing.assert_allclose(a, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-30)
    assert np.all(np.isfinite(d))
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-6)


def test_activation_values_match_closed_forms() -> None:
    from math import erf

    z = np.linspace(-6, 6, 49)
    ref = {
        "linear": z,
        "relu": np.maximum(z, 0),
        "sigmoid": 1 / (1 + np.exp(-z)),
        "tanh": np.tanh(z),
        "leaky_relu": np.where(z > 0, z, 0.01 * z),
        "elu": np.where(z > 0, z, np.exp(z) - 1),
        "gelu": z * 0.5 * (1 + np.array([erf(v / np.sqrt(2)) for v in z])),
    }
    for name, expected in ref.items():
        np.testing.assert_allclose(
            apply(name, ARGS.get(name, {}), z), expected, rtol=1e-12, atol=1e-15, err_msg=name
        )
    rows = z.reshape(7, 7)
    e = np.exp(rows)
    np.testing.assert_allclose(apply("softmax", {}, rows), e / e.sum(-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(
        apply("leaky_relu", {"alpha": 0.3}, z), np.where(z > 0, z, 0.3 * z), rtol=1e-12
    )
    np.testing.assert_allclose(
        apply("elu", {"alpha": 2.0}, z), np.where(z > 0, z, 2.0 * (np.exp(z) - 1)), rtol=1e-12
    )


def test_activations_match_torch() -> None:
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    z = np.random.default_rng(0).normal(scale=3, size=(6, 5))
    t = torch.tensor(z)
    ref = {
        "relu": f.relu(t),
        "sigmoid": torch.sigmoid(t),
        "tanh": torch.tanh(t),
        "softmax": f.softmax(t, dim=-1),
        "leaky_relu": f.leaky_relu(t, 0.01),
        "elu": f.elu(t),
        "gelu": f.gelu(t),  # exact (erf) GELU, torch's default
    }
    for name, expected in ref.items():
        np.testing.assert_allclose(
            apply(name, ARGS.get(name, {}), z),
            expected.numpy(),
            rtol=1e-10,
            atol=1e-14,
            err_msg=name,
        )


def test_model_with_extreme_inputs_stays_finite() -> None:
    src = """
    model m {
      input(4)
      dense(8, activation=sigmoid, init=ones)
      dense(8, activation=gelu, init=ones)
      elu()
      dense(3, activation=softmax, init=normal(std=50))
    }
    train m { loss = sparse_categorical_crossentropy }
    """
    model = nndsl.compile_string(src).build(seed=0)
    x = np.array([[1000, -1000, 1000, -1000], [-1000, -1000, -1000, -1000]], dtype=np.float32)
    with strict_numerics():
        p = model.predict(x)
        loss, grads = model.engine.loss_and_grads(x, np.array([0, 2]))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(loss))
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_float32_by_default_and_float64_on_request() -> None:
    src = "model m { input(3) dense(2, activation=tanh) } train m { loss = mse }"
    prog = nndsl.compile_string(src)
    x = np.ones((2, 3))
    assert prog.build().predict(x).dtype == np.float32
    assert all(w.dtype == np.float32 for w in prog.build().get_weights().values())
    assert prog.build(dtype="float64").predict(x).dtype == np.float64


def test_buffers_do_not_leak_between_calls() -> None:
    """Kernels reuse buffers per batch size; results handed out must not alias them."""
    src = """
    model m {
      input(3)
      dense(5, activation=relu)
      dropout(0.5)
      h = dense(4, activation=tanh)
      dense(4)
      add(h)
      dense(2)
    }
    train m { loss = mse }
    """
    model = nndsl.compile_string(src).build(seed=0)
    rng = np.random.default_rng(0)
    x1, x2, x3 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(3, 3))
    p1 = model.predict(x1)
    p1_copy = p1.copy()
    p2 = model.predict(x2)
    model.predict(x3)
    np.testing.assert_array_equal(p1, p1_copy)
    assert not np.array_equal(p1, p2)
    np.testing.assert_array_equal(model.predict(x1), p1_copy)
    # one batch at a time gives what the whole array gives
    rows = np.concatenate([model.predict(x1[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(rows, p1_copy, rtol=1e-5, atol=1e-6)
    w = model.get_weights()
    w["dense_1.weight"][...] = 0
    assert np.any(model.get_weights()["dense_1.weight"] != 0)
