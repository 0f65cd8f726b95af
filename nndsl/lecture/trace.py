"""`nndsl trace`: one sample through the NumPy engine, node by node, forward and backward.

For one pass the engine's kernels are wrapped by recorders that keep a copy of what each
saw (inputs, output, upstream gradient, input gradients), so every number shown is the
engine's own. The only thing assembled here is the lecture's split of a layer's gradient
into factors (dJ/da, da/dz, dJ/dz), using the engine's activation functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nndsl.backends.numpy.activations import apply as apply_activation
from nndsl.backends.numpy.composed import activation_of
from nndsl.errors import NNDSLError
from nndsl.ir.ops import OPS
from nndsl.ir.signature import Spec

SMALL = 16  # tensors with at most this many values are printed in full
EXPAND = 32  # dense layers with at most this many weights are written out term by term
JSON_VALUES = 100_000  # above this, JSON gets summary statistics instead of values


# ---------------------------------------------------------------- recording


class _Recorder:
    """Stands in for one kernel during a trace and keeps copies of what passes through."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.inputs: list[np.ndarray] = []
        self.output: np.ndarray | None = None
        self.pre: np.ndarray | None = None
        self.upstream: np.ndarray | None = None
        self.input_grads: list[np.ndarray | None] = []

    def forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        out = self.kernel.forward(xs, training)
        self.inputs = [np.array(x) for x in xs]
        self.output = np.array(out)
        pre = getattr(self.kernel, "z", None)  # dense and activation kernels keep z
        self.pre = None if pre is None else np.array(pre)
        return out

    def backward(self, dy: np.ndarray) -> list[np.ndarray | None]:
        self.upstream = np.array(dy)
        grads = self.kernel.backward(dy)
        self.input_grads = [None if g is None else np.array(g) for g in grads]
        return grads


@contextmanager
def _recording(engine: Any) -> Iterator[list[_Recorder]]:
    kernels = engine.kernels
    engine.kernels = [_Recorder(k) for k in kernels]
    try:
        yield engine.kernels
    finally:
        engine.kernels = kernels


# ---------------------------------------------------------------- the trace


@dataclass
class NodeTrace:
    """One node for one sample (arrays without the batch axis)."""

    name: str
    op: str
    call: str  # as written, e.g. dense(1, activation=sigmoid)
    inputs: list[str]
    consumers: list[str]
    x: list[np.ndarray]  # the values of its inputs
    a: np.ndarray  # its output
    z: np.ndarray | None = None  # pre-activation (dense and activation layers)
    activation: Spec | None = None
    params: dict[str, np.ndarray] = field(default_factory=dict)
    l2: float = 0.0
    is_output: bool = False
    fused: bool = False  # the output activation is folded into a cross-entropy
    # backward: None where the pass did not reach this node (or there is no target)
    upstream: np.ndarray | None = None  # dJ/da
    local: np.ndarray | None = None  # da/dz, when the activation acts value by value
    dz: np.ndarray | None = None  # dJ/dz
    grads: dict[str, np.ndarray] = field(default_factory=dict)  # dJ/d(weight)
    input_grads: list[np.ndarray | None] = field(default_factory=list)  # dJ/dx per input


@dataclass
class Trace:
    model: str
    weights: str  # where the weights came from
    inputs: dict[str, np.ndarray]  # as given
    scaled: bool  # inputs were standardized as in training
    nodes: list[NodeTrace]
    output: np.ndarray
    target: np.ndarray | None = None
    loss_name: str | None = None
    loss: float | None = None
    penalty: float = 0.0  # L2 terms included in the loss


