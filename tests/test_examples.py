"""Every example is valid and already in `nndsl fmt`'s canonical layout."""

from __future__ import annotations

from pathlib import Path

import pytest

import nndsl
from nndsl.syntax.format import format_source

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").rglob("*.nn"))


def test_there_are_examples():
    names = {p.name for p in EXAMPLES}
    assert {"will_i_pass.nn", "spirals.nn", "digits.nn", "residual.nn"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_compiles_and_is_formatted(path):
    program = nndsl.compile_file(path)
    assert program.train is not None, "every example trains something"
    source = path.read_text(encoding="utf-8")
    assert format_source(source, str(path)) == source, f"run: nndsl fmt {path}"
