"""`nndsl run`, `evaluate` and `predict`: the command lines. `run` resolves one
`nndsl.run.RunRequest` (from the command line, a checkpoint for `--resume`, or each
trial of a sweep) and hands it to `nndsl.run.train_run`, in this process or in each of
several (torchrun); `evaluate` and `predict` take a .nn file or a run folder."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nndsl.agent_run import is_agent, train_agent_run
from nndsl.api import compile_file
from nndsl.backends.torch.distributed import join, launch, launch_plan, leave, under_torchrun
from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_text
from nndsl.predictions import prediction_table
from nndsl.run import RunRequest, build_model, metrics_table, train_run
from nndsl.runfolder import (
    compile_run_source,
    open_model_ref,
    partial_of,
    recover_now,
    resume_settings,
)
from nndsl.sweep.runner import run_sweep
from nndsl.sweep.search import run_search

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
    p.add_argument(
        "--log",
        action="append",
        default=[],
        metavar="TRACKER",
        help='experiment tracking, as the log setting: tensorboard("runs/tb") or '
        'mlflow(experiment="name") (repeatable; replaces the file\'s log)',
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/MODEL-TIME)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="torch: train in N processes on this machine (DistributedDataParallel, "
        "launched with torchrun)",
    )
    p.add_argument(
        "--nnodes",
        type=int,
        default=1,
        metavar="M",
        help="torch: this machine is one of M, each running the same command (with its "
        "--node-rank) and N processes",
    )
    p.add_argument(
        "--node-rank", type=int, metavar="K", help="with --nnodes: this machine's number, 0 to M-1"
    )
    p.add_argument(
        "--master",
        metavar="HOST:PORT",
        help="with --nnodes: node 0's address and a free port on it, where the machines meet",
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
    add_saved_model_options(p)
    p.add_argument("--data", metavar="D", help=".csv or .npz (default: the test split)")

    p = add(
        "predict",
        cmd_predict,
        "predict with saved weights; writes a CSV",
        "nndsl predict examples/will_i_pass.nn --weights W --data new.csv --out p.csv",
    )
    add_saved_model_options(p)
    p.add_argument("--data", required=True, metavar="D", help=".csv or .npz of inputs")
    p.add_argument("--out", metavar="PATH", help="CSV to write (default: standard output)")


def add_saved_model_options(p: argparse.ArgumentParser) -> None:
    """FILE, its weights and the backend options, for the commands that use a trained
    model (evaluate, predict)."""
    p.add_argument(
        "file", metavar="FILE", help="the .nn file, or a run folder (its model.nn and weights)"
    )
    add_backend_options(p)
    p.add_argument(
        "--weights",
        metavar="W",
        help="weights saved by a run (default: the run folder's; not needed when the file "
        "writes them all)",
    )


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
    add_engine_options(p)
    p.add_argument("--model", help="which model of the file (default: the trained one)")


def add_engine_options(
    p: argparse.ArgumentParser,
    backend_help: str = "numpy (the default, nothing to install) or torch (CPU or GPU)",
) -> None:
    """`--backend` and `--device`."""
    p.add_argument("--backend", choices=BACKENDS, default="numpy", help=backend_help)
    p.add_argument("--device", default="auto", help="torch: auto, cpu, cuda or cuda:N")


def _build(args: argparse.Namespace, program: Any = None) -> Any:
    """(program, model) for evaluate and predict."""
    program = program or compile_file(args.file)
    if program.sweep is not None and program.train is not None:
        raise NNDSLError(
            f"{args.file} is a sweep of {len(program.trials)} trials; give one trial's file",
            hint="each trial's run folder holds the trial as model.nn (its data paths are "
            "relative to this file's folder: save it beside this file) and its weights.npz",
        )
    return program, build_model(program, args.backend, args.device, args.model)


def cmd_run(args: argparse.Namespace) -> int:
    """Resolve the request, start the processes it needs, train, write the folder."""

    common = {"quiet": args.quiet}
    plan = launch_plan(args.nproc, args.nnodes, args.node_rank, args.master)
    if plan.starts_torchrun and under_torchrun():
        raise NNDSLError(
            "--nproc, --nnodes and --master start torchrun, but this is already under one",
            hint="give them to nndsl run alone, or torchrun's own options to your torchrun",
        )
    if args.resume:
        if not under_torchrun():  # there, rank 0 recovers it, under the lock, when it writes
            recover_now(args.resume)  # a crash mid-swap: RUN in place before it is read
        if args.file:
            raise NNDSLError("give either a FILE or --resume RUN_DIR, not both")
        if args.sets:
            raise NNDSLError("--resume continues a run as it was: no --set")
        try:
            state, settings = resume_settings(args.resume, args.epochs)
        except NNDSLError as e:
            here = Path(args.resume)
            if (plan.nodes > 1 or under_torchrun()) and not (
                here.exists() or partial_of(here).exists()
            ):  # rank 0 wrote it on its machine
                raise NNDSLError(
                    f"no run folder {args.resume} on this machine",
                    hint="every machine reads the checkpoint: put the run folder at the same "
                    "path on each (a shared filesystem, or a copy from node 0's)",
                ) from e
            raise
        for flag, given in (("backend", args.backend), ("seed", args.seed)):
            if flag == "backend" and given == "numpy":
                given = None  # the default, not a choice
            if given is not None and given != settings[flag]:
                raise NNDSLError(
                    f"--resume continues the {flag} {settings[flag]}; got --{flag} {given}"
                )
        if args.device != "auto" and not state["meta"].get("device"):
            settings["device"] = args.device
        request = RunRequest(**settings, **common, resume=state)
    elif not args.file:
        raise NNDSLError("nndsl run needs a FILE, or --resume RUN_DIR to continue a run")
    else:
        sets = list(args.sets) + ([f"epochs={args.epochs}"] if args.epochs is not None else [])
        if args.log:  # --log SPEC ...: the train block's log setting, in .nn syntax
            sets.append(f"log=[{', '.join(args.log)}]")
        program = compile_file(args.file, overrides=sets)
        out = Path(args.out) if args.out else None
        request = RunRequest(
            args.file, program, args.backend, args.device, args.model, args.seed, out, **common
        )
        if program.sweep is not None and program.train is not None:
            if is_agent(program, args.model):
                raise NNDSLError(
                    "a sweep of an agent's settings is not supported yet",
                    hint="run one value at a time: nndsl run FILE --set steps=...",
                )
            if plan.starts_torchrun or under_torchrun():
                raise NNDSLError(
                    "a sweep trains its trials one per process (--jobs N); --nproc and "
                    "--nnodes are for one run",
                    hint="run one trial in several processes from its run folder's model.nn",
                )
            if program.train.search.name == "optuna":  # sampled and pruned trial by trial
                return run_search(request, trials=args.trials, jobs=args.jobs)
            return run_sweep(request, sample=args.trials, jobs=args.jobs)
        if args.trials is not None:
            raise NNDSLError(
                "--trials samples a sweep, but this file has none",
                hint="write a list where a value goes, e.g. optimizer = adam(lr=[1e-2, 1e-3])",
            )
    distributed = plan.starts_torchrun or under_torchrun()
    if is_agent(request.program, request.model):  # an env: reinforcement learning
        if distributed:
            raise NNDSLError("an agent trains in one process: no --nproc or --nnodes")
        return train_agent_run(request)
    if distributed and request.backend != "torch":
        raise NNDSLError("training in several processes needs --backend torch")
    if plan.starts_torchrun:
        return launch(getattr(args, "argv", None) or sys.argv[1:], plan)
    if not distributed:
        return train_run(request)
    rank = join(request.device)
    try:
        return train_run(request, rank)
    finally:
        leave()


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


def saved_model(args: argparse.Namespace) -> Any:
    """The model of FILE (a .nn file, a run folder, or a run folder's model.nn) with the
    weights of --weights, or of the run folder."""
    ref = open_model_ref(args.file, args.weights)
    program = compile_run_source(ref) if ref.run is not None else None
    _, model = _build(args, program=program)
    _load_weights(model, ref.weights)
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = saved_model(args)
    if args.data:
        result, label = model.evaluate(args.data), Path(args.data).name
    else:
        splits = model.load_data()
        label, part = next(
            (name, getattr(splits, name))
            for name in ("test", "validation", "train")
            if getattr(splits, name) is not None
        )
        weights = getattr(part, "weights", None)
        result = model.evaluate_scaled(part.x, model.targets_of(part), None, weights)
    print(metrics_table({label: result}))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    model = saved_model(args)
    model.refuse_gan("predict")
    x, _ = model.read_data(args.data)
    pred = model.predict(x)
    header, rows = prediction_table(model, pred)
    rows = [[_shown(v) for v in row] for row in rows]
    ids = model.row_ids(args.data)  # csv(id=...): each row's key, first
    if ids:
        header = [*ids, *header]
        rows = [[*keys, *row] for keys, row in zip(zip(*ids.values()), rows)]
    lines = [",".join(_csv_cell(h) for h in header)]
    lines += [",".join(_csv_cell(v) for v in row) for row in rows]
    text = "\n".join(lines) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {len(rows)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _shown(value: float | str) -> str:
    """A prediction's cell: probabilities and values to 6 significant digits."""
    return value if isinstance(value, str) else f"{value:.6g}"


def _csv_cell(text: str) -> str:
    """One CSV cell: quoted when it holds a delimiter, a quote or a line end."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