def trace(model: Any, x: Any, target: Any = None, weights: str = "") -> Trace:
    """Run one sample `x` (raw, as for predict) through `model` (NumPy backend); with a
    `target`, also the loss and the backward pass."""
    from nndsl.train.data_plan import apply_scaler

    engine = model.engine
    if engine.name != "numpy":
        raise NNDSLError("nndsl trace runs on the numpy backend")
    scaled = model.scaler is not None and not isinstance(x, dict)
    xs = apply_scaler(model.scaler, np.asarray(x, dtype=np.float64)) if scaled else x
    data = engine.prepare(xs, target)
    if len(data) != 1:
        raise NNDSLError(f"trace takes one sample, got {len(data)}")
    with _recording(engine) as recs:
        if target is None:
            engine.logits(xs)
            loss, grads = None, {}
        else:
            loss, grads = engine.loss_and_grads(xs, target)
    feeds = dict(zip((n.name for n in engine.graph.inputs), data.xs))
    consumers = engine.full_graph.consumers()
    values = engine.get_weights()
    nodes = []
    last = len(engine.full_graph.nodes) - 1
    for i, (node, rec) in enumerate(zip(engine.full_graph.nodes, recs)):
        nodes.append(
            _node_trace(node, rec, feeds, consumers[node.name], values, grads, i == last, engine)
        )
    raw = x if isinstance(x, dict) else {engine.graph.inputs[0].name: x}
    shapes = {n.name: n.shape for n in engine.graph.inputs}
    return Trace(
        model=model.graph.name,
        weights=weights,
        inputs={k: _one_sample(v, shapes[k]) for k, v in raw.items()},
        scaled=scaled,
        nodes=nodes,
        output=nodes[-1].a,
        target=None if data.y is None else data.y[0],
        loss_name=engine.loss.name if target is not None else None,
        loss=loss,
        penalty=engine.penalty() if target is not None else 0.0,
    )


def _one_sample(v: Any, shape: tuple[int, ...]) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v[0] if v.ndim == len(shape) + 1 else v


def _node_trace(node, rec, feeds, consumers, values, grads, is_output, engine) -> NodeTrace:
    family = OPS[node.op].family
    layer_act = family == "activation"  # relu(), softmax(), ...: z is the input
    act = Spec(node.op, dict(node.attrs)) if layer_act else node.attrs.get("activation")
    if not isinstance(act, Spec) or (not layer_act and rec.pre is None):
        act = None  # no activation, or a kernel that does not keep its pre-activation
    attrs = node.describe_attrs()
    t = NodeTrace(
        name=node.name,
        op=node.op,
        call=f"{node.op}({attrs})",
        inputs=list(node.inputs),
        consumers=consumers,
        x=[v[0] for v in rec.inputs],
        a=feeds[node.name][0] if node.op == "input" else rec.output[0],
        activation=act,
        params={w.name: values[node.weight_key(w)] for w in node.weights},
        l2=float(node.attrs.get("l2", 0.0) or 0.0),
        is_output=is_output,
        fused=is_output and engine.out_act.name != "linear",
    )
    if act is None:
        t.upstream = None if rec.upstream is None else rec.upstream[0]
        t.input_grads = [None if g is None else g[0] for g in rec.input_grads]
    else:
        z = rec.inputs[0] if layer_act else rec.pre.reshape(rec.output.shape)
        a = apply_activation(act.name, act.args, z) if t.fused else rec.output
        t.z, t.a = z[0], a[0]
        if rec.upstream is not None:
            local = _local_derivative(act, z, a)
            if t.fused:  # the engine's upstream is already dJ/dz (loss on the logits)
                dz = rec.upstream
                upstream = dz / local if local is not None and np.all(local != 0) else None
            else:
                upstream = rec.upstream
                dz = (
                    rec.input_grads[0]
                    if layer_act
                    else activation_of(act.name).backward(
                        upstream, z, a, np.empty_like(z), **act.args
                    )
                )
            t.upstream = None if upstream is None else upstream[0]
            t.local = None if local is None else local[0]
            t.dz = dz[0]
            t.input_grads = [None if g is None else g[0] for g in rec.input_grads]
    if rec.upstream is not None:
        keys = {w.name: node.weight_key(w) for w in node.weights}
        t.grads = {name: grads[key] for name, key in keys.items() if key in grads}
    return t


def _elementwise(act: Spec) -> bool:
    """Whether da_j/dz_k is zero for j != k (every activation but softmax), found by
    probing the activation's own backward with a unit vector."""
    f = activation_of(act.name)
    z = np.array([[0.5, -0.25]])
    a = f.forward(z, np.empty_like(z), **act.args)
    column = f.backward(np.array([[1.0, 0.0]]), z, a, np.empty_like(z), **act.args)
    return column[0, 1] == 0


def _local_derivative(act: Spec, z: np.ndarray, a: np.ndarray) -> np.ndarray | None:
    """da/dz value by value, from the activation's backward; None when it mixes units."""
    if not _elementwise(act):
        return None
    return activation_of(act.name).backward(np.ones_like(z), z, a, np.empty_like(z), **act.args)


# ---------------------------------------------------------------- text


