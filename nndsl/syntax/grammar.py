"""Finding and loading the Lark grammar (shipped in the wheel, or read from the repo)."""

from __future__ import annotations

from pathlib import Path

from lark import Lark, Transformer
from lark import lexer as lark_lexer

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


_PARSERS: dict[tuple[type | None, bool], Lark] = {}


def lalr_parser(strict: bool = False, transformer: Transformer | None = None) -> Lark:
    """The LALR parser, built once per (transformer class, strict). With a transformer,
    rules are transformed as they are reduced, without building a parse tree.
    `strict=True` (needs `interegular`) also proves that no two terminals collide."""
    key = (type(transformer) if transformer is not None else None, strict)
    parser = _PARSERS.get(key)
    if parser is None:
        # Where `interegular` is installed, lark checks every pair of terminals for
        # collisions on each build (~0.3 s). The strict build proves there are none (a test
        # does it), so runtime builds skip the check.
        saved = getattr(lark_lexer, "has_interegular", False)
        lark_lexer.has_interegular = saved and strict
        try:
            parser = _PARSERS[key] = Lark(
                grammar_text(),
                parser="lalr",
                strict=strict,
                propagate_positions=transformer is None,
                maybe_placeholders=False,
                transformer=transformer,
            )
        finally:
            lark_lexer.has_interegular = saved
    return parser
