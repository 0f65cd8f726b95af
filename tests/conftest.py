"""Shared fixtures: the valid programs of `tests/programs/` and the project's examples.

A test that takes `program_path` runs once per valid test program; one that takes
`example_path` runs once per `examples/**/*.nn` file found when the tests are collected
(other people keep adding examples); `valid_path` covers both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "tests" / "programs").glob("*.nn"))
EXAMPLES = sorted((ROOT / "examples").glob("**/*.nn"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, paths in (
        ("program_path", PROGRAMS),
        ("example_path", EXAMPLES),
        ("valid_path", PROGRAMS + EXAMPLES),
    ):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, paths, ids=_ids(paths))


@pytest.fixture
def repo_root() -> Path:
    return ROOT
