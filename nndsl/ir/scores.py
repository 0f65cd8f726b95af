"""Scores over a whole set of predictions, in NumPy alone: each equals scikit-learn's
function of the same name (1.3 and later; checked in tests/ir/test_scores.py) with its
default arguments, so the pictures of a model (and, later, training metrics) need no
scikit-learn at run time.

Shapes accepted everywhere:
- `y_true`: class labels (n,) or (n, 1), or one-hot rows (n, k) (read by argmax);
- `y_pred` (a class per sample): labels as above, or scores (n, k) read by argmax, or the
  positive class's probability (n,) / (n, 1) read as `> 0.5` (a column of whole numbers
  is read as labels);
- `y_score` (ranking scores): (n,) or (n, 1) for the positive class of a binary problem,
  (n, 2) for both classes of one (column 1 is the positive one), (n, k) for k classes.

Conventions, scikit-learn's defaults:
- classes are the sorted union of the labels in `y_true` and `y_pred` unless `labels`
  names them (then absent classes count zero everywhere);
- a division by zero (precision of a class never predicted, recall of a class absent from
  `y_true`, F1 of both) gives 0 (`zero_division="warn"` without the warning), and these
  zeros count in macro and weighted averages;
- the ROC AUC of a binary `y_true` holding one class is NaN; for k classes it is the
  one-vs-rest macro average and needs every class in `y_true` (scikit-learn refuses
  otherwise; so does this). Unlike scikit-learn, rows of `y_score` need not sum to 1 (the
  score is a ranking per column either way);
- AUC-PR is average precision, the step-wise sum `sum_n (R_n - R_{n-1}) P_n` over the
  precision-recall curve's thresholds (scikit-learn's `average_precision_score`: no
  interpolation, not the trapezoidal area under the curve);
- several regression outputs (n, m): R², RMSE, MAE and MAPE are computed per column and
  averaged (`multioutput="uniform_average"`): RMSE is the mean of the columns' RMSEs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.errors import NNDSLError

# ------------------------------------------------------------------ shapes


def labels_of(y: Any) -> np.ndarray:
    """Class labels (n,) from labels (n,) / (n, 1), one-hot or scores (n, k), or the
    positive class's probability (n,) / (n, 1) (`> 0.5`)."""
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] > 1:
        return a.argmax(axis=1)
    a = a.reshape(len(a)) if a.ndim == 2 else a
    if a.ndim != 1:
        raise NNDSLError(f"class labels of shape {a.shape}: expected (n,), (n, 1) or (n, k)")
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    if a.dtype.kind == "f" and np.all(np.mod(a, 1) == 0):
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        return (a > 0.5).astype(np.int64)
    return a  # strings: compared as they are


