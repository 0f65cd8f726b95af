"""Sample weights wherever a table comes from: `parquet(..., weight="w")` and
`jsonl(..., weight="w")` read the same weights as the same table as a CSV file (and train
to the same history); their hostile weight cells are errors at the JSON line or Parquet
row; `nndsl evaluate RUN --data new.csv` and `model.evaluate(path)` weigh the loss by the
new file's weight column as Keras 3's `model.evaluate(x, y, sample_weight=w)` does (its
torch backend), on both backends, and say so when the file lacks the column."""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow

import nndsl  # noqa: E402
from nndsl.cli import main  # noqa: E402

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

HAS_TORCH = importlib.util.find_spec("torch") is not None
BACKENDS = [
    "numpy",
    pytest.param("torch", marks=pytest.mark.skipif(not HAS_TORCH, reason="no torch")),
]


PROGRAM = """model m {{
    input(2)
    h = dense(5, activation=tanh)
    out = dense(1, activation=sigmoid)
}}
train m {{
    data       = {reader}("{path}", target="label", weight="w")
    validation = 0.25
    loss       = binary_crossentropy
    metrics    = [accuracy]
    optimizer  = sgd(lr=0.2)
    batch_size = 8
    epochs     = 2
    shuffle    = false
}}
"""


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


def table(n: int, seed: int) -> dict[str, np.ndarray]:
    """Two features, a 0/1 label and weights that are far from all ones (zeros too)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n).round(4), rng.normal(size=n).round(4)
    w = rng.uniform(0, 4, n).round(3)
    w[::7] = 0.0  # rows left out of the loss
    return {"a": a, "b": b, "w": w, "label": (a - b + rng.normal(0, 0.5, n) > 0).astype(int)}


def write_table(folder: Path, name: str, columns: dict[str, np.ndarray]) -> Path:
    """`columns` as a .csv, .jsonl or .parquet file (by the name's suffix)."""
    path = folder / name
    names = list(columns)
    rows = [dict(zip(names, values)) for values in zip(*(columns[k].tolist() for k in names))]
    if path.suffix == ".csv":
        lines = [",".join(names)] + [",".join(repr(r[k]) for k in names) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.table({k: columns[k] for k in names}), path)
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def trained(folder: Path, reader: str, backend: str = "numpy") -> Path:
    """`nndsl run` of PROGRAM on a weighted table read by `reader`; its run folder."""
    suffix = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[reader]
    data = write_table(folder, "train" + suffix, table(64, seed=0))
    nn = folder / f"{reader}.nn"
    nn.write_text(PROGRAM.format(reader=reader, path=data.name))
    out = folder / f"run-{reader}-{backend}"
    assert main(["run", str(nn), "--out", str(out), "--backend", backend, "-q"]) == 0
    return out


# ---------------------------------------------------------------- parquet / jsonl


def test_parquet_and_jsonl_weights_equal_the_same_table_as_csv(tmp_path: Path) -> None:
    from nndsl.data import load_data
    from nndsl.ir.signature import Spec

    columns = table(40, seed=1)
    loaded = {}
    for reader in ("csv", "jsonl", "parquet"):
        path = write_table(tmp_path, f"d.{reader}", columns)
        spec = Spec(reader, {"path": path.name, "target": "label", "weight": "w"})
        loaded[reader] = load_data(spec, str(tmp_path))
    csv = loaded["csv"]
    np.testing.assert_array_equal(csv.weights, columns["w"])
    assert csv.x.shape == (40, 2)  # the weight column is never a feature
    for reader in ("jsonl", "parquet"):
        np.testing.assert_array_equal(loaded[reader].weights, csv.weights)
        np.testing.assert_array_equal(loaded[reader].x, csv.x)
        np.testing.assert_array_equal(loaded[reader].y, csv.y)


def test_parquet_and_jsonl_train_to_the_weighted_csv_history(tmp_path: Path) -> None:
    histories = {}
    for reader in ("csv", "jsonl", "parquet"):
        folder = tmp_path / reader
        folder.mkdir()
        history = np.loadtxt(trained(folder, reader) / "history.csv", delimiter=",", skiprows=1)
        histories[reader] = history
    for reader in ("jsonl", "parquet"):
        np.testing.assert_array_equal(histories[reader], histories["csv"])
    # and the weights matter: the same rows unweighted train to another history
    plain = tmp_path / "plain"
    plain.mkdir()
    write_table(plain, "train.csv", table(64, seed=0))
    nn = plain / "p.nn"
    nn.write_text(PROGRAM.format(reader="csv", path="train.csv").replace(', weight="w"', ""))
    text = nn.read_text().replace('target="label"', 'target="label", features=["a", "b"]')
    nn.write_text(text)
    assert main(["run", str(nn), "--out", str(plain / "run"), "-q"]) == 0
    unweighted = np.loadtxt(plain / "run" / "history.csv", delimiter=",", skiprows=1)
    assert not np.allclose(unweighted[:, 1:], histories["csv"][:, 1:])


HOSTILE = [
    (-1.5, "got '-1.5'"),
    (None, "the cell is empty"),
    ("heavy", "got 'heavy'"),
    (float("inf"), "got 'inf'"),
    (float("nan"), "the cell is empty"),  # NaN is a missing value in a record
]


@pytest.mark.parametrize("bad, says", HOSTILE, ids=["negative", "null", "text", "inf", "nan"])
def test_a_bad_weight_in_a_jsonl_file_is_an_error_at_its_line(
    tmp_path: Path, capsys, bad, says
) -> None:
    records = [{"a": 0.1 * i, "b": 1.0, "w": 1.0, "label": i % 2} for i in range(12)]
    records[5]["w"] = bad
    lines = [json.dumps(r) for r in records]
    lines.insert(2, "")  # a blank line: the record's line number is its line in the file
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "m.nn").write_text(PROGRAM.format(reader="jsonl", path="d.jsonl"))
    code, _, err = run(capsys, "run", str(tmp_path / "m.nn"), "--out", str(tmp_path / "r"), "-q")
    assert code != 0 and "Traceback" not in err
    assert "d.jsonl:7:" in err and "line 7, column 'w'" in err and says in err
    assert "a sample weight is a number >= 0" in err and "hint:" in err


