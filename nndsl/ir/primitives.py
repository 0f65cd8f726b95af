"""The differentiable primitives a layer may be composed of.

An op declaration may give its computation as `compute(P, xs, w, a)`: a function of a
primitive namespace `P`, the input tensors `xs` (batch axis first), the node's weights
`w` ({name: tensor}) and its attributes `a`, returning the output tensor. Each backend
supplies its own `P` with every name below: the NumPy backend records the primitives on
a tape and differentiates them from their vector-Jacobian products
(nndsl.backends.numpy.autodiff); the torch backend maps each to one torch function
(nndsl.backends.torch.primitives) and lets autograd do the rest. So a composed layer
needs no kernel and no torch code of its own.

Tensors also take `+ - * /`, unary `-` and a number on either side (broadcast as NumPy
does), so a declaration reads like its formula: `x * P.sigmoid(x)`.

Besides the primitives, `P` carries the pass (`CONTEXT`): `P.training` (whether this pass
trains: dropout drops, batch_norm uses the batch's statistics), `P.random(x)` (draws
from the layer's generator, the one its hand-written kernel uses, so that a composition
drops what the kernel drops) and `P.normal(x)` (standard normal draws from the same
generator: sample_normal's noise). A draw, like a comparison (`x > 0`), is a constant:
nothing differentiates it. A layer with state (batch_norm's running statistics) returns
`(output, {state name: new value})` in training; the backend writes the new values into
the state after the pass (see `OpDef.compute`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Primitive:
    name: str
    signature: str  # as a declaration calls it: tensor operands first, then attributes
    doc: str
    operands: int = 1  # how many of the signature's parameters are tensors

    @property
    def attrs(self) -> tuple[str, ...]:
        """The attribute names, in order (what a call may also give by position)."""
        params = self.signature[self.signature.index("(") + 1 : -1].split(",")
        return tuple(p.split("=")[0].strip() for p in params[self.operands :])


PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for p in (
        # broadcasting arithmetic (also the operators + - * / and unary -)
        Primitive("add", "add(x, y)", "x + y, broadcast", operands=2),
        Primitive("sub", "sub(x, y)", "x - y, broadcast", operands=2),
        Primitive("mul", "mul(x, y)", "x * y, broadcast", operands=2),
        Primitive("div", "div(x, y)", "x / y, broadcast", operands=2),
        Primitive("neg", "neg(x)", "-x"),
        Primitive(
            "maximum", "maximum(x, y)", "the larger of x and y (a tie shares the gradient)", 2
        ),
        # element-wise functions
        Primitive("exp", "exp(x)", "e ** x"),
        Primitive("log", "log(x)", "natural logarithm"),
        Primitive("expm1", "expm1(x)", "exp(x) - 1, exact near 0"),
        Primitive("log1p", "log1p(x)", "log(1 + x), exact near 0"),
        Primitive("abs", "abs(x)", "|x| (gradient 0 at 0)"),
        Primitive("square", "square(x)", "x * x"),
        Primitive("sqrt", "sqrt(x)", "square root"),
        Primitive("rsqrt", "rsqrt(x)", "1 / sqrt(x)"),
        Primitive("tanh", "tanh(x)", "hyperbolic tangent"),
        Primitive("sigmoid", "sigmoid(x)", "1 / (1 + exp(-x)), stable at +-1000"),
        Primitive("relu", "relu(x)", "max(x, 0) (gradient 0 at 0)"),
        Primitive("erf", "erf(x)", "the error function"),
        # reductions over an axis (of the whole batch: axis 0 is the batch)
        Primitive("sum", "sum(x, axis, keepdims=False)", "sum over an axis"),
        Primitive("mean", "mean(x, axis, keepdims=False)", "mean over an axis"),
        Primitive("max", "max(x, axis, keepdims=False)", "maximum over an axis (ties share)"),
        Primitive("logsumexp", "logsumexp(x, axis, keepdims=False)", "log(sum(exp(x))), stable"),
        Primitive("softmax", "softmax(x, axis)", "exp(x) / sum(exp(x)) over an axis, stable"),
        # shapes and selections
        Primitive("matmul", "matmul(x, y)", "matrix product over the last two axes", operands=2),
        Primitive("reshape", "reshape(x, shape)", "the same values in a new shape"),
        Primitive("transpose", "transpose(x, axes)", "axes permuted"),
        Primitive("slice", "slice(x, axis, start, stop)", "x[start:stop] along an axis"),
        Primitive("concat", "concat(xs, axis)", "tensors joined along an axis"),
        Primitive(
            "gather",
            "gather(x, indices)",
            "rows of x by integer indices: (*indices.shape, *x.shape[1:]); no gradient to "
            "the indices",
            operands=2,
        ),
        Primitive("where", "where(condition, x, y)", "x where the condition holds, else y", 3),
        Primitive(
            "tril",
            "tril(x, fill=0.0)",
            "x on and below the diagonal of its last two axes, fill above it (entry (i, j) "
            "with j > i): a causal mask",
        ),
        # structured (own kernels, for speed): sliding windows, channels last
        Primitive(
            "windows",
            "windows(x, size, strides, dilation, pads, fill=0.0)",
            "im2col: (batch, *spatial, channels) -> (batch, *out, *size, channels), every "
            "window of x padded by pads ((before, after) per spatial axis) with fill",
        ),
    )
}

CONTEXT: dict[str, str] = {
    "training": "True in a training pass, False in evaluation (a plain P evaluates)",
    "random": "random(x): uniform draws in [0, 1) of x's shape and dtype from the layer's "
    "generator; a constant (no gradient)",
    "normal": "normal(x): standard normal draws of x's shape and dtype from the layer's "
    "generator (the one `random` draws from); a constant (no gradient)",
}
