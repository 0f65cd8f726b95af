"""The NumPy interpreter: runs the IR in topological order on whole batches, with its own
reverse-mode differentiation.

All parameters live in one flat buffer (gradients in another) with a view per tensor, so
an optimizer step is a few vectorized passes; activations and deltas live in buffers
kept per batch size, so a training step allocates only small temporaries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.backends.base import (
    Batch,
    Engine,
    Evaluator,
    Weighted,
    dataset_arrays,
    input_arrays,
    rows,
    split_weights,
)
from nndsl.backends.numpy.activations import apply as apply_activation
from nndsl.backends.numpy.autodiff import Primitives, Tape, plain_primitives
from nndsl.backends.numpy.kernels import KERNELS
from nndsl.backends.numpy.losses import LOSSES
from nndsl.backends.numpy.optimizers import clip_grad_norm, make_optimizer
from nndsl.ir.check import check_weights
from nndsl.ir.graph import Graph
from nndsl.ir.heads import probability_logits
from nndsl.ir.init import initial_weights
from nndsl.ir.plan import Head, LossTerm
from nndsl.ir.signature import Spec
from nndsl.ir.terms import term_compute


@dataclass
class Prepared:
    """A dataset cast once to the engine's dtype, with reusable shuffle buffers."""

    xs: list[np.ndarray]
    # a list: one target array per head; Weighted: with the loss's weight of each sample
    y: np.ndarray | list[np.ndarray] | Weighted | None
    _xbufs: list[np.ndarray] | None = None
    _ybuf: Any = None

    def __len__(self) -> int:
        return self.xs[0].shape[0]

    def shuffled(self, order: np.ndarray) -> tuple[list[np.ndarray], Any]:
        if isinstance(self.y, Weighted):  # the targets and their weights, in one order
            if self._ybuf is None:
                self._ybuf = Prepared([self.y.w], self.y.y)
            (w,), y = self._ybuf.shuffled(order)
            xs, _ = Prepared(self.xs, None, self._xbufs).shuffled(order)
            self._xbufs = xs
            return xs, Weighted(y, w)
        several = isinstance(self.y, list)
        if self._xbufs is None:
            self._xbufs = [np.empty_like(x) for x in self.xs]
            self._ybuf = (
                [np.empty_like(t) for t in self.y]
                if several
                else None
                if self.y is None
                else np.empty_like(self.y)
            )
        for src, dst in zip(self.xs, self._xbufs):
            np.take(src, order, axis=0, out=dst, mode="clip")  # "clip": unbuffered
        if self.y is None:  # inputs alone (a GAN's real samples)
            return self._xbufs, None
        for src, dst in zip(self.y, self._ybuf) if several else ((self.y, self._ybuf),):
            np.take(src, order, axis=0, out=dst, mode="clip")
        return self._xbufs, self._ybuf


