"""Declarations of the generative family: sample_normal, the reparameterization trick of
a variational autoencoder (Kingma and Welling, 2014). Imported by `nndsl.ir.ops`, whose
registry it joins.

`z = sample_normal(mean, log_var)` reads exactly the two layers it names (not the
previous one, which a merge such as `concat(h)` would take as well) and draws
z = mean + exp(log_var / 2) * eps, eps ~ N(0, 1) from the layer's generator
(`P.normal`): a constant, so the gradient reaches both layers through the sample. Out of
training it is `mean` itself, so evaluation and prediction are deterministic (unless
`sample_in_eval=true`). Its loss partner is the `kl_normal` term (nndsl.ir.terms).
"""

from __future__ import annotations

from typing import Any

from nndsl.ir.opdef import OpDef, Shape, ShapeError, fmt_shape, op
from nndsl.ir.signature import Param


def _sample_normal_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    # the names as written (the compiler puts the previous layer or `from=` in front of
    # a single one, as for any merge): exactly two, and nothing else read
    named = len(a.get("inputs", shapes))
    if named != 2 or len(shapes) != 2:
        got = f"{named} name" + ("" if named == 1 else "s")
        raise ShapeError(
            "sample_normal takes exactly two named layers, the means then the "
            f"log-variances, as in sample_normal(mean, log_var); got {got}"
            + (" and from=" if named == 2 else ""),
            "name both layers, e.g. mean = dense(2, from=h)  log_var = dense(2, from=h)  "
            "z = sample_normal(mean, log_var); the previous layer and from= are not read",
        )
    mean, log_var = shapes
    if mean != log_var:
        raise ShapeError(
            f"sample_normal needs mean and log_var of the same shape, got {fmt_shape(mean)} "
            f"and {fmt_shape(log_var)}",
            "give both layers the same size, e.g. dense(2) each",
        )
    return mean


def _sample_normal(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    mean, log_var = xs
    if not (P.training or a["sample_in_eval"]):
        return mean
    return mean + P.exp(log_var * 0.5) * P.normal(mean)


op(
    OpDef(
        "sample_normal",
        "A draw from N(mean, exp(log_var)) by the reparameterization trick (a variational "
        "autoencoder's latent z): mean + exp(log_var / 2) * ε, with ε ~ N(0, 1) drawn "
        "anew for every value of every sample, in training only; in evaluation and "
        "prediction it is mean itself (deterministic), unless sample_in_eval=true. Takes "
        "exactly two named layers of the same shape, sample_normal(mean, log_var) (the "
        "previous layer is not read); ε is a constant, so the gradient reaches both "
        "through the sample. Pair it with the kl_normal(mean, log_var) term.",
        (
            Param(
                "inputs",
                "ref",
                doc="exactly two named layers: the means, then the log-variances",
                variadic=True,
            ),
            Param(
                "sample_in_eval",
                "bool",
                False,
                doc="draw in evaluation and prediction too (else they give mean)",
            ),
        ),
        shape=_sample_normal_shape,
        inputs="many",
        family="generative",
        compute=_sample_normal,
        mask="follows",
    )
)
