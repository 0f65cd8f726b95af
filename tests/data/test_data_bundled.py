"""dataset(name): scikit-learn's bundled datasets, and a clear message without scikit-learn."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nndsl.data import load_data
from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec


@pytest.mark.parametrize(
    "name, shape, classes",
    [
        ("iris", (150, 4), 3),
        ("digits", (1797, 64), 10),
        ("breast_cancer", (569, 30), 2),
        ("wine", (178, 13), 3),
    ],
)
def test_bundled_datasets(name: str, shape: tuple[int, int], classes: int) -> None:
    pytest.importorskip("sklearn")
    ds = load_data(Spec("dataset", {"name": name, "standardize": True}), ".")
    assert ds.x.shape == shape and ds.x.dtype == np.float64
    assert ds.y.dtype == np.int64 and ds.y.shape == (shape[0],)
    assert len(ds.class_names) == classes == ds.num_classes
    assert len(ds.feature_names) == shape[1] and name in ds.source
    assert abs(ds.x.mean()) > 1e-3  # standardize=true is left to the caller


def test_iris_names() -> None:
    pytest.importorskip("sklearn")
    ds = load_data(Spec("dataset", {"name": "iris"}), ".")
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.feature_names[0] == "sepal length (cm)"


def test_without_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    with pytest.raises(NNDSLError) as info:
        load_data(Spec("dataset", {"name": "iris"}), ".")
    assert info.value.message == (
        "scikit-learn is needed for dataset(...): pip install 'nndsl[datasets]'"
    )


def test_unknown_name() -> None:
    with pytest.raises(NNDSLError, match="unknown dataset 'mnist'"):
        load_data(Spec("dataset", {"name": "mnist"}), ".")
