"""Forward + backward time per batch of convolutional and recurrent models: the NumPy
backend beside PyTorch on the CPU, in one run.

C1: a small CNN on 28x28x1 images, batch 64: conv2d(16, 3, relu), max_pool2d(2),
    conv2d(32, 3, relu), max_pool2d(2), flatten, dense(10), cross-entropy.
R1: lstm(64) over 50 steps of 32 features, batch 64, then dense(10), cross-entropy.

Contenders: the NumPy engine (its forward, loss and backward; no optimizer step), the
torch backend (the same graph lowered: channels-last convolutions, a hand-written LSTM
cell), and plain PyTorch as one would write it (nn.Conv2d on NCHW, nn.LSTM). They run
interleaved, several rounds; medians and the ratios numpy / torch are printed. Target
(issue 5): numpy <= 3x plain torch for both. BLAS and torch use `--threads` threads each.

    python benchmarks/bench_layers.py [--rounds 5] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import nndsl

CNN = """
model cnn {
    input(28, 28, 1)
    conv2d(16, 3, activation=relu)
    max_pool2d(2)
    conv2d(32, 3, activation=relu)
    max_pool2d(2)
    flatten()
    dense(10, activation=softmax)
}
train cnn { loss = sparse_categorical_crossentropy }
"""

LSTM = """
model rnn {
    input(50, 32)
    lstm(64)
    dense(10, activation=softmax)
}
train rnn { loss = sparse_categorical_crossentropy }
"""


def numpy_step(source: str, x: np.ndarray, y: np.ndarray):
    """(step, x, y) with the batch prepared as the engine's trainer prepares it."""
    engine = nndsl.compile_string(source).build(backend="numpy", seed=0).engine
    data = engine.prepare(x, y)

    def step(x: np.ndarray, y: np.ndarray) -> None:
        out = engine._forward([x], True)
        _, dout = engine._loss(out, y)
        engine._backward(dout)

    return step, data.xs[0], data.y


def torch_backend_step(source: str, x: np.ndarray, y: np.ndarray):
    engine = nndsl.compile_string(source).build(backend="torch", seed=0, device="cpu").engine
    engine.net.train()
    data = engine.prepare(x, y)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = engine._loss(engine._forward([x], True), y)
        for p in engine.params:
            p.grad = None
        loss.backward()

    return step, data.xs[0], data.y


def plain_torch_step(model: torch.nn.Module, channels_first: bool):
    params = list(model.parameters())

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        inp = x.permute(0, 3, 1, 2).contiguous() if channels_first else x
        loss = F.cross_entropy(model(inp), y)
        for p in params:
            p.grad = None
        loss.backward()

    return step


class LastStep(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(32, 64, batch_first=True)
        self.out = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.lstm(x)[0][:, -1])


def plain_cnn() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 5 * 5, 10),
    )


def time_steps(step, x, y, steps: int) -> float:
    """Median-friendly: seconds per step over `steps` steps (after one warm-up)."""
    step(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    return (time.perf_counter() - start) / steps


def bench(name: str, source: str, plain, shape, rounds: int, steps: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, *shape)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    contenders = {
        "numpy": numpy_step(source, x, y),
        "torch backend": torch_backend_step(source, x, y),
        "plain torch": (plain, xt, yt),
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for key, (step, xs, ys) in contenders.items():
            times[key].append(time_steps(step, xs, ys, steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{name}")
    for key, t in med.items():
        print(f"  {key:<14} {t * 1e3:8.2f} ms per batch (forward + backward)")
    print(f"  numpy / plain torch   = {med['numpy'] / med['plain torch']:.2f}x  (target <= 3x)")
    print(f"  numpy / torch backend = {med['numpy'] / med['torch backend']:.2f}x")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 round, few steps")
    args = parser.parse_args()
    rounds, steps = (1, 3) if args.quick else (args.rounds, 10)
    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:  # pragma: no cover
        print("(threadpoolctl missing: BLAS uses its default threads)")
    torch.manual_seed(0)
    print(f"threads: {args.threads} (torch and BLAS), float32, batch 64")
    bench("C1 CNN 28x28x1", CNN, plain_torch_step(plain_cnn(), True), (28, 28, 1), rounds, steps)
    bench(
        "R1 LSTM(64), 50 steps", LSTM, plain_torch_step(LastStep(), False), (50, 32), rounds, steps
    )


if __name__ == "__main__":
    main()
