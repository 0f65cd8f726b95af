"""The algorithms an agent learns by, against the engine interface (nndsl.backends.base)
only, so both backends run them: an action is chosen from `predict_batch` of one
observation; a step is `grad_forward` of a batch of observations, the algorithm's loss
(a composition of primitives) differentiated by the engine (`differentiate`), then
`grad_backward` and `grad_step`. A DQN's target network is a second engine whose weights
are copied from the first (`get_weights`/`set_weights`).

Everything random (exploration, the replay buffer's samples, a policy's draws, the
environment's resets) comes from generators of the run's seed: on the NumPy backend the
same seed gives the same returns, bit for bit."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nndsl.backends.base import Engine
from nndsl.errors import NNDSLError
from nndsl.ir.agents import ALGORITHMS, epsilon_at
from nndsl.ir.signature import Spec

WINDOW = 100  # episodes in the mean return's window (CartPole-v1 is solved at 475 over 100)


def algorithm_args(spec: Spec) -> dict[str, Any]:
    """The spec's arguments with the declared defaults of those left out."""
    return {p.name: p.default for p in ALGORITHMS[spec.name].params} | dict(spec.args)


@dataclass
class Episode:
    """One training episode's record (a row of the run's history)."""

    reward: float  # the episode's return
    length: int
    loss: float  # mean loss of the updates during the episode (nan: none)
    epsilon: float  # exploration rate at its end (0 for a policy)
    steps: int  # environment steps so far


def to_host(engine: Engine, out: Any) -> np.ndarray:
    return engine.join_predictions([out])


# ---------------------------------------------------------------- losses, as primitives


def _td_loss(huber: bool) -> Callable[..., Any]:
    """Mean over the batch of the TD error's loss, err = Q(s, a) - target; `chosen` is
    one-hot of the actions taken. Huber (delta 1): 0.5 m^2 + relu(|e| - 1), m = min(|e|, 1)."""

    def loss(P: Any, values: list[Any]) -> Any:
        q, chosen, target = values
        err = P.sum(q * chosen, 1) - target
        if not huber:
            return P.mean(err * err, 0)
        a = P.abs(err)
        excess = P.relu(a - 1.0)
        m = a - excess
        return P.mean(0.5 * m * m + excess, 0)

    return loss


def _policy_loss(P: Any, values: list[Any]) -> Any:
    """-mean(log pi(a|s) * advantage): the policy gradient's surrogate."""
    logits, chosen, advantage = values
    log_probs = logits - P.logsumexp(logits, 1, keepdims=True)
    return -P.mean(P.sum(log_probs * chosen, 1) * advantage, 0)


def gradient_step(engine: Engine, fn: Callable[..., Any], obs: np.ndarray, *rest: np.ndarray):
    """One optimizer step of `engine` on loss fn(P, [output, *rest]) of observations `obs`;
    the loss as a float."""
    engine.set_mode(True)
    out = engine.grad_forward([engine.tensor(obs)])
    value, grads = engine.differentiate(fn, [out, *(engine.tensor(r) for r in rest)])
    engine.grad_backward(grads[0])
    engine.grad_step()
    return engine.host_floats([value])[0]


def greedy_action(engine: Engine, obs: np.ndarray) -> int:
    engine.set_mode(False)
    out = to_host(engine, engine.predict_batch([engine.tensor(obs[None])]))
    return int(np.argmax(out[0]))


# ---------------------------------------------------------------- DQN


class ReplayBuffer:
    """The last `capacity` transitions, in preallocated arrays written in a ring."""

    def __init__(self, capacity: int, observation_size: int) -> None:
        self.obs = np.zeros((capacity, observation_size))
        self.next_obs = np.zeros((capacity, observation_size))
        self.action = np.zeros(capacity, np.int64)
        self.reward = np.zeros(capacity)
        self.done = np.zeros(capacity)  # terminated (not truncated): no value after it
        self.capacity, self.size, self.at = capacity, 0, 0

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        i = self.at
        self.obs[i], self.action[i], self.reward[i] = obs, action, reward
        self.next_obs[i], self.done[i] = next_obs, float(terminated)
        self.at = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
        i = rng.integers(0, self.size, size=n)
        return self.obs[i], self.action[i], self.reward[i], self.next_obs[i], self.done[i]


