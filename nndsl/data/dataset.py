"""`Dataset`: the arrays a model trains on, with the names that explain them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from nndsl.data.tabular import Column


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
    # typed feature columns (nndsl.data.tabular), by name, when the features are not all
    # numbers: x has no columns until the preprocessing fitted on the training split
    # encodes them (see nndsl.train.data_plan)
    columns: dict[str, Column] | None = None
    # csv(id=...): key columns, never features, written beside predictions
    ids: dict[str, np.ndarray] | None = None
    # csv(weight=...): each sample's weight in the loss (nndsl.ir.weighting), float64 (n,)
    weights: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)  # what reading it left out, to tell
    # each sample's row among the file's data rows, when reading left rows out (None:
    # sample i is row i), so that errors found later point into the file
    file_rows: np.ndarray | None = None

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
        columns = None
        if self.columns is not None:
            columns = {k: c.take(idx) for k, c in self.columns.items()}
        ids = {k: v[idx] for k, v in self.ids.items()} if self.ids is not None else None
        weights = self.weights[idx] if self.weights is not None else None
        return replace(
            self, x=self.x[idx], y=y, texts=texts, columns=columns, ids=ids, weights=weights
        )

    def with_x(self, x: np.ndarray) -> Dataset:
        """The same dataset with its features replaced (e.g. standardized)."""
        return replace(self, x=x)
