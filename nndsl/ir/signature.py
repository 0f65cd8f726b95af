"""Declared arguments and how a call's written arguments bind to them.

Every op, loss, optimizer, schedule, metric, initializer, data source and `train`
setting declares its arguments once as `Param`s; `bind` turns the arguments a user wrote
into checked, defaulted Python values, or raises a located `NNDSLError`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

from nndsl.errors import NNDSLError, did_you_mean, printable
from nndsl.syntax import ast

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
# Every integer argument fits in 64 bits and every number in a float64, checked before
# any arithmetic on it: sizes multiply in the shape rules and the memory estimate, and a
# float division of a larger product overflows.
MAX_INT = 2**63 - 1
MAX_FLOAT = sys.float_info.max


@dataclass(frozen=True)
class Spec:
    """A chosen catalog entry with its bound arguments, e.g. adam(lr=0.01, ...)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.name, repr(sorted(self.args.items()))))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": {k: encode(v) for k, v in self.args.items()}}

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={format_value(v)}" for k, v in self.args.items())
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class Param:
    """One declared argument.

    kind: int | float | bool | str | word | enum | ints | floats | tensor | ref | refs | any,
    or the name of a catalog (activation, initializer, loss, optimizer, ...).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: value must be > low instead of >=
    high_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False  # `none` is accepted
    variadic: bool = False  # takes all remaining positional arguments

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe_range(self) -> str:
        lo = "" if self.low is None else ("(" if self.low_open else "[") + format_value(self.low)
        hi = "" if self.high is None else format_value(self.high) + (")" if self.high_open else "]")
        if self.low is not None and self.high is not None:
            return f"in {lo}, {hi}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {format_value(self.low)}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {format_value(self.high)}"
        return ""


@dataclass(frozen=True)
class Entry:
    """A named thing with a signature in a catalog: a loss, an optimizer, a metric..."""

    name: str
    params: tuple[Param, ...]
    doc: str
    # catalog-specific facts; "check": bound args -> None, or (the arguments at fault,
    # the first written one is shown; a message), for arguments that pass their ranges
    # but would fail at build or in training (they disagree, or overflow a float32)
    extra: dict[str, Any] = field(default_factory=dict)


# name of catalog -> {entry name -> Entry}; filled by nndsl.ir.ops and nndsl.ir.catalog
CATALOGS: dict[str, dict[str, Entry]] = {}
# kinds written as `(key=value, ...)` groups, e.g. early_stop
GROUPS: dict[str, Entry] = {}


def register(catalog: str, entry: Entry) -> Entry:
    CATALOGS.setdefault(catalog, {})[entry.name] = entry
    return entry


def format_value(v: Any) -> str:
    """A value as it would be written in a `.nn` file."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, float):
        text = repr(v)
        return text
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    if isinstance(v, Spec):
        return str(v) if v.args else v.name
    return str(v)


def encode(v: Any) -> Any:
    """A bound value as plain JSON/YAML data (Specs become {name, args})."""
    if isinstance(v, Spec):
        return v.to_dict()
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {k: encode(x) for k, x in v.items()}
    return v


def decode(kind: str, v: Any) -> Any:
    """Inverse of `encode`, guided by the declared kind."""
    if v is None:
        return None
    if kind in CATALOGS and isinstance(v, dict):
        entry = CATALOGS[kind].get(v["name"])
        args = {}
        for k, x in v.get("args", {}).items():
            sub = next((p for p in entry.params if p.name == k), None) if entry else None
            args[k] = decode(sub.kind, x) if sub else x
        return Spec(v["name"], args)
    if kind.startswith("list:") and isinstance(v, list):
        return [decode(kind[5:], x) for x in v]
    if kind.startswith("each:") and isinstance(v, dict):
        if "name" in v and isinstance(v.get("args", {}), dict) and len(v) <= 2:
            return decode(kind[5:], v)
        return {k: decode(kind[5:], x) for k, x in v.items()}
    if kind in GROUPS and isinstance(v, dict):
        params = {p.name: p for p in GROUPS[kind].params}
        return {k: decode(params[k].kind, x) if k in params else x for k, x in v.items()}
    if kind in ("ints", "floats", "tensor", "refs") and isinstance(v, list):
        return list(v)
    return v


