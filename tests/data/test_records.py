"""parquet(...) and jsonl(...): the same table as a CSV file trains and predicts the same,
and damaged files are errors naming the file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nndsl.errors import NNDSLError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

MODEL = """model churn {{
    input(auto)
    dense(8, activation=relu)
    dense(1, activation=sigmoid)
}}
train churn {{
    data = {source}("{path}", target="churned", id="user_id", standardize=true)
    loss = binary_crossentropy
    optimizer = adam(lr=0.01)
    epochs = 3
    batch_size = 32
    validation = 0.2
}}
"""


def _table(n: int = 240, seed: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    spend = rng.normal(50, 10, n).round(3)
    city = rng.choice(["Oslo", "Rome", "Lima"], n)
    age = rng.integers(18, 70, n).astype(float)
    age[[3, 17]] = np.nan  # missing cells: filled with the training mean
    return {
        "user_id": [f"u{i}" for i in range(n)],
        "age": [None if np.isnan(a) else float(a) for a in age],
        "city": city.tolist(),
        "plan": rng.choice(["basic", "pro"], n).tolist(),
        "spend": spend.tolist(),
        "churned": ((spend > 52) | (city == "Oslo")).astype(int).tolist(),
    }


def _write(table: dict[str, list], path: Path) -> None:
    names = list(table)
    rows = list(zip(*table.values()))
    if path.suffix == ".csv":
        lines = [",".join(names)]
        lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
        path.write_text("\n".join(lines) + "\n")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(dict(zip(names, row))) + "\n" for row in rows))
    else:
        pq.write_table(pa.table(table), path, row_group_size=50)


def _nndsl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nndsl", *args], cwd=cwd, capture_output=True, text=True
    )


def test_parquet_and_jsonl_train_and_predict_as_the_same_csv(tmp_path: Path) -> None:
    table, new = _table(), _table(60, seed=1)
    reordered = {k: new[k] for k in ("spend", "user_id", "plan", "age", "city")}
    predictions = {}
    sources = (("csv", ".csv"), ("parquet", ".parquet"), ("jsonl", ".jsonl"))
    for _, suffix in sources:
        _write(table, tmp_path / f"train{suffix}")
        _write(reordered, tmp_path / f"new{suffix}")
    for source, suffix in sources:
        (tmp_path / f"{source}.nn").write_text(MODEL.format(source=source, path=f"train{suffix}"))
        run = _nndsl("run", f"{source}.nn", "--out", f"run_{source}", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        history = (tmp_path / f"run_{source}" / "history.csv").read_text()
        # every source's model predicts every source's new rows
        for other in (".csv", ".parquet", ".jsonl"):
            out = _nndsl("predict", f"run_{source}", "--data", f"new{other}", cwd=tmp_path)
            assert out.returncode == 0, out.stderr
            predictions[source, other] = out.stdout
        predictions[source] = history
    assert predictions["parquet"] == predictions["csv"] == predictions["jsonl"]
    first = predictions["csv", ".csv"]
    assert first.splitlines()[0].startswith("user_id,")
    assert len(first.splitlines()) == 61
    assert all(v == first for k, v in predictions.items() if isinstance(k, tuple))


def _load(tmp_path: Path, source: str, name: str, **args):
    from nndsl.data.load import load_data
    from nndsl.ir.signature import Spec

    return load_data(Spec(source, {"path": name, "target": "y", **args}), str(tmp_path))


def test_a_folder_of_shards_reads_as_one_table(tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    x = np.arange(30, dtype=float)
    for k in range(3):
        part = slice(10 * k, 10 * k + 10)
        pq.write_table(pa.table({"x": x[part], "y": 2 * x[part]}), tmp_path / f"shards/{k}.parquet")
    ds = _load(tmp_path, "parquet", "shards")
    np.testing.assert_array_equal(ds.x[:, 0], x)
    np.testing.assert_array_equal(ds.y, 2 * x)
    pq.write_table(pa.table({"z": [1.0], "y": [1.0]}), tmp_path / "shards/3.parquet")
    with pytest.raises(NNDSLError, match=r"shards/3.parquet has the columns z, y"):
        _load(tmp_path, "parquet", "shards")


@pytest.mark.parametrize(
    "text, message, line",
    [
        ('{"x": 1, "y": 2}\n{"x": 2, "y": \n', r"line 2: not JSON", 2),
        ('{"x": 1, "y": 2}\n\n[1, 2]\n', r"line 3: a JSON list, not an object", 3),
        ('{"x": 1, "y": 2}\n"x"\n', r"line 2: a JSON str, not an object", 2),
        ('{"x": 1, "y": 2}\n{"x": "many", "y": 3}\n{"x": 3, "y": 1}\n', r"line 2.*'many'", 2),
        ('{"x": 1, "y": 2}\n{"x": [1, 2], "y": 3}\n', r"line 2, column 'x': a list", None),
        ('{"x": 1, "y": 2}\n{"x": 1e999, "y": 3}\n', r"line 2, column 'x'.*infinite", 2),
        ("\n\n", r"holds no rows", None),
        ("[" * 100_000 + "\n", r"line 1", None),
    ],
    ids=["not-json", "list", "string", "word", "nested", "infinite", "blank", "deep"],
)
def test_hostile_jsonl_is_an_error_at_its_line(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    (tmp_path / "rows.jsonl").write_text(text)
    with pytest.raises(NNDSLError, match=message) as e:
        _load(tmp_path, "jsonl", "rows.jsonl")
    assert "rows.jsonl" in e.value.render()
    if line is not None:
        assert e.value.line == line


def test_a_key_some_lines_lack_is_a_missing_cell(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text(
        '{"x": 1, "y": 0}\n{"y": 1}\n{"x": 3, "y": 0, "z": "a"}\n{"x": 4, "y": 1, "z": "b"}\n'
    )
    ds = _load(tmp_path, "jsonl", "rows.jsonl")
    assert ds.columns["x"].missing.tolist() == [False, True, False, False]
    assert ds.columns["z"].kind == "binary"


def test_damaged_parquet_files_are_errors_naming_them(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"x": np.arange(100.0), "y": np.arange(100.0)}), good)
    data = good.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.parquet").write_text("x,y\n1,2\n")
    # the footer's length claims far more than the file holds
    (tmp_path / "claims.parquet").write_bytes(
        data[:-8] + (2**31 - 1).to_bytes(4, "little") + b"PAR1"
    )
    flipped = bytearray(data)
    flipped[8:40] = b"\xff" * 32  # the first column chunk's bytes
    (tmp_path / "flipped.parquet").write_bytes(bytes(flipped))
    for name in ("cut", "text", "claims", "flipped"):
        with pytest.raises(NNDSLError, match=rf"{name}.parquet") as e:
            _load(tmp_path, "parquet", f"{name}.parquet")
        assert "Traceback" not in e.value.render()
    with pytest.raises(NNDSLError, match="absent.parquet"):
        _load(tmp_path, "parquet", "absent.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NNDSLError, match="holds no .parquet files"):
        _load(tmp_path, "parquet", "empty")


def test_a_bad_parquet_cell_names_its_row(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"x": ["1", "2", "3", "4", "five", "6"], "y": [0.0] * 6}),
        tmp_path / "t.parquet",
    )
    with pytest.raises(
        NNDSLError, match=r"in t.parquet, row 5, column 'x': 'five' is not a number"
    ):
        _load(tmp_path, "parquet", "t.parquet")
