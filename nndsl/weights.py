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
    """(tensors, metadata) from a file written by `save_weights`; never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise NNDSLError(f"no such weights file: {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:2] == b"PK":
        return _load_npz(path)
    return _load_safetensors(path)


def _load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise NNDSLError(
            f"{path} is not a readable weights file (corrupt or truncated): {e}"
        ) from None
    meta_raw = arrays.pop(META_KEY, None)
    meta = {}
    if meta_raw is not None:
        try:
            meta = json.loads(meta_raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise NNDSLError(f"{path}: its metadata record is corrupt") from None
    return arrays, meta


def _load_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        from safetensors import safe_open
    except ImportError:
        raise NNDSLError(
            f"{path} is not an .npz file; reading .safetensors needs: pip install 'nndsl[weights]'"
        ) from None
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta_text = (f.metadata() or {}).get(META_KEY, "{}")
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise NNDSLError(
            f"{path} is not a readable weights file (corrupt or truncated): {e}"
        ) from None
    return arrays, json.loads(meta_text)
