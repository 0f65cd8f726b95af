"""Seeded runs reach their learning targets on held-out data: 96% on digits (MLP), 95% on
breast_cancer, 100% on xor, 98% on spirals. The examples are trained as written."""

from __future__ import annotations

from pathlib import Path

import pytest

import nndsl
from nndsl.data import make_synthetic

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BREAST_CANCER = """
model cancer {
    input(30)
    dense(16, activation=relu)
    dropout(0.3)
    dense(8, activation=relu)
    dense(1, activation=sigmoid)
}
train cancer {
    data       = dataset("breast_cancer", standardize=true)
    validation = 0.2
    test       = 0.2
    loss       = binary_crossentropy
    optimizer  = adam(lr=0.003)
    batch_size = 32
    epochs     = 100
    early_stop = (monitor=val_loss, patience=10, restore_best=true)
    metrics    = [accuracy]
    seed       = 0
}
"""


def train_and_test(program: nndsl.Program) -> float:
    model = program.build()
    model.fit(verbose=0)
    splits = model.load_data()
    assert splits.test is not None, "a learning target is measured on a test split"
    return model.evaluate_scaled(splits.test.x, splits.test.y)["accuracy"]


def test_digits_mlp() -> None:
    pytest.importorskip("sklearn")
    program = nndsl.compile_file(EXAMPLES / "digits.nn")
    assert train_and_test(program) >= 0.96


def test_breast_cancer_mlp() -> None:
    pytest.importorskip("sklearn")
    assert train_and_test(nndsl.compile_string(BREAST_CANCER)) >= 0.95


def test_xor() -> None:
    model = nndsl.compile_file(EXAMPLES / "xor.nn").build()
    model.fit(verbose=0)
    splits = model.load_data()
    assert model.evaluate(splits.validation.x, splits.validation.y)["accuracy"] == 1.0
    fresh = make_synthetic("xor", n=1000, noise=0.1, seed=12345)
    assert model.evaluate(fresh.x, fresh.y)["accuracy"] == 1.0


def test_spirals() -> None:
    assert train_and_test(nndsl.compile_file(EXAMPLES / "spirals.nn")) >= 0.98


def test_residual_units_from_the_standard_library() -> None:
    pytest.importorskip("sklearn")
    program = nndsl.compile_file(EXAMPLES / "residual.nn")
    assert any(n.name.startswith("residual_unit_2.") for n in program.graph.nodes)
    assert train_and_test(program) >= 0.95