def _binary_scores(y_score: Any) -> np.ndarray:
    """The positive class's scores (n,) of a binary problem."""
    s = np.asarray(y_score, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 2:
        return s[:, 1]
    if s.ndim == 2 and s.shape[1] == 1:
        return s[:, 0]
    if s.ndim != 1:
        raise NNDSLError(
            f"scores of shape {s.shape} for a binary problem: expected (n,), (n, 1) or (n, 2)"
        )
    return s


def _classes(y_true: np.ndarray, y_pred: np.ndarray, labels: Any) -> np.ndarray:
    if labels is not None:
        return np.asarray(labels)
    return np.union1d(y_true, y_pred)


def _index_in(classes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The position of each value in `classes` (in any order), -1 where it is not there."""
    order = np.argsort(classes, kind="stable")
    ordered = classes[order]
    at = np.clip(np.searchsorted(ordered, values), 0, max(len(classes) - 1, 0))
    found = ordered[at] == values if len(classes) else np.zeros(len(values), bool)
    return np.where(found, order[at], -1)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division default)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


# ------------------------------------------------------------------ labels against labels


def confusion_matrix(
    y_true: Any, y_pred: Any, labels: Any = None, normalize: str | None = None
) -> np.ndarray:
    """(k, k): row i = true class i, column j = predicted class j (counts, int64), or with
    `normalize="true"` each row divided by its count (rows of an absent class: zeros)."""
    t, p = labels_of(y_true), labels_of(y_pred)
    classes = _classes(t, p, labels)
    k = len(classes)
    ti, pi = _index_in(classes, t), _index_in(classes, p)
    keep = (ti >= 0) & (pi >= 0)  # samples of a class not in `labels` are left out
    cm = np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k).astype(np.int64)
    if normalize is None:
        return cm
    if normalize != "true":
        raise NNDSLError(f"normalize={normalize!r}: only 'true' (by row) is supported")
    return _divide(cm, cm.sum(axis=1, keepdims=True))


def per_class_scores(
    y_true: Any, y_pred: Any, labels: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, f1, support), one entry per class (sklearn's
    `precision_recall_fscore_support(average=None)`)."""
    t, p = labels_of(y_true), labels_of(y_pred)
    chosen = _classes(t, p, labels)
    # every sample counts towards the predicted and true totals, also those of classes
    # left out of `labels` (a class predicted wrongly still costs precision)
    every = np.concatenate([chosen, np.setdiff1d(np.union1d(t, p), chosen)])
    n = len(chosen)
    prec, rec, f1, support = per_class_from_confusion(confusion_matrix(t, p, every))
    return prec[:n], rec[:n], f1[:n], support[:n]


def per_class_from_confusion(
    cm: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, f1, support) of each class of a confusion matrix (rows: true
    classes; counts, perhaps summed as floats over batches)."""
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    f1 = _divide(2 * tp, predicted + support)  # = 2PR/(P+R) without its 0/0 cases
    return _divide(tp, predicted), _divide(tp, support), f1, support


def _averaged(y_true: Any, y_pred: Any, which: int, average: str, pos_label: Any) -> float:
    if average == "binary":
        t, p = labels_of(y_true), labels_of(y_pred)
        present = np.union1d(t, p)
        if len(present) > 2:
            raise NNDSLError(
                f"average='binary' on {len(present)} classes",
                hint="choose average='macro' or 'weighted'",
            )
        if pos_label not in present and len(present) == 2:
            raise NNDSLError(f"pos_label={pos_label!r} is not one of the labels {present}")
        return float(per_class_scores(t, p, [pos_label])[which][0])
    scores = per_class_scores(y_true, y_pred)
    if average == "macro":
        return float(np.mean(scores[which]))
    if average == "weighted":
        support = scores[3]
        return float(np.average(scores[which], weights=support)) if support.sum() else 0.0
    raise NNDSLError(f"average={average!r}", hint="one of 'binary', 'macro', 'weighted'")


def precision(y_true: Any, y_pred: Any, average: str = "binary", pos_label: Any = 1) -> float:
    return _averaged(y_true, y_pred, 0, average, pos_label)


def recall(y_true: Any, y_pred: Any, average: str = "binary", pos_label: Any = 1) -> float:
    return _averaged(y_true, y_pred, 1, average, pos_label)


def f1(y_true: Any, y_pred: Any, average: str = "binary", pos_label: Any = 1) -> float:
    return _averaged(y_true, y_pred, 2, average, pos_label)


def accuracy(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(labels_of(y_true) == labels_of(y_pred)))


# ------------------------------------------------------------------ ranking scores


def _counts_at_thresholds(
    y_true: Any, y_score: Any, pos_label: Any = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positives, true positives, threshold), one per distinct score, highest
    first: the counts of predicting positive for scores >= threshold."""
    t = labels_of(y_true) == pos_label
    s = _binary_scores(y_score)
    if len(t) != len(s):
        raise NNDSLError(f"{len(t)} targets but {len(s)} scores")
    if not np.all(np.isfinite(s)):
        raise NNDSLError("the scores hold NaN or infinity")
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last of each tied group
    tps = np.cumsum(t, dtype=np.float64)[ends]
    return 1 + ends - tps, tps, s[ends]


def roc_curve(
    y_true: Any, y_score: Any, pos_label: Any = 1, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, thresholds) from (0, 0) at threshold
    +inf; points on a straight segment dropped as sklearn does. A rate with no samples
    to count against (no negatives, or no positives) is NaN."""
    fps, tps, thresholds = _counts_at_thresholds(y_true, y_score, pos_label)
    if drop_intermediate and len(fps) > 2:
        corner = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def _binary_roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    if len(np.unique(y_true)) != 2:
        return float("nan")  # one class: undefined (sklearn warns and gives NaN)
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return _trapezoid(tpr, fpr)


def _one_vs_rest(y_true: Any, y_score: Any, score: Any, what: str) -> float:
    """The macro average of `score(is class c, scores of c)` over the k columns of
    y_score; every class must occur in y_true."""
    s = np.asarray(y_score, dtype=np.float64)
    t = labels_of(y_true)
    k = s.shape[1]
    absent = sorted(set(range(k)) - set(np.unique(t).tolist()))
    if absent:
        raise NNDSLError(
            f"{what} of {k} classes needs every class in y_true; class {absent[0]} never occurs",
            hint="compute it per class (one against the rest) for the classes present",
        )
    return float(np.mean([score((t == c).astype(np.int64), s[:, c]) for c in range(k)]))


def _is_binary(y_score: Any) -> bool:
    s = np.asarray(y_score)
    return s.ndim == 1 or s.shape[1] <= 2


def roc_auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve (trapezoids). Binary: of the positive class's scores;
    k > 2 columns: one-vs-rest, macro average."""
    if _is_binary(y_score):
        return _binary_roc_auc(labels_of(y_true), y_score)
    return _one_vs_rest(y_true, y_score, _binary_roc_auc, "ROC AUC")


def precision_recall_curve(
    y_true: Any, y_score: Any, pos_label: Any = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) by increasing threshold, ending at (1, 0) with no
    threshold, as sklearn's. No positives: recall is 1 everywhere."""
    fps, tps, thresholds = _counts_at_thresholds(y_true, y_score, pos_label)
    prec = _divide(tps, tps + fps)
    rec = tps / tps[-1] if tps[-1] != 0 else np.ones_like(tps)
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thresholds[::-1]


def _binary_average_precision(y_true: Any, y_score: Any) -> float:
    prec, rec, _ = precision_recall_curve(y_true, y_score)
    return float(max(0.0, -np.sum(np.diff(rec) * prec[:-1])))


def average_precision(y_true: Any, y_score: Any) -> float:
    """AUC-PR as average precision (see the module's docstring). k > 2 columns:
    one-vs-rest, macro average."""
    if _is_binary(y_score):
        return _binary_average_precision(labels_of(y_true), y_score)
    return _one_vs_rest(y_true, y_score, _binary_average_precision, "average precision")


def calibration_curve(y_true: Any, y_prob: Any, n_bins: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of positives, mean predicted probability) per non-empty bin of n_bins
    uniform bins over [0, 1] (sklearn's `calibration_curve(strategy="uniform")`)."""
    t = labels_of(y_true)
    p = _binary_scores(y_prob)
    if p.min() < 0 or p.max() > 1:
        raise NNDSLError("calibration needs probabilities in [0, 1]")
    if len(np.unique(t)) > 2:
        raise NNDSLError("a calibration curve is for two classes (or one class against the rest)")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], p)
    total = np.bincount(bins, minlength=n_bins)
    positives = np.bincount(bins, weights=(t == 1).astype(np.float64), minlength=n_bins)
    sums = np.bincount(bins, weights=p, minlength=n_bins)
    used = total != 0
    return positives[used] / total[used], sums[used] / total[used]


def top_k_accuracy(y_true: Any, y_score: Any, k: int = 2) -> float:
    """Fraction of samples whose class is among the k highest scores (ties: the higher
    class index first, as sklearn's). y_score (n, classes); classes are 0..classes-1."""
    s = np.asarray(y_score, dtype=np.float64)
    t = labels_of(y_true)
    if s.ndim == 1 or s.shape[1] == 1:  # binary: k >= 2 always hits
        if k > 1:
            return 1.0
        s = s.reshape(len(s))
        threshold = 0.5 if s.min() >= 0 and s.max() <= 1 else 0.0
        return float(np.mean((s > threshold).astype(np.int64) == t))
    top = np.argsort(s, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return float(np.mean((top == t[:, None]).any(axis=1)))


# ------------------------------------------------------------------ regression


def _columns(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    t = t.reshape(len(t), -1)
    p = p.reshape(len(p), -1)
    if t.shape != p.shape:
        raise NNDSLError(f"targets of shape {t.shape} against predictions of shape {p.shape}")
    return t, p


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination, per column then averaged. A constant column scores 1
    when predicted exactly, else 0 (sklearn's `force_finite=True`)."""
    t, p = _columns(y_true, y_pred)
    if len(t) < 2:
        return float("nan")  # undefined for one sample (sklearn warns and gives NaN)
    residual = ((t - p) ** 2).sum(axis=0)
    total = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.ones(t.shape[1])
    valid = (total != 0) & (residual != 0)
    scores[valid] = 1 - residual[valid] / total[valid]
    scores[(residual != 0) & (total == 0)] = 0.0
    return float(np.mean(scores))


def rmse(y_true: Any, y_pred: Any) -> float:
    t, p = _columns(y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((t - p) ** 2, axis=0))))


def mae(y_true: Any, y_pred: Any) -> float:
    t, p = _columns(y_true, y_pred)
    return float(np.mean(np.mean(np.abs(t - p), axis=0)))


def mape(y_true: Any, y_pred: Any) -> float:
    """Mean of |error| / max(|y|, eps) with eps the float64 machine epsilon: a fraction
    (0.1 is 10%), huge where y is 0, as sklearn's `mean_absolute_percentage_error`."""
    t, p = _columns(y_true, y_pred)
    ratio = np.abs(p - t) / np.maximum(np.abs(t), np.finfo(np.float64).eps)
    return float(np.mean(np.mean(ratio, axis=0)))
