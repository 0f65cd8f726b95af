"""Torch modules of the normalization family, channels last as in the IR.

Written with tensor operations rather than `nn.BatchNorm*` (channels first, and with a
`num_batches_tracked` counter the IR does not have): the running statistics are buffers
named as the IR's state tensors, so weight files carry them in both backends.
"""

from __future__ import annotations

import torch
from torch import nn

from nndsl.ir.graph import Node


class BatchNorm(nn.Module):
    """Per channel (last axis) over the batch and every position; torch's momentum."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        c = node.shape[-1]
        self.weight = nn.Parameter(torch.empty(c))
        self.bias = nn.Parameter(torch.empty(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.momentum = float(node.attrs["momentum"])
        self.eps = float(node.attrs["epsilon"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            inv = torch.rsqrt(self.running_var + self.eps)
            return (x - self.running_mean) * (inv * self.weight) + self.bias
        dims = tuple(range(x.dim() - 1))
        m = x.numel() // x.shape[-1]
        mean = x.mean(dim=dims)
        centred = x - mean
        var = (centred * centred).mean(dim=dims)
        with torch.no_grad():
            unbiased = var * (m / (m - 1)) if m > 1 else var  # one row: its zero variance
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
        return centred * torch.rsqrt(var + self.eps) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}, eps={self.eps}"


class LayerNorm(nn.Module):
    """Each sample's last axis to mean 0 and variance 1, then scaled and shifted."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        c = node.shape[-1]
        self.weight = nn.Parameter(torch.empty(c))
        self.bias = nn.Parameter(torch.empty(c))
        self.eps = float(node.attrs["epsilon"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
