"""Training speed of the NumPy backend beside hand-written loops, in one run.

B1: 784-256-128-10 MLP, 60,000 samples, batch 128, Adam: seconds per epoch.
B2: 30-16-8-1 MLP on breast_cancer-sized data (455 x 30), batch 32, Adam: us per step.
Each contender runs interleaved with the others, several rounds; medians and ratios to
the hand-written NumPy loop are printed. Targets (issue 3): B1 <= 1.10x, B2 <= 1.5x.

    python benchmarks/bench_training.py [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _reference import NumpyMLP, mlp_source, torch_epoch, torch_mlp  # noqa: E402

import nndsl  # noqa: E402


def nndsl_model(sizes: list[int], batch: int, binary: bool):
    return nndsl.compile_string(mlp_source(sizes, batch, binary)).build(backend="numpy", seed=0)


def bench(name: str, sizes: list[int], n: int, batch: int, rounds: int, binary: bool) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, sizes[0])).astype(np.float32)
    y = (rng.random((n, 1)) > 0.5).astype(np.float32) if binary else rng.integers(0, sizes[-1], n)
    steps = -(-n // batch)
    # contenders, each a callable running one epoch
    model = nndsl_model(sizes, batch, binary)
    eng = model.engine
    data = eng.prepare(x, y)
    order_rng = np.random.default_rng(1)

    def run_nndsl():
        eng.train_epoch(data, order_rng.permutation(n), batch)

    ref = NumpyMLP(sizes, batch)
    xbuf, ybuf = np.empty_like(x), np.empty_like(y)
    yref = y.astype(np.float32) if binary else y

    def run_ref():
        ref.epoch(x, yref, batch, order_rng, xbuf, ybuf)

    contenders = {"nndsl numpy": run_nndsl, "hand-written numpy": run_ref}
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        tm, opt = torch_mlp(sizes)
        tx = torch.from_numpy(x)
        ty = torch.from_numpy(y) if binary else torch.from_numpy(y.astype(np.int64))
        gen = torch.Generator().manual_seed(0)
        contenders["torch eager"] = lambda: torch_epoch(tm, opt, tx, ty, batch, gen)
    except ImportError:
        pass
    try:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]),
            batch_size=batch,
            max_iter=1,
            solver="adam",
            random_state=0,
        )
        yc = y.ravel() if binary else y
        classes = np.unique(yc)
        contenders["sklearn MLPClassifier"] = lambda: clf.partial_fit(x, yc, classes=classes)
    except ImportError:
        pass
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():  # warm up: buffers, caches, lazy imports
        fn()
    for _ in range(rounds):
        for key, fn in contenders.items():
            t = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["hand-written numpy"]
    print(
        f"\n{name}: {'-'.join(map(str, sizes))}, {n} samples, batch {batch}, "
        f"{steps} steps/epoch, median of {rounds}"
    )
    for key, t in med.items():
        per_step = t / steps * 1e6
        print(f"  {key:<24} {t:8.3f} s/epoch  {per_step:9.1f} us/step  {t / base:6.2f}x hand")
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="B2 only (B1 takes ~30 s)")
    args = ap.parse_args()
    b2 = bench("B2", [30, 16, 8, 1], 455, 32, max(args.rounds, 20), binary=True)
    r2 = b2["nndsl numpy"] / b2["hand-written numpy"]
    print(f"  B2 ratio nndsl/hand: {r2:.2f}x (target <= 1.5x)")
    if not args.quick:
        b1 = bench("B1", [784, 256, 128, 10], 60000, 128, args.rounds, binary=False)
        r1 = b1["nndsl numpy"] / b1["hand-written numpy"]
        print(f"  B1 ratio nndsl/hand: {r1:.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()
