"""Kernels of the sequence family: embedding, simple_rnn, lstm, gru.

A recurrent layer runs time-major: the input (N, T, D) is transposed once to (T, N, D),
its product with `weight` for every step is one matrix product, and only the recurrence
h_(t-1) @ recurrent_weight loops over the T steps. Backpropagation through time walks
the steps backwards filling the gradient of every step's gate pre-activations, (T, N,
gates * units); the weight gradients and the input's are then one matrix product each.
Gates sit side by side on the last axis in Keras' order (see nndsl.ir.ops_recurrent).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.backends.numpy.composed import activation_of
from nndsl.backends.numpy.kernel import Kernel
from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec


class EmbeddingKernel(Kernel):
    """Row lookup: (N, ...) whole numbers in [0, input_dim) -> (N, ..., output_dim)."""

    def forward(self, xs, training):
        x = xs[0]
        idx = x.astype(np.intp)
        vocab, dim = self.w["weight"].shape
        if x.size and (idx.min() < 0 or idx.max() >= vocab or np.any(idx != x)):
            bad = x[(idx < 0) | (idx >= vocab) | (idx != x)].flat[0]
            raise NNDSLError(
                f"{self.node.name}: input {bad:g} is not an index in [0, {vocab})",
                hint="embedding inputs are whole numbers below input_dim (e.g. token ids)",
            )
        self.idx = idx
        out = self.buffer("y", (*x.shape, dim))
        return np.take(self.w["weight"], idx, axis=0, out=out)

    def backward(self, dy):
        g = self.g["weight"]
        g.fill(0)
        np.add.at(g, self.idx.ravel(), dy.reshape(-1, g.shape[1]))
        return [None]


class _Act:
    """An activation Spec as forward(z, out) / backward(dy, z, a, out)."""

    def __init__(self, spec: Spec) -> None:
        self.impl, self.args = activation_of(spec.name), spec.args

    def forward(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self.impl.forward(z, out, **self.args)

    def backward(self, dy: np.ndarray, z: np.ndarray, a: np.ndarray, out: np.ndarray):
        return self.impl.backward(dy, z, a, out, **self.args)


class RecurrentKernel(Kernel):
    """What the three recurrent layers share: the input product, the output (last step
    or every step) and the weight and input gradients after the time loop. Subclasses
    run the steps (`steps`) and their backward (`steps_back`)."""

    gates = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        a = self.node.attrs
        self.units, self.sequences = a["units"], a["return_sequences"]
        self.act = _Act(a["activation"])
        self.ract = _Act(a.get("recurrent_activation", Spec("sigmoid")))
        self.W, self.R, self.b = self.w["weight"], self.w["recurrent_weight"], self.w.get("bias")
        self.gW, self.gR, self.gb = self.g["weight"], self.g["recurrent_weight"], self.g.get("bias")

    def forward(self, xs, training):
        x = xs[0]
        n, steps, d = x.shape
        width = self.gates * self.units
        xt = self.buffer("xt", (steps, n, d))
        np.copyto(xt, x.transpose(1, 0, 2))
        xw = self.buffer("xw", (steps, n, width))  # becomes the gates' pre-activations
        np.matmul(xt.reshape(-1, d), self.W, out=xw.reshape(-1, width))
        if self.b is not None:
            xw += self.b if self.b.ndim == 1 else self.b[0]
        h = self.buffer("h", (steps + 1, n, self.units))
        h[0] = 0
        self.xt, self.xw, self.h = xt, xw, h
        self.steps(xw, h)
        if not self.sequences:
            return h[steps]
        out = self.buffer("y", (n, steps, self.units))
        np.copyto(out, h[1:].transpose(1, 0, 2))
        return out

    def backward(self, dy):
        steps, n, width = self.xw.shape
        dg = self.buffer("dg", (steps, n, width))  # d loss / d pre-activations, input side
        dgh = self.steps_back(dy.transpose(1, 0, 2) if self.sequences else dy, dg)
        dg2, dgh2 = dg.reshape(-1, width), dgh.reshape(-1, width)
        np.matmul(self.xt.reshape(steps * n, -1).T, dg2, out=self.gW)
        np.matmul(self.h[:-1].reshape(-1, self.units).T, dgh2, out=self.gR)
        if self.gb is not None:
            if self.gb.ndim == 1:
                np.add.reduce(dg2, axis=0, out=self.gb)
            else:  # gru: the input bias, then the recurrent one
                np.add.reduce(dg2, axis=0, out=self.gb[0])
                np.add.reduce(dgh2, axis=0, out=self.gb[1])
        if not self.needs_input_grad[0]:
            return [None]
        dxt = self.buffer("dxt", self.xt.shape)
        np.matmul(dg2, self.W.T, out=dxt.reshape(steps * n, -1))
        return [dxt.transpose(1, 0, 2)]

    def output_grad(self, dys: np.ndarray, t: int, dh: np.ndarray) -> None:
        """Add the loss's gradient for step t's output to dh (every step, or the last)."""
        if self.sequences:
            dh += dys[t]
        elif t == len(self.xw) - 1:
            dh += dys

    def steps(self, xw: np.ndarray, h: np.ndarray) -> None:
        raise NotImplementedError

    def steps_back(self, dys: np.ndarray, dg: np.ndarray) -> np.ndarray:
        """Fill dg for every step; return the recurrent side's gradient (dg itself
        unless the recurrent term has its own, as in the gru)."""
        raise NotImplementedError


class SimpleRNNKernel(RecurrentKernel):
    """h_t = act(z_t), z_t = x_t W + h_(t-1) R + b."""

    def steps(self, xw, h):
        for t in range(len(xw)):
            xw[t] += h[t] @ self.R
            self.act.forward(xw[t], h[t + 1])

    def steps_back(self, dys, dg):
        dh = np.zeros_like(self.h[0])
        for t in range(len(self.xw) - 1, -1, -1):
            self.output_grad(dys, t, dh)
            self.act.backward(dh, self.xw[t], self.h[t + 1], dg[t])
            np.matmul(dg[t], self.R.T, out=dh)
        return dg


class LSTMKernel(RecurrentKernel):
    """Gates [i, f, g, o]: i, f, o = ract(.), g = act(.); c_t = f c_(t-1) + i g;
    h_t = o act(c_t)."""

    gates = 4

    def steps(self, xw, h):
        steps, n, _ = xw.shape
        u = self.units
        a = self.buffer("a", xw.shape)  # activated gates
        c = self.buffer("c", (steps + 1, n, u))
        tc = self.buffer("tc", (steps, n, u))  # act(c_t)
        c[0] = 0
        for t in range(steps):
            pre, at = xw[t], a[t]
            pre += h[t] @ self.R
            self.ract.forward(pre[:, : 2 * u], at[:, : 2 * u])
            self.act.forward(pre[:, 2 * u : 3 * u], at[:, 2 * u : 3 * u])
            self.ract.forward(pre[:, 3 * u :], at[:, 3 * u :])
            np.multiply(at[:, u : 2 * u], c[t], out=c[t + 1])
            c[t + 1] += at[:, :u] * at[:, 2 * u : 3 * u]
            self.act.forward(c[t + 1], tc[t])
            np.multiply(at[:, 3 * u :], tc[t], out=h[t + 1])
        self.a, self.c, self.tc = a, c, tc

    def steps_back(self, dys, dg):
        u, a, c, tc = self.units, self.a, self.c, self.tc
        dh = np.zeros_like(self.h[0])
        dc = np.zeros_like(dh)
        tmp, dtc = np.empty_like(dh), np.empty_like(dh)
        da = np.empty_like(dg[0])  # d loss / d activated gates at one step
        for t in range(len(self.xw) - 1, -1, -1):
            self.output_grad(dys, t, dh)
            at, pre = a[t], self.xw[t]
            np.multiply(dh, tc[t], out=da[:, 3 * u :])  # d o
            np.multiply(dh, at[:, 3 * u :], out=tmp)  # d act(c_t)
            dc += self.act.backward(tmp, c[t + 1], tc[t], dtc)
            np.multiply(dc, at[:, 2 * u : 3 * u], out=da[:, :u])  # d i
            np.multiply(dc, c[t], out=da[:, u : 2 * u])  # d f
            np.multiply(dc, at[:, :u], out=da[:, 2 * u : 3 * u])  # d g
            dc *= at[:, u : 2 * u]  # to c_(t-1)
            d = dg[t]
            self.ract.backward(da[:, : 2 * u], pre[:, : 2 * u], at[:, : 2 * u], d[:, : 2 * u])
            self.act.backward(
                da[:, 2 * u : 3 * u],
                pre[:, 2 * u : 3 * u],
                at[:, 2 * u : 3 * u],
                d[:, 2 * u : 3 * u],
            )
            self.ract.backward(da[:, 3 * u :], pre[:, 3 * u :], at[:, 3 * u :], d[:, 3 * u :])
            np.matmul(d, self.R.T, out=dh)
        return dg


class GRUKernel(RecurrentKernel):
    """Gates [z, r, n] (Keras, reset_after): z, r = ract(x W + b_in + h R + b_rec);
    n = act(x W_n + b_in,n + r (h R_n + b_rec,n)); h_t = z h_(t-1) + (1 - z) n."""

    gates = 3

    def steps(self, xw, h):
        steps, n, width = xw.shape
        u = self.units
        a = self.buffer("a", xw.shape)
        hr = self.buffer("hr", xw.shape)  # h_(t-1) R + b_rec
        for t in range(steps):
            pre, at, ht = xw[t], a[t], hr[t]
            np.matmul(h[t], self.R, out=ht)
            if self.b is not None:
                ht += self.b[1]
            pre[:, : 2 * u] += ht[:, : 2 * u]
            self.ract.forward(pre[:, : 2 * u], at[:, : 2 * u])
            pre[:, 2 * u :] += at[:, u : 2 * u] * ht[:, 2 * u :]
            self.act.forward(pre[:, 2 * u :], at[:, 2 * u :])
            cand = at[:, 2 * u :]
            np.subtract(h[t], cand, out=h[t + 1])
            h[t + 1] *= at[:, :u]
            h[t + 1] += cand
        self.a, self.hr = a, hr

    def steps_back(self, dys, dg):
        u, a, hr, h = self.units, self.a, self.hr, self.h
        dgh = self.buffer("dgh", dg.shape)  # recurrent side: differs on the candidate
        dh = np.zeros_like(h[0])
        da = np.empty_like(dg[0])
        for t in range(len(self.xw) - 1, -1, -1):
            self.output_grad(dys, t, dh)
            at, pre, d, dr = a[t], self.xw[t], dg[t], dgh[t]
            z, cand = at[:, :u], at[:, 2 * u :]
            np.subtract(1.0, z, out=da[:, 2 * u :])
            da[:, 2 * u :] *= dh  # d n
            np.subtract(h[t], cand, out=da[:, :u])
            da[:, :u] *= dh  # d z
            dh *= z  # to h_(t-1), directly
            self.act.backward(da[:, 2 * u :], pre[:, 2 * u :], cand, d[:, 2 * u :])
            np.multiply(d[:, 2 * u :], at[:, u : 2 * u], out=dr[:, 2 * u :])
            np.multiply(d[:, 2 * u :], hr[t][:, 2 * u :], out=da[:, u : 2 * u])  # d r
            self.ract.backward(da[:, : 2 * u], pre[:, : 2 * u], at[:, : 2 * u], d[:, : 2 * u])
            dr[:, : 2 * u] = d[:, : 2 * u]
            dh += dr @ self.R.T
        return dgh


RECURRENT_KERNELS: dict[str, type[Kernel]] = {
    "embedding": EmbeddingKernel,
    "simple_rnn": SimpleRNNKernel,
    "lstm": LSTMKernel,
    "gru": GRUKernel,
}
