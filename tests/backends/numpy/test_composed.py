"""Fast paths proven equal to their compositions: every op (and activation) that has both
a hand-written NumPy kernel and a composition of primitives (`OpDef.compute`) computes the
same outputs and gradients both ways, in float64 to 1e-10, on every finite-difference case
of tests/backends/numpy/test_gradients.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.backends.numpy.activations import ACTIVATIONS
from nndsl.backends.numpy.composed import ComposedActivation, ComposedKernel
from nndsl.backends.numpy.kernels import KERNELS
from nndsl.ir.ops import OPS

TOLERANCE = 1e-10


def _gradient_cases():
    path = Path(__file__).resolve().parent / "test_gradients.py"
    spec = importlib.util.spec_from_file_location("nndsl_composed_gradient_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


CASES = _gradient_cases()
FUSED = [n for n, o in OPS.items() if o.compute is not None and KERNELS[n] is not ComposedKernel]


def test_the_fast_paths_are_the_ones_expected() -> None:
    # the hand-written kernels that have a composition beside them (a new one is added here
    # on purpose, with the proof below)
    assert set(FUSED) == {
        "dense", "flatten", "reshape", "add", "multiply", "concat", "layer_norm",
        "embedding", "simple_rnn", "lstm", "gru",
        "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
        "global_avg_pool", "upsample",
        *(n for n in ACTIVATIONS),
    }  # fmt: skip


def _run(op: str, case, composed: bool, monkeypatch) -> tuple:
    with monkeypatch.context() as patch:
        if composed:
            patch.setitem(KERNELS, op, ComposedKernel)
        model = nndsl.compile_string(CASES.program_source(case)).build(seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    CASES.randomize_weights(model, case, rng)
    x, y = CASES.make_data(model, case, rng)
    loss, grads = model.engine.loss_and_grads(x, y, training=case.training)
    return model.engine.logits(x), loss, grads


@pytest.mark.parametrize("op", FUSED)
def test_kernel_equals_its_composition(op: str, monkeypatch) -> None:
    for case in CASES.OP_CASES[op]:
        out, loss, grads = _run(op, case, False, monkeypatch)
        ref_out, ref_loss, ref_grads = _run(op, case, True, monkeypatch)
        where = f"{op} ({case.id})"
        assert CASES.relative_error(out, ref_out) < TOLERANCE, where
        assert loss == pytest.approx(ref_loss, rel=TOLERANCE), where
        assert grads.keys() == ref_grads.keys()
        for key, g in ref_grads.items():
            assert CASES.relative_error(grads[key], g) < TOLERANCE, f"{where}: {key}"


ARGS = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 0.7}}


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if OPS[n].compute is not None])
def test_activation_kernel_equals_its_composition(name: str) -> None:
    """As fused into dense, conv and recurrent kernels: forward and backward, including
    values out at +-30 and +-1000."""
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(size=(6, 5)) * 3, [[30, -30, 1000, -1000, 1e-3]]])
    dy = rng.normal(size=z.shape)
    args = ARGS.get(name, {})
    fused, composed = ACTIVATIONS[name], ComposedActivation(name)
    with np.errstate(over="ignore", under="ignore"):
        a = fused.forward(z, np.empty_like(z), **args)
        b = composed.forward(z, np.empty_like(z), **args)
        np.testing.assert_allclose(a, b, rtol=TOLERANCE, atol=1e-300)
        da = fused.backward(dy, z, a, np.empty_like(z), **args)
        db = composed.backward(dy, z, b, np.empty_like(z), **args)
    np.testing.assert_allclose(da, db, rtol=TOLERANCE, atol=1e-300)
