"""On torch too, every op with its own module and a composition of primitives lowers to
the same function both ways (forward and gradients, float64 to 1e-10; float32 where
conftest.py's `precise` says so), on the `device` fixture's device, on the
finite-difference cases of tests/backends/numpy/test_gradients.py, training cases
included: batch_norm's running statistics move the same way, and dropout's composition,
given the engine's generator (as Dropout is given it), draws Dropout's masks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.backends.torch.lowering import ACTIVATIONS, LOWERINGS  # noqa: E402
from nndsl.backends.torch.primitives import Composed, ComposedActivation, P  # noqa: E402
from nndsl.ir.ops import OPS  # noqa: E402

TOLERANCES = {"float64": 1e-10, "float32": 1e-5}


def _gradient_cases():
    path = Path(__file__).resolve().parents[1] / "numpy" / "test_gradients.py"
    spec = importlib.util.spec_from_file_location("nndsl_torch_composed_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CASES = _gradient_cases()
FUSED = [n for n, o in OPS.items() if o.compute is not None and LOWERINGS[n] is not Composed]


def _run(op: str, case, composed: bool, monkeypatch, device: str, dtype: str) -> tuple:
    with monkeypatch.context() as patch:
        if composed:
            patch.setitem(LOWERINGS, op, Composed)
            for name in ACTIVATIONS:  # layers' activation= through the compositions too
                patch.setitem(
                    ACTIVATIONS, name, lambda name=name, **a: ComposedActivation(name, **a)
                )
        model = nndsl.compile_string(CASES.program_source(case)).build(
            backend="torch", device=device, seed=0, dtype=dtype
        )
    for module in model.engine.net.modules():
        if isinstance(module, Composed):
            module.generator = model.engine.generator
    rng = np.random.default_rng(0)
    CASES.randomize_weights(model, case, rng)
    x, y = CASES.make_data(model, case, rng)
    loss, grads = model.engine.loss_and_grads(x, y, training=case.training)
    state = {k: v for k, v in model.get_weights().items() if k in CASES.state_keys(model)}
    return model.engine.logits(x), loss, grads, state


@pytest.mark.parametrize("op", FUSED)
def test_torch_module_equals_the_composition(
    op: str, monkeypatch, device: str, precise: str
) -> None:
    tol = TOLERANCES[precise]
    for case in CASES.OP_CASES[op]:
        out, loss, grads, state = _run(op, case, False, monkeypatch, device, precise)
        ref_out, ref_loss, ref_grads, ref_state = _run(op, case, True, monkeypatch, device, precise)
        where = f"{op} ({case.id})"
        assert CASES.relative_error(out, ref_out) < tol, where
        assert loss == pytest.approx(ref_loss, rel=tol), where
        for key, g in ref_grads.items():
            if key.rsplit(".", 1)[-1] in case.flat:  # zero by design: rounding on both sides
                assert max(np.abs(grads[key]).max(), np.abs(g).max()) < tol, key
                continue
            assert CASES.relative_error(grads[key], g) < tol, f"{where}: {key}"
        assert state.keys() == ref_state.keys()
        for key, value in ref_state.items():
            assert CASES.relative_error(state[key], value) < tol, f"{where}: {key}"


def test_dropout_composition_draws_dropouts_masks(monkeypatch, device: str, precise: str) -> None:
    """With the engine's generator, the composition's loss and gradients are Dropout's
    exactly; the training case does drop (its loss is not the evaluation's)."""
    (case,) = [c for c in CASES.OP_CASES["dropout"] if c.training]
    _, loss, grads, _ = _run("dropout", case, False, monkeypatch, device, precise)
    _, ref_loss, ref_grads, _ = _run("dropout", case, True, monkeypatch, device, precise)
    assert loss == ref_loss
    for key, g in ref_grads.items():
        assert np.array_equal(grads[key], g), key
    evaluation = CASES.Case(case.id, case.body)
    assert _run("dropout", evaluation, True, monkeypatch, device, precise)[1] != ref_loss


def test_plain_p_evaluates_and_draws_uniformly(device: str, precise: str) -> None:
    """Without a module, `P` is in evaluation and draws from torch's default generator:
    a composed dropout is still dropout in distribution (keep rate 1 - rate)."""
    x = torch.zeros(200_000, dtype=getattr(torch, precise), device=device)
    draws = P.random(x)
    assert P.training is False and draws.dtype == x.dtype and draws.device == x.device
    assert abs(float((draws >= 0.3).double().mean()) - 0.7) < 0.01
