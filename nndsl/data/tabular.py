"""Typed feature columns: each column of a table read as a number, a category, a binary
value or a date (inferred, or declared with `columns=(city=category, ...)`), its missing
cells filled by a strategy, and encoded into the model's input values.

Two steps, kept apart so that nothing fitted sees a validation or test row:
  - reading (`read_column`) turns a column's cells into typed values, with the rows it
    cannot read; the type is the schema of the file (inferred from all its rows, like a
    CSV reader's column types), not a fitted statistic;
  - fitting (`Preprocessing.fit`, on the training split only) learns each column's
    statistics: fill values, means and deviations, the categories and their order;
    `transform` applies them to any split, or to new rows at predict time.
The fitted `Preprocessing` is saved with the model (`to_dict`), so new raw rows are
encoded as the training rows were, column by column, by name.

Encodings (the model's input width is the sum of the widths):
  number    1 value: as is, standardized (mean 0, std 1) or min-max scaled to [0, 1]
  binary    1 value: 0 or 1 (the second of the two sorted values, or `positive`, is 1)
  category  one-hot over the training split's categories (the `max_categories` most
            frequent), plus one slot for a category never seen in training (or missing)
  date      year (standardized), then month, day of month, day of week and hour, each as
            a sine and cosine of its cycle (`cyclic=false`: scaled to [0, 1] instead)
Missing cells (empty, NA, N/A, NaN, null, None, ?): `fill_mean`, `fill_median`,
`fill_mode`, `fill_constant(v)`, `drop_row` or `indicator` (the type's default fill and a
0/1 column saying the cell was missing). Defaults: numbers fill_mean, binary values and
dates fill_mode, categories the unknown slot.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError

# the cells read as missing: pandas' default NA strings, and "?" (UCI's)
NA_CELLS = frozenset(
    "|NA|N/A|n/a|na|NaN|nan|NAN|-NaN|-nan|NULL|null|Null|None|none|#N/A|#NA|<NA>|?".split("|")
)
KINDS = ("number", "category", "binary", "date")
INFER_SAMPLE = 20_000  # cells a column's type is inferred from
MAX_CATEGORY_GUESS = 50  # more distinct words than this in a column: free text, not a category
DATE_PARTS = ("year", "month", "day", "weekday", "hour")
_CYCLES = {"month": (1, 12), "day": (1, 31), "weekday": (0, 7), "hour": (0, 24)}
# written dates besides ISO 8601 (datetime.fromisoformat); day-first and month-first with
# slashes are told apart per column (see _slash_order)
_DATE_FORMATS = ("%Y/%m/%d", "%d.%m.%Y", "%Y.%m.%d")
_TIMES = ("", " %H:%M", " %H:%M:%S")


@dataclass
class Column:
    """A feature column as read: kind, typed values, and which cells were missing.
    number: float64; category, binary: str (missing ""); date: float64 (n, 5), the
    parts of DATE_PARTS (NaN where missing)."""

    name: str
    kind: str
    values: np.ndarray
    missing: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)  # the declared type's arguments

    def take(self, index: np.ndarray) -> Column:
        return Column(self.name, self.kind, self.values[index], self.missing[index], self.options)


@dataclass
class Unreadable:
    """A cell the column's type cannot read: the row (0-based), and what to say."""

    row: int
    message: str
    hint: str | None = None


# ---------------------------------------------------------------- reading


def missing_mask(cells: np.ndarray, stripped: bool = False) -> np.ndarray:
    """Which cells are missing values (`stripped`: the cells are str, already stripped)."""
    return np.isin(cells if stripped else _stripped(cells), _NA_LIST)


def _stripped(cells: np.ndarray) -> np.ndarray:
    return np.char.strip(cells.astype(str))


_NA_LIST = sorted(NA_CELLS)


