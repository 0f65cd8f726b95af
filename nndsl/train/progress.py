"""Progress output: a live bar on a terminal (steps, rate, the epoch's and the run's time
left), one plain line per epoch otherwise (logs and CI get no carriage returns), and in a
Jupyter notebook a display that updates in place: the bar, then the learning curves
redrawn after every epoch."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from nndsl.htmlparts import escape, svg_curves
from nndsl.train.callbacks import Callback

DRAW_EVERY = 0.1  # seconds between redraws of a live bar


def format_logs(logs: dict[str, float]) -> str:
    parts = []
    for k, v in logs.items():
        if k == "lr":
            parts.append(f"lr {v:.3g}")
        else:
            parts.append(f"{k} {v:.4f}" if math.isfinite(v) else f"{k} {v}")
    return "  ".join(parts)


def duration(seconds: float) -> str:
    """1:05 or 1:02:03, as a bar's time left."""
    s = max(0, int(round(seconds)))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


class Timing:
    """Steps per second and the time left in the epoch and the run, from the time the
    epochs so far took (the first epoch: from its own steps)."""

    def __init__(self, epochs: int, steps: int) -> None:
        self.epochs, self.steps = epochs, steps
        self.epoch_seconds: list[float] = []

    def begin(self, epoch: int) -> None:
        self.epoch, self.started = epoch, time.perf_counter()

    def end(self) -> float:
        took = time.perf_counter() - self.started
        self.epoch_seconds.append(took)
        return took

    def at(self, done: int) -> tuple[float, float, float]:
        """(steps/s, seconds left in this epoch, seconds left in the run) after `done`
        steps of the epoch."""
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.steps - done) / rate if rate > 0 else math.inf
        per_epoch = (
            sum(self.epoch_seconds) / len(self.epoch_seconds)
            if self.epoch_seconds
            else elapsed + left
        )
        later = self.epochs - self.epoch - 1
        return rate, left, left + later * per_epoch


class Progress(Callback):
    def __init__(
        self, epochs: int, steps: int, stream: TextIO | None = None, live: bool | None = None
    ) -> None:
        self.epochs = epochs
        self.steps = steps
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = len(str(epochs))
        self.timing = Timing(epochs, steps)

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch
        self.timing.begin(epoch)
        self.last_draw = 0.0

    def on_batch_end(self, batch: int) -> None:
        now = time.perf_counter()
        if not self.live or now - self.last_draw < DRAW_EVERY:
            return
        self.last_draw = now
        done = batch + 1
        rate, left, run_left = self.timing.at(done)
        bar = "#" * int(done / self.steps * 24)
        eta = _running_loss(self) + (
            f"  {rate:.0f} steps/s  ETA {duration(left)}" if math.isfinite(left) else ""
        )
        if self.epochs - self.epoch > 1 and math.isfinite(run_left):
            eta += f" (run {duration(run_left)})"
        self.stream.write(
            f"\r\033[Kepoch {self.epoch + 1:>{self.width}}/{self.epochs} "
            f"[{bar:<24}] {done}/{self.steps}{eta}"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        took = self.timing.end()
        line = (
            f"epoch {epoch + 1:>{self.width}}/{self.epochs}  {format_logs(logs)}  "
            f"({took * 1000:.0f} ms)"
        )
        if self.live:
            self.stream.write("\r\033[K" + line + "\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if "stopped_epoch" in logs:
            self.stream.write(f"early stop at epoch {logs['stopped_epoch']}\n")
        if "restored_epoch" in logs:
            self.stream.write(f"restored the weights of epoch {logs['restored_epoch']}\n")


class NotebookProgress(Callback):
    """Training in a Jupyter notebook: one output that updates in place (IPython's
    display handles), a bar while an epoch runs and the learning curves after each one,
    instead of text written over itself with carriage returns."""

    def __init__(self, epochs: int, steps: int, display: Any) -> None:
        self.epochs, self.steps = epochs, steps
        self.timing = Timing(epochs, steps)
        self.display = display  # IPython.display: display and HTML
        self.lines: list[str] = []

    def on_train_begin(self) -> None:
        self.handle = self.display.display(self.display.HTML(self._page("")), display_id=True)

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch
        self.timing.begin(epoch)
        self.last_draw = 0.0

    def on_batch_end(self, batch: int) -> None:
        now = time.perf_counter()
        if now - self.last_draw < 4 * DRAW_EVERY:  # each redraw is a message to the browser
            return
        self.last_draw = now
        done = batch + 1
        rate, left, run_left = self.timing.at(done)
        eta = f" &middot; {rate:.0f} steps/s &middot; {duration(left)} left" if rate else ""
        if self.epochs - self.epoch > 1 and math.isfinite(run_left):
            eta += f" (run {duration(run_left)})"
        bar = (
            f'<progress value="{done}" max="{self.steps}" style="width:240px"></progress> '
            f"epoch {self.epoch + 1}/{self.epochs}: step {done}/{self.steps}"
            f"{_running_loss(self)}{eta}"
        )
        self.handle.update(self.display.HTML(self._page(bar)))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        took = self.timing.end()
        self.lines.append(
            f"epoch {epoch + 1}/{self.epochs}  {format_logs(logs)}  ({took * 1000:.0f} ms)"
        )
        self.handle.update(self.display.HTML(self._page("")))

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if "stopped_epoch" in logs:
            self.lines.append(f"early stop at epoch {logs['stopped_epoch']}")
        if "restored_epoch" in logs:
            self.lines.append(f"restored the weights of epoch {logs['restored_epoch']}")
        self.handle.update(self.display.HTML(self._page("")))

    def _page(self, bar: str) -> str:
        history = self.trainer.history.history if getattr(self, "trainer", None) else {}
        curves = svg_curves(history, {}) if history.get("loss") else ""
        lines = "<br>".join(escape(line) for line in self.lines[-3:])
        return f'<div class="nndsl-progress">{curves}<div>{bar}</div><pre>{lines}</pre></div>'


def _running_loss(progress: Callback) -> str:
    """ "  loss 0.1234": the epoch's mean loss so far, when the engine can tell."""
    engine = getattr(getattr(progress, "trainer", None), "engine", None)
    value = engine.running_loss() if hasattr(engine, "running_loss") else None
    return f"  loss {value:.4f}" if value is not None and math.isfinite(value) else ""


def progress_for(epochs: int, steps: int) -> Callback:
    """The notebook display inside a Jupyter kernel, else the terminal bar or lines."""
    shell = sys.modules.get("IPython")
    if shell is not None and "ipykernel" in sys.modules:
        ip = shell.get_ipython()
        if ip is not None and getattr(ip, "kernel", None) is not None:
            from IPython import display  # in a kernel already loaded: costs nothing

            return NotebookProgress(epochs, steps, display)
    return Progress(epochs, steps)
