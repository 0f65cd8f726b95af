"""The learning-rate range test (nndsl.train.lr_finder) on a built model: `lr_find`, its
terminal report and its plot (`nndsl lr-find`'s command line: nndsl.commands.lrfind)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.train.lr_finder import LRFinding, find_lr


def lr_find(model: Any, x: Any = None, y: Any = None, **options: Any) -> LRFinding:
    """The range test on a built `Model`: on (x, y) (raw inputs) or, without them, on the
    train block's training split. Options: min_lr, max_lr, steps, batch_size, seed."""
    plan = model._require_plan("find a learning rate")
    if x is None:
        train = model.load_data().train
        x, y = train.x, model.targets_of(train)
    else:
        x = model._scale(x)
    batch_size = options.pop("batch_size", None) or plan.batch_size
    options.setdefault("seed", model.seed)
    return find_lr(model.engine, x, y, batch_size, **options)


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
