"""Sweeps written in the file: a list where one value is expected.

`optimizer = adam(lr=[1e-2, 1e-3])`, `batch_size = [16, 64]` or `dense([16, 64])` each
make an axis; the grid of all axes is the set of trials, each an ordinary program with
one value chosen per axis. A list is a sweep only where the declaration takes a single
value: `betas=[0.9, 0.999]`, `metrics=[accuracy]` and `input(28, 28)` stay plain values
(a list of lists sweeps a list-valued argument: `betas=[[0.9, 0.999], [0.8, 0.99]]`).
`choice([32, 64])` is the same list, spelled as Optuna does.

A range, `loguniform(1e-4, 1e-1)`, `uniform(0.1, 0.5)` or `intuniform(16, 128)`, where a
number goes is an axis of a `search = optuna(...)` (nndsl.sweep.search): its values are
sampled, not listed. A grid compiles, checks and summarizes a range at its low end.

The expansion works on the AST, before names and arguments are bound, so a trial is
compiled exactly as a file without lists would be, and an error in one value points at
that value in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.ir import catalog  # noqa: F401  (fills the registries)
from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS, GROUPS, Param, literal
from nndsl.ir.signature import _check_magnitude as check_magnitude
from nndsl.syntax import ast

# kinds that take one value: a list written for them is a sweep
_SCALAR = {"int", "float", "bool", "str", "word", "enum"}
# kinds that take a list: only a list of lists is a sweep
_LISTY = {"ints", "floats"}
FROM = "from"  # the compiler's reserved branch keyword takes a layer name, never a sweep
MAX_TRIALS = 100_000  # trials in one grid: each is listed, and may be compiled and trained
CHOICE = "choice"  # `choice([a, b])`: a list, as Optuna spells it
RANGES = ("uniform", "loguniform", "intuniform")  # sampled where a number goes
SEARCHES_WITH_RANGES = ("optuna",)  # search = ... entries that sample ranges


@dataclass(frozen=True)
class Axis:
    """One list written where a single value is expected."""

    label: str  # "optimizer.lr", "batch_size", "dense_1.units"
    values: ast.ListValue  # the list as written
    param: Param
    setting: str | None = None  # the train setting it sits in (None: inside a model)
    layer: ast.Layer | None = None  # the layer it sits in (None: in a train block)
    written: ast.Value | None = None  # `choice([...])` around the list, if so written

    @property
    def node(self) -> ast.Value:
        """What a trial's value replaces in the AST and the text."""
        return self.written or self.values

    @property
    def items(self) -> tuple[ast.Value, ...]:
        return self.values.items

    def __len__(self) -> int:
        return len(self.values.items)


@dataclass(frozen=True)
class Range:
    """`loguniform(1e-4, 1e-1)`, `uniform(a, b)` or `intuniform(a, b)` where a number goes."""

    label: str
    call: ast.Call
    param: Param
    kind: str  # one of RANGES
    low: float
    high: float
    setting: str | None = None
    layer: ast.Layer | None = None

    @property
    def node(self) -> ast.Value:
        return self.call

    @property
    def integer(self) -> bool:
        return self.param.kind == "int"

    def number(self, value: float) -> ast.Number:
        """`value` as the AST number a trial compiles (written exactly: repr round-trips)."""
        value = int(value) if self.integer else float(value)
        return ast.Number(value, self.call.span, text=repr(value))

    def describe(self) -> str:
        return f"{self.kind}({format_number(self.low)}, {format_number(self.high)})"


