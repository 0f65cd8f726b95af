"""Loss terms: extra parts of the loss computed from named layers (`terms = (sparsity =
0.001 * l1(h))`), each declared once with its computation as a composition of the
primitives (nndsl.ir.primitives), so both backends differentiate it with no code of their
own: the NumPy engine records it on its tape, torch's autograd follows its torch `P`.

`compute(P, xs, a)` gets the primitive namespace, the named layers' values (batch axis
first, in the order written) and the term's other arguments; it returns a 0-d tensor,
the term's value on the batch (before its weight). Entry.extra["inputs"] is how many
layer names the term takes; "same_shape" says they must agree in shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nndsl.ir.signature import CATALOGS, Entry, Param, register


def _per_sample_sum(P: Any, x: Any) -> Any:
    """Mean over the batch of each sample's sum: the sum of everything over the batch size
    (Keras' ActivityRegularization: sum over the activations, divided by the batch)."""
    return P.sum(P.reshape(x, (-1,)), 0) / x.shape[0]


def _l1(P: Any, xs: list[Any], a: dict[str, Any]) -> Any:
    return _per_sample_sum(P, P.abs(xs[0]))


def _l2(P: Any, xs: list[Any], a: dict[str, Any]) -> Any:
    return _per_sample_sum(P, P.square(xs[0]))


def _kl_normal(P: Any, xs: list[Any], a: dict[str, Any]) -> Any:
    mean, log_var = xs
    return _per_sample_sum(P, (1 + log_var - P.square(mean) - P.exp(log_var)) * -0.5)


for _name, _doc, _params, _compute, _extra in [
    (
        "l1",
        "Activity L1: the mean over the batch of each sample's sum of |x| (Keras' "
        "ActivityRegularization(l1=...) with the weight in front): pushes a layer's "
        "activations to exact zeros.",
        (Param("x", "ref", doc="the layer whose values are penalized"),),
        _l1,
        {"inputs": 1},
    ),
    (
        "l2",
        "Activity L2: the mean over the batch of each sample's sum of x ** 2 (Keras' "
        "ActivityRegularization(l2=...)): keeps a layer's activations small.",
        (Param("x", "ref", doc="the layer whose values are penalized"),),
        _l2,
        {"inputs": 1},
    ),
    (
        "kl_normal",
        "KL divergence of N(mean, exp(log_var)) from N(0, 1), as a variational "
        "autoencoder's: the mean over the batch of -0.5 * sum(1 + log_var - mean ** 2 - "
        "exp(log_var)).",
        (
            Param("mean", "ref", doc="the layer giving the means"),
            Param("log_var", "ref", doc="the layer giving the log-variances (same shape)"),
        ),
        _kl_normal,
        {"inputs": 2, "same_shape": True},
    ),
]:
    register("term", Entry(_name, _params, _doc, {**_extra, "compute": _compute}))

TERMS: dict[str, Entry] = CATALOGS["term"]


def term_compute(fn: str) -> Callable[..., Any]:
    return TERMS[fn].extra["compute"]
