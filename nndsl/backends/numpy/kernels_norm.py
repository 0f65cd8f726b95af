"""Kernels of the normalization family: batch_norm and layer_norm, channels last.

Both work on the input as rows (..., C) -> (M, C): batch_norm normalizes each column
over the M rows (the batch and every position), layer_norm each row over its C values.
With xhat the normalized input and inv = 1 / sqrt(var + epsilon), the gradient of the
input is inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), the means taken over
what was normalized (dxhat = dy * weight); in evaluation batch_norm's statistics are
constants and the gradient is dy * weight * inv.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.backends.numpy.kernel import Kernel


class _Norm(Kernel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.weight, self.bias = self.w["weight"], self.w["bias"]
        self.g_weight, self.g_bias = self.g["weight"], self.g["bias"]
        self.eps = self.node.attrs["epsilon"]

    def _rows(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(-1, x.shape[-1])

    def _scale_shift(self, xhat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        y = np.multiply(xhat, self.weight, out=self.buffer("y", xhat.shape))
        y += self.bias
        return y.reshape(shape)

    def _param_grads(self, dy2: np.ndarray) -> None:
        np.einsum("ij,ij->j", dy2, self.xhat, out=self.g_weight)
        np.add.reduce(dy2, axis=0, out=self.g_bias)


class BatchNormKernel(_Norm):
    """Per channel over the batch and positions; running statistics as torch keeps them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.running_mean, self.running_var = self.w["running_mean"], self.w["running_var"]
        self.momentum = self.node.attrs["momentum"]

    def forward(self, xs, training):
        x2 = self._rows(xs[0])
        m = x2.shape[0]
        xhat = self.buffer("xhat", x2.shape)
        self.training = training
        if training:
            mean = np.mean(x2, axis=0)
            np.subtract(x2, mean, out=xhat)
            var = np.einsum("ij,ij->j", xhat, xhat) / m
            self.inv = 1.0 / np.sqrt(var + self.eps)
            # a single row has no unbiased variance: its (zero) variance is used
            unbiased = var * (m / (m - 1)) if m > 1 else var
            keep = 1.0 - self.momentum
            self.running_mean *= keep
            self.running_mean += self.momentum * mean
            self.running_var *= keep
            self.running_var += self.momentum * unbiased
        else:
            np.subtract(x2, self.running_mean, out=xhat)
            self.inv = 1.0 / np.sqrt(self.running_var + self.eps)
        xhat *= self.inv
        self.xhat = xhat
        return self._scale_shift(xhat, xs[0].shape)

    def backward(self, dy):
        dy2 = self._rows(dy)
        self._param_grads(dy2)
        if not self.needs_input_grad[0]:
            return [None]
        m = dy2.shape[0]
        k = self.weight * self.inv  # d y / d x per channel, batch statistics held fixed
        dx = np.multiply(dy2, k, out=self.buffer("dx", dy2.shape))
        if self.training:  # the batch's mean and variance depend on x too
            dx -= k * (self.g_bias / m)
            dx -= self.xhat * (k * (self.g_weight / m))
        return [dx.reshape(dy.shape)]


class LayerNormKernel(_Norm):
    """Each sample's last axis to mean 0 and variance 1, then scaled and shifted."""

    def forward(self, xs, training):
        x2 = self._rows(xs[0])
        xhat = self.buffer("xhat", x2.shape)
        np.subtract(x2, np.mean(x2, axis=1, keepdims=True), out=xhat)
        var = np.einsum("ij,ij->i", xhat, xhat)[:, None] / x2.shape[1]
        self.inv = 1.0 / np.sqrt(var + self.eps)
        xhat *= self.inv
        self.xhat = xhat
        return self._scale_shift(xhat, xs[0].shape)

    def backward(self, dy):
        dy2 = self._rows(dy)
        self._param_grads(dy2)
        if not self.needs_input_grad[0]:
            return [None]
        dxhat = np.multiply(dy2, self.weight, out=self.buffer("dx", dy2.shape))
        c = dy2.shape[1]
        proj = np.einsum("ij,ij->i", dxhat, self.xhat)[:, None] / c
        dxhat -= np.mean(dxhat, axis=1, keepdims=True)
        dxhat -= self.xhat * proj
        dxhat *= self.inv
        return [dxhat.reshape(dy.shape)]


NORM_KERNELS: dict[str, type[Kernel]] = {
    "batch_norm": BatchNormKernel,
    "layer_norm": LayerNormKernel,
}
