"""Arithmetic where a number goes, worked out when a file is compiled.

`fold(value, env)` replaces each name bound in `env` (a block's parameters) by the value
given for it and computes every `+ - * / // %` whose operands are numbers, so what a layer
or a setting receives is a plain `Number` located where the expression was written. The
rules are Python's: `/` always gives a float; `+ - * // %` of two integers stay integers;
any float makes a float. A layer that wants an integer then refuses `units / 2` (32.0) by
its own check, with the hint to write `//`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from nndsl.errors import NNDSLError
from nndsl.syntax import ast

MAX_INT = 2**63 - 1  # as nndsl.ir.signature: every integer fits in 64 bits

_KIND = {
    ast.String: "a string",
    ast.Bool: "a boolean",
    ast.NoneValue: "none",
    ast.Name: "a name",
    ast.ListValue: "a list",
    ast.Call: "a call",
    ast.Group: "a group of settings",
}


def _err(message: str, span: ast.Span, hint: str | None = None) -> NNDSLError:
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def fold(value: ast.Value, env: Mapping[str, ast.Value] | None = None) -> ast.Value:
    """`value` with the names in `env` substituted and its arithmetic computed, at any
    depth (in lists, calls' arguments and groups). Names not in `env` stay names (layer
    references, activations). Iterative over operator chains: `1+1+...+1` written
    100,000 times folds without recursion."""
    env = env or {}
    if isinstance(value, ast.Name):
        return _substitute(value, env)
    if isinstance(value, (ast.BinOp, ast.Neg, ast.Paren)):
        return _arith(value, env)
    if isinstance(value, ast.ListValue):
        return ast.ListValue(tuple(fold(v, env) for v in value.items), value.span)
    if isinstance(value, ast.Call):
        return ast.Call(value.name, fold_args(value.args, env), value.span, value.name_span)
    if isinstance(value, ast.Group):
        return ast.Group(fold_args(value.args, env), value.span)
    return value


def fold_args(args: tuple[ast.Arg, ...], env: Mapping[str, ast.Value]) -> tuple[ast.Arg, ...]:
    return tuple(ast.Arg(a.name, fold(a.value, env), a.span) for a in args)


def _substitute(name: ast.Name, env: Mapping[str, ast.Value]) -> ast.Value:
    given = env.get(name.name)
    if given is None:
        return name
    # the value as given at the use site, located where the parameter is used: an error
    # about it points into the block's body, where the value meets the layer
    return _relocate(given, name.span)


def _relocate(value: ast.Value, span: ast.Span) -> ast.Value:
    if isinstance(value, ast.Number):
        return ast.Number(value.value, span, value.text, value.computed)
    if isinstance(value, ast.String):
        return ast.String(value.value, span)
    if isinstance(value, ast.Bool):
        return ast.Bool(value.value, span)
    if isinstance(value, ast.NoneValue):
        return ast.NoneValue(span)
    if isinstance(value, ast.Name):
        return ast.Name(value.name, span)
    return value  # a list or a call keeps its own spans: its parts are located there


def _arith(root: ast.Value, env: Mapping[str, ast.Value]) -> ast.Value:
    """Post-order evaluation with an explicit stack (no recursion on deep expressions)."""
    done: dict[int, ast.Value] = {}
    stack: list[tuple[ast.Value, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if isinstance(node, ast.BinOp):
            if not ready:
                stack += [(node, True), (node.right, False), (node.left, False)]
                continue
            done[id(node)] = _binary(node, done.pop(id(node.left)), done.pop(id(node.right)))
        elif isinstance(node, (ast.Neg, ast.Paren)):
            inner = node.operand if isinstance(node, ast.Neg) else node.inner
            if not ready:
                stack += [(node, True), (inner, False)]
                continue
            value = done.pop(id(inner))
            if isinstance(node, ast.Neg):
                done[id(node)] = _negate(node, value)
            else:  # `(val_loss)` stays in parentheses: where a group goes, it is one
                done[id(node)] = (
                    value if isinstance(value, ast.Number) else ast.Paren(value, node.span)
                )
        else:
            done[id(node)] = fold(node, env)
    return done[id(root)]


def _operand(value: ast.Value, op: str, span: ast.Span) -> int | float:
    if isinstance(value, ast.Number) and not isinstance(value.value, bool):
        return value.value
    what = _KIND.get(type(value), "an expression")
    shown = f" '{value.name}'" if isinstance(value, ast.Name) else ""
    raise _err(
        f"'{op}' needs numbers on both sides, got {what}{shown}",
        value.span if hasattr(value, "span") else span,
        "arithmetic works on numbers and on a block's number parameters",
    )


def _binary(node: ast.BinOp, left: ast.Value, right: ast.Value) -> ast.Number:
    a, b = _operand(left, node.op, node.span), _operand(right, node.op, node.span)
    if node.op in ("/", "//", "%") and b == 0:
        raise _err(f"division by zero in '{node.op}'", right.span)
    try:
        if node.op == "+":
            result = a + b
        elif node.op == "-":
            result = a - b
        elif node.op == "*":
            result = a * b
        elif node.op == "/":
            result = a / b
        elif node.op == "//":
            result = a // b
        elif node.op == "%":
            result = a % b
        else:  # the grammar has no other operator
            raise AssertionError(f"unknown operator {node.op!r}")
    except OverflowError:
        result = math.inf
    return _number(result, node.span)


def _negate(node: ast.Neg, value: ast.Value) -> ast.Number:
    return _number(-_operand(value, "-", node.span), node.span)


def _number(result: int | float, span: ast.Span) -> ast.Number:
    if isinstance(result, float) and not math.isfinite(result):
        raise _err("this arithmetic overflows a number", span, "numbers are at most 1.8e308")
    if isinstance(result, int) and abs(result) > MAX_INT:
        raise _err(
            f"this arithmetic gives an integer beyond 64 bits ({_digits(result)})",
            span,
        )
    return ast.Number(result, span, repr(result), computed=True)


def _digits(n: int) -> str:
    return f"{len(str(abs(n)))} digits" if abs(n) > 10**30 else f"{n:,}"
