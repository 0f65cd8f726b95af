"""The NumPy environments: CartPole equal to Gymnasium's CartPole-v1 step for step, the
grid world's moves, walls and best return."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl.errors import NNDSLError
from nndsl.rl.envs import CartPole, GridWorld


def test_cartpole_equals_gymnasium_over_1000_random_steps() -> None:
    gymnasium = pytest.importorskip("gymnasium")
    ref = gymnasium.make("CartPole-v1")
    ours = CartPole()
    actions = np.random.default_rng(7).integers(0, 2, size=1000)
    episodes, seed = 0, 100
    want, _ = ref.reset(seed=seed)
    got = ours.reset(np.random.default_rng(seed))
    for action in actions:
        np.testing.assert_array_equal(got.astype(np.float32), want)  # gym observes float32
        np.testing.assert_allclose(ours.state, ref.unwrapped.state, rtol=0, atol=1e-12)
        want, reward, term, trunc, _ = ref.step(int(action))
        got, our_reward, our_term, our_trunc = ours.step(int(action))
        assert (our_reward, our_term, our_trunc) == (reward, term, trunc)
        if term or trunc:
            episodes, seed = episodes + 1, seed + 1
            want, _ = ref.reset(seed=seed)
            got = ours.reset(np.random.default_rng(seed))
    assert episodes > 20  # random play ends episodes often: resets are compared too


def test_cartpole_is_truncated_at_500_steps_under_a_balancing_policy() -> None:
    gymnasium = pytest.importorskip("gymnasium")
    ref, ours = gymnasium.make("CartPole-v1"), CartPole()
    ref.reset(seed=3)
    obs = ours.reset(np.random.default_rng(3))
    for t in range(500):
        action = int(obs[2] + 0.5 * obs[3] > 0)  # lean-following: keeps the pole up
        _, _, term, trunc, _ = ref.step(action)
        obs, _, our_term, our_trunc = ours.step(action)
        assert (our_term, our_trunc) == (term, trunc)
        if term:
            pytest.fail(f"the balancing policy dropped the pole at step {t}")
    assert our_trunc and not our_term


def test_gridworld_walks_walls_and_border() -> None:
    env = GridWorld(3, walls=[1])
    obs = env.reset(np.random.default_rng(0))
    assert obs.shape == (9,) and obs[0] == 1 and obs.sum() == 1
    obs, reward, term, _ = env.step(3)  # right, into the wall at cell 1: stays
    assert obs[0] == 1 and reward == -1 and not term
    obs, *_ = env.step(0)  # up, into the border: stays
    assert obs[0] == 1
    for action in (1, 1, 3, 3):  # down, down, right, right: the goal
        obs, _, term, _ = env.step(action)
    assert obs[8] == 1 and term
    assert env.optimal_return == -4.0
    assert GridWorld(5).optimal_return == -8.0


def test_gridworld_cut_off_goal_is_refused() -> None:
    with pytest.raises(NNDSLError, match="cut the start off"):
        GridWorld(3, walls=[1, 3]).optimal_return  # noqa: B018


def test_gridworld_truncates() -> None:
    env = GridWorld(4, max_steps=3)
    env.reset(np.random.default_rng(0))
    assert [env.step(0)[3] for _ in range(3)] == [False, False, True]
