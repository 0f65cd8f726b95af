"""CSV data: a header row, then one sample per line.

Read with the stdlib `csv` module. Every defect is an `NNDSLError` located in the CSV
file itself (line, column where the cell starts, the line shown with a caret), and its
message names the file, the line and the column, so it still reads well when the caller
re-locates it at the `data = csv(...)` line of the .nn file.
"""

from __future__ import annotations

import codecs
import csv
import functools
import re
from typing import Any

import numpy as np

from nndsl.data.csvscan import PADDING_ALLOWANCE, scan_plain
from nndsl.data.dataset import Dataset
from nndsl.data.tabular import (
    CellError,
    Column,
    column_key,
    dropped_columns,
    infer_kind,
    missing_mask,
    read_column,
)
from nndsl.data.weight_column import with_weight_column
from nndsl.errors import NNDSLError, did_you_mean
from nndsl.files import decode_utf8, read_regular

_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t"}
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")


def load_csv(
    path: str,
    target: Any,
    *,
    features: Any = None,
    delimiter: str = ",",
    shown: str | None = None,
    inputs_only: bool = False,
    text: str | None = None,
    kinds: dict[str, tuple[str, dict[str, Any]]] | None = None,
    missing: dict[str, dict[str, Any]] | None = None,
    ids: Any = None,
    weight: str | None = None,
) -> Dataset:
    """Load `path` (already resolved). `target`: a column name or a list of names (None
    with `inputs_only`: no targets); `features`: names, or None for every other column.
    Text class labels become int64 indices into the sorted `class_names`; every other
    cell must be a finite number. `text`: a column of free text that is the model's
    input instead of the features (its cells in `Dataset.texts`, tokenized later with a
    vocabulary fitted on the training split; x has no columns).

    Feature columns that are not all numbers (or `kinds`, {column: (kind, options)},
    declared or saved with a trained model, say how to read them) come back as typed
    columns (`Dataset.columns`, see nndsl.data.tabular), for a preprocessing fitted on
    the training split to encode; rows missing a value in a column whose `missing`
    strategy is drop_row are left out, as are rows without a target. `ids`: key
    columns, never features, kept in `Dataset.ids`."""
    delimiter = _DELIMITER_ALIASES.get(delimiter, delimiter)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise NNDSLError(f"csv(): delimiter must be a single character, got {delimiter!r}")
    table = _Table(path, shown or path, delimiter, plain=text is None)
    return table_dataset(
        table,
        target,
        features=features,
        inputs_only=inputs_only,
        text=text,
        kinds=kinds,
        missing=missing,
        ids=ids,
        weight=weight,
    )


