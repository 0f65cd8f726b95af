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
    """Load `csv(...)`, `npz(...)`, `dataset(...)` or `synthetic(...)`.

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
        )
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
        hint="one of: csv, npz, dataset, synthetic, text, series",
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
