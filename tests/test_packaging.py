"""The wheel is complete: it ships the grammar, so an installed (non-editable) nndsl works."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(out: Path) -> Path:
    hatchling_build = pytest.importorskip("hatchling.build")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        name = hatchling_build.build_wheel(str(out))
    finally:
        os.chdir(cwd)
    return out / name


def test_wheel_ships_grammar_and_console_script(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "nndsl/grammar/nndsl.lark" in names
    assert "nndsl = nndsl.cli:main" in entry_points
    grammar = (ROOT / "grammar" / "nndsl.lark").read_bytes()
    with zipfile.ZipFile(wheel) as z:
        assert z.read("nndsl/grammar/nndsl.lark") == grammar


def test_installed_wheel_compiles_a_file(tmp_path):
    wheel = build_wheel(tmp_path)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)  # a wheel is installed by unpacking it
    code = (
        "import nndsl, sys; "
        "assert nndsl.__file__.startswith(sys.argv[1]), nndsl.__file__; "
        "p = nndsl.compile_file(sys.argv[2]); print(p.graph.param_count)"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(site), str(ROOT / "examples" / "xor.nn")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == "33"
