"""multi_head_attention's torch fast path (`F.scaled_dot_product_attention`) computes the
declaration's composition: forward and gradients equal in float64 to 1e-10 (float32 to
1e-5), with and without causal and padding masks, self and cross; the kernel is really
called, and the composition runs where it would differ (a query that sees only
padding, dropout in training). On the `device` fixture's device (conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import nndsl  # noqa: E402
from nndsl.backends.torch import layers_attention  # noqa: E402
from nndsl.backends.torch.lowering import LOWERINGS  # noqa: E402
from nndsl.backends.torch.primitives import Composed  # noqa: E402

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}

SELF = """
model m {{
  tokens = input(7)
  embedding(9, 8)
  positional_embedding(7)
  multi_head_attention(2, 4, {args})
  dense(3)
}}
train m {{ loss = mse }}
"""
CROSS = """
model m {{
  tokens = input(7)
  mem = embedding(9, 6)
  q = input(5, 8)
  multi_head_attention(3, 2, value_dim=4, memory=mem, from=q, {args})
  dense(3)
}}
train m {{ loss = mse }}
"""
CASES = [
    (SELF, "use_bias=true"),
    (SELF, "use_bias=false, value_dim=3"),  # one projection of 4 + 4 + 3 columns per head
    (SELF, "causal=true"),
    (SELF, "pad_from=tokens"),
    (SELF, "pad_from=tokens, causal=true"),
    (CROSS, "use_bias=false"),
    (CROSS, "causal=true"),  # 5 queries, 7 keys: the mask aligns them at the top left
    (CROSS, "pad_from=tokens, pad_id=3"),
    (CROSS, "pad_from=tokens, causal=true"),
]


def _data(rng: np.random.Generator, cross: bool, pad_id: int = 0) -> tuple:
    tokens = rng.integers(0, 9, (4, 7)).astype(float)
    tokens[:, 0] = 1 if pad_id != 1 else 2  # every query sees one key that is not padding
    tokens[1, 3:] = pad_id  # a padded tail
    x = {"tokens": tokens, "q": rng.normal(size=(4, 5, 8))} if cross else tokens
    y = rng.normal(size=(4, 5 if cross else 7, 3))
    return x, y


def _run(source: str, composed: bool, dtype: str, device: str, x, y, monkeypatch) -> tuple:
    with monkeypatch.context() as patch:
        if composed:
            patch.setitem(LOWERINGS, "multi_head_attention", Composed)
        model = nndsl.compile_string(source).build(
            backend="torch", device=device, seed=0, dtype=dtype
        )
    rng = np.random.default_rng(1)
    model.set_weights(
        {k: rng.normal(scale=0.5, size=v.shape) for k, v in model.get_weights().items()}
    )
    loss, grads = model.engine.loss_and_grads(x, y)
    return model.engine.logits(x), loss, grads


def _relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


@pytest.mark.parametrize("dtype", ["float64", "float32"], indirect=True)
@pytest.mark.parametrize(
    ("template", "args"),
    CASES,
    ids=[("cross " if t is CROSS else "self ") + a for t, a in CASES],
)
def test_fast_path_equals_the_composition(template, args, dtype, device, monkeypatch) -> None:
    calls = []
    sdpa = F.scaled_dot_product_attention
    monkeypatch.setattr(
        layers_attention.F,
        "scaled_dot_product_attention",
        lambda *a, **kw: calls.append(kw) or sdpa(*a, **kw),
    )
    source = template.format(args=args)
    pad_id = 3 if "pad_id=3" in args else 0
    x, y = _data(np.random.default_rng(0), template is CROSS, pad_id)
    out, loss, grads = _run(source, False, dtype, device, x, y, monkeypatch)
    assert calls, "the kernel was not called"
    ref_out, ref_loss, ref_grads = _run(source, True, dtype, device, x, y, monkeypatch)
    tol = TOLERANCE[dtype]
    assert _relative(out, ref_out) < tol
    assert loss == pytest.approx(ref_loss, rel=tol)
    assert grads.keys() == ref_grads.keys()
    for key, g in ref_grads.items():
        if key.endswith("key_bias"):  # zero by design: rounding on both sides
            assert np.abs(grads[key]).max() < tol and np.abs(g).max() < tol
            continue
        assert _relative(grads[key], g) < tol, key


def test_a_query_that_sees_only_padding_takes_the_composition(
    monkeypatch, device: str, precise: str
) -> None:
    source = SELF.format(args="pad_from=tokens, causal=true")
    x, y = _data(np.random.default_rng(0), False)
    x[2, :2] = 0  # queries 0 and 1 of sample 2 see padding only
    out, loss, _ = _run(source, False, precise, device, x, y, monkeypatch)
    ref_out, ref_loss, _ = _run(source, True, precise, device, x, y, monkeypatch)
    assert np.isfinite(out).all()
    tol = 1e-12 if precise == "float64" else 1e-5
    np.testing.assert_allclose(out, ref_out, rtol=tol, atol=tol)
