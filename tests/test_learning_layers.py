"""Seeded runs of the layer examples reach their stated targets on held-out data:
digits_cnn.nn (the 8x8 digits as images) at least 97% test accuracy, sequence.nn (an
LSTM telling noisy waves apart) at least 95%."""

from __future__ import annotations

from pathlib import Path

import pytest

import nndsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def held_out_accuracy(name: str) -> float:
    model = nndsl.compile_file(EXAMPLES / name).build()
    model.fit(verbose=0)
    splits = model.load_data()
    return model.evaluate_scaled(splits.test.x, splits.test.y)["accuracy"]


def test_digits_cnn() -> None:
    pytest.importorskip("sklearn")
    assert held_out_accuracy("digits_cnn.nn") >= 0.97


def test_sequence_lstm() -> None:
    assert held_out_accuracy("sequence.nn") >= 0.95
