"""parquet(..., stream=true): shards read a record batch at a time train as the same rows
in memory do, shuffle reproducibly within a bounded buffer, and fit their preprocessing
on the training rows alone."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.data.stream import ParquetStream, held_out
from nndsl.data.tabular import Column, Preprocessing
from nndsl.errors import NNDSLError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

MODEL = """model m {{
    input(auto)
    dense(8, activation=relu)
    dense(1, activation=sigmoid)
}}
train m {{
    data = parquet("shards", target="y", stream=true, shuffle_buffer={buffer}{extra})
    loss = binary_crossentropy
    metrics = [accuracy]
    optimizer = adam(lr=0.01)
    epochs = 3
    batch_size = 32
    validation = {validation}
    shuffle = {shuffle}
    seed = {seed}
}}
"""


def _shards(folder: Path, n: int = 1200, parts: int = 6, typed: bool = False) -> dict:
    rng = np.random.default_rng(0)
    table = {"a": rng.normal(size=n), "b": rng.normal(size=n)}
    if typed:
        a = table["a"].copy()
        a[rng.choice(n, 40, replace=False)] = np.nan  # missing: filled with the mean
        table["a"] = a
        table["city"] = rng.choice(["Oslo", "Rome", "Lima", "Pisa"], n)
    table["y"] = (table["b"] + rng.normal(0, 0.3, n) > 0).astype(float)
    folder.mkdir()
    for k in range(parts):
        part = slice(k * n // parts, (k + 1) * n // parts)
        pq.write_table(
            pa.table({name: values[part] for name, values in table.items()}),
            folder / f"part-{k:02d}.parquet",
            row_group_size=50,
        )
    return table


def _model(tmp_path: Path, backend: str = "numpy", **settings) -> nndsl.Model:
    values = {"buffer": 100, "extra": "", "validation": 0, "shuffle": "false", "seed": 0}
    values.update(settings)
    path = tmp_path / f"m{abs(hash(tuple(sorted(values.items()))))}.nn"
    path.write_text(MODEL.format(**values))
    return nndsl.compile_file(path).build(backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_shards_train_as_the_same_rows_in_memory(tmp_path: Path, backend: str) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    table = _shards(tmp_path / "shards")
    streamed = _model(tmp_path, backend).fit(verbose=0).history
    x = np.stack([table["a"], table["b"]], axis=1)
    whole = _model(tmp_path, backend).fit(x, table["y"], shuffle=False, verbose=0).history
    np.testing.assert_allclose(streamed["loss"], whole["loss"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(streamed["accuracy"], whole["accuracy"], rtol=1e-12)


def test_the_shuffle_is_seeded(tmp_path: Path) -> None:
    _shards(tmp_path / "shards")
    runs = [_model(tmp_path, shuffle="true", seed=s).fit(verbose=0).history for s in (1, 1, 2)]
    assert runs[0]["loss"] == runs[1]["loss"]
    assert runs[0]["loss"] != runs[2]["loss"]
    ordered = _model(tmp_path, seed=1).fit(verbose=0).history
    assert ordered["loss"] != runs[0]["loss"]


def _stream(tmp_path: Path, validation: float = 0.0, test: float = 0.0, **args) -> ParquetStream:
    spec = {"path": "shards", "target": "y", "features": None, "shuffle_buffer": 100}
    spec.update(args)
    return ParquetStream(spec, str(tmp_path / "shards"), validation, test, 7, {}, {})


def test_memory_stays_bounded_by_the_buffer(tmp_path: Path, monkeypatch) -> None:
    """40,000 rows, 8x the buffer and a record batch together: the reading path never holds
    more than the buffer and one batch of rows (counted, and measured by tracemalloc)."""
    monkeypatch.setattr("nndsl.data.parquetfile.READ_ROWS", 1000)
    n, buffer = 40_000, 4000
    rng = np.random.default_rng(1)
    (tmp_path / "shards").mkdir()
    for k in range(8):
        part = {"a": rng.normal(size=n // 8), "b": rng.normal(size=n // 8)}
        part["y"] = (part["a"] > 0).astype(float)
        pq.write_table(pa.table(part), tmp_path / f"shards/{k}.parquet", row_group_size=1000)
    stream = _stream(tmp_path, shuffle_buffer=buffer)
    stream.fit("none")
    tracemalloc.start()
    rows = sum(len(x) for x, _ in stream.encoded(seed=3))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == n
    assert stream.peak_rows <= buffer + 2 * 1000
    row_bytes = 8 * 3  # two inputs and a target, float64
    # the buffer, a record batch in and out, and a few copies of a batch: not the data
    assert peak < (buffer + 6 * 1000) * row_bytes + 500_000
    assert peak < n * row_bytes / 2


def test_every_row_is_drawn_once_per_epoch(tmp_path: Path) -> None:
    table = _shards(tmp_path / "shards")
    stream = _stream(tmp_path)
    stream.fit("none")
    shuffled = np.concatenate([x for x, _ in stream.encoded(seed=5)])
    assert sorted(shuffled[:, 0]) == sorted(table["a"])
    assert not np.array_equal(shuffled[:, 0], table["a"])
    ordered = np.concatenate([x for x, _ in stream.encoded(seed=None)])
    np.testing.assert_array_equal(ordered[:, 0], table["a"])


def test_the_split_is_by_row_hash_and_statistics_see_training_rows_only(tmp_path: Path) -> None:
    table = _shards(tmp_path / "shards", typed=True)
    stream = _stream(tmp_path, validation=0.2, test=0.1)
    val, test = stream.fit("standard")
    u = held_out(np.arange(1200), 7)
    train = u >= 0.3
    assert len(stream) == train.sum()
    assert len(val) == (u < 0.2).sum() and len(test) == ((u >= 0.2) & (u < 0.3)).sum()
    assert 0.25 < (~train).mean() < 0.35
    # the same hash, whatever the batches: shards of another size hold out the same rows
    a = table["a"]
    columns = [
        Column("a", "number", a[train], np.isnan(a[train])),
        Column("b", "number", table["b"][train], np.zeros(train.sum(), bool)),
        Column(
            "city", "category", table["city"][train].astype(object), np.zeros(train.sum(), bool)
        ),
    ]
    whole = Preprocessing.fit(columns, {}, "standard")
    for mine, reference in zip(stream.preprocessing.encodings, whole.encodings):
        assert mine.outputs == reference.outputs
        for key, value in reference.stats.items():
            if isinstance(value, float):
                assert mine.stats[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert mine.stats[key] == value, key


def test_typed_shards_train_as_their_training_rows_in_memory(tmp_path: Path) -> None:
    table = _shards(tmp_path / "shards", typed=True)
    streamed = _model(tmp_path, extra=", standardize=true").fit(verbose=0).history
    rows = {k: v for k, v in table.items() if k != "y"}
    model = _model(tmp_path, extra=", standardize=true")
    model.load_data()  # the streamed preprocessing, fitted on every row (validation = 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = model.fit(rows, table["y"], shuffle=False, verbose=0).history
    np.testing.assert_allclose(streamed["loss"], whole["loss"], rtol=1e-9)


def test_what_a_stream_cannot_fit_is_refused(tmp_path: Path) -> None:
    _shards(tmp_path / "shards")
    with pytest.raises(NNDSLError, match="fill_mode needs every value"):
        _model(tmp_path, extra=", missing=fill_mode").fit(verbose=0)
    (tmp_path / "three").mkdir()
    for k, values in enumerate((["yes", "no"], ["no", "maybe"])):
        pq.write_table(pa.table({"v": values, "y": [0.0, 1.0]}), tmp_path / f"three/{k}.parquet")
    stream = ParquetStream(
        {"path": "three", "target": "y", "features": None, "shuffle_buffer": 10},
        str(tmp_path / "three"), 0.0, 0.0, 0, {}, {},
    )  # fmt: skip
    with pytest.raises(NNDSLError, match="binary column 'v' holds 3 values"):
        stream.fit("none")


def test_nndsl_run_and_predict_a_streamed_model(tmp_path: Path) -> None:
    table = _shards(tmp_path / "shards", typed=True)
    (tmp_path / "m.nn").write_text(
        MODEL.format(buffer=200, extra="", validation=0.2, shuffle="true", seed=0)
    )
    new = {k: v[:30] for k, v in table.items() if k != "y"}
    pq.write_table(pa.table({k: new[k] for k in ("city", "b", "a")}), tmp_path / "new.parquet")
    run = subprocess.run(
        [sys.executable, "-m", "nndsl", "run", "m.nn", "--out", "r"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = subprocess.run(
        [sys.executable, "-m", "nndsl", "predict", "r", "--data", "new.parquet"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 31


PEAK_CHILD = """
import sys
try:
    import pandas  # pyarrow imports it at its first conversion to NumPy (where installed)
