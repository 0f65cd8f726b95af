"""Holding out validation and test samples."""

from __future__ import annotations

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError


def split(
    ds: Dataset, validation: float = 0.0, test: float = 0.0, seed: int = 0
) -> tuple[Dataset, Dataset | None, Dataset | None]:
    """(train, validation, test) after a seeded shuffle; test is the last round(n * test)
    samples of the shuffled order, validation the round(n * validation) before it.
    A fraction of 0 gives None. Not stratified."""
    train, val, held = split_indices(len(ds), validation, test, seed)
    return (
        ds.subset(train),
        ds.subset(val) if val is not None else None,
        ds.subset(held) if held is not None else None,
    )


def split_indices(
    n: int, validation: float = 0.0, test: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The sample indices of `split`'s (train, validation, test), for data that is not a
    Dataset (arrays given to `Model.fit`): the same samples for the same n and seed."""
    for name, frac in (("validation", validation), ("test", test)):
        if not 0 <= frac < 1:
            raise NNDSLError(f"{name} must be a fraction in [0, 1), got {frac}")
    if validation + test >= 1:
        raise NNDSLError(
            f"validation ({validation}) and test ({test}) together leave no training data",
            hint="keep validation + test below 1",
        )
    n_val, n_test = round(n * validation), round(n * test)
    for name, frac, count in (("validation", validation, n_val), ("test", test, n_test)):
        if frac > 0 and count == 0:
            raise NNDSLError(
                f"{name}={frac} of {n} samples is an empty {name} split",
                hint=f"use more data, a larger fraction, or {name}=0",
            )
    n_train = n - n_val - n_test
    if n_train < 1:
        raise NNDSLError(
            f"validation={validation} and test={test} of {n} samples leave no training data"
        )
    order = np.random.default_rng(seed).permutation(n)
    train = order[:n_train]
    val = order[n_train : n_train + n_val] if validation > 0 else None
    held = order[n_train + n_val :] if test > 0 else None
    return train, val, held
