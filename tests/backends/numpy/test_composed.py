"""Fast paths proven equal to their compositions: every op (and activation) that has both
a hand-written NumPy kernel and a composition of primitives (`OpDef.compute`) computes the
same outputs and gradients both ways, in float64 to 1e-10, on every finite-difference case
of tests/backends/numpy/test_gradients.py, and moves its state (batch_norm's running
statistics) the same way in a training step; dropout's composition draws the kernel's
masks from the same generator, so a run through it is the kernel's run, bit for bit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.backends.numpy.activations import ACTIVATIONS
from nndsl.backends.numpy.composed import ComposedActivation, ComposedKernel
from nndsl.backends.numpy.kernels import KERNELS
from nndsl.ir.ops import OPS

TOLERANCE = 1e-10


def _gradient_cases():
    path = Path(__file__).resolve().parent / "test_gradients.py"
    spec = importlib.util.spec_from_file_location("nndsl_composed_gradient_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


CASES = _gradient_cases()
FUSED = [n for n, o in OPS.items() if o.compute is not None and KERNELS[n] is not ComposedKernel]


def test_every_layer_has_a_composition() -> None:
    # so that every kernel below is a fast path, proven against its definition
    assert [n for n, o in OPS.items() if o.compute is None] == ["input"]


def test_the_fast_paths_are_the_ones_expected() -> None:
    # the hand-written kernels that have a composition beside them (a new one is added here
    # on purpose, with the proof below)
    assert set(FUSED) == {
        "dense", "dropout", "flatten", "reshape", "add", "multiply", "concat",
        "batch_norm", "layer_norm",
        "embedding", "simple_rnn", "lstm", "gru",
        "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
        "global_avg_pool", "upsample",
        *(n for n in ACTIVATIONS),
    }  # fmt: skip


def _prepared(op: str, case, composed: bool, monkeypatch) -> tuple:
    with monkeypatch.context() as patch:
        if composed:
            patch.setitem(KERNELS, op, ComposedKernel)
        model = nndsl.compile_string(CASES.program_source(case)).build(seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    CASES.randomize_weights(model, case, rng)
    return model, *CASES.make_data(model, case, rng)


def _run(op: str, case, composed: bool, monkeypatch) -> tuple:
    model, x, y = _prepared(op, case, composed, monkeypatch)
    loss, grads = model.engine.loss_and_grads(x, y, training=case.training)
    state = {k: v for k, v in model.get_weights().items() if k in CASES.state_keys(model)}
    # the output is read in evaluation, after the step: with the moved running statistics
    after = model.engine.rng.bit_generator.state
    return model.engine.logits(x), loss, grads, state, after


@pytest.mark.parametrize("op", FUSED)
def test_kernel_equals_its_composition(op: str, monkeypatch) -> None:
    for case in CASES.OP_CASES[op]:
        out, loss, grads, state, _ = _run(op, case, False, monkeypatch)
        ref_out, ref_loss, ref_grads, ref_state, _ = _run(op, case, True, monkeypatch)
        where = f"{op} ({case.id})"
        assert CASES.relative_error(out, ref_out) < TOLERANCE, where
        assert loss == pytest.approx(ref_loss, rel=TOLERANCE), where
        assert grads.keys() == ref_grads.keys()
        for key, g in ref_grads.items():
            assert CASES.relative_error(grads[key], g) < TOLERANCE, f"{where}: {key}"
        assert state.keys() == ref_state.keys()
        for key, value in ref_state.items():  # a training step moved both the same way
            assert CASES.relative_error(state[key], value) < TOLERANCE, f"{where}: {key}"


def test_batch_norm_cases_move_the_running_statistics(monkeypatch) -> None:
    """The state comparison above is not vacuous: a training step moves the statistics."""
    case = CASES.OP_CASES["batch_norm"][0]
    assert case.training
    model, x, y = _prepared("batch_norm", case, True, monkeypatch)
    keys = CASES.state_keys(model)
    before = model.get_weights()
    model.engine.loss_and_grads(x, y, training=True)
    after = model.get_weights()
    assert keys and all(not np.allclose(after[k], before[k]) for k in keys)


def test_dropout_composition_is_the_kernels_run_bit_for_bit(monkeypatch) -> None:
    """Same generator state, same masks: loss, gradients and the generator's state after
    the step are equal exactly, not to a tolerance."""
    (case,) = [c for c in CASES.OP_CASES["dropout"] if c.training]
    _, loss, grads, _, after = _run("dropout", case, False, monkeypatch)
    _, ref_loss, ref_grads, _, ref_after = _run("dropout", case, True, monkeypatch)
    assert loss == ref_loss
    for key, g in ref_grads.items():
        assert np.array_equal(grads[key], g), key
    assert after == ref_after  # as many draws


ARGS = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 0.7}}


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if OPS[n].compute is not None])
def test_activation_kernel_equals_its_composition(name: str) -> None:
    """As fused into dense, conv and recurrent kernels: forward and backward, including
    values out at +-30 and +-1000."""
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(size=(6, 5)) * 3, [[30, -30, 1000, -1000, 1e-3]]])
    dy = rng.normal(size=z.shape)
    args = ARGS.get(name, {})
    fused, composed = ACTIVATIONS[name], ComposedActivation(name)
    with np.errstate(over="ignore", under="ignore"):
        a = fused.forward(z, np.empty_like(z), **args)
        b = composed.forward(z, np.empty_like(z), **args)
        np.testing.assert_allclose(a, b, rtol=TOLERANCE, atol=1e-300)
        da = fused.backward(dy, z, a, np.empty_like(z), **args)
        db = composed.backward(dy, z, b, np.empty_like(z), **args)
    np.testing.assert_allclose(da, db, rtol=TOLERANCE, atol=1e-300)


def test_composed_activation_backward_differentiates_its_forwards_tape() -> None:
    """No second recording when z and a are what the forward saw; a new one when they
    were overwritten in place since (same arrays, other values), with the right answer."""
    rng = np.random.default_rng(2)
    act, z, dy = ComposedActivation("silu"), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))

    def silu_grad(v: np.ndarray) -> np.ndarray:
        s = 1 / (1 + np.exp(-v))
        return dy * (s + v * s * (1 - s))

    a = act.forward(z, np.empty_like(z))
    recorded = act.P.tape
    g = act.backward(dy, z, a, np.empty_like(z))
    assert act.P.tape is recorded
    np.testing.assert_allclose(g, silu_grad(z), rtol=TOLERANCE)
    z += 0.5  # a layer wrote other values into the same buffers
    np.copyto(a, z / (1 + np.exp(-z)))
    g = act.backward(dy, z, a, np.empty_like(z))
    assert act.P.tape is not recorded
    np.testing.assert_allclose(g, silu_grad(z), rtol=TOLERANCE)


def test_a_repeated_step_writes_over_the_last_ones_answers(monkeypatch) -> None:
    """A composed kernel's second pass on the same shapes allocates no new answers, and
    computes the same as a kernel that never saw the first (other values, same shapes)."""
    case = CASES.OP_CASES["rms_norm"][0]
    model, x, y = _prepared("rms_norm", case, True, monkeypatch)
    (kernel,) = [k for k in model.engine.kernels if isinstance(k, ComposedKernel)]
    model.engine.loss_and_grads(x * 3 + 1, y, training=False)
    first = [id(a) for a in kernel.P.tape.answers]
    loss, grads = model.engine.loss_and_grads(x, y, training=False)
    assert first and [id(a) for a in kernel.P.tape.answers] == first
    fresh, _, _ = _prepared("rms_norm", case, True, monkeypatch)
    ref_loss, ref_grads = fresh.engine.loss_and_grads(x, y, training=False)
    assert loss == ref_loss
    assert all(np.array_equal(grads[k], g) for k, g in ref_grads.items())


def test_a_float32_model_with_a_masked_mean_trains() -> None:
    # the masked mean's maximum() once sent a float64 gradient into layer_norm's float32
    # buffers; the loss must also fall
    source = """
model m {
  tokens = input(6)
  embedding(10, 8, mask_zero=true)
  layer_norm()
  global_avg_pool()
  dense(2)
}
train m {
  loss = sparse_categorical_crossentropy
  optimizer = adam(lr=0.05)
  epochs = 20
}
"""
    model = nndsl.compile_string(source).build(seed=0)
    assert model.dtype == "float32"
    x = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 0, 0, 0, 0], [6, 0, 0, 0, 0, 0]], float)
    y = np.array([0, 1, 1])
    history = model.fit(x, y, verbose=0, batch_size=3)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]
