"""`nndsl run`, `evaluate` and `predict`: train from a file and leave a run folder.

A run folder holds the resolved configuration (config.yaml), the metrics history
(history.csv), the weights (weights.npz, no pickle), final metrics (metrics.json), a copy
of the source (model.nn) and the learning curves (curves.png, with matplotlib). It is
assembled under `<dir>.partial` and renamed into place only when complete; an
interrupted run keeps a checkpoint that `nndsl run --resume DIR` continues (the layout
and its guarantees: nndsl.runfolder).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_text
from nndsl.runfolder import (
    CHECKPOINT,
    COMPLETE,
    RunLock,
    RunLocked,
    checkpoint_meta,
    compile_run_source,
    discard_partial,
    open_model_ref,
    partial_of,
    prepare_partial,
    recover_now,
    swap_in,
)
from nndsl.train.callbacks import Callback
from nndsl.train.checkpoint import Checkpoint, restore, signals_interrupt
from nndsl.train.plots import BackgroundPlotter, plot_curves

BACKENDS = ["numpy", "torch"]


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "run",
        cmd_run,
        "train the model of a .nn file and write a run folder",
        [
            "nndsl run examples/will_i_pass.nn --epochs 50 --set optimizer=sgd(lr=0.1)",
            "nndsl run sweep.nn --trials 8 --jobs 4     # a file with lists: a sweep",
            "nndsl run examples/digits.nn --backend torch --device cuda",
        ],
    )
    p.add_argument("file", metavar="FILE", nargs="?", help="the .nn file")
    add_backend_options(p)
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue an interrupted run from its checkpoint (--epochs may extend it)",
    )
    p.add_argument("--epochs", type=int, help="override the train block's epochs")
    p.add_argument("--seed", type=int, help="override the train block's seed")
    add_set_option(p)
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/MODEL-TIME)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="torch: train in N processes (DistributedDataParallel, launched with torchrun)",
    )
    p.add_argument(
        "--trials",
        type=int,
        metavar="N",
        help="sweep files: train a seeded random sample of N trials instead of the whole grid",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="sweep files: train N trials at a time, each in its own process",
    )

    p = add(
        "evaluate",
        cmd_evaluate,
        "evaluate saved weights on the file's data or --data",
        "nndsl evaluate examples/digits.nn --weights runs/digits/weights.npz",
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    add_backend_options(p)
    p.add_argument(
        "--weights",
        metavar="W",
        help="weights saved by a run (not needed when the file writes them all)",
    )
    p.add_argument("--data", metavar="D", help=".csv or .npz (default: the test split)")

    p = add(
        "predict",
        cmd_predict,
        "predict with saved weights; writes a CSV",
        "nndsl predict examples/will_i_pass.nn --weights W --data new.csv --out p.csv",
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    add_backend_options(p)
    p.add_argument(
        "--weights",
        metavar="W",
        help="weights saved by a run (not needed when the file writes them all)",
    )
    p.add_argument("--data", required=True, metavar="D", help=".csv or .npz of inputs")
    p.add_argument("--out", metavar="PATH", help="CSV to write (default: standard output)")


def add_set_option(p: argparse.ArgumentParser) -> None:
    """`--set KEY=VALUE`, shared by every command that trains."""
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a train setting, in .nn syntax (repeatable)",
    )


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """`--backend`, `--device` and `--model`, shared by every command that builds a model."""
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="numpy",
        help="numpy (the default, nothing to install) or torch (CPU or GPU)",
    )
    p.add_argument("--device", default="auto", help="torch: auto, cpu, cuda or cuda:N")
    p.add_argument("--model", help="which model of the file (default: the trained one)")


def _build(args: argparse.Namespace, program: Any = None) -> Any:
    """(program, model) for evaluate and predict."""
    from nndsl.api import compile_file

    program = program or compile_file(args.file)
    if program.sweep is not None and program.train is not None:
        raise NNDSLError(
            f"{args.file} is a sweep of {len(program.trials)} trials; give one trial's file",
            hint="each trial's run folder holds the trial as model.nn (its data paths are "
            "relative to this file's folder: save it beside this file) and its weights.npz",
        )
    build: dict[str, Any] = {"backend": args.backend, "model": args.model}
    if args.backend == "torch":
        build["device"] = args.device
    return program, program.build(**build)


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

    @property
    def overrides(self) -> list[str]:
        return list(self.program.overrides)


def cmd_run(args: argparse.Namespace) -> int:
    """Resolve the request, start the processes it needs, train, write the folder."""
    from nndsl.api import compile_file
    from nndsl.backends.torch.distributed import join, launch, leave, under_torchrun
    from nndsl.runfolder import resume_settings
    from nndsl.sweep.runner import run_sweep

    common = {"quiet": args.quiet}
    if args.resume:
        if not under_torchrun():  # there, rank 0 recovers it, under the lock, when it writes
            recover_now(args.resume)  # a crash mid-swap: RUN in place before it is read
        state, settings = resume_settings(args)
        request = RunRequest(**settings, **common, resume=state)
    elif not args.file:
        raise NNDSLError("nndsl run needs a FILE, or --resume RUN_DIR to continue a run")
    else:
        sets = list(args.sets) + ([f"epochs={args.epochs}"] if args.epochs is not None else [])
        program = compile_file(args.file, overrides=sets)
        if program.sweep is not None and program.train is not None:
            if args.nproc > 1 or under_torchrun():
                raise NNDSLError(
                    "a sweep trains its trials one per process (--jobs N); --nproc is for one run",
                    hint="run one trial in several processes from its run folder's model.nn",
                )
            return run_sweep(args, program)
        if args.trials is not None:
            raise NNDSLError(
                "--trials samples a sweep, but this file has none",
                hint="write a list where a value goes, e.g. optimizer = adam(lr=[1e-2, 1e-3])",
            )
        out = Path(args.out) if args.out else None
        request = RunRequest(
            args.file, program, args.backend, args.device, args.model, args.seed, out, **common
        )
    distributed = args.nproc > 1 or under_torchrun()
    if distributed and request.backend != "torch":
        raise NNDSLError("training in several processes needs --backend torch")
    if args.nproc > 1 and not under_torchrun():
        return launch(getattr(args, "argv", None) or sys.argv[1:], args.nproc)
    if not distributed:
        return train_run(request)
    rank = join(request.device)
    try:
        return train_run(request, rank)
    finally:
        leave()


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


def _build_run(request: RunRequest) -> Any:
    build: dict[str, Any] = {"backend": request.backend, "model": request.model}
    if request.backend == "torch":
        build["device"] = request.device
    if request.seed is not None:
        build["seed"] = request.seed
    model = request.program.build(**build)
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
    """A process other than rank 0: trains in step with it (DDP) and writes nothing."""
    model = _build_run(request)
    callbacks = [_ResumeFrom(request.resume)] if request.resume is not None else []
    try:
        model.fit(verbose=0, callbacks=callbacks)
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
        started = time.perf_counter()
        try:
            model.fit(verbose=0 if request.quiet else 1, callbacks=[checkpoint])
            interrupts.hold()  # trained: whatever comes now, the folder is written first
            if model.history.info.get("stopped_epoch"):
                status = "stopped early"
        except (KeyboardInterrupt, NNDSLError) as e:
            interrupts.hold()
            if checkpoint.last is None:  # refused before training began: no run
                discard_partial(partial, keep_checkpoint=resuming)
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
        metrics = _final_metrics(model, splits) if status != "failed" else {}
        try:
            _write_run(
                partial, request, model, history, metrics, status, seconds, plotter,
                cancel=lambda: interrupts.received is not None,
            )  # fmt: skip
            if status != "interrupted":
                checkpoint.remove()  # finished, and written whole: nothing to continue
            swap_in(partial, final)  # a complete folder replaces the old one at once
        except NNDSLError:  # a full disk, a read-only folder: the old folder stays
            discard_partial(partial, keep_checkpoint=True)
            raise
    if not request.quiet and metrics:
        print(_metrics_table(metrics))
    say(f"run folder: {final}")
    if error is not None:
        raise error
    if interrupts.received and status != "interrupted":
        say(f"interrupted ({interrupts.received}) after training ended: the run folder is whole")
        return 130
    return 130 if status == "interrupted" else 0


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


def _default_dir(name: str) -> Path:
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
        if part is not None:
            out[name] = model.evaluate_scaled(part.x, part.y)
    return out


def _metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    keys = list(next(iter(metrics.values())))
    rows = [["split", *keys]] + [
        [name, *(f"{m[k]:.4f}" for k in keys)] for name, m in metrics.items()
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
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
    if history is not None and len(history):
        path, title = folder / "curves.png", model.graph.name
        if plotter is not None:
            note = plotter.plot(history, path, title, cancel=cancel)
        else:
            note = plot_curves(history, path, title)
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
        "feature_names": model.feature_names,  # new data is matched to these by name
        "target_names": model.target_names,
        "early_stop": dict(history.info) if history is not None else {},
        "graph": model.graph.to_dict(),
    }
    atomic_write_text(folder / COMPLETE, yaml.safe_dump(config, sort_keys=False))


# ------------------------------------------------------------------ evaluate / predict


def _load_weights(model: Any, path: str | None) -> None:
    """Load `path`; without one, every weight must be written in the file."""
    if path:
        model.load(path)
        return
    weights = [w for node in model.graph.nodes for w in node.weights]
    if any(w.value is None and getattr(w, "trainable", True) for w in weights):
        raise NNDSLError(
            "--weights W is needed: this model's weights are not all written in the file",
            hint="train it first: nndsl run FILE, then pass the run folder (or RUN/weights.npz)",
        )
    plan = model.plan
    if plan is not None and plan.data is not None and plan.data.args.get("standardize"):
        model.load_data()  # the input scaling of the training split


def _saved_model(args: argparse.Namespace) -> Any:
    """The model of FILE (a .nn file, a run folder, or a run folder's model.nn) with the
    weights of --weights, or of the run folder."""
    ref = open_model_ref(args.file, args.weights)
    program = compile_run_source(ref) if ref.run is not None else None
    _, model = _build(args, program=program)
    _load_weights(model, ref.weights)
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _saved_model(args)
    if args.data:
        x, y = model.read_data(args.data, need_targets=True)
        result, label = model.evaluate(x, y), Path(args.data).name
    else:
        splits = model.load_data()
        label, part = next(
            (name, getattr(splits, name))
            for name in ("test", "validation", "train")
            if getattr(splits, name) is not None
        )
        result = model.evaluate_scaled(part.x, part.y)
    print(_metrics_table({label: result}))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    model = _saved_model(args)
    x, _ = model.read_data(args.data)
    pred = model.predict(x).reshape(len(x), -1)
    header, rows = prediction_table(model, pred)
    lines = [",".join(_csv_cell(h) for h in header)]
    lines += [",".join(_csv_cell(v) for v in row) for row in rows]
    text = "\n".join(lines) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {len(pred)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def prediction_table(model: Any, pred: np.ndarray) -> tuple[list[str], list[list[str]]]:
    """Columns for predictions (samples, outputs): classifiers give each class's
    probability (`p_CLASS`) and the predicted class under the target's name; regression
    outputs are named by their target columns."""
    from nndsl.train.targets import target_kind

    loss = model.plan.loss.name if model.plan is not None else "mse"
    kind = target_kind(loss)
    targets = model.target_names or []
    target = targets[0] if len(targets) == 1 else "label"
    values = [[f"{v:.6g}" for v in row] for row in pred]
    if kind == "values":
        names = targets if len(targets) == pred.shape[1] else []
        header = names or [f"output_{i}" for i in range(pred.shape[1])]
        return header, values
    classes = model.class_names
    if kind == "binary" and pred.shape[1] == 1:
        labels = (pred[:, 0] >= 0.5).astype(int)
        names = classes if classes and len(classes) == 2 else None
        p_name = f"p_{names[1]}" if names else f"p_{target}"
        shown = [names[k] for k in labels] if names else [str(k) for k in labels]
        return [p_name, target], [[*v, c] for v, c in zip(values, shown)]
    if kind == "binary":  # several independent labels: each one's probability
        header = [f"p_{t}" for t in targets] if len(targets) == pred.shape[1] else []
        return header or [f"p_{i}" for i in range(pred.shape[1])], values
    names = classes if classes and len(classes) == pred.shape[1] else None
    header = [f"p_{c}" for c in names] if names else [f"p_{i}" for i in range(pred.shape[1])]
    best = pred.argmax(axis=1)
    shown = [names[k] for k in best] if names else [str(k) for k in best]
    return [*header, target], [[*v, c] for v, c in zip(values, shown)]


def _csv_cell(text: str) -> str:
    """One CSV cell: quoted when it holds a delimiter, a quote or a line end."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
