"""The torch backend computes what the NumPy interpreter computes, op by op and loss by loss.

The cases are the NumPy backend's finite-difference cases (tests/backends/numpy/
test_gradients.py), one table for both backends: each starts with an identity *probe*
after every input, so the probe's bias gradient is the input gradient. For every case,
from the same random weights, the torch backend's outputs and the gradient of every
weight (probes included) must equal the interpreter's: float64 to 1e-10, float32 to 1e-5.
A new op or loss fails here until it has a case there and a lowering here. The torch side
runs on the `device` fixture's device (conftest.py: NNDSL_TEST_DEVICE).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import nndsl  # noqa: E402
import nndsl.ir.catalog  # noqa: E402,F401  (fills CATALOGS)
from nndsl.backends.torch.lowering import LOWERINGS  # noqa: E402
from nndsl.ir.ops import OPS  # noqa: E402
from nndsl.ir.signature import CATALOGS  # noqa: E402

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}


def _numpy_cases():
    path = Path(__file__).resolve().parents[1] / "numpy" / "test_gradients.py"
    spec = importlib.util.spec_from_file_location("nndsl_numpy_gradient_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


CASES = _numpy_cases()


def relative_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale else 0.0


def compare(case, dtype: str, device: str) -> None:
    program = nndsl.compile_string(CASES.program_source(case))
    ref = program.build(backend="numpy", seed=0, dtype=dtype)
    got = program.build(backend="torch", seed=0, dtype=dtype, device=device)
    assert got.get_weights().keys() == ref.get_weights().keys()
    rng = np.random.default_rng(0)
    CASES.randomize_weights(ref, case, rng)
    got.set_weights(ref.get_weights())
    x, y = CASES.make_data(ref, case, rng)
    tol = TOLERANCE[dtype]
    where = f"{case.id} ({dtype})"

    assert relative_error(got.engine.logits(x), ref.engine.logits(x)) < tol, f"{where}: outputs"
    assert relative_error(got.predict(x), ref.predict(x)) < tol, f"{where}: predict"
    loss, grads = got.engine.loss_and_grads(x, y)
    ref_loss, ref_grads = ref.engine.loss_and_grads(x, y)
    assert abs(loss - ref_loss) <= tol * max(1.0, abs(ref_loss)), f"{where}: loss"
    assert grads.keys() == ref_grads.keys()
    for key, g in ref_grads.items():
        assert grads[key].dtype == np.dtype(dtype)
        if key.rsplit(".", 1)[-1] in case.flat:  # zero by design: rounding on both sides
            assert max(np.abs(grads[key]).max(), np.abs(g).max()) < tol, f"{where}: {key}"
            continue
        err = relative_error(grads[key], g)
        assert err < tol, f"{where}: d loss / d {key}: relative error {err:.2e}"


@pytest.mark.parametrize("op", list(OPS))
def test_every_op_has_a_lowering(op: str) -> None:
    assert op == "input" or op in LOWERINGS, f"op '{op}' has no torch lowering (LOWERINGS)"


@pytest.mark.parametrize("dtype", ["float64", "float32"], indirect=True)
@pytest.mark.parametrize("op", list(OPS))
def test_op_matches_numpy(op: str, dtype: str, device: str) -> None:
    cases = CASES.OP_CASES.get(op)
    assert cases, f"op '{op}' has no case in tests/backends/numpy/test_gradients.py"
    for case in cases:
        compare(case, dtype, device)


@pytest.mark.parametrize("dtype", ["float64", "float32"], indirect=True)
@pytest.mark.parametrize("loss", list(CATALOGS["loss"]))
def test_loss_matches_numpy(loss: str, dtype: str, device: str) -> None:
    cases = CASES.LOSS_CASES.get(loss)
    assert cases, f"loss '{loss}' has no case in tests/backends/numpy/test_gradients.py"
    for case in cases:
        compare(case, dtype, device)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy"])
def test_fused_cross_entropy_is_finite_at_extreme_logits(loss: str, device: str) -> None:
    units = 1 if loss == "binary_crossentropy" else 3
    act = "sigmoid" if units == 1 else "softmax"
    source = f"model m {{ input(2)\n dense({units}, activation={act}) }}\n"
    source += f"train m {{ loss = {loss} }}"
    program = nndsl.compile_string(source)
    got = program.build(backend="torch", dtype="float32", device=device)
    ref = program.build(backend="numpy", dtype="float32")
    weights = {"dense_1.weight": np.full((2, units), 500.0), "dense_1.bias": np.zeros(units)}
    weights["dense_1.weight"][:, 0] = -500.0
    for m in (got, ref):
        m.set_weights(weights)
    x = np.array([[1.0, 1.0], [-1.0, -1.0]])
    y = np.array([[1.0], [0.0]]) if units == 1 else np.eye(3)[[1, 0]]
    loss_t, grads_t = got.engine.loss_and_grads(x, y)
    loss_n, grads_n = ref.engine.loss_and_grads(x, y)
    assert np.isfinite(loss_t) and all(np.isfinite(g).all() for g in grads_t.values())
    assert loss_t == pytest.approx(loss_n, rel=1e-5)
    for key in grads_n:
        assert relative_error(grads_t[key], grads_n[key]) < 1e-5
