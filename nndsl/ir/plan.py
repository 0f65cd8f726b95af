"""The training plan: a `train` block resolved against its declarations, defaults filled."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.signature import Spec, decode, encode


@dataclass
class TrainPlan:
    """Every field is a `train` setting (see nndsl.ir.catalog.TRAIN_SETTINGS)."""

    model: str
    loss: Spec
    data: Spec | None = None
    validation: float = 0.0
    test: float = 0.0
    optimizer: Spec = field(default_factory=lambda: Spec("adam"))
    schedule: Spec | None = None
    batch_size: int = 32
    epochs: int = 10
    early_stop: dict[str, Any] | None = None
    metrics: list[Spec] = field(default_factory=list)
    seed: int = 0
    shuffle: bool = True
    clip_norm: float | None = None
    dtype: str = "float32"
    mixed_precision: str | None = None  # "bf16" (torch backend)
    compile: bool = False
    checkpoint_every: int = 0
    base_dir: str = "."  # data paths are relative to the .nn file's folder

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def to_dict(self) -> dict[str, Any]:
        return {k: encode(getattr(self, k)) for k in (f.name for f in fields(self))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainPlan:
        kinds = {p.name: p.kind for p in TRAIN_SETTINGS.params}
        values = {k: decode(kinds[k], v) if k in kinds else v for k, v in data.items()}
        return cls(**values)

    def replace(self, **changes: Any) -> TrainPlan:
        return TrainPlan(**{**asdict_shallow(self), **changes})


def asdict_shallow(plan: TrainPlan) -> dict[str, Any]:
    return {f.name: getattr(plan, f.name) for f in fields(plan)}


__all__ = ["TrainPlan", "asdict"]