def _err(message: str, span: ast.Span | None, hint: str | None = None) -> NNDSLError:
    if span is None:
        return NNDSLError(message, hint=hint)
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def _number(value: ast.Value) -> int | float | None:
    return value.value if isinstance(value, ast.Number) else None


def _what(value: ast.Value) -> str:
    return {
        ast.Number: "a number",
        ast.String: "a string",
        ast.Bool: "a boolean",
        ast.NoneValue: "none",
        ast.Name: "a name",
        ast.ListValue: "a list",
        ast.Call: "a call",
        ast.Group: "a group of settings",
    }.get(type(value), "an expression")


def convert(param: Param, value: ast.Value, owner: str) -> Any:
    """Check one written value against its declaration and return it as Python data."""
    label = f"{owner}: '{param.name}'"
    if isinstance(value, ast.NoneValue):
        if param.optional or param.default is None:
            return None
        raise _err(f"{label} cannot be none", value.span)
    kind = param.kind
    if kind == "any":
        return literal(value)
    if kind in ("int", "float"):
        num = _number(value)
        if num is None or isinstance(value, ast.Bool):
            raise _err(
                f"{label} must be {'an integer' if kind == 'int' else 'a number'}, "
                f"got {_what(value)}",
                value.span,
            )
        _check_magnitude(kind, num, label, value)
        if kind == "int":
            if isinstance(num, float):
                if value.computed:  # `units / 2` is a float, as in Python, even at 32.0
                    raise _err(
                        f"{label} must be an integer, got {num!r} (a '/' gives a float)",
                        value.span,
                        "use // for integer division, e.g. units // 2",
                    )
                if not num.is_integer():
                    raise _err(f"{label} must be an integer, got {num!r}", value.span)
                num = int(num)
        else:
            num = float(num)
        _check_range(param, num, label, value.span, value.text)
        return num
    if kind == "bool":
        if not isinstance(value, ast.Bool):
            raise _err(f"{label} must be true or false, got {_what(value)}", value.span)
        return value.value
    if kind == "str":
        if not isinstance(value, ast.String):
            hint = (
                f'write it in double quotes: "{value.name}"'
                if isinstance(value, ast.Name)
                else None
            )
            raise _err(f"{label} must be a string, got {_what(value)}", value.span, hint)
        return value.value
    if kind == "word":  # a bare name or a string: `monitor=val_loss`
        if isinstance(value, (ast.Name, ast.String)):
            return value.name if isinstance(value, ast.Name) else value.value
        raise _err(f"{label} must be a name, got {_what(value)}", value.span)
    if kind == "enum":
        if isinstance(value, ast.Bool) and str(value.value).lower() in param.choices:
            return value.value  # an enum that widens a switch: `compile = true` stays one
        word = (
            value.name
            if isinstance(value, ast.Name)
            else (value.value if isinstance(value, ast.String) else None)
        )
        if word not in param.choices:
            shown = printable(word) if word is not None else _what(value)
            hint = did_you_mean(word, param.choices) if word else None
            hint = hint or "one of: " + ", ".join(param.choices)
            raise _err(
                f"{label} must be one of {', '.join(param.choices)}, got {shown}", value.span, hint
            )
        return word
    if kind in ("ints", "floats"):
        items = value.items if isinstance(value, ast.ListValue) else (value,)
        sub = Param(
            param.name,
            kind[:-1],
            low=param.low,
            high=param.high,
            low_open=param.low_open,
            high_open=param.high_open,
        )
        return [convert(sub, item, owner) for item in items]
    if kind == "tensor":
        data = literal(value)
        if not _is_numeric_nest(data):
            raise _err(f"{label} must be a number or a (nested) list of finite numbers", value.span)
        return data
    if kind == "ref":
        if not isinstance(value, ast.Name):
            raise _err(f"{label} must name a layer, got {_what(value)}", value.span)
        return value.name
    if kind in CATALOGS:
        return bind_choice(kind, value, label)
    if kind.startswith("list:"):
        items = value.items if isinstance(value, ast.ListValue) else (value,)
        return [bind_choice(kind[5:], item, label) for item in items]
    if kind.startswith("each:"):  # one choice for all, or (name=choice, ...) by name
        if not isinstance(value, ast.Group):
            return bind_choice(kind[5:], value, label)
        chosen: dict[str, Spec] = {}
        for arg in value.args:
            if arg.name is None:
                raise _err(f"{label}: each entry is name=value, e.g. (city=category)", arg.span)
            if arg.name in chosen:
                raise _err(f"{label}: '{arg.name}' is given twice", arg.span)
            chosen[arg.name] = bind_choice(kind[5:], arg.value, f"{label} of '{arg.name}'")
        return chosen
    if kind in GROUPS:
        if isinstance(value, ast.Paren):  # `(val_loss)`: a group of one positional item
            value = ast.Group((ast.Arg(None, value.inner, value.inner.span),), value.span)
        if not isinstance(value, ast.Group):
            raise _err(
                f"{label} must be a group of settings like (key=value, ...), got {_what(value)}",
                value.span,
                "e.g. " + signature_text("", GROUPS[kind].params),
            )
        return bind(GROUPS[kind].params, value.args, kind, value.span)
    raise AssertionError(f"unknown parameter kind {kind!r}")


