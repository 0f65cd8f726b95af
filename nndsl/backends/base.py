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
from nndsl.ir.graph import Graph, output_activation, split_output_activation
from nndsl.ir.metrics import METRICS, NEEDS_PROBS
from nndsl.ir.signature import CATALOGS, Spec
from nndsl.ir.targets import prepare_targets, target_kind


class NonFiniteLoss(Exception):
    """The loss became NaN or Inf; the step that produced it was not applied."""

    def __init__(self, batch: int, value: float) -> None:
        super().__init__(f"loss is {value} at batch {batch}")
        self.batch = batch
        self.value = value


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

    def __init__(self, graph: Graph, loss: Spec | None, metrics: Sequence[str]) -> None:
        self.full_graph = graph
        self.loss = loss
        self.graph, self.out_act, self.from_logits = plan_output(graph, loss)
        self.metrics = list(metrics)
        self.kind = target_kind(loss.name) if loss is not None else None
        self._metrics_need_probs = bool(NEEDS_PROBS.intersection(self.metrics))
        self.optimizer: Any = None

    # ------------------------------------------------------------------ device-specific
    @abstractmethod
    def prepare(self, x: Any, y: Any | None) -> Any:
        """Cast and place a dataset once (on the device): an object with `xs` (one array
        per input, samples first), `y` and `len()`; it feeds the methods below."""

    def take(self, data: Any, index: np.ndarray) -> Any:
        """Samples `index` of prepared `data`, where it lies: a split of a dataset prepared
        (cast, checked, placed) once."""
        ys = None if data.y is None else data.y[index]
        return dataclasses.replace(data, xs=[x[index] for x in data.xs], y=ys)

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
    def join_predictions(self, parts: list[Any]) -> np.ndarray:
        """The batches' predictions as one host array (samples, *output shape)."""

    @abstractmethod
    def read_back(
        self,
        losses: list[Any],
        sizes: list[int],
        sums: dict[str, list],
        counts: dict[str, int],
        training: bool,
    ) -> tuple[list[float], dict[str, float], dict[str, float]]:
        """The epoch's numbers as floats, in one transfer where that matters: (loss per
        batch, sum of each metric, count of each metric). An engine training over several
        processes adds the losses (sums over its rows), metric sums and counts up over
        all of them, and divides the losses by `sizes`."""

    @abstractmethod
    def inputs(self, x: Any) -> list[Any]:
        """The input arrays of `x` (a prepared dataset or raw inputs) on the device."""

    @abstractmethod
    def set_mode(self, training: bool) -> None:
        """Switch layers such as dropout between training and evaluation."""

    @abstractmethod
    def activate(self, out: Any) -> Any:
        """The output activation split off the graph (identity when there is none)."""

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
        metrics, on_host = self.metrics, self.losses_on_host
        losses: list[Any] = []
        sizes: list[int] = []
        sums: dict[str, list] = {m: [] for m in metrics}
        counts = dict.fromkeys(metrics, 0)
        self.set_mode(True)
        for b, (xs, y, size) in enumerate(self.epoch_batches(data, order, batch_size)):
            step, record, out = self.train_forward(xs, y, size)
            if on_host and not math.isfinite(record):
                raise NonFiniteLoss(b, record)  # before the step: weights stay good
            if metrics:
                self._metric_sums(out, y, sums, counts)
            self.train_step(step)
            losses.append(record)
            sizes.append(size)
            if on_batch is not None:
                on_batch(b)
        per_batch, totals, counts = self.read_back(losses, sizes, sums, counts, True)
        for b, value in enumerate(per_batch):
            if not math.isfinite(value):
                raise NonFiniteLoss(b, value)
        return _logs(per_batch, sizes, totals, counts)

    def evaluate(self, data: Any, batch_size: int) -> dict[str, float]:
        """Loss and metrics in evaluation mode (no dropout)."""
        step = max(batch_size, EVAL_BATCH)  # evaluation needs no small batches
        losses: list[Any] = []
        sizes: list[int] = []
        sums: dict[str, list] = {m: [] for m in self.metrics}
        counts = dict.fromkeys(self.metrics, 0)
        self.set_mode(False)
        for start in range(0, len(data), step):
            xs = [x[start : start + step] for x in data.xs]
            y = data.y[start : start + step]
            loss, out = self.eval_batch(xs, y)
            losses.append(loss)
            sizes.append(y.shape[0])
            self._metric_sums(out, y, sums, counts)
        per_batch, totals, counts = self.read_back(losses, sizes, sums, counts, False)
        return _logs(per_batch, sizes, totals, counts)

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        xs = self.inputs(x)
        step = max(batch_size, EVAL_BATCH)
        self.set_mode(False)
        parts = [
            self.predict_batch([a[start : start + step] for a in xs])
            for start in range(0, xs[0].shape[0], step)
        ]
        return self.join_predictions(parts)

    def _metric_sums(self, out: Any, y: Any, sums: dict[str, list], counts: dict) -> None:
        probs = self.activate(out) if self._metrics_need_probs else None
        for m in self.metrics:
            s, c = METRICS[m](out, probs, y, self.kind, self.from_logits)
            sums[m].append(s)
            counts[m] += c


Batch = tuple[list[Any], Any, int]
EVAL_BATCH = 256  # smallest batch for evaluate/predict


def _logs(
    per_batch: list[float], sizes: list[int], totals: dict[str, float], counts: dict
) -> dict[str, float]:
    total = 0.0
    for loss, size in zip(per_batch, sizes):  # in batch order, whatever the engine
        total += loss * size
    logs = {"loss": total / sum(sizes)}
    for m, s in totals.items():
        logs[m] = s / max(counts[m], 1)
    return logs


# ---------------------------------------------------------------- shared by the engines


def plan_output(graph: Graph, loss: Spec | None) -> tuple[Graph, Spec, bool]:
    """(graph the engine runs, activation applied after it, whether outputs are logits).

    A cross-entropy is computed from logits: the output's sigmoid/softmax is split off
    and applied only when predicting."""
    act = output_activation(graph)
    wants = CATALOGS["loss"][loss.name].extra.get("logits") if loss is not None else None
    if wants and act.name in (wants, "linear"):
        logits_graph, act = split_output_activation(graph)
        return logits_graph, act, True
    return graph, Spec("linear"), False


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
    graph: Graph, loss: Spec | None, x: Any, y: Any | None, dtype: str
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Inputs (see `input_arrays`) and targets as `loss` wants them (None without y)."""
    xs = input_arrays(graph, x, dtype)
    if y is None:
        return xs, None
    if loss is None:
        raise NNDSLError("this model has no loss: add a train block with a loss")
    yp = prepare_targets(y, loss.name, graph.output.shape, dtype)
    if yp.shape[0] != xs[0].shape[0]:
        raise NNDSLError(f"x has {xs[0].shape[0]} samples but y has {yp.shape[0]}")
    return xs, yp
