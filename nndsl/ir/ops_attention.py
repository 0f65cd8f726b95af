"""Declarations of the attention family: multi_head_attention (self- and cross-attention,
causal and padding masks), positional_embedding (learned) and sinusoidal_position
(fixed). Imported by `nndsl.ir.ops`, whose registry they join.

Weights follow Keras' MultiHeadAttention layout and counts: `query_weight` (features,
heads, key_dim) and `query_bias` (heads, key_dim), the same for key and value (value_dim
for the value), `output_weight` (heads, value_dim, features) and `output_bias`
(features,); the output has the query's features. MultiHeadAttention(num_heads=4,
key_dim=16) on 64 features: 4 * (64 * 64 + 64) = 16,640 parameters.

Masks replace a logit by -1e9 before the softmax (which subtracts its maximum: no
overflow at logits of +-1000). A query that sees no key at all (every key it may see is
padding) attends to every key evenly, as under Keras' float32 mask.
"""

from __future__ import annotations

import math
from typing import Any

from nndsl.ir.masks import keep
from nndsl.ir.opdef import OpDef, Shape, ShapeError, WeightDef, fmt_shape, op
from nndsl.ir.signature import Param, Spec

MASKED = -1e9  # the logit of a key a query may not see


def _sequence(name: str, what: str, s: Shape) -> None:
    if len(s) != 2:
        hint = None
        if len(s) == 1:
            hint = (
                f"attention needs (timesteps, features): embedding(...) or reshape({s[0]}, 1) "
                "before it"
            )
        raise ShapeError(
            f"{name} needs {what} of shape (timesteps, features), got {fmt_shape(s)}", hint
        )


def _attention_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    name = "multi_head_attention"
    query = shapes[0]
    _sequence(name, "queries", query)
    memory = shapes[1] if a["memory"] is not None else query
    if a["memory"] is not None:
        _sequence(name, "a memory (keys and values)", memory)
    if a["pad_from"] is not None:
        tokens = shapes[-1]
        if tokens != (memory[0],):
            raise ShapeError(
                f"{name}'s pad_from must give one token id per key: the keys have "
                f"{memory[0]} steps, but pad_from has shape {fmt_shape(tokens)}",
                "name the input layer of token ids the keys come from (pad_from=tokens)",
            )
    return query


def _attention_weights(shapes: list[Shape], a: dict[str, Any]) -> list[WeightDef]:
    features = shapes[0][-1]
    memory = shapes[1][-1] if a["memory"] is not None else features
    h, kd = a["heads"], a["key_dim"]
    vd = a["value_dim"] or kd
    init, bias_init = a["init"], a["bias_init"]
    out = []
    for part, fan_in, width in (
        ("query", features, kd),
        ("key", memory, kd),
        ("value", memory, vd),
    ):
        out.append(WeightDef(f"{part}_weight", (fan_in, h, width), init, 0.0, fan_in, h * width))
        if a["use_bias"]:
            out.append(WeightDef(f"{part}_bias", (h, width), bias_init, 0.0, fan_in, h * width))
    out.append(WeightDef("output_weight", (h, vd, features), init, 0.0, h * vd, features))
    if a["use_bias"]:
        out.append(WeightDef("output_bias", (features,), bias_init, 0.0, h * vd, features))
    return out


def _heads(P: Any, x: Any, w: dict[str, Any], part: str) -> Any:
    """(batch, t, features) -> (batch, heads, t, width): the projection of one part."""
    weight = w[f"{part}_weight"]
    d, h, width = weight.shape
    y = P.matmul(x, P.reshape(weight, (d, h * width)))
    if f"{part}_bias" in w:
        y = y + P.reshape(w[f"{part}_bias"], (h * width,))
    return P.transpose(P.reshape(y, (x.shape[0], x.shape[1], h, width)), (0, 2, 1, 3))


def keep_mask(P: Any, tokens: Any, pad_id: int) -> Any:
    """(batch, s) token ids -> (batch, 1, 1, s): True where a key is not padding."""
    mask = keep(tokens, pad_id)
    return mask.reshape(mask.shape[0], 1, 1, mask.shape[1])


