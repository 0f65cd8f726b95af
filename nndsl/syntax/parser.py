"""Source text -> `Module` AST, with syntax errors located and explained in words."""

from __future__ import annotations

import ast as pyast
import re
import threading
import warnings

from lark import Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from nndsl.errors import NNDSLError
from nndsl.syntax import ast
from nndsl.syntax.grammar import lalr_parser
from nndsl.syntax.hints import Prev, form_mistake, number_before, read_so_far

# What each terminal is called in an error message.
TERMINAL_WORDS = {
    "MODEL": "'model'",
    "TRAIN": "'train'",
    "REPEAT": "'repeat'",
    "BLOCK": "'block'",
    "USE": "'use'",
    "OUTPUT": "'output'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "NONE": "'none'",
    "NAME": "a name",
    "DOTTED_NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "COLON": "':'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "DSLASH": "'//'",
    "PERCENT": "'%'",
    "$END": "end of file",
    "value": "a value",
}


def _span(item: Token | Tree) -> ast.Span:
    if isinstance(item, Token):
        return ast.Span(item.line, item.column, item.end_line, item.end_column)
    m = item.meta
    return ast.Span(m.line, m.column, m.end_line, m.end_column)


def _join(a: ast.Span, b: ast.Span) -> ast.Span:
    return ast.Span(a.line, a.column, b.end_line, b.end_column)


class _Arguments(list):
    """The arguments of a call or a group, and whether a comma ended them: `(x)` is a
    value in parentheses, `(x,)` a group of one."""

    trailing_comma = False


# The height of every bracket and operator node built so far in this parse (by id, with
# the node, so an id is never reused while its entry stands): bounding it keeps every
# recursive walk over values (compiler, fmt, equality) far from Python's stack limit.
_HEIGHTS = threading.local()


def _height(value: object) -> int:
    entry = _HEIGHTS.table.get(id(value))
    return entry[0] if entry is not None else 0


def _bounded(node, children, at: Token | ast.Span):
    """`node`, one level above the highest of `children`; refused past MAX_NESTING."""
    height = 1 + max((_height(c) for c in children), default=0)
    if height > MAX_NESTING:
        sp = _span(at) if isinstance(at, Token) else at
        raise NNDSLError(
            f"this expression nests more than {MAX_NESTING} deep",
            line=sp.line,
            column=sp.column,
            end_column=sp.end_column if sp.end_line == sp.line else None,
            hint="each bracket and each operator is one level; a long chain like "
            "`1 + 1 + ...` is better written as its value",
        )
    _HEIGHTS.table[id(node)] = (height, node)
    return node