def infer_kind(cells: np.ndarray, stripped: bool = False) -> str:
    """The kind of a column of text cells: number when most present cells are numbers
    (the others are then errors to show), date when every present cell is one, binary
    for two distinct values, category for a few, else "text". `stripped`: the cells are
    str, already stripped."""
    cells = cells if stripped else _stripped(cells)
    present = cells[~np.isin(cells, _NA_LIST)]
    if present.size == 0:
        return "empty"
    if present.size > INFER_SAMPLE:  # evenly spread: reading checks every cell later
        present = present[np.linspace(0, present.size - 1, INFER_SAMPLE).astype(np.int64)]
    numbers = ~np.isnan(_floats(present))
    if numbers.mean() < 0.5:  # numbers written with a decimal comma are numbers gone wrong
        numbers |= _decimal_commas(present)
    if numbers.mean() >= 0.5:  # infinities too: the reading says they cannot be used
        return "number"
    if _date_reader(present) is not None:
        return "date"
    distinct = np.unique(present)
    if len(distinct) == 2:
        return "binary"
    if len(distinct) <= MAX_CATEGORY_GUESS or len(distinct) <= 0.05 * present.size:
        return "category"
    return "text"


def read_column(
    name: str, cells: np.ndarray, kind: str, options: dict[str, Any], stripped: bool = False
) -> Column:
    """`cells` (str; `stripped`: already stripped) as a Column of `kind`; raises
    CellError for the first cell it cannot read (the caller locates it in its file)."""
    cells = cells if stripped else _stripped(cells)
    missing = np.isin(cells, _NA_LIST)
    if kind == "number":
        values = _floats(np.where(missing, "nan", cells))
        bad = ~missing & ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            cell = str(cells[row])
            if np.isinf(values[row]):
                raise CellError(
                    Unreadable(row, f"the value is infinite ({cell!r})", "numbers must be finite")
                )
            hint = (
                f"column '{name}' is read as numbers; declare it "
                f"columns=({column_key(name)}=category) if it holds words, or leave it out"
            )
            if _DECIMAL_COMMA.match(cell):
                hint = "numbers are written with a decimal point: 1.5, not 1,5"
            raise CellError(Unreadable(row, f"{cell!r} is not a number", hint))
        values[missing] = np.nan
        return Column(name, kind, values, missing, options)
    if kind in ("category", "binary"):
        values = np.where(missing, "", cells)
        if kind == "binary" and options.get("values") is not None:
            # the two values of the training file: any other would silently read as 0
            known = list(options["values"])
            other = ~missing & ~np.isin(values, known)
            if other.any():
                row = int(np.argmax(other))
                raise CellError(
                    Unreadable(
                        row,
                        f"{str(cells[row])!r} is not one of the values of binary column "
                        f"'{name}' in training ({', '.join(map(repr, known))})",
                        "write it as one of those (the same spelling and case)",
                    )
                )
        elif kind == "binary":
            distinct = np.unique(values[~missing]).tolist()
            options = {**options, "values": distinct}  # the file's schema, as its kind is
            if len(distinct) > 2:
                # the two most frequent values are the column's; the first cell of any
                # other is the one shown (not one of the pair, as sorting would pick)
                counts = Counter(values[~missing].tolist())
                pair = sorted(sorted(counts, key=lambda v: (-counts[v], v))[:2])
                row = int(np.argmax(~missing & (values != pair[0]) & (values != pair[1])))
                raise CellError(
                    Unreadable(
                        row,
                        f"{str(cells[row])!r} is a third value in binary column '{name}' "
                        f"(besides {pair[0]!r} and {pair[1]!r})",
                        f"declare it columns=({column_key(name)}=category)",
                    )
                )
        return Column(name, kind, values, missing, options)
    if kind == "date":
        return _read_dates(name, cells, missing, options)
    raise NNDSLError(f"unknown column type '{kind}'", hint="one of: " + ", ".join(KINDS))


class CellError(Exception):
    """A cell a column's type cannot read (see Unreadable)."""

    def __init__(self, problem: Unreadable) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _floats(cells: np.ndarray) -> np.ndarray:
    """Cells as float64, NaN where they are not numbers."""
    try:
        return cells.astype(np.float64)
    except ValueError:
        pass
    out = np.full(cells.shape, np.nan)
    for i, cell in enumerate(cells):
        try:
            out[i] = float(cell)
        except ValueError:
            pass
    return out


