"""Targets as each loss wants them, checked with clear messages (below the backends and
the trainer, which both use them).

Accepted as in Keras: (n,) or (n, 1) for a one-unit output, integer labels for sparse
cross-entropy, one-hot rows for categorical cross-entropy (integer labels are one-hot
encoded for it too).
"""

from __future__ import annotations

import math

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.signature import CATALOGS


def target_kind(loss: str) -> str:
    """values | binary | one_hot | labels"""
    return CATALOGS["loss"][loss].extra["target"]


def _is_integral(y: np.ndarray) -> bool:
    return y.dtype.kind in "iub" or (y.dtype.kind == "f" and bool(np.all(np.mod(y, 1) == 0)))


def prepare_targets(y, loss: str, out_shape: tuple[int, ...], dtype: str) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind not in "iubf":
        raise NNDSLError(f"targets must be numbers, got an array of {y.dtype}")
    if y.ndim == 0:
        raise NNDSLError("targets must have one row per sample, got a single number")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        row = int(np.argwhere(~np.isfinite(y))[0][0])
        raise NNDSLError(f"targets contain NaN or Inf (first at row {row})")
    n = y.shape[0]
    units = out_shape[-1] if out_shape else 1
    kind = target_kind(loss)
    if kind == "labels" and len(out_shape) > 1:
        return _sequence_labels(y, loss, out_shape)
    if kind == "labels":
        labels = y.reshape(n, -1)
        if labels.shape[1] != 1 or len(out_shape) != 1:
            raise NNDSLError(
                f"{loss} wants one integer class label per sample, got targets of shape {y.shape}",
                hint="for one-hot rows use categorical_crossentropy",
            )
        if not _is_integral(labels):
            raise NNDSLError(f"{loss} wants integer class labels, got fractional values")
        labels = labels[:, 0].astype(np.int64)
        _check_label_range(labels, units, loss)
        return labels
    if (
        kind == "one_hot"
        and len(out_shape) == 1
        and (y.ndim == 1 or y.shape[1:] == (1,))
        and units > 1
    ):
        if not _is_integral(y):
            raise NNDSLError(
                f"{loss} wants one-hot rows or integer labels, got fractional single values"
            )
        labels = y.reshape(n).astype(np.int64)
        _check_label_range(labels, units, loss)
        onehot = np.zeros((n, units), dtype=dtype)
        onehot[np.arange(n), labels] = 1
        return onehot
    want = (n, *out_shape)
    if y.shape != want:
        if math.prod(y.shape[1:]) == math.prod(out_shape) and (y.ndim == 1 or units == 1):
            y = y.reshape(want)
        else:
            raise NNDSLError(
                f"targets have shape {y.shape}, but the model's output is {('batch', *out_shape)}",
                hint=_shape_hint(loss, units, y),
            )
    if kind == "binary" and (y.min() < 0 or y.max() > 1):
        raise NNDSLError(
            f"{loss} wants targets between 0 and 1, got values from {y.min():g} to {y.max():g}",
            hint="for several classes use sparse_categorical_crossentropy",
        )
    return y.astype(dtype, copy=False)


def first_bad_target(
    y: np.ndarray, loss: str, out_shape: tuple[int, ...]
) -> tuple[int, int, str, str | None] | None:
    """(row, column, problem, hint) of the first target value `loss` cannot take, in the
    order given (before any split or shuffle, so a data file can say where it is), or
    None. Class labels must be whole numbers in range; binary targets within [0, 1]."""
    y = np.asarray(y)
    if y.dtype.kind not in "iubf" or y.ndim == 0 or y.size == 0:
        return None  # prepare_targets explains these
    units = out_shape[-1] if out_shape else 1
    kind = target_kind(loss)
    table = y.reshape(len(y), -1)
    if kind == "labels" or (kind == "one_hot" and table.shape[1] == 1 and units > 1):
        if table.shape[1] != 1:
            return None
        values = table[:, 0]
        whole = values == np.floor(values)
        bad = ~whole | (values < 0) | (values >= units)
        if not bad.any():
            return None
        first = int(np.argmax(bad))
        value = values[first]
        if not whole[first]:
            return first, 0, f"{loss} wants whole class labels, got {value:g}", None
        return (
            first,
            0,
            f"class label {value:g} is out of range for {units} output units: "
            f"labels must be 0..{units - 1}",
            f"the output layer needs one unit per class for {loss}",
        )
    if kind == "binary":
        bad = np.argwhere((table < 0) | (table > 1))
        if len(bad):
            row, col = (int(i) for i in bad[0])
            return (
                row,
                col,
                f"{loss} wants targets between 0 and 1, got {table[row, col]:g}",
                "for several classes use sparse_categorical_crossentropy",
            )
    return None