class DQN:
    """Deep Q-learning: epsilon-greedy acting, a replay buffer, a target network copied
    every `target_update` steps; Double DQN picks the next action by the online network
    and values it by the target one (van Hasselt et al. 2016)."""

    def __init__(
        self, online: Engine, target: Engine, spec: Spec, batch_size: int, env: Any, seed: int
    ) -> None:
        self.a = algorithm_args(spec)
        self.online, self.target = online, target
        self.target.set_weights(online.get_weights())
        self.batch_size, self.actions = batch_size, env.actions
        self.buffer = ReplayBuffer(self.a["buffer"], env.observation_size)
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xD0])
        self.loss = _td_loss(self.a["loss"] == "huber")
        self.eye = np.eye(env.actions)
        self.steps = 0

    def epsilon(self) -> float:
        return epsilon_at(self.a["epsilon"], self.steps)

    def act(self, obs: np.ndarray) -> int:
        if self.steps < self.a["learn_start"] or self.rng.random() < self.epsilon():
            return int(self.rng.integers(self.actions))
        return greedy_action(self.online, obs)

    def observe(self, obs, action, reward, next_obs, terminated, done: bool) -> float | None:
        """Record a transition, learn when due; the step's loss, or None."""
        self.buffer.add(obs, action, reward, next_obs, terminated)
        self.steps += 1
        loss = None
        a = self.a
        if self.steps >= a["learn_start"] and self.steps % a["train_every"] == 0:
            if self.buffer.size >= self.batch_size:
                losses = [self._learn() for _ in range(a["gradient_steps"])]
                loss = float(np.mean(losses))
        if self.steps % a["target_update"] == 0:
            self.target.set_weights(self.online.get_weights())
        return loss

    def _learn(self) -> float:
        obs, action, reward, next_obs, done = self.buffer.sample(self.rng, self.batch_size)
        self.target.set_mode(False)
        next_q = to_host(self.target, self.target.predict_batch([self.target.tensor(next_obs)]))
        if self.a["double"]:
            self.online.set_mode(False)
            pick = to_host(self.online, self.online.predict_batch([self.online.tensor(next_obs)]))
            best = next_q[np.arange(len(pick)), np.argmax(pick, axis=1)]
        else:
            best = next_q.max(axis=1)
        target = reward + self.a["gamma"] * (1.0 - done) * best
        return gradient_step(self.online, self.loss, obs, self.eye[action], target)

    def end_episode(self) -> float | None:
        return None


# ---------------------------------------------------------------- REINFORCE


class Reinforce:
    """Monte-Carlo policy gradient: act by sampling the policy; after every `episodes`
    episodes, one step on their transitions with the discounted returns that followed
    each action as its weight (less their mean, over their std, with the baseline)."""

    def __init__(self, online: Engine, spec: Spec, env: Any, seed: int, logits: bool) -> None:
        self.a = algorithm_args(spec)
        self.online, self.actions, self.logits = online, env.actions, logits
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xAF])
        self.eye = np.eye(env.actions)
        self.obs: list[np.ndarray] = []
        self.taken: list[int] = []
        self.returns: list[float] = []
        self.rewards: list[float] = []
        self.finished = 0

    def epsilon(self) -> float:
        return 0.0

    def act(self, obs: np.ndarray) -> int:
        self.online.set_mode(False)
        out = to_host(self.online, self.online.predict_batch([self.online.tensor(obs[None])]))[0]
        probs = np.asarray(out, np.float64)
        if self.logits:  # a linear output: its softmax
            probs = np.exp(probs - probs.max())
        probs = probs / probs.sum()
        return int(self.rng.choice(self.actions, p=probs))

    def observe(self, obs, action, reward, next_obs, terminated, done: bool) -> None:
        self.obs.append(obs)
        self.taken.append(action)
        self.rewards.append(reward)

    def end_episode(self) -> float | None:
        g, returns = 0.0, []
        for r in reversed(self.rewards):
            g = r + self.a["gamma"] * g
            returns.append(g)
        self.returns.extend(reversed(returns))
        self.rewards = []
        self.finished += 1
        if self.finished % self.a["episodes"]:
            return None
        weight = np.asarray(self.returns)
        if self.a["baseline"] == "mean":
            weight = (weight - weight.mean()) / (weight.std() + 1e-8)
        obs, taken = np.asarray(self.obs), self.eye[self.taken]
        self.obs, self.taken, self.returns = [], [], []
        return gradient_step(self.online, _policy_loss, obs, taken, weight)