_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")


def _decimal_commas(cells: np.ndarray) -> np.ndarray:
    """Cells that are numbers written with a decimal comma (1,5): numbers gone wrong."""
    return np.array([bool(_DECIMAL_COMMA.match(str(c))) for c in cells], dtype=bool)


def column_key(name: str) -> str:
    """A column name as a `columns=(...)` key: as is, or quoted."""
    return name if name.isidentifier() else f'"{name}"'


def _date_reader(cells: np.ndarray):
    """A function reading one of `cells` as a datetime (None if it cannot), when every
    one of the first cells reads (a column of dates); else None."""
    read = _date_parser(cells)
    sample = cells[: min(len(cells), 200)]
    if not all(read(str(c)) is not None for c in sample):
        return None
    return read


def _date_parser(cells: np.ndarray, written: str | None = None, dayfirst: bool | None = None):
    """A function reading a cell as a datetime (None if it cannot). `written`: the
    strptime format the file declares; `dayfirst`: how slash dates are ordered (None:
    either, as `cells` suggest, for telling a column's type)."""
    if written is not None:
        formats: tuple[str, ...] = (written,)
    else:
        slashes = _slash_order(cells) if dayfirst is None else (_SLASHES[dayfirst],)
        formats = tuple(f + t for f in (*_DATE_FORMATS, *slashes) for t in _TIMES)

    def read(cell: str) -> datetime | None:
        if written is None:
            try:
                return datetime.fromisoformat(cell)
            except ValueError:
                pass
        for f in formats:
            try:
                return datetime.strptime(cell, f)
            except ValueError:
                continue
        return None

    return read


_SLASHES = {True: "%d/%m/%Y", False: "%m/%d/%Y"}


def _slash_order(cells: np.ndarray) -> tuple[str, ...]:
    """Slash dates' order, for telling a column's type: day first when a first field
    exceeds 12, else either (month first tried first)."""
    return (_SLASHES[True],) if _day_first(cells[:1000]) else (_SLASHES[False], _SLASHES[True])


def _day_first(cells: np.ndarray) -> bool:
    """Whether slash dates are written day first: some first field exceeds 12."""
    for cell in cells:
        parts = str(cell).split(" ")[0].split("/")
        if len(parts) == 3 and parts[0].isdigit() and int(parts[0]) > 12:
            return True
    return False


def _read_dates(name: str, cells: np.ndarray, missing: np.ndarray, options: dict) -> Column:
    present = cells[~missing]
    if options.get("format") is None and options.get("dayfirst") is None:
        # one order for the whole column (a cell each way would mix months and days), kept
        # with the model so that new rows (perhaps all with days <= 12) read the same way
        options = {**options, "dayfirst": _day_first(present)}
    reader = _date_parser(present, options.get("format"), options.get("dayfirst"))
    # each distinct cell read once (a column of a million dates holds a few thousand)
    distinct, index = np.unique(present, return_inverse=True)
    parts = np.full((len(distinct), len(DATE_PARTS)), np.nan)
    unreadable = np.zeros(len(distinct), dtype=bool)
    for k, cell in enumerate(distinct.tolist()):
        when = reader(cell)
        if when is None:
            unreadable[k] = True
            continue
        hour = when.hour + when.minute / 60 + when.second / 3600
        parts[k] = (when.year, when.month, when.day, when.weekday(), hour)
    index = index.ravel()
    rows = np.flatnonzero(~missing)
    if unreadable.any():  # the first such cell in the file is the one shown
        i = int(rows[np.argmax(unreadable[index])])
        fmt = options.get("format")
        raise CellError(
            Unreadable(
                i,
                f"{str(cells[i])!r} is not a date" + (f" in the format {fmt!r}" if fmt else ""),
                "dates are read as ISO 8601 (2024-03-31, 2024-03-31 14:05), "
                "2024/03/31, 31.03.2024 or 03/31/2024; declare another with "
                f'columns=({column_key(name)}=date(format="%d/%m/%Y"))',
            )
        )
    values = np.full((len(cells), len(DATE_PARTS)), np.nan)
    values[rows] = parts[index]
    return Column(name, "date", values, missing, options)


