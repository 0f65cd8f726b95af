"""What every op declaration is made of: `OpDef` (an op's arguments, shape rule, weights,
family and computation), `WeightDef`, `ShapeError`, and the registry `OPS` that `op()`
fills. The declarations themselves live in `ops.py` and its families (`ops_conv.py`,
`ops_norm.py`, `ops_recurrent.py`, `ops_attention.py`, `ops_generative.py`), which import
this module and nothing of each other.

Shapes exclude the batch dimension: `input(28, 28, 1)` has shape (28, 28, 1).

An op's computation, `compute(P, xs, w, a)`, is a function of primitives (nndsl.ir.
primitives). What differs between passes comes in on `P` and goes out in the result, so
that it stays a function both backends can run and the tests can compare with a kernel:
`P.training` says whether the pass trains and `P.random(x)` draws from the layer's own
generator (dropout: `x * (P.random(x) >= rate) / (1 - rate)` in training, `x` otherwise,
the same masks as its kernel's; `P.normal(x)`, standard normal draws, is sample_normal's
noise); an op whose state moves returns `(output, {state name: new value})` (batch_norm's
running statistics in training), which the backend writes into the state once the pass
is done.
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
    # docs grouping: core | convolution | normalization | recurrent | attention |
    # activation | regularization | merge | generative
    family: str = "core"
    # the computation as a composition of primitives (nndsl.ir.primitives):
    # compute(P, xs, w, a) -> output, xs the inputs (batch axis first), w {name: weight}
    # (state included), a the attributes. Both backends run it with no code of the op's
    # own; an op without one has a hand-written kernel in each backend. The pass is on P:
    # `P.training`, and `P.random(x)` and `P.normal(x)` (the layer's generator: a composed
    # dropout draws the kernel's masks). An op with state returns (output, {state name:
    # new value}) where the state moves (batch_norm in training); the backend writes the
    # values after the pass, so a composition stays a function and its state update is
    # proven with it.
    compute: Callable[..., Any] | None = None
    # facts other parts read instead of name lists: the output is the input's values
    # moved or masked (a probability stays one: lint's logits check looks through it);
    # a recurrence over the time axis (the torch backend lowers it to one step module)
    keeps_values: bool = False
    recurrent: bool = False
    # its output's gradient is continuous in its inputs (no kink, as relu's at 0): what
    # the NumPy engine's gradient penalty needs of a critic (it differences gradients)
    smooth: bool = True
    # how the op meets a padding mask (embedding(..., mask_zero=true)), which the compiler
    # follows at compile time (nndsl.ir.masks): "starts" (the embedding: its token ids
    # become the mask), "follows" (output step t comes from input step t alone: the mask
    # passes on), "uses" (the op has `pad_from`/`pad_id`, filled in from the mask of its
    # last non-pad input), "uses, follows" (both: attention, one output per query); ""
    # (it mixes or drops time steps): a mask reaching it is a located error
    mask: str = ""
    # output step t adds row t of a table of positions (positional embeddings): one step
    # at a time (nndsl.train.kvcache) it reads the rows of the steps it is given
    by_position: bool = False


OPS: dict[str, OpDef] = {}


def op(opdef: OpDef) -> OpDef:
    OPS[opdef.name] = opdef
    register("layer", Entry(opdef.name, opdef.params, opdef.doc))
    if opdef.family == "activation":
        register("activation", Entry(opdef.name, opdef.params, opdef.doc))
    return opdef


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(["batch", *map(str, shape)]) + ")"