def format_number(v: float) -> str:
    return repr(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


class Sweep:
    """The grid of a file's axes. Trial i (0-based) takes value `point(i)[k]` of axis k;
    the last axis varies fastest, as in nested loops written in source order. Ranges
    take the values given (`values`: {label: number}), else their low ends."""

    def __init__(
        self, module: ast.Module, axes: list[Axis], ranges: list[Range] | None = None
    ) -> None:
        self.module = module
        self.axes = axes
        self.ranges = ranges or []
        self.dimensions: list[Axis | Range] = [*axes, *self.ranges]  # finder order: see find_sweep

    def __len__(self) -> int:
        return math.prod(len(a) for a in self.axes)

    @property
    def labels(self) -> list[str]:
        return [d.label for d in self.dimensions]

    def point(self, index: int) -> tuple[int, ...]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        out = []
        for axis in reversed(self.axes):
            index, k = divmod(index, len(axis))
            out.append(k)
        return tuple(reversed(out))

    def chosen(self, index: int) -> list[ast.Value]:
        return [a.items[k] for a, k in zip(self.axes, self.point(index))]

    def config(self, index: int) -> dict[str, Any]:
        """{axis label: value} of trial `index`: numbers, booleans, strings, names (as
        strings) and calls (as Specs)."""
        return {a.label: literal(v) for a, v in zip(self.axes, self.chosen(index))}

    def config_text(self, index: int) -> dict[str, str]:
        """{axis label: the value as written in .nn syntax} of trial `index`."""
        return {a.label: unparse(v) for a, v in zip(self.axes, self.chosen(index))}

    def _assigned(
        self, index: int, values: dict[str, float] | None
    ) -> list[tuple[Axis | Range, ast.Value]]:
        """(dimension, the AST value trial `index` gives it), ranges at `values` or low."""
        out: list[tuple[Axis | Range, ast.Value]] = list(zip(self.axes, self.chosen(index)))
        for r in self.ranges:
            out.append((r, r.number((values or {}).get(r.label, r.low))))
        return out

    def module_for(self, index: int, values: dict[str, float] | None = None) -> ast.Module:
        """The file's AST with each list replaced by trial `index`'s value (and each
        range by its value in `values`, else its low end)."""
        chosen = {id(d.node): v for d, v in self._assigned(index, values)}
        return _substitute(self.module, chosen, {})

    def source_for(
        self, index: int, skip: set[str] = frozenset(), values: dict[str, float] | None = None
    ) -> str:
        """The file's text with each list replaced by trial `index`'s value, as written
        (a standalone `.nn` file), each range by its value. Axes in the train settings
        named in `skip` are left alone: they came from `--set`, so their spans are not in
        the file."""
        text = self.module.source
        starts = _line_starts(text)
        edits = []
        for dim, value in self._assigned(index, values):
            if dim.setting in skip:
                continue
            a, b = _offset(starts, dim.node.span, text)
            new = value.text if isinstance(dim, Range) else _written(value, text, starts)
            edits.append((a, b, new))
        for a, b, new in sorted(edits, reverse=True):
            text = text[:a] + new + text[b:]
        return text

    def covering(self) -> list[int]:
        """Trials that between them take every value of every axis at least once (trial 0
        first): compiling these finds every mistake that lies in one value."""
        out = [0]
        for k, axis in enumerate(self.axes):
            for j in range(1, len(axis)):
                point = [0] * len(self.axes)
                point[k] = j
                out.append(self.index_of(point))
        return out

    def index_of(self, point: list[int]) -> int:
        index = 0
        for axis, k in zip(self.axes, point):
            index = index * len(axis) + k
        return index

    def sample(self, n: int, seed: int) -> list[int]:
        """`n` distinct trials drawn at random (seeded), in grid order; all when n >= size."""
        import numpy as np

        size = len(self)
        if n >= size:
            return list(range(size))
        rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5EE9])
        return sorted(int(i) for i in rng.choice(size, size=n, replace=False))

    def name_layers(self, graphs: dict[str, Any]) -> None:
        """Label layer axes by node name (`dense_1.units`) once a trial has compiled."""
        where = {}
        for g in graphs.values():
            for node in g.nodes:
                prefix = f"{g.name}." if len(graphs) > 1 else ""
                where.setdefault((node.line, node.column), prefix + node.name)
        dims = []
        for dim in self.dimensions:
            if dim.layer is not None:
                span = dim.layer.span
                node = where.get((span.line, span.column))
                if node is not None:
                    dim = replace(dim, label=node + dim.label[dim.label.index(".") :])
            dims.append(dim)
        self.dimensions = _unique_labels(dims)
        self.axes = [d for d in self.dimensions if isinstance(d, Axis)]
        self.ranges = [d for d in self.dimensions if isinstance(d, Range)]


