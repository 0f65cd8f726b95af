"""parquet(..., stream=true): training rows read from Parquet shards batch by batch each
epoch, for data larger than memory.

  - Split: row i (numbered through the shards in name order) is held out when a hash of
    (i, seed) falls below the validation (+ test) fraction: deterministic, independent
    of batch sizes and shard order, and no row is in two splits. The held-out rows are
    kept in memory (a fraction of the data).
  - Preprocessing: kinds are inferred from the first record batch (or declared); the
    statistics (means, deviations, min/max, category counts, dates' counts) are fitted
    in one pass over the training rows only, with what the in-memory fit computes
    (nndsl.data.tabular); fill_median in a few more passes (_RankSearch), exactly. A
    number's fill_mode, which needs a count of every distinct value, is refused.
  - Each epoch: shards in a seeded order, every row drawn from a buffer of
    `shuffle_buffer` rows; without shuffling, the rows in file order, so that the batches
    are those of the same data in memory.
Memory: the buffer, one record batch and one chunk of encoded rows handed to the engine;
pyarrow reads one shard at a time without pre-buffering it (nndsl.data.parquetfile.Shard).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nndsl.data.csvfile import table_dataset
from nndsl.data.dataset import Dataset
from nndsl.data.parquetfile import Shard, shard_files, shown_shard
from nndsl.data.records import RecordTable, columns_to_rows
from nndsl.data.tabular import (
    DATE_PARTS,
    FILLS,
    Column,
    Encoding,
    Preprocessing,
    applies,
    binary_stats,
    category_stats,
    default_missing,
)
from nndsl.errors import NNDSLError

CHUNK_ROWS = 8192  # encoded rows handed to the engine at a time (a multiple of the batch)
KEPT_KEYS = 1 << 16  # a median's candidates few enough to keep and sort (512 KB)
DIGIT_BITS = 16  # the bits of the candidates' keys a median's pass counts (65536 counters)


def held_out(index: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row number, from a splitmix64 hash of (row, seed)."""
    z = index.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) & (2**64 - 1))
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


@dataclass
class _NumberSums:
    """Count, mean and sum of squared deviations (Chan's merge), min and max."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = np.inf
    high: float = -np.inf
    missing: int = 0

    def add(self, values: np.ndarray, missing: int) -> None:
        self.missing += missing
        if values.size == 0:
            return
        n, mean = values.size, float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.low, self.high = (
            min(self.low, float(values.min())),
            max(self.high, float(values.max())),
        )


@dataclass
class _ColumnFit:
    kind: str
    options: dict[str, Any]
    numbers: _NumberSums = field(default_factory=_NumberSums)  # a date's: of its years
    counts: Counter = field(default_factory=Counter)  # a date's: of its 5 parts, in row order
    missing: int = 0
    hours: bool = False  # a date column: whether some training date has a time of day
    median: float | None = None  # a number column filled with its median: found (see fit)

    def add(self, column: Column, train: np.ndarray) -> None:
        """The training rows of a record batch's column counted."""
        present = train & ~column.missing
        missing = int((train & column.missing).sum())
        self.missing += missing
        values = column.values[present]
        if self.kind == "number":
            self.numbers.add(values, missing)
        elif self.kind == "date":
            self.numbers.add(values[:, 0], 0)
            self.hours = self.hours or bool(np.any(values[:, 4]))
            self.counts.update(map(tuple, values.tolist()))
        else:
            self.counts.update(values.tolist())


