"""Tables that are not CSV text (Parquet files, JSON Lines) read as a CSV file's cells.

Each value becomes the cell a CSV file would hold for it (numbers as Python writes them,
so they read back as the same float; missing values as empty cells; timestamps in ISO
8601), and the rows then go through the very code that reads a CSV file's
(`nndsl.data.csvfile.table_dataset`): the same inferred kinds, the same typed columns,
the same errors, located at the record's line (JSON Lines) or row (Parquet).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nndsl.data.csvfile import _Table, table_dataset
from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError, did_you_mean
from nndsl.files import decode_utf8, read_regular


class RecordTable(_Table):
    """Rows of cells read from records: `starts[r]` is the line (JSON Lines) or row
    (Parquet, 1-based) of data row r; `source`: the file's text when it has lines."""

    def __init__(
        self,
        path: str,
        shown: str,
        reader: str,
        header: list[str],
        rows: list[list[str]],
        starts: list[int],
        unit: str,
        source: str | None = None,
    ) -> None:
        self.path, self.shown, self.delimiter = path, shown, ","
        self.reader, self.unit = reader, unit
        self.lines = source.split("\n") if source is not None else []
        self.shown_text = source
        self.names, self._rows, self._columns = header, rows, None
        self.starts = np.array([0, *starts], dtype=np.int64)
        self.ends = self.starts
        if not rows:
            raise self.error(None, None, f"{shown} holds no rows")

    def error(
        self,
        line: int | None,
        column: int | None,
        message: str,
        hint: str | None = None,
        end_column: int | None = None,
    ) -> NNDSLError:
        if self.shown_text is None or not line:  # no text to point into: the file alone
            return NNDSLError(message, path=self.path, hint=hint)
        return super().error(line, column, message, hint, end_column)

    def _cell_error(
        self, r: int, j: int, message: str, hint: str | None = None, after: bool = False
    ) -> NNDSLError:
        """At the record's line, at its key when the line shows it."""
        line = int(self.starts[r])
        if not self.lines or not line:
            return self.error(None, None, message, hint)
        key = json.dumps(self.names[min(j, len(self.names) - 1)])
        at = self.lines[line - 1].find(key)
        column = at + 1 if at >= 0 else 1
        return self.error(line, column, message, hint, column + (len(key) if at >= 0 else 1))

    def unknown_column(self, name: str, header: list[str]) -> None:
        hint = did_you_mean(name, header) or "its columns are: " + ", ".join(header)
        raise self.error(None, None, f"{self.shown} has no column '{name}'", hint)


def cell(value: Any) -> str:
    """A value as the CSV cell that reads as it: '' for missing, ISO 8601 for times."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(type(value).__name__)


def records_dataset(
    table: RecordTable, args: dict[str, Any], inputs_only: bool, kinds: dict, missing: dict
) -> Dataset:
    return table_dataset(
        table,
        args["target"],
        features=args.get("features"),
        inputs_only=inputs_only,
        text=args.get("text"),
        kinds=kinds,
        missing=missing,
        ids=args.get("id"),
        weight=args.get("weight"),
    )


def columns_to_rows(
    columns: dict[str, Sequence[Any]], shown: str, unit: str, starts: Iterable[int]
) -> list[list[str]]:
    """Columns of values as rows of cells; a value that is no single value (a list, an
    object) is an error naming its column and row."""
    names = list(columns)
    starts = list(starts)
    cells: list[list[str]] = []
    for name in names:
        out = []
        for i, value in enumerate(columns[name]):
            try:
                out.append(cell(value))
            except TypeError as e:
                raise NNDSLError(
                    f"in {shown}, {unit} {starts[i]}, column '{name}': a {e} is not one value",
                    hint="each column holds numbers, words, true/false or dates; leave the "
                    "column out with features=[...]",
                ) from None
        cells.append(out)
    return [list(row) for row in zip(*cells)] if cells else []


# ---------------------------------------------------------------- JSON Lines


def read_jsonl(path: str, shown: str) -> RecordTable:
    """One JSON object per line (blank lines skipped); its keys are the columns (the
    union over all lines, in the order first met; a key a line lacks is a missing cell)."""
    data = read_regular(
        path, "data file", shown, hint="paths are relative to the folder of the .nn file"
    )
    text = decode_utf8(data, path, shown, hint="save it as UTF-8 JSON Lines")
    lines = text.split("\n")
    source = "\n".join(line.rstrip("\r") for line in lines)
    records: list[dict[str, Any]] = []
    starts: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise NNDSLError(
                f"in {shown}, line {number}: not JSON ({e.msg})",
                path=path,
                source=source,
                line=number,
                column=e.colno,
                hint='JSON Lines: one object per line, e.g. {"age": 31, "city": "Oslo"}',
            ) from None
        except RecursionError:
            raise NNDSLError(f"in {shown}, line {number}: JSON nested too deeply") from None
        if not isinstance(record, dict):
            raise NNDSLError(
                f"in {shown}, line {number}: a JSON {type(record).__name__}, not an object",
                path=path,
                source=source,
                line=number,
                column=1,
                hint='each line is one row: an object of column names and values, {"x": 1}',
            )
        records.append(record)
        starts.append(number)
    if not records:
        raise NNDSLError(
            f"data file {shown} holds no rows",
            path=path,
            hint="JSON Lines: one object per line",
        )
    header = list(dict.fromkeys(k for record in records for k in record))
    columns = {k: [record.get(k) for record in records] for k in header}
    rows = columns_to_rows(columns, shown, "line", starts)
    return RecordTable(path, shown, "jsonl", header, rows, starts, "line", source)


def jsonl_header(path: str, shown: str) -> list[str]:
    """The columns of a JSON Lines file (the keys of all its objects)."""
    return read_jsonl(path, shown).names