class _Numbers:
    def __init__(self, digits: int) -> None:
        self.digits = digits

    def num(self, v: float) -> str:
        """`digits` decimal places, trailing zeros dropped; tiny or huge values as 1.234e-07."""
        v = float(v)
        if v == 0 or not math.isfinite(v):
            return "0" if v == 0 else str(v)
        if 0.5 * 10.0**-self.digits <= abs(v) < 1e7:
            s = f"{v:.{self.digits}f}".rstrip("0").rstrip(".")
            return "0" if s == "-0" else s
        return f"{v:.{max(self.digits - 1, 1)}e}"

    def factor(self, v: float) -> str:
        s = self.num(v)
        return f"({s})" if s.startswith("-") else s

    def tensor(self, v: np.ndarray) -> str:
        v = np.asarray(v)
        if v.ndim == 0:
            return self.num(v)
        if v.size <= SMALL:
            return _nested(v, self.num)
        return self.stats(v)

    def eq(self, v: np.ndarray) -> str:
        """ " = [values]" or, for a big tensor, ": shape (...): statistics"."""
        shown = self.tensor(v)
        return (": " if shown.startswith("shape") else " = ") + shown

    def stats(self, v: np.ndarray) -> str:
        shape = "(" + ", ".join(map(str, v.shape)) + ("," if v.ndim == 1 else "") + ")"
        return (
            f"shape {shape}: min {self.num(v.min())}, mean {self.num(v.mean())}, "
            f"max {self.num(v.max())}, norm {self.num(np.linalg.norm(v))}"
        )


def _nested(v: np.ndarray, num) -> str:
    if v.ndim == 1:
        return "[" + ", ".join(num(e) for e in v) + "]"
    return "[" + ", ".join(_nested(r, num) for r in v) + "]"


def _index(i: int, n: int) -> str:
    return f"[{i + 1}]" if n > 1 else ""


def _expandable(t: NodeTrace) -> bool:
    w = t.params.get("weight")
    return w is not None and t.x[0].ndim == 1 and w.size <= EXPAND


def format_text(tr: Trace, digits: int = 4) -> str:
    """The trace as the lecture writes it: one block per node, forward then backward."""
    n = _Numbers(digits)
    out = [f"trace of {tr.model} (numpy backend, float64, evaluation mode: no dropout)"]
    if tr.weights:
        out.append(f"weights: {tr.weights}")
    for name, v in tr.inputs.items():
        scaled = "   (standardized as in training: x below)" * tr.scaled
        out.append(f"input {name}{n.eq(v)}{scaled}")
    if tr.target is not None:
        out.append(f"target t{n.eq(tr.target)}")
    out += ["", "forward: z = b + sum of w*x, then a = g(z)"]
    for t in tr.nodes:
        out += _forward_lines(t, n)
    out.append(f"output y{n.eq(tr.output)}")
    if tr.loss is None:
        return "\n".join(out) + "\n"
    out += ["", "loss"]
    extra = f"  (includes the L2 penalty {n.num(tr.penalty)})" if tr.penalty else ""
    out.append(f"  J = {tr.loss_name}(y, t) = {n.num(tr.loss)}{extra}")
    out += ["", "backward: the chain rule, dJ/dw = dJ/da * da/dz * dz/dw"]
    for t in reversed(tr.nodes):
        out += _backward_lines(t, n)
    return "\n".join(out) + "\n"


def _head(t: NodeTrace) -> str:
    src = f" <- {', '.join(t.inputs)}" if t.inputs else ""
    return f"  {t.name}: {t.call}{src}"


