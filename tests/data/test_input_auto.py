"""input(auto) takes the width of the encoded data (a category is as wide as its
one-hot); a fixed width that disagrees is a located error naming each column's width;
`nndsl summary --data` and `nndsl check --data` say where every input comes from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main

HOUSES = "area,city,built,garden,price\n" + "".join(
    f"{50 + i},{['Paris', 'Lyon', 'Nice'][i % 3]},20{10 + i % 9}-0{1 + i % 9}-1{i % 10},"
    f"{'yes' if i % 2 else 'no'},{100 + 3 * i}\n"
    for i in range(40)
)
MODEL = """
model m {{
    input({width})
    dense(4, activation=relu)
    dense(1)
}}
train m {{
    data = csv("houses.csv", target="price", standardize=true)
    validation = 0.25
    loss = mse
    epochs = 2
    batch_size = 8
}}
"""
# area 1, city one-hot of 3 + unknown 4, built: year 1 + month, day, weekday 2 each, garden 1
WIDTH = 1 + 4 + 7 + 1


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "houses.csv").write_text(HOUSES)
    return tmp_path


def test_input_auto_takes_the_encoded_width(folder: Path) -> None:
    (folder / "m.nn").write_text(MODEL.format(width="auto"))
    program = nndsl.compile_file(folder / "m.nn")
    assert program.models["m"].inputs[0].shape == (WIDTH,)
    model = program.build()
    history = model.fit(verbose=0)
    assert model.preprocessing.width == WIDTH
    assert np.isfinite(history.history["loss"]).all()


def test_a_fixed_width_that_disagrees_names_the_columns(folder: Path) -> None:
    (folder / "m.nn").write_text(MODEL.format(width=5))
    model = nndsl.compile_file(folder / "m.nn").build()
    with pytest.raises(nndsl.NNDSLError) as info:
        model.fit(verbose=0)
    e = info.value
    assert (e.line, e.column) == (3, 5) and e.path.endswith("m.nn")
    assert "encode into 13 input values (area (number) 1, city (category) 4" in e.message
    assert "input(5) takes 5" in e.message
    assert "input(13)" in e.hint and "input(auto)" in e.hint


def test_input_auto_without_data_is_located(tmp_path: Path) -> None:
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string("model m {\n    input(auto)\n    dense(1)\n}\n")
    assert (info.value.line, info.value.column) == (2, 5)
    assert "no train block of 'm' names any" in info.value.message


def test_input_auto_of_a_bundled_dataset_is_its_feature_count() -> None:
    source = """
