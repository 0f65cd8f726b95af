"""The PyTorch engine: the IR lowered to an `nn.Module` (see lowering.py), trained with
torch.optim on one device, behind the same interface as the NumPy engine.

A dataset is moved to the device once (`prepare`); each epoch's order goes to the device
once and batches are gathered there. Per-batch losses and metric sums stay on the device
and are read back once per epoch, so a training step never waits for the device.

The batch loop is the base class's (nndsl.backends.base.Engine). One difference from the
NumPy engine follows from reading back once: a NaN/Inf loss is noticed at the end of the
epoch, not at its step. `train_epoch` still raises `NonFiniteLoss(batch, value)` for the
first bad batch, but the epoch's later steps have run; the trainer restores the weights
of the last good epoch either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

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
from nndsl.backends.torch.distributed import rank_and_world
from nndsl.backends.torch.losses import LOSSES
from nndsl.backends.torch.lowering import (
    activation,
    load_weights,
    lower,
    module_path,
    named_parameters,
    named_tensors,
)
from nndsl.backends.torch.optimizers import flat_state, load_flat_state, make_optimizer
from nndsl.backends.torch.primitives import P as TP
from nndsl.errors import NNDSLError
from nndsl.ir.check import check_weights
from nndsl.ir.graph import Graph
from nndsl.ir.heads import probability_logits
from nndsl.ir.init import initial_weights
from nndsl.ir.ops import OPS
from nndsl.ir.plan import Head, LossTerm
from nndsl.ir.signature import Spec
from nndsl.ir.terms import term_compute


@dataclass
class TorchData:
    """A dataset on the engine's device: one tensor per input, and the targets."""

    xs: list[torch.Tensor]
    # a list: one per head; Weighted: with the loss's weight of each sample
    y: torch.Tensor | list[torch.Tensor] | Weighted | None

    def __len__(self) -> int:
        return self.xs[0].shape[0]


def _select(y: torch.Tensor | Weighted | None, index: torch.Tensor) -> Any:
    """Rows `index` of one output's targets (and their weights)."""
    if isinstance(y, Weighted):
        return Weighted(y.y.index_select(0, index), y.w.index_select(0, index))
    return y.index_select(0, index) if y is not None else None


def resolve_device(name: str | None) -> torch.device:
    """auto (CUDA when present, else CPU), cpu, cuda or cuda:N."""
    name = name or "auto"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise NNDSLError(f"unknown device '{name}'", hint="auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise NNDSLError(
                f"device '{name}' is not available: PyTorch sees no CUDA GPU",
                hint="use --device cpu (or auto, which falls back to the CPU)",
            )
        if device.index is not None and device.index >= count:
            raise NNDSLError(f"device '{name}' does not exist: there are {count} CUDA GPU(s)")
    elif device.type != "cpu":
        raise NNDSLError(f"unsupported device '{name}'", hint="auto, cpu, cuda or cuda:N")
    return device


