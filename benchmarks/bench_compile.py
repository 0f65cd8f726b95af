"""The `compile` setting on a small model, where a step is mostly launch overhead.

B2 (30-16-8-1 MLP, batch 32, Adam, 455 samples): microseconds per training step of the
torch backend with compile = false / true / reduce_overhead beside the hand-written eager
loop of bench_torch.py, in one run. On a GPU, reduce_overhead replays each step as a CUDA
graph (target: faster than the hand-written eager loop); on a CPU it is inductor's
default code, and the table says what compiling buys there. Compiling costs tens of
seconds per setting on a CPU (the first round, not timed).

    python benchmarks/bench_compile.py [--device cpu|cuda] [--rounds 5] [--epochs 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

import nndsl

sys.path.insert(0, str(Path(__file__).parent))
from _reference import median_times, mlp_source  # noqa: E402
from bench_torch import hand_written  # noqa: E402

SIZES, N, BATCH = [30, 16, 8, 1], 455, 32
SETTINGS = ("false", "true", "reduce_overhead")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20, help="epochs per timed call")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, SIZES[0])).astype(np.float32)
    y = (rng.random((N, 1)) > 0.5).astype(np.float32)
    orders = np.random.default_rng(1)
    contenders = {}
    for setting in SETTINGS:
        source = mlp_source(SIZES, BATCH, True, f"    compile = {setting}\n")
        engine = nndsl.compile_string(source).build(backend="torch", device=args.device).engine
        data = engine.prepare(x, y)

        def run(engine=engine, data=data) -> None:
            for _ in range(args.epochs):
                engine.train_epoch(data, orders.permutation(N), BATCH)

        contenders[f"compile = {setting}"] = run
    hand = hand_written(SIZES, args.device, False)
    tx, ty = torch.from_numpy(x).to(args.device), torch.from_numpy(y).to(args.device)

    def run_hand() -> None:
        for _ in range(args.epochs):
            order = torch.as_tensor(orders.permutation(N), device=args.device)
            hand(tx, ty, BATCH, order).item()

    contenders["hand-written eager"] = run_hand
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    times = median_times(contenders, args.rounds, sync)
    steps = args.epochs * -(-N // BATCH)
    reference = times["hand-written eager"]
    print(f"B2 30-16-8-1, batch {BATCH}, {args.device}: us per step")
    for name, t in times.items():
        print(f"  {name:24} {t / steps * 1e6:8.1f} us  {t / reference:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
