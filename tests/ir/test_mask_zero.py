"""embedding(..., mask_zero=true): id 0 is padding, followed at compile time
(nndsl.ir.masks). Keras 3 (Embedding(mask_zero=True) -> MultiHeadAttention ->
GlobalAveragePooling1D, weights copied in) is the reference for the outputs; the
compiled graph equals the one with pad_from written out; a mask meeting a layer that
mixes time steps, or another mask, is a located error."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nndsl
from tests.ir.test_ops_attention import copy_into, keras_attention

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

BACKENDS = ["numpy", "torch"]
VOCAB, T, WIDTH = 10, 6, 8
IDS = np.array(  # right and left padding, none, and a sample of padding alone
    [[3, 4, 5, 0, 0, 0], [0, 0, 7, 8, 9, 1], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]], "float32"
)


def keras_model(causal: bool):
    tokens = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(VOCAB, WIDTH, mask_zero=True)(tokens)
    layer = keras_attention(2, 4, (2, T, WIDTH))
    attended = layer(embedded, embedded, use_causal_mask=causal)
    pooled = keras.layers.GlobalAveragePooling1D()(attended)
    model = keras.Model(tokens, [attended, pooled])
    embedding = model.layers[1]
    embedding.set_weights([np.random.default_rng(2).normal(size=(VOCAB, WIDTH))])
    return model, embedding, layer


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("causal", [False, True])
def test_equals_keras_embedding_mask_zero(backend: str, causal: bool) -> None:
    reference, embedding, layer = keras_model(causal)
    flag = ", causal=true" if causal else ""
    outputs = {}
    for end in ("att", "pool"):
        source = (
            f"model m {{\n tokens = input({T})\n embedding({VOCAB}, {WIDTH}, mask_zero=true)\n"
            f" att = multi_head_attention(2, 4{flag})\n"
            + (" pool = global_avg_pool()\n" if end == "pool" else "")
            + "}"
        )
        model = nndsl.compile_string(source).build(backend=backend, seed=0)
        copy_into(model, layer, "att")
        weights = model.get_weights()
        weights["embedding_1.weight"] = embedding.get_weights()[0]
        model.set_weights(weights)
        outputs[end] = model.predict(IDS[:3])
    want_att, want_pool = (keras.ops.convert_to_numpy(v) for v in reference(IDS[:3]))
    real = IDS[:3] != 0  # Keras' padded queries attend to nothing: their rows differ
    np.testing.assert_allclose(outputs["att"][real], want_att[real], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(outputs["pool"], want_pool, atol=1e-5, rtol=1e-5)
    unmasked = keras.layers.GlobalAveragePooling1D()(want_att)  # the mask matters here
    assert not np.allclose(outputs["pool"], keras.ops.convert_to_numpy(unmasked), atol=1e-4)


LM = """
use std
model m {{
  tokens = input(6)
  embedding(10, 8{mask})
  positional_embedding(6)
  dropout(0.1)
  h = dense(8, activation=gelu)
  layer_norm()
  add(h)
  relu()
  att = multi_head_attention(2, 4{pad})
  global_avg_pool({pool})
}}
"""


def test_the_graph_is_the_one_with_pad_from_written_out() -> None:
    auto = nndsl.compile_string(LM.format(mask=", mask_zero=true", pad="", pool="")).graph
    written = nndsl.compile_string(
        LM.format(mask="", pad=", pad_from=tokens", pool="pad_from=tokens")
    ).graph
    assert [n.name for n in auto.nodes] == [n.name for n in written.nodes]
    for a, w in zip(auto.nodes, written.nodes, strict=True):
        assert a.inputs == w.inputs, a.name
        assert {**a.attrs, "mask_zero": False} == {**w.attrs, "mask_zero": False}, a.name
    users = [n.name for n in auto.nodes if n.attrs.get("pad_from") == "tokens"]
    assert users == ["att", "global_avg_pool_1"]


def test_the_mask_passes_through_the_standard_transformer_blocks() -> None:
    graph = nndsl.compile_string(
        "use std\nmodel m {\n tokens = input(6)\n embedding(10, 8, mask_zero=true)\n"
        " repeat 2 {\n  transformer_encoder(2, 4, 16, causal=true)\n }\n global_avg_pool()\n}"
    ).graph
    users = [n.name for n in graph.nodes if n.attrs.get("pad_from") == "tokens"]
    assert users == [
        "transformer_encoder_1.multi_head_attention_1",
        "transformer_encoder_2.multi_head_attention_1",
        "global_avg_pool_1",
    ]


def test_a_written_pad_from_wins() -> None:
    graph = nndsl.compile_string(
        "model m {\n tokens = input(6)\n other = input(6)\n embedding(10, 8, mask_zero=true,"
        " from=tokens)\n multi_head_attention(2, 4, pad_from=other, pad_id=3)\n}"
    ).graph
    node = graph.nodes[-1]
    assert (node.attrs["pad_from"], node.attrs["pad_id"], node.inputs[-1]) == ("other", 3, "other")


def test_cross_attention_masks_the_memory_by_its_own_tokens() -> None:
    graph = nndsl.compile_string(
        "use std\nmodel m {\n src = input(7)\n tgt = input(5)\n"
        " enc = embedding(10, 8, mask_zero=true, from=src)\n embedding(10, 8, from=tgt)\n"
        " dec = transformer_decoder(2, 4, 16, memory=enc)\n}"
    ).graph
    attention = {n.name: n for n in graph.nodes if n.op == "multi_head_attention"}
    assert attention["dec.multi_head_attention_1"].attrs["pad_from"] is None  # tgt: no mask
    assert attention["dec.multi_head_attention_2"].attrs["pad_from"] == "src"


@pytest.mark.parametrize("backend", BACKENDS)
def test_padded_steps_change_nothing_and_padding_alone_pools_to_zero(backend: str) -> None:
    source = LM.format(mask=", mask_zero=true", pad="", pool="")
    model = nndsl.compile_string(source).build(backend=backend, seed=0, dtype="float64")
    base = model.predict(IDS)
    # a padded step's embedding row (id 0) moved far: no real step sees it
    weights = model.get_weights()
    weights["embedding_1.weight"][0] = 50.0
    model.set_weights(weights)
    moved = model.predict(IDS)
    np.testing.assert_allclose(moved[:3], base[:3], rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(base[3], 0.0)


@pytest.mark.parametrize(
    "body, message, hint",
    [
        ("lstm(4, return_sequences=true)", "lstm() does not follow padding masks", "mask_zero"),
        ("conv1d(4, 3)", "conv1d() does not follow padding masks", "global_avg_pool"),
        ("flatten()", "flatten() does not follow padding masks", "layer_norm"),
    ],
)
def test_a_layer_mixing_time_steps_refuses_the_mask(body: str, message: str, hint: str) -> None:
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(
            f"model m {{\n tokens = input(6)\n embedding(10, 8, mask_zero=true)\n dense(8)\n"
            f" {body}\n}}"
        )
    assert (info.value.line, message in str(info.value)) == (5, True), info.value.render()
    assert hint in info.value.render()


def test_a_pooled_or_unmasked_branch_is_fine() -> None:
    nndsl.compile_string(
        "model m {\n tokens = input(6)\n embedding(10, 8, mask_zero=true)\n"
        " global_avg_pool()\n dense(3)\n}"
    )
    graph = nndsl.compile_string(
        "model m {\n tokens = input(6)\n embedding(10, 8)\n lstm(4)\n}"
    ).graph
    assert graph.nodes[1].attrs["mask_zero"] is False


def test_the_summary_shows_which_layers_are_masked() -> None:
    program = nndsl.compile_string(LM.format(mask=", mask_zero=true", pad="", pool=""))
    rows = [r for r in program.summary().splitlines() if "[mask: tokens]" in r]
    assert [r.split()[0] for r in rows] == ["att", "global_avg_pool_1"]
