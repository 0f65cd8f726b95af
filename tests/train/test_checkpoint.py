"""Checkpoints: an interrupted and resumed fit equals an uninterrupted one (bit for bit on
NumPy), files are npz + JSON without pickle, written atomically, refused when damaged."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import NNDSLError
from nndsl.train.callbacks import Callback
from nndsl.train.checkpoint import (
    RECORD,
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
    signals_interrupt,
)

# dropout (the engine's generator), shuffling (the trainer's), a plateau schedule and
# early stopping with restored weights: every piece of state a resume must bring back
SOURCE = """
model m {
    input(2)
    dense(16, activation=relu)
    dropout(0.3)
    dense(1, activation=sigmoid)
}
train m {
    data = synthetic("moons", n=120, noise=0.2)
    validation = 0.25
    loss = binary_crossentropy
    optimizer = adam(lr=0.02)
    schedule = reduce_on_plateau(factor=0.5, patience=1)
    early_stop = (monitor=val_loss, patience=4, restore_best=true)
    batch_size = 16
    epochs = 9
    metrics = [accuracy]
    seed = 3
}
"""


class Interrupt(Callback):
    """Ctrl-C, deterministically: at the end of epoch `epoch`, or after batch `batch` of it."""

    def __init__(self, epoch: int, batch: int | None = None) -> None:
        self.at, self.batch = epoch, batch

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, batch: int) -> None:
        if self.epoch == self.at and batch == self.batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.batch is None and epoch == self.at:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def program():
    return nndsl.compile_string(SOURCE)


def uninterrupted(program, backend: str):
    model = program.build(backend=backend)
    return model, model.fit(verbose=0)


def interrupted_then_resumed(program, backend: str, path: Path, epoch: int, batch: int | None):
    first = program.build(backend=backend)
    with pytest.raises(KeyboardInterrupt):
        first.fit(verbose=0, callbacks=[Checkpoint(path), Interrupt(epoch, batch)])
    second = program.build(backend=backend)  # a fresh process would start like this
    history = second.fit(verbose=0, callbacks=[Checkpoint(path, resume=True)])
    return second, history


@pytest.mark.parametrize(
    "epoch, batch",
    [(0, 0), (2, None), (3, 2), (5, 4)],
    ids=["first-batch", "end-of-epoch-3", "mid-epoch-4", "mid-epoch-6"],
)
def test_resumed_numpy_training_is_bit_identical(program, tmp_path, epoch, batch) -> None:
    ref, ref_history = uninterrupted(program, "numpy")
    model, history = interrupted_then_resumed(program, "numpy", tmp_path / "c.npz", epoch, batch)
    assert history.history == ref_history.history  # every float, bit for bit
    assert (history.epoch, history.info) == (ref_history.epoch, ref_history.info)
    assert ref_history.info.get("stopped_epoch")  # early stopping did stop it
    for name, value in ref.get_weights().items():
        assert np.array_equal(model.get_weights()[name], value), name


def test_resumed_torch_cpu_training_matches(program, tmp_path) -> None:
    pytest.importorskip("torch")
    ref, ref_history = uninterrupted(program, "torch")
    model, history = interrupted_then_resumed(program, "torch", tmp_path / "c.npz", 3, 2)
    assert history.epoch == ref_history.epoch
    for key, values in ref_history.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=0, atol=1e-6)
    for name, value in ref.get_weights().items():
        np.testing.assert_allclose(model.get_weights()[name], value, rtol=0, atol=1e-6)


def test_the_checkpoint_is_npz_and_json_without_pickle(program, tmp_path) -> None:
    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        program.build().fit(verbose=0, callbacks=[Checkpoint(path), Interrupt(2)])
    with np.load(path, allow_pickle=False) as z:  # nothing in it needs unpickling
        assert RECORD in z.files and all(z[k].dtype != object for k in z.files)
    state = load_checkpoint(path)
    assert state["epoch"] == 3  # epochs 1-3 done: the next is epoch 4
    assert set(state["weights"]) == {
        "dense_1.weight",
        "dense_1.bias",
        "dense_2.weight",
        "dense_2.bias",
    }
    engine = state["engine"]
    assert {
        "optimizer.step",
        "optimizer.lr",
        "optimizer.exp_avg",
        "optimizer.exp_avg_sq",
        "rng",
    } <= set(engine)
    assert set(state["callbacks"]) == {"EarlyStopping", "LearningRateSchedule"}
    assert set(state["callbacks"]["EarlyStopping"]["best_weights"]) == set(state["weights"])
    assert state["trainer_rng"]["bit_generator"] == "PCG64"
    assert len(state["history"]["epoch"]) == 3


def test_a_checkpoint_every_n_epochs(program, tmp_path) -> None:
    path = tmp_path / "c.npz"
    ckpt = Checkpoint(path, every=2)
    program.build().fit(verbose=0, epochs=5, callbacks=[ckpt])
    assert ckpt.written_epoch == 4 and load_checkpoint(path)["epoch"] == 4


def test_resume_true_without_a_file_starts_afresh(program, tmp_path) -> None:
    _, ref_history = uninterrupted(program, "numpy")
    history = program.build().fit(
        verbose=0, callbacks=[Checkpoint(tmp_path / "none.npz", resume=True)]
    )
    assert history.history == ref_history.history


def test_a_checkpoint_of_another_model_is_refused(program, tmp_path) -> None:
    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        program.build().fit(verbose=0, callbacks=[Checkpoint(path), Interrupt(1)])
    other = nndsl.compile_string(SOURCE.replace("dense(16", "dense(8"))
    with pytest.raises(NNDSLError, match="checkpoint does not fit the model.*dense_1.weight"):
        other.build().fit(verbose=0, callbacks=[Checkpoint(path, resume=True)])
    sgd = nndsl.compile_string(SOURCE.replace("adam(lr=0.02)", "sgd(lr=0.1, momentum=0.9)"))
    with pytest.raises(NNDSLError, match="checkpoint does not fit the model"):
        sgd.build().fit(verbose=0, callbacks=[Checkpoint(path, resume=True)])


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "foreign npz"])
def test_a_damaged_checkpoint_is_refused_clearly(program, tmp_path, damage: str) -> None:
    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        program.build().fit(verbose=0, callbacks=[Checkpoint(path), Interrupt(1)])
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        i = data.index(b'"epoch"')  # inside the JSON record
        path.write_bytes(data[:i] + b"{" + data[i + 1 :])
    elif damage == "garbage":
        path.write_bytes(os.urandom(300))
    else:
        np.savez(path, x=np.zeros(3))
    with pytest.raises(NNDSLError, match=f"{path.name} is not a readable checkpoint"):
        load_checkpoint(path)


def test_a_failed_write_leaves_the_previous_checkpoint(program, tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        program.build().fit(verbose=0, callbacks=[Checkpoint(path), Interrupt(1)])
    before = path.read_bytes()
    real_savez = np.savez

    def savez_then_fail(f, **arrays):  # half a file, then the disk is full
        real_savez(f, **arrays)
        f.truncate(f.tell() // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    state = load_checkpoint(path)
    state["epoch"] = 99
    with pytest.raises(NNDSLError, match=r"cannot write .*c\.npz: the disk is full"):
        save_checkpoint(path, state)
    assert path.read_bytes() == before and load_checkpoint(path)["epoch"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left


def test_sigterm_inside_signals_interrupt_is_a_keyboard_interrupt() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), signals_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs between two bytecodes, at once
            pass
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_learning_rate_of_zero_from_a_schedule_does_not_crash_adam(backend: str) -> None:
    """Was: ZeroDivisionError in the NumPy Adam step when cosine() reached eta_min = 0."""
    if backend == "torch":
        pytest.importorskip("torch")
    program = nndsl.compile_string(
        "model m { input(2) dense(1) }\n"
        "train m { loss = mse optimizer = adam schedule = cosine(t_max=1) epochs = 3 }"
    )
    model = program.build(backend=backend, seed=0)
    history = model.fit(np.ones((8, 2)), np.ones(8), verbose=0)
    assert history.history["lr"][1] == 0.0
    assert history.history["loss"][1] == history.history["loss"][2]  # lr 0: no change


def _set(state: dict, field: str, value) -> None:
    """state[a][b]... = value, for field 'a.b...' (the last part may be new)."""
    *path, last = field.split(".")
    for key in path:
        state = state[key]
    state[last] = value


@pytest.fixture
def written(program, tmp_path) -> Path:
    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        program.build().fit(verbose=0, callbacks=[Checkpoint(path), Interrupt(1)])
    return path  # epoch 2 done


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("epoch", "x", "'epoch' is 'x', expected the number of epochs done"),
        ("epoch", -5, "'epoch' is -5, expected"),
        ("epoch", 2.5, "'epoch' is 2.5, expected"),
        ("epoch", True, "'epoch' is True, expected"),
        ("epoch", 10**9, "'history.epoch' holds 2 epochs, but 'epoch' says 1000000000 are done"),
        ("epoch", 1, "'history.epoch' holds 2 epochs, but 'epoch' says 1 are done"),
        ("history", "x", "'history' is 'x', expected a record of epoch, history, info"),
        ("history.epoch", [0, 5], "'history.epoch' holds 2 epochs, but 'epoch' says 2"),
        ("history.history.loss", [0.5], "'history.history.loss' holds 1 values, expected"),
        ("history.history.loss", ["a", "b"], "'history.history.loss' holds something other"),
        ("history.info", [], "'history.info' is a list of 0, expected a record"),
        ("engine", [1, 2], "'engine' is a list of 2, expected a record"),
        ("engine.rng", [[1, np.array(["a"])]], "'engine.rng' is a list of 1"),
        ("trainer_rng", "x", "'trainer_rng' is 'x', expected a record"),
        ("callbacks.EarlyStopping", 3, "'callbacks.EarlyStopping' is 3, expected a record"),
        ("weights.dense_1.weight", "x", "'weights.dense_1.weight' is 'x', not numbers"),
        ("meta", "x", "'meta' is 'x', expected a record"),
        ("meta.seed", "x", "'meta.seed' is 'x'"),
        ("meta.epochs", 1, "'meta.epochs' is 1, but 2 epochs are done"),
        ("meta.overrides", ["epochs=3", 4], "'meta.overrides' holds something other than text"),
    ],
)
def test_a_checkpoint_field_of_the_wrong_kind_is_refused_on_loading(
    written: Path, field: str, value, message: str
) -> None:
    state = load_checkpoint(written)
    if field.startswith("weights."):  # weight names hold dots
        state["weights"]["dense_1.weight"] = value
    else:
        _set(state, field, value)
    bad = written.with_name("bad.npz")
    save_checkpoint(bad, state)
    with pytest.raises(NNDSLError) as info:
        load_checkpoint(bad)
    assert f"{bad}: checkpoint field {message}" in info.value.message


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("callbacks.EarlyStopping.trainer", 5, "'callbacks.EarlyStopping' has an unknown entry"),
        ("callbacks.EarlyStopping.best", "x", "'callbacks.EarlyStopping.best' is 'x', expected"),
        ("callbacks.EarlyStopping.wait", 1.5, "'callbacks.EarlyStopping.wait' is 1.5, expected a"),
        (
            "callbacks.EarlyStopping.best_weights",
            {"dense_1.weight": np.zeros(2)},
            "'callbacks.EarlyStopping.best_weights' lacks 'dense_1.bias'",
        ),
        (
            "callbacks.EarlyStopping.best_weights.dense_1.weight",
            np.zeros(2),
            "'callbacks.EarlyStopping.best_weights.dense_1.weight' has shape (2,), expected",
        ),
        ("callbacks.LearningRateSchedule.lr", [1], "'callbacks.LearningRateSchedule.lr' is a list"),
        ("engine.optimizer.step", "x", "'engine.optimizer.step' is 'x', expected a whole number"),
        ("engine.optimizer.exp_avg", np.zeros(3), "'engine.optimizer.exp_avg' has shape (3,)"),
        ("trainer_rng.bit_generator", 7, "'trainer_rng.bit_generator' is 7, expected text"),
        ("trainer_rng.state", {"state": 1, "inc": 2, "evil": 3}, "has an unknown entry 'evil'"),
        ("trainer_rng.state.state", -1, "this checkpoint does not fit the model"),
    ],
)
def test_a_checkpoint_that_does_not_fit_the_training_is_refused_before_any_is_set(
    program, written: Path, field: str, value, message: str
) -> None:
    state = load_checkpoint(written)
    if field.startswith("engine."):  # engine entry names hold dots
        state["engine"][field[len("engine.") :]] = value
    elif field.endswith(".dense_1.weight"):
        state["callbacks"]["EarlyStopping"]["best_weights"]["dense_1.weight"] = value
    else:
        _set(state, field, value)
    bad = written.with_name("bad.npz")
    save_checkpoint(bad, state)
    model = program.build()
    before = model.get_weights()
    with pytest.raises(NNDSLError) as info:
        model.fit(verbose=0, callbacks=[Checkpoint(bad, resume=True)])
    text = info.value.message
    assert text.startswith(f"{bad}: this checkpoint does not fit the model"), text
    assert message in text, text
    assert all(np.array_equal(before[k], v) for k, v in model.get_weights().items())
