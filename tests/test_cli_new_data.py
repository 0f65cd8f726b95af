"""New data after training, the way a user brings it: a CSV whose columns come in another
order, with extra or missing columns, features only, a run folder instead of a .nn file
and weights, a file moved away from its data. Columns are matched by name, never by
position alone (a reordered CSV once gave other predictions without a word)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import nndsl
from nndsl.cli import main

HOUSES = """model houses {
    input(3)
    dense(12, activation=tanh)
    dense(1)
}
train houses {
    data       = csv("houses.csv", target="price", standardize=true)
    validation = 0.2
    test       = 0.1
    loss       = mse
    optimizer  = adam(lr=0.02)
    batch_size = 16
    epochs     = 15
    seed       = 3
}
"""

FLOWERS = """model flowers {
    input(2)
    dense(8, activation=tanh)
    dense(3, activation=softmax)
}
train flowers {
    data       = csv("flowers.csv", target="kind")
    validation = 0.2
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.05)
    epochs     = 30
    metrics    = [accuracy]
    seed       = 0
}
"""


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


@pytest.fixture(scope="module")
def houses(tmp_path_factory) -> dict:
    """A regression model on columns of very different scales, trained by `nndsl run`."""
    folder = tmp_path_factory.mktemp("houses")
    rng = np.random.default_rng(0)
    n = 200
    area = rng.uniform(40, 250, n)
    rooms = rng.integers(1, 7, n).astype(float)
    age = rng.uniform(0, 80, n)
    price = 3 * area + 20 * rooms - 2 * age + rng.normal(0, 10, n)
    table = np.stack([area, rooms, age, price], axis=1)
    write_csv(folder / "houses.csv", ["area", "rooms", "age", "price"], table.tolist())
    (folder / "houses.nn").write_text(HOUSES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
        assert main(["run", str(folder / "houses.nn"), "--out", str(folder / "run"), "-q"]) == 0
    return {"folder": folder, "run": folder / "run", "x": table[:10, :3], "price": table[:10, 3]}


def predict(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["predict", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def prices(text: str) -> np.ndarray:
    return np.array([float(r["price"]) for r in read_csv(text)])


def test_the_run_records_the_columns_it_was_trained_on(houses) -> None:
    config = yaml.safe_load((houses["run"] / "config.yaml").read_text())
    assert config["feature_names"] == ["area", "rooms", "age"]
    assert config["target_names"] == ["price"]
    _, meta = nndsl.weights.load_weights(houses["run"] / "weights.npz")
    assert meta["feature_names"] == ["area", "rooms", "age"]


def test_reordered_columns_give_the_same_predictions(houses, tmp_path, capsys) -> None:
    x, run = houses["x"], houses["run"]
    same = write_csv(tmp_path / "same.csv", ["area", "rooms", "age"], x.tolist())
    order = [3, 2, 1, 0]  # price, age, rooms, area: the same values, another order
    full = np.column_stack([x, houses["price"]])[:, order]
    moved = write_csv(tmp_path / "moved.csv", ["price", "age", "rooms", "area"], full.tolist())
    code, a, _ = predict(capsys, str(run), "--data", str(same))
    assert code == 0
    code, b, _ = predict(capsys, str(run), "--data", str(moved))
    assert code == 0
    np.testing.assert_array_equal(prices(a), prices(b))
    model = nndsl.load(run / "weights.npz")
    np.testing.assert_allclose(prices(a), model.predict(x)[:, 0], rtol=1e-5)


def test_a_missing_column_is_refused_with_the_columns_expected(houses, tmp_path, capsys) -> None:
    x = houses["x"]
    path = write_csv(tmp_path / "new.csv", ["age", "area"], x[:, [2, 0]].tolist())
    code, out, err = predict(capsys, str(houses["run"]), "--data", str(path))
    assert code == 1 and out == ""
    assert f"{path}:1:1: error: " in err
    assert "has no column rooms" in err
    assert "trained on 3 feature columns: area, rooms, age (matched by name" in err
    assert "Traceback" not in err


def test_extra_columns_are_left_out_and_said_so(houses, tmp_path, capsys) -> None:
    x = houses["x"]
    rows = [[f"id{i}", r[1], r[0], r[2], "n"] for i, r in enumerate(x.tolist())]
    path = write_csv(tmp_path / "new.csv", ["id", "rooms", "area", "age", "comment"], rows)
    code, out, err = predict(capsys, str(houses["run"]), "--data", str(path))
    assert code == 0
    assert "left out columns the model was not trained on: id, comment" in err
    model = nndsl.load(houses["run"] / "weights.npz")
    np.testing.assert_allclose(prices(out), model.predict(x)[:, 0], rtol=1e-5)


def test_unnamed_columns_of_the_right_width_are_taken_by_position_with_a_note(
    houses, tmp_path, capsys
) -> None:
    x = houses["x"]
    path = write_csv(tmp_path / "new.csv", ["a", "b", "c"], x.tolist())
    code, out, err = predict(capsys, str(houses["run"]), "--data", str(path))
    assert code == 0
    assert "no column is named like a training feature (area, rooms, age)" in err
    assert "its 3 columns (a, b, c) are taken by position" in err
    model = nndsl.load(houses["run"] / "weights.npz")
    np.testing.assert_allclose(prices(out), model.predict(x)[:, 0], rtol=1e-5)


def test_a_run_folder_or_its_model_file_serves_without_weights(houses, capsys) -> None:
    run, folder = houses["run"], houses["folder"]
    metrics = json.loads((run / "metrics.json").read_text())
    for ref in (run, run / "model.nn"):
        capsys.readouterr()
        assert main(["evaluate", str(ref)]) == 0
        row = capsys.readouterr().out.splitlines()[1].split()
        assert row[0] == "test"  # the split it evaluates, by name
        assert float(row[1]) == pytest.approx(metrics["test"]["loss"], rel=1e-4)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(folder / "houses.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[0] == "houses.csv"


def test_a_run_folder_moved_to_another_machine_predicts(houses, tmp_path, capsys) -> None:
    """Only the run folder travels: its model.nn's data is not beside it any more."""
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(houses["run"], moved)
    config = yaml.safe_load((moved / "config.yaml").read_text())
    config["source"] = "/nowhere/houses.nn"  # the folder it was trained in is gone
    (moved / "config.yaml").write_text(yaml.safe_dump(config))
    x = houses["x"]
    path = write_csv(tmp_path / "new.csv", ["age", "rooms", "area"], x[:, [2, 1, 0]].tolist())
    code, out, err = predict(capsys, str(moved), "--data", str(path))
    assert code == 0, err
    model = nndsl.load(houses["run"] / "weights.npz")
    np.testing.assert_allclose(prices(out), model.predict(x)[:, 0], rtol=1e-5)


