"""The standard library's transformer blocks (nndsl/stdlib/transformer.nn): each compiles
to the graph of its layers written inline, and a tiny encoder-decoder trains to the same
history on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl

BLOCKS = """
use std
model m {
    tokens = input(6)
    embedding(10, 8)
    positional_embedding(6)
    enc = transformer_encoder(2, 4, 16, rate=0.1)
    embedding(10, 8, from=tokens)
    transformer_decoder(2, 4, 12, memory=enc)
    flatten()
    dense(3)
}
train m { loss = mse  optimizer = adam(lr=0.01)  batch_size = 4 }
"""

INLINE = """
model m {
    tokens = input(6)
    embedding(10, 8)
    x = positional_embedding(6)
    layer_norm()
    multi_head_attention(2, 4)
    dropout(0.1)
    h = add(x)
    layer_norm()
    dense(16, activation=gelu)
    dense(8)
    dropout(0.1)
    enc = add(h)
    y = embedding(10, 8, from=tokens)
    layer_norm()
    multi_head_attention(2, 4, causal=true)
    dropout(0.0)
    h2 = add(y)
    layer_norm()
    multi_head_attention(2, 4, memory=enc)
    dropout(0.0)
    c = add(h2)
    layer_norm()
    dense(12, activation=gelu)
    dense(8)
    dropout(0.0)
    add(c)
    flatten()
    dense(3)
}
train m { loss = mse  optimizer = adam(lr=0.01)  batch_size = 4 }
"""


def _structure(graph):
    """Each node as (op, positions of its inputs, shape, attributes), layer references
    among the attributes (memory=) as positions too: the graph less names."""
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    return [
        (
            n.op,
            [index[i] for i in n.inputs],
            n.shape,
            {k: index.get(v, v) if isinstance(v, str) else v for k, v in n.attrs.items()},
        )
        for n in graph.nodes
    ]


def test_the_blocks_are_their_layers_written_inline() -> None:
    block, inline = nndsl.compile_string(BLOCKS).graph, nndsl.compile_string(INLINE).graph
    assert _structure(block) == _structure(inline)
    assert block.param_count == inline.param_count
    names = [n.name for n in block.nodes]
    assert "enc.multi_head_attention_1" in names
    assert "transformer_decoder_1.multi_head_attention_2" in names


def test_the_decoder_is_causal_and_reads_its_memory() -> None:
    graph = nndsl.compile_string(BLOCKS).graph
    self_att = graph["transformer_decoder_1.multi_head_attention_1"]
    cross = graph["transformer_decoder_1.multi_head_attention_2"]
    assert self_att.attrs["causal"] and not cross.attrs["causal"]
    assert cross.inputs[1] == "enc.add_1" == cross.attrs["memory"]


@pytest.mark.parametrize("source", [BLOCKS, INLINE], ids=["blocks", "inline"])
def test_a_tiny_transformer_trains_alike_on_both_backends(source: str) -> None:
    program = nndsl.compile_string(source.replace("rate=0.1", "rate=0.0").replace("0.1)", "0.0)"))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (16, 6)).astype(float)
    y = rng.normal(size=(16, 3))
    histories = []
    for backend in ("numpy", "torch"):
        model = program.build(backend=backend, seed=0, dtype="float64")
        histories.append(model.fit(x, y, epochs=4, verbose=0))
    losses_a, losses_b = (np.asarray(h.history["loss"]) for h in histories)
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-9)
    assert losses_a[-1] < losses_a[0]
