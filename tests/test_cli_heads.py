"""A two-headed model from a .nn file end to end: targets by name from a CSV whose
columns come in another order, the API's predict dict, `nndsl predict`'s column groups,
evaluate's columns, and an interrupted run resumed bit for bit (NumPy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from tests.test_cli_resume import assert_same_run, interrupt_at, status

SOURCE = """model m {
    input(2)
    h = dense(8, activation=tanh)
    dropout(0.1)
    kind = dense(3, activation=softmax)
    size = dense(1, from=h)
    output kind, size
}

train m {
    data = csv("d.csv", target=(size="size", kind="kind"), standardize=true)
    validation = 0.25
    loss = (kind=sparse_categorical_crossentropy, size=mse)
    loss_weights = (size=0.5)
    metrics = (kind=[accuracy], size=[mae])
    terms = (act = 0.01 * l2(h))
    optimizer = adam(lr=0.01)
    batch_size = 8
    epochs = 6
    early_stop = (monitor=val_kind_accuracy, patience=10)
    seed = 1
}
"""


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


def write(folder: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    kind = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    size = 2 * x[:, 0] - x[:, 1]
    # targets first, and in the other order than the outputs: found by name
    lines = ["size,kind,a,b"] + [
        f"{s:.4f},{k},{a:.4f},{b:.4f}" for s, k, (a, b) in zip(size, kind, x)
    ]
    (folder / "d.csv").write_text("\n".join(lines) + "\n")
    (folder / "m.nn").write_text(SOURCE)
    return folder / "m.nn"


def test_targets_by_name_predict_dict_and_evaluate(tmp_path: Path) -> None:
    program = nndsl.compile_file(write(tmp_path))
    model = program.build(seed=0)
    history = model.fit(verbose=0)
    assert "val_kind_accuracy" in history.history and "val_act" in history.history
    assert model.target_names == ["kind", "size"]  # in output order
    assert model.feature_names == ["a", "b"]
    splits = model.load_data()
    y = splits.train.y
    raw = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)
    # the first training sample's targets are its row's kind and size
    row = np.flatnonzero(np.isclose(raw[:, 0], y[0, 1]))[0]
    assert y[0, 0] == raw[row, 1]
    pred = model.predict(raw[:, 2:])
    assert set(pred) == {"kind", "size"}
    assert pred["kind"].shape == (60, 3) and pred["size"].shape == (60, 1)
    logs = model.evaluate(tmp_path / "d.csv")
    assert set(logs) == {"loss", "kind_loss", "size_loss", "act", "kind_accuracy", "size_mae"}
    by_dict = model.evaluate(
        {"a": raw[:, 2], "b": raw[:, 3]}, {"size": raw[:, 0], "kind": raw[:, 1]}
    )
    assert by_dict == pytest.approx(logs)


def test_predict_writes_a_column_group_per_output(tmp_path: Path, capsys) -> None:
    source = write(tmp_path)
    run = tmp_path / "run"
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "p.csv"
    assert main(["predict", str(run), "--data", str(tmp_path / "d.csv"), "--out", str(out)]) == 0
    header, *rows = out.read_text().splitlines()
    assert header == "kind_p_0,kind_p_1,kind_p_2,kind,size"
    assert len(rows) == 60
    first = rows[0].split(",")
    probs = np.array(first[:3], dtype=float)
    assert abs(probs.sum() - 1) < 1e-4 and int(first[3]) == probs.argmax()


def test_a_two_headed_run_resumes_bit_for_bit(tmp_path: Path, monkeypatch) -> None:
    source = write(tmp_path)
    reference, run = tmp_path / "reference", tmp_path / "run"
    assert main(["run", str(source), "--out", str(reference), "--quiet"]) == 0
    with monkeypatch.context() as patch:
        interrupt_at(patch, epoch=3, batch=2)
        assert main(["run", str(source), "--out", str(run), "--quiet"]) == 130
    assert status(run) == "interrupted"
    assert main(["run", "--resume", str(run), "--quiet"]) == 0
    assert_same_run(run, reference)
    header = (run / "history.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,loss,kind_loss,size_loss,act,kind_accuracy,size_mae,val_")
