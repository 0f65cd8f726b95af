"""The fast reading of a plain CSV file: its cells cut out by NumPy, column by column.

A file is plain when nothing in it needs the `csv` module's state machine: no quote
character, no NUL, line ends \\n or \\r\\n only, no blank line, and every line holding
exactly the header's number of cells. Then each cell is the bytes between two
delimiters, and a whole column can be cut out of the file's bytes at once (one gather
per column instead of a Python string per cell): the reading of a 1,000,000-row file
takes seconds and little more memory than the file. Any other file (or a column whose
cells differ so much in length that fixed-width arrays of them would be far larger
than the cells) is left to the `csv` module (`scan_plain` returns None), which reads
the same cells: tests/data/test_csvscan.py checks both readings agree, cell for cell.
"""

from __future__ import annotations

import numpy as np

_QUOTE, _NUL, _CR, _LF = 0x22, 0x00, 0x0D, 0x0A
# the characters str.strip() removes that are ASCII: the same strip, done on bytes
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True
ROWS_PER_CHUNK = 1 << 16  # lines cut at once: bounds the index arrays (a few MB)
PADDING_ALLOWANCE = 16  # a column's fixed-width array may be this many times its cells


def scan_plain(data: bytes, delimiter: str) -> tuple[list[str], list[np.ndarray]] | None:
    """(the header's cells as written, each column's data cells stripped, as arrays of
    str), or None when `data` (UTF-8, no byte-order mark) is not a plain CSV file."""
    encoded = delimiter.encode("utf-8")
    if len(encoded) != 1 or encoded in b'"\r\n' or not data:
        return None
    b = np.frombuffer(data, dtype=np.uint8)
    if (b == _QUOTE).any() or (b == _NUL).any():
        return None
    line_feeds = np.flatnonzero(b == _LF)
    returns = np.flatnonzero(b == _CR)
    if returns.size and (returns[-1] + 1 >= b.size or (b[returns + 1] != _LF).any()):
        return None  # a lone \r ends a line too: the csv module's reading
    ends = line_feeds if b[-1] == _LF else np.append(line_feeds, b.size)
    begins = np.concatenate([[0], ends[:-1] + 1])
    stops = ends - (ends > begins) * (b[np.maximum(ends - 1, 0)] == _CR)  # without \r
    if len(begins) < 2 or (stops <= begins).any():
        return None  # no data row, or a blank line
    header = data[begins[0] : stops[0]].decode("utf-8").split(delimiter)
    width = len(header)
    if width < 2:
        return None
    chunks: list[list[np.ndarray]] = [[] for _ in range(width)]
    cell_bytes = np.zeros(width, dtype=np.int64)
    for first in range(1, len(begins), ROWS_PER_CHUNK):
        last = min(first + ROWS_PER_CHUNK, len(begins))
        cut = _cut_cells(b, begins[first:last], stops[first:last], ord(encoded), width)
        if cut is None:
            return None
        starts, ends_ = cut
        for j in range(width):
            column, size = _gather(b, starts[:, j], ends_[:, j])
            chunks[j].append(column)
            cell_bytes[j] += size
    rows = len(begins) - 1
    columns = []
    for j in range(width):
        itemsize = max(c.dtype.itemsize for c in chunks[j])
        if rows * itemsize > PADDING_ALLOWANCE * cell_bytes[j] + (1 << 20):
            return None  # one long cell would pad every other: the csv module's reading
        columns.append(_as_text(np.concatenate(chunks[j])))
        chunks[j] = []
    return header, columns


def _cut_cells(
    b: np.ndarray, begins: np.ndarray, stops: np.ndarray, delimiter: int, width: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each cell's (start, end) byte offsets, (rows, width) each, stripped of ASCII
    whitespace; None when a line has another number of cells than the header."""
    lo, hi = int(begins[0]), int(stops[-1])
    marks = np.flatnonzero(b[lo:hi] == delimiter) + lo
    per_line = np.searchsorted(marks, stops) - np.searchsorted(marks, begins)
    if (per_line != width - 1).any():
        return None
    marks = marks.reshape(len(begins), width - 1)
    starts = np.concatenate([begins[:, None], marks + 1], axis=1)
    ends = np.concatenate([marks, stops[:, None]], axis=1)
    while True:  # leading whitespace: usually no cell has any, and this runs once
        lead = (starts < ends) & _WHITESPACE[b[np.minimum(starts, b.size - 1)]]
        if not lead.any():
            break
        starts += lead
    while True:
        trail = (ends > starts) & _WHITESPACE[b[np.maximum(ends - 1, 0)]]
        if not trail.any():
            break
        ends -= trail
    return starts, ends


def _gather(b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, int]:
    """The cells b[start:end] as one fixed-width bytes array (zero-padded: NumPy's bytes
    arrays drop trailing zeros, and no cell holds one), and their total length."""
    lengths = ends - starts
    longest = max(int(lengths.max()), 1)
    offsets = np.arange(longest)
    index = np.minimum(starts[:, None] + offsets, b.size - 1)
    cells = b[index]
    cells[offsets >= lengths[:, None]] = 0
    return np.ascontiguousarray(cells).view(f"S{longest}").ravel(), int(lengths.sum())


def _as_text(column: np.ndarray) -> np.ndarray:
    """A bytes column as str: ASCII widened as is, other UTF-8 decoded cell by cell and
    stripped of the whitespace only Unicode knows (a no-break space, ...)."""
    if not (column.view(np.uint8) >= 0x80).any():
        return column.astype(str)
    return np.char.strip(np.char.decode(column, "utf-8"))
