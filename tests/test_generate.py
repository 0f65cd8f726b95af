"""Generation (nndsl.train.generate, Model.generate): the sampler against distributions
it is given (greedy, top-k, temperature), the feeding of windows against a fake model
that records them, and a small causal character model trained on a text written here:
deterministic for a seed, the same text on both backends, greedy equal to an argmax
read by hand, and clear errors for prompts it cannot read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.errors import NNDSLError
from nndsl.train.generate import Layout, generate_ids, sample_next

# ------------------------------------------------------------------ the sampler


def test_temperature_zero_and_top_k_one_pick_the_likeliest() -> None:
    scores = np.log([0.1, 0.2, 0.4, 0.3])
    rng = np.random.default_rng(0)
    assert {sample_next(scores, 0, 0, rng) for _ in range(20)} == {2}
    assert {sample_next(scores, 1.0, 1, rng) for _ in range(20)} == {2}


def test_top_k_never_draws_outside_the_k_likeliest() -> None:
    probs = np.array([0.05, 0.3, 0.02, 0.25, 0.08, 0.2, 0.1])
    rng = np.random.default_rng(1)
    for k, allowed in [(2, {1, 3}), (3, {1, 3, 5}), (5, {1, 3, 4, 5, 6})]:
        drawn = {sample_next(np.log(probs), 1.5, k, rng) for _ in range(3000)}
        assert drawn == allowed  # every one of the k, and no other


def test_top_k_keeps_exactly_k_among_equal_scores() -> None:
    rng = np.random.default_rng(2)
    drawn = {sample_next(np.zeros(6), 1.0, 3, rng) for _ in range(2000)}
    assert len(drawn) == 3


def test_samples_follow_the_tempered_distribution() -> None:
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    rng = np.random.default_rng(3)
    n = 40_000
    for temperature in (1.0, 0.5, 2.0):
        want = probs ** (1 / temperature)
        want /= want.sum()
        counts = np.bincount([sample_next(np.log(probs), temperature, 0, rng) for _ in range(n)])
        np.testing.assert_allclose(counts / n, want, atol=0.01)


def test_impossible_tokens_are_never_drawn() -> None:
    scores = np.array([-np.inf, -np.inf, 0.0, -np.inf, 1.0])
    rng = np.random.default_rng(4)
    assert {sample_next(scores, 5.0, 0, rng) for _ in range(2000)} == {2, 4}


# ------------------------------------------------------------------ feeding the model


class Recorder:
    """A fake per-position model: records its inputs, scores fixed by `table`
    (next-id probabilities) at every position."""

    def __init__(self, table: np.ndarray, context: int) -> None:
        self.table, self.context, self.inputs = table, context, []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.inputs.append(x.copy())
        return np.broadcast_to(self.table, (1, self.context, len(self.table)))


def test_windows_grow_from_the_start_then_slide_and_the_limit_is_kept() -> None:
    table = np.array([0.0, 0.0, 0.0, 0.0, 1.0])  # always id 4
    fake = Recorder(table, 4)
    new = generate_ids(fake, Layout(4, True, 5, True), [2, 3], tokens=5)
    assert new == [4] * 5 and len(fake.inputs) == 5  # one forward pass per token
    windows = [list(x[0].astype(int)) for x in fake.inputs]
    assert windows == [[2, 3, 0, 0], [2, 3, 4, 0], [2, 3, 4, 4], [3, 4, 4, 4], [4, 4, 4, 4]]
    assert generate_ids(fake, Layout(4, True, 5, True), [2], tokens=0) == []


def test_next_token_models_are_fed_windows_padded_on_the_left() -> None:
    inputs = []

    def fake(x):
        inputs.append(x[0].astype(int).tolist())
        return np.array([[0.0, 0.0, 0.5, 0.5]])

    generate_ids(fake, Layout(3, False, 4, True), [3], tokens=3, seed=5)
    assert inputs[0] == [0, 0, 3] and inputs[1][:2] == [0, 3] and 0 not in inputs[2]


def test_pad_unk_and_units_beyond_the_vocabulary_are_never_generated() -> None:
    table = np.array([0.4, 0.4, 0.05, 0.05, 0.1])  # <pad> and <unk> likeliest; unit 4 unused
    new = generate_ids(Recorder(table, 3), Layout(3, True, 4, True), [2], tokens=300, seed=6)
    assert set(new) == {2, 3}


def test_logits_and_probabilities_give_the_same_text() -> None:
    logits = np.array([0.3, -1.0, 0.5, 2.0, 1.0, -0.5])
    probs = np.exp(logits) / np.exp(logits).sum()
    settings = {"tokens": 50, "temperature": 0.7, "top_k": 3, "seed": 7}
    a = generate_ids(Recorder(logits, 2), Layout(2, True, 6, False), [2], **settings)
    b = generate_ids(Recorder(probs, 2), Layout(2, True, 6, True), [2], **settings)
    assert a == b and len(set(a)) == 3


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"tokens": -1}, "tokens must be a whole number"),
        ({"tokens": 2.5}, "tokens must be a whole number"),
        ({"temperature": -0.1}, "temperature must be a number >= 0"),
        ({"temperature": float("nan")}, "temperature must be a number >= 0"),
        ({"top_k": -3}, "top_k must be a whole number"),
    ],
)
def test_bad_settings_are_refused(settings, message) -> None:
    args = {"tokens": 3, **settings}
    with pytest.raises(NNDSLError, match=message):
        generate_ids(Recorder(np.ones(4), 2), Layout(2, True, 4, True), [2], **args)


def test_an_empty_prompt_is_refused() -> None:
    with pytest.raises(NNDSLError, match="the prompt is empty"):
        generate_ids(Recorder(np.ones(4), 2), Layout(2, True, 4, True), [], tokens=3)


# ------------------------------------------------------------------ a trained model

TEXT = "the cat sat on the mat. the dog sat on the log. " * 30

SOURCE = """
use std