except ImportError:
    pass
import pyarrow.parquet
import nndsl.data.parquetfile as parquetfile
from nndsl.data.stream import ParquetStream

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

folder = sys.argv[1]
parquetfile.READ_ROWS = 2000
base = peak_mb()
args = {"path": folder, "target": "y", "features": None, "shuffle_buffer": 10000}
stream = ParquetStream(args, folder, 0.0, 0.0, 0, {}, {})
stream.fit("standard")
rows = sum(len(x) for x, _ in stream.encoded(seed=1))
print(rows, peak_mb() - base)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_peak_memory_does_not_grow_with_the_data(tmp_path: Path) -> None:
    """The process's peak resident memory (VmHWM) for a fit and a shuffled epoch of 4x
    and of 16x the memory allowed to the stream (its buffer and a row group): the same,
    within noise. Two shards, so that holding a shard's bytes (pyarrow pre-buffers a
    whole file by default) or every shard's shows as megabytes of difference."""
    columns, buffer, group = 16, 10_000, 2000
    rng = np.random.default_rng(0)
    peaks = {}
    for times in (4, 16):
        rows = times * (buffer + group)
        folder = tmp_path / f"x{times}"
        folder.mkdir()
        for k in range(2):
            part = {f"x{i}": rng.normal(size=rows // 2) for i in range(columns)}
            part["y"] = (part["x0"] > 0).astype(float)
            pq.write_table(pa.table(part), folder / f"{k}.parquet", row_group_size=group)
        out = subprocess.run(
            [sys.executable, "-c", PEAK_CHILD, str(folder)], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        trained, peak = out.stdout.split()
        assert int(trained) == rows
        peaks[times] = float(peak)
    data_mb = 12 * (buffer + group) * (columns + 1) * 8 / 2**20  # what 16x adds to 4x
    # a third of what the bigger data adds (18.7 MB): holding it, or pyarrow's
    # pre-buffered shards (+12 MB), fails; allocator noise on a loaded machine does not
    assert peaks[16] - peaks[4] < data_mb / 3, (peaks, data_mb)


def _dated_shards(folder: Path, n: int = 1200, parts: int = 5) -> dict:
    """Numbers with gaps (to fill with their median; `c`: ties, -0.0 and 0.0, neighbours
    one ulp apart), a category, a date column (days only, some repeated more than
    others, some missing) and a timestamp column."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=n)
    a[rng.choice(n, 58, replace=False)] = np.nan
    c = rng.choice([-2.5, -0.0, 0.0, 1.0, 1.0 + 2**-52, 1.0 - 2**-53, 4.0], n)
    c[rng.choice(n, 7, replace=False)] = np.nan
    days = np.datetime64("2019-12-25") + rng.integers(0, 90, n).astype("timedelta64[D]")
    days[rng.choice(n, 50, replace=False)] = np.datetime64("NaT")
    at = np.datetime64("2024-03-01T00:00:00") + rng.integers(0, 10**7, n).astype("timedelta64[s]")
    table = {
        "a": a,
        "b": rng.normal(size=n),
        "c": c,
        "city": rng.choice(["Oslo", "Rome", "Lima"], n),
        "day": days,
        "at": at,
    }
    table["y"] = (table["b"] + rng.normal(0, 0.3, n) > 0).astype(float)
    folder.mkdir()
    for k in range(parts):
        part = slice(k * n // parts, (k + 1) * n // parts)
        columns = {name: values[part] for name, values in table.items()}
        arrays = {
            name: pa.array(v, from_pandas=True) if name != "day" else pa.array(v, pa.date32())
            for name, v in columns.items()
        }
        pq.write_table(pa.table(arrays), folder / f"part-{k}.parquet", row_group_size=70)
    return table


@pytest.mark.parametrize("kept", [1 << 16, 3])
def test_medians_and_dates_fit_as_the_same_training_rows_in_memory(
    tmp_path: Path, monkeypatch, kept: int
) -> None:
    """fill_median (exact: of an even count, the mean of two middle values; ties, -0.0
    and 0.0, neighbours one ulp apart) and date columns (mode, years, hours) fitted
    streaming equal the in-memory fit of the rows the hash keeps for training; kept=3
    forces the median's counting passes (up to 4)."""
    from nndsl.data.load import load_data
    from nndsl.ir.signature import Spec

    monkeypatch.setattr("nndsl.data.stream.KEPT_KEYS", kept)
    _dated_shards(tmp_path / "shards")
    missing = {name: {"name": "fill_median"} for name in ("a", "b", "c")}
    spec = {"path": "shards", "target": "y", "features": None, "shuffle_buffer": 100}
    stream = ParquetStream(spec, str(tmp_path / "shards"), 0.25, 0.0, 11, {}, missing)
    stream.fit("standard")
    whole = load_data(Spec("parquet", {"path": "shards", "target": "y"}), str(tmp_path))
    train = np.flatnonzero(held_out(np.arange(len(whole)), 11) >= 0.25)
    assert len(stream) == len(train)
    rows = whole.subset(train)
    reference = Preprocessing.fit(
        [rows.columns[name] for name in whole.feature_names], missing, "standard"
    )
    kinds = [e.kind for e in reference.encodings]
    assert kinds == ["number"] * 3 + ["category", "date", "date"]
    for mine, expected in zip(stream.preprocessing.encodings, reference.encodings):
        assert mine.outputs == expected.outputs, mine.name
        assert mine.missing == expected.missing
        assert mine.stats.keys() == expected.stats.keys()
        for key, value in expected.stats.items():
            if key == "fill" or not isinstance(value, (float, dict)):
                assert mine.stats[key] == value, (mine.name, key)  # medians, modes: exact
            else:  # means and deviations: summed in another order
                assert mine.stats[key] == pytest.approx(value, rel=1e-12), (mine.name, key)
    a = rows.columns["a"]
    assert (~a.missing).sum() % 2 == 0  # an even count: two middle values, averaged
    assert stream.preprocessing.encodings[0].stats["fill"] == np.median(a.values[~a.missing])
    assert "day.hour_sin" not in stream.preprocessing.outputs  # days without times
    assert "at.hour_sin" in stream.preprocessing.outputs


def test_medians_and_dates_train_as_the_same_rows_in_memory(tmp_path: Path) -> None:
    table = _dated_shards(tmp_path / "shards")
    extra = ", standardize=true, missing=fill_median"
    streamed = _model(tmp_path, extra=extra).fit(verbose=0).history
    model = _model(tmp_path, extra=extra)
    model.load_data()  # the streamed preprocessing, fitted on every row (validation = 0)
    rows = {}
    for name, values in table.items():
        if name in ("day", "at"):
            rows[name] = [None if np.isnat(v) else str(v) for v in values]
        elif name != "y":
            rows[name] = values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = model.fit(rows, table["y"], shuffle=False, verbose=0).history
    np.testing.assert_allclose(streamed["loss"], whole["loss"], rtol=1e-9)
    fills = {e.name: e.stats["fill"] for e in model.preprocessing.encodings}
    assert fills["a"] == np.nanmedian(table["a"])


def test_slash_dates_take_their_order_from_the_first_batch(tmp_path: Path, monkeypatch) -> None:
    """01/02/2024 reads month first unless a day above 12 says otherwise: streamed, the
    first record batch decides, and a later day-first date is a located error with the
    hint to declare the format (read whole, the file would read day first)."""
    monkeypatch.setattr("nndsl.data.parquetfile.READ_ROWS", 50)
    (tmp_path / "shards").mkdir()
    dates = [f"{i % 12 + 1:02d}/{i % 12 + 1:02d}/2024" for i in range(200)]
    dates[150] = "25/03/2024"
    table = {"d": dates, "x": np.arange(200.0), "y": np.arange(200) % 2 * 1.0}
    pq.write_table(pa.table(table), tmp_path / "shards/a.parquet")
    with pytest.raises(NNDSLError, match=r"row 151, column 'd': '25/03/2024' is not a date"):
        _stream(tmp_path).fit("none")
    declared = {"d": ("date", {"format": "%d/%m/%Y"})}
    stream = ParquetStream(
        {"path": "shards", "target": "y", "features": None, "shuffle_buffer": 100},
        str(tmp_path / "shards"), 0.0, 0.0, 7, declared, {},
    )  # fmt: skip
    stream.fit("none")
    assert stream.preprocessing.encodings[0].kind == "date"
