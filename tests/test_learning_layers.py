"""Seeded runs of the layer examples reach their stated targets on held-out data:
digits_cnn.nn (the 8x8 digits as images) at least 97% test accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest

import nndsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_digits_cnn() -> None:
    pytest.importorskip("sklearn")
    model = nndsl.compile_file(EXAMPLES / "digits_cnn.nn").build()
    model.fit(verbose=0)
    splits = model.load_data()
    assert model.evaluate_scaled(splits.test.x, splits.test.y)["accuracy"] >= 0.97
