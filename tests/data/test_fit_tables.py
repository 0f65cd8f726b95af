"""`model.fit` on a table in memory (a pandas DataFrame, or a dict of columns) whose
columns are words, dates and numbers with gaps: read as a CSV file's cells would be,
typed and encoded with statistics of the rows that train, exactly as `csv(...)` in the
train block does with the same table in a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE = """
model churn {
    input(23)
    dense(16, activation=relu)
    dense(1, activation=sigmoid)
}
train churn {
    DATA
    validation = 0.2
    loss       = binary_crossentropy
    optimizer  = adam(lr=0.01)
    epochs     = 4
    metrics    = [accuracy]
}
"""
FILE_DATA = 'data = csv("subscribers.csv", target="churned", id="user_id", standardize=true)'


def _build(data: str = ""):
    path = str(EXAMPLES / "churn_in_memory.nn")  # data paths resolve in examples/
    return nndsl.compile_string(SOURCE.replace("DATA", data), path).build(seed=0)


def _table():
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(EXAMPLES / "subscribers.csv")
    y = (df.pop("churned") == "yes").astype(int).to_numpy()
    return df.drop(columns=["user_id"]), y


def test_a_dataframe_trains_as_the_same_table_in_a_csv_file() -> None:
    df, y = _table()
    from_file = _build(FILE_DATA)
    want = from_file.fit(verbose=0)
    in_memory = _build()
    got = in_memory.fit(df, y, verbose=0)
    assert got.history == want.history  # same split, same encodings, same steps
    shuffled = df[list(reversed(df.columns))].iloc[:50]
    assert np.array_equal(in_memory.predict(shuffled), from_file.predict(df.iloc[:50]))


def test_a_dict_of_lists_needs_no_pandas() -> None:
    df, y = _table()
    columns = {name: df[name].tolist() for name in df.columns}  # NaN for the gaps
    model = _build()
    history = model.fit(columns, y, verbose=0)
    assert np.isfinite(history.history["val_loss"]).all()
    assert {e["name"]: e["kind"] for e in model.preprocessing.to_dict()["encodings"]} == {
        "plan": "category",
        "country": "category",
        "signup": "date",
        "monthly_fee": "number",
        "watch_hours": "number",
        "devices": "number",
        "autopay": "binary",
    }


def test_statistics_come_from_the_training_rows_only() -> None:
    df, y = _table()
    from nndsl.data.split import split_indices

    model = _build()
    model.fit(df, y, verbose=0)
    train = split_indices(len(df), 0.2, 0.0, 0)[0]
    fee = next(e for e in model.preprocessing.to_dict()["encodings"] if e["name"] == "monthly_fee")
    assert fee["stats"]["fill"] == pytest.approx(df["monthly_fee"].iloc[train].mean())
    assert fee["stats"]["fill"] != pytest.approx(df["monthly_fee"].mean())
    # validation_split: Keras holds out the last rows, so the first ones fit the encodings
    model = _build()
    model.fit(df, y, verbose=0, validation_split=0.5)
    fee = next(e for e in model.preprocessing.to_dict()["encodings"] if e["name"] == "monthly_fee")
    assert fee["stats"]["fill"] == pytest.approx(df["monthly_fee"].iloc[: len(df) // 2].mean())


def test_a_saved_model_keeps_the_encodings(tmp_path: Path) -> None:
    df, y = _table()
    model = _build()
    model.fit(df, y, verbose=0)
    model.save(tmp_path / "m.npz")
    again = nndsl.load(tmp_path / "m.npz")
    assert np.array_equal(again.predict(df.iloc[:20]), model.predict(df.iloc[:20]))


def test_a_bad_cell_and_a_wrong_width_are_named() -> None:
    df, y = _table()
    bad = {name: df[name].tolist() for name in df.columns}
    bad["devices"][7] = [1, 2]  # not one value
    with pytest.raises(nndsl.NNDSLError) as info:
        _build().fit(bad, y, verbose=0)
    assert "row 8, column 'devices'" in info.value.message
    wide = nndsl.compile_string(SOURCE.replace("DATA", "").replace("input(23)", "input(26)"))
    with pytest.raises(nndsl.NNDSLError) as info:
        wide.build(seed=0).fit(df, y, verbose=0)
    assert "encode into 23 input values" in info.value.message
    assert "plan (category) 4" in info.value.message
