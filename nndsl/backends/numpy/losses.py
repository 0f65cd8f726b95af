"""Losses with their gradients. Cross-entropies take logits (fused with the output's
sigmoid/softmax), so extreme values never produce NaN or Inf.

Every function takes the model output `out` (logits for cross-entropies) and prepared
targets `y` (see nndsl.ir.targets), returns the mean loss over the batch and writes
dLoss/dout into `grad`. With `weight` (one per sample, or per position of a sequence:
nndsl.ir.weighting), the mean is that of weight * loss over the same values (Keras'
sample weighting: divided by their number, not by the weights' sum).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _spread(weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Weights per sample (or position), broadcastable against values of `shape`."""
    return weight.reshape(weight.shape + (1,) * (len(shape) - weight.ndim))


def mse(out, y, grad, weight=None, **_):
    np.subtract(out, y, out=grad)
    if weight is None:
        loss = float(np.vdot(grad, grad)) / grad.size
    else:
        w = _spread(weight, grad.shape)
        loss = float((w * grad * grad).sum()) / grad.size
        grad *= w
    grad *= 2.0 / grad.size
    return loss


def mae(out, y, grad, weight=None, **_):
    np.subtract(out, y, out=grad)
    w = _spread(weight, grad.shape) if weight is not None else 1.0
    loss = float((w * np.abs(grad)).sum()) / grad.size
    np.sign(grad, out=grad)
    grad *= w / grad.size
    return loss


def huber(out, y, grad, delta=1.0, weight=None, **_):
    np.subtract(out, y, out=grad)
    w = _spread(weight, grad.shape) if weight is not None else 1.0
    r = np.abs(grad)
    small = r <= delta
    values = np.where(small, 0.5 * r * r, delta * (r - 0.5 * delta))
    loss = float((w * values).sum()) / grad.size
    np.clip(grad, -delta, delta, out=grad)
    grad *= w / grad.size
    return loss


def binary_crossentropy(z, y, grad, weight=None, **_):
    """From logits z: max(z, 0) - z*y + log(1 + exp(-|z|)), mean over all values."""
    e = np.exp(-np.abs(z))
    w = _spread(weight, z.shape) if weight is not None else 1.0
    loss = float((w * (np.maximum(z, 0) - z * y + np.log1p(e))).sum()) / z.size
    # sigmoid(z) from e, stable for any z
    np.add(e, 1, out=grad)
    np.reciprocal(grad, out=grad)
    np.copyto(grad, e * grad, where=z < 0)
    grad -= y
    grad *= w / z.size
    return loss


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def categorical_crossentropy(z, y, grad, weight=None, **_):
    """From logits z and target distributions y: -sum(y * log_softmax(z)), mean over rows."""
    logp = _log_softmax(z)
    rows = z.size // z.shape[-1]
    if weight is None:
        loss = float(-np.vdot(y, logp)) / rows
    else:  # a weight per row (a sample, or a position of a sequence)
        loss = float(-(weight * (y * logp).sum(axis=-1)).sum()) / rows
    np.exp(logp, out=grad)
    grad *= y.sum(axis=-1, keepdims=True)
    grad -= y
    grad *= (_spread(weight, z.shape) if weight is not None else 1.0) / rows
    return loss


def sparse_categorical_crossentropy(z, y, grad, weight=None, **_):
    """From logits z (rows, classes) and integer labels y (rows,); or z (rows, steps,
    classes) and y (rows, steps), the mean over every position (as Keras)."""
    if z.ndim > 2:  # a label per position: the same loss over the flattened positions
        flat = grad.reshape(-1, z.shape[-1])  # a view: written in place
        if weight is not None:  # one per sample, or one per position
            weight = np.broadcast_to(_spread(weight, y.shape), y.shape).reshape(-1)
        return sparse_categorical_crossentropy(
            z.reshape(flat.shape), y.reshape(-1), flat, weight=weight
        )
    logp = _log_softmax(z)
    rows = np.arange(z.shape[0])
    picked = logp[rows, y]
    loss = -float((picked if weight is None else weight * picked).sum()) / z.shape[0]
    np.exp(logp, out=grad)
    grad[rows, y] -= 1
    grad *= (weight[:, None] if weight is not None else 1.0) / z.shape[0]
    return loss


LOSSES: dict[str, Callable[..., float]] = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
