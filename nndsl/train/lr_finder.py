"""The learning-rate range test: from the initial weights, take one mini-batch step per
learning rate on an exponential ramp, watch the loss, stop when it diverges, and suggest
the rate where the (smoothed) loss falls fastest.

Engines are reached only through the Engine interface: each step sets `engine.lr` and
runs `train_epoch` on a one-batch dataset. The weights and optimizer state are put back
afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.backends.base import Engine, NonFiniteLoss
from nndsl.errors import NNDSLError


@dataclass
class LRFinding:
    """lrs[i] is the rate of step i; losses[i] the loss on the next mini-batch, after that
    step (so each loss shows the effect of its rate); smoothed: their centred running mean
    (a trailing average would lag, moving every feature of the curve to larger rates)."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float | None  # steepest descent of the smoothed loss before its minimum
    min_loss_lr: float | None  # where the smoothed loss is lowest
    stopped: str  # why the ramp ended: "reached the maximum" or "the loss diverged"
    falling: tuple[float, float] | None = None  # rates over which the loss comes down


def ramp(min_lr: float, max_lr: float, steps: int) -> np.ndarray:
    """`steps` rates from min_lr to max_lr, evenly spaced on a log scale."""
    return np.geomspace(min_lr, max_lr, steps)


def find_lr(
    engine: Engine,
    x: Any,
    y: Any,
    batch_size: int,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 200,
    seed: int = 0,
    beta: float = 0.9,
    diverge: float = 4.0,
) -> LRFinding:
    """Run the range test on (x, y) (inputs scaled as for training). Stops early when a
    running average of the loss (weight `beta` on the past) exceeds `diverge` times its
    lowest value, or the loss becomes NaN/Inf."""
    if not 0 < min_lr < max_lr:
        raise NNDSLError(f"the learning-rate range needs 0 < min < max, got {min_lr}..{max_lr}")
    if steps < 2:
        raise NNDSLError(f"the range test needs at least 2 steps, got {steps}")
    n = len(y)
    if n == 0:
        raise NNDSLError("no training data for the range test")
    batch_size = min(batch_size, n)
    weights, state, lr0 = engine.get_weights(), engine.state_dict(), engine.lr
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x1F1D])
    batches = _batches(rng, n, batch_size)
    rates = ramp(min_lr, max_lr, steps)
    raw: list[float] = []  # raw[i]: loss of batch i, before step i
    stopped = "reached the maximum"
    avg, best = 0.0, np.inf
    try:
        for i in range(steps + 1):  # one more batch measures the last step's effect
            idx = next(batches)
            engine.lr = float(rates[min(i, steps - 1)])
            data = engine.prepare(_take(x, idx), np.asarray(y)[idx])
            try:
                loss = engine.train_epoch(data, np.arange(len(idx)), batch_size)["loss"]
            except NonFiniteLoss:
                loss = np.inf
            raw.append(loss)
            if i == 0:
                continue
            if not np.isfinite(loss):
                stopped = "the loss diverged"
                break
            avg = beta * avg + (1 - beta) * loss
            smooth = avg / (1 - beta**i)
            best = min(best, smooth)
            if i > 5 and smooth > diverge * best:
                stopped = "the loss diverged"
                break
    finally:
        engine.set_weights(weights)
        engine.load_state_dict(state)
        engine.lr = lr0
    losses = np.array(raw[1:], dtype=float)
    finite = np.isfinite(losses)
    losses, lrs = losses[finite], rates[: len(finite)][finite]
    half = max(2, steps // 40)
    smoothed = _smooth(losses, half)
    region = _descent(losses, smoothed, half)
    if region is None:
        return LRFinding(lrs, losses, smoothed, None, None, stopped)
    start, low = region
    slope = np.gradient(smoothed, np.log(lrs))
    steepest = start + int(np.argmin(slope[start : low + 1]))
    return LRFinding(
        lrs,
        losses,
        smoothed,
        float(lrs[steepest]),
        float(lrs[low]),
        stopped,
        (float(lrs[start]), float(lrs[low])),
    )


def _batches(rng: np.random.Generator, n: int, batch_size: int):
    """Endless mini-batches of indices: a fresh seeded shuffle each pass over the data,
    whole batches only (a short last batch would give a noisier loss)."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def _take(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, dict):
        return {k: np.asarray(v)[idx] for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [np.asarray(v)[idx] for v in x]
    return np.asarray(x)[idx]


def _smooth(losses: np.ndarray, half: int) -> np.ndarray:
    """Mean over a window of 2*half+1 points centred on each (narrower at the ends)."""
    if len(losses) == 0:
        return losses.copy()
    sums = np.concatenate([[0.0], np.cumsum(losses)])
    i = np.arange(len(losses))
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, len(losses))
    return (sums[hi] - sums[lo]) / (hi - lo)


def _descent(losses: np.ndarray, smoothed: np.ndarray, half: int) -> tuple[int, int] | None:
    """(first, last) index of the descent: from where the smoothed loss leaves its
    starting level to its minimum. None when it never falls by more than batch-to-batch
    noise can explain (three standard errors of the running mean on the starting level)."""
    n = len(smoothed)
    if n < 3:
        return None
    head = max(3, n // 10)
    level = float(np.median(smoothed[:head]))
    low = int(np.argmin(smoothed))
    noise = float(np.std(losses[:head])) / np.sqrt(2 * half + 1)
    drop = level - float(smoothed[low])
    if low < 2 or drop <= max(3 * noise, 0.01 * abs(level)):
        return None
    start = low
    while start > 0 and smoothed[start - 1] < level - 0.05 * drop:
        start -= 1
    return start, low
