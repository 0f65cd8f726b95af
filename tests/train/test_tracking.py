"""Experiment tracking (`log = tensorboard(...)` / `mlflow(...)`, `--log`), driven as a
user drives it: `nndsl run` in a fresh folder, then the tracker's own reader opens what
was written (TensorBoard's event reader, MLflow's client on the local store) and must
find the run folder's numbers: each epoch's metrics, the settings, the final metrics,
the files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nndsl.cli import main

SOURCE = """
model flowers {
    input(4)
    dense(8, activation=relu)
    dense(3, activation=softmax)
}
train flowers {
    data       = dataset("iris", standardize=true)
    validation = 0.2
    test       = 0.2
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.02)
    epochs     = EPOCHS
    metrics    = [accuracy]
    LOG
}
"""


def _write(folder: Path, log: str = "", epochs: str = "4") -> Path:
    path = folder / "flowers.nn"
    path.write_text(SOURCE.replace("LOG", log).replace("EPOCHS", epochs))
    return path


def _history(run: Path) -> dict[str, list[float]]:
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in rows[0] if k != "epoch"}


def test_tensorboard_events_hold_the_history(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    monkeypatch.chdir(tmp_path)
    source = _write(tmp_path, 'log = tensorboard("tb")')
    assert main(["run", str(source), "--out", "run", "--quiet"]) == 0
    (events,) = (tmp_path / "tb").iterdir()
    assert events.name == "run"  # a subfolder per run, named as its run folder
    reader = accumulator.EventAccumulator(str(events), size_guidance={"tensors": 0, "scalars": 0})
    reader.Reload()
    history = _history(tmp_path / "run")
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        scalars = reader.Scalars(key)
        assert [s.step for s in scalars] == [1, 2, 3, 4]
        assert [s.value for s in scalars] == pytest.approx(history[key], rel=1e-6)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    final = reader.Scalars("final/test_accuracy")
    assert final[0].value == pytest.approx(metrics["test"]["accuracy"], rel=1e-6)
    settings = reader.Tensors("settings/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "adam(lr=0.02, " in settings and "| epochs | `4` |" in settings


def test_mlflow_run_holds_params_metrics_and_files(tmp_path: Path, monkeypatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    source = _write(tmp_path)
    argv = ["run", str(source), "--out", "run", "--quiet", "--log", 'mlflow(experiment="iris")']
    assert main(argv) == 0
    client = mlflow.tracking.MlflowClient((tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("iris")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert (
        run.data.params["optimizer"].startswith("adam(lr=0.02, ")
        and run.data.params["epochs"] == "4"
    )
    assert run.data.params["backend"] == "numpy"
    history = _history(tmp_path / "run")
    for key in ("loss", "val_accuracy"):
        got = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in got] == [1, 2, 3, 4]
        assert [m.value for m in got] == pytest.approx(history[key], rel=1e-6)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run.data.metrics["final_test_loss"] == pytest.approx(metrics["test"]["loss"])
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"weights.npz", "report.html", "history.csv", "config.yaml"} <= files


def test_each_trial_of_a_sweep_is_a_run_of_its_own(tmp_path: Path, monkeypatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    source = _write(tmp_path, 'log = mlflow(experiment="sweep")', epochs="[2, 3]")
    assert main(["run", str(source), "--out", "sweep", "--quiet"]) == 0
    client = mlflow.tracking.MlflowClient((tmp_path / "mlruns").as_uri())
    runs = client.search_runs([client.get_experiment_by_name("sweep").experiment_id])
    assert sorted(r.data.params["epochs"] for r in runs) == ["2", "3"]
    for r in runs:
        steps = client.get_metric_history(r.info.run_id, "loss")
        assert len(steps) == int(r.data.params["epochs"])


def test_a_missing_library_stops_before_training(tmp_path: Path, monkeypatch, capsys) -> None:
    import nndsl.train.tracking as tracking

    real = tracking.importlib.util.find_spec
    monkeypatch.setattr(
        tracking.importlib.util, "find_spec", lambda n, *a: None if n == "mlflow" else real(n, *a)
    )
    monkeypatch.chdir(tmp_path)
    source = _write(tmp_path, "log = mlflow")
    assert main(["run", str(source), "--out", "run", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "needs mlflow" in err and "pip install 'nndsl[mlflow]'" in err
    assert not (tmp_path / "run").exists()


def test_an_unknown_tracker_is_a_located_error(tmp_path: Path, capsys) -> None:
    source = _write(tmp_path, "log = wandb")
    assert main(["check", str(source)]) == 1
    err = capsys.readouterr().err
    assert "flowers.nn:15:" in err and "wandb" in err and "tensorboard" in err
