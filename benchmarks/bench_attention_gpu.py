"""B (GPU): training samples/s of bench_attention.py's transformer on a CUDA GPU, float32
and bf16 autocast, the nndsl torch backend against a hand-written PyTorch loop.

Model: bench_attention.py's (token ids, context 128 -> embedding + positional_embedding
-> 2 x transformer_encoder(4 heads x 32, ff 512, causal) -> layer_norm -> dense(64);
MSE, Adam(lr=0.001), batch 32). bf16 is nndsl's `mixed_precision = bf16`: the forward
under torch.autocast(bfloat16) with float32 weights, the loss in float32; the hand loop
does the same by hand. Both use fused Adam, as the torch backend does on CUDA.

    python benchmarks/bench_attention_gpu.py [--steps 50] [--rounds 3]
    python benchmarks/bench_attention_gpu.py --device cpu --steps 2   # smoke run

Without a CUDA GPU (and no --device cpu) it prints "no CUDA GPU: skipped" and exits 0.
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
from _reference import hand_epoch, training_rates  # noqa: E402
from bench_attention import CONTEXT, HEADS, LAYERS, SOURCE, VOCAB, WIDTH, HandGPT  # noqa: E402


def measure(device: torch.device, bf16: bool, steps: int, batch: int, rounds: int) -> dict:
    """{contender: samples/s}, the median of `rounds` timed epochs of `steps` steps; the
    hand-written model in the hand loop of _reference.py (autocast forward, float32 MSE,
    fused Adam)."""
    n = batch * steps
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (n, CONTEXT)).astype(np.float32)
    y = rng.normal(size=(n, CONTEXT, VOCAB)).astype(np.float32)
    engine = (
        nndsl.compile_string(SOURCE)
        .build(
            backend="torch", device=str(device), seed=0, mixed_precision="bf16" if bf16 else "none"
        )
        .engine
    )
    hand = hand_epoch(HandGPT(), F.mse_loss, str(device), bf16)
    hand_xy = (torch.from_numpy(x).long().to(device), torch.from_numpy(y).to(device))
    return training_rates(engine, hand, x, y, hand_xy, batch, rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (smoke run)")
    parser.add_argument("--steps", type=int, default=50, help="training steps per timed epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU: skipped")
        return 0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"transformer training: {LAYERS} layers, {HEADS} heads, d={WIDTH}, context "
        f"{CONTEXT}, batch {args.batch}, {name}, {args.steps} steps, median of {args.rounds}"
    )
    for bf16 in (False, True):
        rate = measure(device, bf16, args.steps, args.batch, args.rounds)
        print(f"  {'bf16 autocast' if bf16 else 'float32'}:")
        for key, r in rate.items():
            print(f"    {key:<20} {r:10,.0f} samples/s")
        ratio = rate["hand-written torch"] / rate["nndsl torch"]
        print(f"    torch backend time / hand loop: {ratio:5.2f}x (target <= 1.10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
