"""`nndsl compare RUN1 RUN2 ...`: two real runs overlaid and tabulated (the table's
numbers are those of their history.csv), and the refusals: a folder that is not a run,
runs with no metric in common, a --metric they do not all have; an interrupted run and
one still training are included and say so."""

from __future__ import annotations

import csv
import shutil
import struct
from pathlib import Path

import pytest
import yaml

from nndsl.cli import main
from nndsl.runfolder import RunLock

SOURCE = """
model moon {
    input(2)
    dense(6, activation=relu)
    dense(1, activation=sigmoid)
}
train moon {
    data = synthetic("moons", n=80, seed=1)
    validation = 0.25
    loss = binary_crossentropy
    optimizer = adam(lr={lr})
    batch_size = 20
    epochs = 5
    metrics = [accuracy]
}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("compare")
    out = []
    for name, lr in (("fast", "0.1"), ("slow", "0.001")):
        path = root / f"{name}.nn"
        path.write_text(SOURCE.replace("{lr}", lr))
        assert main(["run", str(path), "--out", str(root / name), "--quiet"]) == 0
        out.append(root / name)
    return out[0], out[1]


def history(folder: Path) -> dict[str, list[float]]:
    with open(folder / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def test_two_runs_side_by_side(runs, tmp_path: Path, capsys) -> None:
    png, table = tmp_path / "ab.png", tmp_path / "ab.csv"
    args = ["compare", *map(str, runs), "--out", str(png), "--csv", str(table)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[:4] == ["run", "status", "epochs", "best"]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 300  # two panels: loss and accuracy
    with open(table, newline="") as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"fast", "slow"}
    for run in runs:
        h, row = history(run), rows[run.name]
        best = min(h["val_loss"])
        assert float(row["best val_loss"]) == best
        assert int(row["best epoch"]) == h["val_loss"].index(best) + 1
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert float(row[key]) == h[key][-1]
        assert row["status"] == "completed" and row["epochs"] == "5/5"
        assert f"{best:.4f}" in printed


def test_metric_chooses_the_ranking_column(runs, tmp_path: Path, capsys) -> None:
    args = ["compare", *map(str, runs), "--metric", "val_accuracy"]
    assert main([*args, "--out", str(tmp_path / "c.png"), "--csv", str(tmp_path / "c.csv")]) == 0
    with open(tmp_path / "c.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert float(row["best val_accuracy"]) == max(history(runs[0])["val_accuracy"])


def test_not_a_run_folder(runs, tmp_path: Path, capsys) -> None:
    assert main(["compare", str(runs[0]), str(tmp_path), "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path} is not a run folder" in err and "Traceback" not in err
    assert main(["compare", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_runs_with_no_metric_in_common(runs, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    shutil.copytree(runs[1], other)
    (other / "history.csv").write_text("epoch,mae,val_mae\n1,0.5,0.6\n")
    assert main(["compare", str(runs[0]), str(other), "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "no metric in common" in err and "other: mae, val_mae" in err


def test_a_metric_not_every_run_has(runs, tmp_path: Path, capsys) -> None:
    assert main(["compare", *map(str, runs), "--metric", "val_f1"]) == 1
    err = capsys.readouterr().err
    assert "--metric val_f1" in err and "val_accuracy" in err  # the columns they do have


def test_interrupted_and_in_progress_runs_are_included(runs, tmp_path: Path, capsys) -> None:
    stopped = tmp_path / "stopped"
    shutil.copytree(runs[1], stopped)
    config = yaml.safe_load((stopped / "config.yaml").read_text())
    config["status"] = "interrupted"
    (stopped / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    training = tmp_path / "training"  # another run holds its lock, no epoch saved yet
    (tmp_path / "training.partial").mkdir()
    lock = RunLock(training).acquire()
    try:
        args = ["compare", str(runs[0]), str(stopped), str(training)]
        assert (
            main([*args, "--out", str(tmp_path / "c.png"), "--csv", str(tmp_path / "c.csv")]) == 0
        )
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert "stopped: interrupted, 5 epochs recorded; included as far as it went" in err
    assert "training: in progress, 0 epochs recorded; nothing to draw yet" in err
    with open(tmp_path / "c.csv", newline="") as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    assert rows["stopped"]["status"] == "interrupted"
    assert rows["training"]["status"] == "in progress" and rows["training"]["loss"] == ""


def test_a_run_in_progress_shows_its_last_checkpoint(tmp_path: Path, monkeypatch, capsys) -> None:
    """While a run trains, RUN.partial holds its periodic checkpoint: compare draws the
    epochs it holds."""
    import nndsl.train.checkpoint

    source = tmp_path / "tiny.nn"
    source.write_text(SOURCE.replace("{lr}", "0.05"))
    monkeypatch.setattr(nndsl.train.checkpoint.Checkpoint, "remove", lambda self: None)
    done = tmp_path / "done"
    assert main(["run", str(source), "--out", str(done), "-q", "--set", "checkpoint_every=1"]) == 0
    training = tmp_path / "training"
    (tmp_path / "training.partial").mkdir()
    shutil.copy(done / "checkpoint.npz", tmp_path / "training.partial" / "checkpoint.npz")
    lock = RunLock(training).acquire()
    try:
        args = ["compare", str(done), str(training), "--out", str(tmp_path / "c.png")]
        assert main([*args, "--csv", str(tmp_path / "c.csv")]) == 0
    finally:
        lock.release()
    assert "training: in progress, 5 epochs recorded" in capsys.readouterr().err
    with open(tmp_path / "c.csv", newline="") as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    assert rows["training"]["val_loss"] == rows["done"]["val_loss"]  # the same epochs
