"""Learning curves (`curves.png`): loss and each metric per epoch, train and validation,
the early-stopping epoch marked. Needs matplotlib (the `plot` extra)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nndsl.files import atomic_write_by_name
from nndsl.train.history import History

SKIPPED = "curves.png skipped: interrupted"


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
    try:  # a temporary name of its own: two runs may draw into one folder at once
        atomic_write_by_name(path, lambda tmp: fig.savefig(tmp, dpi=100), suffix=".png")
    finally:
        plt.close(fig)
    return None


def epoch_marks(history: History) -> list[tuple[int, str, dict]]:
    """Vertical lines for the plot: (1-based epoch, legend label, line style) for the
    early-stopping epoch and, with restore_best, the epoch whose weights were kept."""
    marks = []
    if "stopped_epoch" in history.info:
        epoch = history.info["stopped_epoch"]
        marks.append((epoch, f"early stop (epoch {epoch})", {"color": "grey", "linestyle": ":"}))
    if "restored_epoch" in history.info:
        epoch = history.info["restored_epoch"]
        style = {"color": "tab:green", "linestyle": "--", "alpha": 0.8}
        marks.append((epoch, f"best, restored (epoch {epoch})", style))
    return marks


class BackgroundPlotter:
    """Draws `curves.png` in a helper process that imports matplotlib (about half a second)
    while training runs, so a short run does not wait for the import at the end.

    Started before training; `plot(...)` hands it the history and waits. Falls back to
    plotting in this process if the helper cannot be used."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        if importlib.util.find_spec("matplotlib") is None:
            return
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nndsl.train.plots"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError:
            self.proc = None

    def plot(
        self,
        history: History,
        path: Path,
        title: str = "",
        cancel: Callable[[], bool] | None = None,
    ) -> str | None:
        """Draw `curves.png` (None) or say why not (a note). Waits for the helper, but
        gives up as soon as `cancel()` is true (a signal came: the run is not to be kept
        waiting for a plot), stopping the helper first."""
        if cancel is not None and cancel():
            return SKIPPED
        if self.proc is None:
            return plot_curves(history, path, title)
        job = {
            "history": history.history,
            "epoch": history.epoch,
            "info": history.info,
            "path": str(path),
            "title": title,
        }
        data: bytes | None = json.dumps(job).encode()
        deadline = time.monotonic() + 120
        while True:
            try:
                self.proc.communicate(data, timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                data = None  # sent with the first call; the later ones only wait
                if cancel is not None and cancel():
                    self._stop()
                    return SKIPPED
                if time.monotonic() > deadline:  # a stuck helper: draw here instead
                    self._stop()
                    return plot_curves(history, path, title)
            except Exception:  # a broken helper: draw here instead
                self._stop()
                return plot_curves(history, path, title)
        if self.proc.returncode != 0 or not path.exists():
            return plot_curves(history, path, title)
        return None

    def _stop(self) -> None:
        """Kill the helper and wait for it: it writes nothing once this returns."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        """Let an unused helper exit (it stops when its input closes)."""
        if self.proc is not None and self.proc.returncode is None and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass


def _plot_from_stdin() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (the slow import, done while the parent trains)

    raw = sys.stdin.read()
    if not raw:  # the run ended without curves to draw
        return
    job = json.loads(raw)
    history = History(job["history"], job["epoch"], job["info"])
    plot_curves(history, Path(job["path"]), job["title"])


if __name__ == "__main__":
    _plot_from_stdin()
