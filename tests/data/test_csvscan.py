"""The NumPy reading of plain CSV files (nndsl.data.csvscan) against the csv module's:
the same cells, column by column, and the same Dataset, on generated careless files."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl.data.csvfile import _Table, load_csv, table_dataset
from nndsl.data.csvscan import scan_plain
from nndsl.errors import NNDSLError

# cells a careless export holds: spaces and tabs around values, no-break spaces,
# non-ASCII words, empty cells, NA spellings, numbers in odd spellings
PIECES = [
    "1",
    " 2.5 ",
    "\t-3e2",
    "1_000",
    "",
    "  ",
    "NA",
    "nan",
    "?",
    "Oslo",
    " München ",
    "\u00a0Zürich\u00a0",
    "東京",
    "yes",
    "no",
    "2024-03-31",
    "31.03.2024",
    "inf",
    "x y",
]


def _write(path, rows, delimiter=",", newline="\n", bom=False, final=True):
    text = newline.join(delimiter.join(r) for r in rows) + (newline if final else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize("seed", range(40))
def test_plain_files_read_the_same_cells_as_the_csv_module(tmp_path, seed):
    rng = np.random.default_rng(seed)
    width, n = int(rng.integers(2, 6)), int(rng.integers(1, 40))
    delimiter = [",", ";", "\t", "|"][seed % 4]
    header = [f" c{j} " if j % 2 else f"c{j}" for j in range(width)]
    rows = [header] + [
        [PIECES[int(rng.integers(len(PIECES)))].replace(delimiter, "") for _ in range(width)]
        for _ in range(n)
    ]
    rows = [r for r in rows if delimiter.join(r).strip()]  # blank lines are another file
    path = _write(
        tmp_path / "t.csv",
        rows,
        delimiter,
        newline="\r\n" if seed % 3 == 0 else "\n",
        bom=seed % 5 == 0,
        final=seed % 2 == 0,
    )
    fast = _Table(path, path, delimiter)
    slow = _Table(path, path, delimiter, plain=False)
    assert fast._columns is not None, "the plain file was not read by NumPy"
    assert slow._rows is not None
    assert fast.names == slow.names
    assert fast.n_rows == slow.n_rows
    assert list(fast.starts) == list(slow.starts)
    for j in range(width):
        assert fast.column(j).tolist() == slow.column(j).tolist()
    # and the whole reading, typed columns included (or the same error both ways)
    a, b = (_dataset(path, delimiter, plain) for plain in (True, False))
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b) and str(a) == str(b)
        return
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert (a.columns is None) == (b.columns is None)
    for name, column in (a.columns or {}).items():
        other = b.columns[name]
        assert column.kind == other.kind and column.options == other.options
        np.testing.assert_array_equal(column.missing, other.missing)
        np.testing.assert_array_equal(column.values, other.values)


def _dataset(path, delimiter, plain):
    try:
        return table_dataset(_Table(path, path, delimiter, plain=plain), "c0", inputs_only=True)
    except NNDSLError as e:
        return e


@pytest.mark.parametrize(
    "text",
    [
        'a,b\n"1",2\n',  # a quote
        "a,b\n1,2\n\n3,4\n",  # a blank line
        "a,b\r1,2\r",  # old Mac line ends
        "a,b\n1,2,3\n",  # a ragged row
        "a,b\n1\x002,3\n",  # a NUL
        "a\n1\n",  # one column
        "a,b\n",  # no data row
        "a,b\n" + "1,2\n" * 200 + "x" * 100_000 + ",2\n",  # one cell padding every other
    ],
    ids=["quote", "blank", "cr", "ragged", "nul", "one-column", "header-only", "long-cell"],
)
def test_other_files_are_left_to_the_csv_module(text):
    assert scan_plain(text.encode(), ",") is None


def test_a_plain_file_is_cut_by_numpy():
    header, columns = scan_plain(b"a, b\n 1 ,x\n2,\xc3\xa9 \n", ",")
    assert header == ["a", " b"]
    assert [c.tolist() for c in columns] == [["1", "2"], ["x", "é"]]


def test_one_huge_cell_read_by_the_csv_module_is_a_located_error(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n" + "1,2\n" * 200 + '"' + "x" * 100_000 + '",2\n')
    with pytest.raises(NNDSLError) as e:
        load_csv(str(path), "b")
    message = str(e.value)[:300]
    assert "line 202, column 'a'" in message and "100,000 characters" in message
