"""Time per epoch of GAN training on examples/generative/ring_gan.nn (2,000 points,
batches of 64: 32 discriminator and 32 generator steps per epoch), side by side in one
run: nndsl on NumPy, nndsl on torch (CPU), and a hand-written PyTorch loop of the same
two models and steps (the cost of a GAN in eager PyTorch, with no framework around it).
Prints the milliseconds per epoch (median of --rounds) and the ratios to the hand-
written loop.

    python benchmarks/bench_gan.py [--epochs 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import nndsl

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "generative" / "ring_gan.nn"


def nndsl_ms(backend: str, epochs: int, rounds: int) -> float:
    program = nndsl.compile_file(EXAMPLE)
    times = []
    for r in range(rounds):
        extra = {"device": "cpu"} if backend == "torch" else {}
        model = program.build(backend=backend, seed=r, **extra)
        start = time.perf_counter()
        model.fit(verbose=0, epochs=epochs)
        times.append((time.perf_counter() - start) / epochs * 1000)
    return statistics.median(times)


def torch_ms(epochs: int, rounds: int) -> float:
    import torch
    from torch import nn

    from nndsl.data.synthetic import make_synthetic

    x = torch.tensor(make_synthetic("ring", n=2000, noise=0.05, classes=8).x, dtype=torch.float32)
    times = []
    for r in range(rounds):
        torch.manual_seed(r)
        g = nn.Sequential(
            nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
        )
        d = nn.Sequential(
            nn.Linear(2, 64),
            nn.LeakyReLU(0.01),
            nn.Linear(64, 64),
            nn.LeakyReLU(0.01),
            nn.Linear(64, 1),
        )
        og = torch.optim.Adam(g.parameters(), 0.002, betas=(0.5, 0.999))
        od = torch.optim.Adam(d.parameters(), 0.002, betas=(0.5, 0.999))
        bce = nn.functional.binary_cross_entropy_with_logits
        start = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(len(x))
            for b in range(0, len(x), 64):
                real = x[order[b : b + 64]]
                n = len(real)
                fake = g(torch.randn(n, 2))
                logits = d(torch.cat([real, fake.detach()]))
                loss = bce(logits[:n], torch.ones(n, 1)) + bce(logits[n:], torch.zeros(n, 1))
                od.zero_grad()
                loss.backward()
                od.step()
                gen = bce(d(g(torch.randn(n, 2))), torch.ones(n, 1))
                og.zero_grad()
                gen.backward()
                og.step()
        times.append((time.perf_counter() - start) / epochs * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ref = torch_ms(args.epochs, args.rounds)
    rows = [
        ("nndsl numpy", nndsl_ms("numpy", args.epochs, args.rounds)),
        ("nndsl torch (cpu)", nndsl_ms("torch", args.epochs, args.rounds)),
        ("hand-written torch loop", ref),
    ]
    print(f"ms per epoch of {EXAMPLE.name} (32 + 32 steps), median of {args.rounds}")
    for name, ms in rows:
        print(f"  {name:<24} {ms:8.1f} ms   {ms / ref:5.2f}x the hand-written loop")


if __name__ == "__main__":
    main()
