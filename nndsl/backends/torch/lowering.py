"""Lowering: an IR graph becomes a `torch.fx.GraphModule`, one submodule per node.

Each op lowers through one entry of `LOWERINGS` (op name -> a function of the node that
returns its `nn.Module`); inputs become the module's positional arguments. Submodules
carry the node's name, so parameters keep nndsl's names (`dense_1.weight`, shape
(inputs, units) as in the IR) and weight files load in either backend unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from nndsl.backends.torch import layers_conv as conv
from nndsl.backends.torch import layers_norm as norm
from nndsl.backends.torch import layers_recurrent as rnn
from nndsl.backends.torch.layers_attention import Attention
from nndsl.backends.torch.primitives import Composed, ComposedActivation, affine
from nndsl.ir.graph import Graph, Node
from nndsl.ir.init import initial_weights
from nndsl.ir.ops import OPS
from nndsl.ir.signature import Spec

# ---------------------------------------------------------------- activations

# activation name -> a function of its arguments that builds the module
ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softmax": lambda: nn.Softmax(dim=-1),
    "leaky_relu": lambda alpha=0.01: nn.LeakyReLU(alpha),
    "elu": lambda alpha=1.0: nn.ELU(alpha),
    "gelu": lambda: nn.GELU(approximate="none"),  # exact, with erf
}


def activation(spec: Spec) -> nn.Module:
    """The module of an activation Spec, e.g. leaky_relu(alpha=0.2): torch's own where it
    has one, else the declaration's composition of primitives."""
    if spec.name in ACTIVATIONS:
        return ACTIVATIONS[spec.name](**spec.args)
    return ComposedActivation(spec.name, **spec.args)


# ---------------------------------------------------------------- op modules


class Dense(nn.Module):
    """y = activation(x @ weight + bias) on the last axis; weight (inputs, units)."""

    def __init__(self, inputs: int, units: int, bias: bool, act: Spec) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(inputs, units))
        self.bias = nn.Parameter(torch.empty(units)) if bias else None
        self.activation = None if act.name == "linear" else activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = affine(x, self.weight, self.bias)
        return z if self.activation is None else self.activation(z)


class Dropout(nn.Module):
    """Inverted dropout: in training keeps each value with probability 1-rate and scales
    it by 1/(1-rate). Masks come from `generator` (torch's default one when None)."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = float(rate)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        draw = torch.rand(x.shape, generator=self.generator, dtype=x.dtype, device=x.device)
        return x * (draw >= self.rate) * (1.0 / (1.0 - self.rate))  # stays in x's dtype

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0] + xs[1]
        for x in xs[2:]:
            out = out + x
        return out


class Multiply(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0] * xs[1]
        for x in xs[2:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Joins samples along `axis` (an axis of a sample: the batch axis comes first)."""

    def __init__(self, axis: int) -> None:
        super().__init__()
        self.dim = axis + 1 if axis >= 0 else axis

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _dense(node: Node) -> nn.Module:
    inputs, units = node.weights[0].shape
    return Dense(inputs, units, node.attrs["use_bias"], node.attrs["activation"])


def _fused(node: Node) -> nn.Module | None:
    """The module of a node's `activation=` argument (None for linear)."""
    act = node.attrs["activation"]
    return None if act.name == "linear" else activation(act)


def _recurrent(node: Node) -> nn.Module:
    # torch's fused kernel where it computes the layer; else the op's declaration
    return rnn.FusedRecurrent(node) if rnn.fused(node) else Composed(node)


# op name -> the node's module; "input" nodes become the GraphModule's arguments
LOWERINGS: dict[str, Callable[[Node], nn.Module]] = {
    # ops declared as compositions of primitives; an entry below replaces one
    **{name: Composed for name, o in OPS.items() if o.compute is not None},
    "dense": _dense,
    "dropout": lambda node: Dropout(node.attrs["rate"]),
    "flatten": lambda node: nn.Flatten(),
    "add": lambda node: Add(),
    "multiply": lambda node: Multiply(),
    "concat": lambda node: Concat(node.attrs["axis"]),
    "reshape": conv.Reshape,
    "conv1d": lambda node: conv.Conv(node, _fused(node)),
    "conv2d": lambda node: conv.Conv(node, _fused(node)),
    "max_pool1d": lambda node: conv.Pool(node, "max"),
    "max_pool2d": lambda node: conv.Pool(node, "max"),
    "avg_pool1d": lambda node: conv.Pool(node, "avg"),
    "avg_pool2d": lambda node: conv.Pool(node, "avg"),
    # the masked mean (pad_from) as declared; the plain mean fused
    "global_avg_pool": lambda node: (
        Composed(node) if node.attrs.get("pad_from") is not None else conv.GlobalAvgPool()
    ),
    "upsample": conv.Upsample,
    "batch_norm": norm.BatchNorm,
    "layer_norm": norm.LayerNorm,
    "embedding": rnn.Embedding,
    "multi_head_attention": Attention,
    **{name: _recurrent for name, o in OPS.items() if o.recurrent},
    **{name: (lambda node, name=name: ACTIVATIONS[name](**node.attrs)) for name in ACTIVATIONS},
}


