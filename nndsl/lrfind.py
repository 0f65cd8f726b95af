"""`nndsl lr-find FILE`: the learning-rate range test (nndsl.train.lr_finder) on the
file's model, optimizer, batch size and training data, with a plot of loss against
learning rate and a suggested rate."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.train.lr_finder import LRFinding, find_lr


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "lr-find",
        cmd_lr_find,
        "sweep the learning rate over a few hundred mini-batch steps and suggest one",
        [
            "nndsl lr-find examples/digits.nn --min 1e-6 --max 1 --out lr.png",
            "nndsl lr-find examples/xor.nn --set optimizer=sgd(momentum=0.9) --steps 300",
        ],
    )
    p.add_argument("file", metavar="FILE", help="the .nn file (its optimizer, batch size, data)")
    p.add_argument("--min", dest="min_lr", type=float, default=1e-7, help="first rate (1e-7)")
    p.add_argument("--max", dest="max_lr", type=float, default=10.0, help="last rate (10)")
    p.add_argument("--steps", type=int, default=200, help="mini-batch steps (200)")
    p.add_argument(
        "--out", metavar="PNG", help="the plot (default: MODEL-lr-find.png in this folder)"
    )
    from nndsl.commands.run import add_backend_options, add_set_option

    add_backend_options(p)
    p.add_argument("--seed", type=int, help="override the train block's seed")
    add_set_option(p)


def lr_find(model: Any, x: Any = None, y: Any = None, **options: Any) -> LRFinding:
    """The range test on a built `Model`: on (x, y) (raw inputs) or, without them, on the
    train block's training split. Options: min_lr, max_lr, steps, batch_size, seed."""
    plan = model._require_plan("find a learning rate")
    if x is None:
        train = model.load_data().train
        x, y = train.x, train.y
    else:
        x = model._scale(x)
    batch_size = options.pop("batch_size", None) or plan.batch_size
    options.setdefault("seed", model.seed)
    return find_lr(model.engine, x, y, batch_size, **options)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from nndsl.api import compile_file

    program = compile_file(args.file, overrides=list(args.sets))
    note = None
    if program.sweep is not None:
        note = (
            f"a sweep file: the range test runs on its first trial ({program.trials[0].describe()})"
        )
        program = program.trials[0].program
    build: dict[str, Any] = {"backend": args.backend, "model": args.model}
    if args.backend == "torch":
        build["device"] = args.device
    if args.seed is not None:
        build["seed"] = args.seed
    model = program.build(**build)
    if note:
        print(note, file=sys.stderr)
    finding = lr_find(model, min_lr=args.min_lr, max_lr=args.max_lr, steps=args.steps)
    out = Path(args.out) if args.out else Path(f"{model.graph.name}-lr-find.png")
    optimizer = model.plan.optimizer.name
    plot_note = plot_finding(finding, out, title=f"{model.graph.name}: {optimizer}")
    print(report(finding, optimizer))
    print(plot_note or f"plot: {out}", file=sys.stderr)
    return 0


def report(finding: LRFinding, optimizer: str = "") -> str:
    lrs = finding.lrs
    lines = [
        f"{len(lrs)} steps from {lrs[0]:.3g} to {lrs[-1]:.3g} ({finding.stopped})"
        if len(lrs)
        else "no step gave a finite loss"
    ]
    lines += _decades(finding)
    if finding.suggestion is None:
        lines.append(
            "no suggestion: the loss did not fall; try a wider range (--min, --max) or more steps"
        )
    else:
        lines.append(
            f"suggested lr: {finding.suggestion:.3g} (steepest descent of the smoothed loss)"
        )
        lines.append(f"lowest loss at lr {finding.min_loss_lr:.3g}")
        if optimizer:
            lines.append(f"use it: --set optimizer={optimizer}(lr={finding.suggestion:.3g})")
    return "\n".join(lines)


def _decades(finding: LRFinding) -> list[str]:
    """The smoothed loss at each power of ten the ramp passed: a plot for the terminal."""
    lrs, smoothed = finding.lrs, finding.smoothed
    if len(lrs) < 2:
        return []
    rows = []
    for e in range(math.ceil(math.log10(lrs[0])), math.floor(math.log10(lrs[-1])) + 1):
        i = int(abs(lrs - 10.0**e).argmin())
        rows.append((10.0**e, smoothed[i]))
    if not rows:
        return []
    top = max(v for _, v in rows)
    bar = 30
    return [
        f"  lr {lr:7.0e}  loss {v:10.4g}  " + "#" * max(1, round(bar * v / top)) for lr, v in rows
    ]


def plot_finding(finding: LRFinding, path: Path, title: str = "") -> str | None:
    """Loss (raw and smoothed) against learning rate, log axis, the suggestion marked.
    Returns a note instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: pip install 'nndsl[plot]' for plots"
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(finding.lrs, finding.losses, color="lightgrey", linewidth=0.8, label="loss")
    ax.plot(finding.lrs, finding.smoothed, color="tab:blue", label="smoothed loss")
    if finding.suggestion is not None:
        ax.axvline(
            finding.suggestion,
            color="crimson",
            linestyle="--",
            label=f"suggested lr {finding.suggestion:.2g}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    smooth = finding.smoothed
    if len(smooth):  # keep the diverging tail from flattening the interesting part
        low = min(smooth.min(), np.percentile(finding.losses, 2))
        high = min(smooth.max(), 2.5 * smooth[0])
        pad = 0.05 * (high - low)
        ax.set_ylim(low - pad, high + pad)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return None
