"""The README's examples run: every python block executes, every complete .nn block checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nndsl

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_opens_with_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    first_code = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    assert "nndsl run examples/" in first_code
    assert "pytest" in first_code


@pytest.mark.parametrize("code", [c for lang, c in BLOCKS if lang == "python"])
def test_python_blocks_run(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})


@pytest.mark.parametrize("source", [c for lang, c in BLOCKS if lang == "" and "model " in c])
def test_nn_blocks_compile(source):
    if "train" not in source:  # a model on its own is complete too
        nndsl.compile_string(source)
        return
    program = nndsl.compile_string(source, path=str(README.parent / "examples" / "x.nn"))
    assert program.graph.param_count > 0
