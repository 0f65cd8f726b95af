"""Agents trained in their environments, as a user writes them: the grid world's best
return by DQN with a linear Q-network (tabular Q-learning in disguise), CartPole learnt
in a CI budget, seeded runs repeated bit for bit, both backends agreeing, and every
mistake in the train block a located error at its line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.agent_run import evaluate_agent, fit_agent
from nndsl.cli import main
from nndsl.rl.envs import GridWorld

GRID = """
model q {
    input(16)
    dense(4)
}
train q {
    env = gridworld(size=4)
    algorithm = dqn(
        gamma=0.95, buffer=5000, target_update=100, epsilon=linear(1.0, 0.05, 1500), learn_start=200
    )
    steps = 3000
    optimizer = adam(lr=0.05)
    batch_size = 32
}
"""

CARTPOLE = """
model q {
    input(4)
    dense(64, activation=relu)
    dense(64, activation=relu)
    dense(2)
}
train q {
    env = cartpole
    algorithm = dqn(target_update=500, epsilon=linear(1.0, 0.05, 10000), double=true, loss=mse)
    steps = STEPS
    optimizer = adam(lr=5e-4)
    batch_size = 64
    seed = SEED
}
"""


def test_gridworld_dqn_reaches_the_best_return() -> None:
    model = nndsl.compile_string(GRID).build()
    history = fit_agent(model)
    best = GridWorld(4).optimal_return
    assert best == -6.0
    assert evaluate_agent(model, 5) == [best] * 5  # greedy play takes a shortest path
    assert history["mean_return"][-1] >= best - 1.0  # epsilon 0.05 still strays now and then
    assert np.isfinite(history["loss"][-1]) and history["epsilon"][-1] == pytest.approx(0.05)


def test_gridworld_with_walls_finds_the_way_round() -> None:
    # walls at (1, 0..2): the way down runs through column 3, still 6 steps
    source = GRID.replace("gridworld(size=4)", "gridworld(size=4, walls=[4, 5, 6])")
    model = nndsl.compile_string(source).build()
    fit_agent(model)
    assert GridWorld(4, walls=[4, 5, 6]).optimal_return == -6.0
    assert evaluate_agent(model, 3) == [-6.0] * 3


def test_same_seed_same_returns_bit_for_bit() -> None:
    source = GRID.replace("steps = 3000", "steps = 800")
    runs = [fit_agent(nndsl.compile_string(source).build(seed=s)).history for s in (3, 3, 4)]
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)
    assert runs[0]["return"] != runs[2]["return"]  # another seed explores otherwise


def test_cartpole_dqn_learns_within_a_ci_budget() -> None:
    """Random play lasts ~22 steps; the threshold: a mean return of 150 over 100 episodes
    within 25,000 steps, seed 0 (a run to 475 is measured in README's Reinforcement
    learning)."""
    source = CARTPOLE.replace("STEPS", "25000").replace("SEED", "0")
    model = nndsl.compile_string(source).build()
    history = fit_agent(model)
    assert max(history["mean_return"]) >= 150


def test_reinforce_improves_on_random_play() -> None:
    source = """
