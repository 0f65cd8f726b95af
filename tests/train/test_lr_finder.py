"""The learning-rate range test: a seeded ramp from the initial weights, put back after;
its suggestion lies where the loss falls, below where it diverges."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.lrfind import lr_find
from nndsl.train.lr_finder import ramp

LINEAR = """
model line {
    input(3)
    dense(1)
}
train line { loss = mse  optimizer = sgd(lr=0.01)  batch_size = 16  seed = 3 }
"""


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.05 * rng.normal(size=256)
    return x, y


def test_ramp_is_exponential():
    lrs = ramp(1e-6, 1.0, 7)
    np.testing.assert_allclose(lrs, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0])


def test_suggestion_lies_where_the_loss_falls(toy):
    x, y = toy
    model = nndsl.compile_string(LINEAR).build(seed=3)
    finding = lr_find(model, x, y, min_lr=1e-5, max_lr=100.0, steps=120)
    assert finding.stopped == "the loss diverged"  # plain SGD on this problem blows up above ~1
    assert finding.lrs[-1] < 100.0
    low, high = finding.falling
    assert low <= finding.suggestion < high == finding.min_loss_lr
    assert 1e-3 < finding.suggestion < 1.0
    # judged on the curve itself: the loss is already falling there, well before the
    # rates at which it climbs back above where it started
    smooth, lrs = finding.smoothed, finding.lrs
    k = int(np.argmin(abs(lrs - finding.suggestion)))
    assert smooth[k] < 0.95 * smooth[0] and smooth[k + 1] < smooth[k - 1]
    back_up = [i for i in range(int(np.argmin(smooth)), len(lrs)) if smooth[i] > smooth[0]]
    assert not back_up or finding.suggestion < lrs[back_up[0]] / 3
    before = model.evaluate(x, y)["loss"]
    model.engine.lr = finding.suggestion
    model.fit(x, y, epochs=3, verbose=0)
    assert model.evaluate(x, y)["loss"] < 0.1 * before


def test_weights_and_optimizer_are_put_back(toy):
    x, y = toy
    model = nndsl.compile_string(LINEAR).build(seed=3)
    weights = model.get_weights()
    lr_find(model, x, y, min_lr=1e-4, max_lr=10.0, steps=40)
    after = model.get_weights()
    assert all(np.array_equal(weights[k], after[k]) for k in weights)
    assert model.engine.lr == 0.01
    # training afterwards is exactly training a fresh model
    fresh = nndsl.compile_string(LINEAR).build(seed=3)
    a = model.fit(x, y, epochs=2, verbose=0).history["loss"]
    b = fresh.fit(x, y, epochs=2, verbose=0).history["loss"]
    assert a == b


def test_the_range_test_is_seeded(toy):
    x, y = toy
    runs = [
        lr_find(nndsl.compile_string(LINEAR).build(seed=3), x, y, steps=50, max_lr=10.0)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    assert runs[0].suggestion == runs[1].suggestion


def test_no_suggestion_when_the_loss_never_falls(toy):
    x, y = toy
    model = nndsl.compile_string(LINEAR).build(seed=3)
    finding = lr_find(model, x, y, min_lr=1e-9, max_lr=1e-8, steps=30)
    assert finding.suggestion is None


def test_bad_ranges_are_refused(toy):
    x, y = toy
    model = nndsl.compile_string(LINEAR).build()
    with pytest.raises(nndsl.NNDSLError, match="0 < min < max"):
        lr_find(model, x, y, min_lr=1.0, max_lr=0.1)


def test_cli(tmp_path, capsys, monkeypatch):
    source = tmp_path / "xor.nn"
    source.write_text(
        """
model xor {
    input(2)
    dense(8, activation=tanh)
    dense(1, activation=sigmoid)
}
train xor {
    data       = synthetic("xor", n=200, seed=0)
    loss       = binary_crossentropy
    optimizer  = adam(lr=[0.1, 0.01])
    batch_size = 16
}
"""
    )
    drawn = []
    monkeypatch.setattr("nndsl.lrfind.plot_finding", lambda f, path, title: drawn.append(path))
    out = tmp_path / "lr.png"
    code = main(["lr-find", str(source), "--steps", "80", "--min", "1e-5", "--max", "10"])
    assert code == 0
    printed = capsys.readouterr()
    assert "80 steps from 1e-05" in printed.out or "steps from 1e-05" in printed.out
    assert "suggested lr:" in printed.out and "--set optimizer=adam(lr=" in printed.out
    assert "first trial" in printed.err  # a sweep file: the range test uses trial 1
    assert main(["lr-find", str(source), "--steps", "20", "--out", str(out)]) == 0
    assert drawn[-1] == out
