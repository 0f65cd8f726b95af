"""Syntax errors in the forms of blocks, `use`, `output` and arithmetic, explained in
words: what the parser had read when it stopped, and what that form needs next."""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token, Tree

from nndsl.syntax import ast

OPERATORS = {"PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "DSLASH": "//", "PERCENT": "%"}
PARAMETER = "a parameter is `name`, `name: kind`, `name = default` or `name: kind = default`"
KINDS = "int, float, bool, string or name"


@dataclass(frozen=True)
class Prev:
    """The last thing the parser accepted before an unexpected token."""

    kind: str  # a terminal name, or NUMBER for an already-built ast.Number
    text: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of(cls, tok: Token) -> Prev:
        return cls(tok.type, str(tok), tok.line, tok.column, tok.end_line, tok.end_column)


Mistake = tuple[str, Prev, int, str]  # message, where, width of the caret, hint


def read_so_far(parser_state) -> list:
    """The parser's value stack, with lark's helper trees (`__model_star_1`) opened:
    tokens and AST nodes, in source order."""
    out: list = []
    for item in parser_state.value_stack if parser_state is not None else ():
        if isinstance(item, Tree):
            out.extend(item.children)
        else:
            out.append(item)
    return out


def _last(items: list, *types: str) -> int:
    """Index of the last token of one of `types` in `items`, or -1."""
    for i in range(len(items) - 1, -1, -1):
        if isinstance(items[i], Token) and items[i].type in types:
            return i
    return -1


def _in_block_header(items: list) -> bool:
    """Between `block NAME(` and its `{`, outside any bracket opened inside it."""
    at = _last(items, "BLOCK")
    return at >= 0 and _last(items, "LBRACE", "LPAR", "LSQB") <= at + 2


def form_mistake(items: list, prev: Prev | None, tok: Token | None, expected: set[str]):
    """A message for a mistake in one of the new forms, or None. `tok` is None at the
    end of the file."""
    if prev is None:
        return None
    header = _in_block_header(items)
    if prev.kind in OPERATORS and "INT" in expected:
        op = OPERATORS[prev.kind]
        adjacent = tok is not None and (tok.line, tok.column) == (prev.end_line, prev.end_column)
        if adjacent and tok.type == "STAR" and op == "*":
            return ("there is no '**' (power) operator", prev, 2, "write `x * x`")
        return (
            f"'{op}' needs a value on its right",
            prev,
            len(op),
            f"e.g. `units {op} 2`" if op != "-" else "e.g. `units - 1` or `-units`",
        )
    if prev.kind == "USE":
        return _no_path(prev)
    before = items[-2] if len(items) >= 2 else None
    if (
        isinstance(before, Token)
        and before.type == "USE"
        and prev.text in ("model", "train", "block", "use")
    ):
        return _no_path(Prev.of(before))  # `use` then `model m {`: `model` read as its path
    if prev.kind == "OUTPUT":
        return (
            "'output' needs the names of the layers the model ends in",
            prev,
            len("output"),
            "e.g. `output label, value`",
        )
    if prev.kind == "COMMA" and _last(items, "OUTPUT") > _last(items, "LPAR", "LBRACE"):
        return (
            "expected another layer name after ','",
            prev,
            1,
            "`output a, b` lists names with no ',' after the last",
        )
    if prev.kind == "REPEAT":
        return (
            "'repeat' needs a count",
            prev,
            len("repeat"),
            "e.g. `repeat 3 { ... }`, or in a block `repeat depth { ... }`",
        )
    if prev.kind == "BLOCK":
        return ("'block' needs a name", prev, len("block"), "block NAME(params) { ... }")
    if header:
        return _in_header(items, prev, tok, expected)
    return None


def _no_path(use: Prev) -> Mistake:
    return (
        "'use' needs a file path or std",
        use,
        len("use"),
        'e.g. `use "blocks.nn"` or `use std`',
    )


def _in_header(items: list, prev: Prev, tok: Token | None, expected: set[str]):
    if prev.kind == "EQUAL":
        return (
            "expected a default value after '='",
            prev,
            1,
            "e.g. `rate: float = 0.1`; a parameter without a default has no '='",
        )
    if prev.kind == "COLON":
        return ("expected a kind after ':'", prev, 1, f"kinds: {KINDS}")
    if expected == {"LPAR"}:
        return (
            "a block's parameters go in parentheses after its name",
            prev,
            len(prev.text),
            f"`block {prev.text}() {{` when it has none",
        )
    if expected == {"LBRACE"}:
        return (
            "expected '{' and the block's body",
            prev,
            len(prev.text),
            "block NAME(params) { ... }",
        )
    if tok is not None and tok.type == "LBRACE" and "RPAR" in expected:
        return (
            "the parameter list is missing its closing ')'",
            Prev.of(tok),
            1,
            "close it before the body: `block NAME(units: int) {`",
        )
    if "NAME" in expected or "COMMA" in expected:
        return (
            f"unexpected {_shown(tok)} in a block's parameter list",
            Prev.of(tok) if tok is not None else prev,
            len(str(tok)) if tok is not None else 1,
            f"{PARAMETER}, separated by ','",
        )
    return None


def _shown(tok: Token | None) -> str:
    if tok is None:
        return "end of file"
    return f"'{tok}'"


def number_before(item) -> Prev | None:
    if isinstance(item, ast.Number):  # the AST is built while parsing
        sp = item.span
        return Prev("NUMBER", item.text, sp.line, sp.column, sp.end_line, sp.end_column)
    return None
