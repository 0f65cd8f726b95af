"""Generated datasets for teaching, numpy only and deterministic for a given seed.

Every generator returns (x, y) with x float64 of shape (n, 2) (`waves`: sequences of
shape (n, 32, 1)); `noise` is the standard deviation of Gaussian noise added to each
point (for `grades`, the fuzziness of the rule). `classes` is the number of classes or,
for `ring`, of modes; left out (None), each generator's own default: 8 for `ring`, 2 for
the others.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nndsl.data.dataset import Dataset
from nndsl.errors import NNDSLError

Generator = Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]


def _counts(n: int, classes: int) -> list[int]:
    """n split as evenly as possible over the classes."""
    return [n // classes + (k < n % classes) for k in range(classes)]


def xor(rng: np.random.Generator, n: int, noise: float, classes: int):
    """Points around the corners of the unit square; label 1 where exactly one coordinate is
    high (the xor of the quadrants around (0.5, 0.5)). Balanced over the four corners."""
    corner = rng.permutation(np.arange(n) % 4)
    a, b = corner // 2, corner % 2
    x = np.stack([a, b], axis=1) + noise * rng.standard_normal((n, 2))
    return x, (a ^ b).astype(np.float64)


def spirals(rng: np.random.Generator, n: int, noise: float, classes: int):
    """`classes` interleaved spiral arms, each one full turn from the centre out to radius 2:
    no line separates them (a linear classifier stays near chance). Labels int64."""
    xs, ys = [], []
    for k, m in enumerate(_counts(n, classes)):
        t = np.linspace(0.0, 1.0, m) if m > 1 else np.zeros(m)
        angle = 2 * np.pi * (k / classes + t)
        xs.append(2 * t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
        ys.append(np.full(m, k, dtype=np.int64))
    x = np.concatenate(xs) + noise * rng.standard_normal((n, 2))
    return x, np.concatenate(ys)


def moons(rng: np.random.Generator, n: int, noise: float, classes: int):
    """Two interleaving half circles (label 0: the upper one, 1: the lower one)."""
    m0, m1 = _counts(n, 2)
    t0, t1 = rng.uniform(0, np.pi, m0), rng.uniform(0, np.pi, m1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    return x, np.concatenate([np.zeros(m0), np.ones(m1)])


def circles(rng: np.random.Generator, n: int, noise: float, classes: int):
    """A circle of radius 1 (label 0) around one of radius 0.5 (label 1)."""
    m0, m1 = _counts(n, 2)
    radius = np.concatenate([np.ones(m0), np.full(m1, 0.5)])
    angle = rng.uniform(0, 2 * np.pi, n)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    x += noise * rng.standard_normal((n, 2))
    return x, np.concatenate([np.zeros(m0), np.ones(m1)])


def blobs(rng: np.random.Generator, n: int, noise: float, classes: int):
    """`classes` round Gaussian blobs (std `noise`) centred on a circle, neighbours about 2
    apart. Labels int64."""
    radius = max(1.0, classes / np.pi)
    turn = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(classes) / classes
    centres = radius * np.stack([np.cos(turn), np.sin(turn)], axis=1)
    y = np.concatenate([np.full(m, k, dtype=np.int64) for k, m in enumerate(_counts(n, classes))])
    return centres[y] + noise * rng.standard_normal((n, 2)), y


RING_RADIUS = 2.0


def ring_centers(modes: int, radius: float = RING_RADIUS) -> np.ndarray:
    """The means of `ring`'s modes, shape (modes, 2): mode k at angle 2*pi*k/modes on a
    circle of `radius` about the origin (mode 0 on the positive x axis)."""
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 1:
        raise NNDSLError(f"ring_centers needs a whole number of modes >= 1, got {modes!r}")
    if not np.isfinite(radius) or radius <= 0:
        raise NNDSLError(f"ring_centers needs a radius > 0, got {radius!r}")
    angle = 2 * np.pi * np.arange(modes) / modes
    return float(radius) * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def ring(rng: np.random.Generator, n: int, noise: float, classes: int):
    """The GAN benchmark: `classes` modes (8 by default), round Gaussians of std `noise`
    whose means lie evenly on a circle of radius 2 (`ring_centers`), as many points in
    each (n split as evenly as possible); label: the mode's index, int64. The literature
    uses noise 0.05 to 0.1: at radius 2 with 8 modes, neighbouring means are 1.53 apart,
    so the modes stay well apart."""
    y = np.concatenate([np.full(m, k, dtype=np.int64) for k, m in enumerate(_counts(n, classes))])
    return ring_centers(classes)[y] + noise * rng.standard_normal((n, 2)), y


def grades(rng: np.random.Generator, n: int, noise: float, classes: int):
    """ "Will I pass this class?": lectures attended (integer, 0..40) and hours spent on the
    final project (0..60, one decimal). P(pass) is a logistic function of a weighted score
    (40% lectures, 60% project) with temperature 0.2 * noise: at noise 0.1 about 5% of the
    labels go against the rule, so a small MLP reaches about 95%."""
    lectures = rng.integers(0, 41, n).astype(np.float64)
    hours = rng.integers(0, 601, n) / 10.0
    score = 0.4 * lectures / 40 + 0.6 * hours / 60 - 0.5
    if noise > 0:
        p_pass = 0.5 * (1 + np.tanh(score / (0.4 * noise)))  # sigmoid(score / (0.2 noise))
        passed = rng.random(n) < p_pass
    else:
        passed = score > 0
    return np.stack([lectures, hours], axis=1), passed.astype(np.float64)


WAVE_STEPS = 32
WAVE_SHAPES = ("sine", "square", "sawtooth", "triangle")


def waves(rng: np.random.Generator, n: int, noise: float, classes: int):
    """Which shape is this noisy periodic signal? `classes` of sine, square, sawtooth,
    triangle (labels 0..3, int64, balanced), each 32 steps long with a random frequency
    (2 to 4 periods), phase and amplitude (0.5 to 1.5): x (n, 32, 1), a sequence task for
    recurrent and 1-d convolutional layers."""
    if classes > len(WAVE_SHAPES):
        raise NNDSLError(
            f'synthetic("waves") has {len(WAVE_SHAPES)} shapes, got classes={classes}',
            hint="classes from 2 to 4: " + ", ".join(WAVE_SHAPES),
        )
    y = rng.permutation(np.arange(n) % classes)
    periods = rng.uniform(2.0, 4.0, (n, 1))
    phase = rng.uniform(0.0, 1.0, (n, 1))
    u = (np.arange(WAVE_STEPS) / WAVE_STEPS * periods + phase) % 1.0  # place in the period
    shapes = np.stack(
        [
            np.sin(2 * np.pi * u),
            np.where(u < 0.5, 1.0, -1.0),
            2 * u - 1,
            1 - 4 * np.abs(u - 0.5),
        ]
    )
    x = shapes[y, np.arange(n)] * rng.uniform(0.5, 1.5, (n, 1))
    x += noise * rng.standard_normal(x.shape)
    return x[:, :, None], y.astype(np.int64)


GENERATORS: dict[str, Generator] = {
    "xor": xor,
    "spirals": spirals,
    "moons": moons,
    "circles": circles,
    "blobs": blobs,
    "ring": ring,
    "grades": grades,
    "waves": waves,
}
_MULTICLASS = ("spirals", "blobs", "ring", "waves")  # the ones that read `classes`
DEFAULT_CLASSES = {"ring": 8}  # `classes` when not given; 2 for the others


def make_synthetic(
    name: str, n: int = 500, noise: float = 0.1, classes: int | None = None, seed: int = 0
) -> Dataset:
    """n samples of a generated dataset, shuffled; the same seed gives the same data.
    classes: number of classes (ring: of modes); None for the generator's default (ring:
    8, the others: 2)."""
    if name not in GENERATORS:
        raise NNDSLError(
            f"unknown synthetic dataset '{name}'", hint="one of: " + ", ".join(GENERATORS)
        )
    if classes is None:
        classes = DEFAULT_CLASSES.get(name, 2)
    if n < 1 or noise < 0 or classes < 2:
        raise NNDSLError(
            f'synthetic("{name}") needs n >= 1, noise >= 0 and classes >= 2, '
            f"got n={n}, noise={noise}, classes={classes}"
        )
    rng = np.random.default_rng(seed)
    x, y = GENERATORS[name](rng, n, float(noise), classes)
    order = rng.permutation(n)
    features, target = (
        (["lectures_attended", "project_hours"], "passed")
        if name == "grades"
        else ([f"t{i}" for i in range(WAVE_STEPS)], "shape")
        if name == "waves"
        else (["x1", "x2"], "label")
    )
    extra = f", classes={classes}" if name in _MULTICLASS else ""
    return Dataset(
        x=np.asarray(x[order], dtype=np.float64),
        y=y[order],
        feature_names=features,
        target_names=[target],
        source=f"synthetic {name}: n={n}, noise={noise}{extra}, seed={seed}",
    )