# ---------------------------------------------------------------- fitting and encoding


@dataclass
class Encoding:
    """One column's fitted encoding: what it became and the statistics it learnt."""

    name: str
    kind: str
    missing: str  # the strategy: fill_mean, fill_median, fill_mode, fill_constant, ...
    stats: dict[str, Any]
    outputs: list[str]  # the names of its input values, in order
    options: dict[str, Any] = field(default_factory=dict)  # the declared type's arguments

    @property
    def width(self) -> int:
        return len(self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "missing": self.missing,
            "stats": self.stats,
            "outputs": self.outputs,
            "options": self.options,
        }


def default_missing(kind: str) -> str:
    return {"number": "fill_mean", "category": "unknown"}.get(kind, "fill_mode")


# the fills each kind takes (besides drop_row and indicator, which take the default fill)
FILLS = {
    "number": ("fill_mean", "fill_median", "fill_mode", "fill_constant"),
    "category": ("fill_mode", "fill_constant", "unknown"),
    "binary": ("fill_mode", "fill_constant"),
    "date": ("fill_mode",),
}


def applies(strategy: dict[str, Any], kind: str) -> bool:
    """Whether a missing-value strategy can fill a column of `kind`."""
    name = strategy.get("name")
    return name in (None, "drop_row", "indicator") or name in FILLS.get(kind, ())


def fit_encoding(column: Column, strategy: dict[str, Any], scale: str) -> Encoding:
    """Learn `column`'s encoding from its (training) values. `strategy`: {"name": ...,
    "value": v for fill_constant}; `scale`: none, standard or minmax for numbers."""
    kind, present = column.kind, ~column.missing
    name = strategy.get("name") or default_missing(kind)
    indicator = name == "indicator"
    # drop_row left the rows out when reading; new rows missing it are refused (encode)
    fill_name = default_missing(kind) if name in ("indicator", "drop_row") else name
    stats: dict[str, Any] = {"indicator": indicator}
    if kind == "number":
        values = column.values[present]
        _refuse(fill_name, kind, column.name)
        stats["fill"] = _fill_number(values, fill_name, strategy, column.name)
        filled = np.where(column.missing, stats["fill"], column.values)
        stats.update(_scaling(filled, column.options.get("scale") or scale))
        outputs = [column.name]
    elif kind == "binary":
        counts = Counter(column.values[present].tolist())
        stats.update(binary_stats(column.name, counts, column.options, fill_name, strategy))
        outputs = [column.name]
    elif kind == "category":
        counts = Counter(column.values[present].tolist())
        stats.update(
            category_stats(
                column.name,
                counts,
                int(column.missing.sum()),
                column.options,
                fill_name,
                strategy,
            )
        )
        outputs = [f"{column.name}={c}" for c in stats["categories"]]
        outputs.append(f"{column.name}=<unknown>")
    elif kind == "date":
        parts = list(column.options.get("parts", DATE_PARTS))
        values = column.values[present]
        _refuse(fill_name, kind, column.name)
        stats["fill"] = _date_mode(values)
        if "hour" in parts and present.any() and not np.any(values[:, 4]):
            parts.remove("hour")  # dates without times: an hour of 0 says nothing
        stats["parts"] = parts
        stats["cyclic"] = bool(column.options.get("cyclic", True))
        years = values[:, 0] if present.any() else np.zeros(1)
        stats["year"] = _scaling(years, "standard")
        outputs = []
        for part in parts:
            if part == "year" or not stats["cyclic"]:
                outputs.append(f"{column.name}.{part}")
            else:
                outputs += [f"{column.name}.{part}_sin", f"{column.name}.{part}_cos"]
    else:
        raise NNDSLError(f"column '{column.name}': cannot encode a column of kind {kind}")
    if indicator:
        outputs = [*outputs, f"{column.name}.missing"]
    return Encoding(column.name, kind, name, stats, outputs, dict(column.options))


