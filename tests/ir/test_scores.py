"""nndsl.ir.scores against scikit-learn, function by function, on random and hostile
predictions: one class only, ties, perfect predictions, constant scores, a class never
predicted or absent from y_true, and every accepted shape of y."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nndsl.errors import NNDSLError
from nndsl.ir import scores

sk = pytest.importorskip("sklearn.metrics")
calibration = pytest.importorskip("sklearn.calibration")

pytestmark = pytest.mark.filterwarnings("ignore")  # sklearn's UndefinedMetricWarning


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _labels_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(y_true, y_pred) label pairs."""
    rng = np.random.default_rng(0)
    t3 = rng.integers(0, 3, 60)
    t2 = rng.integers(0, 2, 50)
    return {
        "random 3 classes": (t3, rng.integers(0, 3, 60)),
        "random binary": (t2, rng.integers(0, 2, 50)),
        "all one class": (np.zeros(20, int), np.zeros(20, int)),
        "one true class, mixed predictions": (np.zeros(20, int), rng.integers(0, 2, 20)),
        "all ones": (np.ones(15, int), np.ones(15, int)),
        "perfect": (t3, t3.copy()),
        "class 2 never predicted": (t3, np.minimum(rng.integers(0, 3, 60), 1)),
        "class 3 only predicted": (t3, np.where(t3 == 0, 3, t3)),
        "five classes, small": (rng.integers(0, 5, 7), rng.integers(0, 5, 7)),
    }


LABEL_CASES = _labels_cases()


@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_confusion_matrix_counts_and_normalized(case: str) -> None:
    t, p = LABEL_CASES[case]
    np.testing.assert_array_equal(scores.confusion_matrix(t, p), sk.confusion_matrix(t, p))
    np.testing.assert_allclose(
        scores.confusion_matrix(t, p, normalize="true"),
        sk.confusion_matrix(t, p, normalize="true"),
    )
    labels = [4, 0, 2, 1]  # unsorted, one class absent from both, class 3 left out
    np.testing.assert_array_equal(
        scores.confusion_matrix(t, p, labels=labels), sk.confusion_matrix(t, p, labels=labels)
    )


@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_per_class_and_averages(case: str) -> None:
    t, p = LABEL_CASES[case]
    mine = scores.per_class_scores(t, p)
    ref = sk.precision_recall_fscore_support(t, p, average=None)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b)
    labels = [2, 0, 5]
    for a, b in zip(
        scores.per_class_scores(t, p, labels),
        sk.precision_recall_fscore_support(t, p, labels=labels, average=None),
    ):
        np.testing.assert_allclose(a, b)
    averages = ["macro", "weighted"]
    if len(np.union1d(t, p)) <= 2 and set(np.union1d(t, p)) <= {0, 1}:
        averages.append("binary")
    for average in averages:
        for mine_fn, ref_fn in (
            (scores.precision, sk.precision_score),
            (scores.recall, sk.recall_score),
            (scores.f1, sk.f1_score),
        ):
            assert mine_fn(t, p, average=average) == pytest.approx(
                ref_fn(t, p, average=average), abs=1e-12
            ), (mine_fn.__name__, average)
    assert scores.accuracy(t, p) == pytest.approx(sk.accuracy_score(t, p))


def test_binary_average_refuses_several_classes() -> None:
    t, p = LABEL_CASES["random 3 classes"]
    with pytest.raises(ValueError):
        sk.f1_score(t, p)
    with pytest.raises(NNDSLError, match="binary"):
        scores.f1(t, p)


def test_shapes_of_y_read_alike() -> None:
    """One-hot y_true, (n, 1) labels, probabilities of one column, scores of k columns."""
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, 40)
    probs = _softmax(rng.normal(size=(40, 3)))
    p = probs.argmax(1)
    onehot = np.eye(3)[t]
    ref = sk.confusion_matrix(t, p)
    for y_true in (t, t[:, None], onehot, t.astype(float)):
        for y_pred in (p, p[:, None], probs):
            np.testing.assert_array_equal(scores.confusion_matrix(y_true, y_pred), ref)
    t2 = rng.integers(0, 2, 40)
    prob1 = rng.random(40)
    ref2 = sk.f1_score(t2, (prob1 > 0.5).astype(int))
    for y_pred in (prob1, prob1[:, None]):
        assert scores.f1(t2, y_pred) == pytest.approx(ref2)
        assert scores.f1(t2[:, None].astype(float), y_pred) == pytest.approx(ref2)


# ------------------------------------------------------------------ ranking scores


def _binary_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2)
    t = rng.integers(0, 2, 80)
    noisy = np.clip(t * 0.3 + rng.random(80) * 0.7, 0, 1)
    return {
        "random": (t, rng.random(80)),
        "informative": (t, noisy),
        "ties": (t, np.round(noisy, 1)),
        "constant scores": (t, np.full(80, 0.3)),
        "perfect": (t, t.astype(float)),
        "reversed": (t, 1.0 - t),
        "logits": (t, rng.normal(size=80) * 4),
        "all negative": (np.zeros(30, int), rng.random(30)),
        "all positive": (np.ones(30, int), rng.random(30)),
        "two samples": (np.array([0, 1]), np.array([0.4, 0.4])),
    }


BINARY_CASES = _binary_cases()


