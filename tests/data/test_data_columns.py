"""Matching new data's columns to the training features (nndsl.data.columns)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nndsl.data.columns import choose_columns, mapping_array, mapping_columns
from nndsl.errors import NNDSLError

FEATURES = ["area", "rooms", "age"]
names = st.text(st.characters(codec="utf-8"), min_size=0, max_size=6)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    features=st.lists(names, min_size=1, max_size=5, unique=True),
    extra=st.lists(names, max_size=3, unique=True),
    data=st.data(),
)
def test_any_order_with_any_extras_gives_the_training_order(features, extra, data) -> None:
    extra = [e for e in extra if e not in features and e != "target"]
    available = data.draw(st.permutations([*features, *extra, "target"]))
    choice = choose_columns(available, features, ["target"], "new.csv")
    assert choice.by_name and choice.features == features and choice.targets == ["target"]
    assert bool(choice.notes) == bool(extra)


def test_a_missing_feature_is_refused_naming_what_is_expected() -> None:
    with pytest.raises(NNDSLError) as info:
        choose_columns(["age", "area", "price"], FEATURES, ["price"], "new.csv")
    assert "new.csv has no column rooms" in info.value.message
    assert "area, rooms, age (matched by name, in any order)" in info.value.message


def test_a_close_name_is_suggested() -> None:
    with pytest.raises(NNDSLError) as info:
        choose_columns(["area", "room", "age"], FEATURES, None, "new.csv")
    assert "room" in (info.value.hint or "")


def test_no_name_in_common_and_the_right_width_is_positional_with_a_note() -> None:
    choice = choose_columns(["x", "y", "z"], FEATURES, ["price"], "new.csv")
    assert not choice.by_name and choice.features == ["x", "y", "z"]
    assert "taken by position" in choice.notes[0]
    with pytest.raises(NNDSLError, match="has no column area, rooms, age"):
        choose_columns(["x", "y"], FEATURES, ["price"], "new.csv")


def test_targets_are_needed_only_to_evaluate() -> None:
    assert choose_columns(FEATURES, FEATURES, ["price"], "new.csv").targets == []
    with pytest.raises(NNDSLError, match="no target column price to evaluate against"):
        choose_columns(FEATURES, FEATURES, ["price"], "new.csv", need_targets=True)


def test_a_model_that_knows_no_names_takes_the_columns_in_order() -> None:
    choice = choose_columns(["b", "a", "y"], None, ["y"], "new.csv")
    assert choice.features == ["b", "a"] and not choice.notes


def test_names_that_would_read_ambiguously_are_quoted() -> None:
    with pytest.raises(NNDSLError) as info:
        choose_columns(["a"], ["a", "b,c", " d"], None, "new.csv")
    assert "'b,c'" in info.value.message and "' d'" in info.value.message


def test_mapping_columns_and_arrays() -> None:
    assert mapping_columns({"a": [1], 2: [3]}) == ["a", "2"]
    assert mapping_columns(np.zeros((2, 2))) is None
    assert mapping_columns([1, 2]) is None
    got = mapping_array({"b": [1, 2], "a": [3.5, 4]}, ["a", "b"], "the dict")
    np.testing.assert_array_equal(got, [[3.5, 1], [4, 2]])
    with pytest.raises(NNDSLError, match="column 'a' holds <U1 values, not numbers"):
        mapping_array({"a": ["x"]}, ["a"], "the dict")
    with pytest.raises(NNDSLError, match="columns have different lengths"):
        mapping_array({"a": [1, 2], "b": [1]}, ["a", "b"], "the dict")
    with pytest.raises(NNDSLError, match="has shape \\(1, 2\\)"):
        mapping_array({"a": [[1, 2]]}, ["a"], "the dict")