@pytest.mark.parametrize(
    "bad, says",
    HOSTILE[:4] + [(True, "got 'true'")],
    ids=["negative", "null", "text", "inf", "bool"],
)
def test_a_bad_weight_in_a_parquet_file_is_an_error_at_its_row(
    tmp_path: Path, capsys, bad, says
) -> None:
    weights: list = [1.0] * 12
    weights[5] = bad
    if isinstance(bad, (str, bool)):  # a column of words (or of true/false) throughout
        weights = [str(v).lower() if isinstance(v, bool) else str(v) for v in weights]
    columns = {"a": [0.1 * i for i in range(12)], "b": [1.0] * 12, "w": weights}
    pq.write_table(pa.table({**columns, "label": [i % 2 for i in range(12)]}), tmp_path / "d.pq")
    (tmp_path / "d.pq").rename(tmp_path / "d.parquet")
    (tmp_path / "m.nn").write_text(PROGRAM.format(reader="parquet", path="d.parquet"))
    code, _, err = run(capsys, "run", str(tmp_path / "m.nn"), "--out", str(tmp_path / "r"), "-q")
    assert code != 0 and "Traceback" not in err
    assert "d.parquet" in err and "row 6, column 'w'" in err and says in err


def test_a_streamed_parquet_with_a_weight_column_is_a_located_error(tmp_path, capsys) -> None:
    write_table(tmp_path, "d.parquet", table(20, seed=2))
    text = PROGRAM.format(reader="parquet", path="d.parquet").replace(
        'weight="w")', 'weight="w", stream=true)'
    )
    (tmp_path / "m.nn").write_text(text)
    code, _, err = run(capsys, "check", str(tmp_path / "m.nn"))
    assert code != 0 and "Traceback" not in err
    assert "m.nn:7:" in err and "stream=true" in err and "weight column" in err
    assert "hint: leave out stream=true" in err


# ---------------------------------------------------------------- evaluate --data


def keras_twin(model):
    keras = pytest.importorskip("keras")
    inp = keras.Input((2,))
    h = keras.layers.Dense(5, activation="tanh", name="h")(inp)
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(h)
    theirs = keras.Model(inp, out)
    theirs.compile(loss="binary_crossentropy")
    w = model.get_weights()
    for name in ("h", "out"):
        theirs.get_layer(name).set_weights([w[f"{name}.weight"], w[f"{name}.bias"]])
    return theirs


