"""Text generation from a language model: autoregressive sampling, one token at a time,
from the distribution the model gives for the position after the text so far.

Any model works that maps `context` token ids, shape (context,), to class scores at
every position, (context, vocab) (read at the last real position: the text so far is
written from the start of the window, the rest padded with id 0 — a causal model's
position t reads only tokens up to t, so the padding after it changes nothing), or to
one distribution for the next token, (vocab,) (the text so far written at the end of the
window, padded on the left). The text is cropped to its last `context` tokens; every
token costs one forward pass over the whole window, unless `step` gives the output at the
text's last position (the key/value cache of nndsl.train.kvcache, equal to that pass).
Sampling runs on the host with NumPy's seeded generator, so a seed gives the same text
on both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.heads import node_activation

SPECIAL = 2  # ids 0 (<pad>) and 1 (<unk>) are never generated


def sample_next(
    scores: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator
) -> int:
    """One token id from `scores` (vocab,), log-probabilities or logits (-inf: never):
    the likeliest at temperature 0 (or top_k 1); else drawn from softmax(scores /
    temperature) restricted to the `top_k` highest scores (0: all). One draw from `rng`
    per sampled token, whatever the scores, so a seed fixes the whole text."""
    z = np.asarray(scores, dtype=np.float64)
    if temperature == 0 or top_k == 1:
        return int(np.argmax(z))
    z = z / temperature
    if 0 < top_k < np.isfinite(z).sum():  # exactly k kept, even among equal scores
        keep = np.argpartition(-z, top_k - 1)[:top_k]
        kept = np.full_like(z, -np.inf)
        kept[keep] = z[keep]
        z = kept
    weights = np.exp(z - z.max())
    cdf = np.cumsum(weights)
    pick = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(pick, int(np.flatnonzero(weights)[-1]))  # never past the last possible one


def check_settings(tokens: Any, temperature: Any, top_k: Any) -> None:
    if isinstance(tokens, bool) or not isinstance(tokens, (int, np.integer)) or tokens < 0:
        raise NNDSLError(f"tokens must be a whole number >= 0, got {tokens!r}")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float, np.number))
        or not np.isfinite(temperature)
        or temperature < 0
    ):
        raise NNDSLError(
            f"temperature must be a number >= 0, got {temperature!r}",
            hint="0 always picks the likeliest token; 1 samples the model's distribution",
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0
    ):
        raise NNDSLError(f"top_k must be a whole number >= 0, got {top_k!r}", hint="0: no limit")


@dataclass(frozen=True)
class Layout:
    """How a language model is fed and read (see the module)."""

    context: int  # tokens per window
    per_position: bool  # scores at every position (else one distribution)
    usable: int  # output units that are vocabulary ids
    probabilities: bool  # the output is softmax probabilities (else logits)


def model_layout(graph: Any, vocab_len: int) -> Layout:
    """How to feed and read a language model's graph, or an error that says what shape
    generation needs."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise NNDSLError("generate needs a model with one input and one output")
    shape_in = tuple(graph.inputs[0].shape)
    out = graph[graph.outputs[0]]
    shape_out = tuple(out.shape)
    if len(shape_in) != 1:
        raise NNDSLError(
            f"generate needs a model taking token ids of shape (context,); this one takes "
            f"{shape_in}"
        )
    context = shape_in[0]
    if len(shape_out) == 2 and shape_out[0] == context:
        per_position = True
    elif len(shape_out) == 1:
        per_position = False
    else:
        raise NNDSLError(
            f"generate needs class scores per position, shape ({context}, vocab), or for "
            f"the next token, shape (vocab,); this model gives {shape_out}"
        )
    activation = node_activation(out).name
    if activation not in ("softmax", "linear"):
        raise NNDSLError(
            f"generate reads next-token scores: the model's output must be logits (linear) "
            f"or softmax probabilities, not {activation}"
        )
    usable = min(shape_out[-1], vocab_len)
    if usable <= SPECIAL:
        raise NNDSLError(
            f"generate needs more than {SPECIAL} next-token scores (ids 0 and 1 are <pad> and "
            f"<unk>); this model gives {shape_out[-1]} for a vocabulary of {vocab_len}"
        )
    return Layout(context, per_position, usable, activation == "softmax")


def generate_ids(
    predict: Callable[[np.ndarray], np.ndarray],
    layout: Layout,
    prompt: list[int],
    *,
    tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    each: Callable[[int], None] | None = None,
    step: Callable[[list[int]], np.ndarray] | None = None,
) -> list[int]:
    """`tokens` new ids after `prompt` (at least one id; see the module). predict:
    inputs (1, context) -> the model's output (1, context, units) or (1, units);
    `each(id)` is called with every new id as it is chosen; `step(ids so far)`, when
    given, is used instead of predict: the output (units,) at the last position."""
    check_settings(tokens, temperature, top_k)
    if not prompt:
        raise NNDSLError(
            "the prompt is empty: generation continues a text of at least one token",
            hint='e.g. a newline or the first letters of a line: --prompt "ROMEO:"',
        )
    ids = list(prompt)
    rng = np.random.default_rng(seed)
    context = layout.context
    x = np.zeros((1, context), dtype=np.float64)
    for _ in range(tokens):
        window = ids[-context:]
        x[:] = 0
        if step is not None:
            out = step(ids)
        elif layout.per_position:
            x[0, : len(window)] = window
            out = predict(x)[0, len(window) - 1]
        else:
            x[0, context - len(window) :] = window
            out = predict(x)[0]
        scores = np.array(out[: layout.usable], dtype=np.float64)  # a copy, written below
        if layout.probabilities:
            with np.errstate(divide="ignore"):  # a probability of 0: a score of -inf
                scores = np.log(scores)
        scores[:SPECIAL] = -np.inf
        ids.append(sample_next(scores, temperature, top_k or 0, rng))
        if each is not None:
            each(ids[-1])
    return ids[len(prompt) :]