def find_sweep(module: ast.Module) -> Sweep | None:
    """The file's axes, models' first, each block's in source order (a `--set` override
    comes last in its block); None when it has none."""
    finder = _Finder()
    for model in module.models:
        finder.statements(model.body)
    params = {p.name: p for p in TRAIN_SETTINGS.params}
    for block in module.trains:  # not `blocks`: overrides replace train blocks here
        for s in block.settings:
            if s.key in params:
                finder.value(params[s.key], s.value, [s.key], s.key, None)
    if not finder.axes:
        return None
    _check_search(module, finder.axes)
    size = 1
    for axis in (a for a in finder.axes if isinstance(a, Axis)):
        size *= len(axis)
        if size > MAX_TRIALS:  # refused before any trial is listed, compiled or sampled
            raise _located(
                f"this list makes the sweep {size:,} trials or more; "
                f"nndsl sweeps at most {MAX_TRIALS:,}",
                axis.values.span,
                "sweep fewer values, or fewer arguments at once",
            )
    dims = _unique_labels(finder.axes)
    sweep = Sweep(module, [d for d in dims if isinstance(d, Axis)])
    sweep.ranges = [d for d in dims if isinstance(d, Range)]
    sweep.dimensions = dims
    return sweep


def search_of(module: ast.Module) -> ast.Setting | None:
    """The last `search = ...` setting of the file's train blocks (as an override wins)."""
    found = None
    for block in module.trains:
        for s in block.settings:
            if s.key == "search":
                found = s
    return found


def _check_search(module: ast.Module, dims: list[Axis | Range]) -> None:
    """A range needs a search that samples it: a grid cannot list its values."""
    ranges = [d for d in dims if isinstance(d, Range)]
    setting = search_of(module)
    name = getattr(setting.value, "name", None) if setting is not None else None
    if ranges and name not in SEARCHES_WITH_RANGES:
        r = ranges[0]
        raise _located(
            f"'{r.label}': {r.kind}(...) is a range to sample, but this file's sweep is a "
            "grid, which lists every value",
            r.call.span,
            "add search = optuna(trials=N) to the train block (pip install 'nndsl[optuna]'), "
            "or list the values: [a, b, c]",
        )


