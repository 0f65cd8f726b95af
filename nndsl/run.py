"""A training run: one `RunRequest` trained and written as a run folder (`nndsl run`'s
command line: nndsl.commands.run; sweeps run each trial through `train_run` too).

A run folder holds the resolved configuration (config.yaml), the metrics history
(history.csv), the weights (weights.npz, no pickle), final metrics (metrics.json), a copy
of the source (model.nn), the learning curves (curves.png, with matplotlib), pictures of
the predictions on held-out data with their scores (scores.json, per_class.csv,
confusion.png, ...: nndsl.train.model_pictures) and, for a model trained on text, its
vocabulary (vocab.json). It is
assembled under `<dir>.partial` and renamed into place only when complete; an
interrupted run keeps a checkpoint that `nndsl run --resume DIR` continues (the layout
and its guarantees: nndsl.runfolder).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_text
from nndsl.report import report_html
from nndsl.runfolder import (
    CHECKPOINT,
    COMPLETE,
    RunLock,
    RunLocked,
    checkpoint_meta,
    discard_partial,
    partial_of,
    prepare_partial,
    swap_in,
)
from nndsl.train.callbacks import Callback
from nndsl.train.checkpoint import Checkpoint, restore, signals_interrupt
from nndsl.train.model_pictures import evaluate_held_out, write_tables
from nndsl.train.plots import BackgroundPlotter, draw_here
from nndsl.train.tracking import Tracker, flat_params, make_tracker

# ------------------------------------------------------------------ run


@dataclass
class RunRequest:
    """One `nndsl run`, resolved from the command line (or a checkpoint, or a sweep's
    trial) before anything trains: what to train, how, into which folder."""

    file: str  # the .nn file: messages, and data paths relative to it
    program: Any  # nndsl.api.Program, overrides applied
    backend: str = "numpy"
    device: str = "auto"
    model: str | None = None
    seed: int | None = None
    out: Path | None = None  # None: runs/MODEL-TIME
    quiet: bool = False
    resume: dict | None = None  # the checkpoint state to continue from
    # more callbacks for the training loop: a search's pruning (nndsl.sweep.search)
    callbacks: tuple[Callback, ...] = ()

    @property
    def overrides(self) -> list[str]:
        return list(self.program.overrides)


def train_run(request: RunRequest, rank: int = 0) -> int:
    """Train `request` and (rank 0) write its run folder; the exit status."""
    if rank:
        return _train_in_step(request)
    # started first: it imports matplotlib while this process compiles and trains
    plotter = BackgroundPlotter()
    try:
        return _train_and_write(request, plotter)
    finally:
        plotter.close()


def build_model(
    program: Any,
    backend: str = "numpy",
    device: str = "auto",
    model: str | None = None,
    seed: int | None = None,
) -> Any:
    """`program.build` with a command line's choices: the device counts only on torch, the
    seed only when given (else the file's)."""
    build: dict[str, Any] = {"backend": backend, "model": model}
    if backend == "torch":
        build["device"] = device
    if seed is not None:
        build["seed"] = seed
    return program.build(**build)


def _build_run(request: RunRequest) -> Any:
    model = build_model(
        request.program, request.backend, request.device, request.model, request.seed
    )
    if model.plan is None:
        raise NNDSLError(
            f"{request.file} has no train block for '{model.graph.name}'",
            hint=f"add: train {model.graph.name} {{ loss = ... data = ... }}",
        )
    return model


class _ResumeFrom(Callback):
    """Continue from a checkpoint's state without writing one (a process other than rank
    0 of a distributed run: rank 0 keeps the checkpoint)."""

    def __init__(self, state: dict) -> None:
        self.state = state

    def on_train_begin(self) -> None:
        restore(self.trainer, self.state)


def _train_in_step(request: RunRequest) -> int:
    """A process other than rank 0: trains in step with it (DDP) and writes nothing, then
    evaluates its share of the final metrics with it."""
    model = _build_run(request)
    callbacks = [_ResumeFrom(request.resume)] if request.resume is not None else []
    try:
        model.fit(verbose=0, callbacks=callbacks)
        _final_metrics(model, model.load_data())
    except NNDSLError:
        return 1  # rank 0 reports it
    except KeyboardInterrupt:
        return 130
    return 0


def _train_and_write(request: RunRequest, plotter: Any) -> int:
    model = _build_run(request)
    splits = model.load_data()  # first: a refused data file leaves no folder behind
    with _lock_run_folder(request.out, model.graph.name) as lock:
        request.out = lock.final
        return _train_locked(request, model, splits, plotter)


def _train_locked(request: RunRequest, model: Any, splits: Any, plotter: Any) -> int:
    """Train and write the run folder (holding its lock). Until the last epoch ends a
    signal stops training (a checkpoint kept); after it, the folder is finished first
    (the curve plot skipped) and the run exits with 130."""
    final = request.out
    plan = model.plan
    say = (lambda *a: None) if request.quiet else (lambda *a: print(*a, file=sys.stderr))
    say(
        f"training {model.graph.name} ({model.graph.param_count:,} parameters) on "
        f"{len(splits.train)} samples"
        + (f", validating on {len(splits.validation)}" if splits.validation else "")
        + f" [{model.backend}]"
    )
    resuming = request.resume is not None
    partial = partial_of(final)
    status = "completed"
    error: NNDSLError | None = None
    with signals_interrupt() as interrupts:  # SIGTERM stops it as Ctrl-C does
        prepare_partial(partial, resuming=resuming)
        checkpoint = Checkpoint(  # state of the last finished epoch: periodically, on Ctrl-C
            partial / CHECKPOINT,
            plan.checkpoint_every,
            resume=request.resume or False,
            meta=checkpoint_meta(request, model),
        )
        tracker = _tracker(request, model)  # before training: a missing library stops it
        started = time.perf_counter()
        try:
            callbacks = [checkpoint, *request.callbacks]
            callbacks += [tracker] if tracker is not None else []
            model.fit(verbose=0 if request.quiet else 1, callbacks=callbacks)
            interrupts.hold()  # trained: whatever comes now, the folder is written first
            if model.history.info.get("stopped_epoch"):
                status = "stopped early"
            if model.history.info.get("pruned_epoch"):  # a search stopped it (Optuna)
                status = "pruned"
        except (KeyboardInterrupt, NNDSLError) as e:
            interrupts.hold()
            if checkpoint.last is None:  # refused before training began: no run
                discard_partial(partial, keep_checkpoint=resuming)
                if tracker is not None:
                    tracker.abort()
                raise
            if isinstance(e, KeyboardInterrupt):
                status = "interrupted"
                if checkpoint.written_epoch != checkpoint.last["epoch"]:
                    checkpoint.save()  # the signal came after the last save began
                say(
                    f"interrupted: saving the weights so far and a checkpoint of epoch "
                    f"{checkpoint.written_epoch}; continue with: nndsl run --resume {final}"
                )
            else:  # diverged, bad monitor...: keep what is good, then report
                status = "failed"
                error = e
        seconds = time.perf_counter() - started
        history = model.history or model.trainer.history
        # interrupted, the other processes of a distributed run are stopping too: this one
        # evaluates every row alone rather than in step with them
        model.engine.evaluates_alone = status == "interrupted"
        metrics = _final_metrics(model, splits) if status != "failed" else {}
        pictures = _pictures(model, splits, say) if status != "failed" else []
        try:
            _write_run(
                partial, request, model, history, metrics, status, seconds, plotter,
                cancel=lambda: interrupts.received is not None, pictures=pictures,
            )  # fmt: skip
            if status != "interrupted":
                checkpoint.remove()  # finished, and written whole: nothing to continue
            swap_in(partial, final)  # a complete folder replaces the old one at once
        except NNDSLError:  # a full disk, a read-only folder: the old folder stays
            discard_partial(partial, keep_checkpoint=True)
            if tracker is not None:
                tracker.abort()
            raise
        if tracker is not None:
            _track_folder(tracker, final, metrics, status)
    if not request.quiet and metrics:
        print(metrics_table(metrics))
    say(f"run folder: {final}")
    if error is not None:
        raise error
    if interrupts.received and status != "interrupted":
        say(f"interrupted ({interrupts.received}) after training ended: the run folder is whole")
        return 130
    return 130 if status == "interrupted" else 0


def _tracker(request: RunRequest, model: Any) -> Tracker | None:
    """The train block's `log = ...` trackers (nndsl.train.tracking), opened, or None."""
    plan = model.plan
    if not plan.log:
        return None
    extra = {"backend": model.backend, "file": request.file, "params": model.graph.param_count}
    extra["overrides"] = "; ".join(request.overrides) or None
    params = flat_params(plan, extra)
    return make_tracker(plan.log, Path.cwd(), request.out.name, model.graph.name, params)


def _track_folder(tracker: Tracker, folder: Path, metrics: dict, status: str) -> None:
    """The written run folder to the trackers: its report first, so it goes too."""
    report = folder / "report.html"
    try:
        atomic_write_text(report, report_html(folder))
    except NNDSLError:  # a report that cannot be made must not cost the tracking
        pass
    files = [folder / n for n in ("weights.npz", "config.yaml", "history.csv", "curves.png")]
    tracker.finish(metrics, [*files, report], status)


def _lock_run_folder(out: Path | None, name: str) -> RunLock:
    """The lock of the run folder `out`, or of the first runs/NAME-TIME[-K] that no other
    run has (two runs started in the same second get different folders)."""
    if out is not None:
        return RunLock(out).acquire()
    for path in _default_dirs(name):
        try:
            lock = RunLock(path).acquire()
        except RunLocked:
            continue
        if not _taken(path):  # no run finished into it between the look and the lock
            return lock
        lock.release()
    raise AssertionError("unreachable: the names never run out")


def default_dir(name: str) -> Path:
    """runs/NAME-TIME, or runs/NAME-TIME-K when that is taken."""
    return next(_default_dirs(name))


def _default_dirs(name: str) -> Iterator[Path]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{name}-{stamp}"
    for k in itertools.count(1):
        path = base if k == 1 else base.with_name(f"{base.name}-{k}")
        if not _taken(path):
            yield path


def _taken(path: Path) -> bool:
    return path.exists() or partial_of(path).exists()


def _final_metrics(model: Any, splits: Any) -> dict[str, dict[str, float]]:
    out = {}
    for name in ("train", "validation", "test"):
        part = getattr(splits, name)
        # rows streamed from files are not read again whole: their epochs' logs say
        if part is not None and not hasattr(part, "for_epoch"):
            weights = getattr(part, "weights", None)  # a weight column weighs every split
            out[name] = model.evaluate_scaled(part.x, model.targets_of(part), None, weights)
    if getattr(splits, "baselines", None):  # series(): the naive forecasts, to compare
        out["baselines"] = splits.baselines
    return out


def _pictures(model: Any, splits: Any, say: Callable[..., None]) -> list[dict]:
    """What the model's pictures show (nndsl.train.model_pictures), or none: a picture
    that cannot be made must not cost the run it pictures."""
    try:
        return evaluate_held_out(model, splits)
    except Exception as e:  # noqa: BLE001
        say(f"model pictures skipped: {e}")
        return []


def metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    baselines = metrics.get("baselines") or {}
    metrics = {k: v for k, v in metrics.items() if k != "baselines"}
    keys = list(next(iter(metrics.values())))
    rows = [["split", *keys]] + [
        [name, *(f"{m[k]:.4f}" for k in keys)] for name, m in metrics.items()
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = "\n".join(
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    )
    return table + "".join(  # series(): the naive forecasts on the same windows
        f"\n{held}, {name} baseline: " + "  ".join(f"{k} {v:.4f}" for k, v in values.items())
        for held, forecasts in baselines.items()
        for name, values in forecasts.items()
    )


def _write_run(
    folder: Path,
    request: RunRequest,
    model: Any,
    history: Any,
    metrics: dict,
    status: str,
    seconds: float,
    plotter: Any = None,
    cancel: Callable[[], bool] | None = None,
    pictures: list[dict] = (),
) -> None:
    """The run folder's files; config.yaml last, as the mark of a complete folder (a
    crash before it leaves a folder `nndsl.runfolder.recover` knows is not).
    `cancel()` true (a signal came): the curve plot is skipped rather than waited for."""
    import yaml

    from nndsl import __version__

    model.save(folder / "weights.npz")
    atomic_write_text(folder / "model.nn", request.program.source)
    if history is not None:
        atomic_write_text(folder / "history.csv", history.to_csv())
    atomic_write_text(folder / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_tables(folder, list(pictures))  # per_class.csv, scores.json
    if model.vocab is not None:  # the token ids, for people and tools (the weights hold it too)
        vocab = json.dumps(model.vocab.to_dict(), indent=1, ensure_ascii=False)
        atomic_write_text(folder / "vocab.json", vocab + "\n")
    if history is not None and len(history):
        path, title = folder / "curves.png", model.graph.name
        if plotter is not None:
            note = plotter.plot(history, path, title, cancel=cancel, pictures=list(pictures))
        else:
            note = draw_here(history, path, title, list(pictures))
        if note and not request.quiet:
            print(note, file=sys.stderr)
    config = {
        "nndsl": __version__,
        "source": str(Path(request.file).resolve()),
        "model": model.graph.name,
        "backend": model.backend,
        "seed": model.seed,
        "status": status,
        "seconds": round(seconds, 3),
        "overrides": request.overrides,
        "train": model.plan.to_dict(),
        "scaler": model.scaler,
        "class_names": model.class_names,
        "class_weights": model.class_weights,  # class_weight, as resolved on the training split
        "feature_names": model.feature_names,  # new data is matched to these by name
        "target_names": model.target_names,
        "early_stop": dict(history.info) if history is not None else {},
        "graph": model.graph.to_dict(),
    }
    atomic_write_text(folder / COMPLETE, yaml.safe_dump(config, sort_keys=False))