def _check_magnitude(kind: str, num: float, label: str, value: ast.Number) -> None:
    """Refuse what no argument can hold: infinity (`1e999`), or an integer beyond 64 bits."""
    shown = value.text or format_value(num)
    if isinstance(num, float) and not math.isfinite(num):
        raise _err(
            f"{label} must be a finite number, got {shown}",
            value.span,
            f"numbers are at most {MAX_FLOAT:.4g} in size",
        )
    if kind == "int" and abs(num) > MAX_INT:
        raise _err(
            f"{label} must be an integer of at most {MAX_INT:,} in size, got {shown}", value.span
        )
    if abs(num) > MAX_FLOAT:  # an integer literal written for a float
        raise _err(f"{label} must be at most {MAX_FLOAT:.4g} in size, got {shown}", value.span)


def _is_numeric_nest(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return abs(x) <= MAX_FLOAT  # false for inf and nan too: weights must be finite
    return isinstance(x, list) and len(x) > 0 and all(_is_numeric_nest(i) for i in x)


def _check_range(param: Param, num: float, label: str, span: ast.Span, text: str = "") -> None:
    bad = (
        param.low is not None and (num < param.low or (param.low_open and num == param.low))
    ) or (param.high is not None and (num > param.high or (param.high_open and num == param.high)))
    if bad:
        shown = text or format_value(num)  # as written: `-1`, not `-1.0`
        raise _err(f"{label} must be {param.describe_range()}, got {shown}", span)


def literal(value: ast.Value) -> Any:
    """A written value as plain Python data, without a declaration to check it against."""
    if isinstance(value, (ast.Number, ast.String, ast.Bool)):
        return value.value
    if isinstance(value, ast.NoneValue):
        return None
    if isinstance(value, ast.Name):
        return value.name
    if isinstance(value, ast.ListValue):
        return [literal(v) for v in value.items]
    if isinstance(value, ast.Call):
        return Spec(
            value.name, {a.name or str(i): literal(a.value) for i, a in enumerate(value.args)}
        )
    return {a.name: literal(a.value) for a in value.args}


def bind_choice(catalog: str, value: ast.Value, label: str) -> Spec:
    """`relu`, `adam(lr=0.01)` or `"relu"` -> Spec bound against the catalog entry."""
    entries = CATALOGS[catalog]
    if isinstance(value, (ast.Name, ast.String)):
        name = value.name if isinstance(value, ast.Name) else value.value
        args: tuple[ast.Arg, ...] = ()
        name_span = value.span
    elif isinstance(value, ast.Call):
        name, args, name_span = value.name, value.args, value.name_span
    else:
        raise _err(
            f"{label} must be the name of a {catalog.replace('_', ' ')}, got {_what(value)}",
            value.span,
            "one of: " + ", ".join(entries),
        )
    entry = entries.get(name)
    if entry is None:
        hint = did_you_mean(name, entries) or "one of: " + ", ".join(entries)
        shown = printable(name)  # a string's escapes may have made control characters
        raise _err(f"unknown {catalog.replace('_', ' ')} '{shown}'", name_span, hint)
    span = value.span
    bound = bind(entry.params, args, f"{name}()", span)
    check = entry.extra.get("check")
    problem = check(bound) if check is not None else None
    if problem is not None:  # arguments that agree with their ranges but not each other
        keys, message = problem
        written = [_arg_span(entry.params, args, k, None) for k in keys]
        raise _err(f"{name}(): {message}", next((w for w in written if w), span))
    return Spec(name, bound)


def _arg_span(
    params: tuple[Param, ...], args: tuple[ast.Arg, ...], name: str, default: ast.Span | None
) -> ast.Span | None:
    """Where argument `name` is written (by keyword or position), else `default`."""
    names = [p.name for p in params]
    for i, a in enumerate(args):
        if a.name == name or (a.name is None and i < len(names) and names[i] == name):
            return a.value.span
    return default


def bind(
    params: tuple[Param, ...],
    args: tuple[ast.Arg, ...],
    owner: str,
    span: ast.Span | None,
    reserved: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Bind written arguments to declared `params`: positional in declared order, then
    keywords; defaults filled in; every value converted and checked."""
    out: dict[str, Any] = {}
    where: dict[str, ast.Span] = {}
    names = [p.name for p in params]
    by_name = {p.name: p for p in params}
    position = 0
    seen_keyword = False
    for arg in args:
        if arg.name is None:
            if seen_keyword:
                raise _err(
                    f"{owner}: a positional argument cannot follow a keyword argument", arg.span
                )
            if position >= len(params):
                raise _err(
                    f"{owner} takes at most {len(params)} positional argument"
                    f"{'s' if len(params) != 1 else ''}, got more",
                    arg.span,
                    ("its arguments are: " + ", ".join(names))
                    if names
                    else f"{owner} takes no arguments",
                )
            param = params[position]
            if param.variadic:
                out.setdefault(param.name, []).append(convert(param, arg.value, owner))
                where.setdefault(param.name, arg.span)
                continue
            position += 1
        else:
            seen_keyword = True
            if arg.name in reserved:
                continue
            param = by_name.get(arg.name)
            if param is None:
                hint = did_you_mean(arg.name, names) or (
                    ("its arguments are: " + ", ".join(names))
                    if names
                    else f"{owner} takes no arguments"
                )
                raise _err(f"{owner} has no argument '{arg.name}'", arg.span, hint)
            if param.name in out:
                raise _err(f"{owner}: argument '{arg.name}' given twice", arg.span)
        if param.variadic:
            items = arg.value.items if isinstance(arg.value, ast.ListValue) else (arg.value,)
            out[param.name] = [convert(param, v, owner) for v in items]
        else:
            out[param.name] = convert(param, arg.value, owner)
        where[param.name] = arg.span
    for param in params:
        if param.name in out:
            continue
        if param.variadic:
            out[param.name] = [] if param.required else list(param.default or [])
            continue
        if param.required:
            raise _err(
                f"{owner} needs argument '{param.name}'" + (f" ({param.doc})" if param.doc else ""),
                span,
                f"e.g. {owner[:-2]}({param.name}=...)" if owner.endswith("()") else None,
            )
        out[param.name] = with_defaults(param.kind, param.default)
    return out


def with_defaults(kind: str, value: Any) -> Any:
    """A declared default Spec with its own arguments' defaults filled in."""
    if isinstance(value, Spec) and kind in CATALOGS and value.name in CATALOGS[kind]:
        entry = CATALOGS[kind][value.name]
        filled = {p.name: p.default for p in entry.params if not p.required}
        return Spec(value.name, {**filled, **value.args})
    return value


def signature_text(name: str, params: tuple[Param, ...]) -> str:
    """`dense(units, activation=linear, ...)` for docs, summaries and hints."""
    parts = []
    for p in params:
        if p.variadic:
            parts.append(f"{p.name}...")
        elif p.required:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={format_value(p.default)}")
    return f"{name}({', '.join(parts)})"