# ---------------------------------------------------------------- the loop


def train_agent(
    agent: Any,
    env: Any,
    steps: int,
    seed: int,
    max_episodes: int = 0,
    on_episode: Callable[[Episode], None] | None = None,
) -> list[Episode]:
    """Play episodes of `env` with `agent` until `steps` environment steps (the episode
    under way finishes) or `max_episodes` (0: no cap); one Episode per episode."""
    reset_rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xE1])
    episodes: list[Episode] = []
    total = 0
    while total < steps and (not max_episodes or len(episodes) < max_episodes):
        obs = env.reset(reset_rng)
        reward_sum, length, losses = 0.0, 0, []
        while True:
            action = agent.act(obs)
            next_obs, reward, terminated, truncated = env.step(action)
            loss = agent.observe(obs, action, reward, next_obs, terminated, terminated or truncated)
            if loss is not None:
                losses.append(loss)
            obs, reward_sum, length, total = next_obs, reward_sum + reward, length + 1, total + 1
            if terminated or truncated:
                break
        loss = agent.end_episode()
        if loss is not None:
            losses.append(loss)
        if losses and not all(math.isfinite(v) for v in losses):
            raise NNDSLError(
                f"the loss became {losses[-1]} in episode {len(episodes) + 1}",
                hint="lower the learning rate, or clip_norm = 1",
            )
        episode = Episode(
            reward_sum,
            length,
            float(np.mean(losses)) if losses else float("nan"),
            agent.epsilon(),
            total,
        )
        episodes.append(episode)
        if on_episode is not None:
            on_episode(episode)
    return episodes


def play(engine: Engine, env: Any, episodes: int, seed: int) -> list[float]:
    """Returns of `episodes` greedy episodes (the most valued or most likely action)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x91A7])
    out = []
    for _ in range(episodes):
        obs, total = env.reset(rng), 0.0
        while True:
            obs, reward, terminated, truncated = env.step(greedy_action(engine, obs))
            total += reward
            if terminated or truncated:
                break
        out.append(total)
    return out


def mean_returns(episodes: list[Episode], window: int = WINDOW) -> list[float]:
    """The mean return over the last `window` episodes, after each episode."""
    r = np.array([e.reward for e in episodes])
    c = np.concatenate([[0.0], np.cumsum(r)])
    return [
        float((c[i + 1] - c[max(0, i + 1 - window)]) / min(i + 1, window)) for i in range(len(r))
    ]


def build_agent(
    plan: Any, online: Engine, make_engine: Callable[[], Engine], env: Any, seed: int
) -> Any:
    """The learner `plan.algorithm` names, training `online` in `env`; `make_engine()`
    gives another engine of the same model (a DQN's target network)."""
    name = plan.algorithm.name
    if name == "dqn":
        return DQN(online, make_engine(), plan.algorithm, plan.batch_size, env, seed)
    logits = online.out_act.name == "linear"
    return Reinforce(online, plan.algorithm, env, seed, logits)
