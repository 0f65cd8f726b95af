"""Recurrent layers on the torch backend beside plain nn.LSTM / nn.GRU, in one run.

Layer: LSTM(64) (and GRU(64)) over 50 steps of 32 features, batch 64, forward +
backward of sum(output), float32. Contenders:
  - nndsl torch: the layer as the torch backend lowers it (the fused kernel, from
    Keras-layout parameters rearranged in each forward);
  - declared: the op's declaration run step by step on torch's primitives (the path
    for activations the fused kernels lack; the torch backend's only path before);
  - nn.LSTM / nn.GRU: torch's own module;
  - nndsl numpy: the NumPy backend's kernel, forward + backward.
Medians over interleaved rounds; ratios against torch's own module. Target: nndsl
torch <= 1.2x nn.LSTM on CPU.

    python benchmarks/bench_recurrent.py [--device cpu|cuda] [--rounds 20] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import nndsl
from nndsl.backends.torch.layers_recurrent import FusedRecurrent
from nndsl.backends.torch.lowering import load_weights
from nndsl.backends.torch.primitives import Composed

sys.path.insert(0, str(Path(__file__).parent))
from _reference import median_times  # noqa: E402

STEPS, FEATURES, UNITS, BATCH = 50, 32, 64, 64


def recurrent_model(op: str):
    """A built NumPy model holding one `op`(64) layer named r over (50, 32)."""
    source = f"model m {{\n input({STEPS}, {FEATURES})\n r = {op}({UNITS})\n}}"
    return nndsl.compile_string(source).build(backend="numpy", seed=0)


def torch_module(op: str) -> torch.nn.Module:
    """torch's own layer of the same size (its own initialization: timing only)."""
    cls = torch.nn.LSTM if op == "lstm" else torch.nn.GRU
    return cls(FEATURES, UNITS, batch_first=True)


def contenders(op: str, device: str) -> dict[str, Callable[[], None]]:
    model = recurrent_model(op)
    node = model.graph["r"]
    weights = {k.removeprefix("r."): v for k, v in model.get_weights().items()}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype(np.float32)
    tx = torch.from_numpy(x).to(device)

    def backward_of(module: torch.nn.Module, last: bool) -> Callable[[], None]:
        def step() -> None:
            for p in module.parameters():
                p.grad = None
            out = module(tx)
            out = out[0][:, -1] if last else out  # torch's module: (sequence, state)
            out.sum().backward()

        return step

    fused, declared = FusedRecurrent(node), Composed(node)
    for module in (fused, declared):
        module.to(device)
        load_weights(module, weights)
    engine, ones = model.engine, np.ones((BATCH, UNITS), np.float32)

    def numpy_step() -> None:  # the same sum(output): its gradient is ones
        engine.grad_forward([x])
        engine.grad_backward(ones)

    out = {
        "nndsl torch": backward_of(fused, last=False),
        "declared": backward_of(declared, last=False),
        f"nn.{op.upper()}": backward_of(torch_module(op).to(device), last=True),
    }
    if device == "cpu":
        out["nndsl numpy"] = numpy_step
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    print(
        f"forward + backward, {STEPS} steps x {FEATURES} features, batch {BATCH}, "
        f"{UNITS} units, float32, {args.device}, {args.threads} thread(s)"
    )
    print(f"{'layer':6} {'contender':12} {'ms':>8} {'ratio':>7}")
    for op in ("lstm", "gru"):
        times = median_times(contenders(op, args.device), args.rounds, sync)
        reference = times[f"nn.{op.upper()}"]
        for name, t in times.items():
            print(f"{op:6} {name:12} {t * 1e3:8.2f} {t / reference:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
