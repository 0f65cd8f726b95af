"""Checkpoints: everything needed to continue training exactly where it stopped.

A checkpoint is the state at the end of an epoch: the weights, the engine's state
(optimizer buffers, step count, learning rate, the dropout generator), the trainer's
shuffling generator, each stateful callback's state (early stopping with its best
weights, the learning-rate schedule), the history so far, the number of epochs done, and
a `meta` record the caller fills (what `nndsl run --resume` needs to rebuild the run).
Continuing from it gives the same history and weights as never stopping: bit for bit on
the NumPy backend.

One `.npz` file, no pickle: every array under its own key, everything else in one JSON
record (`__checkpoint__`) that names the arrays. Written with `atomic_write` (a temporary
file beside it, fsync, rename): a crash while writing leaves the previous checkpoint.

    ckpt = Checkpoint("run/checkpoint.npz", every=5, resume=True)
    model.fit(x, y, callbacks=[ckpt])   # continues from the file when there is one

`Checkpoint` keeps the state of the last finished epoch in memory, writes it every
`every` epochs and when training is interrupted (KeyboardInterrupt: Ctrl-C, or SIGTERM
under `signals_interrupt()`), so an interrupted epoch is simply done again.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.train.callbacks import Callback
from nndsl.train.history import History
from nndsl.weights import atomic_write

if TYPE_CHECKING:
    from nndsl.train.trainer import Trainer

FORMAT = "nndsl-checkpoint"
VERSION = 1
RECORD = "__checkpoint__"


# ------------------------------------------------------------------ state <-> file


def capture(trainer: Trainer, epochs_done: int, meta: dict[str, Any] | None = None) -> dict:
    """The trainer's whole state after `epochs_done` epochs (copies, safe to keep)."""
    history = trainer.history
    return {
        "epoch": epochs_done,
        "weights": trainer.engine.get_weights(),
        "engine": trainer.engine.state_dict(),
        "trainer_rng": trainer.rng.bit_generator.state,
        "callbacks": {
            key: cb.state_dict() for key, cb in _stateful(trainer.config.callbacks).items()
        },
        "history": {
            "epoch": list(history.epoch),
            "history": {k: list(v) for k, v in history.history.items()},
            "info": dict(history.info),
        },
        "meta": dict(meta or {}),
    }


def restore(trainer: Trainer, state: dict) -> None:
    """Put `state` (from `capture` or `load_checkpoint`) back; training continues with
    epoch `state["epoch"]`."""
    try:
        trainer.engine.set_weights(state["weights"])
        trainer.engine.load_state_dict(state["engine"])
        trainer.rng.bit_generator.state = state["trainer_rng"]
        stateful = _stateful(trainer.config.callbacks)
        for key, cb_state in state["callbacks"].items():
            if key not in stateful:
                raise NNDSLError(f"the checkpoint has state for {key}, which this training lacks")
            stateful[key].load_state_dict(cb_state)
    except NNDSLError as e:
        raise NNDSLError(
            f"this checkpoint does not fit the model: {e.message}",
            hint="was it written by another model, optimizer or train block?",
        ) from None
    except (ValueError, KeyError, TypeError) as e:
        raise NNDSLError(
            f"this checkpoint does not fit the model: {e}",
            hint="was it written by another model, optimizer or train block?",
        ) from None
    h = state["history"]
    trainer.history = History(
        history={k: list(v) for k, v in h["history"].items()},
        epoch=list(h["epoch"]),
        info=dict(h["info"]),
    )
    trainer.epoch = int(state["epoch"])


def _stateful(callbacks: list[Callback]) -> dict[str, Callback]:
    """Callbacks with a state to keep, by class name (numbered when repeated)."""
    out: dict[str, Callback] = {}
    for cb in callbacks:
        if hasattr(cb, "state_dict") and hasattr(cb, "load_state_dict"):
            name, k = type(cb).__name__, 2
            key = name
            while key in out:
                key, k = f"{name}_{k}", k + 1
            out[key] = cb
    return out


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write `state` atomically as one .npz (arrays) with a JSON record (the rest)."""
    arrays: dict[str, np.ndarray] = {}
    record = {"format": FORMAT, "version": VERSION, "state": _split(state, arrays)}
    text = json.dumps(record)
    arrays[RECORD] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path: str | Path) -> dict:
    """The state `save_checkpoint` wrote; any defect of the file is an NNDSLError."""
    path = Path(path)
    if not path.is_file():
        raise NNDSLError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        record = json.loads(arrays.pop(RECORD).tobytes().decode("utf-8"))
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError("not an nndsl checkpoint")
        if record.get("version") != VERSION:
            raise ValueError(f"checkpoint format version {record.get('version')} is unknown")
        state = _join(record["state"], arrays)
        for key in ("epoch", "weights", "engine", "trainer_rng", "callbacks", "history", "meta"):
            state[key]  # noqa: B018  (present)
        return state
    except Exception as e:  # zip, numpy, JSON and missing keys: a damaged file
        raise NNDSLError(
            f"{path} is not a readable checkpoint (corrupt or truncated): "
            f"{str(e) or type(e).__name__}"
        ) from None


def _split(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """`value` as JSON data; each array moves to `arrays` and leaves a reference."""
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {"__dict__": [[k, _split(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_split(v, arrays) for v in value]
    return value


def _join(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        return {k: _join(v, arrays) for k, v in value["__dict__"]}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value


# ------------------------------------------------------------------ the callback


class Checkpoint(Callback):
    """Keeps the state of the last finished epoch; writes it to `path` every `every`
    epochs (0: never) and when training is interrupted.

    resume: True continues from `path` when the file exists; a state (from
    `load_checkpoint`) continues from that one. Put it after every other callback (fit
    does, for the callbacks it is given), so it sees their state at the epoch's end."""

    def __init__(
        self,
        path: str | Path,
        every: int = 0,
        resume: bool | dict = False,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.every = int(every)
        self.resume = resume
        self.meta = dict(meta or {})
        self.last: dict | None = None
        self.written_epoch: int | None = None

    def on_train_begin(self) -> None:
        state = self.resume
        if state is True:
            state = load_checkpoint(self.path) if self.path.is_file() else None
        if isinstance(state, dict):
            restore(self.trainer, state)
            self.meta = {**state["meta"], **self.meta}
        self.last = capture(self.trainer, self.trainer.epoch, self.meta)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.last = capture(self.trainer, epoch + 1, self.meta)
        if self.every and (epoch + 1) % self.every == 0:
            self.save()

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if logs.get("interrupted"):
            self.save()

    def save(self) -> None:
        """Write the last finished epoch's state (atomically)."""
        if self.last is None:
            return
        save_checkpoint(self.path, self.last)
        self.written_epoch = self.last["epoch"]

    def remove(self) -> None:
        """Delete the file: nothing is left to continue (the run finished)."""
        self.path.unlink(missing_ok=True)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt while inside (in the main thread), so a
    `kill` stops training the way Ctrl-C does: checkpoint written, run folder kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
