"""Torch modules of the convolution family, on channels-last tensors as in the IR.

Each moves the channels to where torch wants them (a view), pads as Keras does (the
window arithmetic is the IR's, `nndsl.ir.ops_conv.windows`) and calls torch's 2-d
functional op; a 1-d sample runs as a 2-d one of height 1, as on the NumPy backend.
The kernel keeps the IR's layout (kernel_h, kernel_w, in, filters), so weight files are
shared unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nndsl.ir.graph import Node
from nndsl.ir.ops_conv import Window, per_axis, windows


@dataclass(frozen=True)
class _Plan:
    """How to run the windows of one input shape as a 2-d torch op."""

    size: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int, int, int] | None  # for F.pad (width first), None: no padding
    even: tuple[int, int] | None  # the same padding, when symmetric: (height, width)


class _Windowed(nn.Module):
    size_key, stride_key = "kernel_size", "strides"

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.attrs = dict(node.attrs)
        self.out_shape = tuple(node.shape)
        self._plans: dict[tuple[int, ...], _Plan] = {}

    def plan(self, sample: tuple[int, ...]) -> _Plan:
        p = self._plans.get(sample)
        if p is None:
            wins = windows(sample, self.attrs, self.size_key, self.stride_key)
            if len(wins) == 1:  # 1-d: a height of 1 in front
                wins = (Window(1, 1, 1, 1, 0, 0), *wins)
            (h, w) = wins
            pad = (w.pad_before, w.pad_after, h.pad_before, h.pad_after)
            even = (h.pad_before, w.pad_before) if pad[0::2] == pad[1::2] else None
            p = self._plans[sample] = _Plan(
                (h.size, w.size),
                (h.stride, w.stride),
                (h.dilation, w.dilation),
                pad if any(pad) else None,
                even,
            )
        return p

    @staticmethod
    def to_nchw(x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) or (N, L, C) -> (N, C, H, W) (a view)."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return x.permute(0, 3, 1, 2)

    def to_channels_last(self, y: torch.Tensor) -> torch.Tensor:
        return y.permute(0, 2, 3, 1).reshape(y.shape[0], *self.out_shape)


class Conv(_Windowed):
    """y = activation(conv(x, weight) + bias); weight (k..., in, filters) as in Keras."""

    def __init__(self, node: Node, act: nn.Module | None) -> None:
        super().__init__(node)
        self.weight = nn.Parameter(torch.empty(node.weights[0].shape))
        self.bias = nn.Parameter(torch.empty(node.shape[-1])) if node.attrs["use_bias"] else None
        self.activation = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.plan(tuple(x.shape[1:]))
        xc = self.to_nchw(x)
        if p.pad is not None and p.even is None:
            xc = F.pad(xc, p.pad)
        w = self.weight if self.weight.dim() == 4 else self.weight.unsqueeze(0)
        padding = p.even or (0, 0)
        y = F.conv2d(xc, w.permute(3, 2, 0, 1), self.bias, p.stride, padding, p.dilation)
        y = self.to_channels_last(y)
        return y if self.activation is None else self.activation(y)


class Pool(_Windowed):
    """Max or mean per window; padding=same ignores the padded values, as Keras does."""

    size_key, stride_key = "pool_size", "strides"

    def __init__(self, node: Node, kind: str) -> None:
        super().__init__(node)
        self.kind = kind
        self._counts: dict[tuple, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.plan(tuple(x.shape[1:]))
        xc = self.to_nchw(x)
        if p.pad is None:
            pool = F.max_pool2d if self.kind == "max" else F.avg_pool2d
            y = pool(xc, p.size, p.stride)
        elif self.kind == "max":
            y = F.max_pool2d(F.pad(xc, p.pad, value=float("-inf")), p.size, p.stride)
        else:
            sums = F.avg_pool2d(F.pad(xc, p.pad), p.size, p.stride, divisor_override=1)
            y = sums / self._count(xc, p)
        return self.to_channels_last(y)

    def _count(self, xc: torch.Tensor, p: _Plan) -> torch.Tensor:
        """Values inside the input per window, (1, 1, Ho, Wo)."""
        key = (tuple(xc.shape[2:]), xc.device, xc.dtype)
        if key not in self._counts:
            ones = torch.ones((1, 1, *xc.shape[2:]), dtype=xc.dtype, device=xc.device)
            self._counts[key] = F.avg_pool2d(
                F.pad(ones, p.pad), p.size, p.stride, divisor_override=1
            )
        return self._counts[key]


class GlobalAvgPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=tuple(range(1, x.dim() - 1)))


class Upsample(nn.Module):
    """Nearest neighbour: each position repeated `size` times per spatial axis."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.reps = per_axis(node.attrs["size"], len(node.shape) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for axis, k in enumerate(self.reps, start=1):
            if k > 1:
                x = x.repeat_interleave(k, dim=axis)
        return x

    def extra_repr(self) -> str:
        return f"size={self.reps}"


class Reshape(nn.Module):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.shape = tuple(node.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
