"""Learning curves (`curves.png`): loss and each metric per epoch, train and validation,
the early-stopping epoch marked, the learning rate beside them when a schedule changes
it, and a log axis for a curve spanning more than two decades. Needs matplotlib (the
`plot` extra). The plot helper process draws the model's pictures too
(nndsl.train.model_pictures)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nndsl.files import atomic_write_by_name
from nndsl.train.history import History
from nndsl.train.model_pictures import PICTURE_KINDS, draw_pictures

SKIPPED = "curves.png skipped: interrupted"
LOG_SPAN = 100.0  # a curve whose largest value is this many times its smallest: log axis


def plot_curves(history: History, path: Path, title: str = "") -> str | None:
    """Write the plot; returns a one-line note instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return "curves.png skipped: pip install 'nndsl[plot]' for plots"
    keys = [k for k in history.history if not k.startswith("val_") and k != "lr"]
    lr = history.history.get("lr") or []
    scheduled = len({v for v in lr if math.isfinite(v)}) > 1  # a constant rate: no panel
    panels = len(keys) + scheduled
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.6), squeeze=False)
    epochs = [e + 1 for e in history.epoch]
    along = "episode" if "return" in history.history else "epoch"  # an agent: a row per episode
    for ax, key in zip(axes[0], keys):
        ax.plot(epochs, history.history[key], label=f"train {key}")
        if f"val_{key}" in history.history:
            ax.plot(epochs, history.history[f"val_{key}"], label=f"validation {key}")
        for epoch, label, style in epoch_marks(history):
            ax.axvline(epoch, label=label, **style)
        ax.set_xlabel(along)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        ax.set_title(key)
        if spans_decades(history.history[key] + history.history.get(f"val_{key}", [])):
            ax.set_yscale("log")
            ax.set_title(f"{key} (log scale)")
        ax.grid(alpha=0.3)
        ax.legend()
    if scheduled:
        ax = axes[0][-1]
        ax.plot(epochs, lr, color="tab:purple")
        ax.set(xlabel=along, title="learning rate")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if spans_decades(lr):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:  # a temporary name of its own: two runs may draw into one folder at once
        atomic_write_by_name(path, lambda tmp: fig.savefig(tmp, dpi=100), suffix=".png")
    finally:
        plt.close(fig)
    return None


def plot_runs(runs: dict[str, History], keys: list[str], path: Path, title: str = "") -> str | None:
    """`nndsl compare`'s picture: one panel per metric of `keys` (names without `val_`),
    every run in its own colour, training dashed and validation solid. Returns a note
    instead when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return f"{path.name} skipped: pip install 'nndsl[plot]' for plots"
    fig = Figure(figsize=(5.5 * len(keys), 4.2))
    colours = {label: f"C{i % 10}" for i, label in enumerate(runs)}
    # the legend: a colour per run, then what the two line styles mean
    legend = [Line2D([], [], color=c, label=label) for label, c in colours.items()]
    legend += [
        Line2D([], [], color="grey", linestyle="--", label="training"),
        Line2D([], [], color="grey", linestyle="-", label="validation"),
    ]
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        values: list[float] = []
        for label, history in runs.items():
            epochs = [e + 1 for e in history.epoch]
            for column, style in ((key, "--"), (f"val_{key}", "-")):
                if column in history.history:
                    ax.plot(epochs, history[column], style, color=colours[label])
                    values += history[column]
        log = spans_decades(values)
        if log:
            ax.set_yscale("log")
        ax.set(xlabel="epoch", title=key + (" (log scale)" if log else ""))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(handles=legend, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    atomic_write_by_name(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), suffix=".png")
    return None


def spans_decades(values: list[float]) -> bool:
    """Whether positive `values` span more than two decades (a log axis shows them)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite or min(finite) <= 0:
        return False
    return max(finite) / min(finite) > LOG_SPAN


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


def draw_job(job: dict[str, Any]) -> str | None:
    """One helper's share, in this process: the curves (if `job["curves"]`) and the
    model's pictures of the kinds listed (all when None). None, or a note why not."""
    note = None
    if job.get("curves"):
        c = job["curves"]
        history = History(c["history"], c["epoch"], c["info"])
        note = plot_curves(history, Path(c["path"]), c["title"])
    drawn = draw_pictures(Path(job["folder"]), job["pictures"], job.get("kinds"))
    return drawn or note


def draw_here(history: History, path: Path, title: str, pictures: list[dict]) -> str | None:
    """`curves.png` at `path` and the model's pictures beside it, in this process."""
    note = plot_curves(history, path, title)
    return draw_pictures(path.parent, pictures) or note


