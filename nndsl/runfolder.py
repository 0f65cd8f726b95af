"""The run folder's life: locked, assembled aside, checkpointed, swapped in whole, resumed.

Layout of `nndsl run --out RUN` (or runs/MODEL-TIME):

    RUN.lock            while a run writes any of the folders below: its pid, under an
                        OS lock (flock) that ends with the process however it ends
    RUN.partial/        while training: the folder being assembled
        checkpoint.npz  the state at the end of the last finished epoch, written every
                        `checkpoint_every` epochs and on Ctrl-C / SIGTERM (atomically)
    RUN/                once training ends, however it ends: weights.npz, model.nn,
                        history.csv, metrics.json, curves.png, scores.json and the
                        pictures of the predictions (nndsl.train.model_pictures),
                        vocab.json (a model trained on text: its token ids), then
                        config.yaml last
                        (a folder holding it is complete), and checkpoint.npz when the
                        run was interrupted (status `interrupted`): `nndsl run --resume
                        RUN` continues it
    RUN.old/            only for a moment: the previous RUN while the new one moves in

Guarantees:
- One run writes RUN at a time: a second one is refused (`RunLocked`, naming the first's
  pid); the lock file of a process that died is taken over. Default folders skip names
  another run holds.
- At every moment one complete folder exists. Files are written atomically (temporary
  file, fsync, rename); the finished folder replaces the old one by two renames
  (`swap_in`: RUN -> RUN.old, RUN.partial -> RUN, RUN.old deleted). A crash anywhere
  leaves RUN, or RUN.partial whole (config.yaml in it), or RUN.old: `recover`, run by
  every run and `--resume` into RUN under its lock, swaps in the whole RUN.partial or
  puts RUN.old back; `find_checkpoint` reads that state as the folder it stands for.
- Progress is never lost to a crash that leaves a checkpoint: a run killed outright
  (kill -9, power loss) leaves RUN.partial with its last periodic checkpoint, kept until
  the finished folder is written whole; `--resume RUN` takes whichever of RUN and
  RUN.partial holds the later epoch, and a plain rerun refuses to delete it.
- A signal after the last epoch does not stop the run's writing: the folder is finished
  (the curve plot skipped) and the run exits with 130.
- A killed writer's temporary files (`.NAME.RANDOM.tmp`) never reach RUN: a resume keeps
  only RUN.partial's checkpoint, and `swap_in` drops them.
- A failed write (a full disk, a read-only folder) is one NNDSLError naming the file and
  the cause; RUN is left as it was, and RUN.partial is removed unless its checkpoint is
  what a resume needs.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nndsl.api import RUN_WEIGHTS
from nndsl.data.text import Vocabulary
from nndsl.errors import NNDSLError
from nndsl.files import is_temporary, write_error
from nndsl.train.history import History
from nndsl.weights import load_weights_meta

try:
    import fcntl
except ImportError:  # not a POSIX system: runs are not locked
    fcntl = None  # type: ignore[assignment]

CHECKPOINT = "checkpoint.npz"
COMPLETE = "config.yaml"  # written last: a folder holding it is complete
PARTIAL = ".partial"
OLD = ".old"
LOCK = ".lock"
FINISHED = ("completed", "stopped early", "failed")  # statuses with nothing to continue


def partial_of(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL)


def old_of(final: Path) -> Path:
    return final.with_name(final.name + OLD)


def lock_of(final: Path) -> Path:
    return final.with_name(final.name + LOCK)


def is_complete(folder: Path) -> bool:
    return (folder / COMPLETE).is_file()


def final_of(folder: Path) -> Path:
    return (
        folder.with_name(folder.name[: -len(PARTIAL)]) if folder.name.endswith(PARTIAL) else folder
    )


def find_checkpoint(run: str | Path) -> tuple[dict, Path]:
    """(state, final folder) of the latest checkpoint of run folder `run` (RUN or
    RUN.partial). Reads only: what a crash left (a RUN.partial written whole, or RUN
    moved aside to RUN.old) is read as the folder it stands for."""
    from nndsl.train.checkpoint import load_checkpoint

    final = final_of(Path(run))
    partial = partial_of(final)
    current = standing_folder(final)
    folders = [current] if current is not None else []
    if current != partial:
        folders.append(partial)  # an unfinished run's periodic checkpoint, if any
    candidates = [p / CHECKPOINT for p in folders if _resumable(p)]
    if not candidates:
        where = Path(run)
        hint = (
            "it finished: there is nothing to continue"
            if current is not None and is_complete(current)
            else "only interrupted runs, or runs with checkpoint_every set, can be resumed"
        )
        raise NNDSLError(f"no checkpoint in {where} (or {partial.name})", hint=hint)
    states = []
    errors = []
    for path in candidates:
        try:
            states.append((load_checkpoint(path), path))
        except NNDSLError as e:  # a damaged one: the other may do
            errors.append(e)
    if not states:
        raise errors[0]
    state, _ = max(states, key=lambda s: s[0]["epoch"])
    return state, final


def standing_folder(final: Path) -> Path | None:
    """The complete folder that RUN is: RUN.partial when it was written whole but a crash
    came before it was swapped in, else RUN, else RUN.old when a crash came between the
    two renames of `swap_in`; None when there is none."""
    partial, old = partial_of(final), old_of(final)
    if is_complete(partial):
        return partial
    return next((p for p in (final, old) if p.is_dir()), None)


def _resumable(folder: Path) -> bool:
    """Whether `folder` holds a checkpoint to continue: one left in a complete folder
    whose run finished (a crash before it was removed) is not."""
    if not (folder / CHECKPOINT).is_file():
        return False
    return not is_complete(folder) or _run_config(folder).get("status") not in FINISHED


def resume_settings(run: str | Path, epochs: int | None = None) -> tuple[dict, dict[str, Any]]:
    """(checkpoint state, run settings) to continue the run in folder `run`: its program
    compiled from its source as it was (data resolved beside the original file), the same
    overrides, model, backend, device and seed, into the same folder; `epochs` may extend
    it. Reads only: every process of a distributed run calls it and continues from the
    same state."""
    from nndsl.api import compile_string

    state, final = find_checkpoint(run)
    meta = state["meta"]
    if "source" not in meta:
        raise NNDSLError(f"the checkpoint in {final} does not say what it trains")
    overrides = list(meta.get("overrides", []))
    if epochs is not None:
        overrides.append(f"epochs={epochs}")
    program = compile_string(meta["source"], meta["path"], overrides)
    if (
        meta.get("graph") is not None
        and program.model_graph(meta.get("model")).to_dict() != meta["graph"]
    ):
        raise NNDSLError(
            f"the checkpoint in {final} was written for another model graph",
            hint="it was written by another version of nndsl",
        )
    settings = {
        "program": program,
        "file": meta["path"],
        "out": final,
        "model": meta.get("model"),
        "backend": meta.get("backend", "numpy"),
        "device": meta.get("device") or "auto",
        "seed": meta.get("seed"),
    }
    return state, settings


def prepare_partial(partial: Path, resuming: bool) -> None:
    """An empty RUN.partial to assemble the run in (call it holding the run's lock),
    after finishing what a crash left (`recover`). A leftover one holding a checkpoint is
    a crashed run's only copy of its progress: kept when resuming (its checkpoint only:
    half-written files and writers' temporaries go), refused otherwise."""
    final = final_of(partial)
    recover(final)
    with _fs_errors(partial, "prepare"):
        if partial.exists() and not resuming:
            if (partial / CHECKPOINT).is_file():
                raise NNDSLError(
                    f"{partial} holds the checkpoint of an unfinished run",
                    hint=f"continue it: nndsl run --resume {final}; or delete the folder",
                )
            shutil.rmtree(partial)
        elif partial.exists():
            for path in partial.iterdir():
                if path.name != CHECKPOINT:
                    _remove(path)
        partial.mkdir(parents=True, exist_ok=True)


def discard_partial(partial: Path, keep_checkpoint: bool) -> None:
    """Nothing (more) can be written: remove the folder, unless it holds a checkpoint
    that a resume needs and `keep_checkpoint`."""
    if not keep_checkpoint or not (partial / CHECKPOINT).is_file():
        shutil.rmtree(partial, ignore_errors=True)


def recover(final: Path) -> None:
    """Finish what a crash interrupted (call it holding the run's lock): a RUN.partial
    written whole is swapped in (it is the newest run: a crash came after its last file);
    RUN.old is put back when RUN is missing (a crash between the two renames and no whole
    RUN.partial), and removed when RUN is there."""
    partial, old = partial_of(final), old_of(final)
    with _fs_errors(final, "recover"):
        if is_complete(partial):
            if _run_config(partial).get("status") in FINISHED:
                (partial / CHECKPOINT).unlink(missing_ok=True)  # finished: nothing to resume
            swap_in(partial, final)
        elif old.exists():
            if final.exists():
                shutil.rmtree(old)
            else:
                old.rename(final)


def recover_now(run: str | Path) -> None:
    """`recover` the run folder `run` under its lock, when any of its folders exists
    (`--resume` does, before it looks for the checkpoint: RUN is then in place)."""
    final = final_of(Path(run))
    if any(p.exists() for p in (final, partial_of(final), old_of(final))):
        with RunLock(final):
            recover(final)


def swap_in(partial: Path, final: Path) -> None:
    """Replace `final` by the complete `partial` (any writer's temporary left in it by a
    killed process removed first), never leaving neither: RUN -> RUN.old, RUN.partial
    -> RUN, RUN.old deleted. A crash between the renames leaves RUN.old and the whole
    RUN.partial, which `recover` (any later run or resume) swaps in."""
    old = old_of(final)
    with _fs_errors(final, "replace"):
        for path in partial.iterdir():
            if is_temporary(path.name):
                _remove(path)
        if final.exists():
            if old.exists():  # a finished swap's leftover: RUN is the complete folder
                shutil.rmtree(old)
            final.rename(old)
        try:
            partial.rename(final)
        except OSError:  # refused (not a crash): the old folder goes back in place
            if old.exists() and not final.exists():
                old.rename(final)
            raise
        if old.exists():
            shutil.rmtree(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def _fs_errors(folder: Path, doing: str) -> Iterator[None]:
    """An OSError (a read-only or full disk) as one message naming the file or folder."""
    try:
        yield
    except OSError as e:
        raise write_error(e.filename or folder, e, doing) from None


class RunLocked(NNDSLError):
    """Another process holds the run folder's lock."""


def is_locked(final: Path) -> bool:
    """Whether a run holds RUN's lock now (it is training or writing RUN): read only,
    the lock file is neither created nor taken."""
    if fcntl is None:
        return False
    try:
        fd = os.open(lock_of(final), os.O_RDONLY)
    except OSError:  # no lock file: no run
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing it lets go of the shared lock, if it was taken
    return False


class RunLock:
    """RUN.lock, beside the run folder, held while a run writes RUN, RUN.partial and
    RUN.old: a second run with the same folder is refused, naming the first's pid. The
    lock is the operating system's (flock), which ends with its process however that
    ends: the lock file a killed run leaves behind is simply taken over. (On systems
    without fcntl, runs are not locked.)"""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = lock_of(final)
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None:
            return self
        with _fs_errors(self.path, "create the lock file"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while self.fd is None:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pid = os.read(fd, 32).decode("ascii", "replace").strip()
                    os.close(fd)
                    raise RunLocked(
                        f"{self.final} is being written by another nndsl run"
                        + (f" (pid {pid})" if pid.isdigit() else ""),
                        hint="wait for it to finish, or give another --out",
                    ) from None
                except BaseException:
                    os.close(fd)
                    raise
                # its holder may have removed the file between our open and our lock: a
                # lock on a name no longer there guards nothing, so try again
                if _same_file(self.path, fd):
                    self.fd = fd
                else:
                    os.close(fd)
            os.ftruncate(self.fd, 0)
            os.write(self.fd, f"{os.getpid()}\n".encode("ascii"))
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # still held: no one else holds this name now
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire() if self.fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def checkpoint_meta(request: Any, model: Any) -> dict:
    """What `--resume` needs to rebuild this run (`request`: nndsl.run.RunRequest)."""
    return {
        "source": request.program.source,
        "path": str(Path(request.file).resolve()),
        "overrides": list(request.program.overrides),
        "model": request.model,
        "graph": model.graph.to_dict(),
        "backend": model.backend,
        "device": request.device,
        "seed": request.seed,
        "folder": str(request.out.resolve()),
        "epochs": model.plan.epochs,
    }


# ------------------------------------------------------------------ a run as a model


@dataclass(frozen=True)
class ModelRef:
    """What `nndsl evaluate/predict FILE` names: a .nn file, or a run folder (or its
    model.nn), whose weights.npz is then the default weights."""

    source: Path  # the .nn file to compile
    weights: str | None
    run: Path | None = None  # the run folder, when FILE was one (or inside one)


def open_model_ref(file: str, weights: str | None) -> ModelRef:
    path = Path(file)
    run = None
    if path.is_dir():
        if (path / "sweep.csv").is_file():
            raise NNDSLError(
                f"{path} is a sweep folder",
                hint=f"give one trial's run folder, e.g. {path / 'trial-01'}",
            )
        if not (path / "model.nn").is_file():
            hint = (
                f"it is an unfinished run: nndsl run --resume {final_of(path)}"
                if (path / CHECKPOINT).is_file()
                else "a run folder holds model.nn, weights.npz and config.yaml"
            )
            raise NNDSLError(f"{path} is a folder but not a run folder (no model.nn)", hint=hint)
        run, path = path, path / "model.nn"
    elif path.name == "model.nn" and (path.parent / "config.yaml").is_file():
        run = path.parent
    if run is not None and weights is None:
        if not (run / "weights.npz").is_file():
            raise NNDSLError(f"the run folder {run} holds no weights.npz")
        weights = str(run / "weights.npz")
    return ModelRef(path, weights, run)


def compile_run_source(ref: ModelRef) -> Any:
    """A run folder's model.nn compiled as the run compiled it: with its overrides, and
    its data paths relative to the original file's folder (where the data is), unless
    that folder is gone (another machine): then relative to the run folder."""
    from nndsl.api import compile_string

    try:
        text = ref.source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise NNDSLError(f"cannot read {ref.source}: {e}") from None
    config = _run_config(ref.run)
    overrides = config.get("overrides")
    overrides = [o for o in overrides if isinstance(o, str)] if isinstance(overrides, list) else []
    program = compile_string(text, str(ref.source), overrides, _trained_widths(ref.weights))
    original = config.get("source")
    if isinstance(original, str) and Path(original).parent.is_dir():
        base = str(Path(original).parent)
        program.plans[:] = [plan.replace(base_dir=base) for plan in program.plans]
    return program


def _trained_widths(weights: str | None) -> dict[str, int]:
    """{model: its input's width} as trained, from the weights file's graph: what an
    input(auto) of the run's model.nn took, so it compiles without reading the data."""
    if weights is None:
        return {}
    try:
        graph = load_weights_meta(weights).get("graph") or {}
    except NNDSLError:
        return {}  # a damaged file: loading the weights says so
    shapes = [n.get("shape") for n in graph.get("nodes", []) if n.get("op") == "input"]
    if len(shapes) != 1 or not isinstance(shapes[0], list) or len(shapes[0]) != 1:
        return {}
    return {str(graph.get("name")): int(shapes[0][0])}


def _run_config(run: Path | None) -> dict:
    return RunFolder(run).config if run is not None else {}


class RunFolder:
    """A run folder, read: the one reader of what `nndsl.run` writes there, for report,
    sweeps, evaluate/predict and resume. A missing or damaged file reads as empty."""

    CONFIG, HISTORY, METRICS, WEIGHTS, SOURCE, VOCAB = (
        COMPLETE,
        "history.csv",
        "metrics.json",
        RUN_WEIGHTS,
        "model.nn",
        "vocab.json",
    )

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def complete(self) -> bool:
        return is_complete(self.path)

    @functools.cached_property
    def config(self) -> dict[str, Any]:
        """config.yaml: the resolved configuration, status, names, graph."""
        try:
            value = yaml.safe_load(self._text(self.CONFIG) or "{}")
        except yaml.YAMLError:
            return {}
        return value if isinstance(value, dict) else {}

    @functools.cached_property
    def history(self) -> History:
        """history.csv, with early stopping's record from the configuration."""
        info = self.config.get("early_stop")
        try:
            return History.from_csv(
                self._text(self.HISTORY), info if isinstance(info, dict) else {}
            )
        except (ValueError, IndexError):
            return History()

    @functools.cached_property
    def metrics(self) -> dict[str, Any]:
        """metrics.json: final metrics per split."""
        try:
            value = json.loads(self._text(self.METRICS) or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @functools.cached_property
    def vocab(self) -> Vocabulary | None:
        """vocab.json: the token ids of a model trained on text (None: none, or damaged;
        the weights file holds the same vocabulary)."""
        try:
            return Vocabulary.from_dict(json.loads(self._text(self.VOCAB) or "null"))
        except (ValueError, NNDSLError):
            return None

    @property
    def weights(self) -> Path:
        return self.path / self.WEIGHTS

    @property
    def source(self) -> Path:
        return self.path / self.SOURCE

    def _text(self, name: str) -> str:
        try:
            return (self.path / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""
