"""The metrics as a user meets them: listed in a train block, reported each epoch (the
same on both backends), equal to scikit-learn's on the model's own predictions, watched
by early stopping in the direction each declares, written by `nndsl run`, and mistakes
in them located in the .nn file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.errors import NNDSLError

sk = pytest.importorskip("sklearn.metrics")

CLASSIFIER = """
model m {{
  input(4)
  dense(8, relu)
  dense({units}, {act})
}}
train {{
  loss = {loss}
  optimizer = adam(lr={lr})
  metrics = [{metrics}]
  epochs = {epochs}
  batch_size = 16
  {extra}
}}
"""

BINARY_METRICS = "accuracy, precision, recall, f1, f1_macro, f1_weighted, auc, auc_pr"
SOFTMAX_METRICS = (
    "precision, recall_weighted, f1, f1_weighted, precision_macro, auc, auc_pr, "
    "top_k_accuracy(k=2), top_k_accuracy(k=4)"
)
REGRESSION_METRICS = "r2, rmse, mape, mae"


def data(seed: int = 0, n: int = 160):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    binary = (x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.normal(size=n) > 0.3).astype(np.float32)
    classes = np.digitize(x[:, 0] - x[:, 2] + 0.3 * rng.normal(size=n), [-1.5, -0.5, 0.5, 1.5])
    values = (x @ np.array([1.0, -2.0, 0.5, 0.0]) + 3 + 0.2 * rng.normal(size=n)).astype(np.float32)
    return x, binary, classes, values


def source(kind: str, lr: float = 0.03, epochs: int = 3, extra: str = "", metrics=None) -> str:
    units, act, loss, default = {
        "binary": (1, "sigmoid", "binary_crossentropy", BINARY_METRICS),
        "softmax": (5, "softmax", "sparse_categorical_crossentropy", SOFTMAX_METRICS),
        "regression": (1, "linear", "mse", REGRESSION_METRICS),
    }[kind]
    return CLASSIFIER.format(
        units=units, act=act, loss=loss, lr=lr, metrics=metrics or default, epochs=epochs,
        extra=extra,
    )  # fmt: skip


def targets(kind: str):
    x, binary, classes, values = data()
    return x, {"binary": binary, "softmax": classes, "regression": values}[kind]


def sklearn_values(kind: str, y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Every metric of the train blocks above, by scikit-learn, from predictions `p`."""
    if kind == "regression":
        p = p.reshape(-1).astype(np.float64)
        return {
            "r2": sk.r2_score(y, p),
            "rmse": sk.mean_squared_error(y, p) ** 0.5,
            "mape": sk.mean_absolute_percentage_error(y, p),
            "mae": sk.mean_absolute_error(y, p),
        }
    if kind == "binary":
        s = p.reshape(-1).astype(np.float64)
        guess = (s > 0.5).astype(int)
        return {
            "accuracy": sk.accuracy_score(y, guess),
            "precision": sk.precision_score(y, guess, zero_division=0),
            "recall": sk.recall_score(y, guess, zero_division=0),
            "f1": sk.f1_score(y, guess, zero_division=0),
            "f1_macro": sk.f1_score(y, guess, average="macro", zero_division=0),
            "f1_weighted": sk.f1_score(y, guess, average="weighted", zero_division=0),
            "auc": sk.roc_auc_score(y, s),
            "auc_pr": sk.average_precision_score(y, s),
        }
    s = p.astype(np.float64)
    guess, labels = s.argmax(1), list(range(s.shape[1]))
    return {
        "precision": sk.precision_score(y, guess, average="macro", zero_division=0),
        "recall_weighted": sk.recall_score(y, guess, average="weighted", zero_division=0),
        "f1": sk.f1_score(y, guess, average="macro", zero_division=0),
        "f1_weighted": sk.f1_score(y, guess, average="weighted", zero_division=0),
        "precision_macro": sk.precision_score(y, guess, average="macro", zero_division=0),
        "auc": sk.roc_auc_score(y, s, multi_class="ovr", labels=labels),
        "auc_pr": sk.average_precision_score(np.eye(s.shape[1])[y], s, average="macro"),
        "top_2_accuracy": sk.top_k_accuracy_score(y, s, k=2, labels=labels),
        "top_4_accuracy": sk.top_k_accuracy_score(y, s, k=4, labels=labels),
    }