class _ToAst(Transformer):
    """Builds AST dataclasses bottom-up; spans come from tokens and rule metadata."""

    def start(self, blocks):
        return list(blocks)

    def model(self, items):
        kw, name, lbrace, *body, rbrace = items
        return ast.Model(str(name), tuple(body), _join(_span(kw), _span(rbrace)), _span(name))

    def layer(self, items):
        if len(items) == 3:
            target, _eq, call = items
            return ast.Layer(call, _join(_span(target), call.span), str(target), _span(target))
        (call,) = items
        return ast.Layer(call, call.span)

    def output_call(self, items):
        """`output(...)` as a statement: a layer called `output`, as before the keyword."""
        call = self.call(items)
        return ast.Layer(call, call.span)

    def output(self, items):
        kw, *rest = items
        names = tuple(i for i in rest if isinstance(i, ast.Name))
        return ast.Output(names, _join(_span(kw), names[-1].span))

    def repeat(self, items):
        kw, count, _lb, *body, rbrace = items
        span = _join(_span(kw), _span(rbrace))
        if isinstance(count, ast.Number) and isinstance(count.value, int):
            return ast.Repeat(count.value, tuple(body), span, count.span)
        return ast.Repeat(0, tuple(body), span, count.span, count_expr=count)

    def block_def(self, items):
        kw, name, _lpar, *rest = items
        params = rest.pop(0) if isinstance(rest[0], list) else []
        _rpar, _lbrace, *body, rbrace = rest
        return ast.BlockDef(
            str(name),
            tuple(params),
            tuple(body),
            _join(_span(kw), _span(rbrace)),
            _span(name),
        )

    def params(self, items):
        return [i for i in items if isinstance(i, ast.BlockParam)]

    def param(self, items):
        name, *rest = items
        kind = kind_span = default = None
        end = _span(name)
        if rest and isinstance(rest[0], Token) and rest[0].type == "COLON":
            kind_tok = rest[1]
            kind, kind_span, end = str(kind_tok), _span(kind_tok), _span(kind_tok)
            rest = rest[2:]
        if rest:  # `= default`
            default = rest[1]
            end = default.span
        span = _join(_span(name), end)
        return ast.BlockParam(str(name), kind, default, span, _span(name), kind_span)

    def use(self, items):
        kw, target = items
        span = _join(_span(kw), _span(target))
        if target.type == "STRING":
            return ast.Use(_string_value(target), span, _span(target))
        if str(target) != "std":
            raise NNDSLError(
                f"'use' takes a file path in double quotes, or std; got the name '{target}'",
                line=target.line,
                column=target.column,
                end_column=target.end_column,
                hint=f'write `use "{target}.nn"` for a file, `use std` for the standard blocks',
            )
        return ast.Use("std", span, _span(target), std=True)

    def train(self, items):
        kw = items[0]
        rbrace = items[-1]
        if isinstance(items[1], Token) and items[1].type == "NAME":
            name, settings = items[1], items[3:-1]
            return ast.Train(
                str(name), tuple(settings), _join(_span(kw), _span(rbrace)), _span(name)
            )
        return ast.Train(None, tuple(items[2:-1]), _join(_span(kw), _span(rbrace)))

    def setting(self, items):
        key, _eq, value = items
        return ast.Setting(str(key), value, _join(_span(key), value.span), _span(key))

    def call(self, items):
        name, lpar, *rest = items
        rpar = rest[-1]
        args = rest[0] if len(rest) == 2 else ()
        node = ast.Call(str(name), tuple(args), _join(_span(name), _span(rpar)), _span(name))
        return _bounded(node, [a.value for a in args], lpar)

    def arguments(self, items):
        out = _Arguments()
        for item in items:
            if isinstance(item, Token) and item.type == "COMMA":
                continue
            if isinstance(item, ast.Arg):
                out.append(item)
            else:
                out.append(ast.Arg(None, item, item.span))
        last = items[-1]
        out.trailing_comma = isinstance(last, Token) and last.type == "COMMA"
        return out

    def keyword(self, items):
        key, _eq, value = items
        return ast.Arg(str(key), value, _join(_span(key), value.span))

    def int(self, items):
        (tok,) = items
        return ast.Number(_int_value(tok), _span(tok), str(tok))

    def float(self, items):
        (tok,) = items
        return ast.Number(float(tok), _span(tok), str(tok))

    def string(self, items):
        (tok,) = items
        return ast.String(_string_value(tok), _span(tok))

    def true(self, items):
        return ast.Bool(True, _span(items[0]))

    def false(self, items):
        return ast.Bool(False, _span(items[0]))

    def none(self, items):
        return ast.NoneValue(_span(items[0]))

    def name(self, items):
        (tok,) = items
        return ast.Name(str(tok), _span(tok))

    def list(self, items):
        lsq, rsq = items[0], items[-1]
        values = [i for i in items[1:-1] if not (isinstance(i, Token) and i.type == "COMMA")]
        return _bounded(ast.ListValue(tuple(values), _join(_span(lsq), _span(rsq))), values, lsq)

    def group(self, items):
        lpar, rpar = items[0], items[-1]
        args = items[1] if len(items) == 3 else _Arguments()
        span = _join(_span(lpar), _span(rpar))
        values = [a.value for a in args]
        if len(args) == 1 and args[0].name is None and not args.trailing_comma:
            return _bounded(ast.Paren(args[0].value, span), values, lpar)
        return _bounded(ast.Group(tuple(args), span), values, lpar)

    def binop(self, items):
        left, op, right = items
        node = ast.BinOp(str(op), left, right, _join(left.span, right.span))
        return _bounded(node, (left, right), op)

    def neg(self, items):
        minus, operand = items
        span = _join(_span(minus), operand.span)
        if isinstance(operand, ast.Number) and operand.text[:1] not in ("-", "+"):
            # `- 3` is the number -3, as `-3` is: one spelling, one AST
            return ast.Number(-operand.value, span, "-" + operand.text)
        return _bounded(ast.Neg(operand, span), (operand,), minus)