class _Finder:
    def __init__(self) -> None:
        self.axes: list[Axis] = []

    def statements(self, body: tuple[ast.Statement, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Repeat):
                self.statements(stmt.body)
                continue
            if not isinstance(stmt, ast.Layer):  # `output a, b` holds no values
                continue
            opdef = OPS.get(stmt.call.name)
            if opdef is not None:  # an unknown layer is the compiler's to report
                label = f"{stmt.call.name}@{stmt.span.line}"
                self.args(opdef.params, stmt.call.args, [label], None, stmt)

    def args(
        self,
        params: tuple[Param, ...],
        args: tuple[ast.Arg, ...],
        path: list[str],
        setting: str | None,
        layer: ast.Layer | None,
    ) -> None:
        by_name = {p.name: p for p in params}
        position = 0
        for arg in args:
            if arg.name is None:
                if position >= len(params) or params[position].variadic:
                    return  # too many arguments, or a variadic tail: not a sweep's business
                param = params[position]
                position += 1
            elif arg.name == FROM or arg.name not in by_name:
                continue
            else:
                param = by_name[arg.name]
            if not param.variadic:
                self.value(param, arg.value, [*path, param.name], setting, layer)

    def value(
        self,
        param: Param,
        value: ast.Value,
        path: list[str],
        setting: str | None,
        layer: ast.Layer | None,
    ) -> None:
        if isinstance(value, ast.Call) and value.name == CHOICE and _is_sweep_kind(param):
            self.choice(param, value, path, setting, layer)
            return
        if isinstance(value, ast.Call) and value.name in RANGES:
            if param.kind in ("int", "float"):
                self.axes.append(_range(param, value, ".".join(path), setting, layer))
                return
            if param.kind not in CATALOGS or value.name not in CATALOGS[param.kind]:
                raise _located(
                    f"'{param.name}' takes {_kind_text(param)}, not a number: a range "
                    f"({value.name}) cannot be sampled for it",
                    value.span,
                    f"sweep it with a list of values: {param.name} = [a, b]",
                )
        if isinstance(value, ast.ListValue) and _is_sweep(param, value):
            if not value.items:
                raise _located(
                    f"'{param.name}': an empty list sweeps nothing",
                    value.span,
                    f"give one or more values, e.g. {param.name} = [a, b]",
                )
            label = ".".join(path)
            for item in value.items:
                inner = _Finder()
                inner.value(param, item, path, setting, layer)
                if inner.axes:
                    raise _located(
                        f"'{label}': a sweep inside a sweep's value",
                        inner.axes[0].node.span,
                        "write the combinations out, or sweep each argument once",
                    )
            self.axes.append(Axis(label, value, param, setting, layer))
            return
        self.inside(param, value, path, setting, layer)

    def choice(self, param, call: ast.Call, path, setting, layer) -> None:
        """`choice([a, b])`: the list `[a, b]`, replaced as a whole call."""
        if (
            len(call.args) != 1
            or call.args[0].name is not None
            or not isinstance(call.args[0].value, ast.ListValue)
        ):
            raise _located(
                "choice(...) takes one list of the values to choose from",
                call.span,
                f"e.g. {param.name} = choice([a, b, c])",
            )
        before = len(self.axes)
        self.value(param, call.args[0].value, path, setting, layer)
        if len(self.axes) == before + 1 and isinstance(self.axes[-1], Axis):
            self.axes[-1] = replace(self.axes[-1], written=call)
        else:  # a list that is one value here (`betas=choice([0.9, 0.999])`)
            raise _located(
                f"'{param.name}' takes a list as one value: choose among lists, "
                f"choice([[...], [...]])",
                call.span,
            )

    def inside(self, param, value, path, setting, layer) -> None:
        """Sweeps nested in a call (`adam(lr=[...])`) or a group (`(patience=[...])`)."""
        kind = param.kind
        if kind.startswith("list:") and isinstance(value, ast.ListValue):
            for item in value.items:
                self.inside(replace(param, kind=kind[5:]), item, path, setting, layer)
        elif kind in CATALOGS and isinstance(value, ast.Call):
            entry = CATALOGS[kind].get(value.name)
            if entry is not None:
                self.args(entry.params, value.args, path, setting, layer)
        elif kind in GROUPS and isinstance(value, ast.Group):
            self.args(GROUPS[kind].params, value.args, path, setting, layer)


def _is_sweep(param: Param, value: ast.ListValue) -> bool:
    kind = param.kind
    if kind in _SCALAR or kind in CATALOGS or kind in GROUPS:
        return True
    if kind in _LISTY or kind.startswith("list:"):
        return bool(value.items) and all(isinstance(v, ast.ListValue) for v in value.items)
    return False  # any, tensor, refs: a list is the value itself


def _is_sweep_kind(param: Param) -> bool:
    kind = param.kind
    return (
        kind in _SCALAR
        or kind in CATALOGS
        or kind in GROUPS
        or kind in _LISTY
        or (kind.startswith("list:"))
    )


def _kind_text(param: Param) -> str:
    kind = param.kind
    if kind in CATALOGS:
        return f"a name or call of the {kind} catalog"
    return {"bool": "true or false", "str": "a string", "word": "a name", "enum": "a name"}.get(
        kind, f"a value of kind {kind}"
    )


def _range(param: Param, call: ast.Call, label: str, setting, layer) -> Range:
    """A range call checked where it is written: two numbers, low < high, inside the
    argument's own bounds, of the argument's type."""
    example = f"{call.name}(1e-4, 1e-1)" if call.name == "loguniform" else f"{call.name}(16, 128)"
    bounds: dict[str, ast.Value] = {}
    names = ("low", "high")
    for k, arg in enumerate(call.args):
        key = arg.name or (names[k] if k < 2 else None)
        if key not in names or key in bounds:
            raise _located(
                f"{call.name}(...) takes two numbers, low and high",
                arg.value.span if key is None or key in names else call.span,
                f"e.g. {param.name} = {example}",
            )
        bounds[key] = arg.value
    if set(bounds) != set(names):
        raise _located(
            f"{call.name}(...) takes two numbers, low and high",
            call.span,
            f"e.g. {param.name} = {example}",
        )
    for key, v in bounds.items():
        if not isinstance(v, ast.Number):
            raise _located(f"{call.name}'s {key} must be a number", v.span, f"e.g. {example}")
        check_magnitude(param.kind, v.value, f"{call.name}'s {key}", v)  # 1e999, 2**64
    low, high = bounds["low"].value, bounds["high"].value
    if param.kind == "float" and call.name == "intuniform":
        raise _located(
            f"'{param.name}' takes a number, not an integer: intuniform samples integers",
            call.span,
            f"use uniform({format_number(low)}, {format_number(high)}) or loguniform(...)",
        )
    if param.kind == "int" and call.name == "uniform":
        raise _located(
            f"'{param.name}' takes an integer: uniform samples any number",
            call.span,
            f"use intuniform({format_number(low)}, {format_number(high)})",
        )
    if param.kind == "int":
        for key, v in bounds.items():
            if not float(v.value).is_integer():
                raise _located(f"'{param.name}' takes an integer; {key} is not one", v.span)
        low, high = int(low), int(high)
    if not low < high:
        raise _located(
            f"{call.name}'s low ({format_number(low)}) must be below its high "
            f"({format_number(high)})",
            call.span,
            f"e.g. {param.name} = {example}; for one value, write the value",
        )
    if call.name == "loguniform" and low <= 0:
        raise _located(
            f"loguniform's low ({format_number(low)}) must be above 0: it samples the "
            "logarithm evenly",
            bounds["low"].span,
            f"use uniform({format_number(low)}, {format_number(high)}), or a positive low",
        )
    for key, v in (("low", low), ("high", high)):
        if not _in_bounds(param, v):
            raise _located(
                f"'{param.name}' must be {param.describe_range()}; this range's {key} "
                f"({format_number(v)}) is not",
                bounds[key].span,
            )
    return Range(label, call, param, call.name, low, high, setting, layer)


def _in_bounds(param: Param, v: float) -> bool:
    if param.low is not None and (v < param.low or (param.low_open and v == param.low)):
        return False
    return not (
        param.high is not None and (v > param.high or (param.high_open and v == param.high))
    )


def _unique_labels(axes: list[Any]) -> list[Any]:
    counts: dict[str, int] = {}
    for a in axes:
        counts[a.label] = counts.get(a.label, 0) + 1
    return [
        replace(a, label=f"{a.label}@{a.node.span.line}") if counts[a.label] > 1 else a
        for a in axes
    ]


def _located(message: str, span: ast.Span, hint: str | None = None) -> NNDSLError:
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def _substitute(node: Any, chosen: dict[int, ast.Value], memo: dict[int, Any]) -> Any:
    """A copy of `node` with the lists in `chosen` replaced; shared subtrees stay shared
    (a Module's `blocks` holds the same objects as its `models` and `trains`). One frame
    per level of the AST (fields and sequences are looped over, not recursed into), so a
    file nested as deep as the parser allows stays far from the stack limit."""
    key = id(node)
    if key in chosen:
        return chosen[key]
    if key in memo:
        return memo[key]
    if isinstance(node, (tuple, list)):
        out = _substitute_items(node, chosen, memo)
    elif is_dataclass(node) and not isinstance(node, (ast.Span, ast.Comment)):
        changes = {}
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, (tuple, list)) and id(value) not in memo:
                memo[id(value)] = _substitute_items(value, chosen, memo)
            changes[f.name] = _substitute(value, chosen, memo)
        same = all(changes[k] is getattr(node, k) for k in changes)
        out = node if same and not isinstance(node, ast.Module) else replace(node, **changes)
    else:
        out = node
    memo[key] = out
    return out


