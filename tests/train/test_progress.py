"""The training progress bar: on a terminal a live line with the running loss, steps/s
and the time left in the epoch and the run; in a log one plain line per epoch and no
carriage returns (NO_COLOR and pipes stay plain)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import nndsl
from nndsl.train import progress
from nndsl.train.progress import Progress, Timing, duration

XOR = Path(__file__).resolve().parents[2] / "examples" / "xor.nn"


def _fit(live: bool, monkeypatch, backend: str = "numpy") -> tuple[str, object]:
    monkeypatch.setattr(progress, "DRAW_EVERY", 0.0)  # draw at every batch
    model = nndsl.compile_file(XOR).build(backend=backend, seed=0)
    stream = io.StringIO()
    plan = model.plan
    steps = -(-len(model.load_data().train) // plan.batch_size)
    history = model.fit(epochs=3, verbose=0, callbacks=[Progress(3, steps, stream, live=live)])
    return stream.getvalue(), history


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_live_bar_shows_the_running_loss(monkeypatch, backend) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    text, history = _fit(True, monkeypatch, backend)
    epochs = text.split("\n")[:-1]
    assert len(epochs) == 3
    for line, loss in zip(epochs, history["loss"]):
        draws = line.split("\r\x1b[K")[1:]  # each redraw clears the line first
        bars = [d for d in draws if "[" in d]
        assert bars and all(re.search(r"\d+ steps/s  ETA \d+:\d\d", b) for b in bars)
        # after the epoch's last batch the running loss is the epoch's mean loss
        last = float(re.search(r"loss (\d+\.\d+)", bars[-1]).group(1))
        assert last == pytest.approx(loss, abs=1e-4)
        assert ("(run " in bars[0]) == (not bars[0].startswith("epoch 3/3"))  # epochs to come


def test_a_log_gets_plain_lines(monkeypatch) -> None:
    text, history = _fit(False, monkeypatch)
    assert "\r" not in text and "\x1b" not in text
    lines = text.strip().split("\n")
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert f"loss {history['loss'][0]:.4f}" in lines[0]


def test_time_left_counts_the_epochs_to_come(monkeypatch) -> None:
    clock = iter([0.0, 10.0, 10.0, 15.0])  # epoch 1: 10 s; epoch 2: half done at 15 s
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    t = Timing(epochs=4, steps=100)
    t.begin(0)
    t.end()
    t.begin(1)
    rate, left, run_left = t.at(50)
    assert rate == pytest.approx(10.0) and left == pytest.approx(5.0)
    assert run_left == pytest.approx(5.0 + 2 * 10.0)  # two more epochs of 10 s


def test_duration() -> None:
    assert [duration(s) for s in (0, 59.4, 61, 3600, 3725)] == [
        "0:00",
        "0:59",
        "1:01",
        "1:00:00",
        "1:02:05",
    ]