# the pictures a second helper draws, while the first draws the curves and the rest: the
# two take about as long, so on two cores the run waits for the slower half only
SECOND_HELPER_KINDS = ("confusion", "calibration")


class BackgroundPlotter:
    """Draws `curves.png` and the model's pictures in helper processes that import
    matplotlib (about half a second) while training runs, so a short run does not wait
    for the import at the end; with more than one core, a second helper draws half the
    pictures at the same time as the first draws the rest.

    Started before training; `plot(...)` hands them the history and pictures and waits.
    Falls back to drawing in this process what a helper could not."""

    pictures_proc: subprocess.Popen | None = None  # the second helper, if any

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        if importlib.util.find_spec("matplotlib") is None:
            return
        self.proc = _start_helper()
        if (os.cpu_count() or 1) > 1:
            self.pictures_proc = _start_helper()

    def plot(
        self,
        history: History,
        path: Path,
        title: str = "",
        cancel: Callable[[], bool] | None = None,
        pictures: list[dict] | None = None,
    ) -> str | None:
        """Draw `curves.png` and the model's `pictures` (descriptions from
        nndsl.train.model_pictures, drawn beside it): None, or a note saying why not.
        Waits for the helpers, but gives up as soon as `cancel()` is true (a signal came:
        the run is not to be kept waiting for a plot), stopping them first."""
        if cancel is not None and cancel():
            return SKIPPED
        curves = {
            "history": history.history,
            "epoch": history.epoch,
            "info": history.info,
            "path": str(path),
            "title": title,
        }
        job = {"curves": curves, "folder": str(path.parent), "pictures": pictures or []}
        jobs = [(self.proc, job)]
        if self.pictures_proc is not None and pictures:
            rest = [k for k in PICTURE_KINDS if k not in SECOND_HELPER_KINDS]
            jobs = [
                (self.proc, dict(job, kinds=rest)),
                (self.pictures_proc, dict(job, curves=None, kinds=list(SECOND_HELPER_KINDS))),
            ]
        for unused in {self.proc, self.pictures_proc} - {p for p, _ in jobs}:
            _close(unused)  # a helper without a job stops now
        left = self._wait([(p, j) for p, j in jobs if p is not None], cancel)
        if left is None:
            return SKIPPED
        notes = [draw_job(j) for p, j in jobs if p is None] + [draw_job(j) for j in left]
        if not path.exists():  # whatever happened, the curves are drawn
            notes.append(plot_curves(history, path, title))
        return next((n for n in notes if n), None)

    def _wait(
        self, jobs: list[tuple[subprocess.Popen, dict]], cancel: Callable[[], bool] | None
    ) -> list[dict] | None:
        """Hand each helper its job and wait for all: the jobs they did not finish (to be
        drawn here), or None when `cancel()` came true (the helpers stopped)."""
        sending: dict[int, bytes | None] = {
            i: json.dumps(j).encode() for i, (_, j) in enumerate(jobs)
        }
        failed: list[dict] = []
        deadline = time.monotonic() + 120
        while sending:
            for i in list(sending):
                proc, job = jobs[i]
                try:
                    proc.communicate(sending[i], timeout=0.05)
                except subprocess.TimeoutExpired:
                    sending[i] = None  # sent with the first call; the later ones only wait
                    if cancel is not None and cancel():
                        for j in sending:
                            _stop(jobs[j][0])
                        return None
                    if time.monotonic() > deadline:  # a stuck helper: draw here instead
                        _stop(proc)
                        failed.append(job)
                        del sending[i]
                    continue
                except Exception:  # a broken helper: draw here instead
                    _stop(proc)
                    failed.append(job)
                    del sending[i]
                    continue
                if proc.returncode != 0:
                    failed.append(job)
                del sending[i]
        return failed

    def close(self) -> None:
        """Let unused helpers exit (each stops when its input closes)."""
        _close(self.proc)
        _close(self.pictures_proc)


def _close(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.returncode is None and proc.stdin and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass


def _start_helper() -> subprocess.Popen | None:
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "nndsl.train.plots"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError:
        return None


def _stop(proc: subprocess.Popen) -> None:
    """Kill a helper and wait for it: it writes nothing once this returns."""
    proc.kill()
    proc.wait()


def _plot_from_stdin() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (the slow import, done while the parent trains)

    raw = sys.stdin.read()
    if not raw:  # the run ended without curves to draw
        return
    draw_job(json.loads(raw))


if __name__ == "__main__":
    _plot_from_stdin()