@pytest.mark.parametrize("kind", ["binary", "softmax", "regression"])
def test_evaluate_equals_sklearn_on_the_predictions(kind: str) -> None:
    x, y = targets(kind)
    model = nndsl.compile_string(source(kind)).build(seed=0)
    model.fit(x[:120], y[:120], verbose=0)
    # 40 rows in uneven batches (batch_size 16 in training; evaluate takes >= 256 at a
    # time, so evaluate twice: whole, and the history's validation columns below)
    got = model.evaluate(x[120:], y[120:])
    expected = sklearn_values(kind, y[120:], model.predict(x[120:]))
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


@pytest.mark.parametrize("kind", ["binary", "softmax", "regression"])
def test_history_is_the_same_on_both_backends(kind: str) -> None:
    pytest.importorskip("torch")
    x, y = targets(kind)
    histories = []
    for backend in ("numpy", "torch"):
        model = nndsl.compile_string(source(kind, epochs=4)).build(backend=backend, seed=0)
        histories.append(model.fit(x, y, validation_split=0.25, verbose=0).history)
    ours, theirs = histories
    assert set(ours) == set(theirs)
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6, atol=1e-6, err_msg=key)
    columns = sklearn_values(kind, *_some_predictions(kind))
    assert {*columns, *(f"val_{c}" for c in columns)} <= set(ours)