model m {
    input(auto)
    dense(10)
}
train m { data = dataset("digits")  loss = sparse_categorical_crossentropy }
"""
    assert nndsl.compile_string(source).models["m"].inputs[0].shape == (64,)  # 8x8 pixels


def test_summary_and_check_report_the_columns(folder: Path, capsys) -> None:
    (folder / "m.nn").write_text(MODEL.format(width="auto"))
    assert main(["summary", str(folder / "m.nn"), "--data"]) == 0
    out = capsys.readouterr().out
    assert "(None, 13)" in out
    assert "30 train, 10 validation rows" in out
    for row in (
        ("area", "number", "1"),
        ("city", "category", "4"),
        ("built", "date", "7"),
        ("garden", "binary", "1"),
    ):
        assert any(line.split()[:3] == list(row) for line in out.splitlines()), row
    assert "input width 13" in out
    assert main(["check", "--data", str(folder / "m.nn")]) == 0
    assert "input width 13" in capsys.readouterr().out


def test_a_saved_model_encodes_new_rows_by_name(folder: Path) -> None:
    """Another process (a second machine) loads the weights file alone and predicts a
    new file whose columns come in another order, with a city it never saw."""
    (folder / "m.nn").write_text(MODEL.format(width="auto"))
    model = nndsl.compile_file(folder / "m.nn").build()
    model.fit(verbose=0)
    model.save(folder / "m.npz")
    rows = "garden,price,built,city,area\nyes,1,2012-03-14,Lyon,55\nno,1,2015-06-11,Rome,61\n"
    (folder / "new.csv").write_text(rows)
    same = "area,city,built,garden\n55,Lyon,2012-03-14,yes\n61,Rome,2015-06-11,no\n"
    (folder / "same.csv").write_text(same)
    loaded = nndsl.load(folder / "m.npz")
    with pytest.warns(nndsl.NNDSLWarning, match="'city' were not among its training"):
        got = loaded.predict(folder / "new.csv")
    want = model.predict(folder / "same.csv")
    np.testing.assert_allclose(got, want, rtol=1e-6)
    table = {"city": ["Lyon", "Rome"], "area": [55, 61], "garden": ["yes", "no"]}
    table["built"] = ["2012-03-14", "2015-06-11"]
    np.testing.assert_allclose(loaded.predict(table), want, rtol=1e-6)


def test_predict_writes_the_ids_and_needs_no_training_data(folder: Path, capsys) -> None:
    """`nndsl predict RUN` on another machine: the training CSV is gone, the run folder's
    input(auto) takes the trained width; each prediction comes after its row's id."""
    source = MODEL.format(width="auto").replace('target="price"', 'target="price", id="house"')
    (folder / "m.nn").write_text(source)
    table = HOUSES.splitlines()
    rows = [f"{line},h{i}" for i, line in enumerate(table[1:])]
    (folder / "houses.csv").write_text("\n".join([table[0] + ",house", *rows]) + "\n")
    assert main(["run", str(folder / "m.nn"), "--out", str(folder / "run"), "--quiet"]) == 0
    (folder / "houses.csv").unlink()
    new = "house,garden,city,area,built\nz1,yes,Lyon,55,2012-03-14\nz2,no,Nice,61,2015-06-11\n"
    (folder / "new.csv").write_text(new)
    capsys.readouterr()
    assert main(["predict", str(folder / "run"), "--data", str(folder / "new.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "house,price"
    assert [line.split(",")[0] for line in lines[1:]] == ["z1", "z2"]
    assert all(np.isfinite(float(line.split(",")[1])) for line in lines[1:])


def _count_reads(monkeypatch) -> list[str]:
    import nndsl.data as data

    reads: list[str] = []
    real = data.load_data

    def counting(spec, *args, **kwargs):
        reads.append(spec.args["path"])
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(data, "load_data", counting)
    return reads


def test_compiling_and_training_read_the_file_once(folder: Path, monkeypatch) -> None:
    """input(auto) reads the data to learn its width; training takes those rows instead
    of reading the file again, and trains exactly as from a fresh read."""
    (folder / "m.nn").write_text(MODEL.format(width="auto"))
    reads = _count_reads(monkeypatch)
    handed_on = nndsl.compile_file(folder / "m.nn").build(seed=0).fit(verbose=0)
    assert reads == ["houses.csv"]
    from nndsl.train import data_plan

    monkeypatch.setattr(data_plan, "_HANDED_ON", {})  # nothing held: training reads again
    program = nndsl.compile_file(folder / "m.nn")
    data_plan._HANDED_ON.clear()
    fresh = program.build(seed=0).fit(verbose=0)
    assert reads == ["houses.csv"] * 3
    assert handed_on.history == fresh.history


def test_training_reuses_the_encodings_input_auto_fitted(folder: Path, monkeypatch) -> None:
    """The rows handed on carry the typed columns' encodings fitted on their training
    split: training does not fit them again, unless it splits the rows another way."""
    from nndsl.data.tabular import Preprocessing

    (folder / "m.nn").write_text(MODEL.format(width="auto"))
    fits: list[int] = []
    real = Preprocessing.fit.__func__

    def counting(cls, columns, *args, **kwargs):
        fits.append(len(columns[0].missing))
        return real(cls, columns, *args, **kwargs)

    monkeypatch.setattr(Preprocessing, "fit", classmethod(counting))
    model = nndsl.compile_file(folder / "m.nn").build(seed=0)
    reused = model.load_data()
    assert len(fits) == 1
    fresh = model.load_data()  # nothing held any more: read and fitted again
    assert len(fits) == 2 and reused.preprocessing == fresh.preprocessing
    np.testing.assert_array_equal(reused.train.x, fresh.train.x)
    nndsl.compile_file(folder / "m.nn").build(seed=0).load_data(validation_split=0.5)
    assert len(fits) == 4 and fits[3] == 20  # split otherwise: fitted on its 20 rows


def test_a_file_changed_after_compiling_is_read_again(folder: Path, monkeypatch) -> None:
    (folder / "m.nn").write_text(MODEL.format(width="auto"))
    reads = _count_reads(monkeypatch)
    program = nndsl.compile_file(folder / "m.nn")
    lines = HOUSES.splitlines()
    (folder / "houses.csv").write_text("\n".join(lines[:31]) + "\n")  # 30 rows, not 40
    model = program.build(seed=0)
    splits = model.load_data()
    assert reads == ["houses.csv", "houses.csv"]
    assert len(splits.train) + len(splits.validation) == 30
