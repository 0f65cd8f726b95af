"""Declarations of the normalization family: batch_norm (over the batch and every
position, per channel: the last axis, as Keras' default) and layer_norm (over the last
axis of each sample). Imported by `nndsl.ir.ops`, whose registry they join."""

from __future__ import annotations

from typing import Any

from nndsl.ir.opdef import OpDef, Shape, ShapeError, WeightDef, fmt_shape, op
from nndsl.ir.signature import Param, Spec

_EPSILON = Param(
    "epsilon", "float", 1e-5, doc="added to the variance before the square root", low=0
)


def _features(name: str):
    def rule(shapes: list[Shape], a: dict[str, Any]) -> Shape:
        (s,) = shapes
        if not s:
            raise ShapeError(
                f"{name} needs samples with at least one dimension, got {fmt_shape(s)}"
            )
        return s

    return rule


def _affine(channels: int) -> list[WeightDef]:
    return [
        WeightDef("weight", (channels,), Spec("ones"), fan_in=channels, fan_out=channels),
        WeightDef("bias", (channels,), Spec("zeros"), fan_in=channels, fan_out=channels),
    ]


def _batch_norm_weights(shapes: list[Shape], a: dict[str, Any]) -> list[WeightDef]:
    c = shapes[0][-1]
    return _affine(c) + [
        WeightDef("running_mean", (c,), Spec("zeros"), trainable=False),
        WeightDef("running_var", (c,), Spec("ones"), trainable=False),
    ]


def _batch_norm(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    x, eps = xs[0], a["epsilon"]
    if not P.training:
        return (x - w["running_mean"]) * P.rsqrt(w["running_var"] + eps) * w["weight"] + w["bias"]
    rows = P.reshape(x, (-1, x.shape[-1]))  # every position of every sample, per channel
    m = rows.shape[0]
    mean = P.mean(rows, 0)
    centred = rows - mean
    var = P.mean(P.square(centred), 0)
    y = P.reshape(centred * P.rsqrt(var + eps) * w["weight"] + w["bias"], x.shape)
    unbiased = var * (m / (m - 1)) if m > 1 else var  # one row: its zero variance
    keep, moved = 1.0 - a["momentum"], a["momentum"]
    return y, {
        "running_mean": w["running_mean"] * keep + moved * mean,
        "running_var": w["running_var"] * keep + moved * unbiased,
    }


op(
    OpDef(
        "batch_norm",
        "Batch normalization, per channel (the last axis). In training: "
        "y = weight * (x - mean) / sqrt(var + epsilon) + bias, with the mean and (biased) "
        "variance of the batch over every axis but the last; the running statistics move "
        "as in torch: running = (1 - momentum) * running + momentum * batch statistic "
        "(the unbiased variance). In evaluation the running statistics are used. They are "
        "state, not parameters: saved with the weights, never changed by an optimizer "
        "(Keras counts them as non-trainable parameters).",
        (
            Param(
                "momentum",
                "float",
                0.1,
                doc="weight of each new batch in the running statistics (torch's convention; "
                "Keras' momentum is 1 minus this)",
                low=0,
                high=1,
            ),
            _EPSILON,
        ),
        shape=_features("batch_norm"),
        weights=_batch_norm_weights,
        family="normalization",
        compute=_batch_norm,
    )
)


def _layer_norm(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    x = xs[0]
    centred = x - P.mean(x, -1, True)
    var = P.mean(P.square(centred), -1, True)
    return centred * P.rsqrt(var + a["epsilon"]) * w["weight"] + w["bias"]


op(
    OpDef(
        "layer_norm",
        "Layer normalization over the last axis of each sample: "
        "y = weight * (x - mean) / sqrt(var + epsilon) + bias, mean and (biased) variance "
        "of that sample's last axis; the same in training and evaluation.",
        (_EPSILON,),
        shape=_features("layer_norm"),
        weights=lambda shapes, a: _affine(shapes[0][-1]),
        family="normalization",
        compute=_layer_norm,
        mask="follows",
    )
)


def _rms_norm(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    x = xs[0]
    return x * P.rsqrt(P.mean(P.square(x), -1, True) + a["epsilon"]) * w["weight"]


op(
    OpDef(
        "rms_norm",
        "Root-mean-square normalization over the last axis of each sample (no centring): "
        "y = weight * x / sqrt(mean(x**2) + epsilon), as torch's nn.RMSNorm and Keras' "
        "RMSNormalization.",
        (Param("epsilon", "float", 1e-6, doc="added to the mean square before the root", low=0),),
        shape=_features("rms_norm"),
        weights=lambda shapes, a: [
            WeightDef(
                "weight",
                (shapes[0][-1],),
                Spec("ones"),
                fan_in=shapes[0][-1],
                fan_out=shapes[0][-1],
            )
        ],
        family="normalization",
        compute=_rms_norm,
        mask="follows",
    )
)
