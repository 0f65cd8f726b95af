"""Losses with their gradients. Cross-entropies take logits (fused with the output's
sigmoid/softmax), so extreme values never produce NaN or Inf.

Every function takes the model output `out` (logits for cross-entropies) and prepared
targets `y` (see nndsl.ir.targets), returns the mean loss over the batch and writes
dLoss/dout into `grad`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def mse(out, y, grad, **_):
    np.subtract(out, y, out=grad)
    loss = float(np.vdot(grad, grad)) / grad.size
    grad *= 2.0 / grad.size
    return loss


def mae(out, y, grad, **_):
    np.subtract(out, y, out=grad)
    loss = float(np.abs(grad).sum()) / grad.size
    np.sign(grad, out=grad)
    grad *= 1.0 / grad.size
    return loss


def huber(out, y, grad, delta=1.0, **_):
    np.subtract(out, y, out=grad)
    r = np.abs(grad)
    small = r <= delta
    loss = float(np.where(small, 0.5 * r * r, delta * (r - 0.5 * delta)).sum()) / grad.size
    np.clip(grad, -delta, delta, out=grad)
    grad *= 1.0 / grad.size
    return loss


def binary_crossentropy(z, y, grad, **_):
    """From logits z: max(z, 0) - z*y + log(1 + exp(-|z|)), mean over all values."""
    e = np.exp(-np.abs(z))
    loss = float((np.maximum(z, 0) - z * y + np.log1p(e)).sum()) / z.size
    # sigmoid(z) from e, stable for any z
    np.add(e, 1, out=grad)
    np.reciprocal(grad, out=grad)
    np.copyto(grad, e * grad, where=z < 0)
    grad -= y
    grad *= 1.0 / z.size
    return loss


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def categorical_crossentropy(z, y, grad, **_):
    """From logits z and target distributions y: -sum(y * log_softmax(z)), mean over rows."""
    logp = _log_softmax(z)
    rows = z.size // z.shape[-1]
    loss = float(-np.vdot(y, logp)) / rows
    np.exp(logp, out=grad)
    grad *= y.sum(axis=-1, keepdims=True)
    grad -= y
    grad *= 1.0 / rows
    return loss


def sparse_categorical_crossentropy(z, y, grad, **_):
    """From logits z (rows, classes) and integer labels y (rows,); or z (rows, steps,
    classes) and y (rows, steps), the mean over every position (as Keras)."""
    if z.ndim > 2:  # a label per position: the same loss over the flattened positions
        flat = grad.reshape(-1, z.shape[-1])  # a view: written in place
        return sparse_categorical_crossentropy(z.reshape(flat.shape), y.reshape(-1), flat)
    logp = _log_softmax(z)
    rows = np.arange(z.shape[0])
    loss = -float(logp[rows, y].sum()) / z.shape[0]
    np.exp(logp, out=grad)
    grad[rows, y] -= 1
    grad *= 1.0 / z.shape[0]
    return loss


LOSSES: dict[str, Callable[..., float]] = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
