"""The abstract syntax tree of a `.nn` file: plain dataclasses, each with its source span."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Span:
    """Where a piece of source sits: 1-based line and column, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span
    text: str = ""  # as written, so `fmt` keeps `1e-3` as `1e-3`
    computed: bool = False  # the result of arithmetic (nndsl.syntax.expressions)


@dataclass(frozen=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True)
class NoneValue:
    span: Span


@dataclass(frozen=True)
class Name:
    """A bare identifier used as a value: `relu`, `val_loss`, a named layer `h`."""

    name: str
    span: Span


@dataclass(frozen=True)
class ListValue:
    items: tuple[Value, ...]
    span: Span


@dataclass(frozen=True)
class Arg:
    """One argument of a call: positional when `name` is None."""

    name: str | None
    value: Value
    span: Span


@dataclass(frozen=True)
class Call:
    """`name(args)`: a layer, an optimizer, a data source..."""

    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Group:
    """`(key=value, ...)`: a bundle of settings, e.g. `early_stop`."""

    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True)
class BinOp:
    """Arithmetic where a number goes: `units * 4`, `rate / 2`. `op` is one of
    + - * / // %; `*` `/` `//` `%` bind tighter than `+` `-`, all left-associative."""

    op: str
    left: Value
    right: Value
    span: Span


@dataclass(frozen=True)
class Neg:
    """`-units`: a minus in front of a name or a parenthesized expression (a minus in
    front of a digit is part of the number)."""

    operand: Value
    span: Span


@dataclass(frozen=True)
class Paren:
    """`(units * 2)`: an expression in parentheses, kept so `fmt` writes them back."""

    inner: Value
    span: Span


Value = Union[Number, String, Bool, NoneValue, Name, ListValue, Call, Group, BinOp, Neg, Paren]


@dataclass(frozen=True)
class Layer:
    """One layer statement; `target` names its output for later reuse."""

    call: Call
    span: Span
    target: str | None = None
    target_span: Span | None = None


@dataclass(frozen=True)
class Repeat:
    count: int
    body: tuple[Statement, ...]
    span: Span
    count_span: Span
    # `repeat depth { ... }` in a block: the count as written when it is not a literal
    # (a block parameter or an expression); `count` is then 0 until the block is expanded
    count_expr: Value | None = None


@dataclass(frozen=True)
class Output:
    """`output label, value`: the named layers a model ends in (its last statement)."""

    names: tuple[Name, ...]
    span: Span


Statement = Union[Layer, Repeat, Output]


@dataclass(frozen=True)
class Model:
    name: str
    body: tuple[Statement, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class BlockParam:
    """One parameter of a block: `units: int`, `rate: float = 0.1`, `act = relu`.
    `kind` is the declared type (int, float, bool, string, name) or None (any)."""

    name: str
    kind: str | None
    default: Value | None
    span: Span
    name_span: Span
    kind_span: Span | None = None


@dataclass(frozen=True)
class BlockDef:
    """`block NAME(params) { statements }`: a layer written in the language. Inside,
    `x = input()` (no shape) names an input: the first is fed by the previous layer at
    the use site, later ones by keyword (`cross(64, memory=enc)`); the last statement is
    the block's output, and any named layer inside is reachable as `instance.name`."""

    name: str
    params: tuple[BlockParam, ...]
    body: tuple[Statement, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Use:
    """`use "blocks.nn"` (a file, relative to this one) or `use std` (the standard
    library shipped with nndsl): brings in the block definitions of another file."""

    path: str
    span: Span
    path_span: Span
    std: bool = False


@dataclass(frozen=True)
class Setting:
    key: str
    value: Value
    span: Span
    key_span: Span


@dataclass(frozen=True)
class Train:
    model: str | None
    settings: tuple[Setting, ...]
    span: Span
    model_span: Span | None = None


@dataclass(frozen=True)
class Comment:
    text: str
    line: int
    column: int


@dataclass
class Module:
    """A whole parsed file."""

    models: list[Model]
    trains: list[Train]
    blocks: list[Model | Train | BlockDef | Use]  # in source order, for `fmt`
    comments: list[Comment] = field(default_factory=list)
    path: str | None = None
    source: str = ""
    block_defs: list[BlockDef] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    # model -> the width its `input(auto)` takes, found in its train block's data by the
    # caller (the compiler reads no data: nndsl.api resolves it, then compiles again)
    input_widths: dict[str, int] = field(default_factory=dict)
