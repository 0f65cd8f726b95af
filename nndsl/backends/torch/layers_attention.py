"""multi_head_attention's fast path: the declaration's computation (nndsl.ir.
ops_attention) with its projections as one addmm per input (queries, keys and values
side by side where they read the same layer, as a hand-written qkv projection) and the
scores, masks, softmax and weighted sum in one call of `F.scaled_dot_product_attention`
(flash / memory-efficient kernels on a GPU). Proven equal to the composition, forward
and gradients, by tests/backends/torch/test_torch_attention.py; the composition runs
where the kernel would compute something else: dropout in training (its masks come from
the layer's generator), and a query that sees no key but padding (the kernel gives NaN
there, the composition even weights)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nndsl.backends.torch.primitives import Composed, affine
from nndsl.ir.ops_attention import keep_mask

PARTS = ("query", "key", "value")


class Attention(Composed):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        a = self.attrs
        if self.training and a["dropout"] > 0:
            return super().forward(*xs)
        q, k, v = self._project(xs[0], xs[1] if a["memory"] is not None else xs[0])
        mask, causal = None, a["causal"]
        if a["pad_from"] is not None:
            mask = keep_mask(self.P, xs[-1], a["pad_id"])  # (batch, 1, 1, keys)
            if causal:  # one boolean mask for both, on the queries' device
                seen = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device)
                mask, causal = mask & seen.tril(), False
            if not bool(mask.any(-1).all()):  # a query with nothing to see
                return super().forward(*xs)
        o = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal, scale=1.0 / math.sqrt(q.shape[-1])
        )
        b, h, t, width = o.shape
        weight = self.output_weight.reshape(h * width, -1)
        merged = o.transpose(1, 2).reshape(b, t, h * width)
        return affine(merged, weight, getattr(self, "output_bias", None))

    def _project(self, x: torch.Tensor, memory: torch.Tensor) -> list[torch.Tensor]:
        """(batch, heads, t or s, width) each of the queries, keys and values."""
        groups = [(x, PARTS)] if memory is x else [(x, PARTS[:1]), (memory, PARTS[1:])]
        out = []
        for source, parts in groups:
            weights = [getattr(self, f"{p}_weight") for p in parts]  # (fan_in, heads, width)
            kernel = torch.cat([w.reshape(w.shape[0], -1) for w in weights], 1)
            bias = None
            if self.attrs["use_bias"]:
                bias = torch.cat([getattr(self, f"{p}_bias").reshape(-1) for p in parts])
            y = affine(source, kernel, bias)
            widths = [w.shape[1] * w.shape[2] for w in weights]
            for w, part in zip(weights, torch.split(y, widths, -1)):
                b, t = part.shape[:2]
                out.append(part.view(b, t, w.shape[1], w.shape[2]).transpose(1, 2))
        return out