def binary_stats(
    name: str, counts: Counter, options: dict[str, Any], fill_name: str, strategy: dict
) -> dict[str, Any]:
    """A binary column's positive value and fill, from its (training) values' counts."""
    # the file's two values (read_column), not the training split's: a split that
    # happens to hold only one still says which value is 1 as the docs do
    distinct = list(options.get("values") or sorted(counts))
    positive = options.get("positive")
    if positive is not None and positive not in distinct and len(distinct) == 2:
        raise NNDSLError(
            f"column '{name}': positive={positive!r} is neither of its values "
            f"{distinct[0]!r}, {distinct[1]!r}"
        )
    if positive is None:
        positive = distinct[-1] if distinct else "1"
    stats: dict[str, Any] = {"positive": str(positive)}
    _refuse(fill_name, "binary", name)
    if fill_name == "fill_constant":
        stats["fill"] = _constant(strategy, name)
        if stats["fill"] not in distinct:  # else every missing cell would silently be 0
            raise NNDSLError(
                f"column '{name}' holds the values {', '.join(map(repr, distinct))}: "
                f"fill_constant(value={stats['fill']!r}) is neither",
                hint=f"fill it with one of them, e.g. fill_constant(value={distinct[-1]!r})"
                if distinct
                else None,
            )
    else:
        stats["fill"] = _mode_of(counts)
    return stats


def category_stats(
    name: str,
    counts: Counter,
    n_missing: int,
    options: dict[str, Any],
    fill_name: str,
    strategy: dict,
) -> dict[str, Any]:
    """A category column's fill and categories, from its (training) values' counts and
    how many cells were missing."""
    _refuse(fill_name, "category", name)
    counts = Counter(counts)
    stats: dict[str, Any] = {"fill": None}  # the unknown slot
    if fill_name == "fill_mode" and counts:
        stats["fill"] = _mode_of(counts)
    elif fill_name == "fill_constant":
        stats["fill"] = str(_constant(strategy, name))
    if stats["fill"] is not None:  # the filled cells count too: a constant is a category
        counts[stats["fill"]] += n_missing
        counts = +counts  # (a fill that filled nothing is no category)
    keep = int(options.get("max_categories", 50))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
    stats["categories"] = sorted(c for c, _ in ranked)
    return stats


def encode(encoding: Encoding, column: Column) -> tuple[np.ndarray, int]:
    """(the column's input values (n, width), how many cells were not seen in training:
    unknown categories)."""
    s, n = encoding.stats, len(column.missing)
    unseen = 0
    if encoding.missing == "drop_row" and column.missing.any():
        row = int(np.argmax(column.missing))
        raise NNDSLError(
            f"column '{encoding.name}' has no value in row {row + 1}, and the model was "
            "trained with missing=drop_row there, so it cannot predict that row",
            hint="fill it in, or train with a fill, e.g. missing=fill_mean",
        )
    if encoding.kind == "number":
        filled = np.where(column.missing, s["fill"], column.values)
        out = ((filled - s["shift"]) / s["divide"])[:, None]
    elif encoding.kind == "binary":
        values = np.where(column.missing, s["fill"], column.values)
        out = (values == s["positive"]).astype(np.float64)[:, None]
    elif encoding.kind == "category":
        values = column.values
        if s["fill"] is not None:
            values = np.where(column.missing, s["fill"], values)
        ids = _category_ids(s["categories"], values)
        unknown = len(s["categories"])
        unseen = int(((ids == unknown) & ~column.missing).sum())
        out = np.zeros((n, unknown + 1))
        out[np.arange(n), ids] = 1.0
    else:  # date
        values = column.values
        if column.missing.any():
            values = values.copy()
            values[column.missing] = s["fill"]
        cols = []
        for part in s["parts"]:
            v = values[:, DATE_PARTS.index(part)]
            if part == "year":
                cols.append((v - s["year"]["shift"]) / s["year"]["divide"])
                continue
            low, period = _CYCLES[part]
            if s["cyclic"]:
                angle = 2 * math.pi * (v - low) / period
                cols += [np.sin(angle), np.cos(angle)]
            else:
                cols.append((v - low) / max(period - 1, 1))
        out = np.stack(cols, axis=1) if cols else np.zeros((n, 0))
    if s.get("indicator"):
        out = np.concatenate([out, column.missing.astype(np.float64)[:, None]], axis=1)
    return out, unseen