MAX_DIGITS = 100  # of an integer literal; Python itself refuses to read over 4,300


def _int_value(tok: Token) -> int:
    """An integer literal's value. Its length is bounded before it is read: Python's
    int() refuses over 4,300 digits, and no count or size in a model needs 100."""
    digits = len(tok.lstrip("+-"))
    if digits > MAX_DIGITS:
        raise NNDSLError(
            f"this number has {digits:,} digits; "
            f"nndsl reads integers of at most {MAX_DIGITS} digits",
            line=tok.line,
            column=tok.column,
            end_column=tok.end_column if tok.end_line == tok.line else None,
            hint="write a large value as a float, e.g. 1e30",
        )
    return int(tok)


def _string_value(tok: Token) -> str:
    """A string literal's value: escapes as in Python ("\\t", "\\u00e9", "\\\\")."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "\\d" stays a backslash and a d, silently
            return pyast.literal_eval(str(tok))
    except (SyntaxError, ValueError) as e:
        reason = str(getattr(e, "msg", e)).rsplit(": ", 1)[-1]
        if "null bytes" in reason:
            reason = "it holds a NUL byte"
        raise NNDSLError(
            f"bad string: {reason}",
            line=tok.line,
            column=tok.column,
            end_column=tok.end_column if tok.end_line == tok.line else None,
            hint='escapes: \\\\ \\" \\n \\t \\xHH \\uHHHH; a string cannot hold a NUL byte',
        ) from None


_VALUE_START = {"INT", "FLOAT", "STRING", "NAME", "DOTTED_NAME", "TRUE", "FALSE", "NONE"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "DSLASH", "PERCENT"}


def _expected_words(expected: set[str]) -> str:
    if {"INT", "FLOAT", "STRING", "NAME"} <= expected:  # anything that starts a value
        expected = (expected - _VALUE_START - {"LSQB", "LPAR", "MINUS"}) | {"value"}
    if expected - _OPERATORS:  # after a value an operator may always come: not news
        expected = expected - _OPERATORS
    words = sorted({TERMINAL_WORDS.get(t, t.lower()) for t in expected})
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_error(err: UnexpectedInput, path: str | None, source: str) -> NNDSLError:
    line, column = err.line, err.column
    hint = None
    if isinstance(err, UnexpectedCharacters):
        char = source[err.pos_in_stream] if err.pos_in_stream < len(source) else "?"
        message = f"unexpected character {char!r}"
        if char == "'":
            hint = 'strings use double quotes: "like this"'
        elif char == ";":
            hint = "statements need no ';' - put one per line"
        elif char == ".":
            hint = "a layer inside a block instance is written `instance.name`, e.g. `enc.mean`"
        elif char == "^":
            hint = "arithmetic has + - * / // % and no power operator: write `x * x`"
        return NNDSLError(message, line=line, column=column, path=path, source=source, hint=hint)
    # `accepts` replays the parser, so it lists only what could really come next.
    expected = set(getattr(err, "accepts", None) or getattr(err, "expected", None) or ())
    if (
        isinstance(err, UnexpectedToken)
        and err.token.type == "$END"
        or isinstance(err, UnexpectedEOF)
    ):
        lines = source.split("\n")  # as the parser counts lines
        if len(lines) > 1 and not lines[-1]:
            lines.pop()  # the end of the last line, not the empty one after it
        line, column = len(lines), len(lines[-1].rstrip("\r")) + 1
        message = f"unexpected end of file, expected {_expected_words(expected)}"
        if "RBRACE" in expected:
            hint = "a block is missing its closing '}'"
        state = getattr(getattr(err, "interactive_parser", None), "parser_state", None)
        items = read_so_far(state)
        mistake = form_mistake(items, _previous(items), None, expected)
        if mistake is not None:  # its message says what the form needs; the caret is here
            said = mistake[0].startswith("unexpected")
            hint = mistake[3] if said else f"{mistake[0]}: {mistake[3]}"
        return NNDSLError(message, line=line, column=column, path=path, source=source, hint=hint)
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    items = read_so_far(getattr(getattr(err, "interactive_parser", None), "parser_state", None))
    special = _token_after(_previous(items), tok, expected, source)
    if special is None:
        special = form_mistake(items, _previous(items), tok, expected)
    if special is not None:
        message, at, width, hint = special
        return NNDSLError(
            message,
            line=at.line,
            column=at.column,
            end_column=at.column + width,
            path=path,
            source=source,
            hint=hint,
        )
    shown = TERMINAL_WORDS.get(tok.type, tok.type.lower())
    if tok.type == "NAME":
        shown = f"name '{tok}'"
    elif tok.type in ("INT", "FLOAT"):
        shown = f"number {tok}"
    elif tok.type == "STRING":
        shown = f"string {tok}"
    message = f"unexpected {shown}, expected {_expected_words(expected)}"
    if expected >= {"COMMA", "RPAR"} or expected >= {"COMMA", "RSQB"}:
        hint = "separate arguments with ','"
    elif tok.type == "EQUAL" and "LPAR" in expected:
        hint = "a setting like `key = value` belongs in a `train` block"
    elif expected - {"$END"} == {"MODEL", "TRAIN", "BLOCK", "USE"}:
        hint = (
            "a file holds `model NAME { ... }`, `train NAME { ... }` and "
            '`block NAME(...) { ... }` blocks, and `use "file.nn"` lines'
        )
    elif tok.type == "NAME" and "LPAR" in expected:
        hint = "a layer is written as a call, e.g. `dense(8)`"
    elif expected == {"EQUAL"}:
        hint = "a setting is written `key = value`"
    elif expected == {"NAME"}:
        hint = "in a model, `h = dense(8)` names a layer; settings go in a `train` block"
    end = tok.end_column if tok.end_line == tok.line else None
    return NNDSLError(
        message, line=line, column=column, end_column=end, path=path, source=source, hint=hint
    )


_NUMBER_RUN = re.compile(r"[+-]?[0-9A-Za-z_.]+(?:[+-][0-9A-Za-z_.]+)*")


def _previous(items: list) -> Prev | None:
    item = items[-1] if items else None
    if isinstance(item, Token):
        return Prev.of(item)
    return number_before(item)


def _token_after(
    prev: Prev | None, tok: Token, expected: set[str], source: str
) -> tuple[str, Prev, int, str] | None:
    """Mistakes better explained at what came before the unexpected token:
    (message, where, width of the caret, hint), or None."""
    if prev is None:
        return None
    adjacent = (prev.end_line, prev.end_column) == (tok.line, tok.column)
    if prev.kind in ("INT", "FLOAT", "NUMBER") and adjacent:
        line = source.split("\n")[prev.line - 1]
        run = _NUMBER_RUN.match(line, prev.column - 1)
        text = run.group() if run else prev.text
        return (
            f"malformed number '{text}'",
            prev,
            len(text),
            "numbers are written like 3, -2, 0.5, .5, 1e-3 or 2.5E+4",
        )
    if (
        prev.kind == "NAME"
        and prev.text in ("model", "train", "block", "use")
        and ("EQUAL" in expected)
    ):
        starts = "a new block" if prev.text != "use" else "a new line of the file"
        return (
            f"'{prev.text}' starts {starts}, but the block above it is not closed",
            prev,
            len(prev.text),
            "add the missing '}' before it"
            + ("" if prev.text in ("model", "train") else "; blocks and `use` go at the top level"),
        )
    if prev.kind == "NAME" and expected == {"LPAR", "EQUAL"}:
        return (
            f"'{prev.text}' needs parentheses: a layer is written as a call",
            prev,
            len(prev.text),
            f"e.g. {prev.text}(...)",
        )
    return None


def _comments(source: str) -> list[ast.Comment]:
    """Every `# comment` with its position (strings may contain '#')."""
    out = []
    for lineno, text in enumerate(source.split("\n"), start=1):  # lines as the parser counts
        in_string = escaped = False
        for col, ch in enumerate(text):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                out.append(ast.Comment(text[col:].rstrip(), lineno, col + 1))
                break
    return out


# Brackets inside brackets, and blocks inside blocks (a model and its nested repeats),
# each at most this deep. Every walk over the AST (compiler, sweeps, formatter, lint)
# recurses once per level, so the bound keeps them all far from Python's stack limit;
# checking it here, before parsing, makes `nndsl fmt` and `nndsl check` refuse alike.
MAX_NESTING = 64
_NESTING = re.compile(r'[(\[{]|[)\]}]|"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\n')
_WHAT = {"(": "brackets", "[": "brackets", "{": "blocks"}


def _check_nesting(source: str, path: str | None) -> None:
    """Refuse brackets, or blocks, nested deeper than MAX_NESTING, at the first one too
    deep. Brackets and braces are counted apart (a list in a repeat adds to neither)."""
    if max(source.count("(") + source.count("["), source.count("{")) <= MAX_NESTING:
        return
    depth = {"brackets": 0, "blocks": 0}
    line, line_start = 1, 0
    for m in _NESTING.finditer(source):
        ch = m.group()
        if ch == "\n":
            line, line_start = line + 1, m.end()
        elif ch in "([{":
            kind = _WHAT[ch]
            depth[kind] += 1
            if depth[kind] > MAX_NESTING:
                raise NNDSLError(
                    f"{kind} nested more than {MAX_NESTING} deep",
                    line=line,
                    column=m.start() - line_start + 1,
                    path=path,
                    source=source,
                    hint="repeat blocks multiply: `repeat 4 { repeat 8 { ... } }` is "
                    "`repeat 32 { ... }`"
                    if kind == "blocks"
                    else None,
                )
        elif ch in ")]}":
            kind = "blocks" if ch == "}" else "brackets"
            depth[kind] = max(depth[kind] - 1, 0)


BOM = "\ufeff"


def parse(source: str, path: str | None = None) -> ast.Module:
    """Parse `.nn` source text into a `Module`; raise `NNDSLError` on a syntax error.
    A byte-order mark that opens the text (some editors write one) is dropped: the
    module's `source`, and every column of its first line, count from after it."""
    source = source.removeprefix(BOM)
    _check_nesting(source, path)
    _HEIGHTS.table = {}
    try:
        # the AST is built during parsing (no intermediate parse tree)
        blocks = lalr_parser(transformer=_ToAst()).parse(source)
    except UnexpectedInput as err:
        raise _syntax_error(err, path, source) from None
    except NNDSLError as err:  # raised while building the AST (a bad string)
        raise err.located(path, source) from None
    finally:
        _HEIGHTS.table = {}
    models = [b for b in blocks if isinstance(b, ast.Model)]
    trains = [b for b in blocks if isinstance(b, ast.Train)]
    return ast.Module(
        models,
        trains,
        blocks,
        _comments(source),
        path,
        source,
        block_defs=[b for b in blocks if isinstance(b, ast.BlockDef)],
        uses=[b for b in blocks if isinstance(b, ast.Use)],
    )
