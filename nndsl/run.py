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
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.runfolder import (
    CHECKPOINT,
    checkpoint_meta,
    discard_partial,
    partial_of,
    prepare_partial,
    swap_in,
)
from nndsl.train.checkpoint import Checkpoint, signals_interrupt
from nndsl.weights import atomic_write_text

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


def _build(args: argparse.Namespace, sets: list[str] = ()) -> Any:
    from nndsl.api import compile_file

    program = getattr(args, "program", None) or compile_file(args.file, overrides=list(sets))
    if program.sweep is not None and program.train is not None:  # evaluate, predict
        raise NNDSLError(
            f"{args.file} is a sweep of {len(program.trials)} trials; give one trial's file",
            hint="each trial's run folder holds the trial as model.nn (its data paths are "
            "relative to this file's folder: save it beside this file) and its weights.npz",
        )
    build: dict[str, Any] = {"backend": args.backend, "model": args.model}
    if args.backend == "torch":
        build["device"] = args.device
    if getattr(args, "seed", None) is not None:
        build["seed"] = args.seed
    return program, program.build(**build)


# ------------------------------------------------------------------ run


def cmd_run(args: argparse.Namespace) -> int:
    from nndsl.train.plots import BackgroundPlotter

    # started first: it imports matplotlib while this process compiles and trains
    plotter = BackgroundPlotter() if "rank" not in vars(args) else None
    try:
        return _run(args, plotter)
    finally:
        if plotter is not None:
            plotter.close()


def _run(args: argparse.Namespace, plotter: Any) -> int:
    from nndsl.backends.torch.distributed import under_torchrun
    from nndsl.runfolder import resume_args

    resume = None
    if getattr(args, "resume", None) and "rank" not in vars(args):
        resume = resume_args(args)  # the run's own program, overrides, backend and folder
    elif not args.file:
        raise NNDSLError("nndsl run needs a FILE, or --resume RUN_DIR to continue a run")

    if getattr(args, "program", None) is None and "rank" not in vars(args):
        from nndsl.sweep.runner import run_if_sweep  # a sweep file trains each trial

        code = run_if_sweep(args)
        if code is not None:
            return code
    if "rank" not in vars(args) and (args.nproc > 1 or under_torchrun()):
        return _run_distributed(args)
    sets = list(args.sets)
    if args.epochs is not None:
        sets.append(f"epochs={args.epochs}")
    program, model = _build(args, sets)
    plan = model.plan
    if plan is None:
        raise NNDSLError(
            f"{args.file} has no train block for '{model.graph.name}'",
            hint=f"add: train {model.graph.name} {{ loss = ... data = ... }}",
        )
    if getattr(args, "rank", 0):  # other processes train in step with rank 0, write nothing
        try:
            model.fit(verbose=0)
        except NNDSLError:
            return 1  # rank 0 reports it
        return 0
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    splits = model.load_data()
    say(
        f"training {model.graph.name} ({model.graph.param_count:,} parameters) on "
        f"{len(splits.train)} samples"
        + (f", validating on {len(splits.validation)}" if splits.validation else "")
        + f" [{model.backend}]"
    )
    final = Path(args.out) if args.out else _default_dir(model.graph.name)
    partial = partial_of(final)
    prepare_partial(partial, resuming=resume is not None)
    checkpoint = Checkpoint(  # state of the last finished epoch: periodically, on Ctrl-C
        partial / CHECKPOINT,
        plan.checkpoint_every,
        resume=resume or False,
        meta=checkpoint_meta(args, program, model, final),
    )
    status = "completed"
    started = time.perf_counter()
    error: NNDSLError | None = None
    try:
        with signals_interrupt():  # SIGTERM stops it as Ctrl-C does
            model.fit(verbose=0 if args.quiet else 1, callbacks=[checkpoint])
        if model.history.info.get("stopped_epoch"):
            status = "stopped early"
    except (KeyboardInterrupt, NNDSLError) as e:
        if checkpoint.last is None:  # refused before training began: no run
            discard_partial(partial, resuming=resume is not None)
            raise
        if isinstance(e, KeyboardInterrupt):
            status = "interrupted"
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
    if status != "interrupted":
        checkpoint.remove()  # finished: nothing to continue
    _write_run(partial, program, model, history, metrics, status, seconds, args, plotter)
    swap_in(partial, final)  # a complete folder replaces the old one at once
    if not args.quiet and metrics:
        print(_metrics_table(metrics))
    say(f"run folder: {final}")
    if error is not None:
        raise error
    return 130 if status == "interrupted" else 0