def _category_ids(categories: list[str], values: np.ndarray) -> np.ndarray:
    """Each value's index among the (sorted) categories; len(categories) for any other."""
    unknown = len(categories)
    if not unknown:
        return np.zeros(len(values), dtype=np.int64)
    known = np.array(categories, dtype=str)
    values = np.asarray(values, dtype=str)
    at = np.minimum(np.searchsorted(known, values), unknown - 1)
    return np.where(known[at] == values, at, unknown).astype(np.int64)


def _fill_number(values: np.ndarray, name: str, strategy: dict, column: str) -> float:
    if name == "fill_constant":
        return float(_constant(strategy, column, number=True))
    if values.size == 0:
        return 0.0
    if name == "fill_mean":
        return float(values.mean())
    if name == "fill_median":
        return float(np.median(values))
    return float(_mode(values, column))


def _refuse(name: str, kind: str, column: str) -> None:
    allowed = FILLS[kind]
    if name not in allowed:
        raise NNDSLError(
            f"column '{column}' holds {kind} values: missing={name} does not apply to it",
            hint="for it: "
            + ", ".join(a for a in allowed if a != "unknown")
            + ", indicator"
            + (" or drop_row" if name != "drop_row" else " (drop_row applies when reading)"),
        )


def _constant(strategy: dict, column: str, number: bool = False) -> Any:
    value = strategy.get("value")
    if number and not isinstance(value, (int, float)):
        raise NNDSLError(
            f"column '{column}' holds numbers: fill_constant needs a number, got {value!r}"
        )
    return value if number else str(value)


def _mode(values: np.ndarray, column: str) -> Any:
    """The most frequent value (the smallest of the most frequent, for ties)."""
    return _mode_of(Counter(values.tolist()))


def _mode_of(counts: Counter) -> Any:
    """The most frequent of counted values (the smallest of them, for ties); "" for none."""
    if not counts:
        return ""
    best = max(counts.values())
    return min(v for v, c in counts.items() if c == best)


def _date_mode(values: np.ndarray) -> list[float]:
    """The most frequent date (of those, the first in the rows)."""
    if len(values) == 0:
        return [2000.0, 1.0, 1.0, 5.0, 0.0]
    rows = [tuple(r) for r in values.tolist()]
    return list(Counter(rows).most_common(1)[0][0])


def _scaling(values: np.ndarray, scale: str) -> dict[str, float]:
    """x -> (x - shift) / divide: nothing, standardization or min-max."""
    if scale == "standard" and values.size:
        std = float(values.std())
        return {"shift": float(values.mean()), "divide": std if std > 0 else 1.0}
    if scale == "minmax" and values.size:
        low, high = float(values.min()), float(values.max())
        return {"shift": low, "divide": high - low if high > low else 1.0}
    return {"shift": 0.0, "divide": 1.0}


# ---------------------------------------------------------------- a whole table


