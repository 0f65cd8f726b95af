"""A table's column of sample weights (`csv(..., weight="w")`): never a feature, read
as numbers >= 0 into `Dataset.weights`; a cell that is not one is a located error."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from nndsl.data.dataset import Dataset


def with_weight_column(table: Any, dataset: Dataset, column: str, keep_id: bool) -> Dataset:
    """`dataset` with its weights read from `column` of `table` (a csvfile table, whose
    rows the dataset's `ids` carry it by); `keep_id`: the column is an id too, so it
    stays among the ids."""
    cells = dataset.ids[column]
    ids = dict(dataset.ids)
    if not keep_id:
        del ids[column]
    j = table.names.index(column)
    weights = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells.tolist()):  # str, not np.str_ (shown with repr)
        try:
            value = float(cell)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < 0:
            r = int(dataset.file_rows[i]) if dataset.file_rows is not None else i
            where = f"in {table.shown}, {table.unit} {table.starts[r + 1]}, column '{column}'"
            got = "the cell is empty" if not cell else f"got {cell!r}"
            raise table._cell_error(
                r + 1,
                j,
                f"{where}: {got}, and a sample weight is a number >= 0",
                "fill in the weight (0 leaves the row out of the loss) or remove the row",
            )
        weights[i] = value
    return replace(dataset, ids=ids or None, weights=weights)