@pytest.mark.parametrize("case", list(BINARY_CASES))
def test_roc_curve_and_auc(case: str) -> None:
    t, s = BINARY_CASES[case]
    for drop in (True, False):
        for a, b in zip(
            scores.roc_curve(t, s, drop_intermediate=drop),
            sk.roc_curve(t, s, drop_intermediate=drop),
        ):
            np.testing.assert_allclose(a, b)
    ref = sk.roc_auc_score(t, s)
    for shaped in (s, s[:, None], np.c_[1 - s, s]):
        got = scores.roc_auc(t, shaped)
        assert (np.isnan(got) and np.isnan(ref)) or got == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("case", list(BINARY_CASES))
def test_precision_recall_curve_and_average_precision(case: str) -> None:
    t, s = BINARY_CASES[case]
    for a, b in zip(scores.precision_recall_curve(t, s), sk.precision_recall_curve(t, s)):
        np.testing.assert_allclose(a, b)
    assert scores.average_precision(t, s) == pytest.approx(
        sk.average_precision_score(t, s), abs=1e-12
    )
    assert scores.average_precision(np.eye(2)[t], np.c_[1 - s, s]) == pytest.approx(
        sk.average_precision_score(t, s), abs=1e-12
    )


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_one_vs_rest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 3 + seed
    t = np.r_[np.arange(k), rng.integers(0, k, 50)]  # every class present
    probs = _softmax(rng.normal(size=(len(t), k)) + 2 * np.eye(k)[t] * (seed % 2))
    if seed == 2:
        probs = np.round(probs, 1)  # ties
        probs /= probs.sum(1, keepdims=True)
    assert scores.roc_auc(t, probs) == pytest.approx(
        sk.roc_auc_score(t, probs, multi_class="ovr"), abs=1e-12
    )
    assert scores.roc_auc(np.eye(k)[t], probs) == pytest.approx(
        sk.roc_auc_score(t, probs, multi_class="ovr"), abs=1e-12
    )
    assert scores.average_precision(t, probs) == pytest.approx(
        sk.average_precision_score(t, probs), abs=1e-12
    )


def test_multiclass_auc_needs_every_class() -> None:
    t = np.array([0, 1, 0, 1, 0])
    probs = _softmax(np.random.default_rng(0).normal(size=(5, 3)))
    with pytest.raises(ValueError):
        sk.roc_auc_score(t, probs, multi_class="ovr")
    with pytest.raises(NNDSLError, match="class 2 never occurs"):
        scores.roc_auc(t, probs)
    with pytest.raises(NNDSLError, match="class 2 never occurs"):
        scores.average_precision(t, probs)


@pytest.mark.parametrize("case", [c for c in BINARY_CASES if c != "logits"])
@pytest.mark.parametrize("bins", [1, 5, 10])
def test_calibration_curve(case: str, bins: int) -> None:
    t, s = BINARY_CASES[case]
    edges = np.r_[s, 0.0, 0.2, 0.4, 1.0]  # scores exactly on bin edges
    t = np.r_[t, 0, 1, 1, 1]
    for a, b in zip(
        scores.calibration_curve(t, edges, n_bins=bins),
        calibration.calibration_curve(t, edges, n_bins=bins, strategy="uniform"),
    ):
        np.testing.assert_allclose(a, b)


def test_calibration_refuses_scores_outside_0_1() -> None:
    with pytest.raises(NNDSLError, match="probabilities"):
        scores.calibration_curve([0, 1], [-0.5, 2.0])


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy(k: int) -> None:
    rng = np.random.default_rng(k)
    t = np.r_[np.arange(5), rng.integers(0, 5, 45)]
    s = rng.normal(size=(50, 5))
    s[::3] = np.round(s[::3])  # ties
    s[1] = 0.0  # all tied
    assert scores.top_k_accuracy(t, s, k) == pytest.approx(sk.top_k_accuracy_score(t, s, k=k))
    t2 = rng.integers(0, 2, 30)
    for s2 in (rng.random(30), rng.normal(size=30)):
        assert scores.top_k_accuracy(t2, s2, k) == pytest.approx(
            sk.top_k_accuracy_score(t2, s2, k=k)
        )


# ------------------------------------------------------------------ regression


def _regression_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    y = rng.normal(size=40) * 3 + 1
    y2 = rng.normal(size=(40, 2))
    return {
        "random": (y, y + rng.normal(size=40)),
        "perfect": (y, y.copy()),
        "constant target, exact": (np.full(10, 2.0), np.full(10, 2.0)),
        "constant target, off": (np.full(10, 2.0), np.arange(10.0)),
        "zeros in target": (np.r_[0.0, y[1:]], y + 0.5),
        "column vectors": (y[:, None], (y + 1)[:, None]),
        "two outputs": (y2, y2 * 0.5 + 0.1),
        "two outputs, one constant": (np.c_[np.ones(40), y], np.c_[np.ones(40), y * 2]),
    }


REGRESSION_CASES = _regression_cases()


@pytest.mark.parametrize("case", list(REGRESSION_CASES))
def test_regression_scores(case: str) -> None:
    t, p = REGRESSION_CASES[case]
    assert scores.r2(t, p) == pytest.approx(sk.r2_score(t, p), abs=1e-12)
    assert scores.rmse(t, p) == pytest.approx(sk.root_mean_squared_error(t, p), abs=1e-12)
    assert scores.mae(t, p) == pytest.approx(sk.mean_absolute_error(t, p), abs=1e-12)
    assert scores.mape(t, p) == pytest.approx(sk.mean_absolute_percentage_error(t, p), rel=1e-12)


def test_r2_of_one_sample_is_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(sk.r2_score([1.0], [2.0]))
    assert np.isnan(scores.r2([1.0], [2.0]))


def test_regression_shape_mismatch_is_an_error() -> None:
    with pytest.raises(NNDSLError, match="shape"):
        scores.rmse(np.zeros((4, 2)), np.zeros(4))
