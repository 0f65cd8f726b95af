"""Checks of a graph before anything is allocated for it.

- `estimate_memory`: what training (or inference) will need: parameters, their
  gradients, the optimizer's state and the activations of one batch; the compiler and
  `fit` refuse a model or batch that does not fit this machine's memory.
- `graph_from_description`: a graph (and plan) read from a weights or checkpoint file,
  which may be damaged or hostile: every node's shape and weights are derived again from
  the op declarations, and any defect is an NNDSLError, never a crash or an allocation
  of whatever size the file claims.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.graph import Graph
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS, Spec

DTYPE_BYTES = {"float32": 4, "float64": 8}


def machine_memory() -> int:
    """Bytes of physical memory (64 GiB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 64 << 30


def human_bytes(n: float) -> str:
    """A byte count in the largest unit that keeps it at least 0.1: `1.3 KiB`, `23.5 GiB`;
    any larger than a billion TiB (a product of a file's sizes: a float division of it
    overflows) as `over 1,000,000,000 TiB`."""
    if n >= 2**40 * 10**9:
        return f"over {10**9:,} TiB"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size / 10:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed to train on batches of `batch_size` (inference: no gradients or
    optimizer state)."""

    parameters: int
    gradients: int
    optimizer: int
    activations: int
    batch_size: int
    optimizer_name: str = ""
    state_per_parameter: int = 0

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer + self.activations

    @property
    def per_sample(self) -> int:
        return self.activations // max(self.batch_size, 1)

    def describe(self) -> str:
        parts = [f"parameters {human_bytes(self.parameters)}"]
        if self.gradients:
            parts.append(f"gradients {human_bytes(self.gradients)}")
        if self.optimizer:
            parts.append(
                f"{self.optimizer_name} state {human_bytes(self.optimizer)} "
                f"({self.state_per_parameter} per parameter)"
            )
        if self.activations:
            batch = f"batch of {self.batch_size:,}"
            parts.append(f"activations {human_bytes(self.activations)} ({batch})")
        return f"about {human_bytes(self.total)}: " + ", ".join(parts)


def optimizer_state(optimizer: Spec | None) -> int:
    """Buffers per parameter the optimizer keeps (declared in the catalog)."""
    if optimizer is None:
        return 0
    entry = CATALOGS["optimizer"].get(optimizer.name)
    state = entry.extra.get("state") if entry else None
    return int(state(optimizer.args)) if state else 2


def estimate_memory(
    graph: Graph,
    dtype: str = "float32",
    batch_size: int = 0,
    optimizer: Spec | None = None,
    training: bool = True,
) -> MemoryEstimate:
    """A lower bound of what a step needs: every node's output for the batch is kept
    for the backward pass, which writes a delta of the same size."""
    size = DTYPE_BYTES.get(dtype, 4)
    params = sum(math.prod(w.shape) for n in graph.nodes for w in n.weights) * size
    outputs = sum(math.prod(n.shape) for n in graph.nodes) * size * batch_size
    slots = optimizer_state(optimizer) if training else 0
    return MemoryEstimate(
        parameters=params,
        gradients=params if training else 0,
        optimizer=params * slots,
        activations=outputs * (2 if training else 1),
        batch_size=batch_size,
        optimizer_name=optimizer.name if optimizer else "",
        state_per_parameter=slots,
    )


def fits(estimate: MemoryEstimate) -> bool:
    return estimate.total <= machine_memory()


def largest_batch(estimate: MemoryEstimate) -> int:
    """The largest batch whose activations still fit beside the parameters (0: none)."""
    room = machine_memory() - (estimate.parameters + estimate.gradients + estimate.optimizer)
    return max(0, room // max(estimate.per_sample, 1))


def check_fits(estimate: MemoryEstimate, what: str) -> None:
    """Refuse, with the estimate, what needs more memory than this machine has."""
    if fits(estimate):
        return
    hint = None
    if estimate.activations and estimate.activations > estimate.total // 2:
        batch = largest_batch(estimate)
        hint = f"a batch_size of at most {batch:,} fits" if batch else "use a smaller model"
    raise NNDSLError(
        f"{what} needs {estimate.describe()}; this machine has {human_bytes(machine_memory())}",
        hint=hint or "use fewer units or a smaller input",
    )


# ------------------------------------------------------------------ graphs from files


def graph_from_description(meta: dict[str, Any], where: str) -> tuple[Graph, Any]:
    """(graph, plan or None) from a file's metadata record, checked as a compiled one."""
    from nndsl.ir.plan import TrainPlan

    try:
        graph = Graph.from_dict(meta["graph"])
        plan = TrainPlan.from_dict(meta["plan"]) if meta.get("plan") else None
        _rederive(graph)
    except NNDSLError as e:
        raise NNDSLError(f"{where}: its model description is not valid: {e.message}") from None
    except Exception as e:  # a damaged record: a missing key, a wrong type...
        raise NNDSLError(
            f"{where}: its model description is corrupt ({type(e).__name__}: {e})",
            hint="rebuild the model from its .nn file and load the weights into it",
        ) from None
    check_fits(estimate_memory(graph, training=False), f"{where}: the model it describes")
    return graph, plan


def _rederive(graph: Graph) -> None:
    """Every node's shape and weights as its op's declaration computes them."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in graph.nodes:
        opdef = OPS[node.op]
        ins = [shapes[i] for i in node.inputs]
        attrs = dict(node.attrs)
        if opdef.inputs == "many":
            attrs.setdefault("inputs", list(node.inputs))
        shape = tuple(opdef.shape(ins, attrs)) if ins or opdef.inputs == "none" else None
        if shape != tuple(node.shape) or not all(isinstance(d, int) and d > 0 for d in shape):
            raise NNDSLError(f"node '{node.name}' has shape {node.shape}, its op gives {shape}")
        declared = [tuple(w.shape) for w in opdef.weights(ins, attrs)]
        if declared != [tuple(w.shape) for w in node.weights]:
            raise NNDSLError(f"node '{node.name}' has weights that its op does not declare")
        shapes[node.name] = shape


def check_weights(expected: dict[str, tuple[int, ...]], given: dict[str, np.ndarray]) -> None:
    """Refuse weights with a missing, extra or wrongly shaped tensor, naming it."""
    missing = [k for k in expected if k not in given]
    extra = [k for k in given if k not in expected]
    if missing:
        raise NNDSLError(
            f"weights are missing tensor '{missing[0]}' "
            f"(shape {expected[missing[0]]})"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""),
            hint="were they saved from a different model?",
        )
    if extra:
        raise NNDSLError(
            f"weights have an unexpected tensor '{extra[0]}' "
            f"(shape {tuple(np.shape(given[extra[0]]))})",
            hint="were they saved from a different model? expected: " + ", ".join(expected),
        )
    for k, shape in expected.items():
        got = tuple(np.shape(given[k]))
        if got != tuple(shape):
            raise NNDSLError(f"weight '{k}' has shape {got}, but the model needs {tuple(shape)}")
        dtype = getattr(given[k], "dtype", None)
        if isinstance(dtype, np.dtype) and dtype.kind not in "biuf":
            raise NNDSLError(f"weight '{k}' holds {dtype}, not numbers")
