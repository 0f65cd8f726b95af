"""Two-node DDP on one machine: time per epoch against one process, and the all-reduce's
share of a step.

An MLP (64-512-512-10, ~300k weights, batch 256, Adam) on 8,192 rows of an .npz, trained by
`nndsl run --backend torch --device cpu` as it is used: one process (one thread, and two),
and two "nodes" of one process each meeting at 127.0.0.1 (`--nnodes 2 --node-rank K
--master 127.0.0.1:PORT`, gloo). Time per epoch: the median of the epochs after the first,
as the run prints them.

The all-reduce's share: two processes under torchrun time the same engine's training
step (forward, backward, Adam) as DDP runs it, inside `no_sync()` (the backward without
its gradient all-reduce), and an all_reduce of a tensor of the gradients' size alone.
DDP overlaps its all-reduce with the backward, so the step's growth over `no_sync` is
the exposed communication, the all_reduce alone its whole cost.

    python benchmarks/bench_ddp.py [--epochs 6] [--rows 8192] [--steps 40]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _reference import mlp_source  # noqa: E402

from nndsl.backends.torch.distributed import free_local_port  # noqa: E402

SIZES, BATCH = [64, 512, 512, 10], 256


def source(rows_file: str = "bench.npz") -> str:
    return mlp_source(SIZES, BATCH, False, f'    data = npz("{rows_file}")\n')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per variant")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return step_worker(args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(args.rows, SIZES[0])).astype(np.float32)
        np.savez(folder / "bench.npz", x=x, y=rng.integers(0, SIZES[-1], args.rows))
        (folder / "bench.nn").write_text(source())
        run = ["-m", "nndsl", "run", "bench.nn", "--backend", "torch", "--device", "cpu"]
        run += ["--epochs", str(args.epochs)]
        epochs = {
            "1 process, 1 thread": epoch_seconds(folder, [run], threads=1),
            "1 process, 2 threads": epoch_seconds(folder, [run], threads=2),
            "2 nodes x 1 process": epoch_seconds(folder, node_commands(run, 2), threads=1),
        }
        steps = step_times(folder, args.steps)
    base = epochs["1 process, 1 thread"]
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, {args.rows} rows, CPU, gloo")
    print(f"{'run':<24}{'s / epoch':>10}{'vs 1 process':>14}")
    for name, seconds in epochs.items():
        print(f"{name:<24}{seconds:>10.3f}{seconds / base:>13.2f}x")
    full, alone = steps["step"], steps["no_sync"]
    print(f"\nstep of 2 DDP processes (local batch {BATCH // 2}), median of {args.steps}:")
    print(f"{'step with its all-reduce':<34}{full * 1e3:>8.2f} ms")
    print(f"{'step in no_sync()':<34}{alone * 1e3:>8.2f} ms")
    exposed = (full - alone) / full
    print(f"{'exposed communication':<34}{(full - alone) * 1e3:>8.2f} ms  {exposed:>5.1%}")
    share = steps["all_reduce"] / full
    print(
        f"{'all_reduce of the gradients alone':<34}{steps['all_reduce'] * 1e3:>8.2f} ms  "
        f"{share:>5.1%}  ({steps['floats']:,} floats)"
    )
    return 0


def node_commands(run: list[str], nodes: int) -> list[list[str]]:
    master = f"127.0.0.1:{free_local_port()}"
    launch = ["--nnodes", str(nodes), "--master", master]
    return [[*run, *launch, "--node-rank", str(k), "--out", "runs/nodes"] for k in range(nodes)]


def epoch_seconds(folder: Path, commands: list[list[str]], threads: int) -> float:
    """Median seconds per epoch after the first, as the first command's run prints them;
    the commands run at once (the nodes of one run)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = [
        subprocess.Popen(
            [sys.executable, *c], cwd=folder, env=env, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    logs = [p.communicate(timeout=600)[1] for p in started]
    if any(p.returncode for p in started):
        raise SystemExit("\n".join(logs))
    ms = [float(v) for v in re.findall(r"^epoch \d+/\d+ .*\((\d+) ms\)$", logs[0], re.M)]
    return statistics.median(ms[1:]) / 1e3


def step_times(folder: Path, steps: int) -> dict[str, float]:
    """Two processes under torchrun time a DDP step (see step_worker): rank 0's numbers."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node=2", __file__, "--worker", "--steps", str(steps)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(re.search(r"^RESULT (.*)$", done.stdout, re.M).group(1))


def step_worker(steps: int) -> int:
    """One of two processes: the engine (DDP-wrapped, as under `nndsl run --nproc 2`)
    times its training step with and without the gradient all-reduce, in turns."""
    import torch
    import torch.distributed as dist

    import nndsl

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    engine = nndsl.compile_string(source()).build(backend="torch", device="cpu").engine
    rng = np.random.default_rng(rank)
    local = BATCH // world
    x = rng.normal(size=(local, SIZES[0])).astype(np.float32)
    data = engine.prepare(x, rng.integers(0, SIZES[-1], local))
    ddp = engine.train_call

    def step() -> None:
        loss, _, _ = engine.train_forward(data.xs, data.y, BATCH)
        engine.train_step(loss)

    def quiet_step() -> None:
        with ddp.no_sync():
            step()

    grads = torch.zeros(sum(p.numel() for p in engine.params))
    times: dict[str, list[float]] = {"step": [], "no_sync": [], "all_reduce": []}
    calls = {"step": step, "no_sync": quiet_step, "all_reduce": lambda: dist.all_reduce(grads)}
    for _ in range(5):  # warm-up
        for fn in calls.values():
            fn()
    for _ in range(steps):
        for name, fn in calls.items():
            dist.barrier()  # both start together: no waiting for the other timed
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    result = {k: statistics.median(v) for k, v in times.items()}
    result["floats"] = grads.numel()
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