def _substitute_items(seq: tuple | list, chosen: dict[int, ast.Value], memo: dict) -> Any:
    """`_substitute` of each item of a tuple or list; `seq` itself when none changed."""
    new = []
    for x in seq:
        new.append(_substitute(x, chosen, memo))
    if all(a is b for a, b in zip(new, seq)):
        return seq
    return type(seq)(new)


def unparse(v: ast.Value) -> str:
    """A value in .nn syntax (numbers as written)."""
    if isinstance(v, ast.Number):
        return v.text or repr(v.value)
    if isinstance(v, ast.String):
        return '"' + v.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, ast.Bool):
        return "true" if v.value else "false"
    if isinstance(v, ast.NoneValue):
        return "none"
    if isinstance(v, ast.Name):
        return v.name
    if isinstance(v, ast.ListValue):
        return "[" + ", ".join(unparse(x) for x in v.items) + "]"
    args = ", ".join((f"{a.name}=" if a.name else "") + unparse(a.value) for a in v.args)
    if isinstance(v, ast.Call):
        return f"{v.name}({args})"
    return f"({args})"


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def _offset(starts: list[int], span: ast.Span, text: str) -> tuple[int, int]:
    return starts[span.line - 1] + span.column - 1, starts[span.end_line - 1] + span.end_column - 1


