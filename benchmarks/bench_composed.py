"""What a fast path buys: one training step (forward, backward, Adam) of an op through its
hand-written NumPy kernel beside the same op run from its composition of primitives
(`OpDef.compute` on the tape), in one run.

D1: B1's MLP 784-256-128-10 (relu), batch 128: every dense layer fused, or composed.
L1: lstm(32) over 20 steps of 8 features, batch 64: the kernel's backprop through time,
    or the composition's per-step primitives.

Rounds interleave the two; the best time per step of each and the ratio composed / fused
are printed, and the most memory a step allocates above what it starts with (tracemalloc's
peak over a step, the largest of a few steps after the first epoch). No target: this says
when a new op written only as a declaration would want a kernel of its own.

    python benchmarks/bench_composed.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import itertools
import time
import tracemalloc

import numpy as np

import nndsl
from nndsl.backends.numpy import kernels
from nndsl.backends.numpy.composed import ComposedKernel

MODELS = {
    "D1": (
        "model m {\n  input(784)\n  dense(256, activation=relu)\n  dense(128, activation=relu)\n"
        "  dense(10)\n}\ntrain m { loss = mse  batch_size = 128  optimizer = adam(lr=0.001) }",
        "dense",
        (1024, 784),
        128,
    ),
    "L1": (
        "model m {\n  input(20, 8)\n  lstm(32)\n  dense(1)\n}\n"
        "train m { loss = mse  batch_size = 64  optimizer = adam(lr=0.001) }",
        "lstm",
        (512, 20, 8),
        64,
    ),
}


def build(source: str, op: str, composed: bool):
    saved = dict(kernels.KERNELS)
    if composed:
        kernels.KERNELS[op] = ComposedKernel
    try:
        return nndsl.compile_string(source).build(seed=0)
    finally:
        kernels.KERNELS.clear()
        kernels.KERNELS.update(saved)


def step_time(model, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    """Seconds per training step, the best of a few epochs."""
    data = model.engine.prepare(x, y)
    order = np.arange(len(x))
    model.engine.train_epoch(data, order, batch)  # buffers allocated, caches warm
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        model.engine.train_epoch(data, order, batch)
        best = min(best, time.perf_counter() - start)
    return best / (len(x) // batch)


def step_peak(model, x: np.ndarray, y: np.ndarray, batch: int, steps: int = 4) -> int:
    """Bytes: the largest tracemalloc peak of a training step above its start."""
    engine = model.engine
    data = engine.prepare(x, y)
    engine.train_epoch(data, np.arange(len(x)), batch)  # buffers allocated
    engine.set_mode(True)
    batches = list(itertools.islice(engine.epoch_batches(data, np.arange(len(x)), batch), steps))
    tracemalloc.start()
    worst = 0
    for xs, yb, size in batches:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step, _, _ = engine.train_forward(xs, yb, size)
        engine.train_step(step)
        worst = max(worst, tracemalloc.get_traced_memory()[1] - start)
    tracemalloc.stop()
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for name, (source, op, shape, batch) in MODELS.items():
        x = rng.normal(size=shape)
        fused, composed = build(source, op, False), build(source, op, True)
        y = rng.normal(size=(shape[0], *fused.graph.output.shape))
        times = {"fused": [], "composed": []}
        for _ in range(args.rounds):
            times["fused"].append(step_time(fused, x, y, batch))
            times["composed"].append(step_time(composed, x, y, batch))
        f, c = min(times["fused"]), min(times["composed"])
        pf, pc = (step_peak(m, x, y, batch) / 1024 for m in (fused, composed))
        print(
            f"{name} ({op}): fused {f * 1e3:.2f} ms/step, composed {c * 1e3:.2f} ms/step, "
            f"composed / fused {c / f:.2f}x; peak per step: fused {pf:.0f} KiB, "
            f"composed {pc:.0f} KiB"
        )


if __name__ == "__main__":
    main()
