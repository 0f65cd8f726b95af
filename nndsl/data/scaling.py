"""Feature scaling, fitted on the training split only."""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1 (a constant feature is only
    centred). mean and std have shape x.shape[1:]."""

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    def fit(self, x: np.ndarray) -> Standardizer:
        """Per-feature mean and (population) standard deviation of x, shape (n, features...)."""
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            raise NNDSLError("cannot fit a Standardizer on no samples")
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(x - mean) / std, in x's float dtype (float64 for integer input)."""
        if self.mean is None or self.std is None:
            raise NNDSLError("Standardizer.transform called before fit")
        x = np.asarray(x)
        if x.shape[1:] != self.mean.shape:
            raise NNDSLError(
                f"data with samples of shape {x.shape[1:]} given to a Standardizer "
                f"fitted on samples of shape {self.mean.shape}"
            )
        out = (x - self.mean) / self.std
        return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        if self.mean is None or self.std is None:
            raise NNDSLError("Standardizer.inverse_transform called before fit")
        return np.asarray(z) * self.std + self.mean

    def to_dict(self) -> dict[str, Any]:
        """Plain nested lists, for YAML/JSON run folders."""
        if self.mean is None or self.std is None:
            raise NNDSLError("Standardizer.to_dict called before fit")
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        return cls(
            np.asarray(data["mean"], dtype=np.float64), np.asarray(data["std"], dtype=np.float64)
        )


def standardize(
    train: Dataset, *others: Dataset | None
) -> tuple[Standardizer, list[Dataset | None]]:
    """Fit a Standardizer on `train`'s features and apply it to train and each other split
    (None passes through). Returns the scaler and [train, *others] scaled."""
    scaler = Standardizer().fit(train.x)
    scaled = [None if ds is None else ds.with_x(scaler.transform(ds.x)) for ds in (train, *others)]
    return scaler, scaled
