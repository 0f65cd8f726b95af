"""A2C: CartPole learnt within a CI budget, seeded runs repeated bit for bit, both
backends playing the same episodes, one update checked against the actor-critic loss
written in plain torch, and a model without a policy and a value head a located error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.agent_run import AgentTraining, evaluate_agent, fit_agent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rl" / "cartpole_a2c.nn"

A2C = """
model ac {
    input(4)
    h = dense(16, activation=tanh)
    policy = dense(2, activation=softmax)
    value = dense(1, from=h)
    output policy, value
}
train ac {
    env = cartpole
    algorithm = a2c(envs=4, n_steps=5, gamma=0.9)
    steps = 2000
    optimizer = adam(lr=0.003)
}
"""


def test_the_example_balances_the_pole_within_a_ci_budget() -> None:
    """Random play lasts ~22 steps. The example as written (100,000 steps, seed 1,
    ~4 s): a 100-episode mean of 200 or more while training, and greedy play of 400 or
    more (measured: 266 and 500)."""
    model = nndsl.compile_file(str(EXAMPLE)).build()
    history = fit_agent(model)
    assert np.mean(history["return"][:50]) < 40
    assert max(history["mean_return"]) >= 200
    assert np.mean(evaluate_agent(model, 5)) >= 400


def test_same_seed_same_returns_bit_for_bit() -> None:
    program = nndsl.compile_string(A2C)
    runs = [fit_agent(program.build(seed=s)) for s in (7, 7, 8)]
    assert runs[0].to_csv() == runs[1].to_csv()
    assert runs[0]["return"] != runs[2]["return"]


def test_both_backends_play_the_same_episodes() -> None:
    pytest.importorskip("torch")
    program = nndsl.compile_string(A2C, overrides=["dtype=float64", "steps=1000"])
    ref = fit_agent(program.build(backend="numpy", seed=3))
    got = fit_agent(program.build(backend="torch", device="cpu", seed=3))
    assert len(ref) > 30 and np.isfinite(ref["loss"]).sum() > 10  # updates between episodes
    np.testing.assert_array_equal(got["return"], ref["return"])
    np.testing.assert_allclose(got["loss"], ref["loss"], rtol=1e-9)


def test_one_update_equals_the_loss_written_in_torch() -> None:
    """The engine's step against plain torch autograd of -mean(log pi(a|s) * A) +
    value_coef * mean((R - V)^2) - entropy_coef * mean(H), A = R - V held constant:
    with sgd(lr) the weights move by -lr times that gradient."""
    torch = pytest.importorskip("torch")
    source = A2C.replace("adam(lr=0.003)", "sgd(lr=0.1)").replace(
        "gamma=0.9)", "gamma=0.9, value_coef=0.7, entropy_coef=0.05)"
    )
    model = nndsl.compile_string(source, overrides=["dtype=float64"]).build(seed=2)
    training = AgentTraining(model)
    agent = training.loop.agent
    rng = np.random.default_rng(0)
    agent.obs[...] = rng.normal(size=agent.obs.shape)
    agent.taken[...] = rng.integers(0, 2, size=agent.taken.shape)
    returns = rng.normal(size=agent.taken.size)
    before = {k: torch.tensor(v) for k, v in model.engine.get_weights().items()}
    params = {k: v.clone().requires_grad_(True) for k, v in before.items()}
    names = sorted(params)
    layers = ("h", "policy", "value")
    hk, hb, pk, pb, vk, vb = (f"{layer}.{w}" for layer in layers for w in ("weight", "bias"))
    x = torch.tensor(agent.obs.reshape(-1, 4))
    h = torch.tanh(x @ params[hk] + params[hb])
    logits = h @ params[pk] + params[pb]
    value = (h @ params[vk] + params[vb])[:, 0]
    log_probs = torch.log_softmax(logits, 1)
    taken = torch.tensor(agent.taken.reshape(-1))
    target = torch.tensor(returns)
    advantage = (target - value).detach()
    entropy = -(log_probs.exp() * log_probs).sum(1).mean()
    loss = (
        -(log_probs[torch.arange(len(taken)), taken] * advantage).mean()
        + 0.7 * ((target - value) ** 2).mean()
        - 0.05 * entropy
    )
    loss.backward()
    got = agent._learn(returns)
    assert got == pytest.approx(float(loss), rel=1e-12)
    after = model.engine.get_weights()
    for k in names:
        expected = (before[k] - 0.1 * params[k].grad).numpy()
        np.testing.assert_allclose(after[k], expected, rtol=1e-10, atol=1e-12, err_msg=k)


def error_of(source: str) -> nndsl.NNDSLError:
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(source, "agent.nn")
    return info.value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    output policy, value\n", "    output policy\n"), "needs a policy and a value head"),
        (("value = dense(1, from=h)", "value = dense(2, from=h)"), "second output 'value'"),
        (("value = dense(1, from=h)", "value = dense(1, from=h, activation=relu)"), "linear"),
        (("policy = dense(2, activation=softmax)", "policy = dense(3, activation=softmax)"),
         "first output 'policy' is the policy: cartpole has 2 actions"),
        (("policy = dense(2, activation=softmax)", "policy = dense(2, activation=sigmoid)"),
         "with softmax (or logits), not (batch, 2) with sigmoid"),
        (("envs=4", "envs=0"), "'envs' must be"),
    ],
    ids=["no value", "value width", "value activation", "actions", "sigmoid", "no envs"],
)  # fmt: skip
def test_actor_critic_mistakes_are_located(change, message) -> None:
    error = error_of(A2C.replace(*change))
    assert message in str(error)
    assert error.line == 11  # the algorithm = line


def test_dqn_with_two_outputs_points_to_a2c() -> None:
    source = A2C.replace("a2c(envs=4, n_steps=5, gamma=0.9)", "dqn()").replace(
        "activation=softmax", "activation=linear"
    )
    error = error_of(source)
    assert "dqn's model has one output" in str(error) and "a2c" in error.hint
