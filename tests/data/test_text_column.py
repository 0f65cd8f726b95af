"""csv(..., text="column"): a column of short texts read as strings, tokenized after the
split with a vocabulary of the training split only, padded and cut to `length`."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl.data.csvfile import load_csv
from nndsl.data.text import Vocabulary
from nndsl.data.text_column import encode_texts, tokenize_splits
from nndsl.errors import NNDSLError

REVIEWS = (
    "id,review,score,sentiment\n"
    '1,"great film, loved it",5,positive\n'
    "2,dull plot,1,negative\n"
    '3,"not great",2,negative\n'
    "4,,3,negative\n"
)


def _load(tmp_path, content: str = REVIEWS, **args):
    path = tmp_path / "reviews.csv"
    path.write_text(content, encoding="utf-8")
    return load_csv(str(path), args.pop("target", "sentiment"), shown="reviews.csv", **args)


def test_the_text_column_is_read_as_strings_and_is_the_only_input(tmp_path) -> None:
    ds = _load(tmp_path, text="review")
    assert ds.texts == ["great film, loved it", "dull plot", "not great", ""]
    assert ds.x.shape == (4, 0)  # the numeric columns (id, score) are not inputs
    assert ds.feature_names == ["review"] and ds.target_names == ["sentiment"]
    assert ds.class_names == ["negative", "positive"]
    np.testing.assert_array_equal(ds.y, [1, 0, 0, 0])
    # subsets keep texts and targets together
    sub = ds.subset([2, 0])
    assert sub.texts == ["not great", "great film, loved it"]
    np.testing.assert_array_equal(sub.y, [0, 1])


def test_a_numeric_target_and_new_data_without_targets(tmp_path) -> None:
    ds = _load(tmp_path, target="score", text="review")
    np.testing.assert_array_equal(ds.y, [5, 1, 2, 3])
    new = _load(
        tmp_path, "review\nhello there\n", target="sentiment", text="review", inputs_only=True
    )
    assert new.texts == ["hello there"] and new.y.shape == (1, 0)


@pytest.mark.parametrize(
    "args, message",
    [
        ({"text": "reveiw"}, "no column 'reveiw'"),
        ({"text": "sentiment"}, "both the text and the target"),
        ({"text": "review", "features": ["score"]}, "cannot be combined with features"),
        ({"text": ["review"]}, "the name of one column"),
    ],
)
def test_mistakes_are_named(tmp_path, args, message) -> None:
    with pytest.raises(NNDSLError, match=message):
        _load(tmp_path, **args)


def test_a_row_missing_its_cell_is_located(tmp_path) -> None:
    with pytest.raises(NNDSLError) as e:
        _load(tmp_path, "review,sentiment\ngood,positive\nbad\n", text="review")
    assert e.value.line == 3 and "column 'sentiment' is missing" in e.value.message


def test_encoding_pads_after_the_text_and_cuts_at_length() -> None:
    vocab = Vocabulary("word", ["<pad>", "<unk>", ",", "film", "great", "it"])
    ids, unknown = encode_texts(["great film, loved it", "", "it it it it it it"], vocab, 5)
    # by hand: great=4 film=3 ,=2 loved=<unk> it=5; the empty text is all padding
    np.testing.assert_array_equal(ids, [[4, 3, 2, 1, 5], [0, 0, 0, 0, 0], [5, 5, 5, 5, 5]])
    assert ids.dtype == np.float64 and unknown == {"loved": 1}


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path) -> None:
    ds = _load(tmp_path, text="review")
    train, val = ds.subset([0, 1]), ds.subset([2, 3])
    (tr, va, te), vocab, note = tokenize_splits(
        (train, val, None), shown="reviews.csv", tokenizer="word", length=4, vocab_size=None
    )
    assert vocab.tokens == ["<pad>", "<unk>", ",", "dull", "film", "great", "it", "loved", "plot"]
    assert "not" not in vocab.index  # only in the validation split
    np.testing.assert_array_equal(va.x, [[1, 5, 0, 0], [0, 0, 0, 0]])  # "not great", ""
    assert te is None and tr.x.shape == (2, 4)
    assert note is not None and "'not'" in note and "validation" in note


def test_char_tokens_and_a_capped_vocabulary(tmp_path) -> None:
    ds = _load(tmp_path, text="review")
    (tr, _, _), vocab, _ = tokenize_splits(
        (ds, None, None), shown="reviews.csv", tokenizer="char", length=3, vocab_size=4
    )
    # ' ', 'l' and 't' are the most frequent characters (5 each): a tie kept in sorted order
    assert vocab.tokens == ["<pad>", "<unk>", " ", "l"]
    assert tr.x[1].tolist() == [1.0, 1.0, 3.0]  # "dul": d and u read as <unk>
