"""Metrics as (sum, count) over a batch, written with operations that numpy arrays and
torch tensors share, so both backends compute them the same way without a host sync."""

from __future__ import annotations

from typing import Any


def accuracy(logits: Any, probs: Any, y: Any, kind: str, from_logits: bool) -> tuple[Any, int]:
    if kind == "labels":  # one label per sample, or per position of a sequence
        return (logits.argmax(-1) == y).sum(), y.numel() if hasattr(y, "numel") else y.size
    units = logits.shape[-1]
    if units == 1 or kind == "binary":
        threshold = 0.0 if from_logits else 0.5
        hits = ((logits > threshold) == (y > 0.5)).sum()
        return hits, y.numel() if hasattr(y, "numel") else y.size
    return (logits.argmax(-1) == y.argmax(-1)).sum(), y.shape[0]


def mse(logits: Any, probs: Any, y: Any, kind: str, from_logits: bool) -> tuple[Any, int]:
    d = probs - _dense_targets(y, probs, kind)
    return (d * d).sum(), d.numel() if hasattr(d, "numel") else d.size


def mae(logits: Any, probs: Any, y: Any, kind: str, from_logits: bool) -> tuple[Any, int]:
    d = probs - _dense_targets(y, probs, kind)
    return abs(d).sum(), d.numel() if hasattr(d, "numel") else d.size


def _dense_targets(y: Any, probs: Any, kind: str) -> Any:
    if kind != "labels":
        return y
    onehot = probs * 0
    onehot[range(y.shape[0]), y] = 1
    return onehot


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae}
NEEDS_PROBS = {"mse", "mae"}
