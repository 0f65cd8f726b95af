"""Weight files that load without pickle: `.npz` (numpy only) or `.safetensors`.

Each file carries its tensors and a JSON metadata record (the graph, the plan, the
input scaling), so a saved model is self-describing. Writes are atomic: a temporary
file is written, flushed to disk and renamed over the target.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.files import (
    BadArchive,
    MissingFile,
    NpzArchive,
    atomic_write,
    check_claim,
    open_regular,
    show_path,
)
from nndsl.ir.check import check_weights

try:  # optional: .npz needs nothing beyond numpy
    from safetensors import safe_open
    from safetensors.numpy import save as save_safetensors
except ImportError:
    safe_open = save_safetensors = None

META_KEY = "__nndsl_meta__"


def save_weights(path: str | Path, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    path = Path(path)
    meta_text = json.dumps(meta)
    if path.suffix == ".safetensors":
        if save_safetensors is None:
            raise NNDSLError(
                "saving .safetensors needs: pip install 'nndsl[weights]'",
                hint="or save to a .npz file, which needs nothing more",
            )
        data = save_safetensors(
            {k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata={META_KEY: meta_text}
        )
        atomic_write(path, lambda f: f.write(data))
        return
    arrays = dict(tensors)
    arrays[META_KEY] = np.frombuffer(meta_text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_weights(
    path: str | Path, expected: Mapping[str, tuple[int, ...]] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(tensors, metadata) from a file written by `save_weights`; never unpickles. Any
    defect of the file (truncated, corrupt, a pickle, not numbers) is an NNDSLError.

    expected: the model's tensor names and shapes; given, they are checked against the
    file's header before any tensor is read (a file claiming gigabytes is refused
    unread). Without it, the tensors' claimed size is checked against this machine's
    memory and the file's real size (see `nndsl.files.check_claim`)."""
    path = Path(path)
    head = _head(path)
    if head[:2] == b"PK":
        return _load_npz(path, expected)
    return _load_safetensors(path, expected)


def load_weights_meta(path: str | Path) -> dict[str, Any]:
    """The metadata record of a weights file alone: no tensor is read."""
    path = Path(path)
    head = _head(path)
    if head[:2] == b"PK":
        try:
            with NpzArchive(path, "weights file") as archive:
                _refuse_foreign(path, archive)
                return _npz_meta(path, archive)
        except BadArchive as e:
            raise _unreadable(path, e) from None
    with _safetensors(path) as f:
        return _meta(path, (f.metadata() or {}).get(META_KEY))


def _head(path: Path) -> bytes:
    """The first bytes of weights file `path`, which must be a regular file and no pickle."""
    try:
        with open_regular(path, "weights file") as f:
            head = f.read(8)
    except MissingFile:
        raise NNDSLError(f"no such weights file: {show_path(path)}") from None
    if _looks_pickled(head):
        raise NNDSLError(
            f"{show_path(path)} is a Python pickle, which nndsl never loads "
            "(unpickling can run code)",
            hint="save weights with model.save(...) as .npz or .safetensors",
        )
    return head


# Opcodes a pickle begins with after its PROTO opcode: FRAME, or the first opcode of an
# object (a container, a mark, a global, a number, a string, None, True/False).
_PICKLE_STARTS = frozenset(b"\x95}]()\x8fcq\x93\x85\x86\x87KJMG\x8a\x8bN\x88\x89XU\x8cTBC\x8e\x96")


def _looks_pickled(head: bytes) -> bool:
    """A pickle of protocol 2 and later: PROTO (0x80), its protocol number, then a first
    opcode. One byte is not enough: random bytes begin with 0x80 one time in 256, and a
    damaged file is not a pickle."""
    return (
        len(head) >= 3 and head[0] == 0x80 and head[1] in (2, 3, 4, 5) and head[2] in _PICKLE_STARTS
    )


@dataclass(frozen=True)
class _Declared:
    """A tensor as its file's header declares it (what `check_weights` looks at)."""

    shape: tuple[int, ...]
    dtype: np.dtype


def _check_declared(
    path: Path, declared: dict[str, _Declared], expected: Mapping[str, tuple[int, ...]] | None
) -> None:
    """Refuse, from the header alone, tensors that are not numbers or do not fit the model."""
    for name, d in declared.items():
        if d.dtype.kind not in "biuf":
            raise NNDSLError(
                f"{show_path(path)}: tensor '{show_path(name)}' holds {d.dtype}, not numbers"
            )
    if expected is not None:
        try:
            check_weights(dict(expected), declared)  # type: ignore[arg-type]
        except NNDSLError as e:
            e.message = f"{show_path(path)}: {e.message}"
            e.args = (e.message,)
            raise


