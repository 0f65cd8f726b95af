"""The base class every backend's engine inherits, the one interface the shared trainer
(nndsl.train) knows.

An engine owns a model's weights, optimizer and random state on one device, and offers
what is specific to it (data placement, one step, one batch's evaluation). The batch
loop, metric sums, logs and NaN check are written once, here; the trainer owns the rest:
epochs, shuffling order, validation, callbacks, history.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.graph import Graph
from nndsl.ir.heads import plan_outputs
from nndsl.ir.metrics import METRICS, Metric, MetricInput, resolve
from nndsl.ir.plan import Head, LossTerm, loss_columns, metric_columns
from nndsl.ir.signature import Spec
from nndsl.ir.targets import head_targets, prepare_targets, target_kind


class NonFiniteLoss(Exception):
    """The loss became NaN or Inf; the step that produced it was not applied."""

    def __init__(self, batch: int, value: float) -> None:
        super().__init__(f"loss is {value} at batch {batch}")
        self.batch = batch
        self.value = value


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """An engine's way to evaluate compositions of primitives on its device, in
    evaluation mode, without gradients: `P` (nndsl.ir.primitives), the weights as its
    tensors in their declared layout ({"dense_1.weight": tensor}, the live values),
    `tensor(a)`: a host array as its tensor (its dtype, its device), `host(t)`: a
    result back as a host array."""

    P: Any
    weights: dict[str, Any]
    tensor: Callable[[np.ndarray], Any]
    host: Callable[[Any], np.ndarray]


class Engine(ABC):
    """What both engines share: the epoch's batch loop, metric sums, logs and NaN check,
    and the evaluation and prediction loops. A subclass offers only what is specific to
    its device: `prepare`, the epoch's batches, one training step split in two (forward
    and loss, then backward and optimizer step), the evaluation and prediction of one
    batch, reading the epoch's numbers back, weights and state."""

    name: str
    dtype: str
    # True where a step's loss is already a host float (NumPy): the loop checks it before
    # the step is applied. False where reading it would wait for the device (torch): the
    # epoch's losses are read back once, at its end, and checked there.
    losses_on_host: bool
    # True where add_gradient_penalty takes its second derivative by differencing two
    # more passes (NumPy): exact only for a critic with a continuous gradient
    penalty_by_differences: bool = False

    def __init__(
        self,
        graph: Graph,
        loss: Spec | None,
        metrics: Sequence[str],
        heads: Sequence[Head] | None = None,
        terms: Sequence[LossTerm] = (),
    ) -> None:
        self.full_graph = graph
        if heads:
            loss, metrics = heads[0].loss, heads[0].metrics
        elif loss is not None:  # one head: the output with `loss` and `metrics`
            heads = [Head(graph.output.name, loss, 1.0, tuple(metrics))]
        self.loss = loss
        self.heads = list(heads or [])
        self.terms = list(terms)
        # one plan per output: what a loss reads there, what is applied after it
        planned = self.heads or [Head(o, None) for o in graph.outputs]
        self.graph, self.plans = plan_outputs(graph, planned, self.terms)
        self.outputs = [h.output for h in planned]
        self.out_act, self.from_logits = self.plans[0].activation, self.plans[0].from_logits
        # one output at the graph's end, trained by its loss alone: the path of every
        # model before several outputs, kept as fast as it was
        self.simple = (
            len(planned) == 1
            and not self.terms
            and self.plans[0].converts is None
            and self.outputs[0] == self.graph.nodes[-1].name
        )
        self.metrics = list(metrics)
        self.kind = target_kind(loss.name) if loss is not None else None
        self.kinds = [target_kind(h.loss.name) for h in self.heads]
        self.metric_columns = metric_columns(self.heads) if not self.simple else []
        self.metric_keys = self.metrics if self.simple else [c for c, _, _ in self.metric_columns]
        # (column, head or None for the one simple output, metric, its arguments)
        self._metric_plan: list[tuple[str, int | None, Metric, dict[str, Any]]] = []
        for column, head, key in self.metric_columns or [(m, None, m) for m in self.metrics]:
            name, args = resolve(key)
            self._metric_plan.append((column, head, METRICS[name], args))
        self.loss_columns = loss_columns(self.heads, self.terms)
        self.optimizer: Any = None

    # ------------------------------------------------------------------ device-specific
    @abstractmethod
    def prepare(self, x: Any, y: Any | None) -> Any:
        """Cast and place a dataset once (on the device): an object with `xs` (one array
        per input, samples first), `y` and `len()`; it feeds the methods below."""

    def take(self, data: Any, index: np.ndarray) -> Any:
        """Samples `index` of prepared `data`, where it lies: a split of a dataset prepared
        (cast, checked, placed) once."""
        return dataclasses.replace(data, xs=[x[index] for x in data.xs], y=rows(data.y, index))

    @abstractmethod
    def epoch_batches(self, data: Any, order: np.ndarray, batch_size: int) -> Iterable[Batch]:
        """The epoch's mini-batches of `data` in `order`: (inputs, targets, size of the
        global batch), the inputs and targets being this process's rows of it."""

    @abstractmethod
    def train_forward(self, xs: list[Any], y: Any, size: int) -> tuple[Any, Any, Any]:
        """Training-mode forward pass and loss of one batch: (what `train_step` needs,
        the batch's loss for the epoch's record, the output for the metrics). The record
        is a float when `losses_on_host`, else a device value nothing waits for."""

    @abstractmethod
    def train_step(self, loss: Any) -> None:
        """Backward pass, gradient clipping and optimizer step for `train_forward`'s loss."""

    @abstractmethod
    def eval_batch(self, xs: list[Any], y: Any) -> tuple[Any, Any]:
        """(mean loss, output) of one batch in evaluation mode, without gradients."""

    @abstractmethod
    def predict_batch(self, xs: list[Any]) -> Any:
        """The activated output of one batch in evaluation mode."""

    @abstractmethod
    def join_predictions(self, parts: list[Any], node: str | None = None) -> np.ndarray:
        """The batches' predictions (of output `node`, else the one output) as one host
        array (samples, *output shape)."""

    @abstractmethod
    def read_back(
        self,
        losses: list[Any],
        sizes: list[int],
        sums: dict[str, list[tuple]],
        kept: dict[str, list[tuple]],
        training: bool,
    ) -> tuple[list[float], dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
        """The epoch's numbers on the host, in one transfer where that matters: (loss per
        batch, each metric's statistics summed over the batches as one float64 vector,
        each keeping metric's arrays joined over the batches). A batch's statistics are a
        tuple of device values (numbers or arrays) flattened in order; a keeping metric's
        are arrays of one row per sample (nndsl.ir.metrics). An engine training (or
        evaluating, see `eval_parts`) over several processes adds the losses (sums over
        its rows) and statistics up over all of them, joins the kept rows of all, and
        divides the losses by `sizes`."""

    @abstractmethod
    def inputs(self, x: Any) -> list[Any]:
        """The input arrays of `x` (a prepared dataset or raw inputs) on the device."""

    @abstractmethod
    def set_mode(self, training: bool) -> None:
        """Switch layers such as dropout between training and evaluation."""

    @abstractmethod
    def activate(self, out: Any, head: int = 0) -> Any:
        """The activation split off output `head` (identity when there is none)."""

    @abstractmethod
    def get_weights(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def set_weights(self, weights: dict[str, np.ndarray]) -> None: ...

    lr: float

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Optimizer and random-number state, as plain arrays (for checkpoints)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...

    # ------------------------------------------------------------------ steps driven from outside
    # A trainer of several models (nndsl.train.adversarial: a GAN's generator against its
    # discriminator) chains them through these: a forward pass kept for its backward, the
    # gradient of the inputs from that of the output, the optimizer step, and a loss
    # declared as primitives (nndsl.ir.adversarial) differentiated on this device.
    @abstractmethod
    def grad_forward(self, xs: list[Any], keep: bool = True) -> Any:
        """Training-mode forward pass of `xs` (device arrays), kept for `grad_backward`
        (unless not `keep`: no backward will follow): the output of the graph this
        engine runs (logits where an activation is split off); with several outputs, a
        list of them in the heads' order (an actor-critic's policy and value)."""

    def _check_driven(self) -> None:
        """Refuse what the driven steps cannot run: loss terms, or a head whose loss reads
        logits converted from probabilities (its output would not be what is
        differentiated)."""
        if self.terms or any(p.converts for p in self.plans):
            raise NNDSLError(
                f"model '{self.graph.name}' has loss terms or a converted output: "
                "not driven step by step"
            )

    @abstractmethod
    def eval_forward(self, xs: list[Any]) -> Any:
        """Evaluation-mode forward pass without gradients: the output `grad_forward` gives."""

    @property
    @abstractmethod
    def primitives(self) -> Any:
        """The primitives (nndsl.ir.primitives) on this engine's arrays, nothing recorded."""

    @abstractmethod
    def grad_backward(self, dout: Any) -> list[Any]:
        """From d loss / d output of the last `grad_forward` (a list, one per output, with
        several): every weight's gradient
        (replacing the previous ones, L2 included) and, returned, d loss / d each input."""

    @abstractmethod
    def grad_step(self) -> None:
        """Gradient clipping and one optimizer step with the gradients `grad_backward` (and
        `add_gradient_penalty`) left."""

    @abstractmethod
    def differentiate(self, fn: Callable[..., Any], values: list[Any]) -> tuple[Any, list[Any]]:
        """(fn(P, values), d fn / d each value) for `fn` a composition of primitives
        returning a 0-d tensor, on this device; no weight is involved."""

    @abstractmethod
    def add_gradient_penalty(self, xs: list[Any], weight: float) -> Any:
        """A Wasserstein critic's gradient penalty at `xs` (the samples first, then any
        condition): weight * mean over samples of (|d output / d sample| - 1) ** 2; adds
        its gradient to the weights' gradients and returns its value (a device scalar)."""

    @abstractmethod
    def host_floats(self, values: list[Any]) -> list[float]:
        """Scalars (device values or floats) as host floats, in one transfer."""

    @abstractmethod
    def tensor(self, a: np.ndarray) -> Any:
        """A host array as this engine's array (its dtype, on its device)."""

    def evaluator(self) -> Evaluator:
        """The primitives and weights of this engine for running declarations' `compute`
        outside its own pass (the key/value cache of generation, nndsl.train.kvcache)."""
        raise NotImplementedError(f"the {self.name} engine offers no evaluator")

    # ------------------------------------------------------------------ shared loops
    def train_epoch(
        self,
        data: Any,
        order: np.ndarray,
        batch_size: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> dict[str, float]:
        """One pass over `data` in `order`, in mini-batches; mean loss and metrics.
        Raises NonFiniteLoss for the first bad batch. An engine with `losses_on_host`
        stops there, with the weights of the last good step; one without notices at the
        epoch's end, after its later steps (the trainer restores the last good epoch's
        weights either way)."""
        if self.optimizer is None:
            raise NNDSLError("this model has no optimizer")
        metrics, on_host, simple = self.metric_keys, self.losses_on_host, self.simple
        losses: list[Any] = []
        sizes: list[int] = []
        # read by running_loss() while the epoch goes on: (losses, sizes, [batches summed,
        # their loss sum, their size]) so each batch's loss is copied to the host once
        self._running = (losses, sizes, [0, 0.0, 0])
        stats: dict[str, list] = {m: [] for m in metrics}
        self.set_mode(True)
        # a dataset streamed from files (nndsl.data.stream) hands its batches in chunks
        streamed = getattr(data, "stream_batches", None)
        batches = (
            streamed(self, batch_size)
            if streamed is not None
            else self.epoch_batches(data, order, batch_size)
        )
        for b, (xs, y, size) in enumerate(batches):
            step, record, out = self.train_forward(xs, y, size)
            total = record if simple or not on_host else record[0]
            if on_host and not math.isfinite(total):
                raise NonFiniteLoss(b, total)  # before the step: weights stay good
            if metrics:
                self._metric_stats(out, y, stats)
            self.train_step(step)
            losses.append(record)
            sizes.append(size)
            if on_batch is not None:
                on_batch(b)
        per_batch, totals, kept = self._read_back(losses, sizes, stats, True)
        for b, value in enumerate(per_batch):
            total = value if simple else value[0]
            if not math.isfinite(total):
                raise NonFiniteLoss(b, total)
        values = self._finish_metrics(totals, kept)
        return batch_means(per_batch, sizes, values, None if simple else self.loss_columns)

    def running_loss(self) -> float | None:
        """The mean training loss of the epoch's batches so far (a progress bar's; this
        process's batches only). Each batch's loss is copied to the host once, when a
        redraw first asks for it: a bar asks a few times a second, not every step."""
        losses, sizes, summed = getattr(self, "_running", ((), (), [0, 0.0, 0]))
        count = min(len(losses), len(sizes))
        for record, size in zip(losses[summed[0] : count], sizes[summed[0] : count]):
            summed[1] += float(record if self.simple else record[0]) * size
            summed[2] += size
        summed[0] = count
        return summed[1] / summed[2] if summed[2] else None

    def evaluate(self, data: Any, batch_size: int) -> dict[str, float]:
        """Loss and metrics in evaluation mode (no dropout); over several processes,
        each evaluates its part of the rows (`eval_parts`) and all get the whole's numbers."""
        step = max(batch_size, EVAL_BATCH)  # evaluation needs no small batches
        losses: list[Any] = []
        sizes: list[int] = []
        stats: dict[str, list] = {m: [] for m in self.metric_keys}
        self.set_mode(False)
        for start, stop, size in self.eval_parts(len(data), step):
            xs = [x[start:stop] for x in data.xs]
            y = rows(data.y, slice(start, stop))
            loss, out = self.eval_batch(xs, y)
            losses.append(loss)
            sizes.append(size)
            self._metric_stats(out, y, stats)
        per_batch, totals, kept = self._read_back(losses, sizes, stats, False)
        columns = None if self.simple else self.loss_columns
        return batch_means(per_batch, sizes, self._finish_metrics(totals, kept), columns)

    def eval_parts(self, n: int, step: int) -> list[tuple[int, int, int]]:
        """(start, stop, rows of the whole batch) of the batches `evaluate` runs here over
        `n` rows, `step` at a time: all of them, whole. An engine of several processes
        gives each process its rows of every batch (the same number of batches on each,
        some perhaps empty) and adds their numbers up in `read_back`, unless
        `evaluates_alone`."""
        return [(s, min(s + step, n), min(step, n - s)) for s in range(0, n, step)]

    # True where this process evaluates every row although others train with it: rank 0
    # of a distributed run after the others have stopped (interrupted)
    evaluates_alone: bool = False

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray | dict[str, np.ndarray]:
        """The activated output (samples, *shape); a dict {output: array} for several."""
        xs = self.inputs(x)
        step = max(batch_size, EVAL_BATCH)
        self.set_mode(False)
        parts = [
            self.predict_batch([a[start : start + step] for a in xs])
            for start in range(0, xs[0].shape[0], step)
        ]
        if self.simple:
            return self.join_predictions(parts)
        joined = {
            p.node: self.join_predictions([part[i] for part in parts], p.node)
            for i, p in enumerate(self.plans)
        }
        return joined if len(joined) > 1 else joined[self.plans[0].node]

    def wide(self, a: Any) -> Any:
        """`a` in float64 where it lies (NumPy here; an engine of other arrays overrides
        it): sums of squared targets for R² without float32's cancellation."""
        return np.asarray(a, dtype=np.float64)

    def _metric_stats(self, out: Any, y: Any, stats: dict[str, list]) -> None:
        """Append each metric's statistics of one batch (device values, nothing read)."""
        y = split_weights(y)[0]  # metrics are unweighted (Keras' `metrics`, not weighted_metrics)
        probs: dict[int | None, Any] = {}  # each head's activated output, once
        shared: dict[tuple, tuple] = {}
        for column, head, metric, args in self._metric_plan:
            o, t = (out, y) if head is None else (out[head], y[head])
            if metric.needs_probs and head not in probs:
                probs[head] = self.activate(o) if head is None else self.activate(o, head)
            kind = self.kind if head is None else self.kinds[head]
            logits_in = self.from_logits if head is None else self.plans[head].from_logits
            # precision, recall and f1 of a head share one confusion matrix per batch
            key = (head, metric.stats, tuple(sorted(args.items())))
            if key not in shared:
                batch = MetricInput(o, probs.get(head), t, kind, logits_in, self.wide)
                shared[key] = metric.stats(batch, args)
            stats[column].append(shared[key])

    def _read_back(
        self, losses: list[Any], sizes: list[int], stats: dict[str, list], training: bool
    ) -> tuple[list[Any], dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
        """`read_back` of the epoch's losses, the summed statistics and the kept rows."""
        keeps = {c for c, _, metric, _ in self._metric_plan if metric.keeps}
        sums = {c: v for c, v in stats.items() if c not in keeps}
        kept = {c: v for c, v in stats.items() if c in keeps}
        return self.read_back(losses, sizes, sums, kept, training)

    def _finish_metrics(
        self, totals: dict[str, np.ndarray], kept: dict[str, list[np.ndarray]]
    ) -> dict[str, float]:
        """Each metric's value of the epoch from its totals (NaN after no batch)."""
        values = {}
        for column, head, metric, args in self._metric_plan:
            kind = self.kind if head is None else self.kinds[head]
            found = kept.get(column) if metric.keeps else totals.get(column)
            if found is None or len(found) == 0:
                values[column] = float("nan")
            else:
                values[column] = metric.finish(found, kind, args)
        return values

    def record(self, total: Any, head_losses: list[Any], term_values: list[Any]) -> list[Any]:
        """A batch's loss record in `loss_columns` order: the total, each head's loss when
        there are several or terms, each term's unweighted value."""
        own = head_losses if len(self.heads) > 1 or self.terms else []
        return [total, *own, *term_values]


Batch = tuple[list[Any], Any, int]
EVAL_BATCH = 256  # smallest batch for evaluate/predict


@dataclasses.dataclass(frozen=True)
class Weighted:
    """Targets with the loss's weight of each sample (each position of a sequence of
    labels), nndsl.ir.weighting: a loss takes the mean of weight * loss."""

    y: Any
    w: Any


def split_weights(y: Any) -> tuple[Any, Any]:
    """(targets, their weights or None) of targets that may be `Weighted`."""
    return (y.y, y.w) if isinstance(y, Weighted) else (y, None)


def rows(y: Any, index: Any) -> Any:
    """Rows `index` (an index array or a slice) of targets: one array, or one per head."""
    if y is None:
        return None
    if isinstance(y, Weighted):
        return Weighted(rows(y.y, index), y.w[index])
    if isinstance(y, list):
        return [t[index] for t in y]
    return y[index]


def batch_means(
    per_batch: list[Any],
    sizes: list[int],
    metrics: dict[str, float],
    columns: list[str] | None = None,
) -> dict[str, float]:
    """Sample-weighted means of the batches' losses (one number per batch, or one row
    per batch in `columns` order), with the epoch's `metrics` beside them."""
    n = sum(sizes)
    if columns is None:
        total = 0.0
        for loss, size in zip(per_batch, sizes):  # in batch order, whatever the engine
            total += loss * size
        logs = {"loss": total / n}
    else:
        sums = [0.0] * len(columns)
        for row, size in zip(per_batch, sizes):
            for k, value in enumerate(row):
                sums[k] += float(value) * size
        logs = {c: v / n for c, v in zip(columns, sums)}
    logs.update(metrics)
    return logs


# ---------------------------------------------------------------- shared by the engines


def plan_output(graph: Graph, loss: Spec | None) -> tuple[Graph, Spec, bool]:
    """(graph the engine runs, activation applied after it, whether outputs are logits)
    for one output and its loss (nndsl.ir.heads.plan_outputs for several).

    A cross-entropy is computed from logits: the output's sigmoid/softmax is split off
    and applied only when predicting."""
    logits_graph, (plan,) = plan_outputs(graph, [Head(graph.output.name, loss)])
    return logits_graph, plan.activation, plan.from_logits


def input_arrays(graph: Graph, x: Any, dtype: str) -> list[np.ndarray]:
    """One checked, contiguous array (samples, *shape) per input node of `graph`, from an
    array, a list (several inputs, in order) or a dict {input name: array}."""
    nodes = graph.inputs
    if isinstance(x, dict):
        missing = [n.name for n in nodes if n.name not in x]
        if missing:
            raise NNDSLError(
                f"no data for input '{missing[0]}'",
                hint="inputs: " + ", ".join(n.name for n in nodes),
            )
        arrays = [x[n.name] for n in nodes]
    elif isinstance(x, (list, tuple)) and len(nodes) > 1:
        arrays = list(x)
    else:
        if len(nodes) > 1:
            names = ", ".join(n.name for n in nodes)
            raise NNDSLError(
                f"this model has {len(nodes)} inputs; pass a dict {{name: array}}",
                hint=f"inputs: {names}",
            )
        arrays = [x]
    out = []
    for node, a in zip(nodes, arrays):
        a = np.asarray(a)
        if a.dtype.kind not in "iubf":
            raise NNDSLError(f"input '{node.name}' must be numbers, got {a.dtype}")
        if a.ndim == len(node.shape):  # a single sample
            a = a[None]
        if a.shape[1:] != tuple(node.shape):
            raise NNDSLError(
                f"input '{node.name}' expects samples of shape "
                f"{tuple(node.shape)}, got {a.shape[1:]}"
            )
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            row = int(np.argwhere(~np.isfinite(a))[0][0])
            raise NNDSLError(f"input '{node.name}' contains NaN or Inf (row {row})")
        out.append(np.ascontiguousarray(a, dtype=dtype))
    if len({a.shape[0] for a in out}) > 1:
        raise NNDSLError("inputs have different numbers of samples")
    return out


def dataset_arrays(
    graph: Graph,
    loss: Spec | None,
    x: Any,
    y: Any | None,
    dtype: str,
    heads: Sequence[Head] | None = None,
    weights: np.ndarray | None = None,
) -> tuple[list[np.ndarray], Any]:
    """Inputs (see `input_arrays`) and targets as `loss` wants them (None without y);
    with `heads` (several outputs, or loss terms), a list of targets, one per head;
    with `weights` (one per sample, or per position of a sequence), `Weighted` targets."""
    xs = input_arrays(graph, x, dtype)
    if y is None:
        return xs, None
    if loss is None:
        raise NNDSLError("this model has no loss: add a train block with a loss")
    if weights is not None and heads is not None:
        raise NNDSLError(
            "sample and class weights need a model with one output and no loss terms",
            hint="Keras' class_weight is for one output too",
        )
    if heads is not None:
        yps = head_targets(y, list(heads), graph, dtype)
        for head, yp in zip(heads, yps):
            if yp.shape[0] != xs[0].shape[0]:
                raise NNDSLError(
                    f"x has {xs[0].shape[0]} samples but the targets of '{head.output}' "
                    f"have {yp.shape[0]}"
                )
        return xs, yps
    yp = prepare_targets(y, loss.name, graph.output.shape, dtype)
    if yp.shape[0] != xs[0].shape[0]:
        raise NNDSLError(f"x has {xs[0].shape[0]} samples but y has {yp.shape[0]}")
    return xs, yp if weights is None else Weighted(yp, _checked_weights(weights, yp, dtype))


def _checked_weights(weights: Any, yp: np.ndarray, dtype: str) -> np.ndarray:
    """Sample weights (one per sample, or per position of a sequence of labels) as the
    loss takes them: numbers >= 0 that fit the targets."""
    w = np.asarray(weights)
    if w.dtype.kind not in "iubf":
        raise NNDSLError(f"sample weights must be numbers, got an array of {w.dtype}")
    w = w.astype(dtype)
    if w.ndim == 2 and w.shape[1] == 1 and yp.ndim == 1:  # (n, 1), as Keras takes it
        w = w[:, 0]
    if w.ndim == 0 or w.shape != yp.shape[: w.ndim]:
        raise NNDSLError(
            f"sample weights of shape {w.shape} do not fit targets of shape {yp.shape}",
            hint="one weight per sample",
        )
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise NNDSLError(
            f"sample weights must be numbers >= 0, got {w.flat[np.argmax(bad)]} at row {row}"
        )
    return np.ascontiguousarray(w)
