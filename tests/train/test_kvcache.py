"""The key/value cache of generation (nndsl.train.kvcache): each step's output equals the
full forward pass's at that position (float64 to 1e-10, float32 to 1e-5) on both
backends, for causal transformers from the standard library with learned and sinusoidal
positions, padding masks, causal cross-attention, position-wise reshape and concat, and
past the context, where the window slides; generation with the cache writes the same
ids as without it (greedy and sampled); models that mix positions are refused with a
reason, and generate without the cache as before."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import nndsl
from nndsl.data.text import Vocabulary
from nndsl.train.generate import Layout, generate_ids
from nndsl.train.kvcache import kv_cache, why_not_cached

CONTEXT = 10
VOCAB = 17


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models on a busy machine: torch's OpenMP workers would spin against each
    other (as tests/backends/torch/conftest.py says)."""
    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    threads = torch.get_num_threads() if torch else 0
    if torch:
        torch.set_num_threads(1)
    yield
    if torch:
        torch.set_num_threads(threads)


GPT = """
use std
model lm {{
    input({context})
    embedding({vocab}, 16{mask})
    {position}
    transformer_encoder(2, 8, 32, rate=0.1, causal=true)
    transformer_encoder(2, 8, 32, causal=true)
    layer_norm()
    dense({vocab}, activation={activation})
}}
"""

LEARNED = "positional_embedding(12)"
SINUSOIDAL = "sinusoidal_position()"

# the cache's other node kinds: causal cross-attention to a memory computed position by
# position, reshape and concat off the time axis, rms_norm, multiply
OTHERS = f"""
model lm {{
    tokens = input({CONTEXT})
    embedding({VOCAB}, 16)
    x = sinusoidal_position()
    m = dense(12, activation=tanh)
    reshape({CONTEXT}, 3, 4)
    reshape({CONTEXT}, 12)
    c = concat(m, x)
    rms_norm()
    g = dense(28, activation=sigmoid)
    multiply(c, g)
    multi_head_attention(2, 4, causal=true, memory=m)
    dense({VOCAB})
}}
"""


def gpt(position: str = LEARNED, activation: str = "linear", mask: bool = False) -> str:
    return GPT.format(
        context=CONTEXT,
        vocab=VOCAB,
        position=position,
        activation=activation,
        mask=", mask_zero=true" if mask else "",
    )


def build(source: str, backend: str, dtype: str = "float64"):
    if backend == "torch":
        pytest.importorskip("torch")
    model = nndsl.compile_string(source).build(backend=backend, seed=3, dtype=dtype)
    # random weights of some size, biases too: the outputs differ from step to step
    rng = np.random.default_rng(5)
    model.set_weights({k: rng.normal(0, 0.5, v.shape) for k, v in model.get_weights().items()})
    return model


def full_output(model, ids: list[int]) -> np.ndarray:
    """What the uncached path reads: the window's last position, the window padded."""
    window = ids[-CONTEXT:]
    x = np.zeros((1, CONTEXT))
    x[0, : len(window)] = window
    return model.predict(x)[0, len(window) - 1]


TEXT = [int(i) for i in np.random.default_rng(0).integers(2, VOCAB, size=2 * CONTEXT + 3)]


def worst_step_error(model) -> float:
    """The largest difference between the cached and the full output, for a prompt of 3
    tokens growing one token at a time past the context (the window slides)."""
    cache = kv_cache(model.engine)
    assert not isinstance(cache, str), cache
    return max(
        float(np.abs(cache(TEXT[:t]) - full_output(model, TEXT[:t])).max())
        for t in range(3, len(TEXT) + 1)
    )


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize(
    "source",
    [gpt(LEARNED), gpt(SINUSOIDAL, "softmax"), gpt(LEARNED, mask=True), OTHERS],
    ids=["learned", "sinusoidal-softmax", "mask_zero", "cross-reshape-concat"],
)
def test_each_step_equals_the_full_pass_at_its_position(source, backend, dtype, tol) -> None:
    assert worst_step_error(build(source, backend, dtype)) < tol


