"""`nndsl fmt`: one canonical layout for `.nn` source, with every comment kept.

The layout: blocks separated by one blank line, one statement per line indented four
spaces per level, `key=value` inside calls, `key = value` settings with their `=` signs
aligned. Numbers and strings are written exactly as in the source. Inside a block, a run
of blank lines between statements shrinks to one, and trailing comments line up.

Comments are attached to the output line they belong to: a comment alone on its line
goes before the next statement (or before the `}` that closes its block); a comment after
code stays at the end of that line; a comment inside a statement that spans several lines
moves to just before it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from nndsl.syntax import ast
from nndsl.syntax.parser import parse

INDENT = "    "
ALIGN_LIMIT = 40  # trailing comments of lines up to this long align in a column
Pos = tuple[int, int]  # (line, column), 1-based


@dataclass
class _Line:
    """One line of output code: a block or repeat header, a statement, a setting, a `}`."""

    text: str
    depth: int
    start: Pos
    end: Pos
    kind: str  # "open" | "close" | "stmt"
    top: bool = False  # opens a top-level block
    align: int | None = None  # the lines inside one block share an id: comments align
    leading: list[ast.Comment] = field(default_factory=list)
    trailing: ast.Comment | None = None


def format_source(source: str, path: str | None = None) -> str:
    """`source` in the canonical layout; raises `NNDSLError` when it does not parse."""
    module = parse(source, path)
    src_lines = module.source.split("\n")  # as parsed: without a byte-order mark
    lines: list[_Line] = []
    previous = None
    for index, block in enumerate(module.blocks):
        if isinstance(block, ast.Use):
            lines.append(_use(block, src_lines, top=not isinstance(previous, ast.Use)))
        else:
            lines.extend(_block(block, src_lines, index))
        previous = block
    file_end = _attach_comments(lines, module.comments, src_lines)
    return _render(lines, file_end, src_lines)


# ------------------------------------------------------------------ AST -> lines


def _start(span: ast.Span) -> Pos:
    return (span.line, span.column)


def _end(span: ast.Span) -> Pos:
    return (span.end_line, span.end_column)


def _close(span: ast.Span, depth: int) -> _Line:
    rbrace = (span.end_line, span.end_column - 1)
    return _Line("}", depth, rbrace, _end(span), "close")


def _use(use: ast.Use, src: list[str], top: bool) -> _Line:
    """`use std` / `use "blocks.nn"`: a run of them stays together, one per line."""
    path = "std" if use.std else _as_written(ast.String(use.path, use.path_span), src)
    return _Line(f"use {path}", 0, _start(use.span), _end(use.span), "stmt", top=top)


def _param(p: ast.BlockParam, src: list[str]) -> str:
    text = p.name if p.kind is None else f"{p.name}: {p.kind}"
    return text if p.default is None else f"{text} = {_value(p.default, src)}"


def _block(block: ast.Model | ast.Train | ast.BlockDef, src: list[str], index: int) -> list[_Line]:
    if isinstance(block, ast.BlockDef):
        params = ", ".join(_param(p, src) for p in block.params)
        last = block.params[-1].span if block.params else block.name_span
        head = _Line(
            f"block {block.name}({params}) {{",
            0,
            _start(block.span),
            _brace_after(_end(last), src),
            "open",
            top=True,
        )
        return [head, *_statements(block.body, 1, src, index), _close(block.span, 0)]
    if isinstance(block, ast.Model):
        head = _Line(
            f"model {block.name} {{",
            0,
            _start(block.span),
            _brace_after(_end(block.name_span), src),
            "open",
            top=True,
        )
        return [head, *_statements(block.body, 1, src, index), _close(block.span, 0)]
    if block.model_span is not None:
        head_end, text = _end(block.model_span), f"train {block.model} {{"
    else:
        head_end, text = (block.span.line, block.span.column + len("train")), "train {"
    head = _Line(text, 0, _start(block.span), _brace_after(head_end, src), "open", top=True)
    width = max((len(s.key) for s in block.settings), default=0)
    settings = [
        _Line(
            f"{s.key.ljust(width)} = {_value(s.value, src)}",
            1,
            _start(s.span),
            _end(s.span),
            "stmt",
            align=index,
        )
        for s in block.settings
    ]
    return [head, *settings, _close(block.span, 0)]


def _brace_after(pos: Pos, src: list[str]) -> Pos:
    """Just past the `{` that opens a block, the first token after `pos`."""
    line, col = pos
    while line <= len(src):
        text = src[line - 1]
        while col <= len(text):
            ch = text[col - 1]
            if ch == "{":
                return (line, col + 1)
            if ch == "#":
                break
            col += 1
        line, col = line + 1, 1
    return pos


def _statements(
    body: tuple[ast.Statement, ...], depth: int, src: list[str], align: int
) -> list[_Line]:
    out: list[_Line] = []
    for stmt in body:
        if isinstance(stmt, ast.Repeat):
            count = stmt.count if stmt.count_expr is None else _value(stmt.count_expr, src)
            head = _Line(
                f"repeat {count} {{",
                depth,
                _start(stmt.span),
                _brace_after(_end(stmt.count_span), src),
                "open",
                align=align,
            )
            close = _close(stmt.span, depth)
            close.align = align
            out += [head, *_statements(stmt.body, depth + 1, src, align), close]
        elif isinstance(stmt, ast.Output):
            text = "output " + ", ".join(n.name for n in stmt.names)
            out.append(_Line(text, depth, _start(stmt.span), _end(stmt.span), "stmt", align=align))
        else:
            call = _value(stmt.call, src)
            text = call if stmt.target is None else f"{stmt.target} = {call}"
            out.append(_Line(text, depth, _start(stmt.span), _end(stmt.span), "stmt", align=align))
    return out


def _value(v: ast.Value, src: list[str]) -> str:
    if isinstance(v, ast.Number):
        return v.text or repr(v.value)
    if isinstance(v, ast.String):
        return _as_written(v, src)
    if isinstance(v, ast.Bool):
        return "true" if v.value else "false"
    if isinstance(v, ast.NoneValue):
        return "none"
    if isinstance(v, ast.Name):
        return v.name
    if isinstance(v, ast.ListValue):
        return "[" + ", ".join(_value(x, src) for x in v.items) + "]"
    if isinstance(v, ast.Call):
        return f"{v.name}({_args(v.args, src)})"
    if isinstance(v, ast.BinOp):  # parsed by precedence: no parentheses to add
        return f"{_value(v.left, src)} {v.op} {_value(v.right, src)}"
    if isinstance(v, ast.Neg):
        return "-" + _value(v.operand, src)
    if isinstance(v, ast.Paren):
        return f"({_value(v.inner, src)})"
    if len(v.args) == 1 and v.args[0].name is None:  # `(x,)`: without its comma, a Paren
        return f"({_args(v.args, src)},)"
    return f"({_args(v.args, src)})"


def _args(args: tuple[ast.Arg, ...], src: list[str]) -> str:
    return ", ".join(
        _value(a.value, src) if a.name is None else f"{a.name}={_value(a.value, src)}" for a in args
    )


def _as_written(s: ast.String, src: list[str]) -> str:
    """The string literal exactly as the source spells it (escapes kept)."""
    sp = s.span
    if sp.line == sp.end_line and 1 <= sp.line <= len(src):
        text = src[sp.line - 1][sp.column - 1 : sp.end_column - 1]
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return text
    escaped = s.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# ------------------------------------------------------------------ comments


def _attach_comments(
    lines: list[_Line], comments: list[ast.Comment], src: list[str]
) -> list[ast.Comment]:
    """Give each comment to a line, as leading or trailing; return those left at file end."""
    starts = [line.start for line in lines]
    file_end: list[ast.Comment] = []
    for c in comments:
        pos = (c.line, c.column)
        i = bisect.bisect_left(starts, pos) - 1  # the last line starting before the comment
        if i >= 0 and pos < lines[i].end:  # inside a statement written over several lines
            lines[i].leading.append(c)
        elif src[c.line - 1][: c.column - 1].strip():  # after code on the same line
            if lines[i].trailing is not None:  # `repeat 2  # a` then `{  # b` below it
                lines[i].leading.append(lines[i].trailing)
            lines[i].trailing = c
        elif i + 1 < len(lines):
            lines[i + 1].leading.append(c)
        else:
            file_end.append(c)
    return file_end


# ------------------------------------------------------------------ rendering


def _render(lines: list[_Line], file_end: list[ast.Comment], src: list[str]) -> str:
    out: list[str] = []
    prev_line = 0  # the source line of the last thing written
    after_open = False

    def blank_between(first: int) -> bool:
        return any(not src[k].strip() for k in range(prev_line, first - 1))

    def put(text: str, last: int, blank: bool) -> None:
        nonlocal prev_line
        if out and blank:
            out.append("")
        out.append(text)
        prev_line = max(prev_line, last)

    comment_col = _comment_columns(lines)
    for line in lines:
        group_first = True
        for c in line.leading:
            depth = line.depth + 1 if line.kind == "close" else line.depth
            if line.top and group_first:
                blank = True
            else:
                blank = not after_open and blank_between(c.line)
            put(INDENT * depth + c.text, c.line, blank)
            group_first = after_open = False
        if line.top and group_first:
            blank = True
        else:
            blank = not after_open and line.kind != "close" and blank_between(line.start[0])
        code = INDENT * line.depth + line.text
        if line.trailing is not None:
            width = comment_col.get(line.align, 0) if line.align is not None else 0
            code = code.ljust(width - 2) + "  " + line.trailing.text
        put(code, line.end[0], blank)
        after_open = line.kind == "open"
    for c in file_end:
        put(c.text, c.line, blank_between(c.line))
    return "\n".join(out) + "\n" if out else ""


def _comment_columns(lines: list[_Line]) -> dict[int, int]:
    """Per block: the column where the trailing comments of its lines start, two spaces
    after the longest commented line. Lines longer than ALIGN_LIMIT do not push the
    column out; their comments just follow them."""
    cols: dict[int, int] = {}
    for line in lines:
        width = len(INDENT * line.depth + line.text)
        if line.align is not None and line.trailing is not None and width <= ALIGN_LIMIT:
            cols[line.align] = max(cols.get(line.align, 0), width + 2)
    return cols
