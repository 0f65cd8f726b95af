"""Time series as data: windows over an ordered table.

    series("traffic.csv", target="bitrate", length=48, horizon=1, group_by="session",
           order_by="time", season=24, standardize=true)

The CSV is read by nndsl.data.csvfile (every feature column a number; a cell that is
not, or is empty, is an error at that cell). Rows are grouped by `group_by` (one series
per value, in order of first appearance; without it the whole file is one series) and,
within a group, sorted by `order_by` (numbers, or dates read as nndsl.data.tabular reads
them; two rows of a group at the same time are an error; without it, the file's order).

A window is `length` consecutive rows of a group, shape (length, features), and its
target the `target` value `horizon` rows after the window's last row: the one value at
t + horizon (not the horizon values up to it). Windows start every `stride` rows and
never cross groups.

Splits respect time: in every group the first rows are training rows, the next
round(n * validation) validation rows, the last round(n * test) test rows; a window and
its target lie inside one part, so the windows that would straddle a boundary are
dropped. standardize=true scales each feature by the mean and deviation of the training
rows alone; targets stay in the file's units.

Baselines, on the test windows (else validation): `last_value` predicts the target's
value at the window's last row; `seasonal_naive` (with a declared `season`, in rows) the
value one season before the target's row (k seasons, the fewest that reach into the
window, when horizon > season).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.data.csvfile import cell_error, load_csv
from nndsl.data.dataset import Dataset
from nndsl.data.scaling import Standardizer
from nndsl.data.tabular import CellError, read_column
from nndsl.errors import NNDSLError
from nndsl.files import show_path

PARTS = ("train", "validation", "test")


@dataclass
class Series:
    """An ordered table: rows grouped, each group in time order.

    values: float64 (rows, features); target: float64 (rows,), NaN where the file has no
    target column (new rows to predict on); groups: (name, first row, end row) of each
    group's rows in `values`; rows: each row's data row in the file (0-based);
    times: each row's order_by cell as written (its row number without order_by)."""

    values: np.ndarray
    target: np.ndarray
    groups: list[tuple[str, int, int]]
    rows: np.ndarray
    times: list[str]
    feature_names: list[str]


@dataclass
class SeriesSplits:
    train: Dataset
    validation: Dataset | None
    test: Dataset | None
    scaler: dict[str, Any] | None
    baselines: dict[str, dict[str, dict[str, float]]] | None  # split -> forecast -> metrics


def read_series(args: dict[str, Any], path: str, shown: str, need_target: bool = True) -> Series:
    """The table of `path` as `series(...)`'s arguments `args` read it (see the module)."""
    target, group_by, order_by = args["target"], args["group_by"], args["order_by"]
    keys = [k for k in (group_by, order_by) if k is not None]
    if group_by is not None and group_by == order_by:
        raise NNDSLError("series(): group_by and order_by name the same column")
    features = _feature_names(args["features"], target, keys, path, shown, args["delimiter"])
    wanted = features + ([target] if target not in features and need_target else [])
    ds = load_csv(
        path,
        None,
        features=wanted,
        delimiter=args["delimiter"],
        shown=shown,
        inputs_only=True,
        kinds={"*": ("number", {})},  # every cell a number: a word is an error at its cell
        ids=keys or None,
    )

    def error(row: int, column: str, message: str, hint: str | None = None) -> NNDSLError:
        return cell_error(
            path, row, column, message, hint, delimiter=args["delimiter"], shown=shown
        )

    for name in wanted:  # a series has no gaps to fill: an empty cell is an error
        missing = ds.columns[name].missing
        if missing.any():
            raise error(
                int(np.argmax(missing)),
                name,
                "the cell is empty",
                "a series needs a value in every row; fill it in or remove the row",
            )
    n = len(ds)
    groups = ds.ids[group_by] if group_by is not None else np.full(n, "")
    times = ds.ids[order_by] if order_by is not None else np.arange(1, n + 1).astype(str)
    key = _order_keys(times, order_by, error) if order_by is not None else np.arange(n)
    order, spans = [], []
    names, first = np.unique(groups, return_index=True)
    for g in names[np.argsort(first)]:  # groups in order of first appearance
        rows = _in_time_order(np.flatnonzero(groups == g), key)
        same = np.flatnonzero((key[rows][1:] == key[rows][:-1]).reshape(len(rows) - 1, -1).all(1))
        if same.size:
            earlier, row = int(rows[same[0]]), int(rows[same[0] + 1])
            line = error(earlier, order_by, "").line
            of = f" of group {str(g)!r}" if group_by is not None else ""
            raise error(
                row,
                order_by,
                f"{str(times[row])!r} is also the time of line {line}{of}",
                "each row of a series needs its own time",
            )
        spans.append((str(g), len(order), len(order) + len(rows)))
        order.extend(rows.tolist())
    index = np.asarray(order, dtype=np.int64)
    values = np.stack([ds.columns[f].values[index] for f in features], axis=1)
    y = ds.columns[target].values[index] if target in ds.columns else np.full(n, np.nan)
    return Series(values, y, spans, index, [str(times[i]) for i in index], features)


