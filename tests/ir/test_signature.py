"""Argument binding (nndsl.ir.signature): every number is range-checked before any
arithmetic on it, and arguments that would fail only at build time fail at compile."""

from __future__ import annotations

import pytest

import nndsl
from nndsl.errors import NNDSLError


def refused(source: str) -> NNDSLError:
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(source, "f.nn")
    return info.value


@pytest.mark.parametrize(
    "layer, column, fragment",
    [
        ("lstm(.7e308)", 6, "'units' must be an integer of at most 9,223,372,036,854,775,807"),
        ("elu(" + "9" * 300 + ")", 5, "nndsl reads integers of at most 100 digits"),
        ("elu(-1e999)", 5, "'alpha' must be a finite number, got -1e999"),
        ("dense(1e999)", 7, "'units' must be a finite number"),
        ("dense(9223372036854775808)", 7, "'units' must be an integer of at most"),
        ("dense(1, weights=[[1e999], [1], [2]])", 18, "list of finite numbers"),
    ],
)
def test_numbers_beyond_int64_or_float64_are_refused_where_written(
    layer: str, column: int, fragment: str
):
    """Was: OverflowError from the memory estimate (`lstm(.7e308)`) and from float()
    (`elu(999...9)`)."""
    err = refused(f"model m {{\n    input(3, 2)\n    {layer}\n}}\n")
    assert (err.line, err.column) == (3, 4 + column), err.render()
    assert fragment in err.message


def test_a_model_of_sizes_too_large_to_print_is_refused_by_size():
    dims = ", ".join(["9223372036854775807"] * 300)
    err = refused(f"model m {{\n    input({dims})\n    dense(1)\n}}\n")
    assert (err.line, err.column) == (2, 5)
    assert "too large: the model needs over 1,000,000,000,000,000 GiB" in err.message


@pytest.mark.parametrize(
    "init, column, fragment",
    [
        ("uniform(5)", 55, "'high' (0.05) is below 'low' (5.0)"),
        ("uniform(high=-3)", 60, "'high' (-3.0) is below 'low' (-0.05)"),
        ("uniform(-1e308, 1e308)", 55, "'low' must be at most 3.403e+38"),
        ("normal(std=1e39)", 58, "'std' must be at most 3.403e+38 in size (a float32)"),
        ("constant(-1e300)", 56, "'value' must be at most 3.403e+38"),
    ],
)
def test_initializer_arguments_that_would_fail_at_build_fail_at_compile(
    init: str, column: int, fragment: str
):
    """Was: `embedding(..., init=uniform(5))` passed check, then NumPy's uniform raised
    `high - low < 0` when the model was built."""
    err = refused(
        f"model m {{\n    input(1)\n    embedding(input_dim=1, output_dim=1, init={init})\n}}\n"
    )
    assert (err.line, err.column) == (3, column), err.render()
    assert fragment in err.message
    nndsl.compile_string("model m { input(1) dense(1, init=uniform(-1, -1)) }").build(seed=0)


def test_optimizer_state_must_fit_a_float32():
    """Was: torch's `value cannot be converted to type float without overflow` at fit."""
    source = "model m { input(1) dense(1) }\ntrain m { loss = mse optimizer = adagrad(lr=1e300) }"
    err = refused(source)
    assert (err.line, err.column) == (2, 45)
    assert "adagrad(): 'lr' must be at most 3.403e+38" in err.message
