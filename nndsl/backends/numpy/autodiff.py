"""Reverse-mode differentiation of the primitives (nndsl.ir.primitives) on NumPy arrays.

Two tables, one entry per primitive: `FORWARD[name](*values, **attrs) -> answer` and
`VJP[name](g, answer, *values, **attrs) -> one gradient per operand`, where `g` is the
gradient of the loss with respect to the answer (HIPS/autograd's `defvjp` table is the
model). Broadcasting arithmetic shares one `unbroadcast`. A primitive of several
operands gives one function per operand (`_per_operand`, as autograd's `defvjp` does), so
the tape computes only the gradients something needs: dense's first layer never pays
for the product that would be the gradient of the data.

A `Tape` records the primitives a composed op applies to its `Var`s (inputs and weights)
and runs their VJPs backwards: `tape.grads(out, dy)`. Operands that are plain numbers or
arrays are constants; a primitive none of whose operands needs a gradient is computed
without being recorded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nndsl.backends.numpy.activations import erf
from nndsl.ir.primitives import PRIMITIVES


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`g` summed back to `shape`, undoing NumPy broadcasting (leading axes added, axes of
    size 1 stretched)."""
    if g.shape == shape:
        return g
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _shape(value: Any) -> tuple[int, ...]:
    return np.shape(value)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _expand(g: np.ndarray, axis: int, keepdims: bool) -> np.ndarray:
    return g if keepdims else np.expand_dims(g, axis)


def _logsumexp(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _slice(x: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _slice_vjp(g, ans, x, axis, start, stop):
    out = np.zeros_like(x)
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    out[tuple(index)] = g
    return (out,)


def _max_vjp(g, ans, x, axis, keepdims=False):
    hit = x == _expand(ans, axis, keepdims)  # ties share the gradient evenly
    # the count in g's dtype: an integer count would make a float32 gradient float64
    ties = hit.sum(axis=axis, keepdims=True).astype(g.dtype)
    return (_expand(g, axis, keepdims) * hit / ties,)


def _per_operand(*parts: Callable[..., Any]) -> Callable[..., tuple[Any, ...]]:
    """A VJP from one function per operand, `part(g, ans, *values, **attrs)`; called
    whole it gives every part, and `vjp.parts[i]` gives operand i's alone."""

    def vjp(g, ans, *values, **attrs):
        return tuple(part(g, ans, *values, **attrs) for part in parts)

    vjp.parts = parts  # type: ignore[attr-defined]
    return vjp


def _concat_vjp(g, ans, *xs, axis):
    cuts = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return tuple(np.split(g, cuts, axis=axis))


def _windows(x, size, strides, dilation, pads, fill=0.0):
    """(N, *spatial, C) -> (N, *out, *size, C): a strided view of every window of the
    padded input, copied once."""
    if any(b or a for b, a in pads):
        x = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=fill)
    span = [(k - 1) * d + 1 for k, d in zip(size, dilation)]
    out = [(n - w) // s + 1 for n, w, s in zip(x.shape[1:-1], span, strides)]
    step = x.strides[1:-1]
    view = as_strided(
        x,
        (x.shape[0], *out, *size, x.shape[-1]),
        (
            x.strides[0],
            *(t * s for t, s in zip(step, strides)),
            *(t * d for t, d in zip(step, dilation)),
            x.strides[-1],
        ),
        writeable=False,
    )
    return np.ascontiguousarray(view)


def _windows_vjp(g, ans, x, size, strides, dilation, pads, fill=0.0):
    # one vectorized add per kernel tap (9 for 3x3), never a loop over pixels or samples
    rank, spatial = len(size), x.shape[1:-1]
    out = ans.shape[1 : 1 + rank]
    padded = [n + b + a for n, (b, a) in zip(spatial, pads)]
    dxp = np.zeros((x.shape[0], *padded, x.shape[-1]), dtype=g.dtype)
    for tap in itertools.product(*map(range, size)):
        reads = tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, o, s in zip(tap, dilation, out, strides)
        )
        dxp[(slice(None), *reads)] += g[(slice(None),) * (1 + rank) + tap]
    return (dxp[(slice(None), *(slice(b, b + n) for n, (b, a) in zip(spatial, pads)))],)


def _gather_vjp(g, ans, x, indices):
    # a row picked more than once gets the sum of its gradients
    dx = np.zeros(_shape(x), dtype=g.dtype)
    np.add.at(dx, np.asarray(indices, np.intp).ravel(), g.reshape(-1, *dx.shape[1:]))
    return dx, None


def _below(x) -> np.ndarray:
    """True on and below the diagonal of x's last two axes."""
    return np.tri(*np.shape(x)[-2:], dtype=bool)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

FORWARD: dict[str, Callable[..., np.ndarray]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "neg": np.negative,
    "maximum": np.maximum,
    "exp": np.exp,
    "log": np.log,
    "expm1": np.expm1,
    "log1p": np.log1p,
    "abs": np.abs,
    "square": np.square,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0),
    "erf": erf,
    "sum": lambda x, axis, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    "max": lambda x, axis, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
    "logsumexp": _logsumexp,
    "softmax": _softmax,
    "matmul": np.matmul,
    "reshape": lambda x, shape: np.reshape(x, shape),
    "transpose": lambda x, axes: np.transpose(x, axes),
    "slice": _slice,
    "concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "gather": lambda x, indices: np.take(x, np.asarray(indices, np.intp), axis=0),
    "where": lambda c, x, y: np.where(c, x, y),
    "tril": lambda x, fill=0.0: np.where(_below(x), x, fill),
    "windows": _windows,
}

