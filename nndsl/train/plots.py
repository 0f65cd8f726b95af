"""Learning curves (`curves.png`): loss and each metric per epoch, train and validation,
the early-stopping epoch marked. Needs matplotlib (the `plot` extra)."""

from __future__ import annotations

from pathlib import Path

from nndsl.train.history import History


def plot_curves(history: History, path: Path, title: str = "") -> str | None:
    """Write the plot; returns a one-line note instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "curves.png skipped: pip install 'nndsl[plot]' for plots"
    keys = [k for k in history.history if not k.startswith("val_") and k != "lr"]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    epochs = [e + 1 for e in history.epoch]
    for ax, key in zip(axes[0], keys):
        ax.plot(epochs, history.history[key], label=f"train {key}")
        if f"val_{key}" in history.history:
            ax.plot(epochs, history.history[f"val_{key}"], label=f"validation {key}")
        for mark, style in (("restored_epoch", "best"), ("stopped_epoch", "stopped")):
            if mark in history.info:
                ax.axvline(history.info[mark] + 1, color="grey", linestyle=":", label=style)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return None
