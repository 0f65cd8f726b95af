"""NPZ data: a NumPy archive holding a feature array and a target array, read without pickle."""

from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError, did_you_mean

# What a damaged or foreign file makes np.load raise.
_BROKEN = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def load_npz(
    path: str, *, x: str = "x", y: str = "y", shown: str | None = None, inputs_only: bool = False
) -> Dataset:
    """Load arrays `x` (shape (n, features...)) and `y` (shape (n,) or (n, k)) from `path`.

    x becomes float64; y becomes int64 when stored as integers (class labels), float64
    otherwise. A 1-D x is one feature per sample.
    """
    shown = shown or path
    archive = _open(path, shown)
    with archive:
        present = list(archive.files)
        if inputs_only and y not in present:  # new data to predict on: no targets needed
            xs = _read(archive, x, shown) if x in present else None
            if xs is not None:
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
        xs, ys = _read(archive, x, shown), _read(archive, y, shown)
    if xs.ndim == 1:
        xs = xs[:, None]
    if len(xs) != len(ys):
        raise _err(
            f"{shown}: '{x}' has {len(xs)} samples (shape {xs.shape}) but "
            f"'{y}' has {len(ys)} (shape {ys.shape})",
            "x and y need one row per sample, in the same order",
        )
    if len(xs) == 0:
        raise _err(f"{shown}: arrays '{x}' and '{y}' hold no samples")
    y_out = ys.astype(np.int64) if ys.dtype.kind in "iu" else ys.astype(np.float64)
    return Dataset(
        x=xs.astype(np.float64),
        y=y_out,
        feature_names=_names(x, xs.shape),
        target_names=_names(y, ys.shape),
        source=f"npz {shown}: {len(xs)} samples, x {xs.shape[1:]}, y {ys.shape[1:]}",
    )


def _open(path: str, shown: str) -> np.lib.npyio.NpzFile:
    if not os.path.exists(path):
        raise NNDSLError(
            f"cannot find data file '{shown}' (looked for {os.path.abspath(path)})",
            hint="paths are relative to the folder of the .nn file",
        )
    if os.path.isdir(path):
        raise NNDSLError(f"data file '{shown}' is a folder ({os.path.abspath(path)})")
    try:
        archive = np.load(path, allow_pickle=False)
    except _BROKEN as e:
        raise _err(
            f"{shown} is not a readable .npz archive ({_why(e)})",
            "write one with np.savez(path, x=features, y=targets)",
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _err(
            f"{shown} is a .npy file holding one array, not an .npz archive",
            "write one with np.savez(path, x=features, y=targets)",
        )
    return archive


def _read(archive: np.lib.npyio.NpzFile, name: str, shown: str) -> np.ndarray:
    try:
        array = archive[name]
    except ValueError as e:
        if "bject arrays" in str(e):
            raise _err(
                f"{shown}: array '{name}' holds Python objects, which are not loaded (no pickle)",
                "store numbers: np.asarray(a, dtype=float)",
            ) from None
        raise _err(f"{shown}: array '{name}' is damaged ({_why(e)})") from None
    except _BROKEN as e:
        raise _err(f"{shown}: array '{name}' is damaged ({_why(e)})") from None
    kind = array.dtype.kind
    if kind not in "biuf":
        what = {
            "c": "complex numbers",
            "U": "text",
            "S": "bytes",
            "M": "dates",
            "m": "time spans",
            "V": "records",
        }.get(kind, "non-numbers")
        raise _err(f"{shown}: array '{name}' holds {what} (dtype {array.dtype}), not numbers")
    if array.ndim == 0:
        raise _err(f"{shown}: array '{name}' is a single value, expected one row per sample")
    if kind == "f":
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


def _names(name: str, shape: tuple[int, ...]) -> list[str]:
    if len(shape) == 1:
        return [name]
    return [f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*shape[1:])]


def _why(e: BaseException) -> str:
    return str(e) or type(e).__name__


def _err(message: str, hint: str | None = None) -> NNDSLError:
    # No path: an .npz has no lines to point at, so the caller may locate the error at the
    # `data = npz(...)` line of the .nn file; the message names the archive.
    return NNDSLError(message, hint=hint)
