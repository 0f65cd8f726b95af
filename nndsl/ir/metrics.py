"""Metrics as per-epoch sufficient statistics: each batch gives a few sums (hits and
samples, a confusion matrix, sums of errors and targets), written with operations that
numpy arrays and torch tensors share, so both backends compute them the same way with no
host sync; the engine adds them up over the epoch's batches (and over processes, by an
all-reduce) and `finish` turns the totals into the epoch's number on the host.

Rankings (ROC AUC, average precision) are no function of sums: those metrics keep the
batches' scores and labels (n numbers per sample) and score the whole epoch with
nndsl.ir.scores, which equals scikit-learn.

The names, documentation, the outputs each metric fits and whether higher is better are
declared once in nndsl.ir.catalog; this module computes them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir import scores
from nndsl.ir.catalog import CATALOGS
from nndsl.ir.signature import Spec

# float64 machine epsilon: MAPE's floor of |y|, as scikit-learn's
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class MetricInput:
    """One batch as a metric sees it: the output before its split-off activation
    (`logits`), after it (`probs`, None unless the metric `needs_probs`), the targets in
    the loss's form, their kind (nndsl.ir.targets.target_kind), whether `logits` are
    logits, and `wide(a)`: `a` in float64 on its device (sums of squares without
    cancellation)."""

    logits: Any
    probs: Any
    y: Any
    kind: str
    from_logits: bool
    wide: Callable[[Any], Any]


@dataclass(frozen=True)
class Metric:
    """`stats(batch, args)`: a tuple of device values (numbers or arrays), summed element
    by element over the epoch, or, where `keeps`, arrays of one row per sample that are
    joined instead; `finish(totals, kind, args)`: the epoch's value from the summed
    vector (float64, the tuple flattened in order), or from the joined arrays."""

    stats: Callable[[MetricInput, dict[str, Any]], tuple]
    finish: Callable[[Any, str, dict[str, Any]], float]
    needs_probs: bool = False
    keeps: bool = False


def _size(a: Any) -> int:
    return a.numel() if hasattr(a, "numel") else a.size


# ---------------------------------------------------------------- accuracy, mse, mae


def _accuracy(b: MetricInput, args: dict) -> tuple:
    logits, y = b.logits, b.y
    if b.kind == "labels":  # one label per sample, or per position of a sequence
        return (logits.argmax(-1) == y).sum(), _size(y)
    if logits.shape[-1] == 1 or b.kind == "binary":
        threshold = 0.0 if b.from_logits else 0.5
        return ((logits > threshold) == (y > 0.5)).sum(), _size(y)
    return (logits.argmax(-1) == y.argmax(-1)).sum(), y.shape[0]


def _mean(totals: np.ndarray, kind: str, args: dict) -> float:
    """sum / count (0 for no samples)."""
    return float(totals[0] / max(totals[1], 1))


def _dense_targets(y: Any, probs: Any, kind: str) -> Any:
    if kind != "labels":
        return y
    onehot = probs * 0
    onehot[range(y.shape[0]), y] = 1
    return onehot


def _mse(b: MetricInput, args: dict) -> tuple:
    d = b.probs - _dense_targets(b.y, b.probs, b.kind)
    return (d * d).sum(), _size(d)


def _mae(b: MetricInput, args: dict) -> tuple:
    d = b.probs - _dense_targets(b.y, b.probs, b.kind)
    return abs(d).sum(), _size(d)


# ---------------------------------------------------------------- confusion matrix


def _confusion(b: MetricInput, args: dict) -> tuple:
    """The batch's confusion counts (true class, predicted class), row-major: 2 x 2 for
    sigmoid units (every unit a sample: micro), k x k for k softmax classes."""
    logits, y = b.logits, b.y
    if b.kind == "binary" or logits.shape[-1] == 1:
        threshold = 0.0 if b.from_logits else 0.5
        p = (logits > threshold).reshape(-1) * 1.0
        t = (y > 0.5).reshape(-1) * 1.0
        return ((1 - t) * (1 - p)).sum(), ((1 - t) * p).sum(), (t * (1 - p)).sum(), (t * p).sum()
    k = logits.shape[-1]
    flat = logits.reshape(-1, k)
    true = y.reshape(-1) if b.kind == "labels" else y.reshape(-1, k).argmax(-1)
    return (_one_hot(true, flat).T @ _one_hot(flat.argmax(-1), flat),)


def _one_hot(index: Any, like: Any) -> Any:
    """(n, k) of `like`'s type: 1 at `index` in each row, else 0. The column numbers are
    made where `like` lies (a cumulative sum), so nothing is copied from the host."""
    columns = (like * 0 + 1).cumsum(-1) - 1
    return (columns == index[:, None]) * 1.0


def _averaged(which: int, average: str) -> Callable[[np.ndarray, str, dict], float]:
    """Precision (0), recall (1) or F1 (2) from the summed confusion counts, averaged as
    scikit-learn's `average=`: "binary" (class 1), "macro" (mean over the classes that
    occur as targets or predictions), "weighted" (by each class's targets); "auto" is
    binary for sigmoid units, macro for softmax classes."""

    def finish(totals: np.ndarray, kind: str, args: dict) -> float:
        k = int(round(len(totals) ** 0.5))
        cm = totals.reshape(k, k)
        how = average if average != "auto" else ("binary" if kind == "binary" else "macro")
        per_class = scores.per_class_from_confusion(cm)[which]
        if how == "binary":
            return float(per_class[1])
        support, predicted = cm.sum(axis=1), cm.sum(axis=0)
        if how == "weighted":
            return float(np.average(per_class, weights=support)) if support.sum() else 0.0
        present = (support + predicted) > 0
        return float(per_class[present].mean()) if present.any() else 0.0

    return finish


def _top_k(b: MetricInput, args: dict) -> tuple:
    """Samples whose class has fewer than k scores above it (ties: a higher class index
    ranks first, as scikit-learn's stable argsort read backwards)."""
    k = b.probs.shape[-1]
    s = b.probs.reshape(-1, k)
    true = b.y.reshape(-1) if b.kind == "labels" else b.y.reshape(-1, k).argmax(-1)
    hot = _one_hot(true, s)
    own = (s * hot).sum(-1)[:, None]
    after = hot.cumsum(-1) - hot  # 1 at the classes of a higher index than the true one
    rank = (s > own).sum(-1) + ((s == own) * after).sum(-1)
    return (rank < args["k"]).sum(), s.shape[0]


# ---------------------------------------------------------------- regression


def _columns(b: MetricInput) -> tuple[Any, Any]:
    """(targets, predictions) as (samples, columns) in float64."""
    n = b.probs.shape[0]
    return b.wide(b.y).reshape(n, -1), b.wide(b.probs).reshape(n, -1)


def _regression(b: MetricInput, args: dict) -> tuple:
    """Per column: samples, sum of squared errors, sum of targets, sum of their squares."""
    t, p = _columns(b)
    d = p - t
    return t.shape[0], (d * d).sum(0), t.sum(0), (t * t).sum(0)


def _split(totals: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    m = (len(totals) - 1) // 3
    return totals[0], totals[1 : 1 + m], totals[1 + m : 1 + 2 * m], totals[1 + 2 * m :]


def _rmse(totals: np.ndarray, kind: str, args: dict) -> float:
    """Mean over columns of each column's RMSE (scikit-learn's root_mean_squared_error)."""
    n, sse, _, _ = _split(totals)
    return float(np.mean(np.sqrt(sse / max(n, 1))))


def _r2(totals: np.ndarray, kind: str, args: dict) -> float:
    """1 - SSE / total sum of squares per column, averaged; a constant column scores 1
    when predicted exactly, else 0 (scikit-learn's force_finite); NaN below 2 samples."""
    n, sse, s1, s2 = _split(totals)
    if n < 2:
        return float("nan")
    total = np.maximum(s2 - s1 * s1 / n, 0.0)  # rounding may leave a constant's just below
    per_column = np.ones_like(sse)
    valid = (total > 0) & (sse != 0)
    per_column[valid] = 1 - sse[valid] / total[valid]
    per_column[(sse != 0) & (total <= 0)] = 0.0
    return float(per_column.mean())


def _mape(b: MetricInput, args: dict) -> tuple:
    t, p = _columns(b)
    return (abs(p - t) / abs(t).clip(min=_EPS)).sum(), _size(t)


# ---------------------------------------------------------------- rankings (kept scores)


def _kept_scores(b: MetricInput, args: dict) -> tuple:
    """(scores, labels) of the batch: the positive probability of every sigmoid unit
    (micro), or (samples, k) softmax probabilities and class labels."""
    probs, y = b.probs, b.y
    if b.kind == "binary" or probs.shape[-1] == 1:
        return probs.reshape(-1), (y > 0.5).reshape(-1) * 1
    k = probs.shape[-1]
    true = y.reshape(-1) if b.kind == "labels" else y.reshape(-1, k).argmax(-1)
    return probs.reshape(-1, k), true


def _ranking(score: Callable[[Any, Any], float]) -> Callable[[Any, str, dict], float]:
    def finish(kept: Sequence[np.ndarray], kind: str, args: dict) -> float:
        y_score, y_true = kept
        if len(y_true) == 0:
            return float("nan")
        try:
            return float(score(y_true.astype(np.int64), y_score.astype(np.float64)))
        except NNDSLError:  # a class of several never occurs: undefined, as one class
            return float("nan")

    return finish


METRICS: dict[str, Metric] = {
    "accuracy": Metric(_accuracy, _mean),
    "mse": Metric(_mse, _mean, needs_probs=True),
    "mae": Metric(_mae, _mean, needs_probs=True),
    "top_k_accuracy": Metric(_top_k, _mean, needs_probs=True),
    "rmse": Metric(_regression, _rmse, needs_probs=True),
    "r2": Metric(_regression, _r2, needs_probs=True),
    "mape": Metric(_mape, _mean, needs_probs=True),
    "auc": Metric(_kept_scores, _ranking(scores.roc_auc), needs_probs=True, keeps=True),
    "auc_pr": Metric(_kept_scores, _ranking(scores.average_precision), True, keeps=True),
}
for _which, _score in enumerate(("precision", "recall", "f1")):
    for _average in ("auto", "macro", "weighted"):
        _name = _score if _average == "auto" else f"{_score}_{_average}"
        METRICS[_name] = Metric(_confusion, _averaged(_which, _average))


# ---------------------------------------------------------------- names and columns
# A metric with arguments other than its defaults is reported under a name that says
# them: top_k_accuracy(k=3) is the column `top_3_accuracy`.
_TOP_K = re.compile(r"top_(\d+)_accuracy$")


def metric_key(spec: Spec) -> str:
    """The name `spec` (a bound metric) is reported under."""
    if spec.name == "top_k_accuracy" and spec.args.get("k", 5) != 5:
        return f"top_{spec.args['k']}_accuracy"
    return spec.name


def resolve(key: str) -> tuple[str, dict[str, Any]]:
    """(metric, arguments) of a name from `metric_key`."""
    found = _TOP_K.match(key)
    if found:
        return "top_k_accuracy", {"k": int(found.group(1))}
    if key not in METRICS:
        raise NNDSLError(f"unknown metric '{key}'", hint="one of: " + ", ".join(METRICS))
    defaults = {p.name: p.default for p in CATALOGS["metric"][key].params}
    return key, defaults


def higher_is_better(column: str) -> bool:
    """Whether a history column improves upwards, as its metric declares (`better` in
    nndsl.ir.catalog): `val_f1`, `label_auc`, `top_3_accuracy` up, losses and errors
    down; a column of no metric (a GAN's `d_acc`) up where it names an accuracy."""
    name = column.removeprefix("val_")
    for key in sorted(CATALOGS["metric"], key=len, reverse=True):
        if name == key or name.endswith("_" + key):  # `label_f1`: metric f1 of head label
            return CATALOGS["metric"][key].extra.get("better", "min") == "max"
    if _TOP_K.search(name):
        return True
    return "acc" in name


def monitor_mode(monitor: str, mode: str) -> str:
    """early_stop's (and a sweep's) "auto" made "min" or "max" by `higher_is_better`."""
    if mode != "auto":
        return mode
    return "max" if higher_is_better(monitor) else "min"