def table_dataset(
    table: _Table,
    target: Any,
    *,
    features: Any = None,
    inputs_only: bool = False,
    text: str | None = None,
    kinds: dict[str, tuple[str, dict[str, Any]]] | None = None,
    missing: dict[str, dict[str, Any]] | None = None,
    ids: Any = None,
    weight: str | None = None,
) -> Dataset:
    """A table's rows (a CSV file's, or records of another format read as cells: see
    nndsl.data.records) as a Dataset, as `load_csv` describes. `weight`: a column of
    sample weights, never a feature (`Dataset.weights`; absent from new data to predict
    on, it is not needed)."""
    reader = table.reader
    header = table.header()
    targets = [] if target is None and inputs_only else _names(target, "target", reader)
    chosen = _names(features, "features", reader) if features is not None else None
    keys = _names(ids, "id", reader) if ids is not None else []
    id_keys = list(keys)
    if weight is not None:
        if weight in targets:
            raise NNDSLError(f"{reader}(): column '{weight}' is both the weight and the target")
        if chosen is not None and weight in chosen:
            raise NNDSLError(
                f"{reader}(): column '{weight}' holds the sample weights, so it cannot be a "
                "feature",
                hint="leave it out of features=[...]",
            )
        if text is not None:
            raise NNDSLError(f"{reader}(): weight= is not read with text= (yet)")
        if not (inputs_only and weight not in header):  # new data need bring no weights
            keys = [*keys, *([weight] if weight not in keys else [])]  # read like an id
    for name in keys:
        if name not in header:
            table.unknown_column(name, header)
        if name in targets:
            raise NNDSLError(f"{reader}(): column '{name}' is both an id and the target")
        if chosen is not None and name in chosen:
            raise NNDSLError(
                f"{reader}(): column '{name}' is an id, so it cannot be a feature",
                hint="an id names a row; leave it out of features=[...]",
            )
    if text is not None:
        return _load_text_column(table, header, text, targets, chosen, inputs_only)
    if inputs_only:  # new data to predict on: the target columns may be absent
        if chosen is None:
            chosen = [h for h in header if h not in targets and h not in keys]
        targets = [t for t in targets if t in header]
    for name in targets + (chosen or []):
        if name not in header:
            table.unknown_column(name, header)
    if chosen is None:
        chosen = [h for h in header if h not in targets and h not in keys]
    for name in chosen:
        if name in targets:
            raise NNDSLError(f"{reader}(): column '{name}' is both a feature and the target")
    if not chosen:
        raise table.error(
            table.starts[0],
            1,
            f"{table.shown} has no feature columns besides "
            f"the target {', '.join(repr(t) for t in targets)}",
        )
    table.check_row_lengths(len(header))
    if kinds and "*" in kinds:  # one type for every feature, unless one is named
        kinds = {
            **dict.fromkeys(chosen, kinds["*"]),
            **{k: v for k, v in kinds.items() if k != "*"},
        }
    missing = missing or {}
    for name in [*(kinds or {}), *(k for k in missing if k != "*")]:
        if name not in chosen:
            hint = did_you_mean(name, chosen) or "the features: " + ", ".join(chosen)
            raise NNDSLError(f"{reader}(): column '{name}' is not one of the features", hint=hint)
    dataset = table.build(
        [header.index(c) for c in chosen],
        [header.index(t) for t in targets],
        kinds=kinds,
        drop_missing=dropped_columns(missing, chosen),
        id_cols=[header.index(k) for k in keys],
    )
    if weight is None or weight not in keys:
        return dataset
    return with_weight_column(table, dataset, weight, keep_id=weight in id_keys)


def _load_text_column(
    table: _Table,
    header: list[str],
    text: Any,
    targets: list[str],
    chosen: list[str] | None,
    inputs_only: bool,
) -> Dataset:
    reader = table.reader
    if not isinstance(text, str) or not text:
        raise NNDSLError(
            f"{reader}(): text must be the name of one column, got {text!r}",
            hint='e.g. text="review"',
        )
    if chosen is not None and chosen != [text]:
        raise NNDSLError(
            f"{reader}(): text= names the model's input; it cannot be combined with features=",
            hint="leave features out: the text column is the only input",
        )
    if inputs_only:  # new data to predict on: the target columns may be absent
        targets = [t for t in targets if t in header]
    for name in [*targets, text]:
        if name not in header:
            table.unknown_column(name, header)
    if text in targets:
        raise NNDSLError(f"{reader}(): column '{text}' is both the text and the target")
    table.check_row_lengths(len(header))
    return table.build([], [header.index(t) for t in targets], header.index(text))


def read_columns(
    path: str, names: list[str], *, delimiter: str = ",", shown: str | None = None
) -> dict[str, list[str]]:
    """The cells of columns `names` as written (stripped), one per data row: key columns
    to write beside predictions."""
    table = _Table(path, shown or path, _DELIMITER_ALIASES.get(delimiter, delimiter))
    header = table.header()
    for name in names:
        if name not in header:
            table.unknown_column(name, header)
    table.check_row_lengths(len(header))
    return {n: table.column(header.index(n)).tolist() for n in names}


def cell_error(
    path: str,
    row: int,
    column: str,
    message: str,
    hint: str | None = None,
    *,
    delimiter: str = ",",
    shown: str | None = None,
) -> NNDSLError:
    """An error about the value of `column` in data row `row` (0-based, in the order
    `load_csv` returns them), located at that cell of the file: for checks made after
    loading (a class label out of range for the model's output)."""
    shown = shown or path
    table = _Table(path, shown, _DELIMITER_ALIASES.get(delimiter, delimiter))
    header = table.header()
    r = row + 1  # the header is row 0
    where = f"in {shown}, line {table.starts[r]}, column '{column}'"
    return table._cell_error(r, header.index(column), f"{where}: {message}", hint)


