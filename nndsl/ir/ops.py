"""The op declarations: one entry per layer, read by the parser's checker, the compiler,
the summary, the docs and both backends. Adding a layer starts here.

Shapes exclude the batch dimension: `input(28, 28, 1)` has shape (28, 28, 1).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from nndsl.ir.opdef import (  # noqa: F401  (the declaration types, re-exported)
    OPS,
    OpDef,
    Shape,
    ShapeError,
    WeightDef,
    fmt_shape,
    op,
)
from nndsl.ir.signature import Param, Spec

# ---------------------------------------------------------------- sources and core layers

op(
    OpDef(
        "input",
        "Where data enters: the shape of one sample, without the batch dimension.",
        (Param("shape", "int", doc="dimensions of one sample", low=1, variadic=True),),
        shape=lambda shapes, a: tuple(a["shape"]),
        inputs="none",
    )
)


def _dense_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    (s,) = shapes
    if not s:
        raise ShapeError("dense needs an input with at least one dimension")
    return (*s[:-1], a["units"])


def _literal_shape(value: Any) -> Shape:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0]
    return tuple(shape)


def _dense_weights(shapes: list[Shape], a: dict[str, Any]) -> list[WeightDef]:
    fan_in, units = shapes[0][-1], a["units"]
    out = [WeightDef("weight", (fan_in, units), a["init"], a["l2"], fan_in, units, a["weights"])]
    if a["use_bias"]:
        out.append(WeightDef("bias", (units,), a["bias_init"], 0.0, fan_in, units, a["bias"]))
    return out


op(
    OpDef(
        "dense",
        "Fully connected layer: y = activation(x @ weight + bias), on the last axis.",
        (
            Param("units", "int", doc="number of output units", low=1),
            Param("activation", "activation", Spec("linear"), doc="applied to the output"),
            Param("use_bias", "bool", True, doc="add a learned bias"),
            Param("init", "initializer", Spec("glorot_uniform"), doc="initializer of the weight"),
            Param("bias_init", "initializer", Spec("zeros"), doc="initializer of the bias"),
            Param(
                "l2", "float", 0.0, doc="L2 penalty l2 * sum(weight**2) added to the loss", low=0
            ),
            Param("weights", "tensor", None, doc="literal weight values, shape (inputs, units)"),
            Param("bias", "tensor", None, doc="literal bias values, shape (units,)"),
        ),
        shape=_dense_shape,
        weights=_dense_weights,
        mask="follows",
        compute=lambda P, xs, w, a: activate(
            P,
            a["activation"],
            P.matmul(xs[0], w["weight"]) + w["bias"]
            if "bias" in w
            else P.matmul(xs[0], w["weight"]),
        ),
    )
)


def _dropout(P: Any, x: Any, rate: float) -> Any:
    # the kernel's draws and arithmetic, in its order: the same masks, bit for bit
    if not P.training or rate == 0:
        return x
    return x * (P.random(x) >= rate) * (1.0 / (1.0 - rate))


op(
    OpDef(
        "dropout",
        "Inverted dropout: in training zeroes each value with probability `rate` and scales "
        "the rest by 1/(1-rate); the identity in evaluation.",
        (
            Param(
                "rate",
                "float",
                doc="probability of dropping a value",
                low=0,
                high=1,
                high_open=True,
            ),
        ),
        shape=lambda shapes, a: shapes[0],
        family="regularization",
        keeps_values=True,
        mask="follows",
        compute=lambda P, xs, w, a: _dropout(P, xs[0], a["rate"]),
    )
)

op(
    OpDef(
        "flatten",
        "Flattens each sample to one dimension.",
        (),
        shape=lambda shapes, a: (math.prod(shapes[0]),),
        keeps_values=True,
        compute=lambda P, xs, w, a: P.reshape(xs[0], (xs[0].shape[0], -1)),
    )
)


def _reshape_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    (s,) = shapes
    want = list(a["shape"])
    size = math.prod(s)
    if not want:
        raise ShapeError("reshape needs the new shape of one sample, e.g. reshape(8, 8, 1)")
    if any(d == 0 or d < -1 for d in want) or want.count(-1) > 1:
        raise ShapeError(
            f"reshape takes positive sizes and at most one -1 (inferred), got {tuple(want)}"
        )
    if -1 in want:
        known = -math.prod(want)
        if size % known:
            raise ShapeError(
                f"reshape cannot infer -1: {size} values of {fmt_shape(s)} do not divide "
                f"into parts of {known}"
            )
        want[want.index(-1)] = size // known
    if math.prod(want) != size:
        shown = "x".join(map(str, want))
        raise ShapeError(
            f"reshape to {shown} needs {math.prod(want)} values per sample, but "
            f"{fmt_shape(s)} has {size}",
            "the product of the new sizes must equal the old one (-1 infers one size)",
        )
    return tuple(want)


op(
    OpDef(
        "reshape",
        "Gives each sample a new shape with the same number of values, in row-major "
        "order (as NumPy and Keras): reshape(8, 8, 1) turns 64 features into an 8x8 image "
        "with one channel. One size may be -1 (inferred).",
        (Param("shape", "int", doc="new dimensions of one sample", low=-1, variadic=True),),
        shape=_reshape_shape,
        keeps_values=True,
        compute=lambda P, xs, w, a: P.reshape(xs[0], (xs[0].shape[0], *a["shape"])),
    )
)

# ---------------------------------------------------------------- activations


def _elu(P: Any, x: Any, alpha: float = 1.0) -> Any:
    # exp of min(x, 0): the branch not taken never overflows
    return P.where(x > 0, x, alpha * P.expm1(-P.relu(-x)))


_SQRT_HALF = math.sqrt(0.5)

# name, doc, parameters, and the computation from primitives. These have hand-written
# kernels too (the fast path, fused into dense and conv): a test holds each kernel equal
# to its composition, forward and gradients.
_ACTIVATIONS: list[tuple[str, str, tuple[Param, ...], Callable[..., Any]]] = [
    ("linear", "The identity: f(x) = x.", (), lambda P, x: x),
    ("relu", "Rectified linear unit: max(x, 0).", (), lambda P, x: P.relu(x)),
    ("sigmoid", "Logistic sigmoid: 1 / (1 + exp(-x)).", (), lambda P, x: P.sigmoid(x)),
    ("tanh", "Hyperbolic tangent.", (), lambda P, x: P.tanh(x)),
    (
        "softmax",
        "exp(x) / sum(exp(x)) over the last axis.",
        (),
        lambda P, x: P.softmax(x, -1),
    ),
    (
        "leaky_relu",
        "x if x > 0 else alpha * x.",
        (Param("alpha", "float", 0.01, doc="slope for x < 0", low=0),),
        lambda P, x, alpha=0.01: P.where(x > 0, x, alpha * x),
    ),
    (
        "elu",
        "x if x > 0 else alpha * (exp(x) - 1).",
        (Param("alpha", "float", 1.0, doc="scale for x < 0", low=0),),
        _elu,
    ),
    (
        "gelu",
        "x * Phi(x), Phi the standard normal CDF (exact, with erf).",
        (),
        lambda P, x: 0.5 * x * (1 + P.erf(_SQRT_HALF * x)),
    ),
]

for _name, _doc, _params, _f in _ACTIVATIONS:
    op(
        OpDef(
            _name,
            _doc,
            _params,
            shape=lambda shapes, a: shapes[0],
            family="activation",
            compute=lambda P, xs, w, a, f=_f: f(P, xs[0], **a),
            mask="follows",
            keeps_values=_name == "linear",
            smooth=_name not in ("relu", "leaky_relu"),
        )
    )


def activate(P: Any, spec: Spec, z: Any) -> Any:
    """`z` through the activation `spec` names (a layer's `activation=`), composed."""
    return OPS[spec.name].compute(P, [z], {}, dict(spec.args))


# ---------------------------------------------------------------- composed of primitives
# Declarations only: no kernel, no torch code (see `OpDef.compute`).


def softplus(P: Any, x: Any) -> Any:
    # log(1 + e^x) = (x + |x|) / 2 + log(1 + e^-|x|): no overflow either way, and the
    # gradient at 0 is exactly 1/2
    return 0.5 * (x + P.abs(x)) + P.log1p(P.exp(-P.abs(x)))


_COMPOSED_ACTIVATIONS: list[tuple[str, str, Callable[..., Any]]] = [
    ("silu", "x * sigmoid(x) (swish).", lambda P, x: x * P.sigmoid(x)),
    ("softplus", "log(1 + exp(x)), a smooth relu; stable for any x.", softplus),
    ("mish", "x * tanh(softplus(x)).", lambda P, x: x * P.tanh(softplus(P, x))),
]

for _name, _doc, _f in _COMPOSED_ACTIVATIONS:
    op(
        OpDef(
            _name,
            _doc,
            (),
            shape=lambda shapes, a: shapes[0],
            family="activation",
            compute=lambda P, xs, w, a, f=_f: f(P, xs[0]),
            mask="follows",
        )
    )


def _glu_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    (s,) = shapes
    if not s or s[-1] % 2:
        raise ShapeError(
            f"glu splits the last axis in two halves, but {fmt_shape(s)} has "
            f"{s[-1] if s else 'no'} values there",
            "give it an even number of features, e.g. dense(2 * units) before it",
        )
    return (*s[:-1], s[-1] // 2)


def _glu(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    x = xs[0]
    half = x.shape[-1] // 2
    return P.slice(x, -1, 0, half) * P.sigmoid(P.slice(x, -1, half, 2 * half))


op(
    OpDef(
        "glu",
        "Gated linear unit over the last axis: its first half times the sigmoid of its "
        "second half (torch's F.glu), so the output has half the features.",
        (),
        shape=_glu_shape,
        compute=_glu,
        mask="follows",
    )
)


# ---------------------------------------------------------------- merges


def _elementwise_shape(name: str):
    def rule(shapes: list[Shape], a: dict[str, Any]) -> Shape:
        first = shapes[0]
        for i, s in enumerate(shapes[1:], start=2):
            if s != first:
                raise ShapeError(
                    f"{name} needs equal shapes, got {fmt_shape(first)} and {fmt_shape(s)} "
                    f"(operands 1 and {i})",
                    "project one side to the other's size with a dense layer",
                )
        return first

    return rule


def _concat_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    rank = len(shapes[0])
    axis = a["axis"] if a["axis"] >= 0 else rank + a["axis"]
    if not 0 <= axis < rank:
        raise ShapeError(f"concat axis {a['axis']} is out of range for {rank}-d samples")
    for s in shapes[1:]:
        if len(s) != rank or any(x != y for i, (x, y) in enumerate(zip(s, shapes[0])) if i != axis):
            raise ShapeError(
                "concat needs shapes that agree except on the joined axis, got "
                + " and ".join(fmt_shape(x) for x in shapes)
            )
    return tuple(sum(s[axis] for s in shapes) if i == axis else d for i, d in enumerate(shapes[0]))


_REFS = Param("inputs", "ref", doc="named layers to combine", variadic=True)

op(
    OpDef(
        "add",
        "Element-wise sum of its inputs. With one name, adds it to the previous layer's output.",
        (_REFS,),
        shape=_elementwise_shape("add"),
        inputs="many",
        family="merge",
        compute=lambda P, xs, w, a: functools.reduce(P.add, xs),
        mask="follows",
    )
)

op(
    OpDef(
        "multiply",
        "Element-wise product of its inputs (e.g. a gate: multiply(h, g) with g a sigmoid "
        "layer). With one name, multiplies the previous layer's output by it.",
        (_REFS,),
        shape=_elementwise_shape("multiply"),
        inputs="many",
        family="merge",
        compute=lambda P, xs, w, a: functools.reduce(P.mul, xs),
        mask="follows",
    )
)

op(
    OpDef(
        "concat",
        "Joins its inputs along an axis (the last by default). With one name, joins the "
        "previous layer's output and that layer's.",
        (_REFS, Param("axis", "int", -1, doc="axis of a sample to join along")),
        shape=_concat_shape,
        inputs="many",
        family="merge",
        # an axis of a sample; the batch axis comes first
        compute=lambda P, xs, w, a: P.concat(xs, a["axis"] + 1 if a["axis"] >= 0 else a["axis"]),
    )
)


def activation_names() -> list[str]:
    return [name for name, o in OPS.items() if o.family == "activation"]


# the other families register themselves in OPS when imported (after the core ops: the
# reference lists them in this order); they import nndsl.ir.opdef, never this module
from nndsl.ir import (  # noqa: E402,F401
    ops_attention,
    ops_conv,
    ops_generative,
    ops_norm,
    ops_recurrent,
)
