"""Standardizer: per-feature mean 0 / std 1, fitted on the training split only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nndsl.data import Standardizer, make_synthetic, split, standardize
from nndsl.errors import NNDSLError


def test_fit_and_transform() -> None:
    x = np.array([[1.0, 10, 5], [3, 30, 5], [5, 20, 5]])
    s = Standardizer().fit(x)
    np.testing.assert_allclose(s.mean, [3, 20, 5])
    np.testing.assert_allclose(s.std, [np.sqrt(8 / 3), np.sqrt(200 / 3), 1])  # constant: 1
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), [1, 1, 0], atol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(z), x)


def test_keeps_float32_and_handles_image_shapes() -> None:
    x = np.random.default_rng(0).random((20, 2, 3)).astype(np.float32)
    s = Standardizer().fit(x)
    assert s.mean.shape == (2, 3) and s.transform(x).dtype == np.float32
    assert s.transform(np.ones((2, 2, 3), dtype=np.int64)).dtype == np.float64


def test_fitted_on_the_training_split_only() -> None:
    ds = make_synthetic("grades", n=300, seed=0)
    train, val, test = split(ds, 0.2, 0.2, seed=0)
    scaler, (s_train, s_val, s_test) = standardize(train, val, test)
    np.testing.assert_allclose(scaler.mean, train.x.mean(axis=0))
    np.testing.assert_allclose(s_train.x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s_val.x, (val.x - train.x.mean(0)) / train.x.std(0))
    assert not np.allclose(s_val.x.mean(axis=0), 0, atol=1e-3)  # not refitted on validation
    assert s_test.y is test.y and s_train.feature_names == train.feature_names
    assert standardize(train, None)[1][1] is None


def test_round_trips_through_plain_lists() -> None:
    s = Standardizer().fit(np.array([[1.0, 2], [3, 6]]))
    data = s.to_dict()
    assert data == {"mean": [2.0, 4.0], "std": [1.0, 2.0]}
    assert type(data["mean"][0]) is float
    back = Standardizer.from_dict(json.loads(json.dumps(data)))
    np.testing.assert_array_equal(back.transform([[3.0, 6]]), [[1, 1]])


def test_misuse_is_reported() -> None:
    with pytest.raises(NNDSLError, match="before fit"):
        Standardizer().transform(np.zeros((1, 2)))
    with pytest.raises(
        NNDSLError,
        match=r"shape \(3,\) given to a Standardizer fitted on "
        r"samples of shape \(2,\)",
    ):
        Standardizer().fit(np.zeros((4, 2))).transform(np.zeros((1, 3)))
    with pytest.raises(NNDSLError, match="no samples"):
        Standardizer().fit(np.zeros((0, 2)))