VJP: dict[str, Callable[..., tuple[Any, ...]]] = {
    "add": _per_operand(
        lambda g, ans, x, y: unbroadcast(g, _shape(x)),
        lambda g, ans, x, y: unbroadcast(g, _shape(y)),
    ),
    "sub": _per_operand(
        lambda g, ans, x, y: unbroadcast(g, _shape(x)),
        lambda g, ans, x, y: unbroadcast(-g, _shape(y)),
    ),
    "mul": _per_operand(
        lambda g, ans, x, y: unbroadcast(g * y, _shape(x)),
        lambda g, ans, x, y: unbroadcast(g * x, _shape(y)),
    ),
    "div": _per_operand(
        lambda g, ans, x, y: unbroadcast(g / y, _shape(x)),
        lambda g, ans, x, y: unbroadcast(-g * ans / y, _shape(y)),
    ),
    "neg": lambda g, ans, x: (-g,),
    "maximum": _per_operand(  # a tie shares the gradient, as torch does (in g's dtype)
        lambda g, ans, x, y: unbroadcast(
            np.where(x > y, g, np.where(x == y, 0.5 * g, 0)), _shape(x)
        ),
        lambda g, ans, x, y: unbroadcast(
            np.where(x < y, g, np.where(x == y, 0.5 * g, 0)), _shape(y)
        ),
    ),
    "exp": lambda g, ans, x: (g * ans,),
    "log": lambda g, ans, x: (g / x,),
    "expm1": lambda g, ans, x: (g * np.exp(x),),  # not ans + 1: that cancels far out
    "log1p": lambda g, ans, x: (g / (1 + x),),
    "abs": lambda g, ans, x: (g * np.sign(x),),
    "square": lambda g, ans, x: (2 * g * x,),
    "sqrt": lambda g, ans, x: (0.5 * g / ans,),
    "rsqrt": lambda g, ans, x: (-0.5 * g * ans * ans * ans,),
    "tanh": lambda g, ans, x: (g * (1 - ans * ans),),
    "sigmoid": lambda g, ans, x: (g * ans * (1 - ans),),
    "relu": lambda g, ans, x: (g * (x > 0),),
    "erf": lambda g, ans, x: (_TWO_OVER_SQRT_PI * g * np.exp(-x * x),),
    "sum": lambda g, ans, x, axis, keepdims=False: (
        np.broadcast_to(_expand(g, axis, keepdims), _shape(x)),
    ),
    "mean": lambda g, ans, x, axis, keepdims=False: (
        np.broadcast_to(_expand(g, axis, keepdims) / _shape(x)[axis], _shape(x)),
    ),
    "max": _max_vjp,
    "logsumexp": lambda g, ans, x, axis, keepdims=False: (
        _expand(g, axis, keepdims) * np.exp(x - _expand(ans, axis, keepdims)),
    ),
    "softmax": lambda g, ans, x, axis: (ans * (g - np.sum(g * ans, axis=axis, keepdims=True)),),
    "matmul": _per_operand(
        lambda g, ans, x, y: unbroadcast(g @ np.swapaxes(y, -1, -2), _shape(x)),
        lambda g, ans, x, y: unbroadcast(np.swapaxes(x, -1, -2) @ g, _shape(y)),
    ),
    "reshape": lambda g, ans, x, shape: (np.reshape(g, _shape(x)),),
    "transpose": lambda g, ans, x, axes: (np.transpose(g, np.argsort(axes)),),
    "slice": _slice_vjp,
    "concat": _concat_vjp,
    "gather": _gather_vjp,
    "where": _per_operand(
        lambda g, ans, c, x, y: None,
        lambda g, ans, c, x, y: unbroadcast(np.where(c, g, 0), _shape(x)),
        lambda g, ans, c, x, y: unbroadcast(np.where(c, 0, g), _shape(y)),
    ),
    "tril": lambda g, ans, x, fill=0.0: (np.where(_below(x), g, 0),),
    "windows": _windows_vjp,
}

