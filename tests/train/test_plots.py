"""curves.png marks the early-stopping epoch and the epoch whose weights were kept."""

from __future__ import annotations

import pytest

from nndsl.train.history import History
from nndsl.train.plots import epoch_marks, plot_curves


def history(info: dict) -> History:
    h = History(info=info)
    for e in range(8):
        h.append(e, {"loss": 1.0 / (e + 1), "val_loss": 1.0 / (e + 1) + 0.01 * e, "lr": 0.1})
    return h


def test_marks_for_early_stopping_with_restored_weights():
    marks = epoch_marks(history({"stopped_epoch": 8, "restored_epoch": 5}))  # 1-based
    assert [(e, label) for e, label, _ in marks] == [
        (8, "early stop (epoch 8)"),
        (5, "best, restored (epoch 5)"),
    ]
    assert marks[0][2] != marks[1][2]  # told apart by style, not only by the legend


def test_no_marks_without_early_stopping():
    assert epoch_marks(history({})) == []


def test_the_marks_are_drawn(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.axes

    drawn = []
    original = matplotlib.axes.Axes.axvline

    def spy(self, x=0, *args, **kwargs):
        drawn.append((x, kwargs.get("label")))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "axvline", spy)
    assert plot_curves(history({"stopped_epoch": 7}), tmp_path / "c.png") is None  # 1-based
    assert drawn == [(7, "early stop (epoch 7)")]  # one panel: loss
    assert (tmp_path / "c.png").stat().st_size > 1000