# ---------------------------------------------------------------- the graph


def lower(
    graph: Graph,
    weights: dict[str, np.ndarray] | None = None,
    *,
    seed: int = 0,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    generator: torch.Generator | None = None,
    outputs: list[str] | None = None,
) -> fx.GraphModule:
    """`graph` as a GraphModule taking one tensor per input node (in graph order) and
    returning its output, or a tuple of `outputs` (node names; by default the graph's
    outputs when it has several).

    Weights come from `weights` ({`node.weight`: array}) or, when None, from the shared
    initializer `initial_weights(graph, seed)`, so both backends start identically.
    Dropout draws its masks from `generator`.
    """
    root = nn.Module()
    fxg = fx.Graph()
    values: dict[str, fx.Node] = {}
    for node in graph.nodes:
        if node.op == "input":
            values[node.name] = fxg.placeholder(node.name)
            continue
        _place(root, node.name, LOWERINGS[node.op](node))
        target = module_path(node.name)
        values[node.name] = fxg.call_module(target, tuple(values[i] for i in node.inputs))
    if outputs is None and len(graph.outputs) > 1:
        outputs = list(graph.outputs)
    fxg.output(values[graph.output.name] if outputs is None else tuple(values[n] for n in outputs))
    gm = fx.GraphModule(root, fxg, class_name=_class_name(graph.name))
    for module in gm.modules():
        if isinstance(module, (Dropout, Composed)):  # a composed dropout draws there too
            module.generator = generator
    gm.to(device=device, dtype=getattr(torch, dtype))
    load_weights(gm, initial_weights(graph, seed, dtype) if weights is None else weights)
    return gm


def _place(root: nn.Module, name: str, module: nn.Module) -> None:
    """Put a node's module at its name; a name inside a block (`enc.res_1.dense_1`) is a
    path of containers, so parameters keep the node's dotted name (`enc.res_1.dense_1.
    weight`). A name that is an attribute of torch's modules ("code", "eval") is kept
    under a mangled one (module_path)."""
    *path, leaf = module_path(name).split(".")
    owner = root
    for part in path:
        child = owner._modules.get(part)
        if child is None:
            child = owner._modules[part] = nn.Module()
        owner = child
    owner._modules[leaf] = module


# Attributes of a GraphModule, which a submodule of that name would hide (or be hidden
# by: `self.code(x)` calls the generated source): a layer named so lives at `code_`, and
# a layer named `code_` at `code__`, so the mapping is one to one
_RESERVED = frozenset(n for n in dir(fx.GraphModule) if not n.startswith("_")) | {"training"}


def module_path(name: str) -> str:
    """Where a node's module lives in the GraphModule: its name, each part that is one
    of torch's module attributes mangled (`eval` -> `eval_`)."""
    return ".".join(p + "_" if p.rstrip("_") in _RESERVED else p for p in name.split("."))


def node_key(path: str) -> str:
    """A tensor's key in the GraphModule back to the node's (`eval_.weight` ->
    `eval.weight`): module_path undone."""
    return ".".join(p[:-1] if p.rstrip("_") in _RESERVED else p for p in path.split("."))


def named_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """{`node.weight`: tensor}: the parameters, and the state layers keep as buffers
    (batch_norm's running statistics): everything a weight file holds."""
    return {node_key(k): v for k, v in module.state_dict(keep_vars=True).items()}


def named_parameters(module: nn.Module) -> dict[str, nn.Parameter]:
    """{`node.weight`: parameter}: the trainable tensors, by the nodes' names."""
    return {node_key(k): p for k, p in module.named_parameters()}


def load_weights(module: nn.Module, weights: dict[str, Any]) -> None:
    """Copy {`node.weight`: array or tensor} into `module`'s tensors of those names."""
    params = named_tensors(module)
    with torch.no_grad():
        for key, value in weights.items():
            params[key].copy_(torch.as_tensor(value))


def _class_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name)
    return cleaned if cleaned[:1].isalpha() else f"Model_{cleaned}"
