"""The interface every backend's engine offers the shared trainer (nndsl.train).

An engine owns a model's weights, optimizer and random state on one device. The trainer
owns everything else: epochs, shuffling order, validation, callbacks, history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np


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

    def train_epoch(self, data: Any, order: np.ndarray, batch_size: int,
                    on_batch: Callable[[int], None] | None = None) -> dict[str, float]:
        """One pass over `data` in `order`, in mini-batches; mean loss and metrics.
        Raises NonFiniteLoss, leaving the weights of the last good step."""

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
        raise NNDSLError(f"weights are missing tensor '{missing[0]}' "
                         f"(shape {expected[missing[0]]})"
                         + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""),
                         hint="were they saved from a different model?")
    if extra:
        raise NNDSLError(f"weights have an unexpected tensor '{extra[0]}'",
                         hint="were they saved from a different model? expected: "
                              + ", ".join(expected))
    for k, shape in expected.items():
        got = tuple(np.shape(given[k]))
        if got != tuple(shape):
            raise NNDSLError(f"weight '{k}' has shape {got}, but the model needs {tuple(shape)}")
