"""`load_data`: turn a chosen data source (a `Spec` of catalog "data") into a `Dataset`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nndsl.data.dataset import Dataset
from nndsl.data.tabular import declared_kinds, declared_missing
from nndsl.errors import NNDSLError

if TYPE_CHECKING:
    from nndsl.ir.signature import Spec


def load_data(spec: Spec, base_dir: str, outputs: list[str] | None = None) -> Dataset:
    """Load `csv(...)`, `parquet(...)`, `jsonl(...)`, `npz(...)`, `dataset(...)` or
    `synthetic(...)`.

    Paths are relative to `base_dir` (the folder of the .nn file) unless absolute.
    `standardize=true` is not applied here: it is fitted on the training split by the caller
    (see `nndsl.data.standardize`). `outputs`: a model's outputs, in declared order (an
    npz file may hold one target array named after each).
    """
    args = _with_defaults(spec)
    if spec.name == "csv":
        from nndsl.data.csvfile import load_csv

        return load_csv(
            resolve_path(args["path"], base_dir),
            args["target"],
            features=args["features"],
            delimiter=args["delimiter"],
            shown=args["path"],
            inputs_only=args.get("inputs_only", False),
            text=args["text"],
            kinds=declared_kinds(args["columns"]),
            missing=declared_missing(args["missing"]),
            ids=args["id"],
            weight=args["weight"],
        )
    if spec.name in ("parquet", "jsonl"):
        return load_records(spec.name, args, base_dir)
    if spec.name == "npz":
        from nndsl.data.npzfile import load_npz

        return load_npz(
            resolve_path(args["path"], base_dir),
            x=args["x"],
            y=args["y"],
            shown=args["path"],
            inputs_only=args.get("inputs_only", False),
            outputs=outputs,
        )
    if spec.name == "dataset":
        from nndsl.data.bundled import load_bundled

        return load_bundled(args["name"])
    if spec.name == "synthetic":
        from nndsl.data.synthetic import make_synthetic

        return make_synthetic(
            args["name"],
            n=args["n"],
            noise=args["noise"],
            classes=args["classes"],
            seed=args["seed"],
        )
    if spec.name in ("text", "series"):
        raise NNDSLError(
            f"{spec.name}() data is split by position (text) or time (series): load it with "
            "nndsl.train.data_plan.load_splits (model.load_data())"
        )
    raise NNDSLError(
        f"unknown data source '{spec.name}'",
        hint="one of: csv, parquet, jsonl, npz, dataset, synthetic, text, series",
    )


def load_records(reader: str, args: dict[str, Any], base_dir: str) -> Dataset:
    """parquet(...) or jsonl(...) loaded whole, as csv(...) reads its cells."""
    from nndsl.data.records import records_dataset

    return records_dataset(
        read_table(reader, resolve_path(args["path"], base_dir), args["path"]),
        args,
        args.get("inputs_only", False),
        declared_kinds(args["columns"]),
        declared_missing(args["missing"]),
    )


def read_table(reader: str, path: str, shown: str) -> Any:
    """A Parquet or JSON Lines file's rows as cells (nndsl.data.records.RecordTable)."""
    if reader == "parquet":
        from nndsl.data.parquetfile import read_parquet

        return read_parquet(path, shown)
    from nndsl.data.records import read_jsonl

    return read_jsonl(path, shown)


TABLE_SOURCES = ("csv", "parquet", "jsonl")  # sources of named columns, read as cells
_TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def table_reader(path: str) -> str | None:
    """Which table source reads new data at `path` (a folder: Parquet shards)."""
    if os.path.isdir(path):
        return "parquet"
    return _TABLE_SUFFIXES.get(os.path.splitext(path)[1].lower())


def table_header(reader: str, path: str, shown: str, delimiter: str = ",") -> list[str]:
    """A table's column names (a CSV file's: [] when unreadable, load_csv says why)."""
    if reader == "parquet":
        from nndsl.data.parquetfile import parquet_header

        return parquet_header(path, shown)
    if reader == "jsonl":
        from nndsl.data.records import jsonl_header

        return jsonl_header(path, shown)
    from nndsl.data.columns import read_csv_header

    return read_csv_header(path, shown, delimiter)


def load_table_file(reader: str, path: str, args: dict[str, Any]) -> Dataset:
    """New rows of a table file (a CSV, Parquet or JSON Lines file: `reader`), read with
    csv()'s arguments `args` (target, features, delimiter, shown, inputs_only, text,
    kinds, ids, weight)."""
    from nndsl.data.csvfile import load_csv

    if reader == "csv":
        return load_csv(path, **args)
    from nndsl.data.records import records_dataset

    return records_dataset(
        read_table(reader, path, args.get("shown") or path),
        {
            "target": args.get("target"),
            "features": args.get("features"),
            "text": args.get("text"),
            "id": args.get("ids"),
            "weight": args.get("weight"),
        },
        args.get("inputs_only", False),
        args.get("kinds") or {},
        args.get("missing") or {},
    )


def resolve_path(path: str, base_dir: str) -> str:
    """`path` as written in a .nn file, made relative to that file's folder."""
    path = os.path.expanduser(str(path))
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(base_dir or ".", path))


def spec_args(spec: Spec) -> dict[str, Any]:
    """A data source's arguments, declared defaults filled in."""
    return _with_defaults(spec)


def _with_defaults(spec: Spec) -> dict[str, Any]:
    """The spec's arguments, with declared defaults for any it leaves out (API-built specs)."""
    import nndsl.ir.catalog  # noqa: F401  (registers the "data" catalog)
    from nndsl.ir.signature import CATALOGS

    entry = CATALOGS["data"].get(spec.name)
    if entry is None:
        return dict(spec.args)
    args = {p.name: p.default for p in entry.params if not p.required}
    args.update(spec.args)
    missing = [p.name for p in entry.params if p.name not in args]
    if missing:
        raise NNDSLError(f"{spec.name}() needs argument '{missing[0]}'")
    return args