def test_the_full_pass_runs_only_once_the_window_slides(monkeypatch) -> None:
    """Within the context every output comes from the cached steps; past it, from the
    engine's full pass over the cropped window (every position moved)."""
    model = build(gpt(), "numpy")
    calls = []
    full = model.engine.predict
    monkeypatch.setattr(model.engine, "predict", lambda x, b: calls.append(x) or full(x, b))
    cache = kv_cache(model.engine)
    for t in range(3, CONTEXT + 1):
        cache(TEXT[:t])
    assert calls == []
    cache(TEXT[: CONTEXT + 2])
    np.testing.assert_array_equal(calls[0], [TEXT[2 : CONTEXT + 2]])


def test_a_new_prompt_starts_the_cache_again() -> None:
    model = build(gpt(), "numpy")
    cache = kv_cache(model.engine)
    cache(TEXT[:6])
    other = [5, 4, 3, 2]
    np.testing.assert_allclose(cache(other), full_output(model, other), atol=1e-12)


def generate_both(model, **settings) -> tuple[list[int], list[int]]:
    layout = Layout(CONTEXT, True, VOCAB, model.engine.out_act.name == "softmax")
    cache = kv_cache(model.engine)
    assert not isinstance(cache, str), cache
    args = dict(tokens=2 * CONTEXT, seed=7, **settings)
    predict = lambda x: model.engine.predict(x, 1)  # noqa: E731
    plain = generate_ids(predict, layout, TEXT[:4], **args)
    cached = generate_ids(predict, layout, TEXT[:4], step=cache, **args)
    return plain, cached


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("position", [LEARNED, SINUSOIDAL])
@pytest.mark.parametrize(
    "settings", [{"temperature": 0}, {"temperature": 1.3, "top_k": 5}], ids=["greedy", "sampled"]
)
def test_cached_generation_writes_the_same_ids(backend, position, settings) -> None:
    plain, cached = generate_both(build(gpt(position), backend, "float32"), **settings)
    assert cached == plain
    if settings["temperature"]:  # (a random model's greedy text soon repeats one id)
        assert len(set(plain)) > 2  # a text, not one id repeated


LSTM = f"""
model lm {{
    input({CONTEXT})
    embedding({VOCAB}, 8)
    lstm(8, return_sequences=true)
    dense({VOCAB})
}}
"""

BIDIRECTIONAL = gpt().replace(", causal=true)", ")", 1)

NEXT_TOKEN = f"""
model lm {{
    input({CONTEXT})
    embedding({VOCAB}, 8)
    flatten()
    dense({VOCAB}, activation=softmax)
}}
"""


@pytest.mark.parametrize(
    "source, reason",
    [
        (LSTM, "lstm 'lstm_1' mixes positions"),
        (
            BIDIRECTIONAL,
            "multi_head_attention 'transformer_encoder_1.multi_head_attention_1' is not causal",
        ),
        (NEXT_TOKEN, "scores at every position"),
    ],
    ids=["lstm", "non-causal", "next-token"],
)
def test_models_that_mix_positions_have_no_cache(source, reason) -> None:
    graph = nndsl.compile_string(source).graph
    assert reason in why_not_cached(graph)
    assert why_not_cached(nndsl.compile_string(gpt()).graph) is None


@pytest.mark.parametrize("source", [gpt(SINUSOIDAL, "softmax"), LSTM, BIDIRECTIONAL])
def test_model_generate_is_the_same_with_and_without_the_cache(source) -> None:
    """A cached model writes what it wrote without the cache; a model without one falls
    back to the full windows (the same text too)."""
    model = build(source, "numpy", "float32")
    model.vocab = Vocabulary.fit(list("abcdefghijklmno"), "char")
    settings = dict(temperature=0.9, top_k=6, seed=2)
    text = model.generate("abc", 2 * CONTEXT, **settings)
    assert model.generate("abc", 2 * CONTEXT, cache=False, **settings) == text
    assert len(text) == 2 * CONTEXT
