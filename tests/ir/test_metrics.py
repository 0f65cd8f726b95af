"""Every training metric (nndsl.ir.metrics) equals scikit-learn's function on the same
predictions, however the epoch is cut into batches, on NumPy arrays and torch tensors
alike; hostile epochs too: a class never predicted, one class only, ties, one sample.

The epoch is run as an engine runs it: each batch's statistics summed (or, for the
rankings, its rows joined), then `finish`ed."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from nndsl.ir.catalog import CATALOGS
from nndsl.ir.metrics import METRICS, MetricInput, higher_is_better, monitor_mode, resolve

sk = pytest.importorskip("sklearn.metrics")

CUTS = {"one batch": [None], "uneven batches": [7, 1, 30, 2], "batches of one": [1]}


def batches(n: int, cut: list[int | None]) -> list[slice]:
    """Slices of n rows: `[None]` one batch, else sizes repeated (the last one short)."""
    if cut == [None]:
        return [slice(0, n)]
    out, start, i = [], 0, 0
    while start < n:
        stop = min(start + cut[i % len(cut)], n)
        out.append(slice(start, stop))
        start, i = stop, i + 1
    return out


def epoch_value(key, logits, probs, y, kind, from_logits, cut, to=np.asarray) -> float:
    """The epoch's value of metric `key`, its batches computed on arrays made by `to`."""
    name, args = resolve(key)
    metric = METRICS[name]
    wide = (lambda a: a.double()) if to is not np.asarray else (lambda a: a.astype(np.float64))
    parts = []
    for s in batches(len(y), cut):
        batch = MetricInput(
            to(logits[s]), to(probs[s]) if probs is not None else None, to(y[s]), kind,
            from_logits, wide,
        )  # fmt: skip
        parts.append(metric.stats(batch, args))
    if metric.keeps:
        kept = [np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(len(parts[0]))]
        return metric.finish(kept, kind, args)
    flat = [np.concatenate([np.asarray(v, np.float64).reshape(-1) for v in p]) for p in parts]
    return metric.finish(np.sum(flat, axis=0), kind, args)


def torch_tensor() -> Callable:
    torch = pytest.importorskip("torch")
    return lambda a: torch.as_tensor(np.array(a))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------ classification


def binary_case(seed: int, n: int = 61, rate: float = 0.4):
    """One sigmoid unit: (logits (n, 1), probabilities, targets 0/1 (n, 1) float)."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 1)) < rate).astype(np.float32)
    logits = (rng.normal(size=(n, 1)) + 1.5 * (y - 0.5)).astype(np.float32)
    return logits, 1 / (1 + np.exp(-logits)), y


def multiclass_case(seed: int, n: int = 73, k: int = 5, ties: bool = False):
    """k softmax classes: (logits, probabilities, labels (n,) int)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.2 * np.eye(k)[y]
    if ties:  # scores rounded to a few values: many ties among classes and samples
        logits = np.round(logits)
    logits = logits.astype(np.float32)
    return logits, softmax(logits.astype(np.float64)).astype(np.float32), y


BINARY_SCORES = {
    "precision": lambda t, p, s: sk.precision_score(t, p, zero_division=0),
    "recall": lambda t, p, s: sk.recall_score(t, p, zero_division=0),
    "f1": lambda t, p, s: sk.f1_score(t, p, zero_division=0),
    "precision_macro": lambda t, p, s: sk.precision_score(t, p, average="macro", zero_division=0),
    "recall_macro": lambda t, p, s: sk.recall_score(t, p, average="macro", zero_division=0),
    "f1_macro": lambda t, p, s: sk.f1_score(t, p, average="macro", zero_division=0),
    "precision_weighted": lambda t, p, s: sk.precision_score(
        t, p, average="weighted", zero_division=0
    ),
    "recall_weighted": lambda t, p, s: sk.recall_score(t, p, average="weighted", zero_division=0),
    "f1_weighted": lambda t, p, s: sk.f1_score(t, p, average="weighted", zero_division=0),
    "accuracy": lambda t, p, s: sk.accuracy_score(t, p),
    "auc": lambda t, p, s: sk.roc_auc_score(t, s),
    "auc_pr": lambda t, p, s: sk.average_precision_score(t, s),
}


