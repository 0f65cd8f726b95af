"""A key/value cache for generating text with a causal per-position model: each new
token is run through the model at its own position alone, instead of the whole window.

A graph can be run this way when it maps token ids (context,) to scores per position
(context, units) and every node computes output position t from positions 0..t of its
inputs (`plan_steps` says why not, otherwise). The node kinds, and what a step of
positions t0..t0+n-1 does with them (on (1, n, ...) slices, batch and time axes first):

- position-wise ops (the declaration's `mask` says "starts" or "follows": embedding,
  dense, layer_norm, rms_norm, dropout in inference, activations, add, multiply, ...),
  and concat off the time axis: their own declared `compute`, unchanged;
- reshape that keeps the time axis: the new shape of each position;
- positional_embedding and sinusoidal_position, whose tables have a row per position:
  their `compute` with rows t0..t0+n-1 of the tables;
- causal multi_head_attention (self-attention, or cross-attention to a memory computed
  position by position too): the projections of ops_attention (`project`, `combine`),
  this step's keys and values appended to the layer's cache, the queries attending to
  every cached key (the causal mask is needed only among a step's own positions); a
  `pad_from` mask reads the cached token ids.

Anything else (convolutions, recurrences, pooling, flatten, non-causal attention, a
model giving one distribution per window) mixes positions or sees the whole window, and
generation runs the full window per token instead.

Past the context length the text no longer fits: the uncached path crops it to its last
`context` tokens, which moves every token to a new position, so every cached key and
value would change (positions are absolute). There the cache steps aside and the output
is the engine's full forward pass over the cropped window, exactly what generation
without the cache computes: beyond the context a token costs what it costs without the
cache, and the two paths agree bit for bit. (A queried position that sees only padding
keys attends to the keys it has, 0..t, where the full pass's attends to every key of the
window: prompts taken from a vocabulary hold no padding id, so generation never meets
it.)

Everything runs on the engine's primitives (`Engine.evaluator`): one code path for both
backends. Under torch's mixed precision the steps run in the engine's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nndsl.backends.base import Engine
from nndsl.ir.graph import Graph, Node
from nndsl.ir.ops import OPS, activate
from nndsl.ir.ops_attention import MASKED, combine, keep_mask, project


@dataclass(frozen=True)
class StepNode:
    """One node of a stepped graph: how it is run (see the module) and where its inputs
    are (indices into the plan)."""

    node: Node
    kind: str  # "input" | "compute" | "rows" | "reshape" | "attention"
    inputs: tuple[int, ...]


def plan_steps(graph: Graph) -> list[StepNode] | str:
    """How to run `graph` one position at a time, or a sentence saying why it cannot be
    (naming the first node that mixes positions)."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return "the model has more than one input or output"
    shape_in = tuple(graph.inputs[0].shape)
    out = graph.output
    if len(shape_in) != 1 or len(out.shape) != 2 or out.shape[0] != shape_in[0]:
        return (
            f"the model maps {shape_in} to {tuple(out.shape)}, not token ids (context,) to "
            "scores at every position (context, vocab)"
        )
    context = shape_in[0]
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    plan = []
    for n in graph.nodes:
        kind = "input" if n.op == "input" else _kind(n, [graph[i] for i in n.inputs], context)
        if kind.startswith("not:"):
            return f"{n.op} '{n.name}' {kind[4:]}"
        plan.append(StepNode(n, kind, tuple(index[i] for i in n.inputs)))
    return plan


def _kind(n: Node, ins: list[Node], context: int) -> str:
    """How node `n` is stepped, or "not:" and why it cannot be."""
    if not n.shape or n.shape[0] != context or any(i.shape[:1] != (context,) for i in ins):
        return "not:does not keep one step per position of the window"
    if n.op == "multi_head_attention":
        if not n.attrs["causal"]:
            return "not:is not causal: every position attends to the whole window"
        return "attention"
    if OPS[n.op].by_position:
        return "rows"
    if n.op == "reshape":
        return "reshape"
    if n.op == "concat":
        axis = n.attrs["axis"]
        return "compute" if axis % len(n.shape) else "not:joins along the time axis"
    mask = OPS[n.op].mask
    if mask == "starts" or ("follows" in mask and all(len(i.shape) > 1 for i in ins)):
        return "compute"
    return "not:mixes positions (it is not computed one position at a time)"


