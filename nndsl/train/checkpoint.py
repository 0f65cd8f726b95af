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
from nndsl.files import (
    BadArchive,
    MissingFile,
    NpzArchive,
    atomic_write,
    held_signals,
    show_path,
)
from nndsl.ir.check import check_weights
from nndsl.train.callbacks import Callback
from nndsl.train.history import History

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
    epoch `state["epoch"]`. Every piece is checked against what this trainer holds (same
    names, kinds and shapes) before any is set: a hostile file gets no attribute in."""
    where = getattr(state, "path", None)
    stateful = _stateful(trainer.config.callbacks)
    weights = trainer.engine.get_weights()
    try:
        check_weights({k: v.shape for k, v in weights.items()}, state["weights"])
        # an engine's optimizer may create its buffers at the first step (torch): only
        # the entries it holds now can be compared
        live = trainer.engine.state_dict()
        shared = {k: v for k, v in state["engine"].items() if k in live}
        _conform(shared, live, "engine")
        _conform(state["trainer_rng"], trainer.rng.bit_generator.state, "trainer_rng")
        # a generator of the same kind takes the state first: its setter is the one
        # check of the numbers in it, and must fail before anything is set
        type(trainer.rng.bit_generator)().state = state["trainer_rng"]
        for key, cb_state in state["callbacks"].items():
            if key not in stateful:
                raise NNDSLError(f"the checkpoint has state for {key}, which this training lacks")
            _conform(cb_state, stateful[key].state_dict(), f"callbacks.{key}", weights)
        trainer.engine.set_weights(state["weights"])
        trainer.engine.load_state_dict(state["engine"])
        trainer.rng.bit_generator.state = state["trainer_rng"]
        for key, cb_state in state["callbacks"].items():
            stateful[key].load_state_dict(cb_state)
    except NNDSLError as e:
        raise _misfit(where, e.message) from None
    except (
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        OverflowError,
        AttributeError,
        RecursionError,
    ) as e:  # what engines and callbacks raise for a value they cannot take
        raise _misfit(where, str(e) or type(e).__name__) from None
    h = state["history"]
    trainer.history = History(
        history={k: list(v) for k, v in h["history"].items()},
        epoch=list(h["epoch"]),
        info=dict(h["info"]),
    )
    trainer.epoch = int(state["epoch"])


def _misfit(where: Path | None, reason: str) -> NNDSLError:
    return NNDSLError(
        (f"{show_path(where)}: " if where else "")
        + f"this checkpoint does not fit the model: {reason}",
        hint="was it written by another model, optimizer or train block?",
    )


def _conform(value: Any, live: Any, field: str, weights: dict | None = None) -> None:
    """Refuse `value` (from a file) unless it has the structure of `live` (what the
    trainer holds now): the same keys, numbers where numbers are, arrays of the same
    shape. Where `live` is None (not known yet: best weights before any epoch) a number,
    None, or weights with the model's names and shapes are accepted."""
    if isinstance(live, dict):
        if not isinstance(value, dict):
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected a record")
        extra = [k for k in value if k not in live]
        if extra:
            raise NNDSLError(f"'{field}' has an unknown entry '{show_path(str(extra[0]))}'")
        for k, v in value.items():
            _conform(v, live[k], f"{field}.{k}", weights)
    elif isinstance(live, np.ndarray):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected an array of numbers")
        if value.shape != live.shape:
            raise NNDSLError(f"'{field}' has shape {value.shape}, expected {live.shape}")
    elif isinstance(live, (bool, np.bool_)):
        if not isinstance(value, bool):
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected true or false")
    elif isinstance(live, (int, np.integer)):
        if not _is_int(value):
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected a whole number")
    elif isinstance(live, (float, np.floating)):
        if not _is_number(value):
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected a number")
    elif isinstance(live, str):
        if not isinstance(value, str):
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected text")
    elif isinstance(live, (list, tuple)):
        if not isinstance(value, list) or len(value) != len(live):
            raise NNDSLError(f"'{field}' is {_kind(value)}, expected a list of {len(live)}")
        for i, (v, lv) in enumerate(zip(value, live, strict=True)):
            _conform(v, lv, f"{field}[{i}]", weights)
    elif live is None and isinstance(value, dict):
        if weights is None:
            raise NNDSLError(f"'{field}' is a record, expected a number")
        missing = [k for k in weights if k not in value]
        if missing:
            raise NNDSLError(f"'{field}' lacks '{missing[0]}'")
        _conform(value, weights, field)
    elif live is None and not (value is None or _is_number(value)):
        raise NNDSLError(f"'{field}' is {_kind(value)}, expected a number")


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