def _forward_lines(t: NodeTrace, n: _Numbers) -> list[str]:
    lines = [_head(t)]
    a = "y" if t.is_output else "a"
    if t.op == "input":
        return lines + [f"    x{n.eq(t.a)}"]
    if t.activation is None:
        args = ", ".join(t.inputs)
        what = "the identity outside training" if t.op == "dropout" else f"{t.op}({args})"
        return lines + [f"    {a}{n.eq(t.a)}   ({what})"]
    g = t.activation.name
    if t.op == "dense" and _expandable(t):
        w, b, x = t.params["weight"], t.params.get("bias"), t.x[0]
        units = w.shape[1]
        for j in range(units):
            terms = ([n.num(b[j])] if b is not None else []) + [
                f"{n.factor(w[i, j])}*{n.factor(x[i])}" for i in range(w.shape[0])
            ]
            lines.append(f"    z{_index(j, units)} = {' + '.join(terms)} = {n.num(t.z[j])}")
        for j in range(units):
            value = f"{g}({n.num(t.z[j])})" if g != "linear" else "z" + _index(j, units)
            if g == "softmax":
                value = f"softmax(z){_index(j, units)}"
            lines.append(f"    {a}{_index(j, units)} = {value} = {n.num(t.a[j])}")
        return lines
    if t.op != "dense" and OPS[t.op].family != "activation":
        lines.append(f"    z = {t.op}(x) + b{n.eq(t.z)}")
    elif t.op == "dense":
        lines.append(f"    z = x.w + b{n.eq(t.z)}")
    z = "x" if OPS[t.op].family == "activation" else "z"
    if t.z.size <= SMALL and g != "linear":
        lines.append(f"    {a} = {g}({n.tensor(t.z)}) = {n.tensor(t.a)}")
    else:
        lines.append(f"    {a} = {g}({z}){n.eq(t.a)}")
    return lines


def _upstream_note(t: NodeTrace) -> str:
    if t.is_output:
        return "from the loss"
    if len(t.consumers) > 1:
        return "summed over " + ", ".join(t.consumers)
    return "from " + ", ".join(t.consumers)


def _backward_lines(t: NodeTrace, n: _Numbers) -> list[str]:
    reached = t.dz is not None or t.upstream is not None or t.grads
    if t.op == "input" or not reached:
        return []
    lines = [f"  {t.name}"]
    a = "y" if t.is_output else "a"
    if t.activation is None:
        lines.append(f"    dJ/d{a}{n.eq(t.upstream)}   ({_upstream_note(t)})")
        for name, g in t.grads.items():
            lines.append(f"    dJ/d{name}{n.eq(g)}")
        for name, g in zip(t.inputs, t.input_grads):
            if g is not None:
                lines.append(f"    dJ/dx{n.eq(g)}   (to {name})")
        return lines
    g = t.activation.name
    if t.op == "dense" and _expandable(t):
        return lines + _dense_expanded(t, n, a, g)
    if t.upstream is not None:
        lines.append(f"    dJ/d{a}{n.eq(t.upstream)}   ({_upstream_note(t)})")
    if t.local is not None:
        lines.append(f"    d{a}/dz = {g}'(z){n.eq(t.local)}")
        lines.append(f"    dJ/dz = dJ/d{a} * d{a}/dz{n.eq(t.dz)}")
    else:
        how = "the output activation folded into the loss" if t.fused else f"{g}'s Jacobian"
        lines.append(f"    dJ/dz{n.eq(t.dz)}   ({how})")
    if "weight" in t.grads:
        l2 = f" + 2*{n.num(t.l2)}*w" if t.l2 else ""
        how = " = x^T.dJ/dz" if t.op == "dense" else ""
        lines.append(f"    dJ/dw{how}{l2}{n.eq(t.grads['weight'])}")
    if "bias" in t.grads:
        how = " = dJ/dz" if t.op == "dense" else ""
        lines.append(f"    dJ/db{how}{n.eq(t.grads['bias'])}")
    for name in t.grads.keys() - {"weight", "bias"}:
        lines.append(f"    dJ/d{name}{n.eq(t.grads[name])}")
    for name, gx in zip(t.inputs, t.input_grads):
        if gx is not None:
            via = {"dense": " = dJ/dz.w^T", "activation": " = dJ/dz"}.get(
                "dense" if t.op == "dense" else OPS[t.op].family, ""
            )
            lines.append(f"    dJ/dx{via}{n.eq(gx)}   (to {name})")
    return lines


