"""Mode coverage: how a generative model's samples sit on a mixture of known modes (the
GAN benchmark `synthetic("ring")`, whose means `ring_centers` gives).

    coverage = mode_coverage(samples, ring_centers(8), std=0.05)
    print(coverage)          # 8/8 modes covered, 97.5% of samples within 3σ

Each sample belongs to its nearest center. It is of high quality when it lies within
`within` standard deviations of that center; a mode is covered when at least `min_share`
of all samples are of high quality and belong to it. A generator that collapses onto a
few modes covers few; one that smears its samples between the modes has few of high
quality. For round 2-d Gaussians of std `std`, the true data has 1 - exp(-within²/2) of
its samples within (98.9% for 3σ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nndsl.errors import NNDSLError

_CHUNK = 1 << 22  # distances computed at once (samples x centers x dimensions)


@dataclass(frozen=True)
class ModeCoverage:
    """shares[k]: fraction of all samples nearest mode k and within within*std of it;
    covered: modes whose share is at least min_share; high_quality: fraction of samples
    within within*std of their nearest mode (the sum of the shares)."""

    shares: tuple[float, ...]
    covered: int
    high_quality: float
    within: float = 3.0
    min_share: float = 0.05

    @property
    def modes(self) -> int:
        return len(self.shares)

    def __str__(self) -> str:
        return (
            f"{self.covered}/{self.modes} modes covered, "
            f"{100 * self.high_quality:.1f}% of samples within {self.within:g}σ"
        )


def mode_coverage(
    samples: np.ndarray,
    centers: np.ndarray,
    std: float,
    within: float = 3.0,
    min_share: float = 0.05,
) -> ModeCoverage:
    """How `samples` (n, d) cover the modes at `centers` (modes, d), each a round
    Gaussian of standard deviation `std`: see the module's doc."""
    x = _points(samples, "samples")
    c = _points(centers, "centers")
    if x.shape[1] != c.shape[1]:
        raise NNDSLError(
            f"mode_coverage: samples have {x.shape[1]} coordinates, centers {c.shape[1]}",
            hint="samples (n, d) and centers (modes, d) with the same d",
        )
    for name, value in (("std", std), ("within", within)):
        if not _number(value) or not value > 0 or not np.isfinite(value):
            raise NNDSLError(f"mode_coverage needs {name} > 0, got {value!r}")
    if not _number(min_share) or not 0 <= min_share <= 1:
        raise NNDSLError(f"mode_coverage needs min_share from 0 to 1, got {min_share!r}")
    nearest = np.empty(len(x), dtype=np.int64)
    distance = np.empty(len(x))
    step = max(1, _CHUNK // (len(c) * c.shape[1]))
    for start in range(0, len(x), step):
        part = x[start : start + step]
        d2 = ((part[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        k = d2.argmin(axis=1)
        nearest[start : start + step] = k
        distance[start : start + step] = np.sqrt(d2[np.arange(len(part)), k])
    close = distance <= within * std
    counts = np.bincount(nearest[close], minlength=len(c))
    shares = tuple(float(s) for s in counts / len(x))
    return ModeCoverage(
        shares=shares,
        covered=sum(s >= min_share for s in shares),
        high_quality=float(close.mean()),
        within=float(within),
        min_share=float(min_share),
    )


def _number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _points(value: object, name: str) -> np.ndarray:
    """`value` as a float64 (n, d) array with n, d >= 1 and every entry finite."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NNDSLError(f"mode_coverage: {name} are not numbers") from None
    if a.ndim != 2:
        raise NNDSLError(
            f"mode_coverage: {name} must be a 2-d array (points, coordinates), got shape {a.shape}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise NNDSLError(f"mode_coverage: {name} are empty (shape {a.shape})")
    if not np.isfinite(a).all():
        raise NNDSLError(f"mode_coverage: {name} hold NaN or infinity")
    return a
