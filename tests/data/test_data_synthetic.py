"""synthetic(name, n, noise, classes, seed): shapes, determinism, and that each set teaches
what it is for (grades: nearly linear; spirals: not linear at all); the ring of Gaussians
(the GAN benchmark) against its definition."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.data import load_data, make_synthetic, split
from nndsl.data.synthetic import ring_centers
from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec

NAMES = ["xor", "spirals", "moons", "circles", "blobs", "grades"]


def linear_accuracy(train, test) -> float:
    """A least-squares linear classifier (one-vs-rest): can only draw straight boundaries."""
    classes = np.unique(train.y)
    onehot = (train.y[:, None] == classes[None, :]).astype(float)
    w, *_ = np.linalg.lstsq(np.c_[train.x, np.ones(len(train))], onehot, rcond=None)
    predicted = classes[(np.c_[test.x, np.ones(len(test))] @ w).argmax(axis=1)]
    return float((predicted == test.y).mean())


def knn_accuracy(train, test, k: int = 5) -> float:
    """k-nearest neighbours: can follow any boundary the data has."""
    d = ((test.x[:, None, :] - train.x[None, :, :]) ** 2).sum(axis=2)
    votes = train.y[np.argsort(d, axis=1)[:, :k]].astype(np.int64)
    predicted = np.array([np.bincount(row).argmax() for row in votes])
    return float((predicted == test.y).mean())


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes(name: str) -> None:
    ds = make_synthetic(name, n=101, seed=3)
    assert ds.x.shape == (101, 2) and ds.x.dtype == np.float64 and ds.y.shape == (101,)
    assert ds.y.dtype == (np.int64 if name in ("spirals", "blobs") else np.float64)
    assert set(np.unique(ds.y)) == {0, 1}
    assert len(ds.feature_names) == 2 and len(ds.target_names) == 1
    assert name in ds.source and "seed=3" in ds.source


@pytest.mark.parametrize("name", [*NAMES, "ring"])
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(name: str) -> None:
    a, b = make_synthetic(name, n=50, seed=7), make_synthetic(name, n=50, seed=7)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, make_synthetic(name, n=50, seed=8).x)


@pytest.mark.parametrize("name", ["spirals", "blobs", "ring"])
def test_classes_are_balanced(name: str) -> None:
    ds = make_synthetic(name, n=301, classes=3, seed=0)
    assert np.bincount(ds.y).tolist() == [101, 100, 100]


def test_xor_without_noise_sits_on_the_corners() -> None:
    ds = make_synthetic("xor", n=40, noise=0.0)
    assert set(map(tuple, ds.x)) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    np.testing.assert_array_equal(ds.y, np.logical_xor(ds.x[:, 0], ds.x[:, 1]))
    assert np.bincount(ds.y.astype(int)).tolist() == [20, 20]


def test_grades_ranges_and_names() -> None:
    ds = make_synthetic("grades", n=1000, seed=0)
    lectures, hours = ds.x[:, 0], ds.x[:, 1]
    assert lectures.min() >= 0 and lectures.max() <= 40
    np.testing.assert_array_equal(lectures, np.round(lectures))
    assert hours.min() >= 0 and hours.max() <= 60
    assert ds.feature_names == ["lectures_attended", "project_hours"]
    assert ds.target_names == ["passed"] and 0.35 < ds.y.mean() < 0.65
    # more of both helps: the top corner passes, the bottom corner fails
    assert ds.y[(lectures > 30) & (hours > 45)].mean() > 0.95
    assert ds.y[(lectures < 10) & (hours < 15)].mean() < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_linear_classifier_learns_grades_but_not_spirals(seed: int) -> None:
    train, _, test = split(make_synthetic("grades", n=500, seed=seed), 0, 0.3, seed)
    assert linear_accuracy(train, test) > 0.85
    train, _, test = split(make_synthetic("spirals", n=500, seed=seed), 0, 0.3, seed)
    assert linear_accuracy(train, test) < 0.62
    assert knn_accuracy(train, test) > 0.95  # the spirals are learnable, just not by a line
    train, _, test = split(make_synthetic("spirals", n=600, classes=3, seed=seed), 0, 0.3, seed)
    assert linear_accuracy(train, test) < 0.45
    assert knn_accuracy(train, test) > 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_logistic_regression_agrees(seed: int) -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    for name, check in [("grades", lambda acc: acc > 0.85), ("spirals", lambda acc: acc < 0.62)]:
        train, _, test = split(make_synthetic(name, n=500, seed=seed), 0, 0.3, seed)
        mean, std = train.x.mean(0), train.x.std(0)
        clf = linear_model.LogisticRegression().fit((train.x - mean) / std, train.y)
        assert check(clf.score((test.x - mean) / std, test.y)), name


@pytest.mark.parametrize("name", ["xor", "moons", "circles", "blobs"])
def test_the_other_sets_are_learnable(name: str) -> None:
    train, _, test = split(make_synthetic(name, n=400, seed=0), 0, 0.25, 0)
    assert knn_accuracy(train, test) > 0.95


def test_through_load_data_with_defaults() -> None:
    ds = load_data(Spec("synthetic", {"name": "moons"}), "unused")
    assert len(ds) == 500
    np.testing.assert_array_equal(ds.x, make_synthetic("moons", n=500, noise=0.1, seed=0).x)


@pytest.mark.parametrize(
    "args, fragment",
    [
        ({"name": "swirls"}, "unknown synthetic dataset 'swirls'"),
        ({"name": "xor", "n": 0}, "needs n >= 1"),
        ({"name": "xor", "noise": -1.0}, "noise >= 0"),
        ({"name": "blobs", "classes": 1}, "classes >= 2"),
    ],
)
def test_bad_arguments(args, fragment: str) -> None:
    with pytest.raises(NNDSLError, match=fragment):
        make_synthetic(**args)


def test_ring_centers_lie_evenly_on_the_circle() -> None:
    np.testing.assert_allclose(ring_centers(4), [[2, 0], [0, 2], [-2, 0], [0, -2]], atol=1e-12)
    c = ring_centers(8)
    assert c.shape == (8, 2)
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 2.0)
    angles = np.arctan2(c[:, 1], c[:, 0]) % (2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    # neighbours: a chord of 2*pi/8 on radius 2
    chords = np.linalg.norm(c - np.roll(c, 1, axis=0), axis=1)
    np.testing.assert_allclose(chords, 2 * 2 * np.sin(np.pi / 8))
    np.testing.assert_allclose(np.linalg.norm(ring_centers(3, radius=1.5), axis=1), 1.5)
    for bad in [{"modes": 0}, {"modes": 2.5}, {"modes": 3, "radius": 0.0}]:
        with pytest.raises(NNDSLError, match="ring_centers"):
            ring_centers(**bad)


def test_the_ring_has_eight_modes_by_default_each_a_gaussian_of_std_noise() -> None:
    ds = make_synthetic("ring", n=8003, noise=0.05, seed=1)  # classes left out: 8 modes
    assert ds.x.shape == (8003, 2) and ds.y.dtype == np.int64
    assert ds.feature_names == ["x1", "x2"] and ds.target_names == ["label"]
    assert "classes=8" in ds.source
    assert np.bincount(ds.y).tolist() == [1001] * 3 + [1000] * 5  # 8003 = 8 * 1000 + 3
    angle = 2 * np.pi * np.arange(8) / 8
    expected = 2 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    for k in range(8):
        points = ds.x[ds.y == k]
        # the mean of 1000 draws is within 0.05 / sqrt(1000) = 0.0016 per coordinate
        np.testing.assert_allclose(points.mean(axis=0), expected[k], atol=0.008)
        # the sample std of 1000 draws is within about 0.05 / sqrt(2000) = 0.0011
        np.testing.assert_allclose(points.std(axis=0), [0.05, 0.05], atol=0.005)


def test_ring_classes_sets_the_modes_and_no_noise_puts_points_on_the_centres() -> None:
    ds = make_synthetic("ring", n=50, noise=0.0, classes=5)
    assert sorted(set(ds.y.tolist())) == [0, 1, 2, 3, 4]
    angle = 2 * np.pi * ds.y / 5
    np.testing.assert_allclose(ds.x, 2 * np.stack([np.cos(angle), np.sin(angle)], axis=1))


def test_the_other_generators_keep_two_classes_by_default() -> None:
    assert set(make_synthetic("blobs", n=40).y.tolist()) == {0, 1}
    ring = load_data(Spec("synthetic", {"name": "ring"}), "unused")  # the catalog's default
    assert len(ring) == 500 and set(ring.y.tolist()) == set(range(8))
    blobs = load_data(Spec("synthetic", {"name": "blobs"}), "unused")
    assert set(blobs.y.tolist()) == {0, 1}


@pytest.mark.parametrize("written, modes", [(", classes=8", 8), ("", 8), (", classes=3", 3)])
def test_a_train_block_reads_the_ring(written: str, modes: int) -> None:
    program = nndsl.compile_string(
        f"model m {{ input(2)\n dense({modes}, activation=softmax) }}\n"
        f'train m {{ data = synthetic("ring", n=2000, noise=0.05{written})  '
        "loss = sparse_categorical_crossentropy }"
    )
    splits = program.build().load_data()
    parts = [p for p in (splits.train, splits.validation, splits.test) if p is not None]
    assert sum(len(p) for p in parts) == 2000
    assert set(np.concatenate([p.y for p in parts]).tolist()) == set(range(modes))