class LoadedState(dict):
    """A state read by `load_checkpoint`, which remembers its file (for messages)."""

    path: Path


def load_checkpoint(path: str | Path) -> LoadedState:
    """The state `save_checkpoint` wrote; any defect of the file (damage, a size it
    does not hold, a field of the wrong kind or out of range) is an NNDSLError naming
    the file and the field."""
    path = Path(path)
    try:
        archive = NpzArchive(path, "checkpoint")
    except MissingFile:
        raise NNDSLError(f"no checkpoint at {show_path(path)}") from None
    except BadArchive as e:
        raise _unreadable(path, e) from None
    try:
        with archive:
            if archive.foreign or any(a.pickled for a in archive.arrays.values()):
                raise BadArchive("it holds members that are not arrays of numbers")
            if RECORD not in archive.arrays:
                raise BadArchive("not an nndsl checkpoint")
            archive.check_claim()
            record = json.loads(archive.read(RECORD).tobytes().decode("utf-8"))
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                raise BadArchive("not an nndsl checkpoint")
            if record.get("version") != VERSION:
                raise BadArchive(f"checkpoint format version {record.get('version')} is unknown")
            arrays = {k: archive.read(k) for k in archive.arrays if k != RECORD}
            state = _join(record.get("state"), arrays)
            _validate(state, path)
    except NNDSLError:
        raise
    except Exception as e:  # zip, numpy, JSON, a reference to no array: a damaged file
        raise _unreadable(path, e) from None
    loaded = LoadedState(state)
    loaded.path = path
    return loaded


def _unreadable(path: Path, e: BaseException) -> NNDSLError:
    return NNDSLError(
        f"{show_path(path)} is not a readable checkpoint (corrupt or truncated): "
        f"{str(e) or type(e).__name__}"
    )


# What `nndsl run` records in `meta` (nndsl.runfolder.checkpoint_meta) and `--resume`
# uses: each, when present, must be of its kind (None allowed where shown).
META_FIELDS: dict[str, tuple[type, ...]] = {
    "source": (str,),
    "path": (str,),
    "overrides": (list,),
    "model": (str, type(None)),
    "graph": (dict, type(None)),
    "backend": (str,),
    "device": (str, type(None)),
    "seed": (int, type(None)),
    "folder": (str,),
    "epochs": (int,),
}


def _validate(state: Any, path: Path) -> None:
    """Refuse a state whose fields are missing, of the wrong kind or out of range: the
    checks `restore` cannot make, since they do not depend on the model."""

    def bad(field: str, problem: str) -> NNDSLError:
        return NNDSLError(f"{show_path(path)}: checkpoint field '{field}' {problem}")

    if not isinstance(state, dict):
        raise bad("state", f"is {_kind(state)}, expected a record")
    for key in ("epoch", "weights", "engine", "trainer_rng", "callbacks", "history", "meta"):
        if key not in state:
            raise bad(key, "is missing")
    epoch = state["epoch"]
    if not _is_int(epoch) or epoch < 0:
        raise bad("epoch", f"is {_kind(epoch)}, expected the number of epochs done (0 or more)")
    for key in ("weights", "engine", "trainer_rng", "callbacks", "meta"):
        if not isinstance(state[key], dict):
            raise bad(key, f"is {_kind(state[key])}, expected a record")
    for name, value in state["weights"].items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise bad(f"weights.{show_path(str(name))}", f"is {_kind(value)}, not numbers")
    for key, value in state["engine"].items():
        if not _is_plain(value):
            raise bad(f"engine.{show_path(str(key))}", f"is {_kind(value)}")
    for key, value in state["callbacks"].items():
        if not isinstance(value, dict):
            raise bad(f"callbacks.{show_path(str(key))}", f"is {_kind(value)}, expected a record")
    _validate_history(state["history"], epoch, bad)
    meta = state["meta"]
    for key, kinds in META_FIELDS.items():
        if key in meta and (not isinstance(meta[key], kinds) or isinstance(meta[key], bool)):
            raise bad(f"meta.{key}", f"is {_kind(meta[key])}")
    if isinstance(meta.get("overrides"), list) and not all(
        isinstance(o, str) for o in meta["overrides"]
    ):
        raise bad("meta.overrides", "holds something other than text")
    if "epochs" in meta and meta["epochs"] < max(epoch, 1):
        raise bad("meta.epochs", f"is {meta['epochs']}, but {epoch} epochs are done")