def multiclass_scores(k: int) -> dict[str, Callable]:
    labels = list(range(k))
    return {
        "precision": lambda t, p, s: sk.precision_score(t, p, average="macro", zero_division=0),
        "recall": lambda t, p, s: sk.recall_score(t, p, average="macro", zero_division=0),
        "f1": lambda t, p, s: sk.f1_score(t, p, average="macro", zero_division=0),
        "f1_macro": lambda t, p, s: sk.f1_score(t, p, average="macro", zero_division=0),
        "precision_weighted": lambda t, p, s: sk.precision_score(
            t, p, average="weighted", zero_division=0
        ),
        "recall_weighted": lambda t, p, s: sk.recall_score(
            t, p, average="weighted", zero_division=0
        ),
        "f1_weighted": lambda t, p, s: sk.f1_score(t, p, average="weighted", zero_division=0),
        "accuracy": lambda t, p, s: sk.accuracy_score(t, p),
        "auc": lambda t, p, s: sk.roc_auc_score(t, s, multi_class="ovr", labels=labels),
        "auc_pr": lambda t, p, s: sk.average_precision_score(np.eye(k)[t], s, average="macro"),
        "top_k_accuracy": lambda t, p, s: sk.top_k_accuracy_score(t, s, k=5, labels=labels),
        "top_2_accuracy": lambda t, p, s: sk.top_k_accuracy_score(t, s, k=2, labels=labels),
        "top_1_accuracy": lambda t, p, s: sk.top_k_accuracy_score(t, s, k=1, labels=labels),
    }


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("key", list(BINARY_SCORES))
@pytest.mark.parametrize("seed", [0, 1])
def test_binary_metrics_equal_sklearn(key: str, cut: str, seed: int) -> None:
    logits, probs, y = binary_case(seed)
    t, p = y.ravel().astype(int), (logits.ravel() > 0).astype(int)
    expected = BINARY_SCORES[key](t, p, probs.ravel().astype(np.float64))
    got = epoch_value(key, logits, probs, y, "binary", True, CUTS[cut])
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("key", list(multiclass_scores(5)))
def test_multiclass_metrics_equal_sklearn(key: str, ties: bool, cut: str) -> None:
    k = 5 if key != "top_k_accuracy" else 7  # k=5 of 5 classes would always hit
    logits, probs, y = multiclass_case(3, k=k, ties=ties)
    # predictions and rankings read from the probabilities scikit-learn is given
    expected = multiclass_scores(k)[key](y, probs.argmax(1), probs.astype(np.float64))
    for kind, target in (("labels", y), ("one_hot", np.eye(k, dtype=np.float32)[y])):
        got = epoch_value(key, probs, probs, target, kind, False, CUTS[cut])
        assert got == pytest.approx(expected, abs=1e-12), kind


def test_ties_in_top_k_rank_the_higher_class_first() -> None:
    """Scores all equal: sklearn ranks the classes by descending index."""
    probs = np.full((4, 4), 0.25, dtype=np.float32)
    y = np.array([0, 1, 2, 3])
    for k in (1, 2, 3):
        expected = sk.top_k_accuracy_score(y, probs, k=k, labels=range(4))
        got = epoch_value(f"top_{k}_accuracy", probs, probs, y, "labels", False, [1])
        assert got == pytest.approx(expected) == k / 4


def test_a_class_never_predicted_scores_zero() -> None:
    """Class 2 is a target but never predicted, class 3 neither: precision 0 for 2
    (zero_division=0), and class 3 left out of the macro mean, as sklearn's."""
    y = np.array([0, 1, 2, 2, 0, 1])
    pred = np.array([0, 1, 0, 1, 0, 1])
    logits = np.eye(4, dtype=np.float32)[pred]
    for key, average in (("precision", "macro"), ("recall_weighted", "weighted")):
        fn = sk.precision_score if key.startswith("precision") else sk.recall_score
        expected = fn(y, pred, average=average, zero_division=0)
        assert epoch_value(key, logits, logits, y, "labels", False, [2]) == pytest.approx(expected)
    expected = sk.f1_score(y, pred, average="macro", zero_division=0)
    assert epoch_value("f1_macro", logits, logits, y, "labels", False, [None]) == pytest.approx(
        expected
    )


def test_binary_with_no_positive_predicted_or_present() -> None:
    logits = -np.ones((9, 1), dtype=np.float32)  # everything predicted negative
    probs = 1 / (1 + np.exp(-logits))
    for y in (np.zeros((9, 1), np.float32), np.eye(9, 1, dtype=np.float32)):
        t, p = y.ravel(), np.zeros(9)
        for key in ("precision", "recall", "f1", "f1_macro", "f1_weighted"):
            expected = BINARY_SCORES[key](t, p, None)
            got = epoch_value(key, logits, probs, y, "binary", True, [4])
            assert got == pytest.approx(expected, abs=1e-12), (key, y.sum())


