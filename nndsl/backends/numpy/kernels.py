"""One kernel per op: its forward and its vector-Jacobian product side by side.

A kernel is built once per graph node. It keeps output buffers per batch size, so a
training step allocates nothing but small temporaries. `backward(dy)` returns the
gradient for each input (None where no gradient is needed) and writes parameter
gradients into views of the engine's flat gradient buffer. It never modifies `dy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.backends.numpy.activations import ACTIVATIONS
from nndsl.backends.numpy.composed import ComposedKernel, activation_of
from nndsl.backends.numpy.kernel import Kernel
from nndsl.backends.numpy.kernels_conv import CONV_KERNELS
from nndsl.backends.numpy.kernels_norm import NORM_KERNELS
from nndsl.backends.numpy.kernels_recurrent import RECURRENT_KERNELS
from nndsl.ir.ops import OPS


class InputKernel(Kernel):
    def forward(self, xs, training):
        return xs[0]

    def backward(self, dy):
        return []


class DenseKernel(Kernel):
    """y = act(x @ W + b) on the last axis."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        act = self.node.attrs["activation"]
        linear = act.name == "linear"
        impl = None if linear else activation_of(act.name)
        self.act_forward = None if impl is None else impl.forward
        self.act_backward = None if impl is None else impl.backward
        self.act_args = act.args
        self.W, self.gW = self.w["weight"], self.g["weight"]
        self.b, self.gb = self.w.get("bias"), self.g.get("bias")
        self.fan_in, self.units = self.W.shape
        self._per_rows: dict[int, tuple[np.ndarray, ...]] = {}

    def _row_buffers(self, rows: int) -> tuple[np.ndarray, ...]:
        bufs = self._per_rows.get(rows)
        if bufs is None:
            z = np.empty((rows, self.units), self.dtype)
            a = z if self.act_forward is None else np.empty_like(z)
            dz = np.empty_like(z)
            dx = np.empty((rows, self.fan_in), self.dtype)
            bufs = self._per_rows[rows] = (z, a, dz, dx)
        return bufs

    def forward(self, xs, training):
        x = xs[0]
        x2 = x if x.ndim == 2 else x.reshape(-1, self.fan_in)
        z, a, _, _ = self._row_buffers(x2.shape[0])
        np.matmul(x2, self.W, out=z)
        if self.b is not None:
            np.add(z, self.b, out=z)
        if self.act_forward is not None:
            self.act_forward(z, a, **self.act_args)
        self.x2, self.z, self.a = x2, z, a
        return a if x.ndim == 2 else a.reshape(*x.shape[:-1], self.units)

    def backward(self, dy):
        z, a, dz, dx = self._row_buffers(self.z.shape[0])
        dy2 = dy if dy.ndim == 2 else dy.reshape(z.shape)
        if self.act_backward is None:
            dz = dy2
        else:
            self.act_backward(dy2, z, a, dz, **self.act_args)
        np.matmul(self.x2.T, dz, out=self.gW)  # L2's term: added by the engine
        if self.gb is not None:
            np.add.reduce(dz, axis=0, out=self.gb)
        if not self.needs_input_grad[0]:
            return [None]
        np.matmul(dz, self.W.T, out=dx)
        return [dx if dy.ndim == 2 else dx.reshape(*dy.shape[:-1], self.fan_in)]


class ActivationKernel(Kernel):
    """A standalone activation layer: relu(), softmax(), ..."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.act = ACTIVATIONS[self.node.op]
        self.args = dict(self.node.attrs)

    def forward(self, xs, training):
        self.z = xs[0]
        self.a = self.act.forward(self.z, self.buffer("a", self.z.shape), **self.args)
        return self.a

    def backward(self, dy):
        return [self.act.backward(dy, self.z, self.a, self.buffer("dz", dy.shape), **self.args)]


class LinearKernel(Kernel):
    def forward(self, xs, training):
        return xs[0]

    def backward(self, dy):
        return [dy]


class DropoutKernel(Kernel):
    """Inverted dropout: keep with probability 1-rate, scale kept values by 1/(1-rate)."""

    def forward(self, xs, training):
        x = xs[0]
        rate = self.node.attrs["rate"]
        self.active = training and rate > 0
        if not self.active:
            return x
        mask = self.buffer("mask", x.shape)
        self.rng.random(out=mask, dtype=mask.dtype)  # float32 needs its dtype named
        np.greater_equal(mask, rate, out=mask)
        mask *= 1.0 / (1.0 - rate)
        self.mask = mask
        return np.multiply(x, mask, out=self.buffer("y", x.shape))

    def backward(self, dy):
        if not self.active:
            return [dy]
        return [np.multiply(dy, self.mask, out=self.buffer("dx", dy.shape))]


class FlattenKernel(Kernel):
    def forward(self, xs, training):
        self.in_shape = xs[0].shape
        return xs[0].reshape(xs[0].shape[0], -1)

    def backward(self, dy):
        return [dy.reshape(self.in_shape)]


class AddKernel(Kernel):
    def forward(self, xs, training):
        out = self.buffer("y", xs[0].shape)
        np.add(xs[0], xs[1], out=out)
        for x in xs[2:]:
            out += x
        return out

    def backward(self, dy):
        return [dy if need else None for need in self.needs_input_grad]


class MultiplyKernel(Kernel):
    """y = x_1 * x_2 * ...; d y / d x_i is the product of the others."""

    def forward(self, xs, training):
        self.xs = xs
        out = self.buffer("y", xs[0].shape)
        np.multiply(xs[0], xs[1], out=out)
        for x in xs[2:]:
            out *= x
        return out

    def backward(self, dy):
        grads: list[np.ndarray | None] = []
        for i, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            g = dy.copy()  # one per operand: the engine may add them up
            for j, x in enumerate(self.xs):
                if j != i:
                    g *= x
            grads.append(g)
        return grads


class ConcatKernel(Kernel):
    def forward(self, xs, training):
        axis = self.node.attrs["axis"]  # an axis of a sample; the batch axis comes first
        self.axis = axis + 1 if axis >= 0 else axis
        self.sizes = [x.shape[self.axis] for x in xs]
        shape = list(xs[0].shape)
        shape[self.axis] = sum(self.sizes)
        return np.concatenate(xs, axis=self.axis, out=self.buffer("y", tuple(shape)))

    def backward(self, dy):
        cuts = np.cumsum(self.sizes)[:-1]
        parts = np.split(dy, cuts, axis=self.axis)
        return [p if need else None for p, need in zip(parts, self.needs_input_grad)]


KERNELS: dict[str, type[Kernel]] = {
    # ops declared as compositions of primitives; a hand-written kernel below replaces one
    **{name: ComposedKernel for name, o in OPS.items() if o.compute is not None},
    "input": InputKernel,
    "dense": DenseKernel,
    "dropout": DropoutKernel,
    "flatten": FlattenKernel,
    "add": AddKernel,
    "multiply": MultiplyKernel,
    "concat": ConcatKernel,
    "linear": LinearKernel,
    **{name: ActivationKernel for name in ACTIVATIONS if name != "linear"},
    **CONV_KERNELS,
    **NORM_KERNELS,
    **RECURRENT_KERNELS,
}
