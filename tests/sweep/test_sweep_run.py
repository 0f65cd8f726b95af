"""`nndsl run` on a sweep file: one run folder per trial under one sweep folder, the
ranking by the monitored metric, the marked best, sampling, and parallel = serial."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from nndsl.cli import main
from nndsl.sweep.plot import plot_sweep as PLOT_SWEEP

SWEEP = """
model xor {{
    input(2)
    dense(4, activation=tanh)
    dense(1, activation=sigmoid)
}}

train xor {{
    data       = synthetic("xor", n=64, noise=0.1, seed=0)
    validation = 0.25
    loss       = binary_crossentropy
    optimizer  = sgd(lr={lr}, momentum=0.9)
    batch_size = {batch}
    epochs     = 4
    metrics    = [accuracy]{extra}
}}
"""


def write(tmp_path: Path, lr="[0.5, 0.05]", batch="[8, 32]", extra="") -> Path:
    path = tmp_path / "s.nn"
    path.write_text(SWEEP.format(lr=lr, batch=batch, extra=extra), encoding="utf-8")
    return path


def rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "sweep.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(autouse=True)
def no_plots(monkeypatch):
    """Each plot costs a good fraction of a second; one test draws them."""
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *a, **k: None)
    monkeypatch.setattr("nndsl.sweep.plot.plot_sweep", lambda *a, **k: None)


def test_every_trial_gets_a_run_folder_and_a_ranked_row(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["run", str(write(tmp_path)), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        f"trial-{i:02d}" for i in range(1, 5)
    ]
    for i in range(1, 5):
        assert {"config.yaml", "history.csv", "weights.npz", "metrics.json", "model.nn"} <= {
            p.name for p in (out / f"trial-{i:02d}").iterdir()
        }
    table = rows(out)
    assert [r["rank"] for r in table] == ["1", "2", "3", "4"]
    assert {(r["trial"], r["optimizer.lr"], r["batch_size"]) for r in table} == {
        ("trial-01", "0.5", "8"),
        ("trial-02", "0.5", "32"),
        ("trial-03", "0.05", "8"),
        ("trial-04", "0.05", "32"),
    }
    losses = [float(r["val_loss"]) for r in table]
    assert losses == sorted(losses)  # no early_stop: ranked by val_loss, lower first
    assert [r["best"] for r in table] == ["1", "0", "0", "0"]
    # the row's value is the trial's own last epoch
    best = table[0]
    history = list(csv.DictReader(open(out / best["trial"] / "history.csv", encoding="utf-8")))
    assert float(history[-1]["val_loss"]) == float(best["val_loss"])
    # its model.nn is the trial itself
    text = (out / "trial-03" / "model.nn").read_text(encoding="utf-8")
    assert "sgd(lr=0.05, momentum=0.9)" in text and "batch_size = 8\n" in text
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0].split()[:3] == ["rank", "trial", "optimizer.lr"]
    assert lines[1].startswith("*") and best["trial"] in lines[1]
    assert f"best: {best['trial']}" in printed.err


def test_early_stop_monitor_and_mode_rank_the_trials(tmp_path):
    extra = "\n    early_stop = (monitor=val_accuracy, patience=10, restore_best=true)"
    out = tmp_path / "sweep"
    assert main(["run", str(write(tmp_path, extra=extra)), "--out", str(out), "-q"]) == 0
    table = rows(out)
    assert list(table[0])[7] == "val_accuracy"  # the ranking metric leads the metrics
    accuracy = [float(r["val_accuracy"]) for r in table]
    assert accuracy == sorted(accuracy, reverse=True)
    ties = [int(r["trial"][-1]) for r in table if float(r["val_accuracy"]) == accuracy[0]]
    assert ties == sorted(ties)  # equal values keep grid order


def test_a_diverging_trial_ranks_last_and_is_never_best(tmp_path):
    text = (
        SWEEP.format(lr="[0.1, 1e4]", batch="16", extra="")
        .replace("binary_crossentropy", "mse")
        .replace("activation=sigmoid", "activation=linear")
    )
    path = tmp_path / "s.nn"
    path.write_text(text.replace("momentum=0.9", "momentum=0.99"), encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 0
    table = rows(out)
    assert [(r["trial"], r["status"], r["best"]) for r in table] == [
        ("trial-01", "completed", "1"),
        ("trial-02", "failed", "0"),
    ]


def test_trials_samples_a_seeded_subset(tmp_path):
    path = write(tmp_path, lr="[0.5, 0.2, 0.1, 0.05]", batch="[8, 16, 32]")
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    assert (
        main(["run", str(path), "--trials", "3", "--out", str(out_a), "-q", "--epochs", "1"]) == 0
    )
    assert (
        main(["run", str(path), "--trials", "3", "--out", str(out_b), "-q", "--epochs", "1"]) == 0
    )
    names = sorted(r["trial"] for r in rows(out_a))
    assert len(names) == 3 and names == sorted(r["trial"] for r in rows(out_b))
    assert all(n.startswith("trial-") and len(n) == len("trial-01") for n in names)
    assert sorted(p.name for p in out_a.iterdir() if p.is_dir()) == names


def test_trials_needs_a_sweep(tmp_path, capsys):
    path = write(tmp_path, lr="0.5", batch="8")
    assert main(["run", str(path), "--trials", "2", "--out", str(tmp_path / "x")]) == 1
    assert "--trials samples a sweep, but this file has none" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_parallel_jobs_give_the_serial_results(tmp_path):
    path = write(tmp_path)
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert main(["run", str(path), "--out", str(serial), "-q"]) == 0
    assert main(["run", str(path), "--out", str(parallel), "-q", "--jobs", "2"]) == 0
    assert rows(serial) == rows(parallel)
    for trial in (r["trial"] for r in rows(serial)):
        a = np.load(serial / trial / "weights.npz")
        b = np.load(parallel / trial / "weights.npz")
        for key in a.files:
            assert np.array_equal(a[key], b[key]), (trial, key)
        assert (serial / trial / "history.csv").read_text() == (
            parallel / trial / "history.csv"
        ).read_text()


def test_sweep_plot(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr("nndsl.sweep.plot.plot_sweep", PLOT_SWEEP)
    out = tmp_path / "sweep"
    assert main(["run", str(write(tmp_path, batch="16")), "--out", str(out), "-q"]) == 0
    png = (out / "sweep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_evaluate_wants_one_trial(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["evaluate", str(path), "--weights", str(tmp_path / "w.npz")]) == 1
    assert "is a sweep of 4 trials; give one trial's file" in capsys.readouterr().err


def test_lists_in_a_model_without_train_block(tmp_path, capsys):
    path = tmp_path / "m.nn"
    path.write_text("model m {\n    input(2)\n    dense([1, 2])\n}\n")
    assert main(["run", str(path)]) == 1
    assert "has no train block" in capsys.readouterr().err
