"""Finding and loading the Lark grammar (shipped in the wheel, or read from the repo)."""

from __future__ import annotations

import functools
from pathlib import Path

from lark import Lark

GRAMMAR_NAME = "nndsl.lark"


def grammar_path() -> Path:
    """The grammar file: inside the installed package, else the repo's `grammar/` folder."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "grammar" / GRAMMAR_NAME, here.parent / "grammar" / GRAMMAR_NAME):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"nndsl grammar {GRAMMAR_NAME} not found next to {here}")


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


@functools.cache
def lalr_parser(strict: bool = False) -> Lark:
    """The LALR parser. `strict=True` (needs `interegular`) also proves terminals never collide."""
    return Lark(
        grammar_text(),
        parser="lalr",
        strict=strict,
        propagate_positions=True,
        maybe_placeholders=False,
    )
