"""What every op declaration is made of: `OpDef` (an op's arguments, shape rule, weights,
family and computation), `WeightDef`, `ShapeError`, and the registry `OPS` that `op()`
fills. The declarations themselves live in `ops.py` and its families (`ops_conv.py`,
`ops_norm.py`, `ops_recurrent.py`), which import this module and nothing of each other.

Shapes exclude the batch dimension: `input(28, 28, 1)` has shape (28, 28, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nndsl.ir.signature import Entry, Param, Spec, register

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A shape rule's refusal; the compiler adds where each shape came from."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class WeightDef:
    """A tensor of a node: its shape, initializer and per-layer L2 factor. A tensor that
    is not `trainable` (batch_norm's running statistics) is state the layer updates
    itself: saved and restored with the weights, never touched by an optimizer."""

    name: str
    shape: Shape
    init: Spec
    l2: float = 0.0
    fan_in: int = 0
    fan_out: int = 0
    value: Any = None  # literal values written in the file (`weights=[[3], [-2]]`)
    trainable: bool = True


@dataclass(frozen=True)
class OpDef:
    name: str
    doc: str
    params: tuple[Param, ...]
    shape: Callable[[list[Shape], dict[str, Any]], Shape]
    weights: Callable[[list[Shape], dict[str, Any]], list[WeightDef]] = field(
        default=lambda shapes, attrs: []
    )
    inputs: str = "one"  # "none" (a source), "one", or "many" (merges)
    # docs grouping: core | convolution | normalization | recurrent | activation |
    # regularization | merge
    family: str = "core"
    # the computation as a composition of primitives (nndsl.ir.primitives):
    # compute(P, xs, w, a) -> output, xs the inputs (batch axis first), w {name: weight},
    # a the attributes. Both backends run it with no code of the op's own; an op without
    # one has a hand-written kernel in each backend.
    compute: Callable[..., Any] | None = None
    # facts other parts read instead of name lists: the output is the input's values
    # moved or masked (a probability stays one: lint's logits check looks through it);
    # a recurrence over the time axis (the torch backend lowers it to one step module)
    keeps_values: bool = False
    recurrent: bool = False


OPS: dict[str, OpDef] = {}


def op(opdef: OpDef) -> OpDef:
    OPS[opdef.name] = opdef
    register("layer", Entry(opdef.name, opdef.params, opdef.doc))
    if opdef.family == "activation":
        register("activation", Entry(opdef.name, opdef.params, opdef.doc))
    return opdef


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(["batch", *map(str, shape)]) + ")"
