"""Kernels of the convolution family: convolutions, pooling, upsampling, channels last.

A 1-d sample (length, channels) runs as a 2-d one of height 1, so each kernel is written
once. A convolution is im2col and one matrix product: a strided view lists every window
of the (zero-padded) input, it is copied into a (windows, taps * channels) matrix, and
that matrix times the (taps * channels, filters) kernel is the output, already channels
last. Backward scatters the columns' gradient back with one vectorized add per kernel
tap (9 for a 3x3 kernel): Python loops run over taps, never over samples or pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nndsl.backends.numpy.composed import ComposedKernel, activation_of
from nndsl.backends.numpy.kernel import Kernel
from nndsl.ir.ops_conv import Window, per_axis, windows

_UNIT = Window(1, 1, 1, 1, 0, 0)  # the height axis of a 1-d sample


class Geometry:
    """Where the windows of a conv/pool node fall on its (padded) input, as 2-d."""

    def __init__(self, sample: tuple[int, ...], wins: tuple[Window, ...]) -> None:
        if len(wins) == 1:
            wins = (_UNIT, *wins)
        self.sample = sample
        self.hw = (1, *sample[:-1]) if len(sample) == 2 else tuple(sample[:-1])
        self.channels = sample[-1]
        self.wins = wins
        self.out = tuple(w.out for w in wins)
        self.size = tuple(w.size for w in wins)
        self.padded = tuple(n + w.pad_before + w.pad_after for n, w in zip(self.hw, wins))
        self.pads = any(w.pad_before or w.pad_after for w in wins)
        (h, w), (a, b) = self.hw, wins
        self.interior = (
            slice(None),
            slice(a.pad_before, a.pad_before + h),
            slice(b.pad_before, b.pad_before + w),
        )
        self.taps = [(i, j) for i in range(a.size) for j in range(b.size)]

    def view(self, xp: np.ndarray) -> np.ndarray:
        """(N, Hp, Wp, C) -> a read-only view (N, Ho, Wo, kh, kw, C) of every window."""
        (a, b), (sn, sh, sw, sc) = self.wins, xp.strides
        shape = (xp.shape[0], a.out, b.out, a.size, b.size, self.channels)
        strides = (sn, sh * a.stride, sw * b.stride, sh * a.dilation, sw * b.dilation, sc)
        return as_strided(xp, shape, strides, writeable=False)

    def tap(self, i: int, j: int) -> tuple[slice, ...]:
        """The part of the padded input that tap (i, j) reads, one value per output."""
        a, b = self.wins
        return (
            slice(None),
            slice(i * a.dilation, i * a.dilation + (a.out - 1) * a.stride + 1, a.stride),
            slice(j * b.dilation, j * b.dilation + (b.out - 1) * b.stride + 1, b.stride),
        )


class WindowKernel(Kernel):
    """Shared by convolutions and pools: the geometry, and a padded copy of the input
    whose border is filled once per batch size (`fill`: 0, or -inf for max pooling)."""

    size_key, stride_key, fill = "kernel_size", "strides", 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.geom: Geometry | None = None
        self._padded: dict[int, np.ndarray] = {}

    def geometry(self, sample: tuple[int, ...]) -> Geometry:
        if self.geom is None:
            wins = windows(sample, self.node.attrs, self.size_key, self.stride_key)
            self.geom = Geometry(sample, wins)
        return self.geom

    def padded_input(self, x: np.ndarray) -> np.ndarray:
        """x as (N, Hp, Wp, C): a view when there is no padding."""
        g, n = self.geom, x.shape[0]
        x4 = x.reshape(n, *g.hw, g.channels)
        if not g.pads:
            return x4
        xp = self._padded.get(n)
        if xp is None:
            xp = self._padded[n] = np.full((n, *g.padded, g.channels), self.fill, self.dtype)
        xp[g.interior] = x4
        return xp

    def input_grad(self, dxp: np.ndarray) -> np.ndarray:
        """The gradient of the padded input, cut back to the input's shape."""
        g = self.geom
        dx = dxp[g.interior] if g.pads else dxp
        return dx.reshape(dx.shape[0], *g.sample)