def _in_time_order(rows: np.ndarray, key: np.ndarray) -> np.ndarray:
    """`rows` sorted by their keys (numbers (rows,) or dates (rows, 4)), ties in file order."""
    k = key[rows]
    if k.ndim == 1:
        return rows[np.argsort(k, kind="stable")]
    return rows[np.lexsort((np.arange(len(rows)), *k.T[::-1]))]


def _feature_names(
    features: Any, target: Any, keys: list[str], path: str, shown: str, delimiter: str
) -> list[str]:
    """The feature columns: as declared, else every column but group_by and order_by
    (the target's own past included)."""
    from nndsl.data.columns import read_csv_header

    if not isinstance(target, str) or not target:
        raise NNDSLError(
            f"series(): target must be the name of one column, got {target!r}",
            hint='e.g. target="bitrate"',
        )
    if features is None:
        return [h for h in read_csv_header(path, shown, delimiter) if h not in keys]
    names = [features] if isinstance(features, str) else features
    if not isinstance(names, list) or not names or not all(isinstance(f, str) for f in names):
        raise NNDSLError(
            f"series(): features must be a list of column names, got {features!r}",
            hint='e.g. features=["bitrate", "viewers"]',
        )
    for name in names:
        if name in keys:
            raise NNDSLError(
                f"series(): column '{name}' is the group_by or order_by column, not a feature"
            )
    return list(names)


def _order_keys(times: np.ndarray, column: str, error: Any) -> np.ndarray:
    """Sort keys of the order_by cells: (rows,) numbers, or (rows, 4) dates as (year,
    month, day, hour) read by nndsl.data.tabular's date reading."""
    try:
        return times.astype(np.float64)
    except ValueError:
        pass
    try:
        return read_column(column, times, "date", {}).values[:, [0, 1, 2, 4]]  # no weekday
    except CellError:
        pass
    # the first cell unlike the first: a word among numbers, or among dates
    number = _is_number(times[0])
    row = next(
        i
        for i, cell in enumerate(times)
        if (not _is_number(cell) if number else _is_number(cell) or not _is_date(column, cell))
    )
    raise error(
        row,
        column,
        f"{str(times[row])!r} is not a {'number' if number else 'date'}, as the "
        f"column's first time {str(times[0])!r} is",
        "order_by names a column of times: numbers, or dates (2024-03-31 14:05)",
    )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_date(column: str, cell: str) -> bool:
    try:
        read_column(column, np.array([cell]), "date", {})
    except CellError:
        return False
    return True


def window_starts(first: int, end: int, length: int, horizon: int, stride: int) -> np.ndarray:
    """The first rows of the windows inside rows [first, end) whose target row (horizon
    after the window's last) is inside too."""
    return np.arange(first, end - length - horizon + 1, stride, dtype=np.int64)