@dataclass
class Preprocessing:
    """The fitted encodings of a table's feature columns, in feature order."""

    encodings: list[Encoding]

    @property
    def width(self) -> int:
        return sum(e.width for e in self.encodings)

    @property
    def outputs(self) -> list[str]:
        return [name for e in self.encodings for name in e.outputs]

    @property
    def columns(self) -> list[str]:
        return [e.name for e in self.encodings]

    @classmethod
    def fit(
        cls,
        columns: list[Column],
        missing: dict[str, dict[str, Any]],
        scale: str,
    ) -> Preprocessing:
        """Fit every column on (training) rows; `missing`: {column: strategy} ("*": every
        column it applies to; the others keep their type's default: missing=fill_median
        fills the numbers and leaves categories to their unknown slot)."""
        every = missing.get("*") or {}
        return cls(
            [
                fit_encoding(
                    c,
                    missing.get(c.name) or (every if applies(every, c.kind) else {}),
                    scale,
                )
                for c in columns
            ]
        )

    def transform(self, columns: dict[str, Column]) -> tuple[np.ndarray, dict[str, int]]:
        """(inputs (n, width), {column: cells unseen in training}) of typed columns."""
        n = len(next(iter(columns.values())).missing) if columns else 0
        x = np.empty((n, self.width))  # filled column by column: no second copy of it
        at, unseen = 0, {}
        for e in self.encodings:
            out, count = encode(e, columns[e.name])
            x[:, at : at + e.width] = out
            at += e.width
            if count:
                unseen[e.name] = count
        return x, unseen

    def kinds(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """{column: (kind, options)}: how new data's cells are to be read."""
        return {e.name: (e.kind, dict(e.options)) for e in self.encodings}

    def to_dict(self) -> dict[str, Any]:
        return {"encodings": [e.to_dict() for e in self.encodings]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        try:
            return cls([Encoding(**e) for e in data["encodings"]])
        except (KeyError, TypeError) as e:
            raise NNDSLError(f"the saved preprocessing is damaged ({e})") from None

    def describe(self) -> list[tuple[str, str, int, str]]:
        """(column, kind, width, how) per column, for summaries."""
        rows = []
        for e in self.encodings:
            s = e.stats
            how = {
                "number": "as is"
                if s.get("divide", 1) == 1 and s.get("shift", 0) == 0
                else "scaled",
                "binary": f"1 = {s.get('positive')!r}",
                "category": f"one-hot of {len(s.get('categories', []))} + unknown",
                "date": ", ".join(s.get("parts", [])),
            }[e.kind]
            how += f"; missing: {e.missing}"
            rows.append((e.name, e.kind, e.width, how))
        return rows


# ---------------------------------------------------------------- from csv(...)'s arguments


def declared_kinds(columns: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """csv(columns=...): {column: (kind, options)}; one type for all is keyed "*"."""
    if columns is None:
        return {}
    if not isinstance(columns, dict):
        columns = {"*": columns}
    return {name: (spec.name, dict(spec.args)) for name, spec in columns.items()}


def declared_missing(missing: Any) -> dict[str, dict[str, Any]]:
    """csv(missing=...): {column: {"name": strategy, "value": v}}; for all keyed "*"."""
    if missing is None:
        return {}
    if not isinstance(missing, dict):
        missing = {"*": missing}
    return {name: {"name": spec.name, **spec.args} for name, spec in missing.items()}


def dropped_columns(missing: dict[str, dict[str, Any]], features: list[str]) -> list[str]:
    """The features whose rows are left out when they miss a value (drop_row)."""
    every = missing.get("*", {}).get("name") == "drop_row"
    default = {"name": "drop_row"} if every else {}
    return [f for f in features if (missing.get(f) or default).get("name") == "drop_row"]


def mapping_columns_typed(
    table: Any, names: dict[str, str], kinds: dict[str, tuple[str, dict]], source: str
) -> dict[str, Column]:
    """A dict or DataFrame's columns read by their trained kinds: {training name: Column}
    from the table's column `names[training name]`; a cell that cannot be read is an
    error naming its row."""
    out = {}
    for trained, here in names.items():
        kind, options = kinds[trained]
        values = np.asarray(table[here])
        cells = np.array(["" if _is_missing(v) else str(v) for v in values.ravel()], dtype=str)
        try:
            out[trained] = read_column(trained, cells, kind, options)
        except CellError as e:
            raise NNDSLError(
                f"{source}: column '{here}', row {e.problem.row + 1}: {e.problem.message}",
                hint=e.problem.hint,
            ) from None
    return out


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
