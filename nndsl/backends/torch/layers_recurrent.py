"""Torch modules of the sequence family: embedding, and the recurrent layers on torch's
fused kernels (the ones behind nn.LSTM, nn.GRU and nn.RNN: cuDNN on a GPU, one C++ loop
over the steps on the CPU).

Parameters keep Keras' layout (nndsl.ir.ops_recurrent), so weight files, optimizer
state, checkpoints and DistributedDataParallel see the same tensors as with any other
layer. Each forward hands the fused kernel a view of them in torch's layout: the
kernels transposed, the GRU's gates reordered from Keras' (update, reset, candidate) to
torch's (reset, update, candidate), and its (2, 3 * units) bias split into torch's
input and recurrent biases (Keras' reset_after=true is torch's GRU). That rearrangement
is a few small copies per batch, outside the loop over the steps, and autograd carries
the gradients back through it to the Keras-layout parameters.

What the fused kernels cannot express (other activations than tanh and sigmoid for the
gated layers, or than tanh and relu for simple_rnn) lowers to the op's declaration, the
same step-by-step composition of primitives the NumPy backend runs (see `fused`).
"""

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


def fused(node: Node) -> bool:
    """Whether a recurrent node's function is one of torch's fused kernels."""
    act = node.attrs["activation"]
    if act.args:
        return False
    if node.op == "simple_rnn":
        return act.name in ("tanh", "relu")
    gate = node.attrs["recurrent_activation"]
    return act.name == "tanh" and gate.name == "sigmoid" and not gate.args


class FusedRecurrent(nn.Module):
    """simple_rnn, lstm or gru over (N, T, features) through torch.lstm / torch.gru /
    torch.rnn_tanh / torch.rnn_relu, from Keras-layout parameters."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.kind = node.op
        shapes = {w.name: w.shape for w in node.weights}
        self.weight = nn.Parameter(torch.empty(shapes["weight"]))
        self.recurrent_weight = nn.Parameter(torch.empty(shapes["recurrent_weight"]))
        self.bias = nn.Parameter(torch.empty(shapes["bias"])) if "bias" in shapes else None
        self.units = node.attrs["units"]
        self.sequences = node.attrs["return_sequences"]
        if self.kind == "lstm":
            self.kernel = torch.lstm
        elif self.kind == "gru":
            self.kernel = torch.gru
        else:
            relu = node.attrs["activation"].name == "relu"
            self.kernel = torch.rnn_relu if relu else torch.rnn_tanh

    def torch_layout(self) -> list[torch.Tensor]:
        """[weight_ih, weight_hh(, bias_ih, bias_hh)] as nn.LSTM/nn.GRU/nn.RNN hold them:
        (gates * units, features), (gates * units, units), (gates * units,) twice."""
        w_ih, w_hh = self.weight.t(), self.recurrent_weight.t()
        if self.kind == "gru":  # Keras' gates z, r, n -> torch's r, z, n
            w_ih, w_hh = _reset_first(w_ih, self.units), _reset_first(w_hh, self.units)
        if self.bias is None:
            return [w_ih, w_hh]
        if self.kind == "gru":  # the input bias above the recurrent one
            b_ih, b_hh = (_reset_first(b, self.units) for b in self.bias)
        else:  # Keras has one bias where torch adds two
            b_ih, b_hh = self.bias, torch.zeros_like(self.bias)
        return [w_ih, w_hh, b_ih, b_hh]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = x.new_zeros(1, x.shape[0], self.units)
        state = [h0, h0] if self.kind == "lstm" else h0
        params = self.torch_layout()
        # (params, has biases, layers, dropout, train, bidirectional, batch first); cuDNN
        # keeps what backward needs only with train=True, so it follows autograd, not
        # the module's mode (there is no dropout between layers to switch)
        train = torch.is_grad_enabled()
        seq = self.kernel(x, state, params, self.bias is not None, 1, 0.0, train, False, True)[0]
        return seq if self.sequences else seq[:, -1]

    def extra_repr(self) -> str:
        return f"{self.kind}, units={self.units}, return_sequences={self.sequences}"


def _reset_first(t: torch.Tensor, units: int) -> torch.Tensor:
    """Rows (update, reset, candidate) of a GRU's tensor reordered (reset, update,
    candidate); a bias is one row of each."""
    return torch.cat([t[units : 2 * units], t[:units], t[2 * units :]])
