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
    """The output on the host: the first (an actor-critic's policy) of several."""
    if isinstance(out, list):
        return engine.join_predictions([out[0]], engine.outputs[0])
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

    ARRAYS = ("obs", "next_obs", "action", "reward", "done")

    def state_dict(self) -> dict[str, Any]:
        """The transitions held (the whole ring: its shape is checked on loading) and the
        write position."""
        return {k: getattr(self, k).copy() for k in self.ARRAYS} | {
            "size": self.size,
            "at": self.at,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        size, at = int(state["size"]), int(state["at"])
        if not (0 <= size <= self.capacity and 0 <= at < self.capacity):
            raise NNDSLError(f"a replay buffer of {self.capacity} cannot hold {size} at {at}")
        for k in self.ARRAYS:
            getattr(self, k)[...] = state[k]
        self.size, self.at = size, at


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

    def act(self, obs: np.ndarray) -> list[int]:
        """The action in the one environment (`obs`: its observation, as a row)."""
        if self.steps < self.a["learn_start"] or self.rng.random() < self.epsilon():
            return [int(self.rng.integers(self.actions))]
        return [greedy_action(self.online, obs[0])]

    def observe(self, obs, action, reward, next_obs, terminated, done) -> float | None:
        """Record a transition (rows of the one environment), learn when due; the step's
        loss, or None."""
        self.buffer.add(obs[0], action[0], reward[0], next_obs[0], terminated[0])
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

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "steps": self.steps,
            "target": self.target.get_weights(),
            "buffer": self.buffer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.steps = int(state["steps"])
        self.target.set_weights(state["target"])
        self.buffer.load_state_dict(state["buffer"])


# ---------------------------------------------------------------- REINFORCE


class Reinforce:
    """Monte-Carlo policy gradient: act by sampling the policy; after every `episodes`
    episodes, one step on their transitions with the discounted returns that followed
    each action as its weight (less their mean, over their std, with the baseline)."""

    def __init__(self, online: Engine, spec: Spec, env: Any, seed: int, logits: bool) -> None:
        self.a = algorithm_args(spec)
        self.online, self.actions, self.logits = online, env.actions, logits
        self.obs_size = env.observation_size
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xAF])
        self.eye = np.eye(env.actions)
        self.obs: list[np.ndarray] = []
        self.taken: list[int] = []
        self.returns: list[float] = []
        self.rewards: list[float] = []
        self.finished = 0

    def epsilon(self) -> float:
        return 0.0

    def act(self, obs: np.ndarray) -> list[int]:
        self.online.set_mode(False)
        out = to_host(self.online, self.online.predict_batch([self.online.tensor(obs)]))[0]
        probs = np.asarray(out, np.float64)
        if self.logits:  # a linear output: its softmax
            probs = np.exp(probs - probs.max())
        probs = probs / probs.sum()
        return [int(self.rng.choice(self.actions, p=probs))]

    def observe(self, obs, action, reward, next_obs, terminated, done) -> None:
        self.obs.append(obs[0])
        self.taken.append(int(action[0]))
        self.rewards.append(float(reward[0]))

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

    def state_dict(self) -> dict[str, Any]:
        """The generator and the transitions not yet learnt from (lists: their lengths
        vary, so `load_state_dict` checks them itself)."""
        return {
            "rng": self.rng.bit_generator.state,
            "finished": self.finished,
            "obs": np.array(self.obs, np.float64).reshape(len(self.obs), self.obs_size),
            "taken": np.array(self.taken, np.int64),
            "returns": np.array(self.returns, np.float64),
            "rewards": np.array(self.rewards, np.float64),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        obs = np.asarray(state["obs"], np.float64)
        taken = np.asarray(state["taken"]).reshape(-1)
        returns = np.asarray(state["returns"], np.float64).reshape(-1)
        rewards = np.asarray(state["rewards"], np.float64).reshape(-1)
        n, width = len(taken), self.eye.shape[0]
        if (
            (obs.ndim != 2 or len(obs) != n or (n and obs.shape[1] != self.obs_size))
            or len(returns) + len(rewards) != n
            or (n and not (0 <= taken.min() and taken.max() < width))
        ):
            raise NNDSLError("reinforce's pending transitions do not fit together")
        self.rng.bit_generator.state = state["rng"]
        self.finished = int(state["finished"])
        self.obs = list(obs)
        self.taken = [int(t) for t in taken]
        self.returns, self.rewards = list(map(float, returns)), list(map(float, rewards))


# ---------------------------------------------------------------- A2C


def _actor_critic_loss(value_coef: float, entropy_coef: float) -> Callable[..., Any]:
    """The policy gradient's surrogate with the advantage as weight, plus `value_coef`
    times the value's squared error to the returns, less `entropy_coef` times the
    policy's entropy (Mnih et al. 2016)."""

    def loss(P: Any, values: list[Any]) -> Any:
        logits, value, chosen, advantage, returns = values
        log_probs = logits - P.logsumexp(logits, 1, keepdims=True)
        policy = -P.mean(P.sum(log_probs * chosen, 1) * advantage, 0)
        err = P.sum(value, 1) - returns
        entropy = -P.mean(P.sum(P.exp(log_probs) * log_probs, 1), 0)
        return policy + value_coef * P.mean(err * err, 0) - entropy_coef * entropy

    return loss


class A2C:
    """Advantage actor-critic, synchronous: `envs` copies of the environment stepped
    together; every `n_steps` steps one update on the n_steps x envs transitions, the
    return of each bootstrapped by the value of the last observation (none after a
    terminal state; a truncated episode's last reward gets gamma times the value of its
    final observation). The model's first output is the policy (softmax, or logits),
    its second the value (one linear unit)."""

    def __init__(self, online: Engine, spec: Spec, env: Any, seed: int) -> None:
        self.a = algorithm_args(spec)
        self.online, self.actions = online, env.actions
        self.policy_node, self.value_node = online.outputs[:2]
        self.logits = online.plans[0].activation.name == "linear"
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xA2C])
        self.eye = np.eye(env.actions)
        self.loss = _actor_critic_loss(self.a["value_coef"], self.a["entropy_coef"])
        n, t = self.a["envs"], self.a["n_steps"]
        self.obs = np.zeros((t, n, env.observation_size))
        self.taken = np.zeros((t, n), np.int64)
        self.rewards = np.zeros((t, n))
        self.dones = np.zeros((t, n))
        self.t = 0

    def epsilon(self) -> float:
        return 0.0

    def _evaluate(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the actions' probabilities, the values) of observations `obs`."""
        engine = self.online
        engine.set_mode(False)
        policy, value = engine.predict_batch([engine.tensor(obs)])[:2]
        probs = np.asarray(engine.join_predictions([policy], self.policy_node), np.float64)
        if self.logits:
            probs = np.exp(probs - probs.max(axis=1, keepdims=True))
        probs = probs / probs.sum(axis=1, keepdims=True)
        values = np.asarray(engine.join_predictions([value], self.value_node), np.float64)
        return probs, values[:, 0]

    def act(self, obs: np.ndarray) -> np.ndarray:
        probs, _ = self._evaluate(obs)
        u = self.rng.random(len(obs))[:, None]  # inverse-CDF draws, one per copy
        return np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), self.actions - 1)

    def observe(self, obs, action, reward, next_obs, terminated, done) -> float | None:
        gamma = self.a["gamma"]
        reward = np.asarray(reward, np.float64).copy()
        cut = np.asarray(done) & ~np.asarray(terminated)
        if cut.any():  # truncated, not ended: the value of where it stopped goes on
            reward[cut] += gamma * self._evaluate(next_obs[cut])[1]
        t = self.t
        self.obs[t], self.taken[t], self.rewards[t], self.dones[t] = obs, action, reward, done
        self.t = t + 1
        if self.t < len(self.obs):
            return None
        self.t = 0
        returns = np.zeros_like(self.rewards)
        ahead = self._evaluate(next_obs)[1]
        for k in range(len(self.obs) - 1, -1, -1):
            ahead = self.rewards[k] + gamma * ahead * (1.0 - self.dones[k])
            returns[k] = ahead
        return self._learn(returns.reshape(-1))

    def _learn(self, returns: np.ndarray) -> float:
        engine = self.online
        obs = self.obs.reshape(-1, self.obs.shape[-1])
        engine.set_mode(True)
        logits, value = engine.grad_forward([engine.tensor(obs)])[:2]
        values = engine.join_predictions([value], self.value_node)[:, 0]
        advantage = returns - values  # a constant of the step: the critic is not pushed by it
        chosen = self.eye[self.taken.reshape(-1)]
        inputs = [logits, value, *(engine.tensor(a) for a in (chosen, advantage, returns))]
        loss, grads = engine.differentiate(self.loss, inputs)
        engine.grad_backward(grads[:2])
        engine.grad_step()
        return engine.host_floats([loss])[0]

    def end_episode(self) -> float | None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "t": self.t,
            "obs": self.obs.copy(),
            "taken": self.taken.copy(),
            "rewards": self.rewards.copy(),
            "dones": self.dones.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        t = int(state["t"])
        if not 0 <= t < len(self.obs):
            raise NNDSLError(f"a2c's rollout is {len(self.obs)} steps long, not past {t}")
        taken = np.asarray(state["taken"])
        if taken.size and not (0 <= taken.min() and taken.max() < self.actions):
            raise NNDSLError("a2c's rollout holds an action the environment does not have")
        for k in ("obs", "taken", "rewards", "dones"):
            getattr(self, k)[...] = state[k]
        self.rng.bit_generator.state = state["rng"]
        self.t = t