def test_not_a_run_folder_is_refused_clearly(tmp_path, capsys) -> None:
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "is a folder but not a run folder (no model.nn)" in capsys.readouterr().err


def test_an_array_of_the_wrong_width_names_the_input_and_the_data(houses, tmp_path, capsys):
    np.savez(tmp_path / "new.npz", x=np.ones((4, 5)))
    code, _, err = predict(capsys, str(houses["run"]), "--data", str(tmp_path / "new.npz"))
    assert code == 1
    assert "the model takes samples of shape (3,) (input(3) at " in err
    assert "model.nn:2), but " in err and "has samples of shape (5,)" in err
    assert "give the 3 columns it was trained on: area, rooms, age" in err
    assert "Standardizer" not in err and "Traceback" not in err


# ---------------------------------------------------------------- classes


@pytest.fixture(scope="module")
def flowers(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("flowers")
    rng = np.random.default_rng(1)
    centres = {"iris": (0.0, 4.0), "rose": (4.0, 0.0), "tulip": (-4.0, -4.0)}
    rows = []
    for _ in range(60):
        for name, (cx, cy) in centres.items():
            rows.append([round(cx + rng.normal(), 4), round(cy + rng.normal(), 4), name])
    write_csv(folder / "flowers.csv", ["width", "length", "kind"], rows)
    (folder / "flowers.nn").write_text(FLOWERS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
        assert main(["run", str(folder / "flowers.nn"), "--out", str(folder / "run"), "-q"]) == 0
    return {"folder": folder, "run": folder / "run", "rows": rows}


def test_predictions_name_the_classes_and_the_predicted_one(flowers, tmp_path, capsys) -> None:
    rows = flowers["rows"][:9]
    path = write_csv(tmp_path / "new.csv", ["length", "width"], [[r[1], r[0]] for r in rows])
    code, out, _ = predict(capsys, str(flowers["run"]), "--data", str(path))
    assert code == 0
    assert out.splitlines()[0] == "p_iris,p_rose,p_tulip,kind"
    table = read_csv(out)
    probs = np.array([[float(r[f"p_{c}"]) for c in ("iris", "rose", "tulip")] for r in table])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert [r["kind"] for r in table] == [["iris", "rose", "tulip"][k] for k in probs.argmax(1)]
    assert [r["kind"] for r in table] == [r[2] for r in rows]  # well separated: all right


def test_evaluating_a_file_with_fewer_classes_keeps_the_models_labels(
    flowers, tmp_path, capsys
) -> None:
    """A file holding only roses and tulips would number them 0 and 1 by its own sorting;
    they are the model's classes 1 and 2."""
    rows = [r for r in flowers["rows"] if r[2] != "iris"][:40]
    path = write_csv(tmp_path / "two.csv", ["width", "length", "kind"], rows)
    capsys.readouterr()
    assert main(["evaluate", str(flowers["run"]), "--data", str(path)]) == 0
    accuracy = float(capsys.readouterr().out.splitlines()[1].split()[-1])
    model = nndsl.load(flowers["run"] / "weights.npz")
    x = np.array([[r[0], r[1]] for r in rows])
    truth = np.array([["iris", "rose", "tulip"].index(r[2]) for r in rows])
    assert accuracy == pytest.approx(float(np.mean(model.predict(x).argmax(1) == truth)), abs=1e-4)
    assert accuracy > 0.9
    rows[0][2] = "daisy"
    write_csv(path, ["width", "length", "kind"], rows)
    assert main(["evaluate", str(flowers["run"]), "--data", str(path)]) == 1
    assert "class daisy was not among the classes the model was trained on" in (
        capsys.readouterr().err
    )


def test_a_feature_only_csv_for_a_model_trained_on_a_bundled_dataset(tmp_path, capsys) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris

    source = tmp_path / "iris.nn"
    source.write_text(
        "model iris {\n    input(4)\n    dense(3, activation=softmax)\n}\n"
        'train iris {\n    data = dataset("iris")\n    loss = sparse_categorical_crossentropy\n'
        "    optimizer = adam(lr=0.1)\n    epochs = 40\n    batch_size = 16\n}\n"
    )
    assert main(["run", str(source), "--out", str(tmp_path / "run"), "-q"]) == 0
    bunch = load_iris()
    pick = [0, 1, 50, 51, 100, 101]
    names = list(bunch.feature_names)
    order = [3, 1, 0, 2]
    path = write_csv(tmp_path / "new.csv", [names[i] for i in order], bunch.data[pick][:, order])
    weights = str(tmp_path / "run" / "weights.npz")
    code, out, err = predict(capsys, str(source), "--weights", weights, "--data", str(path))
    assert code == 0, err
    header = out.splitlines()[0].split(",")
    assert header == ["p_setosa", "p_versicolor", "p_virginica", "target"]
    model = nndsl.load(weights)
    expected = [str(bunch.target_names[k]) for k in model.predict(bunch.data[pick]).argmax(1)]
    assert [r["target"] for r in read_csv(out)] == expected