def test_one_class_only_makes_auc_nan_like_sklearn() -> None:
    logits, probs, _ = binary_case(0, n=10)
    y = np.ones((10, 1), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sk.roc_auc_score(y.ravel(), probs.ravel())
    assert math.isnan(expected)
    assert math.isnan(epoch_value("auc", logits, probs, y, "binary", True, [3]))
    # average precision of only positives is 1 (sklearn's too)
    ap = epoch_value("auc_pr", logits, probs, y, "binary", True, [3])
    assert ap == pytest.approx(sk.average_precision_score(y.ravel(), probs.ravel()))
    # several classes with one absent from the targets: undefined, NaN (sklearn given the
    # output's classes as `labels` says NaN too; without them it refuses)
    logits, probs, y = multiclass_case(0, k=4)
    y = np.where(y == 3, 0, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(sk.roc_auc_score(y, probs, multi_class="ovr", labels=range(4)))
    assert math.isnan(epoch_value("auc", probs, probs, y, "labels", False, [None]))


def test_labels_per_sequence_position_count_every_position() -> None:
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(6, 4, 3)).astype(np.float32)
    y = rng.integers(0, 3, (6, 4))
    flat_p, flat_t = logits.reshape(-1, 3).argmax(1), y.reshape(-1)
    expected = sk.f1_score(flat_t, flat_p, average="weighted", zero_division=0)
    assert epoch_value("f1_weighted", logits, None, y, "labels", True, [4]) == pytest.approx(
        expected
    )


# ------------------------------------------------------------------ regression

REGRESSION = {
    "r2": sk.r2_score,
    "rmse": lambda t, p: sk.root_mean_squared_error(t, p),
    "mape": sk.mean_absolute_percentage_error,
    "mae": sk.mean_absolute_error,
    "mse": sk.mean_squared_error,
}


def regression_case(seed: int, n: int = 57, columns: int = 1, offset: float = 0.0):
    rng = np.random.default_rng(seed)
    y = (rng.normal(size=(n, columns)) * 3 + offset).astype(np.float32)
    p = (y + rng.normal(size=(n, columns))).astype(np.float32)
    return p, y


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("columns", [1, 3])
@pytest.mark.parametrize("key", list(REGRESSION))
def test_regression_metrics_equal_sklearn(key: str, columns: int, cut: str) -> None:
    p, y = regression_case(columns, columns=columns, offset=1000.0 if key == "r2" else 0.0)
    expected = REGRESSION[key](y.astype(np.float64), p.astype(np.float64))
    got = epoch_value(key, p, p, y, "values", False, CUTS[cut])
    # R²'s sums of squares are float64 (targets 300 standard deviations from 0 cancel to
    # ~1e-11; float32 sums would be off by ~1e-2); mse and mae are float32 sums, as the
    # loss a batch reports
    rel = {"r2": 1e-9, "rmse": 1e-12, "mape": 1e-12}.get(key, 1e-6)
    assert got == pytest.approx(expected, rel=rel)


def test_regression_hostile_targets() -> None:
    """A constant target (R² 1 when exact, else 0), zeros in MAPE's denominator, one sample."""
    y = np.full((8, 1), 2.0, np.float32)
    assert epoch_value("r2", y, y, y, "values", False, [3]) == sk.r2_score(y, y) == 1.0
    off = y + np.arange(8, dtype=np.float32)[:, None]
    assert epoch_value("r2", off, off, y, "values", False, [3]) == sk.r2_score(y, off) == 0.0
    zeros = np.zeros((5, 1), np.float32)
    ones = np.ones((5, 1), np.float32)
    mape = epoch_value("mape", ones, ones, zeros, "values", False, [2])
    assert mape == pytest.approx(sk.mean_absolute_percentage_error(zeros, ones))
    one = np.ones((1, 1), np.float32)
    assert math.isnan(epoch_value("r2", one, one, one, "values", False, [None]))


# ------------------------------------------------------------------ both backends


@pytest.mark.parametrize("key", ["f1", "f1_weighted", "auc", "auc_pr", "top_2_accuracy"])
def test_torch_tensors_give_the_numpy_values_multiclass(key: str) -> None:
    to = torch_tensor()
    logits, probs, y = multiclass_case(4, k=4)
    ours = epoch_value(key, logits, probs, y, "labels", True, [10, 3])
    assert epoch_value(key, logits, probs, y, "labels", True, [10, 3], to) == pytest.approx(
        ours, abs=1e-12
    )


@pytest.mark.parametrize("key", ["precision", "recall_macro", "auc", "r2", "rmse", "mape"])
def test_torch_tensors_give_the_numpy_values(key: str) -> None:
    to = torch_tensor()
    if key in ("r2", "rmse", "mape"):
        p, y = regression_case(2, columns=2)
        args = (p, p, y, "values", False)
    else:
        logits, probs, y = binary_case(2)
        args = (logits, probs, y, "binary", True)
    ours = epoch_value(key, *args, [9, 4])
    assert epoch_value(key, *args, [9, 4], to) == pytest.approx(ours, rel=1e-12, abs=1e-12)


# ------------------------------------------------------------------ declarations


def test_every_declared_metric_is_computed_and_says_its_direction() -> None:
    assert set(CATALOGS["metric"]) == set(METRICS)
    for name, entry in CATALOGS["metric"].items():
        assert entry.extra.get("better", "min") in ("min", "max"), name
        assert entry.doc, name
    up = ["val_f1", "auc", "label_auc_pr", "val_r2", "precision_macro", "recall", "accuracy"]
    assert all(higher_is_better(c) for c in [*up, "top_k_accuracy", "val_top_3_accuracy"])
    down = ["val_rmse", "mape", "val_loss", "loss", "label_mae", "value_loss", "mse"]
    assert not any(higher_is_better(c) for c in down)
    assert monitor_mode("val_f1", "auto") == "max"
    assert monitor_mode("val_rmse", "auto") == "min"
    assert monitor_mode("val_f1", "min") == "min"
