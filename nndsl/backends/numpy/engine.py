"""The NumPy interpreter: runs the IR in topological order on whole batches, with its own
reverse-mode differentiation.

All parameters live in one flat buffer (gradients in another) with a view per tensor, so
an optimizer step is a few vectorized passes; activations and deltas live in buffers
kept per batch size, so a training step allocates only small temporaries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.backends.base import (
    NonFiniteLoss,
    check_weights,
    dataset_arrays,
    input_arrays,
    plan_output,
)
from nndsl.backends.numpy.activations import apply as apply_activation
from nndsl.backends.numpy.kernels import KERNELS
from nndsl.backends.numpy.losses import LOSSES
from nndsl.backends.numpy.optimizers import clip_grad_norm, make_optimizer
from nndsl.errors import NNDSLError
from nndsl.ir.graph import Graph
from nndsl.ir.init import initial_weights
from nndsl.ir.signature import Spec
from nndsl.train.metrics import METRICS, NEEDS_PROBS
from nndsl.train.targets import target_kind


@dataclass
class Prepared:
    """A dataset cast once to the engine's dtype, with reusable shuffle buffers."""

    xs: list[np.ndarray]
    y: np.ndarray | None
    _xbufs: list[np.ndarray] | None = None
    _ybuf: np.ndarray | None = None

    def __len__(self) -> int:
        return self.xs[0].shape[0]

    def shuffled(self, order: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        if self._xbufs is None:
            self._xbufs = [np.empty_like(x) for x in self.xs]
            self._ybuf = np.empty_like(self.y)
        for src, dst in zip(self.xs, self._xbufs):
            np.take(src, order, axis=0, out=dst, mode="clip")  # "clip": unbuffered
        np.take(self.y, order, axis=0, out=self._ybuf, mode="clip")
        return self._xbufs, self._ybuf


class NumpyEngine:
    name = "numpy"

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
    ) -> None:
        self.dtype = dtype
        self.full_graph = graph
        self.loss = loss
        self.graph, self.out_act, self.from_logits = plan_output(graph, loss)
        self.metrics = list(metrics)
        self._metrics_need_probs = bool(NEEDS_PROBS.intersection(self.metrics))
        self.clip_norm = clip_norm
        self._layout(initial_weights(graph, seed, dtype), _state_keys(graph))
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5EED])  # dropout masks
        self._build_kernels()
        self.optimizer = None
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
        for n in nodes:
            own = any(w.trainable for w in n.weights)
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

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        vals = self._vals
        for pos, i in enumerate(self.input_idx):
            vals[i] = xs[pos]
        for i, (kernel, ins) in enumerate(zip(self.kernels, self.in_idx)):
            if ins:
                vals[i] = kernel.forward([vals[j] for j in ins], training)
        return vals[-1]

    def _backward(self, dout: np.ndarray) -> None:
        grads: list[Any] = [None] * len(self.kernels)
        grads[-1] = dout
        for i in range(len(self.kernels) - 1, -1, -1):
            g = grads[i]
            if g is None or not self.requires[i] or not self.in_idx[i]:
                continue
            for j, gj in zip(self.in_idx[i], self.kernels[i].backward(g)):
                if gj is not None:
                    grads[j] = gj if grads[j] is None else grads[j] + gj
        for w, gw, l2 in self.penalized:  # d(l2 * sum(w ** 2)) / dw
            gw += (2 * l2) * w

    def _loss(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        dout = self._dout.get(out.shape)
        if dout is None:
            dout = self._dout[out.shape] = np.empty(out.shape, self.dtype)
        loss = LOSSES[self.loss.name](out, y, dout, **self.loss.args)
        return loss + self.penalty(), dout

    def penalty(self) -> float:
        """The L2 terms of the loss: sum of l2 * sum(w ** 2) over the declared weights."""
        return sum(l2 * float(np.vdot(w, w)) for w, _, l2 in self.penalized)

    # ------------------------------------------------------------------ engine interface
    def prepare(self, x: Any, y: Any | None) -> Prepared:
        return Prepared(*dataset_arrays(self.full_graph, self.loss, x, y, self.dtype))

    def _inputs(self, x: Any) -> list[np.ndarray]:
        return input_arrays(self.graph, x, self.dtype)

    def train_epoch(
        self,
        data: Prepared,
        order: np.ndarray,
        batch_size: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> dict[str, float]:
        if self.optimizer is None:
            raise NNDSLError("this model has no optimizer")
        xs, y = data.shuffled(order)
        n = len(data)
        kind = target_kind(self.loss.name)
        total = 0.0
        sums = {m: 0.0 for m in self.metrics}
        counts = {m: 0 for m in self.metrics}
        single = len(xs) == 1
        for b, start in enumerate(range(0, n, batch_size)):
            stop = min(start + batch_size, n)
            xb = [xs[0][start:stop]] if single else [x[start:stop] for x in xs]
            yb = y[start:stop]
            out = self._forward(xb, True)
            loss, dout = self._loss(out, yb)
            if not math.isfinite(loss):
                raise NonFiniteLoss(b, loss)
            total += loss * (stop - start)
            if self.metrics:
                self._metric_sums(out, yb, kind, sums, counts)
            self._backward(dout)
            if self.clip_norm is not None:
                clip_grad_norm(self.grads, self.clip_norm)
            self.optimizer.step()
            if on_batch is not None:
                on_batch(b)
        logs = {"loss": total / n}
        logs.update({m: sums[m] / max(counts[m], 1) for m in self.metrics})
        return logs

    def _metric_sums(self, out, y, kind, sums, counts) -> None:
        probs = self._activate(out) if self._metrics_need_probs else None
        for m in self.metrics:
            s, c = METRICS[m](out, probs, y, kind, self.from_logits)
            sums[m] += float(s)
            counts[m] += c

    def _activate(self, out: np.ndarray) -> np.ndarray:
        if self.out_act.name == "linear":
            return out
        return apply_activation(self.out_act.name, self.out_act.args, out)

    def evaluate(self, data: Prepared, batch_size: int) -> dict[str, float]:
        n = len(data)
        kind = target_kind(self.loss.name)
        total = 0.0
        sums = {m: 0.0 for m in self.metrics}
        counts = {m: 0 for m in self.metrics}
        step = max(batch_size, 256)  # evaluation needs no small batches
        for start in range(0, n, step):
            stop = min(start + step, n)
            out = self._forward([x[start:stop] for x in data.xs], False)
            loss, _ = self._loss(out, data.y[start:stop])
            total += loss * (stop - start)
            self._metric_sums(out, data.y[start:stop], kind, sums, counts)
        logs = {"loss": total / n}
        logs.update({m: sums[m] / max(counts[m], 1) for m in self.metrics})
        return logs

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        xs = x.xs if isinstance(x, Prepared) else self._inputs(x)
        n = xs[0].shape[0]
        parts = []
        for start in range(0, n, max(batch_size, 256)):
            out = self._forward([a[start : start + max(batch_size, 256)] for a in xs], False)
            parts.append(
                self._activate(out).copy() if self.out_act.name == "linear" else self._activate(out)
            )
        return np.concatenate(parts) if parts else np.empty((0, *self.graph.output.shape))

    def logits(self, x: Any) -> np.ndarray:
        """The output before the split-off activation (for gradient checks and tests)."""
        return self._forward(self._inputs(x), False).copy()

    def loss_and_grads(self, x: Any, y: Any, training: bool = False) -> tuple[float, dict]:
        """Loss on one batch and the gradient of every weight (tests, `nndsl trace`)."""
        data = self.prepare(x, y)
        out = self._forward(data.xs, training)
        loss, dout = self._loss(out, data.y)
        self._backward(dout)
        return loss, {k: v.copy() for k, v in self.grad_views.items()}

    def get_weights(self) -> dict[str, np.ndarray]:
        return {k: self.views[k].copy() for k in self.shapes}  # in graph order

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        check_weights(self.shapes, weights)
        for k, v in weights.items():
            self.views[k][...] = v

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
