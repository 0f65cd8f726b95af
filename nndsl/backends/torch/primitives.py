"""The primitives (nndsl.ir.primitives) as torch functions, once each: the namespace `P`
a declaration's `compute` receives on this backend. Autograd differentiates them, so an op
composed of primitives lowers with no code of its own (`Composed` below). `P` evaluates
and draws from torch's default generator; a `Composed` module gives its compute a `P` of
its own mode and generator (nndsl.ir.primitives.CONTEXT)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nndsl.ir.graph import Node
from nndsl.ir.ops import OPS
from nndsl.ir.primitives import CONTEXT, PRIMITIVES


def _where(c: Any, x: Any, y: Any) -> torch.Tensor:
    return torch.where(c, x, y)


def _maximum(x: Any, y: Any) -> torch.Tensor:
    x, y = (v if torch.is_tensor(v) else torch.tensor(v) for v in (x, y))
    return torch.maximum(x, y.to(x.dtype) if x.is_floating_point() else y)


def _tril(x: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    above = torch.ones(x.shape[-2:], dtype=torch.bool, device=x.device).triu(1)
    return x.masked_fill(above, fill)


def _windows(x, size, strides, dilation, pads, fill=0.0) -> torch.Tensor:
    """(N, *spatial, C) -> (N, *out, *size, C): each axis unfolded in turn (a view), every
    dilation-th position of a window's span kept."""
    if any(b or a for b, a in pads):
        x = F.pad(x, [0, 0, *(w for pad in reversed(pads) for w in pad)], value=fill)
    rank = len(size)
    for axis, (k, s, d) in enumerate(zip(size, strides, dilation), start=1):
        x = x.unfold(axis, (k - 1) * d + 1, s)[..., ::d]  # window appended last
    return x.permute(0, *range(1, rank + 1), *range(rank + 2, 2 * rank + 2), rank + 1)


def _draw(draw: Any, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """`draw` (torch.rand, torch.randn) of x's shape, dtype and device from `generator`
    (torch's default one when None): a constant, nothing differentiates it."""
    return draw(x.shape, generator=generator, dtype=x.dtype, device=x.device)


P = SimpleNamespace(
    # operators, so that a number may stand on either side
    add=lambda x, y: x + y,
    sub=lambda x, y: x - y,
    mul=lambda x, y: x * y,
    div=lambda x, y: x / y,
    neg=lambda x: -x,
    maximum=_maximum,
    exp=torch.exp,
    log=torch.log,
    expm1=torch.expm1,
    log1p=torch.log1p,
    abs=torch.abs,
    square=torch.square,
    sqrt=torch.sqrt,
    rsqrt=torch.rsqrt,
    tanh=torch.tanh,
    sigmoid=torch.sigmoid,
    relu=torch.relu,
    erf=torch.erf,
    sum=lambda x, axis, keepdims=False: torch.sum(x, dim=axis, keepdim=keepdims),
    mean=lambda x, axis, keepdims=False: torch.mean(x, dim=axis, keepdim=keepdims),
    max=lambda x, axis, keepdims=False: torch.amax(x, dim=axis, keepdim=keepdims),
    logsumexp=lambda x, axis, keepdims=False: torch.logsumexp(x, dim=axis, keepdim=keepdims),
    softmax=lambda x, axis: torch.softmax(x, dim=axis),
    matmul=torch.matmul,
    reshape=lambda x, shape: torch.reshape(x, tuple(shape)),
    transpose=lambda x, axes: x.permute(*axes),
    slice=lambda x, axis, start, stop: x.narrow(axis, start, stop - start),
    concat=lambda xs, axis: torch.cat(list(xs), dim=axis),
    gather=lambda x, indices: x[indices.long()],
    where=_where,
    tril=_tril,
    windows=_windows,
    # the pass (CONTEXT)
    training=False,
    random=lambda x: _draw(torch.rand, x),
    normal=lambda x: _draw(torch.randn, x),
)

assert set(vars(P)) == set(PRIMITIVES) | set(CONTEXT), "one torch function per primitive"


def affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x @ weight + bias on the last axis of x, of any rank, as one addmm over the rows
    of x (the bias added inside the matrix product, not in a pass of its own): the fused
    kernel of dense's and attention's projections, not a primitive."""
    rows = x.reshape(-1, x.shape[-1])
    z = rows @ weight if bias is None else torch.addmm(bias, rows, weight)
    return z.view(*x.shape[:-1], weight.shape[-1])


class _Pass:
    """`P` as one module's pass sees it: the primitives, the module's mode and its
    generator (set by the lowering, as Dropout's is; torch's default one when None).
    `random` draws what Dropout's `torch.rand` does, so the masks are the same; `normal`
    draws torch.randn from the same generator."""

    def __init__(self, module: nn.Module) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = self.__dict__[name] = getattr(P, name)  # found directly next time
        return value

    @property
    def training(self) -> bool:
        return self._module.training

    def random(self, x: torch.Tensor) -> torch.Tensor:
        return _draw(torch.rand, x, self._module.generator)

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        return _draw(torch.randn, x, self._module.generator)


class Composed(nn.Module):
    """A node whose op gives `compute`: its weights as parameters (state as buffers) under
    the declared names, its forward the composition on torch's primitives; new state
    values the compute returns are copied into the buffers, outside autograd."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.compute = OPS[node.op].compute
        self.attrs = dict(node.attrs)
        self.names = [w.name for w in node.weights]
        self.generator: torch.Generator | None = None
        self.P = _Pass(self)
        for w in node.weights:
            tensor = torch.empty(w.shape)
            if w.trainable:
                self.register_parameter(w.name, nn.Parameter(tensor))
            else:
                self.register_buffer(w.name, tensor)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        weights = {name: getattr(self, name) for name in self.names}
        result = self.compute(self.P, list(xs), weights, self.attrs)
        out, moved = result if isinstance(result, tuple) else (result, {})
        with torch.no_grad():
            for name, value in moved.items():
                getattr(self, name).copy_(value)
        return out


class ComposedActivation(nn.Module):
    """A composed activation op as a layer's `activation=`."""

    def __init__(self, name: str, **args: Any) -> None:
        super().__init__()
        self.compute = OPS[name].compute
        self.args = args

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.compute(P, [x], {}, self.args)