assert FORWARD.keys() == VJP.keys() == PRIMITIVES.keys(), "one forward and VJP per primitive"

# forwards that write their answer into a given array (`out=`), so that a tape may reuse
# the answers of an earlier pass (`Tape(kept=...)`)
INTO: dict[str, Callable[..., np.ndarray]] = {
    **{name: f for name, f in FORWARD.items() if isinstance(f, np.ufunc)},
    "relu": lambda x, out: np.maximum(x, 0, out=out),
}


# ---------------------------------------------------------------- the tape


class Var:
    """A value on a tape; `requires` when a gradient flows to it."""

    __slots__ = ("value", "tape", "requires")

    def __init__(self, value: np.ndarray, tape: Tape, requires: bool) -> None:
        self.value, self.tape, self.requires = value, tape, requires

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    def __add__(self, o: Any) -> Var:
        return self.tape.apply("add", (self, o))

    def __radd__(self, o: Any) -> Var:
        return self.tape.apply("add", (o, self))

    def __sub__(self, o: Any) -> Var:
        return self.tape.apply("sub", (self, o))

    def __rsub__(self, o: Any) -> Var:
        return self.tape.apply("sub", (o, self))

    def __mul__(self, o: Any) -> Var:
        return self.tape.apply("mul", (self, o))

    def __rmul__(self, o: Any) -> Var:
        return self.tape.apply("mul", (o, self))

    def __truediv__(self, o: Any) -> Var:
        return self.tape.apply("div", (self, o))

    def __rtruediv__(self, o: Any) -> Var:
        return self.tape.apply("div", (o, self))

    def __neg__(self) -> Var:
        return self.tape.apply("neg", (self,))

    # comparisons give constant masks (for `where`): nothing to differentiate
    def __gt__(self, o: Any) -> np.ndarray:
        return self.value > (o.value if isinstance(o, Var) else o)

    def __lt__(self, o: Any) -> np.ndarray:
        return self.value < (o.value if isinstance(o, Var) else o)

    def __ge__(self, o: Any) -> np.ndarray:
        return self.value >= (o.value if isinstance(o, Var) else o)

    def __le__(self, o: Any) -> np.ndarray:
        return self.value <= (o.value if isinstance(o, Var) else o)


@dataclass
class _Record:
    name: str
    operands: tuple[Any, ...]
    values: tuple[Any, ...]
    attrs: dict[str, Any]
    out: Var
    needs: tuple[bool, ...]  # which operands a gradient flows to


