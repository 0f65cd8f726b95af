"""load_data(spec, base_dir): dispatch, declared defaults, and what it leaves to the caller."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.data import Dataset, load_data, resolve_path
from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec


def test_standardize_is_recorded_not_applied(tmp_path: Path, load_csv_text) -> None:
    ds = load_csv_text("a,y\n10,0\n30,1\n", standardize=True)
    np.testing.assert_array_equal(ds.x, [[10], [30]])


def test_every_declared_default_is_filled_in(tmp_path: Path, write) -> None:
    write("d.csv", "a;y\n1;2\n")
    ds = load_data(Spec("csv", {"path": "d.csv", "target": "y", "delimiter": ";"}), str(tmp_path))
    assert isinstance(ds, Dataset) and ds.feature_names == ["a"]
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 2)), y=np.zeros(2))
    assert len(load_data(Spec("npz", {"path": "d.npz"}), str(tmp_path))) == 2


def test_missing_required_argument_and_unknown_source() -> None:
    with pytest.raises(NNDSLError, match="csv\\(\\) needs argument 'path'"):
        load_data(Spec("csv", {"target": "y"}), ".")
    # the target is optional for the data source (an autoencoder's are its inputs);
    # a model that needs targets is told at the train block's data line
    source = 'model m { input(2) dense(1) }\ntrain m { data = csv("d.csv") loss = mse }'
    with pytest.raises(NNDSLError, match="csv\\(\\) needs the target column") as e:
        nndsl.compile_string(source)
    assert (e.value.line, e.value.column) == (2, 18)
    with pytest.raises(NNDSLError, match="unknown data source 'feather'"):
        load_data(Spec("feather", {}), ".")


def test_resolve_path(tmp_path: Path) -> None:
    assert resolve_path("a/../b.csv", "/data") == "/data/b.csv"
    assert resolve_path("/abs/b.csv", "/data") == "/abs/b.csv"
    assert resolve_path("b.csv", "") == "b.csv"


def test_dataset_subset_and_names() -> None:
    ds = Dataset(
        x=np.arange(6.0).reshape(3, 2),
        y=np.array([0, 1, 1]),
        feature_names=["a", "b"],
        target_names=["t"],
        class_names=["no", "yes"],
        source="s",
    )
    part = ds.subset([2, 0])
    np.testing.assert_array_equal(part.x, [[4, 5], [0, 1]])
    np.testing.assert_array_equal(part.y, [1, 0])
    assert part.class_names == ["no", "yes"] and part.source == "s" and len(part) == 2
    assert ds.n_features == 2 and ds.num_classes == 2
    with pytest.raises(ValueError):
        Dataset(x=np.zeros((2, 1)), y=np.zeros(3), feature_names=["a"], target_names=["t"])
