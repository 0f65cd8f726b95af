"""The torch primitives against the NumPy ones (values and torch autograd's gradients
against the NumPy VJPs), and the ops composed of primitives against torch's own
functions: F.silu, F.softplus, F.mish, F.glu and F.rms_norm, on both backends. In
float64, or float32 at float32 tolerances where conftest.py's `precise` says so (the
references then see the same float32-rounded operands), on the `device` fixture's device."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import nndsl  # noqa: E402
from nndsl.backends.numpy.autodiff import FORWARD, VJP  # noqa: E402
from nndsl.backends.torch.primitives import P  # noqa: E402
from nndsl.ir.primitives import PRIMITIVES  # noqa: E402


def _numpy_cases() -> dict:
    """The primitive cases of tests/backends/numpy/test_primitives.py (one list for both)."""
    path = Path(__file__).resolve().parents[1] / "numpy" / "test_primitives.py"
    spec = importlib.util.spec_from_file_location("nndsl_numpy_primitive_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


CASES = _numpy_cases()

# (rtol, atol) of each comparison; float32's are against a float64 reference
TOLERANCES = {
    "float64": {
        "primitive": (1e-12, 1e-12),
        "primitive grad": (1e-10, 1e-12),
        "composed": (1e-10, 1e-12),
        "composed grad": (1e-9, 1e-12),
    },
    "float32": {  # measured on the CPU: at most 5e-7 off on values up to 10
        "primitive": (1e-5, 1e-5),
        "primitive grad": (1e-5, 1e-5),
        "composed": (1e-5, 1e-5),
        "composed grad": (1e-5, 1e-5),
    },
}


def _rounded(v: np.ndarray, precise: str) -> np.ndarray:
    """A float operand as the `precise` dtype holds it, in float64 (integers unchanged)."""
    return v if v.dtype.kind in "bi" else v.astype(precise).astype(np.float64)


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_torch_primitive_matches_numpy(name: str, device: str, precise: str) -> None:
    tolerances = TOLERANCES[precise]
    for values, attrs in CASES[name]:
        values = [_rounded(v, precise) for v in values]
        tensors = [
            torch.tensor(v, device=device)
            if v.dtype.kind in "bi"
            else torch.tensor(v, dtype=getattr(torch, precise), device=device, requires_grad=True)
            for v in values
        ]
        if name == "concat":
            out = P.concat(tensors, **attrs)
        else:
            out = getattr(P, name)(*tensors, **attrs)
        ans = FORWARD[name](*values, **attrs)
        rtol, atol = tolerances["primitive"]
        np.testing.assert_allclose(out.detach().cpu().numpy(), ans, rtol=rtol, atol=atol)
        g = _rounded(np.random.default_rng(1).normal(size=np.shape(ans)), precise)
        out.backward(torch.tensor(g, dtype=out.dtype, device=device))
        parts = VJP[name](g, ans, *values, **attrs)
        for t, part in zip(tensors, parts):
            if not t.is_floating_point():  # where's condition, gather's indices
                continue
            rtol, atol = tolerances["primitive grad"]
            got = t.grad.cpu().numpy()
            np.testing.assert_allclose(got, part, rtol=rtol, atol=atol, err_msg=name)


REFERENCES = {
    "silu": ("silu()", lambda x, w: F.silu(x)),
    "softplus": ("softplus()", lambda x, w: F.softplus(x)),
    "mish": ("mish()", lambda x, w: F.mish(x)),
    "glu": ("glu()", lambda x, w: F.glu(x, dim=-1)),
    "rms_norm": (
        "rms_norm(epsilon=0.001)",
        lambda x, w: F.rms_norm(x, (x.shape[-1],), w["rms_norm_1.weight"], eps=0.001),
    ),
}


IDENTITY = (
    "["
    + ", ".join("[" + ", ".join(str(float(i == j)) for j in range(4)) + "]" for i in range(4))
    + "]"
)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("op", list(REFERENCES))
def test_composed_op_equals_torchs_own(op: str, backend: str, device: str, precise: str) -> None:
    """Forward, and the gradients with respect to the input and the weights, in float64
    (or `precise`), against torch.nn.functional in float64 on the CPU, with values up to
    +-30 (softplus and mish far out). A probe `dense(4)` with identity weights feeds the
    op: its bias gradient is the input gradient summed over the batch."""
    layer, reference = REFERENCES[op]
    source = f"model m {{\n  input(3, 4)\n  dense(4, weights={IDENTITY})\n  {layer}\n}}\n"
    source += "train m { loss = mse }\n"
    where = {"device": device} if backend == "torch" else {}
    model = nndsl.compile_string(source).build(backend=backend, dtype=precise, **where)
    rng = np.random.default_rng(2)
    weights = model.get_weights()
    fresh = {k: rng.uniform(0.5, 1.5, v.shape) for k, v in weights.items() if op in k}
    weights.update({k: _rounded(v, precise) for k, v in fresh.items()})
    model.set_weights(weights)
    x = rng.normal(size=(5, 3, 4)) * 10
    x[0, 0] = [30.0, -30.0, 0.0, 1e-3]
    x = _rounded(x, precise)
    out = model.predict(x)
    tx = torch.tensor(x, requires_grad=True)
    tw = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items() if op in k}
    expected = reference(tx, tw)
    rtol, atol = TOLERANCES[precise]["composed"]
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=rtol, atol=atol)
    y = np.zeros(expected.shape)
    loss, grads = model.engine.loss_and_grads(x, y)
    ref_loss = (expected**2).mean()
    ref_loss.backward()
    assert loss == pytest.approx(ref_loss.item(), rel=rtol)
    want = {"dense_1.bias": tx.grad.sum(dim=(0, 1))} | {k: t.grad for k, t in tw.items()}
    for key, g in want.items():
        rtol, atol = TOLERANCES[precise]["composed grad"]
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=rtol, atol=atol, err_msg=key)


def test_rms_norm_counts_parameters_like_keras() -> None:
    # keras.layers.RMSNormalization() on 64 features: one scale per feature
    program = nndsl.compile_string("model m {\n  input(10, 64)\n  rms_norm()\n}\n")
    assert program.graph.param_count == 64
