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


Value = Union[Number, String, Bool, NoneValue, Name, ListValue, Call, Group]


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


Statement = Union[Layer, Repeat]


@dataclass(frozen=True)
class Model:
    name: str
    body: tuple[Statement, ...]
    span: Span
    name_span: Span


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
    blocks: list[Model | Train]  # in source order, for `fmt`
    comments: list[Comment] = field(default_factory=list)
    path: str | None = None
    source: str = ""