def _sortable(values: np.ndarray) -> np.ndarray:
    """float64 -> uint64 keys in the same order (sign bit flipped, negatives inverted)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    top = np.uint64(1 << 63)
    return np.where(bits & top, ~bits, bits | top)


def _unsortable(key: int) -> float:
    bits = key & ~(1 << 63) if key >> 63 else ~key & (2**64 - 1)
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


class _RankSearch:
    """The value of a rank (0-based, in sorted order) among a column's training values,
    found exactly in passes holding at most 2^16 numbers: the values as order-keeping
    integer keys less the smallest; each pass counts the next DIGIT_BITS bits of the
    keys that share the bits found so far (the rank's bucket), until few enough share
    them to be kept and sorted, or every bit is known."""

    def __init__(self, rank: int, count: int, low: float, high: float) -> None:
        self.base = int(_sortable(np.array([low]))[0])
        span = int(_sortable(np.array([high]))[0]) - self.base
        self.rest = span.bit_length()  # the key bits (above base) not known yet
        self.prefix, self.rank, self.count = 0, rank, count
        self.value: float | None = None if span else low
        self._start()

    def _start(self) -> None:
        self.kept: list[np.ndarray] | None = [] if self.count <= KEPT_KEYS else None
        self.step = min(DIGIT_BITS, self.rest)
        self.counts = np.zeros(1 << self.step, dtype=np.int64)

    def add(self, keys: np.ndarray) -> None:
        above = keys - np.uint64(self.base)
        if self.rest < 64:  # (a shift by 64 is no shift in NumPy)
            above = above[(above >> np.uint64(self.rest)) == np.uint64(self.prefix)]
        if self.kept is not None:
            self.kept.append(above)
            return
        digits = (above >> np.uint64(self.rest - self.step)) & np.uint64((1 << self.step) - 1)
        self.counts += np.bincount(digits.astype(np.intp), minlength=1 << self.step)

    def finish_pass(self) -> None:
        if self.kept is not None:
            kept = np.concatenate(self.kept)
            self.value = _unsortable(self.base + int(np.partition(kept, self.rank)[self.rank]))
            return
        below = np.cumsum(self.counts)
        digit = int(np.searchsorted(below, self.rank, side="right"))
        self.rank -= int(below[digit - 1]) if digit else 0
        self.count = int(self.counts[digit])
        self.prefix = (self.prefix << self.step) | digit
        self.rest -= self.step
        if self.rest == 0:
            self.value = _unsortable(self.base + self.prefix)
        else:
            self._start()


def _number_encoding(name: str, fit: _ColumnFit, strategy: dict, scale: str) -> Encoding:
    """A number column's encoding from its sums: what tabular.fit_encoding computes."""
    choice = strategy.get("name") or default_missing("number")
    fill_name = default_missing("number") if choice in ("indicator", "drop_row") else choice
    s = fit.numbers
    if fill_name == "fill_mean":
        fill = s.mean if s.n else 0.0
    elif fill_name == "fill_median" and fit.median is not None:
        fill = fit.median
    elif fill_name == "fill_constant" and isinstance(strategy.get("value"), (int, float)):
        fill = float(strategy["value"])
    else:
        raise NNDSLError(
            f"column '{name}': missing={fill_name} needs every value at once, and "
            "parquet(stream=true) reads them a batch at a time",
            hint="use fill_mean, fill_median, fill_constant(value=...) or indicator",
        )
    # the filled column's mean, deviation and range: the missing cells count as `fill`
    n = s.n + s.missing
    mean = (s.n * s.mean + s.missing * fill) / n if n else 0.0
    m2 = s.m2 + s.n * (s.mean - mean) ** 2 + s.missing * (fill - mean) ** 2
    low = min(s.low, fill) if s.missing else s.low
    high = max(s.high, fill) if s.missing else s.high
    how = fit.options.get("scale") or scale
    shift, divide = 0.0, 1.0
    if how == "standard" and n:
        std = float(np.sqrt(m2 / n))
        shift, divide = float(mean), std if std > 0 else 1.0
    elif how == "minmax" and n:
        shift, divide = low, high - low if high > low else 1.0
    stats = {"indicator": choice == "indicator", "fill": fill, "shift": shift, "divide": divide}
    outputs = [name] + ([f"{name}.missing"] if choice == "indicator" else [])
    return Encoding(name, "number", choice, stats, outputs, dict(fit.options))


def _counted_encoding(name: str, fit: _ColumnFit, strategy: dict) -> Encoding:
    choice = strategy.get("name") or default_missing(fit.kind)
    fill_name = default_missing(fit.kind) if choice in ("indicator", "drop_row") else choice
    stats: dict[str, Any] = {"indicator": choice == "indicator"}
    if fit.kind == "binary":
        stats.update(binary_stats(name, fit.counts, fit.options, fill_name, strategy))
        outputs = [name]
    else:
        stats.update(
            category_stats(name, fit.counts, fit.missing, fit.options, fill_name, strategy)
        )
        outputs = [f"{name}={c}" for c in stats["categories"]] + [f"{name}=<unknown>"]
    outputs += [f"{name}.missing"] if choice == "indicator" else []
    return Encoding(name, fit.kind, choice, stats, outputs, dict(fit.options))


def _date_encoding(name: str, fit: _ColumnFit, strategy: dict) -> Encoding:
    """A date column's encoding from its counts: what tabular.fit_encoding computes (the
    mode, the first of the most frequent in the rows; the years standardized; the hour
    left out when no date has a time)."""
    choice = strategy.get("name") or default_missing("date")
    fill_name = default_missing("date") if choice in ("indicator", "drop_row") else choice
    if fill_name not in FILLS["date"]:
        raise NNDSLError(
            f"column '{name}' holds date values: missing={fill_name} does not apply to it",
            hint="for it: fill_mode, indicator or drop_row",
        )
    parts = list(fit.options.get("parts", DATE_PARTS))
    if "hour" in parts and fit.counts and not fit.hours:
        parts.remove("hour")  # dates without times: an hour of 0 says nothing
    fill = [2000.0, 1.0, 1.0, 5.0, 0.0]
    if fit.counts:  # max() keeps the first of equals: counts are in the rows' order
        fill = list(max(fit.counts.items(), key=lambda item: item[1])[0])
    years, cyclic = fit.numbers, bool(fit.options.get("cyclic", True))
    deviation = float(np.sqrt(years.m2 / years.n)) if years.n else 0.0
    stats = {
        "indicator": choice == "indicator",
        "fill": fill,
        "parts": parts,
        "cyclic": cyclic,
        "year": {
            "shift": years.mean if years.n else 0.0,
            "divide": deviation if deviation > 0 else 1.0,
        },
    }
    outputs = []
    for part in parts:
        if part == "year" or not cyclic:
            outputs.append(f"{name}.{part}")
        else:
            outputs += [f"{name}.{part}_sin", f"{name}.{part}_cos"]
    outputs += [f"{name}.missing"] if choice == "indicator" else []
    return Encoding(name, "date", choice, stats, outputs, dict(fit.options))


class ParquetStream:
    """The training rows of Parquet shards, read a record batch at a time; `len()`: how
    many. `for_epoch(seed)` gives what the engine's training loop draws batches from."""

    weights = None  # no weight column (yet)

    def __init__(self, args: dict[str, Any], path: str, validation: float, test: float,
                 seed: int, kinds: dict, missing: dict) -> None:  # fmt: skip
        self.args, self.path, self.shown = args, path, args["path"]
        self.files = shard_files(path, self.shown)
        self.shards = [Shard(f, shown_shard(f, path, self.shown)) for f in self.files]
        self.held_fraction, self.validation, self.seed = validation + test, validation, seed
        self.test = test
        self.buffer = int(args["shuffle_buffer"])
        self.declared, self.missing = kinds, missing
        self.kinds: dict[str, tuple[str, dict]] | None = None
        self.class_names: list[str] | None = None
        self.feature_names: list[str] = []
        self.target_names: list[str] = []
        self.preprocessing: Preprocessing | None = None
        self.n_train = 0
        self.notes: list[str] = []
        self.peak_rows = 0  # the most rows held at once (buffer and batches), for tests

    def __len__(self) -> int:
        return self.n_train

    # ------------------------------------------------------------ reading
    def _batches(self, order: np.ndarray | None = None) -> Iterator[tuple[Dataset, np.ndarray]]:
        """(the rows of a record batch as a Dataset of typed columns, each row's number
        through the shards), shard by shard in `order`."""
        offsets = np.cumsum([0] + [s.rows for s in self.shards])
        for k in order if order is not None else range(len(self.shards)):
            shard, first = self.shards[k], 0
            for batch in shard.record_batches():
                count = batch.num_rows
                fast = self._numbers(batch)
                if fast is not None:  # numbers without gaps: no cells to read
                    yield fast, offsets[k] + first + np.arange(count)
                    first += count
                    continue
                values = {name: batch.column(name).to_pylist() for name in batch.schema.names}
                starts = range(first + 1, first + count + 1)
                table = RecordTable(
                    shard.path, shard.shown, "parquet", list(values),
                    columns_to_rows(values, shard.shown, "row", starts), list(starts), "row",
                )  # fmt: skip
                ds = self._read(table)
                rows = np.arange(count) if ds.file_rows is None else ds.file_rows
                yield ds, offsets[k] + first + rows
                first += count

    def _numbers(self, batch: Any) -> Dataset | None:
        """A record batch whose features and target are all numbers with no missing value
        (and read as numbers), as typed columns straight from its arrays; else None."""
        target, names = self.args["target"], list(batch.schema.names)
        if not isinstance(target, str) or target not in names or self.args.get("id"):
            return None
        features = self.args["features"] or [n for n in names if n != target]
        if self.kinds is not None and any(self.kinds[f][0] != "number" for f in features):
            return None
        if any(self.declared.get(f, ("number",))[0] != "number" for f in [*features, "*"]):
            return None
        arrays = {}
        for name in [*features, target]:
            column = batch.column(name)
            if column.null_count or not _numeric(column.type):
                return None
            arrays[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
            if not np.isfinite(arrays[name]).all():
                return None  # the cells' reader says which value
        if self.kinds is None:
            self.kinds = {f: ("number", {}) for f in features}
            self.feature_names, self.target_names = features, [target]
        n = batch.num_rows
        columns = {f: Column(f, "number", arrays[f], np.zeros(n, dtype=bool)) for f in features}
        return Dataset(np.zeros((n, 0)), arrays[target], features, [target], columns=columns)

    def _read(self, table: RecordTable) -> Dataset:
        args = self.args
        ds = table_dataset(
            table,
            args["target"],
            features=args["features"],
            kinds=self.kinds if self.kinds is not None else self.declared or None,
            missing=self.missing,
        )
        if self.kinds is None:  # the first batch tells the columns' kinds
            columns = ds.columns or {}
            self.kinds = {
                name: (columns[name].kind, _schema(columns[name].options, self.declared, name))
                if name in columns
                else ("number", {})
                for name in ds.feature_names
            }
            self.feature_names, self.target_names = list(ds.feature_names), list(ds.target_names)
            if ds.columns is None:  # read as typed columns from now on, numbers as numbers
                return self._read(table)
        return ds

    def _targets(self, ds: Dataset) -> np.ndarray:
        if self.class_names is None or ds.class_names is None:
            return ds.y
        index = {c: i for i, c in enumerate(self.class_names)}
        return np.array([index[c] for c in ds.class_names], dtype=np.int64)[ds.y]

    # ------------------------------------------------------------ fitting
    def fit(self, scale: str) -> tuple[Dataset | None, Dataset | None]:
        """One pass: the training rows' statistics; the held-out rows kept. Returns the
        (validation, test) splits, encoded."""
        fits: dict[str, _ColumnFit] = {}
        labels: set[str] = set()
        held: list[Dataset] = []
        for ds, index in self._batches():
            u = held_out(index, self.seed)
            train = u >= self.held_fraction
            self.n_train += int(train.sum())
            if ds.class_names is not None:
                labels.update(ds.class_names[i] for i in np.unique(ds.y[train]))
            if (~train).any():
                held.append((ds.subset(np.flatnonzero(~train)), u[~train]))
            for name, column in ds.columns.items():
                fits.setdefault(name, _ColumnFit(column.kind, dict(column.options)))
                fits[name].add(column, train)
        if self.n_train == 0:
            raise NNDSLError(f"{self.shown}: no training rows (every row is held out)")
        for name, fit in fits.items():
            declared = "values" in self.kinds[name][1]
            if fit.kind == "binary" and len(fit.counts) > 2 and not declared:
                raise NNDSLError(
                    f"{self.shown}: binary column '{name}' holds {len(fit.counts)} values "
                    "across the shards",
                    hint=f"declare it columns=({name}=category)",
                )
            if fit.kind == "binary" and not declared:
                self.kinds[name][1]["values"] = sorted(fit.counts)
                fit.options["values"] = sorted(fit.counts)
        self.class_names = sorted(labels) if labels else None
        every = self.missing.get("*") or {}
        strategies = {
            name: self.missing.get(name) or (every if applies(every, fits[name].kind) else {})
            for name in self.feature_names
        }
        self._medians(
            {
                name: fits[name]
                for name, strategy in strategies.items()
                if fits[name].kind == "number" and strategy.get("name") == "fill_median"
            }
        )
        encodings = []
        for name in self.feature_names:
            fit, strategy = fits[name], strategies[name]
            if fit.kind == "number":
                encodings.append(_number_encoding(name, fit, strategy, scale))
            elif fit.kind == "date":
                encodings.append(_date_encoding(name, fit, strategy))
            else:
                encodings.append(_counted_encoding(name, fit, strategy))
        self.preprocessing = Preprocessing(encodings)
        end = self.validation + self.test
        return self._held(held, 0.0, self.validation), self._held(held, self.validation, end)

    def _medians(self, fits: dict[str, _ColumnFit]) -> None:
        """The median of each column of `fits` over its present training values, exactly
        as np.median gives it (the middle value, or the mean of the two middle ones), in
        passes over the shards holding 2^16 numbers per column (_RankSearch): from 1
        for few values to 4 for values that agree in all but their last bits."""
        searches: dict[str, list[_RankSearch]] = {}
        for name, fit in fits.items():
            s = fit.numbers
            if s.n == 0:
                fit.median = 0.0  # no value: what the in-memory fit fills with
                continue
            ranks = [s.n // 2] if s.n % 2 else [s.n // 2 - 1, s.n // 2]
            searches[name] = [_RankSearch(r, s.n, s.low, s.high) for r in ranks]
        while any(x.value is None for found in searches.values() for x in found):
            for ds, index in self._batches():
                train = held_out(index, self.seed) >= self.held_fraction
                for name, found in searches.items():
                    column = ds.columns[name]
                    keys = _sortable(column.values[train & ~column.missing])
                    for search in found:
                        if search.value is None:
                            search.add(keys)
            for found in searches.values():
                for search in found:
                    if search.value is None:
                        search.finish_pass()
        for name, found in searches.items():
            fits[name].median = float(np.median(np.array([x.value for x in found])))

    def _held(self, held: list, low: float, high: float) -> Dataset | None:
        """The held-out rows whose hash lies in [low, high), encoded (None for none)."""
        if high <= low:
            return None
        xs, ys = [], []
        for ds, u in held:
            pick = (u >= low) & (u < high)
            if pick.any():
                part = ds.subset(np.flatnonzero(pick))
                xs.append(self.preprocessing.transform(part.columns)[0])
                ys.append(self._targets(part))
        if not xs:
            return None
        return Dataset(np.concatenate(xs), np.concatenate(ys), self.feature_names,
                       self.target_names, self.class_names)  # fmt: skip

    # ------------------------------------------------------------ epochs
    def for_epoch(self, seed: int | None) -> StreamEpoch:
        """One epoch's rows: shuffled by `seed` (shard order and buffer), or in order."""
        return StreamEpoch(self, seed)

    def encoded(self, seed: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(inputs, targets) of the training rows, a record batch at a time, shuffled
        through the buffer when `seed` is given."""
        rng = np.random.default_rng(seed) if seed is not None else None
        order = rng.permutation(len(self.shards)) if rng is not None else None
        pool_x = pool_y = None  # the shuffle buffer, allocated once
        filled = 0
        for ds, index in self._batches(order):
            train = np.flatnonzero(held_out(index, self.seed) >= self.held_fraction)
            part = ds.subset(train)
            x, y = self.preprocessing.transform(part.columns)[0], self._targets(part)
            if rng is None:
                yield x, y
                continue
            if pool_x is None:
                pool_x = np.empty((self.buffer, *x.shape[1:]), dtype=x.dtype)
                pool_y = np.empty((self.buffer, *y.shape[1:]), dtype=y.dtype)
            take = min(len(x), self.buffer - filled)  # filling the buffer first
            pool_x[filled : filled + take], pool_y[filled : filled + take] = x[:take], y[:take]
            filled += take
            x, y = x[take:], y[take:]
            while len(x):  # then each new row takes the place of a random one, sent out
                m = min(len(x), self.buffer)
                slots = rng.choice(self.buffer, m, replace=False)
                out_x, out_y = pool_x[slots], pool_y[slots]
                pool_x[slots], pool_y[slots] = x[:m], y[:m]
                x, y = x[m:], y[m:]
                self.peak_rows = max(self.peak_rows, self.buffer + 2 * m)
                yield out_x, out_y
        if filled:  # the buffer's rows last, in a random order, a batch's worth at a time
            last = rng.permutation(filled)
            for start in range(0, filled, CHUNK_ROWS):
                yield (
                    pool_x[last[start : start + CHUNK_ROWS]],
                    pool_y[last[start : start + CHUNK_ROWS]],
                )


class StreamEpoch:
    """What `Engine.train_epoch` draws one epoch's batches from (`stream_batches`)."""

    def __init__(self, stream: ParquetStream, seed: int | None) -> None:
        self.stream, self.seed = stream, seed

    def __len__(self) -> int:
        return len(self.stream)

    def stream_batches(self, engine: Any, batch_size: int) -> Iterator[Any]:
        """The epoch's batches: rows gathered into chunks of whole batches, each chunk
        prepared by the engine and cut in order (the batches of the same rows in memory)."""
        chunk = max(1, CHUNK_ROWS // batch_size) * batch_size
        held_x: list[np.ndarray] = []
        held_y: list[np.ndarray] = []
        count = 0
        for x, y in self.stream.encoded(self.seed):
            held_x.append(x)
            held_y.append(y)
            count += len(x)
            while count >= chunk:
                xs, ys = np.concatenate(held_x), np.concatenate(held_y)
                yield from _chunk_batches(engine, xs[:chunk], ys[:chunk], batch_size)
                held_x, held_y, count = [xs[chunk:]], [ys[chunk:]], len(xs) - chunk
        if count:
            yield from _chunk_batches(
                engine, np.concatenate(held_x), np.concatenate(held_y), batch_size
            )


def _chunk_batches(engine: Any, x: np.ndarray, y: np.ndarray, batch_size: int) -> Iterator:
    data = engine.prepare(x, y)
    yield from engine.epoch_batches(data, np.arange(len(data)), batch_size)


def _numeric(kind: Any) -> bool:
    import pyarrow.types as types

    return types.is_integer(kind) or types.is_floating(kind)


def _schema(options: dict, declared: dict, name: str) -> dict:
    """A column's reading options to keep for every batch: a binary column's values are
    gathered over all shards (the first batch may hold one), unless declared."""
    options = dict(options)
    if name not in declared and "*" not in declared:
        options.pop("values", None)
    return options