def project(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> tuple:
    """The queries, keys and values, (batch, heads, t or s, key_dim or value_dim)."""
    memory = xs[1] if a["memory"] is not None else xs[0]
    return _heads(P, xs[0], w, "query"), _heads(P, memory, w, "key"), _heads(P, memory, w, "value")


def combine(P: Any, o: Any, w: dict[str, Any]) -> Any:
    """(batch, heads, t, value_dim) -> (batch, t, features): the output projection."""
    weight = w["output_weight"]
    h, vd, features = weight.shape
    b, _, t, _ = o.shape
    merged = P.reshape(P.transpose(o, (0, 2, 1, 3)), (b, t, h * vd))
    y = P.matmul(merged, P.reshape(weight, (h * vd, features)))
    return y + w["output_bias"] if "output_bias" in w else y


def _attention(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    q, k, v = project(P, xs, w, a)
    logits = P.matmul(q * (1.0 / math.sqrt(q.shape[-1])), P.transpose(k, (0, 1, 3, 2)))
    if a["causal"]:
        logits = P.tril(logits, MASKED)
    if a["pad_from"] is not None:
        logits = P.where(keep_mask(P, xs[-1], a["pad_id"]), logits, MASKED)
    weights = P.softmax(logits, -1)
    rate = a["dropout"]
    if P.training and rate > 0:  # on the attention weights, as Keras
        weights = weights * (P.random(weights) >= rate) * (1.0 / (1.0 - rate))
    return combine(P, P.matmul(weights, v), w)


op(
    OpDef(
        "multi_head_attention",
        "Multi-head scaled dot-product attention over samples (timesteps, features), as "
        "Keras' MultiHeadAttention: queries from the previous layer, keys and values from "
        "`memory` (cross-attention) or from the previous layer too (self-attention); "
        "softmax(q k^T / sqrt(key_dim)) v per head, then an output projection back to the "
        "query's features. `causal` lets position t see keys 0..t only; `pad_from` names "
        "the input layer of token ids the keys come from, and keys whose id is `pad_id` "
        "are not attended to (filled in from an embedding's mask_zero above the keys).",
        (
            Param("heads", "int", doc="number of attention heads", low=1),
            Param("key_dim", "int", doc="size of each head's queries and keys", low=1),
            Param(
                "value_dim",
                "int",
                None,
                doc="size of each head's values (none: key_dim)",
                low=1,
                optional=True,
            ),
            Param(
                "dropout",
                "float",
                0.0,
                doc="dropout on the attention weights, in training",
                low=0,
                high=1,
                high_open=True,
            ),
            Param("causal", "bool", False, doc="position t attends to keys 0..t only"),
            Param("use_bias", "bool", True, doc="biases in the four projections"),
            Param(
                "memory",
                "ref",
                None,
                doc="the layer the keys and values come from (cross-attention); none: the "
                "previous layer's output (self-attention)",
                optional=True,
            ),
            Param(
                "pad_from",
                "ref",
                None,
                doc="the input layer of the keys' token ids: keys with id pad_id are masked",
                optional=True,
            ),
            Param("pad_id", "int", 0, doc="the token id of padding (with pad_from)"),
            Param("init", "initializer", Spec("glorot_uniform"), doc="initializer of the kernels"),
            Param("bias_init", "initializer", Spec("zeros"), doc="initializer of the biases"),
        ),
        shape=_attention_shape,
        weights=_attention_weights,
        family="attention",
        compute=_attention,
        mask="uses, follows",
    )
)


# ---------------------------------------------------------------- positions


def _positions_shape(name: str):
    def rule(shapes: list[Shape], a: dict[str, Any]) -> Shape:
        (s,) = shapes
        _sequence(name, "samples", s)
        if name == "positional_embedding" and s[0] > a["max_length"]:
            raise ShapeError(
                f"positional_embedding(max_length={a['max_length']}) cannot place a sequence "
                f"of {s[0]} steps",
                f"raise max_length to at least {s[0]}",
            )
        if name == "sinusoidal_position" and s[1] % 2:
            raise ShapeError(
                f"sinusoidal_position pairs a sine and a cosine per frequency, but "
                f"{fmt_shape(s)} has an odd number of features",
                "give it an even number of features",
            )
        return s

    return rule


op(
    OpDef(
        "positional_embedding",
        "Adds a learned vector per position (keras-hub's PositionEmbedding): a table "
        "`weight` (max_length, features), whose first timesteps rows are added to the "
        "sequence (timesteps, features).",
        (
            Param("max_length", "int", doc="the longest sequence it can place", low=1),
            Param(
                "init",
                "initializer",
                Spec("glorot_uniform"),
                doc="initializer of the table (keras-hub's)",
            ),
        ),
        shape=_positions_shape("positional_embedding"),
        weights=lambda shapes, a: [
            WeightDef(
                "weight",
                (a["max_length"], shapes[0][1]),
                a["init"],
                0.0,
                a["max_length"],
                shapes[0][1],
            )
        ],
        family="attention",
        compute=lambda P, xs, w, a: xs[0] + P.slice(w["weight"], 0, 0, xs[0].shape[1]),
        mask="follows",
        by_position=True,
    )
)


op(
    OpDef(
        "sinusoidal_position",
        'Adds the fixed sinusoidal encoding of "Attention is all you need" to a sequence '
        "(timesteps, features): sin(p / 10000^(2i/features)) at feature 2i of position p, "
        "the cosine at 2i + 1. Nothing is learned: the table (timesteps, features) is "
        "state, written by its initializer, never trained.",
        (),
        shape=_positions_shape("sinusoidal_position"),
        weights=lambda shapes, a: [
            WeightDef(
                "table",
                shapes[0],
                Spec("sinusoidal"),  # nndsl.ir.init writes the encoding
                trainable=False,
            )
        ],
        family="attention",
        compute=lambda P, xs, w, a: xs[0] + w["table"],
        mask="follows",
        by_position=True,
    )
)
