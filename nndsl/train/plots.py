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
        for epoch, label, style in epoch_marks(history):
            ax.axvline(epoch, label=label, **style)
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


def epoch_marks(history: History) -> list[tuple[int, str, dict]]:
    """Vertical lines for the plot: (1-based epoch, legend label, line style) for the
    early-stopping epoch and, with restore_best, the epoch whose weights were kept."""
    marks = []
    if "stopped_epoch" in history.info:
        epoch = history.info["stopped_epoch"] + 1
        marks.append((epoch, f"early stop (epoch {epoch})", {"color": "grey", "linestyle": ":"}))
    if "restored_epoch" in history.info:
        epoch = history.info["restored_epoch"] + 1
        style = {"color": "tab:green", "linestyle": "--", "alpha": 0.8}
        marks.append((epoch, f"best, restored (epoch {epoch})", style))
    return marks
