"""multi_head_attention against a second independent reference: torch's
nn.MultiheadAttention, for the layouts the two share (heads * key_dim == features and
value_dim == key_dim: torch has one head size and projects back to the query's width).
nndsl's weights (biases made random, so that they count) are copied into torch's
in_proj / q,k,v_proj / out_proj; self-attention, cross-attention to a memory of another
width (torch's kdim/vdim), causal (attn_mask) and key padding (key_padding_mask), on
both nndsl backends, float32 to 1e-5 and float64 to 1e-10. The Keras reference is in
test_ops_attention.py."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl

torch = pytest.importorskip("torch")

HEADS, KEY_DIM, T, S, MEMORY = 3, 4, 6, 5, 7
WIDTH = HEADS * KEY_DIM
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
PAD = 0


def nndsl_model(backend: str, dtype: str, cross: bool, causal: bool, padded: bool):
    """The nndsl model and its weights with random biases (set back into it)."""
    keys = "mem" if cross else "q"
    lines = [f"q = input({T}, {WIDTH})"]
    if cross:
        lines.append(f"mem = input({S}, {MEMORY})")
    if padded:
        lines.append(f"ids = input({S if cross else T})")
    args = [str(HEADS), str(KEY_DIM), "from=q"]
    if cross:
        args.append(f"memory={keys}")
    if causal:
        args.append("causal=true")
    if padded:
        args.append(f"pad_from=ids, pad_id={PAD}")
    lines.append(f"att = multi_head_attention({', '.join(args)})")
    source = "model m {\n" + "\n".join(lines) + "\n}"
    model = nndsl.compile_string(source).build(backend=backend, seed=0, dtype=dtype)
    rng = np.random.default_rng(3)
    weights = model.get_weights()
    for name, value in weights.items():
        if name.endswith("_bias"):
            weights[name] = rng.normal(scale=0.3, size=value.shape).astype(value.dtype)
    model.set_weights(weights)
    return model, model.get_weights()


def torch_attention(weights: dict, cross: bool, dtype: torch.dtype):
    """nn.MultiheadAttention holding nndsl's weights: nndsl's (fan_in, heads, key_dim)
    kernel, flattened, is the transpose of torch's (heads * head_dim, fan_in) rows, and
    torch splits the rows into heads in the same order."""
    kdim = MEMORY if cross else WIDTH
    mha = torch.nn.MultiheadAttention(
        WIDTH, HEADS, bias=True, kdim=kdim, vdim=kdim, batch_first=True, dtype=dtype
    )

    def rows(part: str) -> torch.Tensor:
        w = weights[f"att.{part}_weight"]
        return torch.as_tensor(w.reshape(w.shape[0], -1).T.copy(), dtype=dtype)

    with torch.no_grad():
        if cross:  # torch keeps separate projections when kdim/vdim differ
            mha.q_proj_weight.copy_(rows("query"))
            mha.k_proj_weight.copy_(rows("key"))
            mha.v_proj_weight.copy_(rows("value"))
        else:
            mha.in_proj_weight.copy_(torch.cat([rows(p) for p in ("query", "key", "value")]))
        bias = [weights[f"att.{p}_bias"].reshape(-1) for p in ("query", "key", "value")]
        mha.in_proj_bias.copy_(torch.as_tensor(np.concatenate(bias), dtype=dtype))
        out = weights["att.output_weight"]
        mha.out_proj.weight.copy_(torch.as_tensor(out.reshape(-1, WIDTH).T.copy(), dtype=dtype))
        mha.out_proj.bias.copy_(torch.as_tensor(weights["att.output_bias"], dtype=dtype))
    return mha.eval()


CASES = {
    "self": (False, False, False),
    "cross": (True, False, False),
    "causal": (False, True, False),
    "self, padded keys": (False, False, True),
    "cross, padded keys": (True, False, True),
    "causal, padded keys": (False, True, True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("case", list(CASES))
def test_equals_torch_multihead_attention(case: str, backend: str, dtype: str) -> None:
    cross, causal, padded = CASES[case]
    model, weights = nndsl_model(backend, dtype, cross, causal, padded)
    tdtype = getattr(torch, dtype)
    mha = torch_attention(weights, cross, tdtype)
    rng = np.random.default_rng(0)
    q = rng.normal(size=(4, T, WIDTH)).astype(dtype)
    feeds = {"q": q}
    mem = q
    if cross:
        mem = feeds["mem"] = rng.normal(size=(4, S, MEMORY)).astype(dtype)
    kwargs = {}
    if padded:  # padding at the end, so that every (causal) query sees a key
        ids = rng.integers(1, 9, (4, mem.shape[1])).astype(dtype)
        ids[0, -2:] = ids[1, -1:] = ids[3, 2:] = PAD
        feeds["ids"] = ids
        kwargs["key_padding_mask"] = torch.as_tensor(ids == PAD)
    if causal:
        kwargs["attn_mask"] = torch.ones(T, T, dtype=torch.bool).triu(1)  # True: hidden
    tq, tm = torch.as_tensor(q), torch.as_tensor(mem)
    with torch.no_grad():
        want, _ = mha(tq, tm, tm, need_weights=False, **kwargs)
    got = model.predict(feeds if len(feeds) > 1 else q)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(got, want.numpy(), rtol=tol, atol=tol)
    if padded:  # the reference is not blind to the mask: without it, it differs
        with torch.no_grad():
            kwargs.pop("key_padding_mask")
            unmasked, _ = mha(tq, tm, tm, need_weights=False, **kwargs)
        assert not np.allclose(got, unmasked.numpy(), rtol=tol, atol=tol)
