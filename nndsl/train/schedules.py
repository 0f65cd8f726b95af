"""Learning-rate schedules, stepped once per epoch, with torch.optim.lr_scheduler's values.

The trainer calls `epoch_end(epoch, logs)` after each epoch (epoch counts from 0) and
uses the returned rate for the next epoch. Like torch, step, exponential and cosine
update the current rate recursively from the previous one (so the rounding matches what
torch users see); an epoch that does not follow the previous one (a resume without the
schedule's state) falls back to the closed form. Arguments come bound and defaulted from
the schedule's `Spec` (declared in `nndsl.ir.catalog`). Pure Python, backend-agnostic.
"""

from __future__ import annotations

import math
from typing import Any

from nndsl.errors import NNDSLError, did_you_mean
from nndsl.ir.signature import Spec


class Schedule:
    """The learning rate per epoch, starting from `base_lr`."""

    def __init__(self, base_lr: float) -> None:
        self.base_lr = float(base_lr)
        self.lr = self.base_lr
        self.last_epoch = 0  # epochs finished, torch's `last_epoch`

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> float:
        """Called after epoch `epoch` with its logged metrics; the rate for the next one."""
        consecutive = epoch == self.last_epoch
        self.last_epoch = epoch + 1
        self.lr = self._next(logs) if consecutive else self._closed_form()
        return self.lr

    def _next(self, logs: dict[str, float]) -> float:
        """The rate after epoch `last_epoch - 1`, from the current one."""
        raise NotImplementedError

    def _closed_form(self) -> float:
        """The rate after epoch `last_epoch - 1`, from base_lr alone."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr = float(state["lr"])
        self.last_epoch = int(state["last_epoch"])


class StepLR(Schedule):
    """lr * gamma every `step_size` epochs: base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, base_lr: float, step_size: int, gamma: float) -> None:
        super().__init__(base_lr)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def _next(self, logs: dict[str, float]) -> float:
        return self.lr * self.gamma if self.last_epoch % self.step_size == 0 else self.lr

    def _closed_form(self) -> float:
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class ExponentialLR(Schedule):
    """lr * gamma every epoch: base_lr * gamma ** epoch."""

    def __init__(self, base_lr: float, gamma: float) -> None:
        super().__init__(base_lr)
        self.gamma = float(gamma)

    def _next(self, logs: dict[str, float]) -> float:
        return self.lr * self.gamma

    def _closed_form(self) -> float:
        return self.base_lr * self.gamma**self.last_epoch


class CosineAnnealingLR(Schedule):
    """eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2, continuing as a
    cosine (back up to base_lr by 2 * t_max, and so on) past t_max, as torch's does."""

    def __init__(self, base_lr: float, t_max: int, eta_min: float) -> None:
        super().__init__(base_lr)
        self.t_max, self.eta_min = int(t_max), float(eta_min)

    def _next(self, logs: dict[str, float]) -> float:
        t, t_max, eta_min = self.last_epoch, self.t_max, self.eta_min
        if (t - 1 - t_max) % (2 * t_max) == 0:  # at the bottom: the ratio below would be 0/0
            return self.lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return ratio * (self.lr - eta_min) + eta_min

    def _closed_form(self) -> float:
        cos = math.cos(math.pi * self.last_epoch / self.t_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + cos) / 2


class ReduceLROnPlateau(Schedule):
    """lr = max(lr * factor, min_lr) once `logs[monitor]` has not improved (by
    `threshold`, relative or absolute) for more than `patience` epochs; then waits
    `cooldown` epochs before counting again."""

    EPS = 1e-8  # torch's: changes smaller than this are not applied

    def __init__(
        self,
        base_lr: float,
        factor: float,
        patience: int,
        monitor: str,
        mode: str,
        threshold: float,
        threshold_mode: str,
        cooldown: int,
        min_lr: float,
    ) -> None:
        super().__init__(base_lr)
        self.factor, self.patience, self.monitor = float(factor), int(patience), monitor
        self.mode, self.threshold, self.threshold_mode = mode, float(threshold), threshold_mode
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> float:
        # no closed form: every epoch is a step, whatever its number
        self.last_epoch = epoch + 1
        self.lr = self._next(logs)
        return self.lr

    def _next(self, logs: dict[str, float]) -> float:
        current = float(self._monitored(logs))
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        lr = self.lr
        if self.num_bad_epochs > self.patience:
            reduced = max(lr * self.factor, self.min_lr)
            if lr - reduced > self.EPS:
                lr = reduced
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return lr

    def _monitored(self, logs: dict[str, float]) -> float:
        if self.monitor in logs:
            return logs[self.monitor]
        available = ", ".join(sorted(logs)) or "none"
        if self.monitor.startswith("val_") and not any(k.startswith("val_") for k in logs):
            plain = self.monitor[4:]
            hint = "val_ values need validation data, e.g. `validation = 0.2`" + (
                f", or monitor={plain}" if plain in logs else ""
            )
        else:
            hint = did_you_mean(self.monitor, logs)
        raise NNDSLError(
            f"reduce_on_plateau monitors '{self.monitor}', which is not logged "
            f"(logged: {available})",
            hint=hint,
        )

    def _is_better(self, current: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return current < (
                best * (1 - threshold) if self.threshold_mode == "rel" else best - threshold
            )
        return current > (
            best * (1 + threshold) if self.threshold_mode == "rel" else best + threshold
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "best": self.best,
            "num_bad_epochs": self.num_bad_epochs,
            "cooldown_counter": self.cooldown_counter,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])


# catalog name -> implementation; the arguments are the catalog's, by name
SCHEDULES: dict[str, type[Schedule]] = {
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "reduce_on_plateau": ReduceLROnPlateau,
}


def make_schedule(spec: Spec, base_lr: float) -> Schedule:
    """The schedule `spec` names (arguments all bound), starting from `base_lr`."""
    cls = SCHEDULES.get(spec.name)
    if cls is None:
        raise NNDSLError(f"unknown schedule '{spec.name}'", hint="one of: " + ", ".join(SCHEDULES))
    return cls(base_lr, **spec.args)
