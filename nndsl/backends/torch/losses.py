"""Losses on tensors, with the NumPy backend's definitions (nndsl.backends.numpy.losses).

Every function takes the model output `out` (logits for cross-entropies: fused with the
split-off sigmoid/softmax, so extreme values never give NaN) and prepared targets `y`,
and returns the mean loss over the batch as a 0-d tensor; autograd gives the gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over all values of (out - y)**2."""
    return F.mse_loss(out, y)


def mae(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over all values of |out - y|."""
    return F.l1_loss(out, y)


def huber(out: torch.Tensor, y: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """torch's HuberLoss: 0.5 r**2 for |r| <= delta, delta (|r| - delta/2) above."""
    return F.huber_loss(out, y, delta=delta)


def binary_crossentropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """From logits z, mean over all values."""
    return F.binary_cross_entropy_with_logits(z, y)


def categorical_crossentropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """From logits z (..., classes) and target distributions y: -sum(y * log_softmax(z)),
    mean over rows."""
    rows = z.reshape(-1, z.shape[-1])
    return F.cross_entropy(rows, y.reshape(rows.shape))


def sparse_categorical_crossentropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """From logits z (rows, classes) and integer labels y (rows,); or z (rows, steps,
    classes) and y (rows, steps), the mean over every position (as Keras)."""
    if z.dim() > 2:
        return F.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1))
    return F.cross_entropy(z, y)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
