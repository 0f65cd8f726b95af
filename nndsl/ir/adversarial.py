"""The losses of a generative adversarial network (`gan_loss = non_saturating`): each
declared once, as compositions of the primitives (nndsl.ir.primitives), so both backends
differentiate them with no code of their own (Engine.differentiate).

A discriminator's output is one logit per sample (its sigmoid split off, as for
binary_crossentropy), a Wasserstein critic's one unbounded score. `discriminator(P, real,
fake, a)` is the loss the discriminator minimizes on a batch of real samples' and
generated samples' logits, `generator(P, fake, a)` the one the generator minimizes; both
return 0-d tensors, means over the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nndsl.ir.graph import Graph
from nndsl.ir.ops import OPS, softplus
from nndsl.ir.signature import CATALOGS, Entry, Param, register


def _mean(P: Any, x: Any) -> Any:
    return P.mean(P.reshape(x, (-1,)), 0)


def _bce_discriminator(P: Any, real: Any, fake: Any, a: dict[str, Any]) -> Any:
    # binary cross-entropy from logits, softplus(l) - t * l: real samples labelled
    # 1 - label_smoothing (one-sided, Salimans et al. 2016), generated ones 0
    target = 1.0 - a.get("label_smoothing", 0.0)
    return _mean(P, softplus(P, real) - real * target) + _mean(P, softplus(P, fake))


def _non_saturating(P: Any, fake: Any, a: dict[str, Any]) -> Any:
    return _mean(P, softplus(P, -fake))  # -log D(G(z)): strong gradients early on


def _minimax(P: Any, fake: Any, a: dict[str, Any]) -> Any:
    return -_mean(P, softplus(P, fake))  # log(1 - D(G(z))), the original game


def _critic(P: Any, real: Any, fake: Any, a: dict[str, Any]) -> Any:
    return _mean(P, fake) - _mean(P, real)


def _wasserstein_generator(P: Any, fake: Any, a: dict[str, Any]) -> Any:
    return -_mean(P, fake)


_SMOOTHING = Param(
    "label_smoothing",
    "float",
    0.0,
    low=0,
    high=1,
    high_open=True,
    doc="real samples' target is 1 - label_smoothing (one-sided smoothing); 0: off",
)

for _name, _doc, _params, _disc, _gen, _extra in [
    (
        "non_saturating",
        "The standard GAN (Goodfellow et al. 2014) with the non-saturating generator loss: "
        "the discriminator minimizes binary cross-entropy (real 1, generated 0), the "
        "generator -log D(G(z)). The default.",
        (_SMOOTHING,),
        _bce_discriminator,
        _non_saturating,
        {"accuracy": True},
    ),
    (
        "minimax",
        "The original minimax game: the discriminator as for non_saturating, the generator "
        "minimizes log(1 - D(G(z))), whose gradient vanishes while D wins.",
        (_SMOOTHING,),
        _bce_discriminator,
        _minimax,
        {"accuracy": True},
    ),
    (
        "wasserstein",
        "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017): the critic (a "
        "linear output) minimizes mean(D(fake)) - mean(D(real)) + gradient_penalty * "
        "mean((|grad D(x)| - 1) ** 2) at points between real and generated samples; the "
        "generator -mean(D(G(z))). Usually with d_steps = 5.",
        (
            Param(
                "gradient_penalty",
                "float",
                10.0,
                low=0,
                doc="weight of the gradient penalty (0: none, an unconstrained critic)",
            ),
        ),
        _critic,
        _wasserstein_generator,
        {"accuracy": False},
    ),
]:
    register(
        "gan_loss",
        Entry(_name, _params, _doc, {**_extra, "discriminator": _disc, "generator": _gen}),
    )

GAN_LOSSES: dict[str, Entry] = CATALOGS["gan_loss"]


def discriminator_loss(name: str) -> Callable[..., Any]:
    return GAN_LOSSES[name].extra["discriminator"]


def generator_loss(name: str) -> Callable[..., Any]:
    return GAN_LOSSES[name].extra["generator"]


def gan_columns(name: str, validation: bool = False) -> list[str]:
    """The history columns of a GAN's training with loss `name`: both losses, then the
    discriminator's accuracy on real and on generated samples (a critic's estimate of
    the Wasserstein distance and its gradient penalty instead)."""
    if GAN_LOSSES[name].extra["accuracy"]:
        cols = ["d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"]
    else:
        cols = ["d_loss", "g_loss", "wasserstein", "gradient_penalty"]
    return cols + ([f"val_{c}" for c in cols] if validation else [])


def first_kink(graph: Graph) -> str | None:
    """The first layer of `graph` whose gradient is not continuous (relu, leaky_relu, max
    pooling, or such an activation=), as '`name` (op)', or None."""
    for node in graph.nodes:
        act = node.attrs.get("activation")
        name = getattr(act, "name", None)
        if not OPS[node.op].smooth:
            return f"'{node.name}' ({node.op})"
        if name in OPS and not OPS[name].smooth:
            return f"'{node.name}' (activation={name})"
    return None