class NumpyEngine(Engine):
    name = "numpy"
    losses_on_host = True  # a step's loss is a float already: checked before its step
    penalty_by_differences = True  # see add_gradient_penalty

    def __init__(
        self,
        graph: Graph,
        *,
        seed: int = 0,
        dtype: str = "float32",
        loss: Spec | None = None,
        optimizer: Spec | None = None,
        metrics: list[str] = (),
        clip_norm: float | None = None,
        heads: list[Head] | None = None,
        terms: list[LossTerm] = (),
        input_grads: bool = False,
    ) -> None:
        super().__init__(graph, loss, metrics, heads, terms)
        self.dtype = dtype
        self.clip_norm = clip_norm
        # the first input's gradient is wanted (a discriminator's samples: its gradient
        # trains the generator that made them)
        self.input_grads = input_grads
        self._layout(initial_weights(graph, seed, dtype), _state_keys(graph))
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5EED])  # dropout masks
        self._build_kernels()
        if optimizer is not None:
            self.optimizer = make_optimizer(optimizer, self.trainable, self.grads)

    # ------------------------------------------------------------------ layout
    def _layout(self, init: dict[str, np.ndarray], state: set[str]) -> None:
        """One flat buffer: the trainable tensors first (the optimizer's and the
        gradient's part), then the state layers update themselves (running statistics)."""
        self.shapes = {k: v.shape for k, v in init.items()}
        total = sum(v.size for v in init.values())
        n_trainable = sum(v.size for k, v in init.items() if k not in state)
        self.params = np.zeros(total, self.dtype)
        self.trainable = self.params[:n_trainable]
        self.grads = np.zeros(n_trainable, self.dtype)
        self.views: dict[str, np.ndarray] = {}
        self.grad_views: dict[str, np.ndarray] = {}
        offset = 0
        for key in sorted(init, key=lambda k: k in state):  # stable: trainable first
            value = init[key]
            n = value.size
            self.views[key] = self.params[offset : offset + n].reshape(value.shape)
            if key not in state:
                self.grad_views[key] = self.grads[offset : offset + n].reshape(value.shape)
            self.views[key][...] = value
            offset += n

    def _build_kernels(self) -> None:
        nodes = self.graph.nodes
        index = {n.name: i for i, n in enumerate(nodes)}
        requires = []
        wanted = self.graph.inputs[0].name if self.input_grads else None
        for n in nodes:
            own = any(w.trainable for w in n.weights) or n.name == wanted
            requires.append(own or any(requires[index[i]] for i in n.inputs))
        self.kernels = []
        for n in nodes:
            own = {w.name: self.views[n.weight_key(w)] for w in n.weights}
            grads = {w.name: self.grad_views[n.weight_key(w)] for w in n.weights if w.trainable}
            needs = [requires[index[i]] for i in n.inputs]
            self.kernels.append(KERNELS[n.op](n, own, grads, needs, np.dtype(self.dtype), self.rng))
        self.in_idx = [tuple(index[i] for i in n.inputs) for n in nodes]
        self.requires = requires
        self.input_idx = [index[n.name] for n in self.graph.inputs]
        # L2 from the declarations (WeightDef.l2), whatever the op: as the torch engine does
        self.penalized = [
            (self.views[n.weight_key(w)], self.grad_views[n.weight_key(w)], w.l2)
            for n in nodes
            for w in n.weights
            if w.l2 and w.trainable
        ]
        self._vals: list[Any] = [None] * len(nodes)
        self._dout: dict[tuple[int, ...], np.ndarray] = {}
        self.out_idx = [index[p.node] for p in self.plans]  # each head's output node
        self.term_idx = [tuple(index[i] for i in t.inputs) for t in self.terms]

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        vals = self._vals
        for pos, i in enumerate(self.input_idx):
            vals[i] = xs[pos]
        for i, (kernel, ins) in enumerate(zip(self.kernels, self.in_idx)):
            if ins:
                vals[i] = kernel.forward([vals[j] for j in ins], training)
        return vals[-1] if self.simple else [vals[k] for k in self.out_idx]

    def _backward(
        self, dout: np.ndarray | None, seeds: dict[int, np.ndarray] = None
    ) -> list[np.ndarray | None]:
        """Gradients of every weight from d loss / d output (`dout`), or, with several
        outputs or terms, from `seeds` {node index: d loss / d that node's value}; returns
        d loss / d each input (None where no gradient was asked for)."""
        grads: list[Any] = [None] * len(self.kernels)
        if seeds is None:
            grads[-1] = dout
        else:
            for k, g in seeds.items():
                grads[k] = g
        for i in range(len(self.kernels) - 1, -1, -1):
            g = grads[i]
            if g is None or not self.requires[i] or not self.in_idx[i]:
                continue
            for j, gj in zip(self.in_idx[i], self.kernels[i].backward(g)):
                if gj is not None:
                    grads[j] = gj if grads[j] is None else grads[j] + gj
        for w, gw, l2 in self.penalized:  # d(l2 * sum(w ** 2)) / dw
            gw += (2 * l2) * w
        return [grads[i] for i in self.input_idx]

    def _loss(self, out: np.ndarray, y: Any) -> tuple[float, np.ndarray]:
        dout = self._dout.get(out.shape)
        if dout is None:
            dout = self._dout[out.shape] = np.empty(out.shape, self.dtype)
        y, weight = split_weights(y)
        loss = LOSSES[self.loss.name](out, y, dout, weight=weight, **self.loss.args)
        return loss + self.penalty(), dout

    def _losses(
        self, outs: list[np.ndarray], ys: list[np.ndarray], grads: bool = True
    ) -> tuple[list[float], dict[int, np.ndarray]]:
        """(the batch's loss record, see Engine.record; the backward seeds) of several
        heads and terms: each head's loss times its weight, plus each term times its
        weight, plus L2. A term, and a loss on probabilities, run on a tape."""
        seeds: dict[int, np.ndarray] = {}
        total, own, values = 0.0, [], []

        def seed(k: int, g: np.ndarray) -> None:
            g = np.array(g, dtype=self.dtype)  # a writable copy: kernels may reuse it
            seeds[k] = g if k not in seeds else seeds[k] + g

        for head, plan, k, out, y in zip(self.heads, self.plans, self.out_idx, outs, ys):
            tape = Tape() if plan.converts else None
            leaf = tape.leaf(out) if tape else None
            z = probability_logits(Primitives(tape), leaf, plan.converts) if tape else None
            logits = z.value if tape else out
            dz = np.empty(logits.shape, self.dtype)
            value = LOSSES[head.loss.name](logits, y, dz, **head.loss.args)
            own.append(value)
            total += head.weight * value
            if grads and head.weight:
                dz *= head.weight
                seed(k, tape.grads(z, dz)[id(leaf)] if tape else dz)
        for term, ins in zip(self.terms, self.term_idx):
            tape = Tape()
            leaves = [tape.leaf(self._vals[j]) for j in ins]
            result = term_compute(term.fn)(Primitives(tape), leaves, term.args)
            value = float(result.value)
            values.append(value)
            total += term.weight * value
            if grads and term.weight:
                found = tape.grads(result, np.asarray(term.weight, self.dtype))
                for leaf, j in zip(leaves, ins):
                    if id(leaf) in found:
                        seed(j, found[id(leaf)])
        return self.record(total + self.penalty(), own, values), seeds

    def penalty(self) -> float:
        """The L2 terms of the loss: sum of l2 * sum(w ** 2) over the declared weights."""
        return sum(l2 * float(np.vdot(w, w)) for w, _, l2 in self.penalized)

    # ------------------------------------------------------------------ engine interface
    def prepare(self, x: Any, y: Any | None, weights: Any = None) -> Prepared:
        heads = None if self.simple else self.heads
        arrays = dataset_arrays(self.full_graph, self.loss, x, y, self.dtype, heads, weights)
        return Prepared(*arrays)

    def inputs(self, x: Any) -> list[np.ndarray]:
        return x.xs if isinstance(x, Prepared) else self._inputs(x)

    def _inputs(self, x: Any) -> list[np.ndarray]:
        return input_arrays(self.graph, x, self.dtype)

    def set_mode(self, training: bool) -> None:
        pass  # nothing to switch: each forward pass is told whether it trains

    def epoch_batches(self, data: Prepared, order: np.ndarray, batch_size: int) -> Iterator[Batch]:
        xs, y = data.shuffled(order)
        n = len(data)
        single = len(xs) == 1
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            xb = [xs[0][start:stop]] if single else [x[start:stop] for x in xs]
            yb = [t[start:stop] for t in y] if isinstance(y, list) else rows(y, slice(start, stop))
            yield xb, yb, stop - start

    def train_forward(
        self, xs: list[np.ndarray], y: np.ndarray, size: int
    ) -> tuple[np.ndarray, float, np.ndarray]:
        out = self._forward(xs, True)
        if not self.simple:
            record, seeds = self._losses(out, y)
            return seeds, record, out
        loss, dout = self._loss(out, y)
        return dout, loss, out

    def train_step(self, dout: np.ndarray | dict[int, np.ndarray]) -> None:
        if isinstance(dout, dict):
            self._backward(None, dout)
        else:
            self._backward(dout)
        if self.clip_norm is not None:
            clip_grad_norm(self.grads, self.clip_norm)
        self.optimizer.step()

    def eval_batch(self, xs: list[np.ndarray], y: np.ndarray) -> tuple[float, np.ndarray]:
        out = self._forward(xs, False)
        if not self.simple:
            return self._losses(out, y, grads=False)[0], out
        return self._loss(out, y)[0], out

    def predict_batch(self, xs: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        out = self._forward(xs, False)
        # the forward pass writes into reused buffers: keep a copy of what it returns
        if not self.simple:
            return [
                o.copy() if p.activation.name == "linear" else self.activate(o, i)
                for i, (p, o) in enumerate(zip(self.plans, out))
            ]
        return out.copy() if self.out_act.name == "linear" else self.activate(out)

    def join_predictions(self, parts: list[np.ndarray], node: str | None = None) -> np.ndarray:
        shape = self.graph[node].shape if node else self.graph.output.shape
        return np.concatenate(parts) if parts else np.empty((0, *shape))

    def read_back(
        self,
        losses: list[float],
        sizes: list[int],
        sums: dict[str, list[tuple]],
        kept: dict[str, list[tuple]],
        training: bool,
    ) -> tuple[list[float], dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
        totals = {}
        for m, batches in sums.items():
            total = np.zeros(0)
            for parts in batches:  # one by one, in order: the sums of the epoch-by-epoch record
                vector = np.concatenate([np.asarray(p, np.float64).reshape(-1) for p in parts])
                total = vector if not total.size else total + vector
            totals[m] = total
        joined = {
            m: [np.concatenate(column) for column in zip(*batches)] for m, batches in kept.items()
        }
        return losses, totals, joined

    def activate(self, out: np.ndarray, head: int = 0) -> np.ndarray:
        act = self.plans[head].activation
        if act.name == "linear":
            return out
        return apply_activation(act.name, act.args, out)

    def logits(self, x: Any) -> np.ndarray | list[np.ndarray]:
        """The output before the split-off activation (for gradient checks and tests);
        a list, one per head, with several outputs or terms."""
        out = self._forward(self._inputs(x), False)
        return [o.copy() for o in out] if not self.simple else out.copy()

    def loss_and_grads(
        self, x: Any, y: Any, training: bool = False, weights: Any = None
    ) -> tuple[float, dict]:
        """Loss on one batch and the gradient of every weight (tests, `nndsl trace`); the
        total loss with several outputs or terms."""
        data = self.prepare(x, y, weights)
        out = self._forward(data.xs, training)
        if not self.simple:
            record, seeds = self._losses(out, data.y)
            self._backward(None, seeds)
            loss = record[0]
        else:
            loss, dout = self._loss(out, data.y)
            self._backward(dout)
        return loss, {k: v.copy() for k, v in self.grad_views.items()}

    # ------------------------------------------------------------------ steps driven from outside
    def grad_forward(
        self, xs: list[np.ndarray], keep: bool = True
    ) -> np.ndarray | list[np.ndarray]:
        self._check_driven()
        out = self._forward(xs, True)
        return out if self.simple or len(self.plans) > 1 else out[0]

    def eval_forward(self, xs: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        self._check_driven()
        out = self._forward(xs, False)  # the pass's buffers are reused: copies
        if self.simple:
            return out.copy()
        return [o.copy() for o in out] if len(self.plans) > 1 else out[0].copy()

    @property
    def primitives(self) -> Any:
        if getattr(self, "_plain", None) is None:
            self._plain = plain_primitives()
        return self._plain

    def grad_backward(self, dout: np.ndarray | list[np.ndarray]) -> list[np.ndarray | None]:
        if self.simple:
            return self._backward(np.array(dout, dtype=self.dtype))  # a copy kernels may reuse
        douts = dout if len(self.plans) > 1 else [dout]
        seeds: dict[int, np.ndarray] = {}
        for k, d in zip(self.out_idx, douts, strict=True):
            d = np.array(d, dtype=self.dtype)
            seeds[k] = d if k not in seeds else seeds[k] + d
        return self._backward(None, seeds)

    def grad_step(self) -> None:
        if self.clip_norm is not None:
            clip_grad_norm(self.grads, self.clip_norm)
        self.optimizer.step()

    def differentiate(self, fn: Any, values: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        tape = Tape()
        leaves = [tape.leaf(v) for v in values]
        result = fn(Primitives(tape), leaves)
        found = tape.grads(result, np.asarray(1.0, self.dtype))
        return float(result.value), [
            found.get(id(leaf), np.zeros_like(v)) for leaf, v in zip(leaves, values)
        ]

    def add_gradient_penalty(self, xs: list[np.ndarray], weight: float) -> float:
        """The penalty's gradient needs d/d weights of the input gradient, a second
        derivative the kernels do not have. It is the gradient of a directional
        derivative: with g_i = d out_i / d x_i and u_i = d penalty / d g_i,
        d penalty / d weights = d/d weights of sum_i u_i . g_i, and u_i . g_i is the
        derivative of out_i along u_i, taken by central differences of two more passes:
        (grad(out(x + h u)) - grad(out(x - h u))) / 2h. Exact for a critic linear in x,
        and O(h^2) for a smooth one (silu, gelu, tanh; elu's second derivative jumps at
        0, a unit within h of it is averaged over both sides), for one whose gradient is
        continuous (the
        Adversarial trainer refuses a critic with relu's kink, where a difference across
        the kink is a spike of size 1/h); tests/test_adversarial.py checks it against
        torch's double backward."""
        kept = self.grads.copy()
        state = self.rng.bit_generator.state  # every pass draws the same dropout masks
        x, rest = xs[0], list(xs[1:])
        ones = np.ones((x.shape[0], *self.graph.nodes[-1].shape), self.dtype)
        g = self._grad_passes([x, *rest], ones, state)[0].astype(np.float64)
        n = x.shape[0]
        flat = g.reshape(n, -1)
        norms = np.sqrt((flat * flat).sum(axis=1) + 1e-12)
        value = weight * float(np.mean((norms - 1) ** 2))
        u = ((2 * weight / n) * (norms - 1) / norms)[:, None] * flat
        top = float(np.abs(u).max())
        if top == 0.0:  # every gradient norm is 1: nothing to add
            self.grads[...] = kept
            return value
        # a step of at most 1% of the samples' scale (float32), 1e-6 (float64): small, as
        # an activation whose second derivative jumps (elu at 0) is averaged across it
        scale = max(float(np.abs(x).max()), 1.0) * (1e-2 if self.dtype == "float32" else 1e-6)
        h = scale / top
        step = (h * u).reshape(x.shape)
        self._grad_passes([(x + step).astype(self.dtype), *rest], ones, state)
        plus = self.grads.copy()
        self._grad_passes([(x - step).astype(self.dtype), *rest], ones, state)
        self.grads[...] = kept + (plus - self.grads) * (1.0 / (2 * h))
        return value

    def _grad_passes(self, xs: list[np.ndarray], dout: np.ndarray, state: dict) -> list:
        self.rng.bit_generator.state = state
        self._forward(xs, True)
        return self._backward(dout.copy())

    def host_floats(self, values: list[Any]) -> list[float]:
        return [float(v) for v in values]

    def tensor(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=self.dtype)

    def get_weights(self) -> dict[str, np.ndarray]:
        return {k: self.views[k].copy() for k in self.shapes}  # in graph order

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        check_weights(self.shapes, weights)
        for k, v in weights.items():
            self.views[k][...] = v

    def evaluator(self) -> Evaluator:
        return Evaluator(
            plain_primitives(), self.views, lambda a: np.asarray(a, self.dtype), np.asarray
        )

    @property
    def lr(self) -> float:
        return self.optimizer.lr if self.optimizer else 0.0

    @lr.setter
    def lr(self, value: float) -> None:
        if self.optimizer is not None:
            self.optimizer.lr = value

    def state_dict(self) -> dict[str, Any]:
        state = {
            f"optimizer.{k}": v
            for k, v in (self.optimizer.state_dict() if self.optimizer else {}).items()
        }
        state["rng"] = self.rng.bit_generator.state
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.optimizer is not None:
            self.optimizer.load_state_dict(
                {k[10:]: v for k, v in state.items() if k.startswith("optimizer.")}
            )
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]


def _state_keys(graph: Graph) -> set[str]:
    """The weight keys of non-trainable state (running statistics)."""
    return {n.weight_key(w) for n in graph.nodes for w in n.weights if not w.trainable}
