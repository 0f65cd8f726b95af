"""mode_coverage, the measure of a GAN on the ring: checked against draws whose answer is
known in closed form (the true ring, one mode, uniform noise, a starved mode)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from nndsl.data.modes import ModeCoverage, mode_coverage
from nndsl.data.synthetic import make_synthetic, ring_centers
from nndsl.errors import NNDSLError

STD = 0.05
ANGLES = 2 * np.pi * np.arange(8) / 8
CENTERS = 2 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1)  # the ring's definition


def within_fraction(k: float) -> float:
    """P(|x - mean| <= k std) for a round 2-d Gaussian: the radius is Rayleigh."""
    return 1 - math.exp(-(k**2) / 2)


def draw(counts: list[int], seed: int = 0) -> np.ndarray:
    """counts[k] points from the round Gaussian of std STD about CENTERS[k]."""
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [CENTERS[k] + STD * rng.standard_normal((m, 2)) for k, m in enumerate(counts)]
    )


@pytest.mark.parametrize("within", [3.0, 2.0])
def test_the_true_ring_covers_every_mode(within: float) -> None:
    samples = draw([2500] * 8)  # 20,000
    c = mode_coverage(samples, CENTERS, STD, within=within)
    exact = within_fraction(within)  # 0.98889 for 3 sigma, 0.86466 for 2
    assert c.covered == 8 and c.modes == 8
    assert abs(c.high_quality - exact) < 0.005
    # 2500 points per mode: each share is exact / 8, with a binomial spread of
    # sqrt(exact (1 - exact) / 2500) / 8 (0.00026 for 3 sigma); allow 4 of those
    spread = math.sqrt(exact * (1 - exact) / 2500) / 8
    np.testing.assert_allclose(c.shares, exact / 8, atol=4 * spread)
    assert math.isclose(sum(c.shares), c.high_quality)


def test_the_ring_generator_against_its_centers() -> None:
    ds = make_synthetic("ring", n=20000, noise=0.05, classes=8, seed=3)
    c = mode_coverage(ds.x, ring_centers(8), std=0.05)
    assert c.covered == 8
    assert abs(c.high_quality - within_fraction(3)) < 0.005


def test_all_samples_on_one_center_cover_one_mode() -> None:
    c = mode_coverage(np.tile(CENTERS[3], (500, 1)), CENTERS, STD)
    assert c.covered == 1 and c.high_quality == 1.0
    assert c.shares == (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    assert str(c) == "1/8 modes covered, 100.0% of samples within 3σ"
    assert str(mode_coverage(np.tile(CENTERS[3], (5, 1)), CENTERS, STD, within=2)) == (
        "1/8 modes covered, 100.0% of samples within 2σ"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.covered = 8  # type: ignore[misc]


def test_a_sample_counts_only_within_the_radius_of_its_mode() -> None:
    outward = CENTERS[0] / 2  # a unit vector from the origin through mode 0
    near = np.tile(CENTERS[0] + 2.9 * STD * outward, (10, 1))
    far = np.tile(CENTERS[0] + 3.1 * STD * outward, (30, 1))  # nearest mode 0, but outside
    c = mode_coverage(np.concatenate([near, far]), CENTERS, STD)
    assert c.high_quality == pytest.approx(10 / 40)
    assert c.shares[0] == pytest.approx(10 / 40) and sum(c.shares[1:]) == 0
    assert mode_coverage(far, CENTERS, STD) == ModeCoverage((0.0,) * 8, 0, 0.0, 3.0, 0.05)


def test_uniform_noise_is_rarely_near_a_mode() -> None:
    rng = np.random.default_rng(1)
    samples = rng.uniform(-3, 3, (200_000, 2))
    c = mode_coverage(samples, CENTERS, STD)
    # eight disjoint discs of radius 3 sigma inside the 6 x 6 square
    disc = math.pi * (3 * STD) ** 2
    expected = 8 * disc / 36  # 0.0157
    # binomial std sqrt(p (1 - p) / n) = 0.00028
    assert abs(c.high_quality - expected) < 0.0015
    np.testing.assert_allclose(c.shares, disc / 36, atol=0.0007)
    assert c.covered == 0


def test_a_mode_with_four_percent_of_the_mass_is_not_covered() -> None:
    n = 20_000
    starved = round(0.04 * n)
    rest = n - starved
    counts = [starved] + [rest // 7 + (k < rest % 7) for k in range(7)]
    samples = draw(counts, seed=2)
    c = mode_coverage(samples, CENTERS, STD)
    assert c.covered == 7
    assert c.shares[0] < 0.05 and all(s > 0.05 for s in c.shares[1:])
    # its share is 4% of the samples times the fraction within 3 sigma
    assert abs(c.shares[0] - 0.04 * within_fraction(3)) < 0.002
    assert mode_coverage(samples, CENTERS, STD, min_share=0.03).covered == 8


@pytest.mark.parametrize(
    "samples, centers, kwargs, fragment",
    [
        (np.zeros(5), CENTERS, {}, "2-d array"),
        (np.zeros((5, 2, 1)), CENTERS, {}, "2-d array"),
        (np.zeros((0, 2)), CENTERS, {}, "samples are empty"),
        (np.zeros((5, 2)), np.zeros((0, 2)), {}, "centers are empty"),
        (np.zeros((5, 3)), CENTERS, {}, "samples have 3 coordinates, centers 2"),
        (np.array([[0.0, np.nan]]), CENTERS, {}, "NaN"),
        (np.array([[0.0, np.inf]]), CENTERS, {}, "NaN or infinity"),
        (np.zeros((5, 2)), np.full((8, 2), np.nan), {}, "centers hold NaN"),
        ([["a", "b"]], CENTERS, {}, "not numbers"),
        (np.zeros((5, 2)), CENTERS, {"std": 0.0}, "std > 0"),
        (np.zeros((5, 2)), CENTERS, {"std": float("nan")}, "std > 0"),
        (np.zeros((5, 2)), CENTERS, {"within": -1.0}, "within > 0"),
        (np.zeros((5, 2)), CENTERS, {"min_share": 1.5}, "min_share from 0 to 1"),
    ],
)
def test_bad_input_is_refused(samples, centers, kwargs, fragment: str) -> None:
    kwargs = {"std": STD, **kwargs}
    with pytest.raises(NNDSLError, match=fragment):
        mode_coverage(samples, centers, **kwargs)
