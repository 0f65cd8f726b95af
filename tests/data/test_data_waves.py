"""synthetic("waves"): sequences (n, 32, 1) of noisy periodic shapes to classify."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.data import make_synthetic


def test_shapes_labels_and_determinism():
    d = make_synthetic("waves", n=401, noise=0.0, classes=4, seed=3)
    assert d.x.shape == (401, 32, 1) and d.x.dtype == np.float64
    assert d.y.dtype == np.int64
    assert np.bincount(d.y).tolist() == [101, 100, 100, 100]  # balanced
    again = make_synthetic("waves", n=401, noise=0.0, classes=4, seed=3)
    np.testing.assert_array_equal(d.x, again.x)
    # without noise each shape is what it says: a square wave takes two values
    square = d.x[d.y == 1][:, :, 0]
    assert all(len(np.unique(np.round(np.abs(row), 12))) == 1 for row in square)
    assert np.all(np.abs(d.x) <= 1.5 + 1e-12)


def test_noise_and_classes():
    clean = make_synthetic("waves", n=50, noise=0.0, seed=0)
    noisy = make_synthetic("waves", n=50, noise=0.5, seed=0)
    assert set(clean.y.tolist()) == {0, 1}
    assert 0.3 < np.std(noisy.x - clean.x) < 0.7
    with pytest.raises(nndsl.NNDSLError, match="classes from 2 to 4"):
        make_synthetic("waves", classes=5)


def test_a_train_block_reads_it():
    program = nndsl.compile_string(
        "model m { input(32, 1)\n gru(4)\n dense(3, activation=softmax) }\n"
        'train m { data = synthetic("waves", n=60, classes=3)  loss = '
        "sparse_categorical_crossentropy }"
    )
    splits = program.build().load_data()
    assert splits.train.x.shape[1:] == (32, 1)