class Tape:
    """The primitives of one pass, in order. `kept` (optional) is `answers` of an earlier
    tape that recorded the same computation on the same shapes and mode (a kernel keeps
    them per input shape): the forwards in `INTO` write over those arrays instead of
    allocating, so a repeated step allocates only what its VJPs make. The earlier pass's
    values are gone then: its tape must not be differentiated any more."""

    def __init__(self, kept: list[np.ndarray] | None = None) -> None:
        self.records: list[_Record] = []
        self.kept = kept
        self.answers: list[np.ndarray] = []  # of the INTO forwards, in order

    def leaf(self, value: np.ndarray, requires: bool = True) -> Var:
        return Var(value, self, requires)

    def _forward(self, name: str, values: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
        into = INTO.get(name)
        if into is None:
            return FORWARD[name](*values, **attrs)
        k, kept = len(self.answers), self.kept
        if kept is not None and k < len(kept) and type(kept[k]) is np.ndarray:
            answer = into(*values, out=kept[k], **attrs)
        else:
            answer = FORWARD[name](*values, **attrs)
        self.answers.append(answer)
        return answer

    def apply(self, name: str, operands: tuple[Any, ...], attrs: dict[str, Any] | None = None):
        attrs = attrs or {}
        values = tuple(o.value if isinstance(o, Var) else o for o in operands)
        out = Var(self._forward(name, values, attrs), self, False)
        needs = tuple(isinstance(o, Var) and o.requires for o in operands)
        if any(needs):
            out.requires = True
            self.records.append(_Record(name, operands, values, attrs, out, needs))
        return out

    def grads(self, out: Var, g: np.ndarray) -> dict[int, np.ndarray]:
        """{id(var): d loss / d var} for every var the loss depends on, given `g` = d loss /
        d out."""
        grads: dict[int, np.ndarray] = {id(out): g}
        for rec in reversed(self.records):
            g = grads.pop(id(rec.out), None)
            if g is None:
                continue
            vjp = VJP[rec.name]
            each = getattr(vjp, "parts", None)
            if each is None:
                parts = vjp(g, rec.out.value, *rec.values, **rec.attrs)
            else:  # only the operands that need one
                parts = [
                    f(g, rec.out.value, *rec.values, **rec.attrs) if need else None
                    for f, need in zip(each, rec.needs)
                ]
            for operand, part, need in zip(rec.operands, parts, rec.needs):
                if need and part is not None:
                    key = id(operand)
                    grads[key] = part if key not in grads else grads[key] + part
        return grads


def _draw(draw: Callable[..., np.ndarray], x: Any) -> np.ndarray:
    """`draw(shape, dtype=)` of x's shape and dtype (x a Var, an array or a number): a
    constant, as a comparison is. `rng.random(shape, dtype=)` draws what a kernel's
    `rng.random(out=, dtype=)` does; `rng.standard_normal` takes the same arguments."""
    value = x.value if isinstance(x, Var) else np.asarray(x)
    return draw(value.shape, dtype=value.dtype)


class Primitives:
    """The namespace `P` a declaration's `compute` calls, recording on `self.tape` (set
    anew for each pass; the functions are made once per name and kept), with the pass's
    context (nndsl.ir.primitives.CONTEXT): `training`, and `random` and `normal` drawing
    from `rng` (a kernel's generator; a plain Primitives() has its own, seeded 0)."""

    def __init__(
        self,
        tape: Tape | None = None,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.tape = tape or Tape()
        self.training = training
        self.rng = np.random.default_rng(0) if rng is None else rng

    def random(self, x: Any) -> np.ndarray:
        """Uniform draws in [0, 1) of x's shape and dtype (a constant)."""
        return _draw(self.rng.random, x)

    def normal(self, x: Any) -> np.ndarray:
        """Standard normal draws of x's shape and dtype (a constant)."""
        return _draw(self.rng.standard_normal, x)

    def __getattr__(self, name: str) -> Callable[..., Var]:
        if name not in PRIMITIVES:
            raise AttributeError(f"no primitive '{name}' (see nndsl.ir.primitives)")
        if name == "concat":

            def call(xs: Any, axis: int) -> Var:
                return self.tape.apply("concat", tuple(xs), {"axis": axis})

        else:
            arity, names = PRIMITIVES[name].operands, PRIMITIVES[name].attrs

            def call(*args: Any, **attrs: Any) -> Var:
                attrs.update(zip(names, args[arity:]))
                return self.tape.apply(name, args[:arity], attrs)

        self.__dict__[name] = call  # found directly next time
        return call


def plain_primitives() -> SimpleNamespace:
    """`P` for evaluation alone, on plain arrays (which take the operators themselves):
    each primitive's forward, nothing recorded, so a long run of small passes (the steps
    of nndsl.train.kvcache) keeps no tape. Draws come from a generator of its own."""
    rng = np.random.default_rng(0)
    forwards = {name: FORWARD[name] for name in PRIMITIVES}
    forwards["concat"] = lambda xs, axis: np.concatenate(list(xs), axis=axis)
    return SimpleNamespace(
        **forwards,
        training=False,
        random=lambda x: _draw(rng.random, x),
        normal=lambda x: _draw(rng.standard_normal, x),
    )
