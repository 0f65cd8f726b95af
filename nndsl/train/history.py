"""The record of a training run, shaped like Keras' History."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from nndsl.htmlparts import escape, svg_curves, table

SHOWN_EPOCHS = 10  # rows of a History shown in a notebook: the last ones


@dataclass(repr=False)
class History:
    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # stopped_epoch, restored_epoch, ...

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, [float("nan")] * (len(self.epoch) - 1)).append(value)
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(float("nan"))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        if not self.epoch:
            return "History(no epochs)"
        last = "  ".join(f"{k} {v:.4g}" for k, v in self.last().items())
        return f"History({len(self)} epochs; last: {last})"

    def _repr_html_(self) -> str:
        """In a notebook: the loss curves and the last epochs' numbers."""
        if not self.epoch:
            return "<p>History: no epochs</p>"
        keys = list(self.history)
        start = max(0, len(self.epoch) - SHOWN_EPOCHS)
        rows = [
            [self.epoch[i] + 1, *(self.history[k][i] for k in keys)]
            for i in range(start, len(self.epoch))
        ]
        more = f"<p>(the last {SHOWN_EPOCHS} of {len(self)} epochs)</p>" if start else ""
        notes = "".join(f"<p>{escape(k)}: {escape(v)}</p>" for k, v in self.info.items())
        return svg_curves(self.history, self.info) + table(["epoch", *keys], rows) + more + notes

    def last(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.history.items()} if self.epoch else {}

    @classmethod
    def from_csv(cls, text: str, info: dict[str, Any] | None = None) -> History:
        """The inverse of `to_csv` (its epoch column counts from 1, `epoch` from 0)."""
        rows = list(csv.reader(io.StringIO(text)))
        history = cls(info=dict(info or {}))
        if not rows:
            return history
        keys = rows[0][1:]
        history.history = {k: [] for k in keys}
        for row in rows[1:]:
            history.epoch.append(int(row[0]) - 1)
            for k, v in zip(keys, row[1:]):
                history.history[k].append(float(v))
        return history

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        keys = list(self.history)
        writer.writerow(["epoch", *keys])
        for i, e in enumerate(self.epoch):
            writer.writerow([e + 1, *(repr(self.history[k][i]) for k in keys)])
        return buf.getvalue()