class ConvKernel(WindowKernel):
    """y = act(conv(x, weight) + bias): im2col, then (windows, K) @ (K, filters)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        act = self.node.attrs["activation"]
        self.act = None if act.name == "linear" else activation_of(act.name)
        self.act_args = act.args
        filters = self.node.shape[-1]
        self.W = self.w["weight"].reshape(-1, filters)  # views of the flat buffers
        self.gW = self.g["weight"].reshape(-1, filters)
        self.b, self.gb = self.w.get("bias"), self.g.get("bias")

    def forward(self, xs, training):
        x = xs[0]
        n, g = x.shape[0], self.geometry(x.shape[1:])
        xp = self.padded_input(x)
        cols = self.buffer("cols", (n, *g.out, *g.size, g.channels))
        np.copyto(cols, g.view(xp))
        self.cols = cols.reshape(-1, self.W.shape[0])
        z = self.buffer("z", (self.cols.shape[0], self.W.shape[1]))
        np.matmul(self.cols, self.W, out=z)
        if self.b is not None:
            z += self.b
        a = (
            z
            if self.act is None
            else self.act.forward(z, self.buffer("a", z.shape), **self.act_args)
        )
        self.z, self.a = z, a
        return a.reshape(n, *self.node.shape)

    def backward(self, dy):
        dy2 = dy.reshape(self.z.shape)
        if self.act is None:
            dz = dy2
        else:
            dz = self.act.backward(
                dy2, self.z, self.a, self.buffer("dz", dy2.shape), **self.act_args
            )
        np.matmul(self.cols.T, dz, out=self.gW)
        if self.gb is not None:
            np.add.reduce(dz, axis=0, out=self.gb)
        if not self.needs_input_grad[0]:
            return [None]
        g, n = self.geom, dy.shape[0]
        dcols = np.matmul(dz, self.W.T, out=self.buffer("dcols", self.cols.shape))
        dcols = dcols.reshape(n, *g.out, *g.size, g.channels)
        dxp = self.buffer("dxp", (n, *g.padded, g.channels))
        dxp.fill(0)
        for i, j in g.taps:
            dxp[g.tap(i, j)] += dcols[:, :, :, i, j]
        return [self.input_grad(dxp)]


class MaxPoolKernel(WindowKernel):
    """The largest value per window and channel. Backward sends each window's gradient
    to its first largest value (in row-major tap order), as torch does."""

    size_key, stride_key, fill = "pool_size", "strides", -np.inf

    def forward(self, xs, training):
        x = xs[0]
        n, g = x.shape[0], self.geometry(x.shape[1:])
        self.xp = xp = self.padded_input(x)
        y = self.buffer("y", (n, *g.out, g.channels))
        first, *rest = g.taps
        np.copyto(y, xp[g.tap(*first)])
        for i, j in rest:
            np.maximum(y, xp[g.tap(i, j)], out=y)
        self.y = y
        return y.reshape(n, *self.node.shape)

    def backward(self, dy):
        g, n = self.geom, dy.shape[0]
        dy4 = dy.reshape(self.y.shape)
        dxp = self.buffer("dxp", (n, *g.padded, g.channels))
        dxp.fill(0)
        taken = self.buffer("taken", self.y.shape)  # 1 where a window's max was found
        taken.fill(0)
        hit = self.buffer("hit", self.y.shape)
        for i, j in g.taps:
            part = self.xp[g.tap(i, j)]
            np.equal(part, self.y, out=hit, casting="unsafe")
            np.subtract(hit, taken, out=hit)
            np.maximum(hit, 0, out=hit)
            taken += hit
            hit *= dy4
            dxp[g.tap(i, j)] += hit
        return [self.input_grad(dxp)]


class AvgPoolKernel(WindowKernel):
    """The mean per window and channel; with padding=same, of the values inside only."""

    size_key, stride_key, fill = "pool_size", "strides", 0.0

    def _scale(self) -> np.ndarray | float:
        """1 / (values per window): a float, or (Ho, Wo, 1) when padding cuts windows."""
        g = self.geom
        if not hasattr(self, "_inv"):
            if not g.pads:
                self._inv = 1.0 / math.prod(g.size)
            else:
                inside = np.zeros((1, *g.padded, 1))
                inside[g.interior] = 1
                counts = sum(inside[g.tap(i, j)] for i, j in g.taps)
                self._inv = (1.0 / counts[0]).astype(self.dtype)
        return self._inv

    def forward(self, xs, training):
        x = xs[0]
        n, g = x.shape[0], self.geometry(x.shape[1:])
        xp = self.padded_input(x)
        y = self.buffer("y", (n, *g.out, g.channels))
        first, *rest = g.taps
        np.copyto(y, xp[g.tap(*first)])
        for i, j in rest:
            y += xp[g.tap(i, j)]
        y *= self._scale()
        return y.reshape(n, *self.node.shape)

    def backward(self, dy):
        g, n = self.geom, dy.shape[0]
        share = np.multiply(
            dy.reshape(n, *g.out, g.channels),
            self._scale(),
            out=self.buffer("share", (n, *g.out, g.channels)),
        )
        dxp = self.buffer("dxp", (n, *g.padded, g.channels))
        dxp.fill(0)
        for i, j in g.taps:
            dxp[g.tap(i, j)] += share
        return [self.input_grad(dxp)]


class GlobalAvgPoolKernel(Kernel):
    """(N, ..., C) -> (N, C): the mean over every position."""

    def forward(self, xs, training):
        x = xs[0]
        self.in_shape = x.shape
        x3 = x.reshape(x.shape[0], -1, x.shape[-1])
        return np.mean(x3, axis=1, out=self.buffer("y", (x.shape[0], x.shape[-1])))

    def backward(self, dy):
        n, c = dy.shape
        positions = math.prod(self.in_shape[1:-1])
        dx = self.buffer("dx", (n, positions, c))
        np.copyto(dx, dy[:, None, :])
        dx *= 1.0 / positions
        return [dx.reshape(self.in_shape)]


class UpsampleKernel(Kernel):
    """Nearest-neighbour upsampling: each position repeated `size` times per axis."""

    def forward(self, xs, training):
        x = xs[0]
        n, c = x.shape[0], x.shape[-1]
        rank = x.ndim - 2
        reps = per_axis(self.node.attrs["size"], rank)
        self.in_shape = x.shape
        self.hw = (1, *x.shape[1:-1]) if rank == 1 else x.shape[1:-1]
        self.reps = (1, *reps) if rank == 1 else reps
        (h, w), (a, b) = self.hw, self.reps
        y = self.buffer("y", (n, h, a, w, b, c))
        np.copyto(y, x.reshape(n, h, 1, w, 1, c))
        return y.reshape(n, *self.node.shape)

    def backward(self, dy):
        n, c = dy.shape[0], dy.shape[-1]
        (h, w), (a, b) = self.hw, self.reps
        dx = self.buffer("dx", (n, h, w, c))
        np.sum(dy.reshape(n, h, a, w, b, c), axis=(2, 4), out=dx)
        return [dx.reshape(self.in_shape)]


class ReshapeKernel(Kernel):
    def forward(self, xs, training):
        self.in_shape = xs[0].shape
        return xs[0].reshape(xs[0].shape[0], *self.node.shape)

    def backward(self, dy):
        return [dy.reshape(self.in_shape)]


def _global_avg_pool(node: Any, *args: Any) -> Kernel:
    """The fused mean, or the declaration's masked mean (composed) under pad_from."""
    kind = ComposedKernel if node.attrs.get("pad_from") is not None else GlobalAvgPoolKernel
    return kind(node, *args)


CONV_KERNELS: dict[str, Callable[..., Kernel]] = {
    "conv1d": ConvKernel,
    "conv2d": ConvKernel,
    "max_pool1d": MaxPoolKernel,
    "max_pool2d": MaxPoolKernel,
    "avg_pool1d": AvgPoolKernel,
    "avg_pool2d": AvgPoolKernel,
    "global_avg_pool": _global_avg_pool,
    "upsample": UpsampleKernel,
    "reshape": ReshapeKernel,
}