def _some_predictions(kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "regression":
        return np.arange(4.0), np.arange(4.0) + 0.5
    if kind == "binary":
        return np.array([0, 1, 0, 1]), np.array([0.2, 0.7, 0.6, 0.9])
    y = np.arange(5)
    return y, np.eye(5)[::-1] * 0.5 + 0.1


def keras_stop(values: list[float], mode: str, patience: int) -> int:
    """Epochs run by Keras' EarlyStopping (min_delta 0, no baseline) over `values`."""
    best, wait = (-np.inf if mode == "max" else np.inf), 0
    for epoch, v in enumerate(values):
        wait += 1
        if (v > best) if mode == "max" else (v < best):
            best, wait = v, 0
        elif wait >= patience and epoch > 0:
            return epoch + 1
    return len(values)


@pytest.mark.parametrize(
    ("kind", "monitor", "lr", "patience"),
    [("binary", "val_f1", 0.03, 2), ("regression", "val_rmse", 0.01, 1)],
)
def test_early_stop_watches_the_metric_in_its_direction(kind, monitor, lr, patience) -> None:
    """mode=auto is max for F1 and min for RMSE: the run stops where Keras' rule in that
    direction stops on the run's own history (run to the end without early stopping),
    which here differs from where the other direction would."""
    x, y = targets(kind)
    full = nndsl.compile_string(source(kind, lr=lr, epochs=12)).build(seed=0)
    values = full.fit(x, y, validation_split=0.25, verbose=0).history[monitor]
    right = "max" if monitor == "val_f1" else "min"
    wrong = "min" if right == "max" else "max"
    assert keras_stop(values, right, patience) != keras_stop(values, wrong, patience)
    stop = f"early_stop = (monitor={monitor}, patience={patience})"
    model = nndsl.compile_string(source(kind, lr=lr, epochs=12, extra=stop)).build(seed=0)
    history = model.fit(x, y, validation_split=0.25, verbose=0)
    assert len(history.epoch) == keras_stop(values, right, patience)
    assert history.history[monitor] == values[: len(history.epoch)]


def test_metrics_per_output_of_two_heads() -> None:
    src = """
model two {
  input(4)
  h = dense(8, relu)
  label = dense(1, sigmoid)
  value = dense(1, from=h)
  output label, value
}
train {
  loss = (label=binary_crossentropy, value=mse)
  metrics = (label=[f1, auc], value=[r2, rmse])
  optimizer = adam(lr=0.02)
  epochs = 2
  early_stop = (monitor=val_label_auc, patience=5)
}
"""
    x, binary, _, values = data()
    model = nndsl.compile_string(src).build(seed=0)
    history = model.fit(x, {"label": binary, "value": values}, validation_split=0.25, verbose=0)
    for column in ("label_f1", "label_auc", "value_r2", "value_rmse", "val_label_auc"):
        assert column in history.history
    got = model.evaluate(x[:50], {"label": binary[:50], "value": values[:50]})
    p = model.predict(x[:50])
    assert got["label_auc"] == pytest.approx(sk.roc_auc_score(binary[:50], p["label"].ravel()))
    assert got["value_r2"] == pytest.approx(sk.r2_score(values[:50], p["value"].ravel()), rel=1e-5)


# ------------------------------------------------------------------ located mistakes


@pytest.mark.parametrize(
    ("kind", "metrics", "message", "hint", "at"),
    [
        ("binary", "accuracy, f1_score", "unknown metric 'f1_score'", "f1", "f1_score"),
        ("binary", "acuracy", "unknown metric 'acuracy'", "accuracy", "acuracy"),
        ("regression", "mae, auc", "metric 'auc' needs an output trained on", "r2", "auc"),
        ("softmax", "r2", "metric 'r2' needs an output trained on values", "auc", "r2"),
        ("binary", "top_k_accuracy", "metric 'top_k_accuracy' needs", "f1", "top_k"),
        ("softmax", "top_k_accuracy(k=0)", "'k' must be >= 1", None, "0)"),
    ],
)
def test_a_wrong_metric_is_a_located_error(kind, metrics, message, hint, at) -> None:
    src = source(kind, metrics=metrics)
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(src)
    err = info.value
    assert message in str(err)
    line = src.splitlines()[err.line - 1]
    assert "metrics" in line
    assert line[err.column - 1 :].startswith(at)
    if hint is not None:
        assert hint in (err.hint or "")


def test_monitoring_a_metric_not_listed_is_a_located_error() -> None:
    src = source("binary", metrics="f1", extra="early_stop = (monitor=val_auc)")
    with pytest.raises(NNDSLError, match="monitors 'val_auc'") as info:
        nndsl.compile_string(src)
    assert "val_f1" in (info.value.hint or "")


# ------------------------------------------------------------------ nndsl run


def test_nndsl_run_writes_the_metrics(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
    x, binary, _, _ = data(seed=3, n=120)
    with open(tmp_path / "rows.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "d", "churned"])
        for row, label in zip(x, binary):
            w.writerow([*(f"{v:.4f}" for v in row), int(label)])
    nn = source("binary", epochs=3, metrics="f1, auc, recall_weighted")
    nn = nn.replace("train {", 'train {\n  data = csv("rows.csv", target="churned")\n')
    nn = nn.replace("batch_size = 16", "batch_size = 16\n  validation = 0.25")
    (tmp_path / "churn.nn").write_text(nn)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "churn.nn", "--out", "runs", "-q"]) == 0
    run = tmp_path / "runs"
    with open(run / "history.csv") as f:
        header = next(csv.reader(f))
    for column in ("f1", "auc", "recall_weighted", "val_f1", "val_auc", "val_recall_weighted"):
        assert column in header
    final = json.loads((run / "metrics.json").read_text())
    assert {"f1", "auc", "recall_weighted"} <= set(final["validation"])
    assert 0 <= final["validation"]["auc"] <= 1
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", "rows.csv"]) == 0
    shown = capsys.readouterr().out
    assert "auc" in shown and "recall_weighted" in shown


@pytest.mark.parametrize(("world", "rows"), [(2, 300), (3, 2)])
def test_processes_sharing_an_evaluation_report_the_numbers_of_one(
    world: int, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of `world` torch processes evaluates its part of the rows: the confusion
    counts are all-reduced and the kept scores gathered, giving one process's F1 and AUC
    (the processes are run one after another here, rank 0 last, each collective faked)."""
    torch = pytest.importorskip("torch")
    model = nndsl.compile_string(source("binary")).build(backend="torch", device="cpu")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    y = (rng.random(rows) > 0.5).astype(np.float32)
    alone = model.evaluate_scaled(x, y)
    engine, reduced = model.engine, []
    gathered: dict[int, list] = {}  # rank -> its objects, one per call, in call order
    calls = [0]

    def all_reduce(t):
        if engine.rank:
            reduced.append(t.clone())
        else:
            t += sum(reduced)

    def all_gather_object(every, mine):
        if engine.rank:  # what the others get does not matter here
            gathered.setdefault(engine.rank, []).append(mine)
            every[:] = [mine] * len(every)
        else:
            every[:] = [mine, *(gathered[r][calls[0]] for r in range(1, world))]
            calls[0] += 1

    monkeypatch.setattr(torch.distributed, "all_reduce", all_reduce)
    monkeypatch.setattr(torch.distributed, "all_gather_object", all_gather_object)
    for rank in [*range(1, world), 0]:
        engine.rank, engine.world = rank, world
        result = model.evaluate_scaled(x, y)
    engine.rank, engine.world = 0, 1
    assert result.keys() == alone.keys()
    for key, value in alone.items():
        assert result[key] == pytest.approx(value, rel=1e-9, nan_ok=True), key
