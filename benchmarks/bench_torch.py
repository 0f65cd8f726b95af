"""Training speed of the torch backend beside a hand-written PyTorch loop, in one run.

B1: 784-256-128-10 MLP, 60,000 samples, batch 128, Adam: seconds per epoch.
B2: 30-16-8-1 MLP, 455 samples, batch 32, Adam: us per step.
The hand-written loop keeps the dataset as tensors on the device and uses fused Adam
(issue 4's reference). Contenders run interleaved, several rounds; medians, samples/s and
the ratio nndsl / hand-written are printed. Targets: <= 1.05x on CPU, <= 1.10x on GPU.
On CUDA each benchmark also runs with bf16 autocast on both sides.

    python benchmarks/bench_torch.py [--device cpu|cuda] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import nndsl

sys.path.insert(0, str(Path(__file__).parent))
from _reference import hand_epoch, mlp_source, training_rates  # noqa: E402


def nndsl_engine(sizes: list[int], batch: int, binary: bool, device: str, bf16: bool):
    extra = f"    mixed_precision = {'bf16' if bf16 else 'none'}\n"
    source = mlp_source(sizes, batch, binary, extra)
    return nndsl.compile_string(source).build(backend="torch", device=device, seed=0).engine


def mlp_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The fused loss of mlp_source's output: sigmoid or softmax cross-entropy."""
    if y.dtype.is_floating_point:
        return F.binary_cross_entropy_with_logits(out, y)
    return F.cross_entropy(out, y)


def hand_written(sizes: list[int], device: str, bf16: bool):
    """An eager nn.Sequential MLP with fused Adam; returns epoch(x, y, batch, order)."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return hand_epoch(torch.nn.Sequential(*layers), mlp_loss, device, bf16)


def measure(sizes, n, batch, rounds, binary, device, bf16=False) -> dict[str, float]:
    """{contender: samples/s} of the MLP `sizes` on n random samples, one epoch a round."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, sizes[0])).astype(np.float32)
    y = (rng.random((n, 1)) > 0.5).astype(np.float32) if binary else rng.integers(0, sizes[-1], n)
    engine = nndsl_engine(sizes, batch, binary, device, bf16)
    hand_xy = (torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
    hand = hand_written(sizes, device, bf16)
    return training_rates(engine, hand, x, y, hand_xy, batch, rounds)


def bench(name, sizes, n, batch, rounds, binary, device, bf16=False) -> float:
    rates = measure(sizes, n, batch, rounds, binary, device, bf16)
    steps = -(-n // batch)
    base = n / rates["hand-written torch"]
    tag = " bf16" if bf16 else ""
    print(f"\n{name}{tag}: {'-'.join(map(str, sizes))}, {n} samples, batch {batch}, {device}, "
          f"{torch.get_num_threads()} threads, median of {rounds}")  # fmt: skip
    for key, rate in rates.items():
        t = n / rate
        print(f"  {key:<20} {t:8.3f} s/epoch {t / steps * 1e6:9.1f} us/step "
              f"{rate:12,.0f} samples/s {t / base:6.2f}x")  # fmt: skip
    return rates["hand-written torch"] / rates["nndsl torch"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    ap.add_argument("--quick", action="store_true", help="B2 only")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    target = 1.05 if args.device == "cpu" else 1.10
    precisions = [False, True] if torch.device(args.device).type == "cuda" else [False]
    for bf16 in precisions:
        r2 = bench("B2", [30, 16, 8, 1], 455, 32, max(args.rounds, 20), True, args.device, bf16)
        print(f"  B2 ratio nndsl/hand: {r2:.2f}x (target <= {target}x)")
        if not args.quick:
            r1 = bench("B1", [784, 256, 128, 10], 60000, 128, args.rounds, False, args.device, bf16)
            print(f"  B1 ratio nndsl/hand: {r1:.2f}x (target <= {target}x)")


if __name__ == "__main__":
    main()
