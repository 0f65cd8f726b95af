"""split(ds, validation, test, seed): sizes, disjointness, determinism, empty splits."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl.data import Dataset, split
from nndsl.errors import NNDSLError


def numbered(n: int) -> Dataset:
    """x[i] == i, so every sample can be traced."""
    return Dataset(
        x=np.arange(n, dtype=np.float64)[:, None],
        y=np.arange(n) % 3,
        feature_names=["i"],
        target_names=["c"],
        class_names=["a", "b", "c"],
        source="numbered",
    )


def ids(ds: Dataset | None) -> set[int]:
    return set() if ds is None else set(ds.x[:, 0].astype(int))


def test_sizes_disjoint_and_complete() -> None:
    train, val, test = split(numbered(100), validation=0.2, test=0.1, seed=0)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert not ids(train) & ids(val) and not ids(train) & ids(test) and not ids(val) & ids(test)
    assert ids(train) | ids(val) | ids(test) == set(range(100))
    np.testing.assert_array_equal(train.y, train.x[:, 0].astype(int) % 3)  # rows stay paired
    assert val.class_names == ["a", "b", "c"] and test.feature_names == ["i"]


def test_shuffled_by_seed() -> None:
    a, b, c = (
        split(numbered(50), 0.2, 0, seed=1),
        split(numbered(50), 0.2, 0, seed=1),
        split(numbered(50), 0.2, 0, seed=2),
    )
    np.testing.assert_array_equal(a[0].x, b[0].x)
    assert not np.array_equal(a[0].x, c[0].x)
    assert not np.array_equal(a[0].x[:, 0], np.sort(a[0].x[:, 0]))


def test_zero_fractions_give_none() -> None:
    train, val, test = split(numbered(10), 0, 0, seed=0)
    assert len(train) == 10 and val is None and test is None
    train, val, test = split(numbered(10), 0.3, 0, seed=0)
    assert (len(train), len(val), test) == (7, 3, None)


@pytest.mark.parametrize(
    "n, validation, test, fragment",
    [
        (5, 0.05, 0, "validation=0.05 of 5 samples is an empty validation split"),
        (5, 0, 0.05, "test=0.05 of 5 samples is an empty test split"),
        (4, 0.45, 0.45, "of 4 samples leave no training data"),
        (10, 0.5, 0.5, "together leave no training data"),
        (10, 1.0, 0, "validation must be a fraction in [0, 1)"),
        (10, 0, -0.1, "test must be a fraction"),
    ],
)
def test_empty_splits_are_errors(n: int, validation: float, test: float, fragment: str) -> None:
    with pytest.raises(NNDSLError) as info:
        split(numbered(n), validation, test, seed=0)
    assert fragment in info.value.message
