"""Torch modules of the sequence family: embedding, and the recurrent layers written as
cells with tensor operations over Keras' weight layout (torch's nn.LSTM/nn.GRU order
their gates differently and carry two biases), so both backends compute the same
function of the same weights. Autograd provides backpropagation through time."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nndsl.ir.graph import Node


class Embedding(nn.Module):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(node.weights[0].shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.embedding(x.long(), self.weight)


class Recurrent(nn.Module):
    """simple_rnn, lstm or gru over (N, T, features); see nndsl.ir.ops_recurrent."""

    def __init__(self, node: Node, act: nn.Module, ract: nn.Module | None) -> None:
        super().__init__()
        self.kind = node.op
        shapes = {w.name: w.shape for w in node.weights}
        self.weight = nn.Parameter(torch.empty(shapes["weight"]))
        self.recurrent_weight = nn.Parameter(torch.empty(shapes["recurrent_weight"]))
        self.bias = nn.Parameter(torch.empty(shapes["bias"])) if "bias" in shapes else None
        self.units = node.attrs["units"]
        self.sequences = node.attrs["return_sequences"]
        self.act, self.ract = act, ract

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xw = x @ self.weight
        if self.bias is not None:
            xw = xw + (self.bias if self.bias.dim() == 1 else self.bias[0])
        h = x.new_zeros(x.shape[0], self.units)
        c = h
        outs = []
        for t in range(x.shape[1]):
            if self.kind == "simple_rnn":
                h = self.act(xw[:, t] + h @ self.recurrent_weight)
            elif self.kind == "lstm":
                h, c = self._lstm(xw[:, t], h, c)
            else:
                h = self._gru(xw[:, t], h)
            outs.append(h)
        return torch.stack(outs, dim=1) if self.sequences else h

    def _lstm(self, xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        u = self.units
        pre = xw + h @ self.recurrent_weight
        i, f = self.ract(pre[:, :u]), self.ract(pre[:, u : 2 * u])
        g, o = self.act(pre[:, 2 * u : 3 * u]), self.ract(pre[:, 3 * u :])
        c = f * c + i * g
        return o * self.act(c), c

    def _gru(self, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        u = self.units
        hr = h @ self.recurrent_weight
        if self.bias is not None:
            hr = hr + self.bias[1]
        zr = self.ract(xw[:, : 2 * u] + hr[:, : 2 * u])
        z, r = zr[:, :u], zr[:, u:]
        n = self.act(xw[:, 2 * u :] + r * hr[:, 2 * u :])
        return (h - n) * z + n

    def extra_repr(self) -> str:
        return f"{self.kind}, units={self.units}, return_sequences={self.sequences}"
