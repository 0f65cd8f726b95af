"""Hand-written reference training loops the benchmarks compare nndsl against.

`NumpyMLP` is a careful NumPy float32 MLP (ReLU hidden layers, fused sigmoid/softmax
cross-entropy, Adam on one flat parameter buffer, preallocated buffers): the bar the
interpreter must meet. `torch_mlp` is the same model as a plain eager PyTorch loop.
`hand_epoch` is the hand-written PyTorch training loop the torch backend is timed against
(any module, fused Adam, optional bf16 autocast), and `training_rates` times the two.
"""

from __future__ import annotations

import numpy as np


def mlp_source(sizes: list[int], batch: int, binary: bool, extra: str = "") -> str:
    """The benchmark MLP as a .nn file: ReLU hidden layers, sigmoid or softmax output,
    Adam(lr=0.001); `extra` adds train settings."""
    layers = "\n".join(f"    dense({s}, activation=relu)" for s in sizes[1:-1])
    out_act = "sigmoid" if binary else "softmax"
    loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    return f"""
model bench {{
    input({sizes[0]})
{layers}
    dense({sizes[-1]}, activation={out_act})
}}
train bench {{
    loss = {loss}
    optimizer = adam(lr=0.001)
    batch_size = {batch}
    epochs = 1
{extra}}}
"""


class NumpyMLP:
    def __init__(self, sizes: list[int], batch: int, lr: float = 1e-3, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        shapes = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            shapes += [(a, b), (b,)]
        total = sum(int(np.prod(s)) for s in shapes)
        self.p = np.zeros(total, np.float32)
        self.g = np.zeros(total, np.float32)
        self.W, self.b, self.gW, self.gb = [], [], [], []
        off = 0
        for i, s in enumerate(shapes):
            n = int(np.prod(s))
            view, gview = self.p[off : off + n].reshape(s), self.g[off : off + n].reshape(s)
            if i % 2 == 0:
                lim = np.sqrt(6 / (s[0] + s[1]))
                view[...] = rng.uniform(-lim, lim, s)
                self.W.append(view)
                self.gW.append(gview)
            else:
                self.b.append(view)
                self.gb.append(gview)
            off += n
        self.m = np.zeros_like(self.p)
        self.v = np.zeros_like(self.p)
        self.tmp = np.zeros_like(self.p)
        self.t = 0
        self.lr = lr
        self.acts = {}

    def _bufs(self, n: int) -> list[np.ndarray]:
        if n not in self.acts:
            self.acts[n] = [np.empty((n, s), np.float32) for s in self.sizes[1:]]
        return self.acts[n]

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        hs = self._bufs(x.shape[0])
        inp = x
        last = len(self.W) - 1
        for i, (w, b, h) in enumerate(zip(self.W, self.b, hs)):
            np.matmul(inp, w, out=h)
            h += b
            if i < last:
                np.maximum(h, 0, out=h)
            inp = h
        z = hs[-1]
        n = x.shape[0]
        if z.shape[1] == 1:  # sigmoid + binary cross-entropy from logits
            e = np.exp(-np.abs(z))
            loss = float((np.maximum(z, 0) - z * y + np.log1p(e)).mean())
            d = np.where(z >= 0, 1 / (1 + e), e / (1 + e)) - y
            d /= n
        else:  # softmax + sparse cross-entropy
            s = z - z.max(axis=1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=1, keepdims=True)
            loss = float(-np.log(s[np.arange(n), y] + 1e-12).mean())
            s[np.arange(n), y] -= 1
            s /= n
            d = s
        for i in range(last, -1, -1):
            prev = x if i == 0 else hs[i - 1]
            np.matmul(prev.T, d, out=self.gW[i])
            np.sum(d, axis=0, out=self.gb[i])
            if i:
                d = d @ self.W[i].T
                d *= prev > 0
        self._adam()
        return loss

    def _adam(self, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> None:
        self.t += 1
        g, m, v, tmp = self.g, self.m, self.v, self.tmp
        m *= b1
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        c1 = 1 - b1**self.t
        c2 = 1 - b2**self.t
        np.sqrt(v, out=tmp)
        tmp /= np.sqrt(c2)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / c1
        self.p -= tmp

    def epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch: int,
        rng: np.random.Generator,
        xbuf: np.ndarray,
        ybuf: np.ndarray,
    ) -> None:
        order = rng.permutation(len(x))
        np.take(x, order, axis=0, out=xbuf, mode="clip")
        np.take(y, order, axis=0, out=ybuf, mode="clip")
        for s in range(0, len(x), batch):
            self.step(xbuf[s : s + batch], ybuf[s : s + batch])


def torch_mlp(sizes: list[int], lr: float = 1e-3):
    import torch

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    return model, opt


def torch_epoch(model, opt, x, y, batch: int, gen) -> None:
    import torch
    import torch.nn.functional as F

    order = torch.randperm(len(x), generator=gen)
    xs, ys = x[order], y[order]
    binary = ys.dtype.is_floating_point
    for s in range(0, len(x), batch):
        xb, yb = xs[s : s + batch], ys[s : s + batch]
        out = model(xb)
        loss = F.binary_cross_entropy_with_logits(out, yb) if binary else F.cross_entropy(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return torch


def median_times(contenders: dict, rounds: int, sync=lambda: None) -> dict[str, float]:
    """{name: median seconds of one call} over `rounds` calls each, after one warm-up
    call each (allocator, kernels, lazy imports); the contenders take turns per round,
    so that a slower moment of a shared machine falls on all of them; `sync` waits for
    a device to finish before and after each call."""
    import statistics
    import time

    times: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():
        fn()
    for _ in range(rounds):
        for key, fn in contenders.items():
            sync()
            t = time.perf_counter()
            fn()
            sync()
            times[key].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def hand_epoch(model, loss, device: str, bf16: bool):
    """epoch(x, y, batch, order) of a hand-written eager loop over tensors on `device`:
    the forward under bf16 autocast when asked, `loss`(float32 output, y), fused Adam
    (lr 0.001, as the torch backend's on CUDA); it returns the last loss unread, so that
    nothing waits for the device inside the epoch."""
    import torch

    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    kind = torch.device(device).type

    def epoch(x, y, batch: int, order):
        xs, ys = x[order], y[order]
        for s in range(0, len(x), batch):
            with torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16):
                out = model(xs[s : s + batch])
            value = loss(out.float(), ys[s : s + batch])
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
        return value.detach()

    return epoch


def training_rates(
    engine, hand, x: np.ndarray, y: np.ndarray, hand_xy: tuple, batch: int, rounds: int
) -> dict[str, float]:
    """{"nndsl torch": samples/s, "hand-written torch": samples/s}: the median of
    `rounds` epochs (median_times) of the torch backend's `engine` on (x, y) and of the
    `hand` epoch on its own tensors `hand_xy` (on the engine's device), both in the same
    shuffled orders. The hand loop's loss is read once per epoch (.item(), one sync), as
    nndsl reads its log."""
    import torch

    n, device = len(x), engine.device
    data = engine.prepare(x, y)
    orders = np.random.default_rng(1)

    def run_hand() -> None:
        hand(*hand_xy, batch, torch.as_tensor(orders.permutation(n), device=device)).item()

    contenders = {
        "nndsl torch": lambda: engine.train_epoch(data, orders.permutation(n), batch),
        "hand-written torch": run_hand,
    }
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    return {k: n / t for k, t in median_times(contenders, rounds, sync).items()}
