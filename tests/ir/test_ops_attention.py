"""multi_head_attention, positional_embedding and sinusoidal_position as specified:
Keras' MultiHeadAttention (weights copied in) as the reference for the outputs and the
parameter counts, the masks' promises (a causal position never sees the future, padding
is never attended to), a softmax that survives logits of +-1000, and located compile
errors. Gradients: OP_CASES in tests/backends/numpy/test_gradients.py; the torch fast
path: tests/backends/torch/test_torch_attention.py."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import nndsl

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

BACKENDS = ["numpy", "torch"]
KERAS_ORDER = ["query", "key", "value", "output"]


def keras_attention(heads: int, key_dim: int, query: tuple, memory: tuple | None = None, **kw):
    layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=key_dim, **kw)
    layer.build(query, memory or query)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(scale=0.3, size=w.shape) for w in layer.get_weights()])
    return layer


def copy_into(model, layer, node: str) -> None:
    """Keras' weights, in its order (kernel, bias per projection), under nndsl's names."""
    names = [f"{node}.{p}_{kind}" for p in KERAS_ORDER for kind in ("weight", "bias")]
    weights = model.get_weights()
    for name, value in zip(names, layer.get_weights(), strict=True):
        assert weights[name].shape == value.shape, name
        weights[name] = value
    model.set_weights(weights)


def test_parameter_count_is_keras() -> None:
    program = nndsl.compile_string("model m {\n input(10, 64)\n multi_head_attention(4, 16)\n}")
    (node,) = [n for n in program.graph.nodes if n.op == "multi_head_attention"]
    count = sum(math.prod(w.shape) for w in node.weights)
    assert count == 16_640 == keras_attention(4, 16, (2, 10, 64)).count_params()
    cross = nndsl.compile_string(
        "model m {\n q = input(7, 12)\n m = input(5, 20)\n"
        " multi_head_attention(3, 4, value_dim=6, memory=m, from=q, use_bias=false)\n}"
    )
    (node,) = [n for n in cross.graph.nodes if n.op == "multi_head_attention"]
    layer = keras_attention(3, 4, (2, 7, 12), (2, 5, 20), value_dim=6, use_bias=False)
    assert sum(math.prod(w.shape) for w in node.weights) == layer.count_params()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_equals_keras(backend: str, causal: bool) -> None:
    flag = ", causal=true" if causal else ""
    model = nndsl.compile_string(
        f"model m {{\n input(6, 8)\n att = multi_head_attention(2, 5{flag})\n}}"
    ).build(backend=backend, seed=0)
    layer = keras_attention(2, 5, (3, 6, 8))
    copy_into(model, layer, "att")
    x = np.random.default_rng(0).normal(size=(3, 6, 8)).astype("float32")
    want = keras.ops.convert_to_numpy(layer(x, x, use_causal_mask=causal))
    np.testing.assert_allclose(model.predict(x), want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_attention_equals_keras(backend: str) -> None:
    model = nndsl.compile_string(
        "model m {\n q = input(4, 6)\n mem = input(7, 3)\n"
        " att = multi_head_attention(3, 2, value_dim=4, memory=mem, from=q)\n}"
    ).build(backend=backend, seed=0)
    layer = keras_attention(3, 2, (2, 4, 6), (2, 7, 3), value_dim=4)
    copy_into(model, layer, "att")
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 4, 6)).astype("float32")
    mem = rng.normal(size=(2, 7, 3)).astype("float32")
    want = keras.ops.convert_to_numpy(layer(q, mem))
    np.testing.assert_allclose(model.predict({"q": q, "mem": mem}), want, atol=1e-5, rtol=1e-5)


CAUSAL_LM = """
model m {
  tokens = input(8)
  embedding(11, 12)
  positional_embedding(8)
  multi_head_attention(3, 4, causal=true, pad_from=tokens)
  dense(12, activation=gelu)
  multi_head_attention(2, 6, causal=true)
  dense(11)
}
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_causal_position_does_not_see_later_tokens(backend: str) -> None:
    model = nndsl.compile_string(CAUSAL_LM).build(backend=backend, seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 11, (4, 8)).astype(float)
    base = model.predict(x)
    for t in range(7):
        changed = x.copy()
        changed[:, t + 1 :] = rng.integers(0, 11, (4, 7 - t))
        out = model.predict(changed)
        np.testing.assert_array_equal(out[:, : t + 1], base[:, : t + 1])
        assert not np.allclose(out[:, t + 1 :], base[:, t + 1 :])


