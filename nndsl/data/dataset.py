"""`Dataset`: the arrays a model trains on, with the names that explain them."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass
class Dataset:
    """Samples and targets, one row each.

    x: float64, shape (n, features...).
    y: shape (n,) for one target column, (n, k) for k columns; or, for a model with
       several outputs read from arrays named after them, a dict {output: array}.
       float64 for regression and binary 0/1 targets; int64 for class labels (CSV text
       labels, bundled datasets, synthetic spirals and blobs).
    class_names: the name of each label value (label i is class_names[i]) when the labels
       came from names: sorted text labels of a CSV, or a bundled dataset's classes.
    source: where the data came from, for summaries and run folders.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    class_names: list[str] | None = None
    source: str = ""
    # csv(text=...): each sample's text, the model's input once tokenized (x: no columns
    # until then; see nndsl.train.data_plan)
    texts: list[str] | None = None

    def __post_init__(self) -> None:
        for y in self.y.values() if isinstance(self.y, dict) else (self.y,):
            if len(self.x) != len(y):
                raise ValueError(f"x has {len(self.x)} samples but y has {len(y)}")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def n_features(self) -> int:
        """Number of input values per sample (the product of x's shape without the batch)."""
        return int(np.prod(self.x.shape[1:], dtype=np.int64))

    @property
    def num_classes(self) -> int | None:
        """How many classes integer labels range over; None for float targets."""
        if self.class_names is not None:
            return len(self.class_names)
        if isinstance(self.y, dict):
            return None
        if np.issubdtype(self.y.dtype, np.integer) and self.y.size:
            return int(self.y.max()) + 1
        return None

    def subset(self, indices: np.ndarray | list[int]) -> Dataset:
        """The samples at `indices` (in that order), with the same names."""
        idx = np.asarray(indices, dtype=np.int64)
        y = {k: v[idx] for k, v in self.y.items()} if isinstance(self.y, dict) else self.y[idx]
        texts = [self.texts[i] for i in idx] if self.texts is not None else None
        return replace(self, x=self.x[idx], y=y, texts=texts)

    def with_x(self, x: np.ndarray) -> Dataset:
        """The same dataset with its features replaced (e.g. standardized)."""
        return replace(self, x=x)