class TorchEngine(Engine):
    name = "torch"
    losses_on_host = False  # read back once per epoch: a step never waits for the device

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
        device: str | None = None,
        mixed_precision: str | None = "none",
        compile: bool | str = False,
        heads: list[Head] | None = None,
        terms: list[LossTerm] = (),
        input_grads: bool = False,
    ) -> None:
        super().__init__(graph, loss, metrics, heads, terms)
        self.dtype = dtype
        self.input_grads = input_grads  # the first input's gradient is wanted (a GAN's critic)
        self.rank, self.world = rank_and_world()
        if self.world > 1 and not self.simple:
            raise NNDSLError(
                "several outputs and loss terms train on one process for now",
                hint="run without torchrun, or with one output and no terms",
            )
        self.device = resolve_device(device)
        if self.world > 1 and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())  # this rank's GPU
        self.clip_norm = clip_norm
        self.amp = _autocast_dtype(mixed_precision, dtype)
        if self.device.type == "cuda":  # TF32 matmuls: float32 range, 10-bit mantissa
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.generator = torch.Generator(device=self.device)  # dropout masks
        self.generator.manual_seed(_derived_seed(seed, self.rank))
        # several heads or terms: the module returns every head's node, then the nodes
        # the terms read, in this order
        self.returned = (
            None
            if self.simple
            else list(
                dict.fromkeys(
                    [p.node for p in self.plans] + [i for t in self.terms for i in t.inputs]
                )
            )
        )
        self.net = lower(
            self.graph,
            initial_weights(graph, seed, dtype),
            dtype=dtype,
            device=self.device,
            generator=self.generator,
            outputs=self.returned,
        )
        self.params = list(self.net.parameters())
        self.shapes = {k: tuple(p.shape) for k, p in named_tensors(self.net).items()}
        named = named_parameters(self.net)
        self.penalized = [
            (named[n.weight_key(w)], w.l2) for n in self.graph.nodes for w in n.weights if w.l2
        ]
        self._acts = [
            None if p.activation.name == "linear" else activation(p.activation) for p in self.plans
        ]
        self._act = self._acts[0]
        compiled = _compiler(compile)
        self.call: Callable[..., torch.Tensor] = compiled(self.net)
        self.train_call = self.call
        if self.world > 1:  # gradients averaged over the processes during backward
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            ddp = DistributedDataParallel(self.net, device_ids=ids)
            self.train_call = compiled(ddp)
        # CUDA graphs replay into the same memory (see _forward)
        self.graph_steps = compile == "reduce_overhead" and self.device.type == "cuda"
        self.optimizer = make_optimizer(optimizer, self.params) if optimizer else None
        self.steps = 0

    # ------------------------------------------------------------------ forward / loss
    def _forward(self, xs: list[torch.Tensor], training: bool = False) -> torch.Tensor:
        call = self.train_call if training else self.call
        if self.amp is None and not self.graph_steps:
            return call(*xs)
        if self.graph_steps:  # a new replay may begin: the last one's outputs are done with
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            out = call(*xs)

        def own(o: torch.Tensor) -> torch.Tensor:
            # float32 out of bf16; and a copy out of the CUDA graph's memory, which the
            # next replay overwrites (prediction batches are kept until the last is done)
            dtype = torch.float32 if self.amp is not None else o.dtype
            return o.to(dtype, copy=self.graph_steps)

        return own(out) if self.simple else tuple(own(o) for o in out)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.simple:
            return self._losses(out, y)[0]
        loss = self._data_loss(out, y)
        for w, l2 in self.penalized:
            loss = loss + l2 * (w * w).sum()
        return loss

    def _data_loss(self, out: torch.Tensor, y: Any) -> torch.Tensor:
        """The one output's loss, weighted by the samples' weights where `y` has them."""
        y, weight = split_weights(y)
        return LOSSES[self.loss.name](out, y, weight=weight, **self.loss.args)

    def _losses(
        self, returned: tuple[torch.Tensor, ...], ys: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(total loss to differentiate, the batch's record, see Engine.record) of several
        heads and terms: each head's loss times its weight, each term times its weight,
        plus L2; a loss on probabilities converts them to logits first."""
        values = dict(zip(self.returned, returned))
        total, own, terms = 0.0, [], []
        for head, plan, y in zip(self.heads, self.plans, ys):
            out = values[plan.node]
            if plan.converts:
                out = probability_logits(TP, out, plan.converts)
            loss = LOSSES[head.loss.name](out, y, **head.loss.args)
            own.append(loss)
            total = total + head.weight * loss
        for term in self.terms:
            value = term_compute(term.fn)(TP, [values[i] for i in term.inputs], term.args)
            terms.append(value)
            total = total + term.weight * value
        for w, l2 in self.penalized:
            total = total + l2 * (w * w).sum()
        record = torch.stack([v.reshape(()) for v in self.record(total, own, terms)])
        return total, record.detach()

    def _head_outputs(self, returned: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        values = dict(zip(self.returned, returned))
        return [values[p.node] for p in self.plans]

    def _train_loss(
        self, out: torch.Tensor, y: torch.Tensor, rows: int, size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to differentiate, this batch's share of the epoch's loss sum) for `rows`
        samples of a global batch of `size`."""
        if not self.simple:
            return self._losses(out, y)
        if self.world == 1:
            loss = self._loss(out, y)
            return loss, loss.detach()
        # DDP averages the gradient over processes: weigh this process's mean by its
        # share of the global batch, so the step is the global batch's, however split
        data = self._data_loss(out, y) if rows else out.sum() * 0.0
        penalty = sum(l2 * (w * w).sum() for w, l2 in self.penalized)  # 0 without L2
        loss = data * (rows * self.world / size) + penalty
        return loss, (data * rows + penalty * (size / self.world)).detach()

    def _shard(self, order: np.ndarray, batch_size: int) -> tuple[np.ndarray, list[tuple]]:
        """(this process's rows of `order`, (start, stop, global batch size) per batch).
        Each global batch of `batch_size` rows is split evenly over the processes."""
        parts = self._split(len(order), batch_size)
        if self.world == 1:
            return order, parts
        local, bounds, at = [], [], 0
        for start, stop, size in parts:
            local.append(order[start:stop])
            bounds.append((at, at + stop - start, size))
            at += stop - start
        return np.concatenate(local), bounds

    def _split(self, n: int, batch_size: int) -> list[tuple[int, int, int]]:
        """(start, stop, global batch size): this process's rows of each batch of
        `batch_size` of `n` rows, as np.array_split gives them (the first processes one
        more where they do not divide; none where the batch has fewer rows than processes)."""
        parts = []
        for s in range(0, n, batch_size):
            size = min(batch_size, n - s)
            each, more = divmod(size, self.world)
            start = s + self.rank * each + min(self.rank, more)
            parts.append((start, start + each + (self.rank < more), size))
        return parts

    @property
    def shards_evaluation(self) -> bool:
        """Each process evaluates its part of the rows, added up in `read_back`."""
        return self.world > 1 and not self.evaluates_alone

    def eval_parts(self, n: int, step: int) -> list[tuple[int, int, int]]:
        if not self.shards_evaluation:
            return super().eval_parts(n, step)
        # global batches of `step` rows per process: each process's batch is as big as
        # one process's would be (batch norm and dropout are off: batches do not matter)
        return self._split(n, step * self.world)

    def activate(self, out: torch.Tensor, head: int = 0) -> torch.Tensor:
        act = self._acts[head]
        return out if act is None else act(out)

    def read_back(
        self,
        losses: list[torch.Tensor],
        sizes: list[int],
        sums: dict[str, list[tuple]],
        kept: dict[str, list[tuple]],
        training: bool,
    ) -> tuple[list[float], dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
        """The epoch's numbers in one transfer (and the kept rows in one more). Training
        or evaluating over several processes, `losses` are per-batch sums over this
        process's rows, and they and the metrics' statistics are added up over all
        processes first; the kept rows of every process are joined, in rank order."""
        reduce = self.world > 1 and (training or self.shards_evaluation)
        metrics = list(sums)
        parts = [torch.stack(losses).double().reshape(-1)]
        parts += [torch.stack([self._vector(b) for b in sums[m]]).sum(0) for m in metrics]
        values = torch.cat([p.to(self.device) for p in parts])
        if reduce:
            torch.distributed.all_reduce(values)
        values = values.cpu().numpy()
        nb = len(losses)
        width = 1 if self.simple else len(self.loss_columns)
        per_batch = values[: nb * width]
        totals, at = {}, nb * width
        for m, part in zip(metrics, parts[1:]):
            totals[m], at = values[at : at + len(part)], at + len(part)
        joined = {m: self._joined(batches, reduce) for m, batches in kept.items()}
        if not self.simple:  # a row per batch: the loss columns
            return per_batch.reshape(nb, width).tolist(), totals, joined
        if reduce:
            per_batch = per_batch / np.asarray(sizes, dtype=np.float64)
        return per_batch.tolist(), totals, joined

    def _vector(self, parts: tuple) -> torch.Tensor:
        """A batch's metric statistics as one float64 vector on the device."""
        return torch.cat(
            [torch.as_tensor(p, device=self.device).double().reshape(-1) for p in parts]
        )

    def _joined(self, batches: list[tuple], reduce: bool) -> list[np.ndarray]:
        """A keeping metric's arrays over the batches (and processes) on the host."""
        if not batches:
            return []
        here = [torch.cat(column).cpu().numpy() for column in zip(*batches)]
        if not reduce:
            return here
        every: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(every, here)
        return [np.concatenate(column) for column in zip(*every)]

    def wide(self, a: torch.Tensor) -> torch.Tensor:
        return a.double()

    # ------------------------------------------------------------------ engine interface
    def prepare(self, x: Any, y: Any | None, weights: Any = None) -> TorchData:
        heads = None if self.simple else self.heads
        xs, yp = dataset_arrays(self.full_graph, self.loss, x, y, self.dtype, heads, weights)
        if isinstance(yp, Weighted):
            targets = Weighted(self._tensor(yp.y), self._tensor(yp.w))
            return TorchData([self._tensor(a) for a in xs], targets)
        if isinstance(yp, list):
            return TorchData([self._tensor(a) for a in xs], [self._tensor(t) for t in yp])
        return TorchData(
            [self._tensor(a) for a in xs], self._tensor(yp) if yp is not None else None
        )

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(self.device)

    def inputs(self, x: Any) -> list[torch.Tensor]:
        if isinstance(x, TorchData):
            return x.xs
        return [self._tensor(a) for a in input_arrays(self.full_graph, x, self.dtype)]

    def set_mode(self, training: bool) -> None:
        self.net.train(training)

    def epoch_batches(self, data: TorchData, order: np.ndarray, batch_size: int) -> Iterator[Batch]:
        # the epoch's order (this process's shard) goes to the device once; one gather,
        # then batches are views
        local, bounds = self._shard(np.asarray(order, dtype=np.int64), batch_size)
        index = torch.as_tensor(local, device=self.device)
        xs = [x.index_select(0, index) for x in data.xs]
        if isinstance(data.y, list):
            ys = [t.index_select(0, index) for t in data.y]
            for start, stop, size in bounds:
                yield [x[start:stop] for x in xs], [t[start:stop] for t in ys], size
            return
        y = _select(data.y, index)
        for start, stop, size in bounds:
            yield [x[start:stop] for x in xs], rows(y, slice(start, stop)), size

    def train_forward(
        self, xs: list[torch.Tensor], y: torch.Tensor, size: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self._forward(xs, training=True)
        loss, record = self._train_loss(out, y, xs[0].shape[0], size)
        if not self.simple:
            return loss, record, [o.detach() for o in self._head_outputs(out)]
        return loss, record, out.detach()

    def train_step(self, loss: torch.Tensor) -> None:
        for p in self.params:
            p.grad = None
        loss.backward()
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip_norm, foreach=True)
        self.optimizer.step()
        self.steps += 1

    @torch.no_grad()
    def eval_batch(
        self, xs: list[torch.Tensor], y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self._forward(xs)
        if not self.simple:
            return self._losses(out, y)[1], self._head_outputs(out)
        if not self.shards_evaluation:
            return self._loss(out, y), out
        # this process's sum over its rows of the batch (none: an empty part), as in
        # training; read_back adds the processes' up and divides by the batch's rows
        rows = xs[0].shape[0]
        return (self._loss(out, y) * rows if rows else out.sum() * 0.0), out

    @torch.no_grad()
    def predict_batch(self, xs: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        out = self._forward(xs)
        if not self.simple:
            return [self.activate(o, i) for i, o in enumerate(self._head_outputs(out))]
        return self.activate(out)

    def join_predictions(self, parts: list[torch.Tensor], node: str | None = None) -> np.ndarray:
        if not parts:
            shape = self.graph[node].shape if node else self.graph.output.shape
            return np.empty((0, *shape), self.dtype)
        return torch.cat(parts).cpu().numpy()

    @torch.no_grad()
    def logits(self, x: Any) -> np.ndarray | list[np.ndarray]:
        """The output before the split-off activation (for gradient checks and tests);
        a list, one per head, with several outputs or terms."""
        self.net.eval()
        out = self._forward(self.inputs(x))
        if not self.simple:
            return [o.cpu().numpy() for o in self._head_outputs(out)]
        return out.cpu().numpy()

    def loss_and_grads(
        self, x: Any, y: Any, training: bool = False, weights: Any = None
    ) -> tuple[float, dict]:
        """Loss on one batch and the gradient of every weight (tests, `nndsl trace`)."""
        data = self.prepare(x, y, weights)
        self.net.train(training)
        for p in self.params:
            p.grad = None
        loss = self._loss(self._forward(data.xs), data.y)
        loss.backward()
        grads = {
            k: (p.grad if p.grad is not None else torch.zeros_like(p)).cpu().numpy().copy()
            for k, p in named_parameters(self.net).items()
        }
        return float(loss.detach()), grads

    # ------------------------------------------------------------------ steps driven from outside
    def grad_forward(
        self, xs: list[torch.Tensor], keep: bool = True
    ) -> torch.Tensor | list[torch.Tensor]:
        self._check_driven()
        if self.world > 1:
            raise NNDSLError(f"model '{self.graph.name}' must run on one process here")
        if self.input_grads:
            xs = [xs[0].detach().requires_grad_(True), *xs[1:]]
        self.net.train(True)
        if not keep:  # nothing to differentiate: no graph recorded
            with torch.no_grad():
                return self._driven_outputs(self._forward(xs, training=True))
        out = self._driven_outputs(self._forward(xs, training=True))
        self._kept = (xs, out)
        return [o.detach() for o in out] if isinstance(out, list) else out.detach()

    def _driven_outputs(self, out: Any) -> torch.Tensor | list[torch.Tensor]:
        """The one output, or each head's output in order with several."""
        if self.simple:
            return out
        heads = self._head_outputs(out)
        return heads if len(heads) > 1 else heads[0]

    @torch.no_grad()
    def eval_forward(self, xs: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        self._check_driven()
        self.net.eval()
        return self._driven_outputs(self._forward(xs))

    @property
    def primitives(self) -> Any:
        return TP

    def grad_backward(self, dout: torch.Tensor) -> list[torch.Tensor | None]:
        xs, out = self._kept
        self._kept = None
        for p in self.params:
            p.grad = None
        if isinstance(out, list):  # several outputs: d loss / d each, in order
            loss = sum((o * d).sum() for o, d in zip(out, dout, strict=True))
        else:
            loss = (out * dout).sum()
        for w, l2 in self.penalized:
            loss = loss + l2 * (w * w).sum()
        loss.backward()
        return [x.grad if x.requires_grad else None for x in xs]

    def grad_step(self) -> None:
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip_norm, foreach=True)
        self.optimizer.step()
        self.steps += 1

    def differentiate(
        self, fn: Callable[..., Any], values: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        leaves = [v.detach().requires_grad_(True) for v in values]
        with torch.enable_grad():
            result = fn(TP, leaves)
            grads = torch.autograd.grad(result, leaves, allow_unused=True)
        return result.detach(), [
            g if g is not None else torch.zeros_like(v) for g, v in zip(grads, values)
        ]

    def add_gradient_penalty(self, xs: list[torch.Tensor], weight: float) -> torch.Tensor:
        x = xs[0].detach().requires_grad_(True)
        # the penalty differentiates a gradient: cuDNN's recurrent kernels cannot (torch
        # raises), torch's own can, so a recurrent critic's forward here runs without cuDNN
        cudnn = torch.backends.cudnn.enabled
        torch.backends.cudnn.enabled = cudnn and not any(
            OPS[n.op].recurrent for n in self.graph.nodes
        )
        try:
            out = self._forward([x, *xs[1:]], training=True)
        finally:
            torch.backends.cudnn.enabled = cudnn
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        norms = torch.sqrt((g.reshape(g.shape[0], -1) ** 2).sum(dim=1) + 1e-12)
        penalty = weight * ((norms - 1) ** 2).mean()
        penalty.backward()  # adds to the gradients grad_backward left
        return penalty.detach()

    def host_floats(self, values: list[Any]) -> list[float]:
        if not values:
            return []
        parts = [
            v.detach().reshape(()).double()
            if isinstance(v, torch.Tensor)
            else torch.tensor(float(v), dtype=torch.float64, device=self.device)
            for v in values
        ]
        return torch.stack([p.to(self.device) for p in parts]).cpu().tolist()

    def tensor(self, a: np.ndarray) -> torch.Tensor:
        return self._tensor(np.ascontiguousarray(a, dtype=self.dtype))

    def get_weights(self) -> dict[str, np.ndarray]:
        return {k: p.detach().cpu().numpy().copy() for k, p in named_tensors(self.net).items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        check_weights(self.shapes, weights)
        load_weights(self.net, weights)

    def evaluator(self) -> Evaluator:
        weights = {k: t.detach() for k, t in named_tensors(self.net).items()}
        return Evaluator(
            TP,
            weights,
            lambda a: torch.from_numpy(np.asarray(a, self.dtype)).to(self.device),
            lambda t: t.detach().cpu().numpy(),
        )

    def torch_module(self) -> torch.nn.Module:
        """The whole model (output activation included) as a plain `nn.Module` taking one
        tensor per input. Its parameters are this engine's: training one trains both."""
        module = lower(self.full_graph, self.get_weights(), dtype=self.dtype, device=self.device)
        for key, p in named_tensors(self.net).items():  # buffers too: running statistics
            owner, attr = key.rsplit(".", 1)
            setattr(module.get_submodule(module_path(owner)), attr, p)
        return module

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"]) if self.optimizer else 0.0

    @lr.setter
    def lr(self, value: float) -> None:
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = float(value)

    def state_dict(self) -> dict[str, Any]:
        """Optimizer state in the NumPy engine's layout, and the dropout generator's."""
        state = {}
        if self.optimizer is not None:
            flat = flat_state(self.optimizer, self.params, self.steps)
            state.update({f"optimizer.{k}": v for k, v in flat.items()})
        state["torch_rng"] = self.generator.get_state().numpy().copy()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.optimizer is not None:
            flat = {k[10:]: v for k, v in state.items() if k.startswith("optimizer.")}
            if flat:
                self.steps = load_flat_state(self.optimizer, self.params, flat)
        if "torch_rng" in state:
            self.generator.set_state(torch.as_tensor(np.asarray(state["torch_rng"])))


def _derived_seed(seed: int, rank: int = 0) -> int:
    """The dropout generator's seed: its own stream of the run's seed (and process)."""
    key = [seed & 0xFFFFFFFF, 0x5EED] + ([rank] if rank else [])
    return int(np.random.default_rng(key).integers(2**62))


# the `compile` setting -> torch.compile's mode (None: its default)
COMPILE_MODES = {
    True: None,
    "true": None,
    "reduce_overhead": "reduce-overhead",
    "max_autotune": "max-autotune",
}


def _compiler(setting: bool | str | None) -> Callable[[torch.nn.Module], Any]:
    """What wraps a module for the `compile` setting: torch.compile in its mode, or
    nothing (false)."""
    if setting in (None, False, "false"):
        return lambda module: module
    if setting not in COMPILE_MODES:
        raise NNDSLError(
            f"unknown compile setting '{setting}'",
            hint="false, true, reduce_overhead or max_autotune",
        )
    mode = COMPILE_MODES[setting]
    return lambda module: torch.compile(module, mode=mode)


def _autocast_dtype(mixed_precision: str | None, dtype: str) -> torch.dtype | None:
    if mixed_precision in (None, "none"):
        return None
    if mixed_precision != "bf16":
        raise NNDSLError(f"unknown mixed_precision '{mixed_precision}'", hint="none or bf16")
    if dtype != "float32":
        raise NNDSLError(
            f"mixed_precision = bf16 needs dtype = float32, not {dtype}",
            hint="bf16 autocast runs float32 weights with bfloat16 matmuls",
        )
    return torch.bfloat16
