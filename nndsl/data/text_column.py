"""A CSV column of short texts as a model's input: `csv("reviews.csv", target="sentiment",
text="review", tokenizer=word, length=16)`.

Each text becomes `length` token ids, shape (length,): its first `length` tokens, then
<pad> (id 0) to the end, so `embedding(..., mask_zero=true)` masks the padding. The
vocabulary is fitted on the training split only (after the split, so validation and
test texts are read as a model in use would read new ones: a word it never saw is
<unk>, id 1, counted in a warning) and saved with the model, which encodes new texts
for `predict` with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.data.text import PAD_ID, Vocabulary, split_tokens, unknown_note


def encode_texts(texts: list[str], vocab: Vocabulary, length: int) -> tuple[np.ndarray, Counter]:
    """(ids (n, length) float64, padded with <pad> after each text and cut at `length`;
    the tokens read as <unk>, counted)."""
    ids = np.full((len(texts), length), float(PAD_ID))
    unknown: Counter = Counter()
    for row, text in enumerate(texts):
        tokens = split_tokens(text, vocab.tokenizer)[:length]
        encoded, missing = vocab.encode(tokens)
        ids[row, : len(encoded)] = encoded
        unknown.update(missing)
    return ids, unknown


def tokenize_splits(
    splits: tuple[Dataset, Dataset | None, Dataset | None],
    *,
    shown: str,
    tokenizer: str,
    length: int,
    vocab_size: int | None,
) -> tuple[tuple[Dataset, Dataset | None, Dataset | None], Vocabulary, str | None]:
    """The (train, validation, test) splits of a text column with their texts as token
    ids; the vocabulary of the training split's texts; the warning about tokens outside
    it, if any."""
    train = splits[0]
    tokens = [t for text in train.texts or [] for t in split_tokens(text, tokenizer)]
    vocab = Vocabulary.fit(tokens, tokenizer, vocab_size)
    out, unknown, sizes = [], {}, {}
    for name, part in zip(("train", "validation", "test"), splits):
        if part is None:
            out.append(None)
            continue
        ids, missing = encode_texts(part.texts or [], vocab, length)
        if missing and name != "train":  # training's own tokens are in: only a cut drops some
            unknown[name] = missing
            sizes[name] = sum(len(split_tokens(t, tokenizer)[:length]) for t in part.texts or [])
        out.append(replace(part, x=ids))
    note = unknown_note(shown, unknown, sizes)
    return (out[0], out[1], out[2]), vocab, note
