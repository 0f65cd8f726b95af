"""Callbacks of the shared training loop: early stopping (Keras' semantics), learning-rate
schedules, and the base class for progress, checkpoints and user code."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.metrics import monitor_mode

if TYPE_CHECKING:
    from nndsl.train.trainer import Trainer


class Callback:
    """Hooks called by the trainer; `self.trainer` is set before training starts."""

    trainer: Trainer

    def on_train_begin(self) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, batch: int) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, logs: dict[str, Any]) -> None: ...


class EarlyStopping(Callback):
    """Stop when `monitor` has stopped improving; Keras 3's EarlyStopping, argument for
    argument. With `restore_best`, the best weights are restored when training ends,
    however it ends (patience ran out or not)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        self.monitor = monitor
        self.patience = patience
        self.baseline = baseline
        self.restore_best = restore_best
        self.start_from_epoch = start_from_epoch
        self.mode = monitor_mode(monitor, mode)  # "auto": as the metric declares
        # improvement means beating the reference by more than min_delta
        self.min_delta = abs(min_delta) if mode == "max" else -abs(min_delta)

    def _improved(self, value: float, reference: float) -> bool:
        # NaN compares False: never an improvement, and it uses up patience (as in Keras)
        if self.mode == "max":
            return value - self.min_delta > reference
        return value - self.min_delta < reference

    def on_train_begin(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_weights: dict[str, np.ndarray] | None = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise NNDSLError(
                f"early_stop monitors '{self.monitor}', which training does not report",
                hint="reported: "
                + ", ".join(logs)
                + (
                    "; val_ keys need validation data (validation = 0.2)"
                    if self.monitor.startswith("val_")
                    else ""
                ),
            )
        current = logs[self.monitor]
        if epoch < self.start_from_epoch:
            return
        if self.restore_best and self.best_weights is None:
            self.best_weights = self.trainer.engine.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best:
                self.best_weights = self.trainer.engine.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.restore_best and self.best_weights is not None:
            self.trainer.engine.set_weights(self.best_weights)
            logs["restored_epoch"] = self.best_epoch + 1  # as people count: epoch 1 first
        if self.stopped_epoch:
            logs["stopped_epoch"] = self.stopped_epoch + 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class LearningRateSchedule(Callback):
    """Sets the learning rate for the next epoch from a schedule (nndsl.train.schedules)."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.trainer.engine.lr = self.schedule.epoch_end(epoch, logs)

    def state_dict(self) -> dict[str, Any]:
        return self.schedule.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.schedule.load_state_dict(state)
