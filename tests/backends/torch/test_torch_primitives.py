"""The torch primitives against the NumPy ones (values and torch autograd's gradients
against the NumPy VJPs), and the ops composed of primitives against torch's own
functions: F.silu, F.softplus, F.mish, F.glu and F.rms_norm, on both backends."""

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


@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_torch_primitive_matches_numpy(name: str) -> None:
    for values, attrs in CASES[name]:
        tensors = [
            torch.tensor(v) if v.dtype.kind in "bi" else torch.tensor(v, requires_grad=True)
            for v in values
        ]
        if name == "concat":
            out = P.concat(tensors, **attrs)
        else:
            out = getattr(P, name)(*tensors, **attrs)
        ans = FORWARD[name](*values, **attrs)
        np.testing.assert_allclose(out.detach().numpy(), ans, rtol=1e-12, atol=1e-12)
        g = np.random.default_rng(1).normal(size=np.shape(ans))
        out.backward(torch.tensor(g))
        parts = VJP[name](g, ans, *values, **attrs)
        for t, part in zip(tensors, parts):
            if not t.is_floating_point():  # where's condition, gather's indices
                continue
            np.testing.assert_allclose(t.grad.numpy(), part, rtol=1e-10, atol=1e-12, err_msg=name)


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
def test_composed_op_equals_torchs_own(op: str, backend: str) -> None:
    """Forward, and the gradients with respect to the input and the weights, in float64,
    against torch.nn.functional, with values up to +-30 (softplus and mish far out). A
    probe `dense(4)` with identity weights feeds the op: its bias gradient is the input
    gradient summed over the batch."""
    layer, reference = REFERENCES[op]
    source = f"model m {{\n  input(3, 4)\n  dense(4, weights={IDENTITY})\n  {layer}\n}}\n"
    source += "train m { loss = mse }\n"
    model = nndsl.compile_string(source).build(backend=backend, dtype="float64")
    rng = np.random.default_rng(2)
    weights = model.get_weights()
    weights.update({k: rng.uniform(0.5, 1.5, v.shape) for k, v in weights.items() if op in k})
    model.set_weights(weights)
    x = rng.normal(size=(5, 3, 4)) * 10
    x[0, 0] = [30.0, -30.0, 0.0, 1e-3]
    out = model.predict(x)
    tx = torch.tensor(x, requires_grad=True)
    tw = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items() if op in k}
    expected = reference(tx, tw)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    y = np.zeros(expected.shape)
    loss, grads = model.engine.loss_and_grads(x, y)
    ref_loss = (expected**2).mean()
    ref_loss.backward()
    assert loss == pytest.approx(ref_loss.item(), rel=1e-10)
    want = {"dense_1.bias": tx.grad.sum(dim=(0, 1))} | {k: t.grad for k, t in tw.items()}
    for key, g in want.items():
        np.testing.assert_allclose(grads[key], g.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


def test_rms_norm_counts_parameters_like_keras() -> None:
    # keras.layers.RMSNormalization() on 64 features: one scale per feature
    program = nndsl.compile_string("model m {\n  input(10, 64)\n  rms_norm()\n}\n")
    assert program.graph.param_count == 64