@pytest.mark.parametrize("backend", BACKENDS)
def test_padded_keys_are_never_attended_to(backend: str) -> None:
    model = nndsl.compile_string(
        "model m {\n q = input(3, 4)\n mem = input(6, 4)\n ids = input(6)\n"
        " multi_head_attention(2, 3, memory=mem, pad_from=ids, pad_id=5, from=q)\n}"
    ).build(backend=backend, seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    q, mem = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 6, 4))
    ids = np.array([[1, 2, 3, 5, 5, 5], [5, 1, 5, 2, 3, 4]], float)
    base = model.predict({"q": q, "mem": mem, "ids": ids})
    noisy = np.where((ids == 5)[..., None], rng.normal(size=mem.shape) * 100, mem)
    out = model.predict({"q": q, "mem": noisy, "ids": ids})
    np.testing.assert_allclose(out, base, rtol=1e-12, atol=1e-12)
    unmasked = model.predict({"q": q, "mem": noisy, "ids": ids * 0 + 1})
    assert not np.allclose(unmasked, base)


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_is_stable_at_logits_of_1000(backend: str) -> None:
    model = nndsl.compile_string(
        "model m {\n input(4, 2)\n att = multi_head_attention(1, 1, use_bias=false)\n}"
    ).build(backend=backend, seed=0)
    weights = model.get_weights()
    weights["att.query_weight"][:] = [[[1.0]], [[0.0]]]
    weights["att.key_weight"][:] = [[[1.0]], [[0.0]]]
    weights["att.value_weight"][:] = [[[0.0]], [[1.0]]]
    weights["att.output_weight"][:] = 1.0
    model.set_weights(weights)
    # q . k = +-1000 (and 0): one key wins each row outright
    x = np.array([[[31.6227766, 1.0], [-31.6227766, 2.0], [0.0, 3.0], [31.6227766, 4.0]]])
    with np.errstate(over="raise", invalid="raise"):
        out = model.predict(x.astype("float32"))
    assert np.isfinite(out).all()
    # row 0 (q = +31.6): keys 0 and 3 (logit +1000) share the weight evenly: (1 + 4) / 2
    np.testing.assert_allclose(out[0, 0, 0], 2.5, rtol=1e-5)
    np.testing.assert_allclose(out[0, 1, 0], 2.0, rtol=1e-5)  # key 1 (logit +1000)


def test_sinusoidal_position_adds_the_encoding_and_learns_nothing() -> None:
    model = nndsl.compile_string("model m {\n input(5, 6)\n sinusoidal_position()\n}").build(
        seed=0, dtype="float64"
    )
    got = model.predict(np.zeros((1, 5, 6)))[0]
    p, i = np.arange(5)[:, None], np.arange(3)[None, :]
    angle = p / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(got[:, 0::2], np.sin(angle), atol=1e-15)
    np.testing.assert_allclose(got[:, 1::2], np.cos(angle), atol=1e-15)
    node = model.graph.nodes[-1]
    assert not any(w.trainable for w in node.weights)


def test_positional_embedding_adds_the_first_rows_of_its_table() -> None:
    model = nndsl.compile_string(
        "model m {\n input(3, 2)\n pos = positional_embedding(5)\n}"
    ).build(seed=0, dtype="float64")
    table = model.get_weights()["pos.weight"]
    assert table.shape == (5, 2)
    x = np.random.default_rng(0).normal(size=(2, 3, 2))
    np.testing.assert_allclose(model.predict(x), x + table[:3])


@pytest.mark.parametrize(
    ("body", "message", "hint"),
    [
        ("input(8)\n multi_head_attention(2, 4)", "(timesteps, features)", "embedding"),
        ("input(4, 8)\n multi_head_attention(2, 0)", "key_dim", None),
        (
            "x = input(4, 8)\n m = input(3, 2, 5)\n multi_head_attention(2, 4, memory=m, from=x)",
            "memory",
            "inputs:",
        ),
        (
            "x = input(4, 8)\n ids = input(5)\n multi_head_attention(2, 4, pad_from=ids, from=x)",
            "one token id per key",
            "pad_from=tokens",
        ),
        ("input(4, 8)\n multi_head_attention(2, 4, memory=nope)", "undefined name 'nope'", None),
        ("input(9, 8)\n positional_embedding(8)", "cannot place a sequence of 9", "at least 9"),
        ("input(4, 7)\n sinusoidal_position()", "odd number of features", "even"),
    ],
)
def test_shape_mistakes_are_located_errors(body: str, message: str, hint: str | None) -> None:
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(f"model m {{\n {body}\n}}")
    err = info.value
    assert message in err.message
    assert err.line == body.count("\n") + 2
    if hint is not None:
        assert hint in (err.hint or "")


def test_memory_of_another_feature_size_is_fine() -> None:
    program = nndsl.compile_string(
        "model m {\n x = input(4, 8)\n m = input(3, 5)\n"
        " multi_head_attention(2, 4, memory=m, from=x)\n}"
    )
    assert program.graph.output.shape == (4, 8)
