"""DQN on CartPole: environment steps per second on the NumPy and torch backends and of
a hand-written PyTorch DQN of the same network and settings (plain torch, the replay
buffer in NumPy, the same NumPy CartPole), in one run; and (--solve) how many steps it
takes to reach a mean return of 475 over 100 greedy evaluation episodes, per seed.

    python benchmarks/bench_rl.py                 # steps/s: nndsl numpy, nndsl torch, torch
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


def hand_written_torch(steps: int, seed: int = 0) -> float:
    """Env steps/s of the DQN a PyTorch user writes: the example's network (4-64-64-2,
    relu), adam(5e-4), buffer 50,000, batch 64, gamma 0.99, target copied every 500
    steps, epsilon linear(1.0, 0.05, 10,000), Double DQN, mse, learning from step 1,000."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)

    def network() -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Linear(4, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 2),
        )

    online, target = network(), network()
    target.load_state_dict(online.state_dict())
    optimizer = torch.optim.Adam(online.parameters(), lr=5e-4)
    capacity, batch, gamma = 50000, 64, 0.99
    obs_buf, next_buf = np.zeros((capacity, 4), np.float32), np.zeros((capacity, 4), np.float32)
    act_buf, rew_buf, done_buf = (
        np.zeros(capacity, np.int64),
        np.zeros(capacity),
        np.zeros(capacity),
    )
    rng = np.random.default_rng(seed)
    env = CartPole()
    obs, size, at = env.reset(rng), 0, 0
    started = time.perf_counter()
    for step in range(steps):
        epsilon = 1.0 + (0.05 - 1.0) * min(step / 10000, 1.0)
        if step < 1000 or rng.random() < epsilon:
            action = int(rng.integers(2))
        else:
            with torch.no_grad():
                q = online(torch.as_tensor(obs, dtype=torch.float32)[None])
            action = int(q.argmax(1)[0])
        next_obs, reward, terminated, truncated = env.step(action)
        obs_buf[at], act_buf[at], rew_buf[at] = obs, action, reward
        next_buf[at], done_buf[at] = next_obs, float(terminated)
        at, size = (at + 1) % capacity, min(size + 1, capacity)
        obs = env.reset(rng) if terminated or truncated else next_obs
        if step + 1 >= 1000:
            i = rng.integers(0, size, size=batch)
            o, n = torch.as_tensor(obs_buf[i]), torch.as_tensor(next_buf[i])
            r = torch.as_tensor(rew_buf[i], dtype=torch.float32)
            d = torch.as_tensor(done_buf[i], dtype=torch.float32)
            with torch.no_grad():
                best = online(n).argmax(1, keepdim=True)
                y = r + gamma * (1 - d) * target(n).gather(1, best)[:, 0]
            q = online(o).gather(1, torch.as_tensor(act_buf[i])[:, None])[:, 0]
            loss = torch.nn.functional.mse_loss(q, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if (step + 1) % 500 == 0:
            target.load_state_dict(online.state_dict())
    return steps / (time.perf_counter() - started)


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
    rates = {f"nndsl {b}": steps_per_second(b, args.steps) for b in ("numpy", "torch")}
    rates["hand-written torch"] = hand_written_torch(args.steps)
    numpy_rate = rates["nndsl numpy"]
    for name, rate in rates.items():
        print(
            f"{name:>18}: {rate:7,.0f} env steps/s  (nndsl numpy / this: {numpy_rate / rate:.2f})"
        )


if __name__ == "__main__":
    main()
