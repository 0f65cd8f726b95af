"""Padding masks, followed at compile time.

`embedding(..., mask_zero=true)` says that token id 0 is padding (Keras' mask_zero). In
Keras the mask travels with the tensor at run time; nndsl's graph is static, so the
compiler follows it instead, from the embedding down through the layers that work step
by step (output step t from input step t alone: dense, layer_norm, dropout, the
activations, add, the positional embeddings, attention's queries), and fills in the
`pad_from` of the layers that use one (multi_head_attention's keys, global_avg_pool's
mean) with the embedding's token ids, exactly as writing `pad_from=tokens, pad_id=0`
would; a `pad_from` written in the file wins. A mask reaching a layer that mixes or
drops time steps (a convolution, a recurrence, flatten, pooling) is a located error
rather than a silent difference from Keras, whose LSTM and pooling would follow it.

What each op does with a mask is its declaration's `mask` fact (nndsl.ir.opdef.OpDef).
The loss is not masked: a sequence output's padded steps count in it (Keras leaves
them out).
"""

from __future__ import annotations

from typing import Any

from nndsl.ir.opdef import OPS


class MaskError(Exception):
    """A mask the compiler cannot follow; the compiler locates it at the layer."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def keep(tokens: Any, pad_id: int) -> Any:
    """(batch, s) token ids -> (batch, s), True where a step is not padding (a constant:
    comparisons are not differentiated). Ids are whole numbers held as floats."""
    return (tokens > pad_id + 0.5) | (tokens < pad_id - 0.5)


def follow(
    op: str, attrs: dict[str, Any], inputs: list[str], masks: dict[str, str]
) -> tuple[str | None, str | None]:
    """The mask of a node's output and the `pad_from` to fill in (or None each), from its
    op's declaration, its attributes and inputs, and `masks` ({node: the token ids node
    its steps are masked by}) of the nodes above it."""
    kind = OPS[op].mask
    if kind == "starts":
        return (inputs[0] if attrs.get("mask_zero") else None), None
    carried = list(dict.fromkeys(masks[i] for i in inputs if i in masks))
    if not carried:
        return None, None
    if not kind:
        raise MaskError(
            f"{op}() does not follow padding masks, but the mask of '{carried[0]}' "
            "(an embedding's mask_zero=true) reaches it",
            "a mask passes through layers that work step by step ("
            + ", ".join(followers())
            + ", the activations) to multi_head_attention and global_avg_pool; remove "
            "mask_zero=true, or end the mask before this layer in global_avg_pool",
        )
    fill = None
    if "uses" in kind and attrs.get("pad_from") is None:
        fill = masks.get(inputs[-1])  # attention's memory (or its queries), the pool's input
    if "follows" not in kind:
        return None, fill
    if "uses" in kind:  # one output per query: the queries' mask
        return masks.get(inputs[0]), fill
    if len(carried) > 1:
        raise MaskError(
            f"{op}() joins two padding masks, of '{carried[0]}' and of '{carried[1]}'",
            "a layer's steps are masked by one input's token ids: keep mask_zero=true on "
            "one of the embeddings",
        )
    return carried[0], fill


def followers() -> list[str]:
    """The ops (activations aside) a mask passes through."""
    return [n for n, o in OPS.items() if "follows" in o.mask and o.family != "activation"]
