"""Parquet data: one file, or a folder of shards with the same columns (read in name
order). Needs pyarrow (`pip install 'nndsl[parquet]'`), imported only here.

Files are read through pyarrow's record batches (`iter_batches`), never whole: what a
damaged footer claims is not allocated up front, and a streamed dataset
(nndsl.data.stream) holds one batch at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from nndsl.data.records import RecordTable, columns_to_rows
from nndsl.errors import NNDSLError
from nndsl.files import open_regular

READ_ROWS = 65_536  # rows per record batch read


def pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise NNDSLError(
            "parquet() needs pyarrow", hint="pip install 'nndsl[parquet]' (or pip install pyarrow)"
        ) from None
    return pq


def shard_files(path: str, shown: str) -> list[str]:
    """A Parquet file, or the *.parquet files of a folder in name order."""
    if os.path.isdir(path):
        files = sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if name.endswith(".parquet") and os.path.isfile(os.path.join(path, name))
        )
        if not files:
            raise NNDSLError(f"folder {shown} holds no .parquet files")
        return files
    open_regular(path, "data file", shown, hint="paths are relative to the folder of the .nn file"
                 ).close()  # fmt: skip
    return [path]


def shown_shard(path: str, root: str, shown: str) -> str:
    """A shard's name as the user knows it: under the folder they named."""
    return shown if path == root else os.path.join(shown, os.path.relpath(path, root))


class Shard:
    """One Parquet file opened: its columns and row count (from its footer), and its rows
    in record batches; every pyarrow error is an NNDSLError naming the file."""

    def __init__(self, path: str, shown: str) -> None:
        self.path, self.shown = path, shown
        try:
            with self._open() as file:
                self.columns = list(file.schema_arrow.names)
                self.rows = int(file.metadata.num_rows)
        except Exception as e:  # pyarrow's errors: ArrowInvalid, OSError, ...
            raise self.broken(e) from None

    def _open(self) -> Any:
        # pre_buffer=False: pyarrow's default reads every row group's bytes ahead into a
        # cache kept while the file is open (a whole shard's worth); without it a reader
        # holds one row group. Opened per pass and closed after, so that a folder of many
        # shards holds one open file, not one per shard.
        return pyarrow_parquet().ParquetFile(self.path, pre_buffer=False)

    def broken(self, e: Exception) -> NNDSLError:
        return NNDSLError(
            f"{self.shown} is not a readable Parquet file ({str(e).splitlines()[0][:200]})",
            path=self.path,
            hint="write it with pandas.DataFrame.to_parquet or pyarrow.parquet.write_table",
        )

    def batches(self, columns: list[str] | None = None) -> Iterator[dict[str, list[Any]]]:
        """{column: Python values} of `READ_ROWS` rows at a time."""
        for batch in self.record_batches(columns):
            yield {name: batch.column(name).to_pylist() for name in batch.schema.names}

    def record_batches(self, columns: list[str] | None = None) -> Iterator[Any]:
        """pyarrow RecordBatches of `READ_ROWS` rows at a time."""
        try:
            with self._open() as file:
                yield from file.iter_batches(batch_size=READ_ROWS, columns=columns)
        except NNDSLError:
            raise
        except Exception as e:
            raise self.broken(e) from None


def read_parquet(path: str, shown: str) -> RecordTable:
    """Every row of a Parquet file (or folder of shards) as cells: an in-memory table."""
    files = shard_files(path, shown)
    header: list[str] | None = None
    rows: list[list[str]] = []
    starts: list[int] = []
    for file in files:
        shard = Shard(file, shown_shard(file, path, shown))
        if header is None:
            header = shard.columns
        elif shard.columns != header:
            raise NNDSLError(
                f"{shard.shown} has the columns {', '.join(shard.columns)}, but "
                f"{shown_shard(files[0], path, shown)} has {', '.join(header)}",
                hint="every shard of a folder holds the same columns, in the same order",
            )
        first = 1
        for values in shard.batches():
            count = len(next(iter(values.values()), []))
            rows += columns_to_rows(values, shard.shown, "row", range(first, first + count))
            starts += range(first, first + count)
            first += count
    if len(files) > 1:  # rows numbered through the shards: a message names the folder
        starts = list(range(1, len(rows) + 1))
    return RecordTable(path, shown, "parquet", header or [], rows, starts, "row")


def parquet_header(path: str, shown: str) -> list[str]:
    """The columns of a Parquet file (or of a folder's first shard), from its footer."""
    return Shard(shard_files(path, shown)[0], shown).columns