model lm {
    tokens = input(8)
    embedding(24, 16)
    positional_embedding(8)
    transformer_encoder(2, 8, 32, causal=true)
    layer_norm()
    dense(24, activation=softmax)
}

train lm {
    data       = text("story.txt", tokenizer=char, context=8)
    validation = 0.1
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.02)
    batch_size = 16
    epochs     = 3
    metrics    = [accuracy]
    seed       = 0
}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[nndsl.Program, object, Path]:
    folder = tmp_path_factory.mktemp("lm")
    (folder / "story.txt").write_text(TEXT, encoding="utf-8")
    (folder / "lm.nn").write_text(SOURCE, encoding="utf-8")
    program = nndsl.compile_file(folder / "lm.nn")
    model = program.build()
    model.fit(verbose=0)
    model.save(folder / "w.npz")
    return program, model, folder


def test_the_vocabulary_is_the_training_text_and_travels_with_the_weights(trained) -> None:
    _, model, folder = trained
    assert model.vocab.tokens == ["<pad>", "<unk>", *sorted(set(TEXT))]
    loaded = nndsl.load(folder / "w.npz")
    assert loaded.vocab.tokens == model.vocab.tokens
    assert loaded.generate("the ", 30, seed=1) == model.generate("the ", 30, seed=1)


def test_a_text_model_reports_its_loss_in_bits_per_token(trained) -> None:
    _, model, _ = trained
    result = model.evaluate()
    assert result["bits_per_token"] == pytest.approx(result["loss"] / np.log(2), rel=1e-12)
    assert result["bits_per_token"] < 2.5  # the text repeats: learned in 3 epochs


def test_one_seed_one_text_and_the_token_limit_kept(trained) -> None:
    _, model, _ = trained
    a = model.generate("the ", 40, temperature=1.0, seed=3)
    assert a == model.generate("the ", 40, temperature=1.0, seed=3)
    assert a != model.generate("the ", 40, temperature=1.0, seed=4)
    assert len(a) == 40 and model.generate("the ", 0) == ""
    ids = model.generate("the ", 40, temperature=1.0, seed=3, ids=True)
    assert model.vocab.decode(ids) == a and all(2 <= i < len(model.vocab) for i in ids)


