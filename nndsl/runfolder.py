"""The run folder's life: assembled aside, checkpointed, swapped in whole, resumed.

Layout of `nndsl run --out RUN` (or runs/MODEL-TIME):

    RUN.partial/        while training: the folder being assembled
        checkpoint.npz  the state at the end of the last finished epoch, written every
                        `checkpoint_every` epochs and on Ctrl-C / SIGTERM (atomically)
    RUN/                once training ends, however it ends: config.yaml, history.csv,
                        weights.npz, metrics.json, model.nn, curves.png, and
                        checkpoint.npz when the run was interrupted (status
                        `interrupted`): `nndsl run --resume RUN` continues it

A run killed outright (kill -9, power loss) leaves only RUN.partial, with its last
periodic checkpoint; `--resume RUN` finds it there too, taking whichever of RUN and
RUN.partial holds the later epoch. A finished folder replaces an older one by renames
(RUN -> RUN.old, RUN.partial -> RUN, then RUN.old is deleted), so at every moment one
complete folder exists; every file inside is written atomically (temporary file, fsync,
rename), so a crash while writing leaves the previous complete file.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from nndsl.errors import NNDSLError

CHECKPOINT = "checkpoint.npz"
PARTIAL = ".partial"


def partial_of(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL)


def final_of(folder: Path) -> Path:
    return (
        folder.with_name(folder.name[: -len(PARTIAL)]) if folder.name.endswith(PARTIAL) else folder
    )


def find_checkpoint(run: str | Path) -> tuple[dict, Path]:
    """(state, final folder) of the latest checkpoint of run folder `run` (RUN or
    RUN.partial; both are looked in)."""
    from nndsl.train.checkpoint import load_checkpoint

    final = final_of(Path(run))
    candidates = [p / CHECKPOINT for p in (final, partial_of(final)) if (p / CHECKPOINT).is_file()]
    if not candidates:
        where = Path(run)
        hint = (
            "it finished: there is nothing to continue"
            if (final / "config.yaml").is_file()
            else "only interrupted runs, or runs with checkpoint_every set, can be resumed"
        )
        raise NNDSLError(f"no checkpoint in {where} (or {partial_of(final).name})", hint=hint)
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


def resume_args(args: argparse.Namespace) -> dict:
    """Fill `args` from the checkpoint of `args.resume` so `nndsl run` trains the same
    program (its source as it was, data resolved beside the original file, the same
    overrides, backend and seed) into the same folder; returns the checkpoint's state.
    `--epochs` may extend the run; nothing else may change."""
    from nndsl.api import compile_string

    if getattr(args, "file", None):
        raise NNDSLError("give either a FILE or --resume RUN_DIR, not both")
    if getattr(args, "sets", None) or getattr(args, "nproc", 1) > 1:
        raise NNDSLError("--resume continues a run as it was: no --set or --nproc")
    state, final = find_checkpoint(args.resume)
    meta = state["meta"]
    if "source" not in meta:
        raise NNDSLError(f"the checkpoint in {final} does not say what it trains")
    overrides = list(meta.get("overrides", []))
    if args.epochs is not None:
        overrides.append(f"epochs={args.epochs}")
    for flag, key in (("backend", "backend"), ("seed", "seed")):
        given = getattr(args, flag, None)
        if flag == "backend" and given == "numpy":
            given = None  # the default, not a choice
        if given is not None and given != meta.get(key):
            raise NNDSLError(f"--resume continues the {key} {meta.get(key)}; got --{flag} {given}")
    program = compile_string(meta["source"], meta["path"], overrides)
    if (
        meta.get("graph") is not None
        and program.model_graph(meta.get("model")).to_dict() != meta["graph"]
    ):
        raise NNDSLError(
            f"the checkpoint in {final} was written for another model graph",
            hint="it was written by another version of nndsl",
        )
    args.program = program
    args.file = meta["path"]
    args.sets = overrides
    args.epochs = None
    args.out = str(final)
    args.model = meta.get("model")
    args.backend = meta.get("backend", "numpy")
    args.device = meta.get("device") or getattr(args, "device", "auto")
    args.seed = meta.get("seed")
    return state


def prepare_partial(partial: Path, resuming: bool) -> None:
    """An empty RUN.partial to assemble the run in. A leftover one holding a checkpoint
    is a crashed run's only copy of its progress: kept when resuming, refused otherwise."""
    if partial.exists() and not resuming:
        if (partial / CHECKPOINT).is_file():
            final = final_of(partial)
            raise NNDSLError(
                f"{partial} holds the checkpoint of an unfinished run",
                hint=f"continue it: nndsl run --resume {final}; or delete the folder",
            )
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)


def discard_partial(partial: Path, resuming: bool) -> None:
    """Nothing was trained: remove the folder, unless it holds what a resume needs."""
    if not resuming or not (partial / CHECKPOINT).is_file():
        shutil.rmtree(partial, ignore_errors=True)


def swap_in(partial: Path, final: Path) -> None:
    """Replace `final` by the complete `partial`, never leaving neither."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    if old.exists():
        shutil.rmtree(old)


def checkpoint_meta(args: argparse.Namespace, program: Any, model: Any, final: Path) -> dict:
    """What `--resume` needs to rebuild this run."""
    return {
        "source": program.source,
        "path": str(Path(args.file).resolve()),
        "overrides": list(program.overrides),
        "model": getattr(args, "model", None),
        "graph": model.graph.to_dict(),
        "backend": model.backend,
        "device": getattr(args, "device", None),
        "seed": getattr(args, "seed", None),
        "folder": str(final.resolve()),
        "epochs": model.plan.epochs,
    }