def _run_distributed(args: argparse.Namespace) -> int:
    """--nproc N: relaunch under torchrun; under torchrun: join the group, then train."""
    from nndsl.backends.torch.distributed import join, launch, leave, under_torchrun

    if args.backend != "torch":
        raise NNDSLError("training in several processes needs --backend torch")
    if not under_torchrun():
        return launch(getattr(args, "argv", None) or sys.argv[1:], args.nproc)
    args.rank = join(args.device)
    try:
        return cmd_run(args)
    finally:
        leave()


def _default_dir(name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{name}-{stamp}"
    path, k = base, 1
    while path.exists() or partial_of(path).exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


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
    program: Any,
    model: Any,
    history: Any,
    metrics: dict,
    status: str,
    seconds: float,
    args: argparse.Namespace,
    plotter: Any = None,
) -> None:
    import yaml

    from nndsl import __version__

    model.save(folder / "weights.npz")
    config = {
        "nndsl": __version__,
        "source": str(Path(args.file).resolve()),
        "model": model.graph.name,
        "backend": model.backend,
        "seed": model.seed,
        "status": status,
        "seconds": round(seconds, 3),
        "overrides": list(args.sets) + ([f"epochs={args.epochs}"] if args.epochs else []),
        "train": model.plan.to_dict(),
        "scaler": model.scaler,
        "class_names": model.class_names,
        "early_stop": dict(history.info) if history is not None else {},
        "graph": model.graph.to_dict(),
    }
    atomic_write_text(folder / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    atomic_write_text(folder / "model.nn", program.source)
    if history is not None:
        atomic_write_text(folder / "history.csv", history.to_csv())
    atomic_write_text(folder / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    if history is not None and len(history):
        from nndsl.train.plots import plot_curves

        path, title = folder / "curves.png", model.graph.name
        note = plotter.plot(history, path, title) if plotter else plot_curves(history, path, title)
        if note and not args.quiet:
            print(note, file=sys.stderr)


# ------------------------------------------------------------------ evaluate / predict


def _load_inputs(model: Any, path: str, need_targets: bool) -> tuple[np.ndarray, Any]:
    from nndsl.data import load_data
    from nndsl.ir.signature import Spec

    p = Path(path)
    plan = model.plan
    if p.suffix == ".npz":
        spec = Spec(
            "npz", {"path": str(p.resolve()), "x": "x", "y": "y", "inputs_only": not need_targets}
        )
    elif p.suffix == ".csv":
        base = dict(plan.data.args) if plan and plan.data and plan.data.name == "csv" else {}
        if "target" not in base:
            raise NNDSLError(
                f"--data {path}: the train block names no CSV target column",
                hint='its data should be csv("...", target="...")',
            )
        spec = Spec("csv", {**base, "path": str(p.resolve())})
        if not need_targets:
            spec = Spec("csv", {**spec.args, "inputs_only": True})
    else:
        raise NNDSLError(f"--data {path}: expected a .csv or .npz file")
    ds = load_data(spec, ".")
    return ds.x, ds.y  # raw: the model applies its own input scaling


def _load_weights(model: Any, path: str | None) -> None:
    """Load `path`; without one, every weight must be written in the file."""
    if path:
        model.load(path)
        return
    weights = [w for node in model.graph.nodes for w in node.weights]
    if any(w.value is None and getattr(w, "trainable", True) for w in weights):
        raise NNDSLError(
            "--weights W is needed: this model's weights are not all written in the file",
            hint="train it first: nndsl run FILE, then pass RUN/weights.npz",
        )
    plan = model.plan
    if plan is not None and plan.data is not None and plan.data.args.get("standardize"):
        model.load_data()  # the input scaling of the training split


def cmd_evaluate(args: argparse.Namespace) -> int:
    _, model = _build(args)
    _load_weights(model, args.weights)
    if args.data:
        x, y = _load_inputs(model, args.data, need_targets=True)
        result = model.evaluate(x, y)
    else:
        result = model.evaluate()
    print(_metrics_table({"data": result}))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    _, model = _build(args)
    _load_weights(model, args.weights)
    x, _ = _load_inputs(model, args.data, need_targets=False)
    pred = model.predict(x).reshape(len(x), -1)
    names = model.class_names
    header = (
        [f"p_{c}" for c in names]
        if names and len(names) == pred.shape[1]
        else [f"output_{i}" for i in range(pred.shape[1])]
    )
    lines = [",".join(header)] + [",".join(f"{v:.6g}" for v in row) for row in pred]
    text = "\n".join(lines) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {len(pred)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