def _written(value: ast.Value, text: str, starts: list[int]) -> str:
    a, b = _offset(starts, value.span, text)
    return text[a:b]


def reference_section() -> list[str]:
    """The reference's note on sweeps (`nndsl docs`)."""
    scalar = ", ".join(f"`{k}`" for k in sorted(_SCALAR))
    return [
        "## Sweeps (a list where one value goes)",
        "",
        "A list written where an argument or setting takes one value makes a sweep: "
        "`optimizer = adam(lr=[1e-2, 1e-3])`, `batch_size = [16, 64]`, "
        "`dense([16, 64], activation=[relu, tanh])`, `optimizer = [adam, sgd(lr=0.1)]`. "
        "Every combination of the lists is a trial (the last list varies fastest); "
        "`nndsl run` trains each into its own run folder, ranks them and marks the best.",
        "",
        f"- Arguments of kind {scalar}, or naming a catalog entry (an activation, "
        "initializer, loss, optimizer, schedule, metric, data source) or a group "
        "(`early_stop`), take a sweep list.",
        "- Arguments that take a list (`floats`, `ints`, `list:...`) are swept by a list of "
        "lists: `betas=[[0.9, 0.999], [0.8, 0.99]]`; `betas=[0.9, 0.999]` is one value.",
        "- `any`, `tensor` and variadic arguments (`input(28, 28)`, `weights=...`, "
        "`csv(target=[...])`) are never swept; neither is a list inside a sweep's value.",
        "- `choice([a, b])` is the list `[a, b]`.",
        "- With `search = optuna(...)`, a range where a number goes is sampled: "
        "`loguniform(low, high)` and `uniform(low, high)` for numbers, `intuniform(low, "
        "high)` (or `loguniform`) for integers; low must be below high, loguniform's above "
        "0. `check` and `summary` take each range at its low end.",
        "",
    ]
