"""`nndsl run` of an agent (a train block with `env =`): the model acts in its
environment and learns by its algorithm (nndsl.rl), then the run folder is written as
for any run (nndsl.run): weights, the source, history.csv with one row per episode
(return, mean return over the last 100, length, loss, epsilon, steps so far),
curves.png, metrics.json (training's returns and greedy evaluation episodes') and
config.yaml. `play` replays a trained agent."""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from nndsl.backends import create_engine
from nndsl.errors import NNDSLError
from nndsl.rl.algorithms import Episode, build_agent, mean_returns, play, train_agent
from nndsl.rl.envs import make_env
from nndsl.run import RunRequest, _lock_run_folder, _write_run, build_model
from nndsl.runfolder import discard_partial, partial_of, prepare_partial, swap_in
from nndsl.train.history import History
from nndsl.train.plots import BackgroundPlotter

EVAL_EPISODES = 10  # greedy episodes played after training, for metrics.json
REPORT_EVERY = 20  # episodes between progress lines


def is_agent(program: Any, model: str | None = None) -> bool:
    plan = program.plan_for(program.model_graph(model).name)
    return plan is not None and plan.env is not None


def fit_agent(model: Any, on_episode: Any = None) -> History:
    """Train `model` (an nndsl.model.Model whose plan has an env) in its environment; the
    history, one row per episode."""
    plan = model.plan
    env = make_env(plan.env)

    def another_engine() -> Any:
        return create_engine(
            model.backend,
            model.graph,
            seed=model.seed,
            dtype=model.dtype,
            loss=plan.loss,
            device=model.device,
        )

    agent = build_agent(plan, model.engine, another_engine, env, model.seed)
    history = History()
    episodes: list[Episode] = []

    def record(episode: Episode) -> None:
        episodes.append(episode)
        row = {
            "return": episode.reward,
            "mean_return": mean_returns(episodes[-100:])[-1],
            "length": float(episode.length),
            "loss": episode.loss,
            "epsilon": episode.epsilon,
            "steps": float(episode.steps),
        }
        history.append(len(history), row)
        if on_episode is not None:
            on_episode(len(history), row)

    train_agent(agent, env, plan.steps, model.seed, plan.epochs, record)
    return history


def evaluate_agent(model: Any, episodes: int = EVAL_EPISODES) -> list[float]:
    """Returns of greedy episodes of the trained model in its environment."""
    return play(model.engine, make_env(model.plan.env), episodes, model.seed)


def train_agent_run(request: RunRequest) -> int:
    if request.resume is not None:
        raise NNDSLError("an agent's run does not resume yet", hint="start it again")
    model = build_model(
        request.program, request.backend, request.device, request.model, request.seed
    )
    plan = model.plan
    say = (lambda *a: None) if request.quiet else (lambda *a: print(*a, file=sys.stderr))
    say(
        f"training {model.graph.name} ({model.graph.param_count:,} parameters) in "
        f"{plan.env} by {plan.algorithm.name} for {plan.steps:,} steps [{model.backend}]"
    )

    def progress(n: int, row: dict) -> None:
        if n % REPORT_EVERY == 0:
            say(
                f"episode {n}: steps {int(row['steps'])}, return {row['return']:g}, mean "
                f"{row['mean_return']:.1f}, epsilon {row['epsilon']:.3f}, loss {row['loss']:.4g}"
            )

    plotter = BackgroundPlotter()
    try:
        with _lock_run_folder(request.out, model.graph.name) as lock:
            request.out = final = lock.final
            partial = partial_of(final)
            prepare_partial(partial, resuming=False)
            started = time.perf_counter()
            status, history = "completed", None
            try:
                history = fit_agent(model, progress)
            except KeyboardInterrupt:
                status = "interrupted"
            seconds = time.perf_counter() - started
            history = history or History()
            returns = evaluate_agent(model) if status == "completed" else []
            metrics = _metrics(history, returns)
            try:
                _write_run(partial, request, model, history, metrics, status, seconds, plotter)
                swap_in(partial, final)
            except NNDSLError:
                discard_partial(partial, keep_checkpoint=False)
                raise
    finally:
        plotter.close()
    if returns:
        say(f"greedy play, {len(returns)} episodes: mean return {np.mean(returns):g}")
    say(f"run folder: {final}")
    return 130 if status == "interrupted" else 0


def _metrics(history: History, returns: list[float]) -> dict[str, dict[str, float]]:
    if not len(history):
        return {}
    losses = [v for v in history["loss"] if np.isfinite(v)]
    train = {
        "episodes": float(len(history)),
        "steps": history["steps"][-1],
        "mean_return": history["mean_return"][-1],
        "best_mean_return": max(history["mean_return"]),
    }
    if losses:  # none before learning starts (dqn's learn_start)
        train["loss"] = losses[-1]
    out = {"train": train}
    if returns:
        out["play"] = {
            "mean_return": float(np.mean(returns)),
            "min_return": float(np.min(returns)),
            "max_return": float(np.max(returns)),
        }
    return out
