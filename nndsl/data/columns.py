"""Matching the columns of new data to the features a model was trained on, by name.

A model remembers its feature columns' names in training order (a CSV header, a bundled
dataset's names, the keys of a dict or the columns of a DataFrame given to `fit`). New
data that names its columns (a CSV header, a dict, a DataFrame) is matched by those
names, whatever their order: a missing column is refused with the list expected, extra
columns are left out and said so. Data that names none of them but has exactly as many
columns is taken by position, with a note; data without names (a plain array, an .npz)
keeps positional meaning, checked by width where the model's input is known.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError, did_you_mean
from nndsl.files import open_regular


@dataclass(frozen=True)
class ColumnChoice:
    """Which columns of some data to read, in the order the model wants them."""

    features: list[str]  # the data's own column names, in the model's feature order
    targets: list[str]  # target columns present in the data (all of them, when needed)
    by_name: bool  # False: taken by position (the model's names were not in the data)
    notes: list[str] = field(default_factory=list)  # what a person should be told


def choose_columns(
    available: Sequence[str],
    features: Sequence[str] | None,
    targets: Sequence[str] | None,
    source: str,
    need_targets: bool = False,
) -> ColumnChoice:
    """Match `available` (the data's column names, in its order) to the model's
    `features` and `targets` (None: the model knows no names).

    Raises NNDSLError for a feature or (when `need_targets`) a target the data lacks."""
    available = list(available)
    targets = list(targets or [])
    present_targets = [t for t in targets if t in available]
    if need_targets and len(present_targets) < len(targets):
        missing = [t for t in targets if t not in available]
        raise NNDSLError(
            f"{source} has no target column {_listed(missing)} to evaluate against",
            hint=did_you_mean(missing[0], available) or "its columns: " + _listed(available),
        )
    others = [c for c in available if c not in targets]
    if features is None:  # trained on unnamed arrays: the columns in their order
        return ColumnChoice(others, present_targets, by_name=False)
    features = list(features)
    missing = [f for f in features if f not in available]
    if not missing:
        extra = [c for c in others if c not in features]
        notes = [f"{source}: left out columns the model was not trained on: {_listed(extra)}"]
        return ColumnChoice(features, present_targets, True, notes if extra else [])
    if len(missing) == len(features) and len(others) == len(features):
        return ColumnChoice(
            others,
            present_targets,
            by_name=False,
            notes=[
                f"{source}: no column is named like a training feature "
                f"({_listed(features)}); its {len(others)} columns "
                f"({_listed(others)}) are taken by position"
            ],
        )
    hint = did_you_mean(missing[0], others)
    raise NNDSLError(
        f"{source} has no column {_listed(missing)}; the model was trained on "
        f"{len(features)} feature column{'s' if len(features) != 1 else ''}: "
        f"{_listed(features)} (matched by name, in any order)",
        hint=hint
        or f"its columns are: {_listed(available)}; rename them to the training names, "
        "or give exactly the feature columns, in training order",
    )


def read_csv_header(path: str, shown: str, delimiter: str = ",") -> list[str]:
    """The column names in the first record of a CSV file (its only part read here)."""
    try:
        with open_regular(path, "data file", shown) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            row = next(csv.reader(text, delimiter=delimiter), [])
    except (NNDSLError, UnicodeDecodeError, csv.Error, ValueError):
        return []  # the full reader says exactly what is wrong with the file
    return [name.strip() for name in row]


def mapping_columns(data: Any) -> list[str] | None:
    """The column names of a dict of columns or a DataFrame-like table; None otherwise."""
    if isinstance(data, Mapping):
        return [str(k) for k in data]
    columns = getattr(data, "columns", None)
    if columns is not None and hasattr(data, "__getitem__") and not isinstance(data, np.ndarray):
        return [str(c) for c in columns]
    return None


def mapping_array(data: Any, names: Sequence[str], source: str) -> np.ndarray:
    """Columns `names` of a dict or DataFrame-like table, stacked as (samples, features)."""
    columns = []
    for name in names:
        try:
            column = np.asarray(data[name])
        except (TypeError, ValueError) as e:
            raise NNDSLError(f"{source}: column '{name}' is not an array ({e})") from None
        if column.ndim != 1:
            raise NNDSLError(
                f"{source}: column '{name}' has shape {column.shape}; "
                "each column needs one value per sample"
            )
        if column.dtype.kind not in "iubf":
            raise NNDSLError(
                f"{source}: column '{name}' holds {column.dtype} values, not numbers",
                hint="leave text columns out, or encode them as numbers first",
            )
        columns.append(column.astype(np.float64))
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        sizes = ", ".join(f"{n}: {len(c)}" for n, c in zip(names, columns))
        raise NNDSLError(f"{source}: columns have different lengths ({sizes})")
    if not columns:
        raise NNDSLError(f"{source} holds no feature columns")
    return np.stack(columns, axis=1)


def _listed(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) if _odd(n) else n for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _odd(name: str) -> bool:
    """A name that would read ambiguously in a comma-separated list."""
    return not name or "," in name or name != name.strip() or not name.isprintable()
