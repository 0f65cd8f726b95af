"""Environments an agent learns in, each with Gymnasium's interface: `reset(rng)` gives
the first observation, `step(action)` gives (observation, reward, terminated, truncated).
Observations are float64 vectors; actions are integers in [0, actions).

CartPole and the grid world are NumPy, with nothing to install; `gym("Name")` wraps a
Gymnasium environment (the `gym` extra), imported only when one is made."""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.agents import env_spaces
from nndsl.ir.signature import Spec


class Env(Protocol):
    observation_size: int
    actions: int
    max_steps: int

    def reset(self, rng: np.random.Generator) -> np.ndarray: ...

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]: ...


class CartPole:
    """Gymnasium's CartPole-v1, step for step: a pole on a cart pushed left (action 0) or
    right (1) with 10 N, Euler integration every 0.02 s, +1 reward per step, terminated
    when the pole leans past 12 degrees or the cart leaves [-2.4, 2.4], truncated after
    500 steps. The state starts uniform in [-0.05, 0.05] (the generator's draws, as
    Gymnasium's `reset(seed=...)` makes them). Observation: (x, x', theta, theta')."""

    observation_size = 4
    actions = 2
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masspole + masscart
    polemass_length = masspole * length
    theta_threshold = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, max_steps: int = 500) -> None:
        self.max_steps = max_steps
        self.state = np.zeros(4)
        self.steps = 0

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        self.state = rng.uniform(low=-0.05, high=0.05, size=(4,))
        self.steps = 0
        return self.state.copy()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        x, x_dot, theta, theta_dot = (float(v) for v in self.state)
        force = self.force_mag if action == 1 else -self.force_mag
        cos, sin = math.cos(theta), math.sin(theta)
        # the same expressions in the same order as Gymnasium: equal to the last bit
        temp = (force + self.polemass_length * np.square(theta_dot) * sin) / self.total_mass
        thetaacc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(cos) / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * cos / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = np.array((x, x_dot, theta, theta_dot), dtype=np.float64)
        self.steps += 1
        terminated = bool(
            x < -self.x_threshold
            or x > self.x_threshold
            or theta < -self.theta_threshold
            or theta > self.theta_threshold
        )
        return self.state.copy(), 1.0, terminated, self.steps >= self.max_steps

    def state_dict(self) -> dict[str, Any]:
        return {"state": self.state.copy(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = np.array(state["state"], np.float64).reshape(4)
        self.steps = int(state["steps"])


class GridWorld:
    """A size x size grid: the agent starts in the top-left cell and walks up, down, left
    or right (actions 0-3; into the border or a wall it stays) to the goal in the
    bottom-right cell. Reward -1 per step, the episode ends at the goal (truncated after
    `max_steps`). Observation: one-hot of the cell (size * size). Without walls the best
    return is -(2 * size - 2), the shortest path's length."""

    actions = 4
    MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))

    def __init__(self, size: int = 4, walls: list[int] | None = None, max_steps: int = 50) -> None:
        self.size = size
        self.observation_size = size * size
        self.walls = {int(w) for w in walls or ()}
        self.goal = size * size - 1
        self.max_steps = max_steps
        self.cell = 0
        self.steps = 0

    @property
    def optimal_return(self) -> float:
        """Minus the shortest path's length from start to goal (breadth-first)."""
        frontier, seen, depth = [0], {0}, 0
        while frontier:
            if self.goal in frontier:
                return -float(depth)
            nxt = []
            for cell in frontier:
                for a in range(4):
                    c = self._move(cell, a)
                    if c not in seen:
                        seen.add(c)
                        nxt.append(c)
            frontier, depth = nxt, depth + 1
        raise NNDSLError("the grid world's walls cut the start off from the goal")

    def _move(self, cell: int, action: int) -> int:
        row, col = divmod(cell, self.size)
        dr, dc = self.MOVES[action]
        r, c = row + dr, col + dc
        if not (0 <= r < self.size and 0 <= c < self.size) or r * self.size + c in self.walls:
            return cell
        return r * self.size + c

    def _observe(self) -> np.ndarray:
        obs = np.zeros(self.observation_size)
        obs[self.cell] = 1.0
        return obs

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        self.cell, self.steps = 0, 0
        return self._observe()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        self.cell = self._move(self.cell, int(action))
        self.steps += 1
        return self._observe(), -1.0, self.cell == self.goal, self.steps >= self.max_steps

    def state_dict(self) -> dict[str, Any]:
        return {"cell": self.cell, "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        cell = int(state["cell"])
        if not 0 <= cell < self.observation_size or cell in self.walls:
            raise NNDSLError(f"cell {cell} is not a free cell of the grid")
        self.cell, self.steps = cell, int(state["steps"])


class GymEnv:
    """A Gymnasium environment with a discrete action space and a vector observation;
    each reset seeds it from the run's generator, so a seeded run repeats. Gymnasium
    gives no way to save an environment's state: its runs have no checkpoint."""

    def __init__(self, name: str) -> None:
        import gymnasium

        self.env = gymnasium.make(name)
        self.observation_size = int(np.prod(self.env.observation_space.shape))
        self.actions = int(self.env.action_space.n)
        self.max_steps = int(getattr(self.env.spec, "max_episode_steps", None) or 0)

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        obs, _ = self.env.reset(seed=int(rng.integers(2**31)))
        return np.asarray(obs, dtype=np.float64).reshape(-1)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        obs, reward, terminated, truncated, _ = self.env.step(int(action))
        obs = np.asarray(obs, dtype=np.float64).reshape(-1)
        return obs, float(reward), bool(terminated), bool(truncated)


def make_env(spec: Spec) -> Any:
    """The environment `spec` (an entry of the "env" catalog, nndsl.ir.agents) names."""
    env_spaces(spec)  # the same refusal a file gets for an unknown or continuous env
    if spec.name == "cartpole":
        return CartPole(spec.args.get("max_steps", 500))
    if spec.name == "gridworld":
        return GridWorld(
            spec.args.get("size", 4), spec.args.get("walls"), spec.args.get("max_steps", 50)
        )
    return GymEnv(spec.args["name"])