def _sequence_labels(y: np.ndarray, loss: str, out_shape: tuple[int, ...]) -> np.ndarray:
    """Integer labels for every position of a sequence output: out_shape (steps, classes)
    takes targets (n, steps), one class id per position (a language model's next tokens)."""
    want = (y.shape[0], *out_shape[:-1])
    if y.shape != want:
        raise NNDSLError(
            f"{loss} on an output of shape {('batch', *out_shape)} wants one class label per "
            f"position, targets of shape {want}, got {y.shape}",
            hint="e.g. the next token at each position of a context window",
        )
    if not _is_integral(y):
        raise NNDSLError(f"{loss} wants integer class labels, got fractional values")
    labels = y.astype(np.int64)
    _check_label_range(labels.reshape(-1), out_shape[-1], loss)
    return labels


def _check_label_range(labels: np.ndarray, units: int, loss: str) -> None:
    bad = np.flatnonzero((labels < 0) | (labels >= units))
    if bad.size:
        row = int(bad[0])
        raise NNDSLError(
            f"class label {labels[row]} (row {row}) is out of range for {units} "
            f"output units: labels must be 0..{units - 1}",
            hint=f"the output layer needs one unit per class for {loss}",
        )


def _shape_hint(loss: str, units: int, y: np.ndarray) -> str | None:
    if units > 1 and y.ndim == 1:
        return "integer labels need sparse_categorical_crossentropy"
    return None


def head_targets(y, heads: list, graph, dtype: str) -> list[np.ndarray]:
    """One prepared target array per head (nndsl.ir.plan.Head), from a dict {output:
    array}, a list in the heads' order, or — for several one-column targets, as a CSV's
    target columns come — a 2-D array with one column per output in declared order."""
    names = [h.output for h in heads]
    if isinstance(y, dict):
        unknown = [k for k in y if k not in names]
        if unknown:
            raise NNDSLError(
                f"targets for '{unknown[0]}', which is not an output of the model",
                hint="outputs: " + ", ".join(names),
            )
        missing = [n for n in names if n not in y]
        if missing:
            raise NNDSLError(
                f"no targets for output '{missing[0]}'", hint="outputs: " + ", ".join(names)
            )
        parts = [y[n] for n in names]
    elif isinstance(y, (list, tuple)) and len(heads) > 1:
        if len(y) != len(heads):
            raise NNDSLError(
                f"this model has {len(heads)} outputs, but {len(y)} target arrays were given",
                hint="pass a dict {output: targets}; outputs: " + ", ".join(names),
            )
        parts = list(y)
    elif len(heads) == 1:
        parts = [y]
    else:
        a = np.asarray(y)
        if a.ndim != 2 or a.shape[1] != len(heads):
            raise NNDSLError(
                f"this model has {len(heads)} outputs; pass targets as a dict {{output: array}}",
                hint="outputs: " + ", ".join(names),
            )
        parts = [a[:, j] for j in range(len(heads))]
    out = []
    for head, part in zip(heads, parts):
        try:
            out.append(prepare_targets(part, head.loss.name, graph[head.output].shape, dtype))
        except NNDSLError as e:
            if len(heads) == 1:
                raise
            raise NNDSLError(f"targets of '{head.output}': {e.message}", hint=e.hint) from None
    return out
