"""Small datasets that ship inside scikit-learn (no download): iris, digits, breast_cancer, wine."""

from __future__ import annotations

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError

BUNDLED = ("iris", "digits", "breast_cancer", "wine")


def load_bundled(name: str) -> Dataset:
    """x float64 (n, features); y int64 class labels; class_names from scikit-learn."""
    if name not in BUNDLED:
        raise NNDSLError(f"unknown dataset '{name}'", hint="one of: " + ", ".join(BUNDLED))
    try:
        from sklearn import datasets
    except ImportError:
        raise NNDSLError(
            "scikit-learn is needed for dataset(...): pip install 'nndsl[datasets]'"
        ) from None
    bunch = getattr(datasets, f"load_{name}")()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    features = getattr(bunch, "feature_names", None)
    features = (
        [str(f) for f in features] if features is not None else [f"x{i}" for i in range(x.shape[1])]
    )
    classes = [str(c) for c in bunch.target_names]
    return Dataset(
        x=x,
        y=y,
        feature_names=features,
        target_names=["target"],
        class_names=classes,
        source=f"scikit-learn's bundled {name} dataset: {len(x)} samples, "
        f"{x.shape[1]} features, {len(classes)} classes",
    )
