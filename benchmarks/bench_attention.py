"""B: one training step of a small GPT-style transformer, side by side on the CPU: the
NumPy backend, the torch backend and a hand-written PyTorch loop of the same model.

Model: token ids (context 128) -> embedding(64, 128) + positional_embedding(128) -> 2 x
the standard library's transformer_encoder(4 heads x 32, ff 512, causal) -> layer_norm ->
dense(64) at every position; MSE against random targets, Adam(lr=0.001), batch 32,
float32. Targets (issue 14): torch backend <= 1.10x the hand loop, NumPy <= 3x torch.

    python benchmarks/bench_attention.py [--rounds 3] [--steps 2] [--torch-only]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import nndsl

sys.path.insert(0, str(Path(__file__).parent))
from _reference import median_times  # noqa: E402

CONTEXT, VOCAB, WIDTH, HEADS, FF, LAYERS, BATCH = 128, 64, 128, 4, 512, 2, 32

SOURCE = f"""
use std
model gpt {{
    tokens = input({CONTEXT})
    embedding({VOCAB}, {WIDTH})
    positional_embedding({CONTEXT})
    repeat {LAYERS} {{
        transformer_encoder({HEADS}, {WIDTH // HEADS}, {FF}, causal=true)
    }}
    layer_norm()
    dense({VOCAB})
}}
train gpt {{ loss = mse  optimizer = adam(lr=0.001)  batch_size = {BATCH} }}
"""


class Block(torch.nn.Module):
    """Pre-norm: x + attn(ln(x)), then h + ff(ln(h)); attention with SDPA, causal."""

    def __init__(self) -> None:
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(WIDTH), torch.nn.LayerNorm(WIDTH)
        self.qkv = torch.nn.Linear(WIDTH, 3 * WIDTH)
        self.out = torch.nn.Linear(WIDTH, WIDTH)
        self.ff1, self.ff2 = torch.nn.Linear(WIDTH, FF), torch.nn.Linear(FF, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        h = x + self.out(o.transpose(1, 2).reshape(b, t, WIDTH))
        return h + self.ff2(F.gelu(self.ff1(self.ln2(h))))


class HandGPT(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, WIDTH)
        self.pos = torch.nn.Parameter(torch.randn(CONTEXT, WIDTH) / math.sqrt(WIDTH))
        self.blocks = torch.nn.Sequential(*(Block() for _ in range(LAYERS)))
        self.ln, self.head = torch.nn.LayerNorm(WIDTH), torch.nn.Linear(WIDTH, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.ln(self.blocks(self.embed(tokens) + self.pos)))


def hand_written():
    model = HandGPT()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch(x, y, order):
        for s in range(0, len(x), BATCH):
            idx = order[s : s + BATCH]
            loss = F.mse_loss(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return loss.detach().item()

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed epoch")
    parser.add_argument(
        "--torch-only", action="store_true", help="leave the NumPy backend out (the slowest)"
    )
    args = parser.parse_args()
    n = BATCH * args.steps
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (n, CONTEXT)).astype(np.float32)
    y = rng.normal(size=(n, CONTEXT, VOCAB)).astype(np.float32)
    program = nndsl.compile_string(SOURCE)
    backends = ("torch",) if args.torch_only else ("numpy", "torch")
    engines = {b: program.build(backend=b, seed=0).engine for b in backends}
    data = {b: e.prepare(x, y) for b, e in engines.items()}
    hand = hand_written()
    tx, ty = torch.from_numpy(x).long(), torch.from_numpy(y)
    orders = np.random.default_rng(1)
    contenders = {
        f"nndsl {b}": lambda b=b: engines[b].train_epoch(data[b], orders.permutation(n), BATCH)
        for b in backends
    }
    contenders["hand-written torch"] = lambda: hand(tx, ty, torch.as_tensor(orders.permutation(n)))
    med = {k: t / args.steps for k, t in median_times(contenders, args.rounds).items()}
    print(
        f"transformer step: {LAYERS} layers, {HEADS} heads, d={WIDTH}, context {CONTEXT}, "
        f"batch {BATCH}, CPU, {torch.get_num_threads()} threads, median of {args.rounds}"
    )
    for key, t in med.items():
        print(f"  {key:<20} {t * 1e3:9.1f} ms/step")
    torch_vs_hand = med["nndsl torch"] / med["hand-written torch"]
    print(f"  torch backend / hand loop: {torch_vs_hand:5.2f}x (target <= 1.10x)")
    if "nndsl numpy" in med:
        numpy_vs_torch = med["nndsl numpy"] / med["nndsl torch"]
        print(f"  numpy backend / torch backend: {numpy_vs_torch:5.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
