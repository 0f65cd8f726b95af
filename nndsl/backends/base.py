"""The interface every backend's engine offers the shared trainer (nndsl.train).

An engine owns a model's weights, optimizer and random state on one device. The trainer
owns everything else: epochs, shuffling order, validation, callbacks, history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from nndsl.ir.graph import Graph
    from nndsl.ir.signature import Spec


class NonFiniteLoss(Exception):
    """The loss became NaN or Inf; the step that produced it was not applied."""

    def __init__(self, batch: int, value: float) -> None:
        super().__init__(f"loss is {value} at batch {batch}")
        self.batch = batch
        self.value = value


class Engine(Protocol):
    name: str
    dtype: str

    def prepare(self, x: Any, y: Any | None) -> Any:
        """Cast and place a dataset once (on the device); the result feeds the methods below."""

    def train_epoch(
        self,
        data: Any,
        order: np.ndarray,
        batch_size: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> dict[str, float]:
        """One pass over `data` in `order`, in mini-batches; mean loss and metrics.
        Raises NonFiniteLoss for the first bad batch. The NumPy engine stops there, with
        the weights of the last good step; the torch engine, which reads losses back once
        per epoch, notices at the epoch's end, after its later steps (the trainer restores
        the last good epoch's weights either way)."""

    def evaluate(self, data: Any, batch_size: int) -> dict[str, float]:
        """Loss and metrics in evaluation mode (no dropout)."""

    def predict(self, x: Any, batch_size: int) -> np.ndarray: ...

    def get_weights(self) -> dict[str, np.ndarray]: ...

    def set_weights(self, weights: dict[str, np.ndarray]) -> None: ...

    lr: float

    def state_dict(self) -> dict[str, np.ndarray]:
        """Optimizer and random-number state, as plain arrays (for checkpoints)."""

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None: ...


def check_weights(expected: dict[str, tuple[int, ...]], given: dict[str, np.ndarray]) -> None:
    """Refuse weights with a missing, extra or wrongly shaped tensor, naming it."""
    from nndsl.errors import NNDSLError

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


# ---------------------------------------------------------------- shared by the engines


def plan_output(graph: Graph, loss: Spec | None) -> tuple[Graph, Spec, bool]:
    """(graph the engine runs, activation applied after it, whether outputs are logits).

    A cross-entropy is computed from logits: the output's sigmoid/softmax is split off
    and applied only when predicting."""
    from nndsl.ir.graph import output_activation, split_output_activation
    from nndsl.ir.signature import CATALOGS, Spec

    act = output_activation(graph)
    wants = CATALOGS["loss"][loss.name].extra.get("logits") if loss is not None else None
    if wants and act.name in (wants, "linear"):
        logits_graph, act = split_output_activation(graph)
        return logits_graph, act, True
    return graph, Spec("linear"), False


def input_arrays(graph: Graph, x: Any, dtype: str) -> list[np.ndarray]:
    """One checked, contiguous array (samples, *shape) per input node of `graph`, from an
    array, a list (several inputs, in order) or a dict {input name: array}."""
    from nndsl.errors import NNDSLError

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
    from nndsl.errors import NNDSLError
    from nndsl.train.targets import prepare_targets

    xs = input_arrays(graph, x, dtype)
    if y is None:
        return xs, None
    if loss is None:
        raise NNDSLError("this model has no loss: add a train block with a loss")
    yp = prepare_targets(y, loss.name, graph.output.shape, dtype)
    if yp.shape[0] != xs[0].shape[0]:
        raise NNDSLError(f"x has {xs[0].shape[0]} samples but y has {yp.shape[0]}")
    return xs, yp
