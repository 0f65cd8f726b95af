"""`nndsl compare RUN1 RUN2 ...`: several run folders side by side: their learning curves
overlaid in one picture (one colour per run; training dashed, validation solid) and a
table of each run's status, best and final metrics (printed; `--csv` writes it too).

A run still training is included with the epochs its last checkpoint holds; an
interrupted or failed run with the epochs it finished; each says its status.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_text
from nndsl.ir.metrics import higher_is_better
from nndsl.runfolder import (
    CHECKPOINT,
    RunFolder,
    final_of,
    is_complete,
    is_locked,
    partial_of,
    standing_folder,
)
from nndsl.train.history import History
from nndsl.train.plots import plot_runs

PANELS = 3  # metrics drawn at most (the chosen one first)


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "compare",
        cmd_compare,
        "overlay several runs' learning curves and tabulate their best and final metrics",
        [
            "nndsl compare runs/digits-20250101-120000 runs/digits-20250101-130000",
            "nndsl compare runs/a runs/b runs/c --metric val_accuracy --out abc.png --csv abc.csv",
        ],
    )
    p.add_argument("folders", nargs="+", metavar="RUN_DIR", help="run folders to compare")
    p.add_argument("--out", metavar="PNG", default="compare.png", help="the picture (compare.png)")
    p.add_argument(
        "--metric",
        help="the history column that ranks the runs and is drawn first "
        "(default: val_loss when every run has it, else loss)",
    )
    p.add_argument("--csv", metavar="CSV", help="also write the table as CSV")


@dataclass
class ComparedRun:
    """One run folder as compare reads it."""

    label: str
    path: Path
    status: str
    history: History
    epochs: int | None  # as planned (the train block's epochs)


def cmd_compare(args: argparse.Namespace) -> int:
    runs = [read_run(Path(f)) for f in args.folders]
    _label_uniquely(runs)
    for run in runs:
        if run.status not in ("completed", "stopped early"):
            done = len(run.history)
            print(
                f"{run.label}: {run.status}, {done} epoch{'s' * (done != 1)} recorded"
                + ("; included as far as it went" if done else "; nothing to draw yet"),
                file=sys.stderr,
            )
    common = common_columns(runs)
    metric = _choose_metric(args.metric, common)
    table = comparison_table(runs, metric, common)
    print(format_table(table))
    if args.csv:
        atomic_write_text(args.csv, _csv(table))
        print(f"wrote {args.csv}", file=sys.stderr)
    base = metric.removeprefix("val_")
    keys = [base] + [k for k in dict.fromkeys(c.removeprefix("val_") for c in common) if k != base]
    drawn = {r.label: r.history for r in runs if len(r.history)}
    note = plot_runs(drawn, keys[:PANELS], Path(args.out), title=f"{len(runs)} runs")
    print(note or f"wrote {args.out}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------ reading runs


def read_run(path: Path) -> ComparedRun:
    """A run folder (or its RUN.partial) finished, interrupted, failed or still training;
    an NNDSLError for anything else."""
    final = final_of(path)
    if not path.exists() and not partial_of(final).exists():  # a first run writes RUN.partial
        raise NNDSLError(f"{path} does not exist", hint="give run folders that nndsl run wrote")
    if is_locked(final):
        return _in_progress(final, "in progress")
    standing = standing_folder(final)
    if (standing is None or not is_complete(standing)) and partial_of(final).is_dir():
        return _in_progress(final, "unfinished (killed while training?)")
    if standing is None or not is_complete(standing):
        if (path / "sweep.csv").exists():
            raise NNDSLError(
                f"{path} is a sweep folder, not a run folder",
                hint=f"compare its trials: nndsl compare {path}/trial-*",
            )
        raise NNDSLError(
            f"{path} is not a run folder (it has no config.yaml)",
            hint="give the folders `nndsl run` printed at its end, e.g. runs/MODEL-TIME",
        )
    run = RunFolder(standing)
    config = run.config
    return ComparedRun(
        final.name, final, str(config.get("status", "?")), run.history, _planned(config)
    )


def _in_progress(final: Path, status: str) -> ComparedRun:
    """A run still training (or killed while it trained): the history of its last
    checkpoint, if it has written one."""
    from nndsl.train.checkpoint import load_checkpoint

    history = History()
    checkpoint = partial_of(final) / CHECKPOINT
    if checkpoint.exists():
        try:
            h = load_checkpoint(checkpoint)["history"]
            history = History(h["history"], h["epoch"], h.get("info", {}))
        except (NNDSLError, KeyError, TypeError):
            pass  # being rewritten right now, or damaged: no curve
    return ComparedRun(final.name, final, status, history, None)


def _planned(config: dict) -> int | None:
    epochs = (config.get("train") or {}).get("epochs")
    return epochs if isinstance(epochs, int) else None


def _label_uniquely(runs: list[ComparedRun]) -> None:
    """Folder names as labels; the whole path where two runs share a name."""
    names = [r.label for r in runs]
    for r in runs:
        if names.count(r.label) > 1:
            r.label = str(r.path)


# ------------------------------------------------------------------ the table


def common_columns(runs: list[ComparedRun]) -> list[str]:
    """History columns every run has (the learning rate aside), in the first's order."""
    recorded = [r for r in runs if len(r.history)]
    if not recorded:
        raise NNDSLError("none of these runs has recorded an epoch yet: nothing to compare")
    first = [c for c in recorded[0].history.history if c != "lr"]
    common = [c for c in first if all(c in r.history.history for r in recorded)]
    if not common:
        listed = "; ".join(
            f"{r.label}: {', '.join(c for c in r.history.history if c != 'lr')}" for r in recorded
        )
        raise NNDSLError(
            "these runs have no metric in common: " + listed,
            hint="compare runs of models with the same outputs and metrics",
        )
    return common


def _choose_metric(asked: str | None, common: list[str]) -> str:
    if asked is None:
        return "val_loss" if "val_loss" in common else common[0]
    if asked not in common:
        raise NNDSLError(
            f"--metric {asked}: not a history column of every run",
            hint="columns they all have: " + ", ".join(common),
        )
    return asked


def comparison_table(
    runs: list[ComparedRun], metric: str, common: list[str]
) -> list[list[str | float | int | None]]:
    """Rows of [run, status, epochs, best metric, its epoch, final of each column]."""
    head: list[str | float | int | None] = [
        "run", "status", "epochs", f"best {metric}", "best epoch", *common,
    ]  # fmt: skip
    rows = [head]
    for r in runs:
        values = [v for v in r.history.history.get(metric, []) if math.isfinite(v)]
        pick = max if higher_is_better(metric) else min
        best = pick(values) if values else None
        epoch = r.history.history[metric].index(best) + 1 if best is not None else None
        done = f"{len(r.history)}" + (f"/{r.epochs}" if r.epochs else "")
        last = r.history.last()
        rows.append([r.label, r.status, done, best, epoch, *(last.get(c) for c in common)])
    return rows


def _cell(value: str | float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.4g}"
    return str(value)


def format_table(rows: list[list]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in cells
    )


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()