def _names(value: Any, what: str, reader: str = "csv") -> list[str]:
    if isinstance(value, dict):  # target=(label="species", value="price"): output order
        value = list(value.values())
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, (list, tuple))
        or not names
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise NNDSLError(
            f"{reader}(): {what} must be a column name or a list of column names, got {value!r}",
            hint='e.g. target="passed"'
            if what == "target"
            else 'e.g. features=["lectures", "hours"]',
        )
    for i, name in enumerate(names):
        if name in names[:i]:
            raise NNDSLError(f"{reader}(): column '{name}' is named twice in {what}")
    return list(names)


class _Table:
    """A table's header and data cells, column by column, with the line where each
    record starts and ends (errors are located in the file).

    A plain file (nndsl.data.csvscan: no quotes, one record per line) is cut into columns
    by NumPy; any other is read by the `csv` module into rows. Either way `column(j)`
    gives column j's data cells stripped, as an array of str; the file's lines are made
    only when an error shows one. Row index r counts the header as row 0 (data row i is
    r = i + 1), as `starts` and `ends` do."""

    reader = "csv"  # the data source, as its messages name it
    unit = "line"  # what `starts` counts

    def __init__(self, path: str, shown: str, delimiter: str, plain: bool = True) -> None:
        """`plain=False`: always the csv module's reading (cells kept as written)."""
        self.path, self.shown, self.delimiter = path, shown, delimiter
        data = _read_bytes(path, shown)
        self.text = decode_utf8(data, path, shown, hint="save it as a UTF-8 CSV file")
        if data.startswith(codecs.BOM_UTF8):  # (decoding dropped it from the text)
            data = data[len(codecs.BOM_UTF8) :]
        self._rows: list[list[str]] | None = None  # the csv module's data rows
        self._columns: list[np.ndarray] | None = None  # or the plain file's columns
        scanned = scan_plain(data, delimiter) if plain else None
        if scanned is not None:
            self.names, self._columns = scanned
            self.starts = self.ends = np.arange(1, len(self._columns[0]) + 2)
            return
        rows: list[list[str]] = []  # header first; cells as written (not stripped)
        starts: list[int] = []
        ends: list[int] = []
        reader = csv.reader(iter(self.lines), delimiter=delimiter)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise self.error(
                    reader.line_num, 1, f"in {shown}, line {reader.line_num}: malformed CSV ({e})"
                ) from None
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            rows.append(row)
            starts.append(start)
            ends.append(reader.line_num)
        if not rows:
            raise self.error(
                1,
                1,
                f"data file {shown} is empty",
                "a CSV file needs a header row of column names, then one row per sample",
            )
        if len(rows) == 1:
            raise self.error(starts[0], 1, f"{shown} has a header but no data rows")
        self.names, self._rows = rows[0], rows[1:]
        self.starts, self.ends = np.array(starts), np.array(ends)

    @functools.cached_property
    def lines(self) -> list[str]:
        # CSV's line ends only (str.splitlines would also break at \f, \x1c, U+2028...)
        return _LINE.findall(self.text)

    @functools.cached_property
    def shown_text(self) -> str:
        return "".join(line.rstrip("\r\n") + "\n" for line in self.lines)

    @property
    def n_rows(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._columns[0])

    def column(self, j: int) -> np.ndarray:
        """Column j's data cells, stripped (str)."""
        if self._columns is not None:
            return self._columns[j]
        cells = [row[j] for row in self._rows]
        longest = max(map(len, cells), default=0)
        if len(cells) * longest > PADDING_ALLOWANCE * sum(map(len, cells)) + (1 << 20):
            # a fixed-width array of them would pad every cell to the longest one
            r = 1 + max(range(len(cells)), key=lambda i: len(cells[i]))
            raise self._cell_error(
                r,
                j,
                f"in {self.shown}, {self.unit} {self.starts[r]}, column '{self.names[j]}': "
                f"a cell of {longest:,} characters, too long for a number, category, date "
                "or key",
                f'a column of free text is read with csv(text="{self.names[j]}"); or leave '
                "it out with features=[...]",
            )
        return np.char.strip(np.array(cells, dtype=str))

    def raw_cells(self, j: int) -> list[str]:
        """Column j's data cells as written (free text: its spaces are its own)."""
        if self._rows is not None:
            return [row[j] for row in self._rows]
        return self._columns[j].tolist()

    def cell(self, r: int, j: int) -> str:
        """The stripped cell of column j in row r (the header is row 0)."""
        if r == 0:
            return self.names[j].strip()
        if self._rows is not None:
            return self._rows[r - 1][j].strip()
        return str(self._columns[j][r - 1])

    def keep_rows(self, kept: np.ndarray) -> None:
        """Keep only the data rows `kept` (indices, in order)."""
        if self._rows is not None:
            self._rows = [self._rows[i] for i in kept]
        else:
            self._columns = [c[kept] for c in self._columns]
        self.starts = self.starts[np.concatenate([[0], kept + 1])]
        self.ends = self.ends[np.concatenate([[0], kept + 1])]

    def error(
        self,
        line: int,
        column: int | None,
        message: str,
        hint: str | None = None,
        end_column: int | None = None,
    ) -> NNDSLError:
        return NNDSLError(
            message,
            path=self.path,
            source=self.shown_text,
            line=int(line),
            column=column,
            end_column=end_column,
            hint=hint,
        )

    def header(self) -> list[str]:
        header = self.names = [name.strip() for name in self.names]
        for j, name in enumerate(header):
            if not name:
                raise self._cell_error(
                    0,
                    j,
                    f"in {self.shown}, line {self.starts[0]}: "
                    f"header cell {j + 1} is empty; every column needs a name",
                )
            if name in header[:j]:
                raise self._cell_error(
                    0,
                    j,
                    f"in {self.shown}, line {self.starts[0]}: "
                    f"column '{name}' appears twice in the header",
                    "rename one of them",
                )
        return header

    def unknown_column(self, name: str, header: list[str]) -> None:
        hint = did_you_mean(name, header) or "its columns are: " + ", ".join(header)
        if len(header) == 1:
            for other in (";", "\t", "|", ","):
                if other != self.delimiter and other in header[0]:
                    hint = (
                        f"the header reads as one column; is the file separated by "
                        f"{other!r}? write delimiter={_quoted(other)}"
                    )
        line = int(self.starts[0])
        end = len(self.lines[line - 1].rstrip("\r\n")) + 1
        raise self.error(
            line,
            1,
            f"{self.shown} has no column '{name}' (line {line}, the header)",
            hint,
            end_column=end,
        )

    def check_row_lengths(self, width: int) -> None:
        if self._rows is None:  # a plain file's lines all hold the header's cells
            return
        for r, row in enumerate(self._rows, start=1):
            if len(row) == width:
                continue
            line, header = self.starts[r], self.names
            what = f"in {self.shown}, line {line}: {len(row)} cells but the header has {width}"
            if len(row) < width:
                raise self._cell_error(
                    r, len(row), f"{what}; column '{header[len(row)]}' is missing", after=True
                )
            raise self._cell_error(r, width, f"{what}; an extra cell after column '{header[-1]}'")

    def build(
        self,
        feature_cols: list[int],
        target_cols: list[int],
        text_col: int | None = None,
        kinds: dict[str, tuple[str, dict[str, Any]]] | None = None,
        drop_missing: list[str] = (),
        id_cols: list[int] = (),
    ) -> Dataset:
        notes, file_rows = self._drop_rows_missing(
            target_cols, [self.names.index(n) for n in drop_missing]
        )
        header, n = self.names, self.n_rows
        used = sorted(set(feature_cols + target_cols))
        columns = None
        numbers = None if text_col is not None else self._numbers(feature_cols)
        if text_col is None and (kinds or numbers is None):
            columns = self._typed_columns(feature_cols, kinds or {})
            used = sorted(set(target_cols))
        parsed = {j: (numbers or {}).get(j) or _parse(self.column(j)) for j in used}
        labels, text = None, None
        if len(target_cols) == 1 and not parsed[target_cols[0]][1].all():
            j, ok = target_cols[0], parsed[target_cols[0]][1]
            text = self.column(j)
            if int((~ok & (text != "")).sum()) > int(ok.sum()):
                labels = j  # mostly text: class names
        bad = np.zeros((n, len(used)), dtype=bool)
        for k, j in enumerate(used):
            values, ok = parsed[j]
            bad[:, k] = (text == "") if j == labels else ~ok | ~np.isfinite(values)
        if bad.any():
            r, k = divmod(int(np.argmax(bad)), len(used))
            j = used[k]
            raise self._value_error(r + 1, j, j in target_cols, len(target_cols), parsed[j][1])
        if text_col is None and columns is None:
            x = np.stack([parsed[j][0] for j in feature_cols], axis=1)
        else:
            x = np.zeros((n, 0))
        class_names = None
        if labels is not None:
            names, y = np.unique(text, return_inverse=True)
            y, class_names = y.astype(np.int64), [str(n) for n in names]
        elif not target_cols:
            y = np.empty((n, 0))
        elif len(target_cols) == 1:
            y = parsed[target_cols[0]][0].copy()
        else:
            y = np.stack([parsed[j][0] for j in target_cols], axis=1)
        targets = [header[j] for j in target_cols]
        if text_col is not None:
            return Dataset(
                x=x,
                y=y,
                feature_names=[header[text_col]],
                target_names=targets,
                class_names=class_names,
                source=f"csv {self.shown}: {n} texts in column "
                f"'{header[text_col]}', target {', '.join(targets) or '(none)'}",
                texts=self.raw_cells(text_col),
            )
        return Dataset(
            x=x,
            y=y,
            feature_names=[header[j] for j in feature_cols],
            target_names=targets,
            class_names=class_names,
            source=f"csv {self.shown}: {n} samples, {len(feature_cols)} "
            f"features, target {', '.join(targets)}",
            columns=columns,
            notes=notes,
            file_rows=file_rows,
            ids={header[j]: self.column(j) for j in id_cols} or None,
        )

    def _numbers(self, cols: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
        """Every cell of these columns as a float, when every one is a finite number (the
        fast path, no typed columns: one conversion per column, which stops at the first
        cell that is not); else None."""
        out = {}
        for j in cols:
            try:
                values = self.column(j).astype(np.float64)
            except ValueError:
                return None
            if not np.isfinite(values).all():
                return None
            out[j] = (values, np.ones(len(values), dtype=bool))
        return out

    def _drop_rows_missing(
        self, targets: list[int], drop: list[int]
    ) -> tuple[list[str], np.ndarray | None]:
        """Leave out the rows without a target, or without a value in a column whose
        missing values say drop_row: (what was left out, to tell; the data rows kept, or
        None for all)."""
        notes = []
        keep = np.ones(self.n_rows, dtype=bool)
        for j in [*targets, *drop]:
            gone = missing_mask(self.column(j), stripped=True) & keep
            if gone.any():
                lines = [int(self.starts[r + 1]) for r in np.flatnonzero(gone)[:5]]
                shown = ", ".join(map(str, lines)) + (", ..." if gone.sum() > 5 else "")
                why = "no target" if j in targets else "missing=drop_row"
                notes.append(
                    f"{self.shown}: {int(gone.sum())} row(s) without a value in column "
                    f"'{self.names[j]}' left out ({why}; {self.unit} {shown})"
                )
            keep &= ~gone
        if not keep.any():
            raise self.error(
                self.starts[0],
                1,
                f"{self.shown}: no row is left: " + "; ".join(notes),
                "fill the missing values in, or choose another strategy, e.g. missing=fill_mean",
            )
        if keep.all():
            return notes, None
        self.keep_rows(np.flatnonzero(keep))
        return notes, np.flatnonzero(keep)

    def _typed_columns(
        self, feature_cols: list[int], kinds: dict[str, tuple[str, dict]]
    ) -> dict[str, Column]:
        """The feature columns read by their kinds (declared, else inferred); a cell that
        cannot be read is a located error."""
        columns: dict[str, Column] = {}
        for j in feature_cols:
            name = self.names[j]
            cells = self.column(j)
            kind, options = kinds.get(name) or (infer_kind(cells, stripped=True), {})
            if kind == "empty":
                raise self._cell_error(
                    0,
                    j,
                    f"in {self.shown}: column '{name}' has no values (every cell is empty)",
                    "leave it out with features=[...]",
                )
            if kind == "text":
                distinct = len(np.unique(cells))
                raise self._cell_error(
                    0,
                    j,
                    f"in {self.shown}: column '{name}' holds free text ({distinct} "
                    f"different values in {len(cells)} rows), not a number, category or date",
                    f'a model of texts reads it with csv(text="{name}"); declare it '
                    f"columns=({column_key(name)}=category) if its values are categories, or leave "
                    "it out with features=[...]",
                )
            try:
                columns[name] = read_column(name, cells, kind, options, stripped=True)
            except CellError as e:
                r = e.problem.row + 1
                where = f"in {self.shown}, {self.unit} {self.starts[r]}, column '{name}'"
                raise self._cell_error(
                    r, j, f"{where}: {e.problem.message}", e.problem.hint
                ) from None
        return columns

    def _value_error(
        self, r: int, j: int, is_target: bool, n_targets: int, ok: np.ndarray
    ) -> NNDSLError:
        name, cell = self.names[j], self.cell(r, j)
        where = f"in {self.shown}, {self.unit} {self.starts[r]}, column '{name}'"
        if cell == "":
            return self._cell_error(
                r,
                j,
                f"{where}: the cell is empty",
                "every sample needs a value in each feature and target",
            )
        try:
            value = float(cell)
        except ValueError:
            value = None
        if value is not None:
            what = "NaN" if value != value else "infinite"
            return self._cell_error(
                r,
                j,
                f"{where}: the value is {what} ({cell!r})",
                "fill in the missing value or remove the row",
            )
        if not is_target:
            hint = None
            if ok.mean() < 0.5:
                hint = (
                    f"column '{name}' holds text; leave it out with features=[...] "
                    f"or make it the target"
                )
            return self._cell_error(r, j, f"{where}: {cell!r} is not a number", hint)
        if n_targets > 1:
            return self._cell_error(
                r,
                j,
                f"{where}: {cell!r} is not a number (with several "
                "target columns, every target must be a number)",
            )
        return self._cell_error(
            r,
            j,
            f"{where}: {cell!r} is not a number, though other "
            f"values of target '{name}' are numbers",
            "class labels must be all names or all numbers",
        )

    def _cell_error(
        self, r: int, j: int, message: str, hint: str | None = None, after: bool = False
    ) -> NNDSLError:
        """An error pointing at cell j of row r (after=True: just past the row's last cell)."""
        first, last = int(self.starts[r]), int(self.ends[r])
        record = "".join(self.lines[first - 1 : last])
        spans = _cell_spans(record, self.delimiter)
        start, end = (spans[-1][1], spans[-1][1] + 1) if after else spans[min(j, len(spans) - 1)]
        line, column = first, start + 1
        for text in self.lines[first - 1 : last - 1]:  # a quoted cell may span several lines
            if column <= len(text):
                break
            column -= len(text)
            line += 1
        return self.error(line, column, message, hint, end_column=column + max(1, end - start))


def _read_bytes(path: str, shown: str) -> bytes:
    return read_regular(
        path, "data file", shown, hint="paths are relative to the folder of the .nn file"
    )


def _parse(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One column's cells (str) as float64 (NaN where unreadable) and a mask of the
    readable ones. Each distinct cell is read once (class labels: a few words)."""
    try:
        return cells.astype(np.float64), np.ones(len(cells), dtype=bool)
    except ValueError:
        pass
    distinct, index = np.unique(cells, return_inverse=True)
    values = np.full(len(distinct), np.nan)
    ok = np.zeros(len(distinct), dtype=bool)
    for i, cell in enumerate(distinct.tolist()):
        try:
            values[i] = float(cell)
            ok[i] = True
        except ValueError:
            pass
    return values[index.ravel()], ok[index.ravel()]


def _cell_spans(record: str, delimiter: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each cell in one CSV record, quotes respected."""
    spans, start, i, quoted, fresh = [], 0, 0, False, True
    while i < len(record):
        ch = record[i]
        if quoted:
            if ch == '"':
                if record[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                quoted = False
        elif ch == '"' and fresh:
            quoted = True
        elif ch == delimiter:
            spans.append((start, i))
            start, fresh, i = i + 1, True, i + 1
            continue
        elif ch in "\r\n":
            break
        fresh = False
        i += 1
    spans.append((start, i))
    return spans


def _quoted(delimiter: str) -> str:
    return '"\\t"' if delimiter == "\t" else f'"{delimiter}"'
