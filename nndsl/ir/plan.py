"""The training plan: a `train` block resolved against its declarations, defaults filled."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.signature import Spec, decode, encode


@dataclass(frozen=True)
class Head:
    """One output of the model with what trains it: its loss, the loss's weight in the
    total, and the metrics reported for it. A one-output model has one head, from the
    `loss` and `metrics` settings; its history columns carry no prefix (`loss`,
    `val_accuracy`). Several outputs are prefixed by the output's name (`label_loss`,
    `val_value_mae`), and `loss` is the weighted total, as in Keras."""

    output: str
    loss: Spec
    weight: float = 1.0
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class LossTerm:
    """An extra term of the loss computed from named layers (`terms = (sparsity = 0.001 *
    l1(h))`): `weight * fn(inputs..., **args)`, differentiated like the rest, reported as
    its own history column `name` (its value before the weight)."""

    name: str
    fn: str  # an entry of the "term" catalog (nndsl.ir.terms)
    inputs: tuple[str, ...]  # node names
    weight: float = 1.0
    args: dict[str, Any] = field(default_factory=dict)


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
    log: list[Spec] = field(default_factory=list)  # experiment trackers (nndsl.train.tracking)
    search: Spec = field(default_factory=lambda: Spec("grid"))  # how sweep trials are chosen
    shuffle: bool = True
    # a weight per class in the training loss: "balanced", {class name: weight} or a list
    # by class index (nndsl.ir.weighting)
    class_weight: Any = None
    clip_norm: float | None = None
    dtype: str = "float32"
    mixed_precision: str | None = None  # "bf16" (torch backend)
    compile: bool | str = False  # or a torch.compile mode: reduce_overhead, max_autotune
    checkpoint_every: int = 0
    target: str | None = None  # "input": an autoencoder's targets are its inputs
    latent: str | None = None  # the latent codes' layer (encode, sample)
    # a GAN: this plan's model is the generator, trained against `discriminator`
    discriminator: str | None = None
    gan_loss: Spec = field(default_factory=lambda: Spec("non_saturating"))
    d_optimizer: Spec | None = None
    d_steps: int = 1
    # an agent (reinforcement learning): the model acts in `env`, learning by `algorithm`
    # for `steps` environment steps (`epochs`, when written, caps the episodes)
    env: Spec | None = None
    algorithm: Spec = field(default_factory=lambda: Spec("dqn"))
    steps: int = 50000
    base_dir: str = "."  # data paths are relative to the .nn file's folder
    loss_weights: dict[str, float] | None = None  # as written; the heads hold them
    # derived by the compiler from loss, loss_weights, metrics and terms: what trains
    # each output, and the extra terms. Empty heads: one head, from loss and metrics
    heads: list[Head] = field(default_factory=list)
    terms: list[LossTerm] = field(default_factory=list)

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def heads_for(self, graph: Any) -> list[Head]:
        """The heads, or the one head of a plan that lists none (built by hand, or read
        from a config written before heads existed): `loss` and `metrics` on the output."""
        if self.heads:
            return list(self.heads)
        return [Head(graph.output.name, self.loss, 1.0, tuple(self.metric_names))]

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for k in (f.name for f in fields(self)):
            if k == "heads":
                out[k] = [_head_to_dict(h) for h in self.heads]
            elif k == "terms":
                out[k] = [_term_to_dict(t) for t in self.terms]
            else:
                out[k] = encode(getattr(self, k))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainPlan:
        kinds = {p.name: p.kind for p in TRAIN_SETTINGS.params}
        values = {}
        for k, v in data.items():
            if k == "heads":
                values[k] = [_head_from_dict(h) for h in v or []]
            elif k == "terms":
                values[k] = [_term_from_dict(t) for t in v or []]
            elif k in ("loss_weights",):  # a group of numbers, as written
                values[k] = v
            else:
                values[k] = decode(kinds[k], v) if k in kinds else v
        return cls(**values)

    def replace(self, **changes: Any) -> TrainPlan:
        return TrainPlan(**{**asdict_shallow(self), **changes})


def _head_to_dict(h: Head) -> dict[str, Any]:
    return {
        "output": h.output,
        "loss": h.loss.to_dict(),
        "weight": h.weight,
        "metrics": list(h.metrics),
    }


def _head_from_dict(d: dict[str, Any]) -> Head:
    return Head(
        str(d["output"]),
        decode("loss", d["loss"]),
        float(d.get("weight", 1.0)),
        tuple(str(m) for m in d.get("metrics", ())),
    )


def _term_to_dict(t: LossTerm) -> dict[str, Any]:
    return {
        "name": t.name,
        "fn": t.fn,
        "inputs": list(t.inputs),
        "weight": t.weight,
        "args": encode(dict(t.args)),
    }


def _term_from_dict(d: dict[str, Any]) -> LossTerm:
    return LossTerm(
        str(d["name"]),
        str(d["fn"]),
        tuple(str(i) for i in d.get("inputs", ())),
        float(d.get("weight", 1.0)),
        dict(d.get("args") or {}),
    )


def loss_columns(heads: list[Head], terms: list[LossTerm]) -> list[str]:
    """The history columns of the loss, in order: the total (`loss`), each head's own
    (`label_loss`) when there are several or terms are added to it (a variational
    autoencoder's reconstruction beside its `kl`), each term's unweighted value
    (`sparsity`)."""
    own = [f"{h.output}_loss" for h in heads] if len(heads) > 1 or terms else []
    return ["loss", *own, *(t.name for t in terms)]


def metric_columns(heads: list[Head]) -> list[tuple[str, int, str]]:
    """(history column, head index, metric) for every head's metrics: `accuracy` for one
    head, `label_accuracy` for several."""
    several = len(heads) > 1
    return [
        (f"{h.output}_{m}" if several else m, i, m) for i, h in enumerate(heads) for m in h.metrics
    ]


def history_columns(heads: list[Head], terms: list[LossTerm]) -> list[str]:
    """Every column training reports without validation (`val_` versions come with it)."""
    return [*loss_columns(heads, terms), *(c for c, _, _ in metric_columns(heads))]


def asdict_shallow(plan: TrainPlan) -> dict[str, Any]:
    return {f.name: getattr(plan, f.name) for f in fields(plan)}


__all__ = ["Head", "LossTerm", "TrainPlan", "asdict", "history_columns", "loss_columns"]
