"""NPZ data: a NumPy archive holding a feature array and a target array, read without pickle."""

from __future__ import annotations

import math

import numpy as np
import numpy.lib.format as npy

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError, did_you_mean
from nndsl.files import BadArchive, NpzArchive, open_regular, show_path


def load_npz(
    path: str,
    *,
    x: str = "x",
    y: str = "y",
    shown: str | None = None,
    inputs_only: bool = False,
    outputs: list[str] | None = None,
) -> Dataset:
    """Load arrays `x` (shape (n, features...)) and `y` (shape (n,) or (n, k)) from `path`.

    x becomes float64; y becomes int64 when stored as integers (class labels), float64
    otherwise. A 1-D x is one feature per sample. Every array's header is checked
    (numbers, a size the file really holds and this machine can take as float64) before
    any array is read. With several `outputs` and no array `y`, the targets are the
    arrays named after the outputs: y is then a dict {output: array}.
    """
    shown = show_path(shown or path)
    with _open(path, shown) as archive:
        present = list(archive.arrays)
        if outputs and len(outputs) > 1 and y not in present and not inputs_only:
            return _by_output(archive, present, x, outputs, shown)
        if inputs_only and y not in present:  # new data to predict on: no targets needed
            if x in present:
                _check(archive, [x], shown)
                xs = _read(archive, x, shown)
                xs = xs[:, None] if xs.ndim == 1 else xs
                return Dataset(
                    x=xs.astype(np.float64),
                    y=np.empty((len(xs), 0)),
                    feature_names=_names(x, xs.shape),
                    target_names=[],
                    source=f"npz {shown}: {len(xs)} samples, x {xs.shape[1:]}",
                )
        for name in (x, y):
            if name not in present:
                hint = did_you_mean(name, present) or (
                    f'name the arrays: npz("{shown}", x="...", y="...")'
                )
                held = ", ".join(present) if present else "no arrays"
                raise _err(f"{shown} has no array '{name}'; it holds: {held}", hint)
        _check(archive, [x, y], shown)
        xs, ys = _read(archive, x, shown), _read(archive, y, shown)
    if xs.ndim == 1:
        xs = xs[:, None]
    y_out = ys.astype(np.int64) if ys.dtype.kind in "iu" else ys.astype(np.float64)
    return Dataset(
        x=xs.astype(np.float64),
        y=y_out,
        feature_names=_names(x, xs.shape),
        target_names=_names(y, ys.shape),
        source=f"npz {shown}: {len(xs)} samples, x {xs.shape[1:]}, y {ys.shape[1:]}",
    )


def _by_output(archive: NpzArchive, present: list[str], x: str, outputs: list[str], shown: str):
    for name in (x, *outputs):
        if name not in present:
            held = ", ".join(present) if present else "no arrays"
            raise _err(
                f"{shown} has no array '{name}'; it holds: {held}",
                did_you_mean(name, present)
                or "a model with several outputs reads one target array per output, "
                "named after it: "
                + ", ".join(outputs),
            )
    _check(archive, [x, *outputs], shown)
    xs = _read(archive, x, shown)
    xs = xs[:, None] if xs.ndim == 1 else xs
    ys = {}
    for name in outputs:
        a = _read(archive, name, shown)
        ys[name] = a.astype(np.int64) if a.dtype.kind in "iu" else a.astype(np.float64)
        if len(a) != len(xs):
            raise _err(f"{shown}: x has {len(xs)} samples but '{name}' has {len(a)}")
    return Dataset(
        x=xs.astype(np.float64),
        y=ys,
        feature_names=_names(x, xs.shape),
        target_names=list(outputs),
        source=f"npz {shown}: {len(xs)} samples, x {xs.shape[1:]}, targets " + ", ".join(outputs),
    )


def _open(path: str, shown: str) -> NpzArchive:
    with open_regular(
        path, "data file", shown, hint="paths are relative to the folder of the .nn file"
    ) as f:
        if f.read(len(npy.MAGIC_PREFIX)) == npy.MAGIC_PREFIX:
            raise _err(
                f"{shown} is a .npy file holding one array, not an .npz archive",
                "write one with np.savez(path, x=features, y=targets)",
            )
    try:
        return NpzArchive(path, "data file", shown)
    except BadArchive as e:
        raise _err(
            f"{shown} is not a readable .npz archive ({e})",
            "write one with np.savez(path, x=features, y=targets)",
        ) from None


def _check(archive: NpzArchive, names: list[str], shown: str) -> None:
    """Refuse, from their headers, arrays that are not numbers with one row per sample
    (the same number of rows in each), or that would not fit in memory as float64."""
    infos = [archive.arrays[n] for n in names]
    for info in infos:
        kind = info.dtype.kind
        if info.pickled:
            raise _err(
                f"{shown}: array '{info.name}' holds Python objects, which are not loaded "
                "(no pickle)",
                "store numbers: np.asarray(a, dtype=float)",
            )
        if kind not in "biuf":
            what = {
                "c": "complex numbers",
                "U": "text",
                "S": "bytes",
                "M": "dates",
                "m": "time spans",
                "V": "records",
            }.get(kind, "non-numbers")
            raise _err(
                f"{shown}: array '{info.name}' holds {what} (dtype {info.dtype}), not numbers"
            )
        if not info.shape:
            raise _err(
                f"{shown}: array '{info.name}' is a single value, expected one row per sample"
            )
    if len(infos) == 2 and infos[0].shape[0] != infos[1].shape[0]:
        (x, xshape), (y, yshape) = ((i.name, i.shape) for i in infos)
        raise _err(
            f"{shown}: '{x}' has {xshape[0]} samples (shape {xshape}) but "
            f"'{y}' has {yshape[0]} (shape {yshape})",
            "x and y need one row per sample, in the same order",
        )
    if infos[0].shape[0] == 0:
        # checked before reading: a shape (0, 10**12) holds no bytes but would name
        # 10**12 features
        quoted = " and ".join(f"'{n}'" for n in names)
        held = "arrays " + quoted + " hold" if len(names) > 1 else "array " + quoted + " holds"
        raise _err(f"{shown}: {held} no samples")
    # each array is read, then copied as float64 (int64 for labels): both live at once
    need = sum(i.nbytes + math.prod(i.shape) * 8 for i in infos)
    archive.check_claim(names, need=need)


def _read(archive: NpzArchive, name: str, shown: str) -> np.ndarray:
    try:
        array = archive.read(name)
    except BadArchive as e:
        raise _err(f"{shown}: array '{name}' is damaged ({e})") from None
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            where = np.argwhere(bad)[0]
            value = array[tuple(where)]
            raise _err(
                f"{shown}: array '{name}' holds {value} at "
                f"{name}[{', '.join(str(int(i)) for i in where)}]",
                "remove or fill in missing values before training",
            )
    return array


# Beyond this many values per sample, names like x[0,1] help nobody and cost memory (an
# 8 KB file may hold arrays of 4 million zeros per sample): the columns stay unnamed.
_MAX_NAMED = 10_000


def _names(name: str, shape: tuple[int, ...]) -> list[str]:
    if len(shape) == 1:
        return [name]
    if math.prod(shape[1:]) > _MAX_NAMED:
        return []
    return [f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*shape[1:])]


def _err(message: str, hint: str | None = None) -> NNDSLError:
    # No path: an .npz has no lines to point at, so the caller may locate the error at the
    # `data = npz(...)` line of the .nn file; the message names the archive.
    return NNDSLError(message, hint=hint)