# ---------------------------------------------------------------- the loop


class AgentLoop:
    """Plays `envs` (one copy, or an A2C's several, stepped together) with `agent` and
    keeps everything the play has reached: the environments' and generators' states,
    the observations and the episodes under way. It stops between two steps, where
    `state_dict()` is whole: a run checkpointed there and continued by `load_state_dict`
    gives what never stopping gives (bit for bit on the NumPy backend)."""

    def __init__(
        self, agent: Any, envs: list[Any], seed: int, steps: int, max_episodes: int = 0
    ) -> None:
        self.agent, self.envs = agent, envs
        self.steps, self.max_episodes = steps, max_episodes
        self.reset_rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xE1])
        self.episodes: list[Episode] = []
        self.total = 0
        self.obs = np.stack([env.reset(self.reset_rng) for env in envs])  # each copy's
        self.reward_sum = np.zeros(len(envs))
        self.length = np.zeros(len(envs), np.int64)
        self.losses: list[float] = []  # the updates' losses since the last episode ended

    def run(
        self,
        on_episode: Callable[[Episode], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Play until `steps` environment steps (one copy: the episode under way
        finishes; several: those under way are dropped) or `max_episodes` (0: no cap);
        True when done, False when `should_stop()` (asked before every step) stopped it
        first."""
        n = len(self.envs)
        while not self._finished():
            if should_stop is not None and should_stop():
                return False
            actions = self.agent.act(self.obs)
            stepped = [env.step(int(a)) for env, a in zip(self.envs, actions)]
            next_obs = np.stack([s[0] for s in stepped])
            rewards = np.array([s[1] for s in stepped])
            terminated = np.array([s[2] for s in stepped])
            done = terminated | np.array([s[3] for s in stepped])
            loss = self.agent.observe(self.obs, actions, rewards, next_obs, terminated, done)
            if loss is not None:
                self.losses.append(loss)
            self.total += n
            self.reward_sum += rewards
            self.length += 1
            self.obs = next_obs
            for i in np.flatnonzero(done):
                self._end_episode(int(i), on_episode)
        return True

    def _finished(self) -> bool:
        if self.max_episodes and len(self.episodes) >= self.max_episodes:
            return True
        return self.total >= self.steps and (len(self.envs) > 1 or not self.length.any())

    def _end_episode(self, i: int, on_episode: Callable[[Episode], None] | None) -> None:
        loss = self.agent.end_episode()
        if loss is not None:
            self.losses.append(loss)
        losses, self.losses = self.losses, []
        if losses and not all(math.isfinite(v) for v in losses):
            raise NNDSLError(
                f"the loss became {losses[-1]} in episode {len(self.episodes) + 1}",
                hint="lower the learning rate, or clip_norm = 1",
            )
        episode = Episode(
            float(self.reward_sum[i]),
            int(self.length[i]),
            float(np.mean(losses)) if losses else float("nan"),
            self.agent.epsilon(),
            self.total,
        )
        self.reward_sum[i], self.length[i] = 0.0, 0
        self.episodes.append(episode)
        self.obs[i] = self.envs[i].reset(self.reset_rng)
        if on_episode is not None:
            on_episode(episode)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the finished episodes (the run's history holds those)."""
        return {
            "reset_rng": self.reset_rng.bit_generator.state,
            "total": self.total,
            "obs": self.obs.copy(),
            "reward_sum": self.reward_sum.copy(),
            "length": self.length.copy(),
            "losses": np.array(self.losses, np.float64),
            "envs": [env_state(env) for env in self.envs],
            "agent": self.agent.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any], episodes: list[Episode]) -> None:
        self.reset_rng.bit_generator.state = state["reset_rng"]
        self.total = int(state["total"])
        obs = np.asarray(state["obs"], np.float64)
        if obs.shape != self.obs.shape:
            raise NNDSLError(f"the observations are {obs.shape}, expected {self.obs.shape}")
        self.obs = obs.copy()
        reward_sum = np.asarray(state["reward_sum"], np.float64).reshape(-1)
        length = np.asarray(state["length"], np.int64).reshape(-1)
        if len(reward_sum) != len(self.envs) or len(length) != len(self.envs):
            raise NNDSLError(f"the episodes under way are not {len(self.envs)}")
        self.reward_sum, self.length = reward_sum.copy(), length.copy()
        self.losses = [float(v) for v in np.asarray(state["losses"]).reshape(-1)]
        for env, env_saved in zip(self.envs, state["envs"], strict=True):
            load_env_state(env, env_saved)
        self.agent.load_state_dict(state["agent"])
        self.episodes = list(episodes)


def env_state(env: Any) -> dict[str, Any]:
    """An environment's state, for a checkpoint (a Gymnasium one has none to give)."""
    if not hasattr(env, "state_dict"):
        raise NNDSLError(
            f"the state of {type(env).__name__} cannot be saved: its run has no checkpoint"
        )
    return env.state_dict()


def load_env_state(env: Any, state: dict[str, Any]) -> None:
    env.load_state_dict(state)


def train_agent(
    agent: Any,
    env: Any,
    steps: int,
    seed: int,
    max_episodes: int = 0,
    on_episode: Callable[[Episode], None] | None = None,
) -> list[Episode]:
    """Play episodes of `env` (an environment, or a list of copies) with `agent` until
    `steps` environment steps (the episode under way finishes) or `max_episodes` (0: no
    cap); one Episode per episode."""
    loop = AgentLoop(agent, env if isinstance(env, list) else [env], seed, steps, max_episodes)
    loop.run(on_episode)
    return loop.episodes


def play(
    engine: Engine,
    env: Any,
    episodes: int,
    seed: int,
    on_step: Callable[[Any], None] | None = None,
) -> list[float]:
    """Returns of `episodes` greedy episodes (the most valued or most likely action);
    `on_step(env)` after every reset and step (to draw the frames of an animation)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x91A7])
    out = []
    for _ in range(episodes):
        obs, total = env.reset(rng), 0.0
        if on_step is not None:
            on_step(env)
        while True:
            obs, reward, terminated, truncated = env.step(greedy_action(engine, obs))
            if on_step is not None:
                on_step(env)
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


def env_copies(plan: Any) -> int:
    """How many copies of the environment the algorithm plays at once."""
    return int(algorithm_args(plan.algorithm).get("envs", 1))


def build_agent(
    plan: Any, online: Engine, make_engine: Callable[[], Engine], env: Any, seed: int
) -> Any:
    """The learner `plan.algorithm` names, training `online` in `env`; `make_engine()`
    gives another engine of the same model (a DQN's target network)."""
    name = plan.algorithm.name
    if name == "dqn":
        return DQN(online, make_engine(), plan.algorithm, plan.batch_size, env, seed)
    if name == "a2c":
        return A2C(online, plan.algorithm, env, seed)
    logits = online.out_act.name == "linear"
    return Reinforce(online, plan.algorithm, env, seed, logits)
