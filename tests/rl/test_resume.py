"""Checkpoints and resume of an agent's run: stopped between any two steps (by a test's
stop, or a real SIGINT to `nndsl run`) and continued from the checkpoint file, it gives
the history and weights of a run never stopped, bit for bit on the NumPy backend, with
the replay buffer, the target network, the environments' states, every generator and
the episodes under way all restored; a checkpoint that does not fit is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.agent_run import AgentTraining
from nndsl.cli import main
from nndsl.train.checkpoint import load_checkpoint, save_checkpoint

GRID_DQN = """
model q {
    input(16)
    dense(4)
}
train q {
    env = gridworld(size=4)
    algorithm = dqn(
        gamma=0.95, buffer=300, target_update=50, epsilon=linear(1.0, 0.05, 600), learn_start=100
    )
    steps = 1200
    optimizer = adam(lr=0.05)
    batch_size = 16
}
"""

CART_REINFORCE = """
model p {
    input(4)
    dense(16, activation=relu)
    dense(2, activation=softmax)
}
train p {
    env = cartpole
    algorithm = reinforce(episodes=3)
    steps = 1500
    optimizer = adam(lr=0.01)
}
"""

CART_A2C = """
model ac {
    input(4)
    h = dense(16, activation=tanh)
    policy = dense(2, activation=softmax)
    value = dense(1, from=h)
    output policy, value
}
train ac {
    env = cartpole(max_steps=60)
    algorithm = a2c(envs=4, n_steps=5)
    steps = 3000
    optimizer = adam(lr=0.003)
}
"""


def weights_of(model) -> dict[str, np.ndarray]:
    return model.engine.get_weights()


def stopped_and_resumed(source: str, stop_at: int, tmp_path: Path) -> tuple:
    """(history, weights) of a run stopped after `stop_at` steps, checkpointed to a file
    and continued in a model built afresh."""
    program = nndsl.compile_string(source)
    first = AgentTraining(program.build(seed=5))
    assert not first.run(should_stop=lambda: first.loop.total >= stop_at)
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, first.capture({"source": source}))
    model = program.build(seed=5)
    again = AgentTraining(model)
    again.restore(load_checkpoint(path))
    assert again.run()
    return again.history, weights_of(model)


@pytest.mark.parametrize(
    ("source", "stops"),
    [
        (GRID_DQN, (1, 150, 777)),  # before learning, while the buffer fills, after it wraps
        (CART_REINFORCE, (13, 400)),  # mid-episode, and between the episodes of one update
        (CART_A2C, (4, 1002)),  # mid-rollout (n_steps 5 x 4 copies), episodes under way
    ],
    ids=["dqn", "reinforce", "a2c"],
)
def test_resumed_agent_equals_a_run_never_stopped(source, stops, tmp_path: Path) -> None:
    model = nndsl.compile_string(source).build(seed=5)
    whole = AgentTraining(model)
    assert whole.run()
    assert np.isfinite(whole.history["loss"]).any()  # it learnt: the state mattered
    for stop in stops:
        history, weights = stopped_and_resumed(source, stop, tmp_path)
        assert history.to_csv() == whole.history.to_csv(), stop
        for k, w in weights_of(model).items():
            np.testing.assert_array_equal(weights[k], w, err_msg=f"{k} after a stop at {stop}")


def test_a_checkpoint_of_another_agent_is_refused(tmp_path: Path) -> None:
    dqn = AgentTraining(nndsl.compile_string(GRID_DQN).build())
    dqn.run(should_stop=lambda: dqn.loop.total >= 200)
    save_checkpoint(tmp_path / "c.npz", dqn.capture())
    state = load_checkpoint(tmp_path / "c.npz")
    wider = GRID_DQN.replace("dense(4)", "dense(8, activation=relu)\n    dense(4)")
    other = nndsl.compile_string(wider)
    with pytest.raises(nndsl.NNDSLError, match="does not fit the agent"):
        AgentTraining(other.build()).restore(state)
    # the same network learnt by another algorithm: its play's state is not this one's
    policy = GRID_DQN.replace("dense(4)", "dense(4, activation=softmax)")
    policy = policy.split("algorithm")[0] + "algorithm = reinforce()\n    steps = 100\n}\n"
    with pytest.raises(nndsl.NNDSLError, match="does not fit the agent: 'agent.agent'"):
        AgentTraining(nndsl.compile_string(policy).build()).restore(state)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda s: s["agent"]["agent"]["buffer"].update(size=301), "cannot hold 301"),
        (lambda s: s["agent"]["agent"]["buffer"].update(at=-1), "cannot hold"),
        (lambda s: s["agent"]["envs"][0].update(cell=99), "cell 99 is not a free cell"),
        (lambda s: s["agent"].update(length=np.zeros(3)), "episodes under way are not 1"),
        (lambda s: s["agent"]["agent"].update(rng={"bit_generator": "PCG64"}), "state"),
        (lambda s: s.pop("agent"), "holds no agent's play"),
        (lambda s: s["history"]["history"].pop("epsilon"), "no 'epsilon' column"),
    ],
    ids=["size", "position", "cell", "copies", "generator", "no agent", "history"],
)
def test_a_damaged_agent_checkpoint_is_refused(damage, message, tmp_path: Path) -> None:
    training = AgentTraining(nndsl.compile_string(GRID_DQN).build())
    training.run(should_stop=lambda: training.loop.total >= 400)
    state = training.capture()
    damage(state)
    save_checkpoint(tmp_path / "c.npz", state)
    fresh = AgentTraining(nndsl.compile_string(GRID_DQN).build())
    before = fresh.model.engine.get_weights()
    with pytest.raises(nndsl.NNDSLError, match="does not fit the agent") as info:
        fresh.restore(load_checkpoint(tmp_path / "c.npz"))
    assert message in str(info.value)
    for k, w in fresh.model.engine.get_weights().items():  # nothing was half set
        np.testing.assert_array_equal(w, before[k])


# ---------------------------------------------------------------- the command line

CART_DQN = """
model q {
    input(4)
    dense(32, activation=relu)
    dense(2)
}
train q {
    env = cartpole
    algorithm = dqn(
        buffer=2000, target_update=200, epsilon=linear(1.0, 0.05, 1500), learn_start=300
    )
    steps = 3000
    optimizer = adam(lr=1e-3)
    batch_size = 32
}
"""


@pytest.mark.slow  # a real signal to a training process
def test_sigint_then_resume_gives_the_uninterrupted_run(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "cart.nn").write_text(CART_DQN)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nndsl", "run", "cart.nn", "--out", "run"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in proc.stderr:  # the first progress line: it is learning by now
        if line.startswith("episode 20:"):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "continue with: nndsl run --resume" in rest
    run = tmp_path / "run"
    assert (run / "checkpoint.npz").is_file()
    assert "status: interrupted" in (run / "config.yaml").read_text()
    stopped = len((run / "history.csv").read_text().splitlines()) - 1
    assert stopped >= 20

    monkeypatch.chdir(tmp_path)
    assert main(["run", "--resume", "run", "-q"]) == 0
    assert main(["run", "cart.nn", "--out", "whole", "-q"]) == 0
    assert not (run / "checkpoint.npz").exists()  # finished: nothing to continue
    assert "status: completed" in (run / "config.yaml").read_text()
    history = (run / "history.csv").read_text()
    assert history == (tmp_path / "whole" / "history.csv").read_text()
    assert len(history.splitlines()) - 1 > stopped
    with np.load(run / "weights.npz") as got, np.load(tmp_path / "whole" / "weights.npz") as ref:
        assert set(got.files) == set(ref.files)
        for k in ref.files:
            np.testing.assert_array_equal(got[k], ref[k], err_msg=k)


def test_torch_backend_resumes_too() -> None:
    pytest.importorskip("torch")
    program = nndsl.compile_string(CART_A2C, overrides=["dtype=float64", "steps=1000"])
    build = {"backend": "torch", "device": "cpu", "seed": 5}
    model = program.build(**build)
    whole = AgentTraining(model)
    whole.run()
    first = AgentTraining(program.build(**build))
    first.run(should_stop=lambda: first.loop.total >= 502)
    state = first.capture()
    resumed_model = program.build(**build)
    again = AgentTraining(resumed_model)
    again.restore(state)
    again.run()
    assert again.history.to_csv() == whole.history.to_csv()
    for k, w in model.engine.get_weights().items():  # float64 on the CPU: equal too
        np.testing.assert_array_equal(resumed_model.engine.get_weights()[k], w, err_msg=k)


A2C_COPIES = CART_A2C.replace("envs=4", "envs=16").replace("max_steps=60", "max_steps=30")


@pytest.mark.parametrize(
    ("source", "every"),
    [
        (CART_DQN.replace("batch_size = 32", "batch_size = 32\n    checkpoint_every = 10"), 10),
        # 16 copies: several episodes end in one step, the checkpoint falls among them
        (A2C_COPIES.replace("steps = 3000", "steps = 6000\n    checkpoint_every = 7"), 7),
    ],
    ids=["dqn", "a2c"],
)
@pytest.mark.slow  # a real SIGKILL to a training process
def test_a_killed_run_resumes_from_its_periodic_checkpoint(
    source, every, tmp_path: Path, monkeypatch
) -> None:
    """SIGKILL leaves no time to write anything: the checkpoint every few episodes in
    RUN.partial is what `--resume` continues from."""
    (tmp_path / "cart.nn").write_text(source)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nndsl", "run", "cart.nn", "--out", "run"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in proc.stderr:
        if line.startswith("episode 20:"):  # a checkpoint is written by now
            proc.kill()
            break
    proc.wait(timeout=60)
    assert (tmp_path / "run.partial" / "checkpoint.npz").is_file()
    assert not (tmp_path / "run").exists()
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--resume", "run", "-q"]) == 0
    assert main(["run", "cart.nn", "--out", "whole", "-q"]) == 0
    got = (tmp_path / "run" / "history.csv").read_text()
    assert got == (tmp_path / "whole" / "history.csv").read_text()
    assert not (tmp_path / "run.partial").exists()
    with (
        np.load(tmp_path / "run" / "weights.npz") as w,
        np.load(tmp_path / "whole" / "weights.npz") as ref,
    ):
        for k in ref.files:
            np.testing.assert_array_equal(w[k], ref[k], err_msg=k)