def test_greedy_is_the_argmax_at_each_step_whatever_follows_it(trained) -> None:
    # by hand: the prefix at the start of the window, random tokens after it (a causal
    # model's position t cannot see them), the likeliest id at the prefix's last position
    _, model, _ = trained
    vocab, rng = model.vocab, np.random.default_rng(0)
    ids = [vocab.index[c] for c in "the c"]
    for _ in range(12):
        window = ids[-8:]
        x = rng.integers(2, len(vocab), size=(1, 8))
        x[0, : len(window)] = window
        probs = model.predict(x)[0, len(window) - 1]
        probs[:2] = 0
        ids.append(int(np.argmax(probs)))
    assert model.generate("the c", 12, temperature=0) == vocab.decode(ids[5:])


def test_top_k_and_temperature_reach_the_model(trained) -> None:
    _, model, _ = trained
    wild = model.generate("the ", 200, temperature=5.0, seed=0)
    tame = model.generate("the ", 200, temperature=5.0, top_k=2, seed=0)
    assert len(set(wild)) > len(set(tame))


def test_the_same_text_on_the_torch_backend(trained) -> None:
    pytest.importorskip("torch")
    _, model, folder = trained
    on_torch = nndsl.load(folder / "w.npz", backend="torch")
    for settings in [{"temperature": 0}, {"temperature": 0.8, "top_k": 5, "seed": 2}]:
        assert on_torch.generate("the ", 60, **settings) == model.generate("the ", 60, **settings)


def test_a_prompt_outside_the_vocabulary_is_named(trained) -> None:
    _, model, _ = trained
    with pytest.raises(NNDSLError, match=r"lacks: 'Z', '€'") as e:
        model.generate("the Zoo€", 5)
    assert "tokens" in e.value.hint
    with pytest.raises(NNDSLError, match="the prompt is empty"):
        model.generate("", 5)


def test_an_untrained_model_fits_its_vocabulary_from_the_file(trained) -> None:
    program, model, _ = trained
    fresh = program.build()
    assert fresh.vocab is None
    assert len(fresh.generate("the ", 5)) == 5
    assert fresh.vocab.tokens == model.vocab.tokens


def test_a_model_without_text_data_cannot_generate() -> None:
    program = nndsl.compile_string(
        "model m { input(4)  dense(3) }\ntrain m { loss = mse  optimizer = sgd(lr=0.1) }"
    )
    with pytest.raises(NNDSLError, match="has no vocabulary"):
        program.build().generate("hi")


def test_a_vocabulary_larger_than_the_model_is_refused_before_training(tmp_path) -> None:
    (tmp_path / "story.txt").write_text(TEXT, encoding="utf-8")
    small = SOURCE.replace("embedding(24, 16)", "embedding(10, 16)")
    program = nndsl.compile_string(small, str(tmp_path / "lm.nn"))
    with pytest.raises(NNDSLError, match="has 16 tokens .*embedding .* takes ids below 10"):
        program.build().fit(verbose=0)
    narrow = SOURCE.replace("dense(24, activation=softmax)", "dense(12, activation=softmax)")
    program = nndsl.compile_string(narrow, str(tmp_path / "lm.nn"))
    with pytest.raises(NNDSLError, match="output .* scores 12"):
        program.build().fit(verbose=0)


def test_tokens_unseen_in_training_are_a_warning(tmp_path) -> None:
    (tmp_path / "story.txt").write_text(TEXT + "QQQQ the end.", encoding="utf-8")
    program = nndsl.compile_string(
        SOURCE.replace("epochs     = 3", "epochs     = 1"), str(tmp_path / "lm.nn")
    )
    model = program.build()
    with pytest.warns(nndsl.NNDSLWarning, match=r"4 of the \d+ validation tokens \('Q'\)"):
        model.fit()
    assert any("<unk>" in str(w) for w in model.warnings)