def window_arrays(
    s: Series, starts: np.ndarray, length: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, length, features), targets (n,)) of the windows starting at `starts`."""
    rows = starts[:, None] + np.arange(length)
    return s.values[rows], s.target[starts + length - 1 + horizon]


def season_lag(season: int, horizon: int) -> int:
    """How many rows before the target the seasonal-naive forecast reads: the fewest
    whole seasons that reach back to the window (at least `horizon`)."""
    return season * -(-horizon // season)


def baselines(
    s: Series, starts: np.ndarray, length: int, horizon: int, season: int | None
) -> dict[str, dict[str, float]]:
    """{"last_value": {"mse", "mae"}, "seasonal_naive": {...}} of the naive forecasts
    for the windows starting at `starts` (see the module)."""
    target_rows = starts + length - 1 + horizon
    truth = s.target[target_rows]
    guesses = {"last_value": s.target[starts + length - 1]}
    if season is not None:
        guesses["seasonal_naive"] = s.target[target_rows - season_lag(season, horizon)]
    return {
        name: {"mse": float(np.mean((g - truth) ** 2)), "mae": float(np.mean(np.abs(g - truth)))}
        for name, g in guesses.items()
    }


def series_splits(
    args: dict[str, Any], path: str, shown: str, validation: float = 0.0, test: float = 0.0
) -> SeriesSplits:
    """The windows of `path`, split by time in every group (see the module)."""
    shown = show_path(shown)
    length, horizon, stride, season = (
        args["length"],
        args["horizon"],
        args["stride"],
        args["season"],
    )
    if season is not None and season_lag(season, horizon) > length + horizon - 1:
        raise NNDSLError(
            f"series(): season={season} reaches before the window: the seasonal-naive "
            f"forecast reads the value {season_lag(season, horizon)} rows before the target, "
            f"and a window of length={length} holds the {length + horizon - 1} before it",
            hint=f"use length >= {season_lag(season, horizon) - horizon + 1}",
        )
    for name, frac in (("validation", validation), ("test", test)):
        if not 0 <= frac < 1:
            raise NNDSLError(f"{name} must be a fraction in [0, 1), got {frac}")
    s = read_series(args, path, shown)
    need = length + horizon
    starts: dict[str, list[np.ndarray]] = {p: [] for p in PARTS}
    train_rows = []
    for name, first, end in s.groups:
        n = end - first
        if n < need:
            what = f"series {name!r} (column {args['group_by']})" if args["group_by"] else shown
            raise cell_error(
                path,
                int(s.rows[first]),
                args["group_by"] or s.feature_names[0],
                f"{what} has {n} rows, fewer than length + horizon = {need} (one window "
                "and its target)",
                "use a smaller length, or leave the short series out of the file",
                delimiter=args["delimiter"],
                shown=shown,
            )
        n_val, n_test = round(n * validation), round(n * test)
        cut = [first, end - n_val - n_test, end - n_test, end]
        train_rows.append(np.arange(cut[0], cut[1]))
        for k, part in enumerate(PARTS):
            starts[part].append(window_starts(cut[k], cut[k + 1], length, horizon, stride))
    scaler = None
    if args["standardize"]:  # the training rows' statistics only, one per feature
        fitted = Standardizer().fit(s.values[np.concatenate(train_rows)])
        scaler = Standardizer(
            np.tile(fitted.mean, (length, 1)), np.tile(fitted.std, (length, 1))
        ).to_dict()  # per window position, so a window (length, features) scales as is
    out: dict[str, Dataset | None] = {}
    for part, frac in zip(PARTS, (1.0, validation, test)):
        if frac == 0:
            out[part] = None
            continue
        at = np.concatenate(starts[part])
        if len(at) == 0:
            raise NNDSLError(
                f"the {part} part of every series in {shown} is shorter than length + "
                f"horizon = {need} rows: no {part} window",
                hint="use a smaller length"
                + (
                    f", a larger {part} fraction, or {part}=0"
                    if part != "train"
                    else ", or more rows"
                ),
            )
        x, y = window_arrays(s, at, length, horizon)
        if scaler is not None:
            x = Standardizer.from_dict(scaler).transform(x)
        out[part] = Dataset(
            x=x,
            y=y,
            feature_names=list(s.feature_names),
            target_names=[args["target"]],
            source=f"series {shown}: {len(s.groups)} series, {len(x)} {part} windows of "
            f"{length} rows x {len(s.feature_names)} features",
        )
    held = "test" if test > 0 else "validation" if validation > 0 else None
    base = None
    if held is not None:
        base = {held: baselines(s, np.concatenate(starts[held]), length, horizon, season)}
    return SeriesSplits(out["train"], out["validation"], out["test"], scaler, base)


def series_inputs(
    args: dict[str, Any], path: str, shown: str, features: list[str] | None, need_targets: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """New rows as raw windows (n, length, features): with `need_targets`, the windows
    that have a target `horizon` rows later; else every window that ends `stride` rows
    before the next, the last at the last row (its forecast is past the file's end)."""
    s, starts = _new_windows(args, path, shown, features, need_targets)
    x, _ = window_arrays(s, starts, args["length"], 0)
    if not need_targets:
        return x, None
    return x, s.target[starts + args["length"] - 1 + args["horizon"]]


def series_row_ids(
    args: dict[str, Any], path: str, shown: str, features: list[str] | None
) -> dict[str, list[str]]:
    """Beside each prediction of `series_inputs`: its group and the order_by value of
    its window's last row (the time the forecast is made at)."""
    s, starts = _new_windows(args, path, shown, features, False)
    last = starts + args["length"] - 1
    ids = {}
    if args["group_by"] is not None:
        group = np.empty(len(s.rows), dtype=object)
        for name, first, end in s.groups:
            group[first:end] = name
        ids[args["group_by"]] = [str(group[i]) for i in last]
    ids[f"last_{args['order_by'] or 'row'}"] = [s.times[i] for i in last]
    return ids


def _new_windows(
    args: dict[str, Any], path: str, shown: str, features: list[str] | None, need_targets: bool
) -> tuple[Series, np.ndarray]:
    args = {**args, "features": features or args["features"]}
    s = read_series(args, path, show_path(shown), need_target=need_targets)
    length, stride = args["length"], args["stride"]
    horizon = args["horizon"] if need_targets else 0
    at = []
    for name, first, end in s.groups:
        if end - first < length + horizon:
            raise NNDSLError(
                f"{shown}: series {name!r} has {end - first} rows; the model reads windows of "
                f"length={length}" + (f" and their target {horizon} rows later" if horizon else ""),
                hint="give at least that many rows of each series",
            )
        if need_targets:
            at.append(window_starts(first, end, length, horizon, stride))
        else:  # counted back from the last row, so the newest forecast is there
            at.append(np.arange(end - length, first - 1, -stride)[::-1])
    return s, np.concatenate(at)
