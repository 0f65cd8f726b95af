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
from dataclasses import dataclass
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


def resume_settings(args: argparse.Namespace) -> tuple[dict, dict[str, Any]]:
    """(checkpoint state, run settings) to continue the run in `args.resume`: its program
    compiled from its source as it was (data resolved beside the original file), the same
    overrides, model, backend, device and seed, into the same folder. `--epochs` may
    extend the run; nothing else may change. Reads only: every process of a distributed
    run calls it and continues from the same state."""
    from nndsl.api import compile_string

    if getattr(args, "file", None):
        raise NNDSLError("give either a FILE or --resume RUN_DIR, not both")
    if getattr(args, "sets", None):
        raise NNDSLError("--resume continues a run as it was: no --set")
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
    settings = {
        "program": program,
        "file": meta["path"],
        "out": final,
        "model": meta.get("model"),
        "backend": meta.get("backend", "numpy"),
        "device": meta.get("device") or getattr(args, "device", "auto"),
        "seed": meta.get("seed"),
    }
    return state, settings


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
    program = compile_string(text, str(ref.source), overrides)
    original = config.get("source")
    if isinstance(original, str) and Path(original).parent.is_dir():
        base = str(Path(original).parent)
        program.plans[:] = [plan.replace(base_dir=base) for plan in program.plans]
    return program


def _run_config(run: Path | None) -> dict:
    import yaml

    if run is None:
        return {}
    try:
        config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}