def _refuse_foreign(path: Path, archive: NpzArchive) -> None:
    if archive.foreign:
        first = archive.foreign[0]
        pickled = any(m.endswith(".pkl") for m in archive.foreign)
        raise NNDSLError(
            f"{show_path(path)} is not an nndsl weights file: it holds '{show_path(first)}', "
            + (
                "a pickle (a torch.save file?), which nndsl never loads"
                if pickled
                else "which is not a NumPy array"
            ),
            hint="save weights with model.save(...) as .npz or .safetensors",
        )
    if any(a.pickled for a in archive.arrays.values()):
        raise NNDSLError(
            f"{show_path(path)} holds Python objects (pickled), which nndsl never loads"
        )


def _npz_meta(path: Path, archive: NpzArchive) -> dict[str, Any]:
    info = archive.arrays.get(META_KEY)
    if info is None:
        return {}
    archive.check_claim([META_KEY])
    raw = archive.read(META_KEY)
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise NNDSLError(f"{show_path(path)}: its metadata record is corrupt") from None
    return _meta(path, text)


def _load_npz(
    path: Path, expected: Mapping[str, tuple[int, ...]] | None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        with NpzArchive(path, "weights file") as archive:
            _refuse_foreign(path, archive)
            names = [k for k in archive.arrays if k != META_KEY]
            declared = {
                k: _Declared(archive.arrays[k].shape, archive.arrays[k].dtype) for k in names
            }
            _check_declared(path, declared, expected)
            archive.check_claim()
            meta = _npz_meta(path, archive)
            tensors = {k: archive.read(k) for k in names}
    except BadArchive as e:
        raise _unreadable(path, e) from None
    return tensors, meta


def _unreadable(path: Path, e: BaseException) -> NNDSLError:
    reason = str(e) or type(e).__name__
    return NNDSLError(
        f"{show_path(path)} is not a readable weights file (corrupt or truncated): {reason}"
    )


def _meta(path: Path, text: str | None) -> dict[str, Any]:
    """The metadata record, which must be a JSON object (or absent)."""
    if text is None:
        return {}
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise NNDSLError(f"{show_path(path)}: its metadata record is corrupt") from None
    if not isinstance(meta, dict):
        raise NNDSLError(f"{show_path(path)}: its metadata record is corrupt (not a JSON object)")
    return meta


# safetensors' dtype names -> numpy (those numpy lacks, such as BF16, are refused on read)
_SAFETENSORS_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "U16": "uint16",
    "I16": "int16",
    "U32": "uint32",
    "I32": "int32",
    "U64": "uint64",
    "I64": "int64",
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
}


@contextmanager
def _safetensors(path: Path) -> Iterator[Any]:
    """safetensors' reader of `path` (it checks that the header's offsets cover exactly
    the file, so no tensor can claim more than the file holds)."""
    if safe_open is None:
        raise NNDSLError(
            f"{show_path(path)} is not an .npz file; reading .safetensors needs: "
            "pip install 'nndsl[weights]'"
        )
    try:
        f = safe_open(str(path), framework="numpy")
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise _unreadable(path, e) from None
    with f:
        yield f


def _load_safetensors(
    path: Path, expected: Mapping[str, tuple[int, ...]] | None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    with _safetensors(path) as f:
        try:
            meta_text = (f.metadata() or {}).get(META_KEY)
            declared = {}
            for k in f.keys():
                part = f.get_slice(k)
                kind = _SAFETENSORS_DTYPES.get(part.get_dtype())
                if kind is None:
                    raise ValueError(f"tensor '{k}' has dtype {part.get_dtype()}, unknown to numpy")
                declared[k] = _Declared(tuple(part.get_shape()), np.dtype(kind))
        except Exception as e:
            raise _unreadable(path, e) from None
        _check_declared(path, declared, expected)
        total = sum(math.prod(d.shape) * d.dtype.itemsize for d in declared.values())
        check_claim(total, path, "weights file", os.stat(path).st_size)
        meta = _meta(path, meta_text)
        try:
            arrays = {k: f.get_tensor(k) for k in declared}
        except MemoryError:
            raise NNDSLError(
                f"not enough memory to read weights file '{show_path(path)}'"
            ) from None
        except Exception as e:
            raise _unreadable(path, e) from None
    return arrays, meta
