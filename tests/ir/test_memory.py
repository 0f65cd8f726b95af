"""The memory estimate: parameters + gradients + optimizer state + activations of a batch,
checked before anything is allocated (compile, fit, loading a model description)."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl import NNDSLError
from nndsl.ir.check import estimate_memory, optimizer_state
from nndsl.ir.signature import Spec

MLP = """model m {{
    input(10)
    dense(20, activation=relu)
    dense(5)
}}
train m {{
    loss = mse
    optimizer = {optimizer}
    batch_size = {batch}
    dtype = {dtype}
}}
"""
PARAMS = 10 * 20 + 20 + 20 * 5 + 5  # 325
OUTPUTS = 10 + 20 + 5  # values per sample over the nodes


def program(optimizer: str = "adam", batch: int = 32, dtype: str = "float32"):
    return nndsl.compile_string(MLP.format(optimizer=optimizer, batch=batch, dtype=dtype), "m.nn")


@pytest.mark.parametrize(
    "optimizer, slots",
    [
        ("sgd", 0),
        ("sgd(momentum=0.9)", 1),
        ("adam", 2),
        ("adam(amsgrad=true)", 3),
        ("adamw", 2),
        ("adagrad", 1),
        ("adadelta", 2),
        ("rmsprop", 1),
        ("rmsprop(momentum=0.9, centered=true)", 3),
    ],
)
def test_the_estimate_adds_up(optimizer: str, slots: int) -> None:
    p = program(optimizer, batch=32)
    assert optimizer_state(p.train.optimizer) == slots
    est = estimate_memory(p.graph, "float32", 32, p.train.optimizer)
    assert est.parameters == est.gradients == PARAMS * 4
    assert est.optimizer == PARAMS * 4 * slots
    assert est.activations == 2 * OUTPUTS * 32 * 4  # outputs kept, deltas written
    assert est.total == PARAMS * 4 * (2 + slots) + 2 * OUTPUTS * 32 * 4


def test_float64_doubles_it_and_inference_needs_no_gradients() -> None:
    p = program(dtype="float64")
    est = estimate_memory(p.graph, "float64", 32, p.train.optimizer)
    assert est.parameters == PARAMS * 8
    infer = estimate_memory(p.graph, "float32", 32, Spec("adam"), training=False)
    assert (infer.gradients, infer.optimizer, infer.activations) == (0, 0, OUTPUTS * 32 * 4)


@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 1 MiB of memory."""
    monkeypatch.setattr("nndsl.ir.check.machine_memory", lambda: 1 << 20)


def test_a_batch_too_large_is_refused_at_compile_time_with_the_estimate(small_machine) -> None:
    with pytest.raises(NNDSLError) as info:
        program(batch=100_000)
    err = info.value
    assert (err.line, err.column) == (9, 18)  # the batch_size value
    assert err.message.startswith(
        "training 'm' needs about 26.7 MiB: parameters 1.3 KiB, gradients 1.3 KiB, "
    )
    assert "adam state" in err.message and "(2 per parameter)" in err.message
    assert "activations 26.7 MiB (batch of 100,000)" in err.message
    assert "this machine has 1.0 MiB" in err.message
    largest = ((1 << 20) - PARAMS * 4 * 4) // (2 * OUTPUTS * 4)
    assert err.hint == f"a batch_size of at most {largest:,} fits"
    program(batch=largest)  # and that one does fit


def test_parameters_too_large_are_refused_at_the_train_block(small_machine) -> None:
    source = (
        "model m {\n    input(100)\n    dense(600)\n}\n"
        "train m {\n    loss = mse\n    optimizer = adam(amsgrad=true)\n    batch_size = 1\n}\n"
    )
    nndsl.compile_string(source.split("train")[0])  # the model alone fits
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(source, "m.nn")
    assert (info.value.line, info.value.column) == (5, 7)
    assert "adam state" in info.value.message and "(3 per parameter)" in info.value.message


def test_fit_refuses_a_batch_size_that_does_not_fit(monkeypatch) -> None:
    model = program(batch=8).build(seed=0)
    x, y = np.zeros((300_000, 10), np.float32), np.zeros((300_000, 5), np.float32)
    monkeypatch.setattr("nndsl.ir.check.machine_memory", lambda: 1 << 20)
    before = model.get_weights()
    with pytest.raises(NNDSLError, match=r"training 'm' with batch_size 300000 needs about"):
        model.fit(x, y, batch_size=300_000, epochs=1, verbose=0)
    assert all(np.array_equal(before[k], v) for k, v in model.get_weights().items())