def _validate_history(history: Any, epoch: int, bad: Any) -> None:
    """The history must hold exactly `epoch` epochs: numbered 0 to epoch - 1, one number
    per metric each (NaN where a metric was not logged)."""
    if not isinstance(history, dict) or {"epoch", "history", "info"} - set(history):
        raise bad("history", f"is {_kind(history)}, expected a record of epoch, history, info")
    held = history["epoch"]
    # compared item by item: list(range(epoch)) would allocate what the file claims
    if (
        not isinstance(held, list)
        or len(held) != epoch
        or any(not _is_int(e) or e != i for i, e in enumerate(held))
    ):
        what = f"{len(held)} epochs" if isinstance(held, list) else _kind(held)
        raise bad("history.epoch", f"holds {what}, but 'epoch' says {epoch} are done")
    if not isinstance(history["history"], dict):
        raise bad("history.history", f"is {_kind(history['history'])}, expected a record")
    for key, values in history["history"].items():
        field = f"history.history.{show_path(str(key))}"
        if not isinstance(values, list) or len(values) != epoch:
            held = f"{len(values)} values" if isinstance(values, list) else _kind(values)
            raise bad(field, f"holds {held}, expected one per epoch ({epoch})")
        if not all(_is_number(v) for v in values):
            raise bad(field, "holds something other than numbers")
    if not isinstance(history["info"], dict):
        raise bad("history.info", f"is {_kind(history['info'])}, expected a record")


def _is_plain(value: Any) -> bool:
    """Numbers, arrays of numbers, text, None, and records or lists of them."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, dict):
        return all(_is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    """`value` as a message shows it: short, and safe to print."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} {value.shape}"
    if isinstance(value, dict):
        return "a record"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = repr(value)
    return show_path(text if len(text) <= 40 else text[:37] + "...")


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
        return {k: _join(v, arrays) for k, v in value["__dict__"]}  # TypeError when damaged
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
        with held_signals():  # a Ctrl-C during the write lands after written_epoch is set
            save_checkpoint(self.path, self.last)
            self.written_epoch = self.last["epoch"]

    def remove(self) -> None:
        """Delete the file: nothing is left to continue (the run finished)."""
        self.path.unlink(missing_ok=True)


class Interrupts:
    """What `signals_interrupt()` does with SIGINT and SIGTERM: raise KeyboardInterrupt
    (training stops at once, its checkpoint kept), or, once `hold()` is called (training
    is over and its folder is being written), record the first in `received` and let the
    work finish."""

    def __init__(self) -> None:
        self.holding = False
        self.received: str | None = None

    def hold(self) -> None:
        self.holding = True

    def handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if not self.holding:
            raise KeyboardInterrupt(f"signal {name}")
        self.received = self.received or name


@contextmanager
def signals_interrupt() -> Iterator[Interrupts]:
    """SIGINT and SIGTERM raise KeyboardInterrupt while inside (in the main thread), so a
    `kill` stops training the way Ctrl-C does: checkpoint written, run folder kept. The
    `Interrupts` it gives can hold them off instead (`hold()`)."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, interrupts.handle) for s in signals}
    try:
        yield interrupts
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