model policy {
    input(4)
    dense(32, activation=relu)
    dense(2, activation=softmax)
}
train policy {
    env = cartpole
    algorithm = reinforce(gamma=0.99, episodes=2)
    steps = 20000
    optimizer = adam(lr=0.01)
}
"""
    history = fit_agent(nndsl.compile_string(source).build())
    returns = history["return"]
    assert np.mean(returns[:20]) < 40  # random-ish at first
    assert max(history["mean_return"]) >= 100


def test_both_backends_play_the_same_episodes() -> None:
    pytest.importorskip("torch")
    source = (
        CARTPOLE.replace("STEPS", "400")
        .replace("SEED", "2")
        .replace("loss=mse)", "loss=mse, learn_start=200, target_update=50)")
        .replace("target_update=500, ", "")
    )
    program = nndsl.compile_string(source, overrides=["dtype=float64"])
    ref = fit_agent(program.build(backend="numpy"))
    got = fit_agent(program.build(backend="torch", device="cpu"))
    assert np.isfinite(ref["loss"][-1])  # it learnt on both, past a target copy
    np.testing.assert_array_equal(got["return"], ref["return"])
    np.testing.assert_allclose(got["loss"], ref["loss"], rtol=1e-6)


# ---------------------------------------------------------------- the command line


def test_run_and_play_from_the_command_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid.nn").write_text(GRID)
    assert main(["run", "grid.nn", "--out", "run", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,return,mean_return,length,loss,epsilon,steps"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["play"]["mean_return"] == -6.0
    assert metrics["train"]["steps"] >= 3000
    assert main(["play", "run", "--episodes", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["episode 1: return -6", "episode 2: return -6", "episode 3: return -6",
                   "mean return -6 over 3 episodes"]  # fmt: skip


def test_epochs_caps_the_episodes(tmp_path: Path) -> None:
    (tmp_path / "grid.nn").write_text(GRID)
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "grid.nn"), "--epochs", "2", "--out", str(out), "-q"]) == 0
    assert len((out / "history.csv").read_text().splitlines()) == 3  # header, 2 episodes


def test_play_refuses_a_model_that_is_not_an_agent(tmp_path: Path, capsys) -> None:
    xor = Path(__file__).resolve().parents[2] / "examples" / "xor.nn"
    out = tmp_path / "xor"
    assert main(["run", str(xor), "--epochs", "1", "--out", str(out), "-q"]) == 0
    assert main(["play", str(out)]) == 1
    assert "is not an agent" in capsys.readouterr().err


# ---------------------------------------------------------------- located errors


def error_of(source: str) -> nndsl.NNDSLError:
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(source, "agent.nn")
    return info.value


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (("dense(4)\n", "dense(3)\n"), "gridworld has 4 actions, but model 'q' ends in", 7),
        (("input(16)", "input(9)"), "gridworld observes 16 numbers", 7),
        (("size=4)", "size=3)"), "gridworld observes 9 numbers", 7),
        (("steps = 3000", 'data = csv("x.csv")'), "does not take 'data'", 11),
        (("steps = 3000", "loss = mse"), "does not take 'loss'", 11),
        (("dense(4)\n", "dense(4, activation=softmax)\n"), "dqn needs the model to end", 8),
        (("gridworld(size=4)", "gridwrold(size=4)"), "unknown env 'gridwrold'", 7),
        (("gamma=0.95", "gamma=1.5"), "'gamma' must be in [0, 1]", 9),
        (("linear(1.0, 0.05, 1500)", "cosine(3)"), "unknown exploration 'cosine'", 9),
        (("buffer=5000", "buffer=16"), "dqn's buffer (16) holds fewer transitions", 8),
        (("size=4)", "size=4, walls=[15])"), "wall 15 is the goal cell", 7),
        (("size=4)", "size=4, walls=[3, 16])"), "wall 16 is not a cell of a 4x4 grid", 7),
    ],
)
def test_agent_mistakes_are_located(change, message, line) -> None:
    error = error_of(GRID.replace(*change))
    assert message in str(error)
    assert error.line == line


def test_agent_settings_without_env_are_refused() -> None:
    source = (
        "model m {\n    input(2)\n    dense(1)\n}\ntrain m {\n    loss = mse\n    steps = 10\n}\n"
    )
    error = error_of(source)
    assert "'steps' is an agent's setting" in str(error) and error.line == 7


def test_continuous_action_space_is_located() -> None:
    pytest.importorskip("gymnasium")
    source = GRID.replace("gridworld(size=4)", 'gym("Pendulum-v1")').replace("16", "3")
    error = error_of(source)
    assert "continuous action space" in str(error) and error.line == 7 and error.column == 11


def test_gym_env_by_name_trains() -> None:
    pytest.importorskip("gymnasium")
    source = CARTPOLE.replace("env = cartpole", 'env = gym("CartPole-v1")')
    source = source.replace("STEPS", "300").replace("SEED", "0")
    history = fit_agent(nndsl.compile_string(source).build())
    assert history["steps"][-1] >= 300 and all(r >= 8 for r in history["return"])


def test_unknown_gym_env_is_located() -> None:
    pytest.importorskip("gymnasium")
    error = error_of(GRID.replace("gridworld(size=4)", 'gym("NoSuchEnv-v0")'))
    assert "cannot make 'NoSuchEnv-v0'" in str(error) and error.line == 7


def test_a_sweep_of_an_agent_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "sweep.nn").write_text(GRID.replace("steps = 3000", "steps = [300, 400]"))
    assert main(["run", str(tmp_path / "sweep.nn"), "--out", str(tmp_path / "s"), "-q"]) == 1
    assert "a sweep of an agent's settings is not supported yet" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
