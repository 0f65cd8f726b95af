"""Progress output: a live bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from nndsl.train.callbacks import Callback


def format_logs(logs: dict[str, float]) -> str:
    parts = []
    for k, v in logs.items():
        if k == "lr":
            parts.append(f"lr {v:.3g}")
        else:
            parts.append(f"{k} {v:.4f}" if math.isfinite(v) else f"{k} {v}")
    return "  ".join(parts)


class Progress(Callback):
    def __init__(
        self, epochs: int, steps: int, stream: TextIO | None = None, live: bool | None = None
    ) -> None:
        self.epochs = epochs
        self.steps = steps
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = len(str(epochs))

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch
        self.started = time.perf_counter()
        self.last_draw = 0.0

    def on_batch_end(self, batch: int) -> None:
        now = time.perf_counter()
        if not self.live or now - self.last_draw < 0.1:
            return
        self.last_draw = now
        done = (batch + 1) / self.steps
        bar = "#" * int(done * 24)
        self.stream.write(
            f"\repoch {self.epoch + 1:>{self.width}}/{self.epochs} "
            f"[{bar:<24}] {batch + 1}/{self.steps}"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        took = time.perf_counter() - self.started
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
