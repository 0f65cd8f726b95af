"""Shared fixtures for the data layer: files written under tmp_path, loaded through specs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nndsl.data import Dataset, load_data
from nndsl.ir.signature import Spec


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """write(name, text_or_bytes) -> the file's path under tmp_path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def load_csv_text(tmp_path: Path, write) -> Callable[..., Dataset]:
    """load_csv_text(text, target="y", **args): write data.csv and load it as csv(...)."""

    def _load(text: str, target="y", **args) -> Dataset:
        write("data.csv", text)
        return load_data(Spec("csv", {"path": "data.csv", "target": target, **args}), str(tmp_path))

    return _load
