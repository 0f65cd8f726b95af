"""The training loop every backend shares: epochs of seeded shuffles, validation,
callbacks and history. Backends are reached only through the Engine interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nndsl.backends.base import Engine, NonFiniteLoss
from nndsl.errors import NNDSLError
from nndsl.train.callbacks import Callback
from nndsl.train.history import History


class TrainingDiverged(NNDSLError):
    """The loss became NaN or Inf; the weights are those of the last good epoch."""


@dataclass
class FitConfig:
    epochs: int
    batch_size: int
    seed: int = 0
    shuffle: bool = True
    initial_epoch: int = 0
    callbacks: list[Callback] = field(default_factory=list)


class Trainer:
    def __init__(self, engine: Engine, config: FitConfig) -> None:
        self.engine = engine
        self.config = config
        self.stop_training = False
        self.rng = np.random.default_rng([config.seed & 0xFFFFFFFF, 0x5AFF1E])
        self.history = History()
        self.epoch = config.initial_epoch
        for cb in config.callbacks:
            cb.trainer = self

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.config.callbacks:
            getattr(cb, hook)(*args)

    def fit(self, train: Any, validation: Any | None = None) -> History:
        n = len(train)
        if n == 0:
            raise NNDSLError("no training data")
        cfg = self.config
        self._call("on_train_begin")
        end_logs: dict[str, Any] = {}
        last_good = self.engine.get_weights()
        wants_batches = any(
            type(cb).on_batch_end is not Callback.on_batch_end for cb in cfg.callbacks
        )
        on_batch = self._on_batch if wants_batches else None
        try:
            # from self.epoch: a callback's on_train_begin may move it (a resumed checkpoint)
            for epoch in range(self.epoch, cfg.epochs):
                self.epoch = epoch
                data, order = self._epoch_order(train, n)
                self._call("on_epoch_begin", epoch)
                try:
                    logs = self.engine.train_epoch(data, order, cfg.batch_size, on_batch)
                except NonFiniteLoss as e:
                    self.engine.set_weights(last_good)
                    raise TrainingDiverged(
                        f"the loss became {e.value} at epoch {epoch + 1}, batch {e.batch + 1}",
                        hint="try a smaller learning rate (or clip_norm = 1.0); the weights "
                        "are those of the last good epoch",
                    ) from None
                if validation is not None:
                    logs.update(
                        {
                            f"val_{k}": v
                            for k, v in self.engine.evaluate(validation, cfg.batch_size).items()
                        }
                    )
                logs["lr"] = self.engine.lr
                self.history.append(epoch, logs)
                self._call("on_epoch_end", epoch, logs)
                last_good = self.engine.get_weights()
                if self.stop_training:
                    break
        except KeyboardInterrupt:  # Ctrl-C: callbacks may save what they can (a checkpoint)
            end_logs["interrupted"] = True
            raise
        finally:
            self._call("on_train_end", end_logs)
            self.history.info.update(end_logs)
        return self.history

    def _epoch_order(self, train: Any, n: int) -> tuple[Any, np.ndarray | None]:
        """(what the epoch trains on, in which order): a seeded permutation of the rows;
        a dataset streamed from files (nndsl.data.stream) shuffles itself from a seed."""
        if hasattr(train, "for_epoch"):
            seed = int(self.rng.integers(2**63)) if self.config.shuffle else None
            return train.for_epoch(seed), None
        return train, self.rng.permutation(n) if self.config.shuffle else np.arange(n)

    def _on_batch(self, batch: int) -> None:
        for cb in self.config.callbacks:
            cb.on_batch_end(batch)
