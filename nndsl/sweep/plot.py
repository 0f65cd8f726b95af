"""`sweep.png`: every trial's curves on shared axes, the best drawn bold. Needs
matplotlib (the `plot` extra)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

LABELLED = 10  # trials named in the legend; beyond that, only the best few


def plot_sweep(ranked: list[Any], objective: Any, path: Path, title: str = "") -> str | None:
    """Training loss, and the ranking metric when it is another, per epoch for each trial
    (`ranked`: TrialResults, best first). Returns a note instead when matplotlib is
    missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "sweep.png skipped: pip install 'nndsl[plot]' for plots"
    keys = ["loss"] + ([objective.key] if objective.key != "loss" else [])
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, key in zip(axes[0], keys):
        for rank, r in enumerate(ranked):
            values = r.history.get(key)
            if not values:
                continue
            best = rank == 0 and math.isfinite(r.value(objective.key))
            label = None
            if rank < LABELLED:
                label = r.name + "  " + " ".join(f"{k}={v}" for k, v in r.text.items())
            ax.plot(
                range(1, len(values) + 1),
                values,
                color="crimson" if best else cmap(rank / max(1, len(ranked) - 1)),
                linewidth=2.4 if best else 1.0,
                alpha=1.0 if best else 0.75,
                label=label + "  (best)" if best else label,
                zorder=3 if best else 2,
            )
        ax.set_xlabel("epoch")
        ax.set_title(key)
        if key.endswith("loss") and _positive(ranked, key):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return None


def _positive(ranked: list[Any], key: str) -> bool:
    values = [v for r in ranked for v in r.history.get(key, [])]
    return bool(values) and all(v > 0 and math.isfinite(v) for v in values)