def why_not_cached(graph: Graph) -> str | None:
    """None where generation can use a key/value cache for `graph`, else why not."""
    plan = plan_steps(graph)
    return plan if isinstance(plan, str) else None


@dataclass
class _Cache:
    """One attention layer's keys and values so far, (1, heads, t, width) each, and
    the token ids of its pad mask, (1, t)."""

    keys: Any = None
    values: Any = None
    tokens: Any = None


@dataclass
class KVCache:
    """The model of `engine` run one position at a time over a growing text. Called with
    the token ids so far, it returns the model's output (activated, as `predict` gives
    it) at the text's last position, shape (units,); see the module for how the window
    is followed past the context."""

    engine: Engine
    plan: list[StepNode]
    context: int
    _ids: list[int] = field(default_factory=list)
    _caches: dict[str, _Cache] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ev = self.engine.evaluator()
        self.P, self.tensor, self.host = ev.P, ev.tensor, ev.host
        self.weights = [
            {w.name: ev.weights[s.node.weight_key(w)] for w in s.node.weights} for s in self.plan
        ]

    def reset(self) -> None:
        self._ids, self._caches = [], {}

    def __call__(self, ids: list[int]) -> np.ndarray:
        if len(ids) > self.context:  # the window slides: every position moves
            self.reset()
            window = np.asarray(ids[-self.context :], dtype=np.float64).reshape(1, -1)
            return np.asarray(self.engine.predict(window, 1))[0, -1]
        known = len(self._ids)
        if not known or len(ids) <= known or ids[:known] != self._ids:
            self.reset()
            return self._step(ids)
        out = None
        for i in ids[known:]:  # one position at a time: no mask within a step
            out = self._step([i])
        return out

    def _step(self, new: list[int]) -> np.ndarray:
        """Positions len(self._ids).. of `new` through the model; the output at the last."""
        start, n = len(self._ids), len(new)
        P = self.P
        vals: list[Any] = []
        for s, w in zip(self.plan, self.weights):
            xs = [vals[i] for i in s.inputs]
            node = s.node
            if s.kind == "input":
                y = self.tensor(np.asarray(new, dtype=np.float64).reshape(1, n))
            elif s.kind == "compute":
                y = OPS[node.op].compute(P, xs, w, node.attrs)
            elif s.kind == "rows":
                rows = {k: P.slice(v, 0, start, start + n) for k, v in w.items()}
                y = OPS[node.op].compute(P, xs, rows, node.attrs)
            elif s.kind == "reshape":
                y = P.reshape(xs[0], (1, n, *node.shape[1:]))
            else:
                y = self._attend(node, xs, w)
            vals.append(y)
        self._ids.extend(new)
        last = P.slice(vals[-1], 1, n - 1, n)
        return self.host(activate(P, self.engine.out_act, last)).reshape(-1)

    def _attend(self, node: Node, xs: list[Any], w: dict[str, Any]) -> Any:
        """Causal attention of this step's queries over the cached keys and its own."""
        P, a = self.P, node.attrs
        cache = self._caches.setdefault(node.name, _Cache())
        q, k, v = project(P, xs, w, a)
        if cache.keys is not None:
            k, v = P.concat([cache.keys, k], 2), P.concat([cache.values, v], 2)
        cache.keys, cache.values = k, v
        logits = P.matmul(q * (1.0 / math.sqrt(q.shape[-1])), P.transpose(k, (0, 1, 3, 2)))
        if q.shape[2] > 1:  # several positions: a step from an empty cache, square
            logits = P.tril(logits, MASKED)
        if a["pad_from"] is not None:
            tokens = xs[-1]
            if cache.tokens is not None:
                tokens = P.concat([cache.tokens, tokens], 1)
            cache.tokens = tokens
            logits = P.where(keep_mask(P, tokens, a["pad_id"]), logits, MASKED)
        return combine(P, P.matmul(P.softmax(logits, -1), v), w)


def kv_cache(engine: Engine) -> KVCache | str:
    """A key/value cache over `engine`'s model, or why its graph cannot have one."""
    plan = plan_steps(engine.graph)
    if isinstance(plan, str):
        return plan
    return KVCache(engine, plan, engine.graph.inputs[0].shape[0])