def shown_loss(out: str) -> float:
    """The loss column of `nndsl evaluate`'s one-row table."""
    header, row = out.strip().splitlines()[-2:]
    return float(row.split()[header.split().index("loss")])


@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluate_data_weighs_the_loss_as_keras_sample_weight(
    tmp_path: Path, capsys, backend: str
) -> None:
    folder = trained(tmp_path, "csv", backend)
    model = nndsl.load(folder)
    new = table(29, seed=5)  # 29 rows: the last batch of 8 is a short one
    x = np.stack([new["a"], new["b"]], axis=1).astype("float32")
    y = new["label"].astype("float32")[:, None]
    theirs = keras_twin(model)
    want = theirs.evaluate(x, y, sample_weight=new["w"], batch_size=8, verbose=0)
    plain = theirs.evaluate(x, y, batch_size=8, verbose=0)
    assert abs(want - plain) > 1e-3  # the weights change the loss
    reordered = {k: new[k] for k in ("w", "label", "b", "a")}  # columns matched by name
    for name in ("new.csv", "new.jsonl", "new.parquet"):
        path = write_table(tmp_path, name, reordered)
        assert model.evaluate(str(path))["loss"] == pytest.approx(want, abs=1e-5)
        code, out, err = run(capsys, "evaluate", str(folder), "--data", str(path))
        assert code == 0, err
        assert shown_loss(out) == pytest.approx(want, abs=6e-5) and "weight" not in err
    # metrics stay unweighted (as in training's evaluation): accuracy over all 29 rows
    accuracy = model.evaluate(str(tmp_path / "new.csv"))["accuracy"]
    assert accuracy == pytest.approx(np.mean((model.predict(x)[:, 0] > 0.5) == new["label"]))
    # the API with arrays says the same
    got = model.evaluate(x, new["label"][:, None], sample_weight=new["w"])["loss"]
    assert got == pytest.approx(want, abs=1e-5)
    # a file without the weight column: the plain loss, and one line saying so
    path = write_table(tmp_path, "bare.csv", {k: new[k] for k in ("a", "b", "label")})
    code, out, err = run(capsys, "evaluate", str(folder), "--data", str(path))
    assert code == 0, err
    assert shown_loss(out) == pytest.approx(plain, abs=6e-5)
    said = [line for line in err.splitlines() if "weight column 'w'" in line]
    assert len(said) == 1 and "unweighted" in said[0] and "bare.csv" in said[0]
    with pytest.warns(UserWarning, match="no weight column 'w'"):
        assert model.evaluate(str(path))["loss"] == pytest.approx(plain, abs=1e-5)
    with warnings.catch_warnings():  # rows read for their targets alone: no word of weights
        warnings.simplefilter("error")
        assert model.read_data(str(path), need_targets=True)[1].shape == (29,)


def test_evaluate_data_with_a_bad_weight_cell_is_located(tmp_path: Path, capsys) -> None:
    folder = trained(tmp_path, "csv")
    new = table(10, seed=6)
    path = write_table(tmp_path, "new.csv", new)
    lines = path.read_text().splitlines()
    cells = lines[4].split(",")
    cells[2] = "-2"
    lines[4] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "evaluate", str(folder), "--data", str(path))
    assert code != 0 and "Traceback" not in err
    assert "new.csv:5:" in err and "column 'w'" in err and "got '-2'" in err


def test_evaluate_path_refuses_sample_weight_and_predict_needs_no_weights(
    tmp_path: Path, capsys
) -> None:
    folder = trained(tmp_path, "csv")
    model = nndsl.load(folder)
    new = table(10, seed=7)
    path = write_table(tmp_path, "new.csv", new)
    with pytest.raises(nndsl.NNDSLError, match="weight column"):
        model.evaluate(str(path), sample_weight=np.ones(10))
    # predicting: the weight column, present or not, is no input
    bare = write_table(tmp_path, "bare.csv", {k: new[k] for k in ("a", "b")})
    with_w = model.predict(str(path))
    np.testing.assert_array_equal(model.predict(str(bare)), with_w)
    code, out, err = run(capsys, "predict", str(folder), "--data", str(bare))
    assert code == 0 and "weight" not in err and len(out.strip().splitlines()) == 11