def _dense_expanded(t: NodeTrace, n: _Numbers, a: str, g: str) -> list[str]:
    w, x = t.params["weight"], t.x[0]
    fan_in, units = w.shape
    lines = []
    chains = []  # per unit: (symbols, numbers) of dJ/dz
    for j in range(units):
        k = _index(j, units)
        if t.upstream is not None:
            lines.append(f"    dJ/d{a}{k} = {n.num(t.upstream[j])}   ({_upstream_note(t)})")
        if g == "linear" and t.upstream is not None:  # a = z: nothing to multiply by
            lines.append(f"    dJ/dz{k} = dJ/d{a}{k} = {n.num(t.dz[j])}   ({a} = z)")
            chains.append((f"dJ/dz{k}", n.factor(t.dz[j])))
        elif t.local is not None and t.upstream is not None:
            lines.append(f"    d{a}{k}/dz{k} = {g}'({n.num(t.z[j])}) = {n.num(t.local[j])}")
            lines.append(
                f"    dJ/dz{k} = dJ/d{a}{k} * d{a}{k}/dz{k} = "
                f"{n.factor(t.upstream[j])} * {n.factor(t.local[j])} = {n.num(t.dz[j])}"
            )
            chains.append(
                (
                    f"dJ/d{a}{k} * d{a}{k}/dz{k}",
                    f"{n.factor(t.upstream[j])} * {n.factor(t.local[j])}",
                )
            )
        else:
            how = "the output activation folded into the loss" if t.fused else f"{g}'s Jacobian"
            lines.append(f"    dJ/dz{k} = {n.num(t.dz[j])}   ({how})")
            chains.append((f"dJ/dz{k}", n.factor(t.dz[j])))
    gw = t.grads.get("weight")
    for j in range(units):
        k = _index(j, units)
        symbols, numbers = chains[j]
        for i in range(fan_in):
            wk = f"[{i + 1},{j + 1}]" if units > 1 else f"[{i + 1}]"
            l2s = f" + 2*l2*w{wk}" if t.l2 else ""
            l2n = f" + 2*{n.num(t.l2)}*{n.factor(w[i, j])}" if t.l2 else ""
            lines.append(
                f"    dJ/dw{wk} = {symbols} * dz{k}/dw{wk}{l2s} = "
                f"{numbers} * {n.factor(x[i])}{l2n} = {n.num(gw[i, j])}"
            )
        if "bias" in t.grads:
            lines.append(
                f"    dJ/db{k} = {symbols} * dz{k}/db{k} = {numbers} * 1 = "
                f"{n.num(t.grads['bias'][j])}"
            )
    gx = t.input_grads[0] if t.input_grads else None
    if gx is not None:
        for i in range(fan_in):
            terms = " + ".join(f"{n.factor(t.dz[j])}*{n.factor(w[i, j])}" for j in range(units))
            lines.append(
                f"    dJ/dx[{i + 1}] = sum of dJ/dz*w = {terms} = {n.num(gx[i])}"
                f"   (to {t.inputs[0]})"
            )
    return lines


# ---------------------------------------------------------------- json


def _tensor_json(v: Any) -> Any:
    if v is None:
        return None
    v = np.asarray(v, dtype=np.float64)
    if v.size <= JSON_VALUES:
        return {"shape": list(v.shape), "values": v.tolist()}
    return {
        "shape": list(v.shape),
        "summary": {
            "min": float(v.min()),
            "mean": float(v.mean()),
            "max": float(v.max()),
            "std": float(v.std()),
        },
    }


def to_json(tr: Trace) -> dict[str, Any]:
    """The trace as plain data: every tensor as {"shape", "values"} (or "summary" when
    very large), per node its forward values and, with a target, its gradients."""
    nodes = []
    for t in tr.nodes:
        entry: dict[str, Any] = {
            "name": t.name,
            "op": t.op,
            "call": t.call,
            "inputs": t.inputs,
            "activation": str(t.activation) if t.activation else None,
            "z": _tensor_json(t.z),
            "a": _tensor_json(t.a),
            "params": {k: _tensor_json(v) for k, v in t.params.items()},
        }
        reached = t.dz is not None or t.upstream is not None or t.grads
        if tr.loss is not None and reached and t.op != "input":
            entry["backward"] = {
                "dJ/da": _tensor_json(t.upstream),
                "da/dz": _tensor_json(t.local),
                "dJ/dz": _tensor_json(t.dz),
                "grads": {k: _tensor_json(v) for k, v in t.grads.items()},
                "input_grads": {name: _tensor_json(g) for name, g in zip(t.inputs, t.input_grads)},
            }
        nodes.append(entry)
    return {
        "model": tr.model,
        "weights": tr.weights,
        "dtype": "float64",
        "inputs": {k: _tensor_json(v) for k, v in tr.inputs.items()},
        "standardized": tr.scaled,
        "target": _tensor_json(tr.target),
        "nodes": nodes,
        "output": _tensor_json(tr.output),
        "loss": None
        if tr.loss is None
        else {"name": tr.loss_name, "value": tr.loss, "l2_penalty": tr.penalty},
    }
