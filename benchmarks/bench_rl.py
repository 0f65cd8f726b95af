"""DQN on CartPole: environment steps per second on the NumPy and torch backends, and
(--solve) how many steps it takes to reach a mean return of 475 over 100 greedy
evaluation episodes, per seed.

    python benchmarks/bench_rl.py                 # steps/s, both backends
    python benchmarks/bench_rl.py --solve 0 1 2   # steps to solve, per seed (slow)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import nndsl
from nndsl.agent_run import fit_agent
from nndsl.rl.algorithms import play
from nndsl.rl.envs import CartPole

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "rl" / "cartpole_dqn.nn"


def steps_per_second(backend: str, steps: int) -> float:
    program = nndsl.compile_file(EXAMPLE, [f"steps={steps}"])
    if backend == "torch":
        import torch

        torch.set_num_threads(1)  # 64-unit layers: more threads only wait on each other
    model = program.build(backend=backend, **({"device": "cpu"} if backend == "torch" else {}))
    started = time.perf_counter()
    history = fit_agent(model)
    return history["steps"][-1] / (time.perf_counter() - started)


def steps_to_solve(seed: int, budget: int, every: int, episodes: int) -> int | None:
    program = nndsl.compile_file(EXAMPLE, [f"steps={budget}", f"seed={seed}"])
    model = program.build()
    found: list[int] = []
    next_check = [every]

    def check(n: int, row: dict) -> None:
        if found or row["steps"] < next_check[0]:
            return
        next_check[0] += every
        returns = play(model.engine, CartPole(), episodes, seed + 1000)
        print(f"  seed {seed}: {int(row['steps'])} steps, eval mean {np.mean(returns):.1f}")
        if np.mean(returns) >= 475:
            found.append(int(row["steps"]))
            raise StopIteration

    try:
        fit_agent(model, check)
    except StopIteration:
        pass
    return found[0] if found else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--solve", type=int, nargs="*", help="seeds to train to 475")
    parser.add_argument("--budget", type=int, default=100000)
    parser.add_argument("--every", type=int, default=5000, help="steps between evaluations")
    parser.add_argument("--steps", type=int, default=3000, help="steps for the speed test")
    args = parser.parse_args()
    if args.solve:
        for seed in args.solve:
            print(f"seed {seed}: solved at {steps_to_solve(seed, args.budget, args.every, 100)}")
        return
    for backend in ("numpy", "torch"):
        print(f"{backend}: {steps_per_second(backend, args.steps):,.0f} env steps/s")


if __name__ == "__main__":
    main()
