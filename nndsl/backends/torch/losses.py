"""Losses on tensors, with the NumPy backend's definitions (nndsl.backends.numpy.losses).

Every function takes the model output `out` (logits for cross-entropies: fused with the
split-off sigmoid/softmax, so extreme values never give NaN) and prepared targets `y`,
and returns the mean loss over the batch as a 0-d tensor; autograd gives the gradient.
With `weight` (one per sample, or per position of a sequence: nndsl.ir.weighting), the
mean is that of weight * loss over the same values, as Keras weighs samples.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean of weight * values, the weights (per sample or position) broadcast over the
    values' trailing axes."""
    w = weight.reshape(weight.shape + (1,) * (values.dim() - weight.dim()))
    return (values * w).mean()


def mse(out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over all values of (out - y)**2."""
    if weight is None:
        return F.mse_loss(out, y)
    return _weighted_mean(F.mse_loss(out, y, reduction="none"), weight)


def mae(out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over all values of |out - y|."""
    if weight is None:
        return F.l1_loss(out, y)
    return _weighted_mean(F.l1_loss(out, y, reduction="none"), weight)


def huber(
    out: torch.Tensor, y: torch.Tensor, delta: float = 1.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """torch's HuberLoss: 0.5 r**2 for |r| <= delta, delta (|r| - delta/2) above."""
    if weight is None:
        return F.huber_loss(out, y, delta=delta)
    return _weighted_mean(F.huber_loss(out, y, delta=delta, reduction="none"), weight)


def binary_crossentropy(
    z: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """From logits z, mean over all values."""
    if weight is None:
        return F.binary_cross_entropy_with_logits(z, y)
    return _weighted_mean(F.binary_cross_entropy_with_logits(z, y, reduction="none"), weight)


def categorical_crossentropy(
    z: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """From logits z (..., classes) and target distributions y: -sum(y * log_softmax(z)),
    mean over rows."""
    rows = z.reshape(-1, z.shape[-1])
    if weight is None:
        return F.cross_entropy(rows, y.reshape(rows.shape))
    values = F.cross_entropy(rows, y.reshape(rows.shape), reduction="none")
    return _weighted_mean(values.reshape(z.shape[:-1]), weight)


def sparse_categorical_crossentropy(
    z: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """From logits z (rows, classes) and integer labels y (rows,); or z (rows, steps,
    classes) and y (rows, steps), the mean over every position (as Keras)."""
    if weight is not None:
        values = F.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1), reduction="none")
        return _weighted_mean(values.reshape(y.shape), weight)
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
