"""text(path, tokenizer, context, stride, targets, vocab_size): tokenizers, a vocabulary
fitted on the training split only, splits by position, windows against a hand-made
reference, unknown tokens, and hostile files refused with the file (and line) named."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nndsl.data.text import PAD_ID, UNK_ID, Vocabulary, read_text, split_tokens, text_splits
from nndsl.errors import NNDSLError


def _splits(path: Path, **args):
    return text_splits(str(path), path.name, **args)


# ------------------------------------------------------------------ tokenizers


def test_char_tokens_are_every_character_line_ends_included() -> None:
    assert split_tokens("ab c\né!", "char") == ["a", "b", " ", "c", "\n", "é", "!"]


def test_word_tokens_are_words_and_each_punctuation_mark() -> None:
    text = "Speak, speak.\nWe know't,  we_2 know't!"
    assert split_tokens(text, "word") == [
        *("Speak", ",", "speak", "."),
        *("We", "know", "'", "t", ","),
        *("we_2", "know", "'", "t", "!"),
    ]


def test_unknown_tokenizer_is_refused() -> None:
    with pytest.raises(NNDSLError, match="unknown tokenizer 'bpe'"):
        split_tokens("x", "bpe")


# ------------------------------------------------------------------ vocabulary


def test_vocabulary_holds_pad_unk_then_the_sorted_tokens() -> None:
    vocab = Vocabulary.fit(list("banana"), "char")
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "n"]
    ids, unknown = vocab.encode(list("cab"))
    np.testing.assert_array_equal(ids, [UNK_ID, 2, 3])
    assert unknown == Counter({"c": 1}) and ids.dtype == np.int64
    assert vocab.decode([3, 2, 4, PAD_ID, 2]) == "bana"  # <pad> dropped


def test_vocab_size_keeps_the_most_frequent_tokens() -> None:
    vocab = Vocabulary.fit(list("aaabbbbcd"), "char", size=4)  # 2 places beside pad and unk
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b"]
    tie = Vocabulary.fit(list("xyzz"), "char", size=4)  # x and y tie: the first in order
    assert tie.tokens == ["<pad>", "<unk>", "x", "z"]


def test_words_decode_with_punctuation_attached() -> None:
    vocab = Vocabulary.fit(split_tokens("Speak , speak .", "word"), "word")
    ids, _ = vocab.encode(split_tokens("Speak, speak.", "word"))
    assert vocab.decode(ids) == "Speak, speak."


def test_vocabulary_round_trips_and_a_damaged_one_is_refused() -> None:
    vocab = Vocabulary.fit(list("hello"), "char")
    assert Vocabulary.from_dict(vocab.to_dict()).tokens == vocab.tokens
    for bad in [
        None,
        {"tokenizer": "char", "tokens": ["a", "b"]},  # no <pad>, <unk>
        {"tokenizer": "bpe", "tokens": ["<pad>", "<unk>"]},
        {"tokenizer": "char", "tokens": ["<pad>", "<unk>", "a", "a"]},
        {"tokenizer": "char", "tokens": ["<pad>", "<unk>", 3]},
    ]:
        with pytest.raises(NNDSLError, match="damaged"):
            Vocabulary.from_dict(bad)


# ------------------------------------------------------------------ splits and windows


def test_splits_by_position_and_vocabulary_of_the_training_split_only(write) -> None:
    # 20 characters: train the first 13, validation the next 4, test the last 3
    path = write("t.txt", "abcabcabcabca" + "cxyc" + "zcc")
    parts = _splits(path, context=2, validation=0.2, test=0.15)
    assert parts.vocab.tokens == ["<pad>", "<unk>", "a", "b", "c"]  # x, y, z never seen
    a, b, c, unk = 2, 3, 4, UNK_ID
    # validation: ids of "cxyc" read window after window: one window of 2 and its next
    np.testing.assert_array_equal(parts.validation.x, [[c, unk]])
    np.testing.assert_array_equal(parts.validation.y, [[unk, unk]])
    assert len(parts.train) == 6  # windows at 0, 2, ..., 10 of 13 tokens with a next
    np.testing.assert_array_equal(parts.train.x[1], [c, a])
    np.testing.assert_array_equal(parts.train.y[1], [a, b])
    # the note counts what validation and test read as <unk>; training has none
    assert parts.unknown == {"validation": Counter({"x": 1, "y": 1}), "test": Counter({"z": 1})}
    assert "2 of the 4 validation tokens ('x', 'y')" in parts.note
    np.testing.assert_array_equal(parts.test.x, [[unk, c]])
    assert "1 of the 3 test tokens ('z')" in parts.note and "t.txt" in parts.note


def _reference_windows(ids: list[int], context: int, stride: int, targets: str):
    """Windows written out by hand: a loop over start positions."""
    xs, ys = [], []
    start = 0
    while start + context < len(ids):  # the window and its next token
        xs.append(ids[start : start + context])
        nxt = ids[start + 1 : start + context + 1]
        ys.append(nxt if targets == "sequence" else nxt[-1])
        start += stride
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("context,stride", [(3, None), (3, 1), (4, 2), (5, 7)])
@pytest.mark.parametrize("targets", ["sequence", "next"])
def test_training_windows_match_a_hand_made_reference(write, context, stride, targets) -> None:
    text = "the quick brown fox jumps over the lazy dog"
    parts = _splits(write("t.txt", text), context=context, stride=stride, targets=targets)
    ids = [parts.vocab.index[ch] for ch in text]
    want_x, want_y = _reference_windows(ids, context, stride or context, targets)
    np.testing.assert_array_equal(parts.train.x, want_x)
    np.testing.assert_array_equal(parts.train.y, want_y)
    assert parts.train.x.dtype == np.int64 and parts.validation is None


def test_held_out_windows_lie_side_by_side_whatever_the_stride(write) -> None:
    text = "abcdefghij" * 10  # validation: the last 20 characters
    parts = _splits(write("t.txt", text), context=4, stride=1, validation=0.2)
    assert len(parts.train) == 80 - 4  # every start with a next token
    ids = [parts.vocab.index[ch] for ch in text[80:]]
    np.testing.assert_array_equal(parts.validation.x, _reference_windows(ids, 4, 4, "sequence")[0])


def test_word_windows_and_a_vocabulary_cut(write) -> None:
    text = "to be or not to be , that is the question ."
    parts = _splits(write("w.txt", text), tokenizer="word", context=3, vocab_size=5)
    assert parts.vocab.tokens == ["<pad>", "<unk>", ",", "be", "to"]  # 2x to, 2x be, ties by order
    ids, _ = parts.vocab.encode(split_tokens(text, "word"))
    np.testing.assert_array_equal(parts.train.x[0], ids[:3])
    assert parts.note is None  # cut on purpose: the training split's own <unk> is no news


def test_a_split_too_short_for_one_window_is_refused(write) -> None:
    path = write("t.txt", "abcdefghijklmnopqrst")
    with pytest.raises(NNDSLError, match="validation part of t.txt holds 2 char tokens"):
        _splits(path, context=4, validation=0.1)
    with pytest.raises(NNDSLError, match="train part of t.txt holds 20 char tokens"):
        _splits(path, context=20)


def test_windows_that_would_not_fit_in_memory_are_refused_before_allocation(write) -> None:
    # 200,000 characters, context 10,000, stride 1: 190,000 windows of 160 kB = 30 GB
    path = write("big.txt", "abcd" * 50_000)
    with pytest.raises(NNDSLError, match="windows of big.txt would take") as e:
        _splits(path, context=10_000, stride=1)
    assert "larger stride" in e.value.hint


# ------------------------------------------------------------------ hostile files


def test_a_byte_order_mark_is_not_text(write) -> None:
    assert read_text(str(write("t.txt", "\ufeffhi\n".encode()))) == "hi\n"


def test_binary_file_is_refused_with_its_line(write) -> None:
    path = write("b.txt", b"line one\nline two\x00\x01\x02")
    with pytest.raises(NNDSLError, match=r"b.txt is a binary file.*NUL byte on line 2"):
        read_text(str(path))


def test_non_utf8_file_is_refused_with_line_and_column(write) -> None:
    path = write("latin.txt", "first\nna\xefve\n".encode("latin-1"))
    with pytest.raises(NNDSLError, match="not UTF-8 text \\(line 2") as e:
        read_text(str(path))
    assert (e.value.line, e.value.column) == (2, 3)


def test_empty_and_blank_files_are_refused(write) -> None:
    for content in ["", " \n\n\t"]:
        with pytest.raises(NNDSLError, match="is empty"):
            read_text(str(write("e.txt", content)))


def test_a_file_over_the_limit_is_refused_unread(write) -> None:
    path = write("huge.txt", "")
    with open(path, "wb") as f:  # a sparse file: 1 TiB by its size, nothing on disk
        f.truncate(1 << 40)
    # refused by its size: reading it would need the terabyte in memory
    with pytest.raises(NNDSLError, match="huge.txt' is 1.0 TiB, more than the 32.0 MiB"):
        read_text(str(path))


def test_a_directory_and_a_missing_file_are_refused(tmp_path) -> None:
    with pytest.raises(NNDSLError, match="not a regular file|is a directory|folder"):
        read_text(str(tmp_path))
    with pytest.raises(NNDSLError, match="nope.txt") as e:
        read_text(str(tmp_path / "nope.txt"))
    assert "relative to the folder of the .nn file" in (e.value.hint or "")
