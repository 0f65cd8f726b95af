"""On torch too, every op with its own module and a composition of primitives lowers to
the same function both ways (forward and gradients, float64 to 1e-10), on the
finite-difference cases of tests/backends/numpy/test_gradients.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.backends.torch.lowering import ACTIVATIONS, LOWERINGS  # noqa: E402
from nndsl.backends.torch.primitives import Composed, ComposedActivation  # noqa: E402
from nndsl.ir.ops import OPS  # noqa: E402

TOLERANCE = 1e-10


def _gradient_cases():
    path = Path(__file__).resolve().parents[1] / "numpy" / "test_gradients.py"
    spec = importlib.util.spec_from_file_location("nndsl_torch_composed_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CASES = _gradient_cases()
FUSED = [n for n, o in OPS.items() if o.compute is not None and LOWERINGS[n] is not Composed]


def _run(op: str, case, composed: bool, monkeypatch) -> tuple:
    with monkeypatch.context() as patch:
        if composed:
            patch.setitem(LOWERINGS, op, Composed)
            for name in ACTIVATIONS:  # layers' activation= through the compositions too
                patch.setitem(
                    ACTIVATIONS, name, lambda name=name, **a: ComposedActivation(name, **a)
                )
        model = nndsl.compile_string(CASES.program_source(case)).build(
            backend="torch", device="cpu", seed=0, dtype="float64"
        )
    rng = np.random.default_rng(0)
    CASES.randomize_weights(model, case, rng)
    x, y = CASES.make_data(model, case, rng)
    loss, grads = model.engine.loss_and_grads(x, y)
    return model.engine.logits(x), loss, grads


@pytest.mark.parametrize("op", FUSED)
def test_torch_module_equals_the_composition(op: str, monkeypatch) -> None:
    for case in CASES.OP_CASES[op]:
        if case.training:
            continue
        out, loss, grads = _run(op, case, False, monkeypatch)
        ref_out, ref_loss, ref_grads = _run(op, case, True, monkeypatch)
        where = f"{op} ({case.id})"
        assert CASES.relative_error(out, ref_out) < TOLERANCE, where
        assert loss == pytest.approx(ref_loss, rel=TOLERANCE), where
        for key, g in ref_grads.items():
            assert CASES.relative_error(grads[key], g) < TOLERANCE, f"{where}: {key}"
