"""Weight files that load without pickle: `.npz` (numpy only) or `.safetensors`.

Each file carries its tensors and a JSON metadata record (the graph, the plan, the
input scaling), so a saved model is self-describing. Writes are atomic: a temporary
file is written, flushed to disk and renamed over the target.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError

META_KEY = "__nndsl_meta__"


def atomic_write(path: str | Path, write: Any) -> None:
    """Call `write(fileobj)` on a temporary file beside `path`, fsync, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_weights(path: str | Path, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    path = Path(path)
    meta_text = json.dumps(meta)
    if path.suffix == ".safetensors":
        try:
            from safetensors.numpy import save
        except ImportError:
            raise NNDSLError(
                "saving .safetensors needs: pip install 'nndsl[weights]'",
                hint="or save to a .npz file, which needs nothing more",
            ) from None
        data = save(
            {k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata={META_KEY: meta_text}
        )
        atomic_write(path, lambda f: f.write(data))
        return
    arrays = dict(tensors)
    arrays[META_KEY] = np.frombuffer(meta_text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_weights(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(tensors, metadata) from a file written by `save_weights`; never unpickles. Any
    defect of the file (truncated, corrupt, a pickle, not numbers) is an NNDSLError."""
    path = Path(path)
    if not path.is_file():
        raise NNDSLError(f"no such weights file: {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:1] == b"\x80":  # the first byte of a pickle (protocol 2 and later)
        raise NNDSLError(
            f"{path} is a Python pickle, which nndsl never loads (unpickling can run code)",
            hint="save weights with model.save(...) as .npz or .safetensors",
        )
    if head[:2] == b"PK":
        tensors, meta = _load_npz(path)
    else:
        tensors, meta = _load_safetensors(path)
    for name, value in tensors.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            what = getattr(value, "dtype", type(value).__name__)
            raise NNDSLError(f"{path}: tensor '{name}' holds {what}, not numbers")
    return tensors, meta


def _load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m.filename for m in archive.infolist()]
        foreign = [m for m in members if not m.endswith(".npy")]
        if foreign:
            pickled = any(m.endswith(".pkl") for m in foreign)
            raise NNDSLError(
                f"{path} is not an nndsl weights file: it holds '{foreign[0]}', "
                + (
                    "a pickle (a torch.save file?), which nndsl never loads"
                    if pickled
                    else "which is not a NumPy array"
                ),
                hint="save weights with model.save(...) as .npz or .safetensors",
            )
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except NNDSLError:
        raise
    except ValueError as e:
        if "bject arrays" in str(e):
            raise NNDSLError(
                f"{path} holds Python objects (pickled), which nndsl never loads"
            ) from None
        raise _unreadable(path, e) from None
    except Exception as e:  # zipfile, zlib and numpy raise many kinds for damaged files
        raise _unreadable(path, e) from None
    meta_raw = arrays.pop(META_KEY, None)
    meta_text = None
    if meta_raw is not None:
        try:
            meta_text = meta_raw.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            raise NNDSLError(f"{path}: its metadata record is corrupt") from None
    return arrays, _meta(path, meta_text)


def _unreadable(path: Path, e: BaseException) -> NNDSLError:
    reason = str(e) or type(e).__name__
    return NNDSLError(f"{path} is not a readable weights file (corrupt or truncated): {reason}")


def _meta(path: Path, text: str | None) -> dict[str, Any]:
    """The metadata record, which must be a JSON object (or absent)."""
    if text is None:
        return {}
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise NNDSLError(f"{path}: its metadata record is corrupt") from None
    if not isinstance(meta, dict):
        raise NNDSLError(f"{path}: its metadata record is corrupt (not a JSON object)")
    return meta


def _load_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        from safetensors import safe_open
    except ImportError:
        raise NNDSLError(
            f"{path} is not an .npz file; reading .safetensors needs: pip install 'nndsl[weights]'"
        ) from None
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta_text = (f.metadata() or {}).get(META_KEY)
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise _unreadable(path, e) from None
    return arrays, _meta(path, meta_text)
