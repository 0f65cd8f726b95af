"""multi_head_attention's fast path: the declaration's projections (nndsl.ir.
ops_attention), with the scores, masks, softmax and weighted sum in one call of
`F.scaled_dot_product_attention` (flash / memory-efficient kernels on a GPU). Proven
equal to the composition, forward and gradients, by tests/backends/torch/
test_torch_attention.py; the composition runs where the kernel would compute something
else: dropout in training (its masks come from the layer's generator), and a query that
sees no key but padding (the kernel gives NaN there, the composition even weights)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nndsl.backends.torch.primitives import Composed
from nndsl.ir.ops_attention import combine, keep_mask, project


class Attention(Composed):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        a = self.attrs
        if self.training and a["dropout"] > 0:
            return super().forward(*xs)
        w = {name: getattr(self, name) for name in self.names}
        q, k, v = project(self.P, list(xs), w, a)
        mask, causal = None, a["causal"]
        if a["pad_from"] is not None:
            mask = keep_mask(self.P, xs[-1], a["pad_id"])  # (batch, 1, 1, keys)
            if causal:
                mask = mask & torch.ones(q.shape[2], k.shape[2], dtype=torch.bool).tril()
                causal = False
            if not bool(mask.any(-1).all()):  # a query with nothing to see
                return super().forward(*xs)
        o = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal, scale=1.0 / math.sqrt(q.shape[-1])
        )
        return combine(self.P, o, w)
