"""`nndsl run` of an agent (a train block with `env =`): the model acts in its
environment and learns by its algorithm (nndsl.rl), then the run folder is written as
for any run (nndsl.run): weights, the source, history.csv with one row per episode
(return, mean return over the last 100, length, loss, epsilon, steps so far),
curves.png, metrics.json (training's returns and greedy evaluation episodes') and
config.yaml. `play` replays a trained agent."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.backends import create_engine
from nndsl.errors import NNDSLError
from nndsl.files import held_signals, show_path
from nndsl.ir.check import check_weights
from nndsl.rl.algorithms import (
    WINDOW,
    AgentLoop,
    Episode,
    build_agent,
    env_copies,
    mean_returns,
    play,
)
from nndsl.rl.envs import make_env
from nndsl.run import RunRequest, _lock_run_folder, _write_run, build_model
from nndsl.runfolder import (
    CHECKPOINT,
    checkpoint_meta,
    discard_partial,
    partial_of,
    prepare_partial,
    swap_in,
)
from nndsl.train.checkpoint import save_checkpoint, signals_interrupt
from nndsl.train.history import History
from nndsl.train.plots import BackgroundPlotter

EVAL_EPISODES = 10  # greedy episodes played after training, for metrics.json
REPORT_EVERY = 20  # episodes between progress lines


def is_agent(program: Any, model: str | None = None) -> bool:
    plan = program.plan_for(program.model_graph(model).name)
    return plan is not None and plan.env is not None


class AgentTraining:
    """An agent's training in progress: the model, its environment's copies, the
    algorithm and the loop playing them (nndsl.rl), and the history so far. `capture`
    and `restore` give and take its whole state in the checkpoint format of data runs
    (nndsl.train.checkpoint: one .npz, no pickle) with the play's own part under
    `agent`: the target network, the replay buffer's contents and position, the
    environments' and every generator's states, the episodes under way."""

    def __init__(self, model: Any, on_episode: Any = None) -> None:
        plan = model.plan
        self.model, self.on_episode = model, on_episode
        envs = [make_env(plan.env) for _ in range(env_copies(plan))]

        def another_engine() -> Any:
            return create_engine(
                model.backend,
                model.graph,
                seed=model.seed,
                dtype=model.dtype,
                loss=plan.loss,
                device=model.device,
            )

        agent = build_agent(plan, model.engine, another_engine, envs[0], model.seed)
        self.loop = AgentLoop(agent, envs, model.seed, plan.steps, plan.epochs)
        self.history = History()

    def _record(self, episode: Episode) -> None:
        episodes = self.loop.episodes
        row = {
            "return": episode.reward,
            "mean_return": mean_returns(episodes[-WINDOW:])[-1],
            "length": float(episode.length),
            "loss": episode.loss,
            "epsilon": episode.epsilon,
            "steps": float(episode.steps),
        }
        self.history.append(len(self.history), row)
        if self.on_episode is not None:
            self.on_episode(len(self.history), row)

    def run(self, should_stop: Any = None) -> bool:
        """Train to the end (True), or until `should_stop()` (False: between two steps,
        where `capture` can take the state)."""
        return self.loop.run(self._record, should_stop)

    def capture(self, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        engine, h = self.model.engine, self.history
        return {
            "epoch": len(h),  # episodes done
            "weights": engine.get_weights(),
            "engine": engine.state_dict(),
            "trainer_rng": self.loop.reset_rng.bit_generator.state,
            "callbacks": {},
            "history": {
                "epoch": list(h.epoch),
                "history": {k: list(v) for k, v in h.history.items()},
                "info": dict(h.info),
            },
            "meta": dict(meta or {}),
            "agent": self.loop.state_dict(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from `state` (from `capture` or a checkpoint file); each piece is
        checked against what this training holds before any is set."""
        where = getattr(state, "path", None)
        engine = self.model.engine
        try:
            if "agent" not in state:
                raise NNDSLError("it holds no agent's play (written by a run on data?)")
            check_weights({k: v.shape for k, v in engine.get_weights().items()}, state["weights"])
            live = engine.state_dict()
            _fits({k: v for k, v in state["engine"].items() if k in live}, live, "engine")
            _fits(state["agent"], self.loop.state_dict(), "agent")
            h = state["history"]["history"]
            missing = [k for k in HISTORY_COLUMNS if k not in h]
            if missing and state["epoch"]:
                raise NNDSLError(f"its history has no '{missing[0]}' column")
            episodes = [
                Episode(r, int(n), loss, eps, int(steps))
                for r, n, loss, eps, steps in zip(
                    *(h.get(k, []) for k in HISTORY_COLUMNS), strict=True
                )
            ]
            for rng_state in _generator_states(state["agent"]):  # checked before any is set
                np.random.PCG64().state = rng_state
            # the pieces check what they take as they take it: all put back on a refusal
            saved = engine.get_weights(), engine.state_dict(), self.loop.state_dict()
            try:
                engine.set_weights(state["weights"])
                engine.load_state_dict(state["engine"])
                self.loop.load_state_dict(state["agent"], episodes)
            except (NNDSLError, ValueError, KeyError, TypeError):
                engine.set_weights(saved[0])
                engine.load_state_dict(saved[1])
                self.loop.load_state_dict(saved[2], self.loop.episodes)
                raise
        except NNDSLError as e:
            raise _misfit(where, e.message) from None
        except (ValueError, KeyError, TypeError, IndexError, OverflowError) as e:
            raise _misfit(where, str(e) or type(e).__name__) from None
        self.history = History(
            history={k: list(v) for k, v in h.items()},
            epoch=list(state["history"]["epoch"]),
            info=dict(state["history"]["info"]),
        )


HISTORY_COLUMNS = ("return", "length", "loss", "epsilon", "steps")


def _misfit(where: Any, reason: str) -> NNDSLError:
    return NNDSLError(
        (f"{show_path(where)}: " if where else "")
        + f"this checkpoint does not fit the agent: {reason}",
        hint="was it written by another model, environment or algorithm?",
    )


def _generator_states(value: Any) -> list[dict]:
    """Every numpy generator state in `value` (a record with a 'bit_generator' key)."""
    if isinstance(value, dict):
        if "bit_generator" in value:
            return [value]
        return [s for v in value.values() for s in _generator_states(v)]
    if isinstance(value, list):
        return [s for v in value for s in _generator_states(v)]
    return []


def _fits(value: Any, live: Any, field: str) -> None:
    """Refuse `value` (from a file) unless it has the structure of `live`: the same
    keys, numbers where numbers are, arrays of as many axes with the same sizes after
    the first (the lengths of pending transitions vary; each load_state_dict checks
    its own)."""
    if isinstance(live, dict):
        if not isinstance(value, dict) or set(value) != set(live):
            raise NNDSLError(f"'{field}' does not hold {', '.join(map(str, live)) or 'nothing'}")
        for k in live:
            _fits(value[k], live[k], f"{field}.{k}")
    elif isinstance(live, np.ndarray):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise NNDSLError(f"'{field}' is not an array of numbers")
        if value.ndim != live.ndim or value.shape[1:] != live.shape[1:]:
            raise NNDSLError(f"'{field}' has shape {value.shape}, expected {live.shape}")
    elif isinstance(live, list):
        if not isinstance(value, list) or len(value) != len(live):
            raise NNDSLError(f"'{field}' is not a list of {len(live)}")
        for i, (v, lv) in enumerate(zip(value, live)):
            _fits(v, lv, f"{field}[{i}]")
    elif isinstance(live, str):
        if value != live:
            raise NNDSLError(f"'{field}' is {str(value)[:40]!r}, expected {live!r}")
    elif isinstance(live, (int, float, np.integer, np.floating)) and not isinstance(live, bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NNDSLError(f"'{field}' is not a number")


def fit_agent(model: Any, on_episode: Any = None) -> History:
    """Train `model` (an nndsl.model.Model whose plan has an env) in its environment; the
    history, one row per episode."""
    training = AgentTraining(model, on_episode)
    training.run()
    return training.history


def evaluate_agent(model: Any, episodes: int = EVAL_EPISODES, on_step: Any = None) -> list[float]:
    """Returns of greedy episodes of the trained model in its environment; `on_step(env)`
    after every reset and step."""
    return play(model.engine, make_env(model.plan.env), episodes, model.seed, on_step)


def train_agent_run(request: RunRequest) -> int:
    """`nndsl run` of an agent: trained, then its run folder written. SIGINT or SIGTERM
    stops play between two steps: the folder is written with the weights so far and a
    checkpoint that `nndsl run --resume RUN` continues from, bit for bit (NumPy); so
    does one written every `checkpoint_every` episodes, if a run is killed outright."""
    model = build_model(
        request.program, request.backend, request.device, request.model, request.seed
    )
    plan = model.plan
    say = (lambda *a: None) if request.quiet else (lambda *a: print(*a, file=sys.stderr))
    resuming = request.resume is not None
    say(
        f"{'continuing' if resuming else 'training'} {model.graph.name} "
        f"({model.graph.param_count:,} parameters) in {plan.env} by {plan.algorithm.name} "
        f"for {plan.steps:,} steps [{model.backend}]"
    )
    plotter = BackgroundPlotter()
    try:
        with (
            signals_interrupt() as interrupts,
            _lock_run_folder(request.out, model.graph.name) as lock,
        ):
            interrupts.hold()  # a signal is noted, and play stops before its next step
            request.out = final = lock.final
            partial = partial_of(final)
            meta = checkpoint_meta(request, model)
            meta.pop("epochs")  # an agent's epochs cap episodes, 0 for none
            saves = _Saves(partial / CHECKPOINT, meta)

            def progress(n: int, row: dict) -> None:
                if n % REPORT_EVERY == 0:
                    say(
                        f"episode {n}: steps {int(row['steps'])}, return {row['return']:g}, "
                        f"mean {row['mean_return']:.1f}, epsilon {row['epsilon']:.3f}, "
                        f"loss {row['loss']:.4g}"
                    )
                if plan.checkpoint_every and n % plan.checkpoint_every == 0:
                    saves.due = True  # written before the next step: copies that ended
                    # in the same step as this one are not yet recorded

            def between_steps() -> bool:
                if saves.due:
                    saves.save(training)
                return interrupts.received is not None

            training = AgentTraining(model, progress)
            if resuming:
                training.restore(request.resume)
            prepare_partial(partial, resuming=resuming)
            started = time.perf_counter()
            try:
                done = training.run(should_stop=between_steps)
            except NNDSLError:
                discard_partial(partial, keep_checkpoint=resuming or saves.written)
                raise
            seconds = time.perf_counter() - started
            status = "completed" if done else "interrupted"
            if not done:
                saves.save(training, say)
                if saves.written:
                    say(
                        f"interrupted ({interrupts.received}): a checkpoint after "
                        f"{training.loop.total:,} steps; continue with: nndsl run --resume {final}"
                    )
            history = training.history
            returns = evaluate_agent(model) if done else []
            metrics = _metrics(history, returns)
            try:
                _write_run(partial, request, model, history, metrics, status, seconds, plotter)
                if done:
                    (partial / CHECKPOINT).unlink(missing_ok=True)
                swap_in(partial, final)
            except NNDSLError:
                discard_partial(partial, keep_checkpoint=True)
                raise
    finally:
        plotter.close()
    if returns:
        say(f"greedy play, {len(returns)} episodes: mean return {np.mean(returns):g}")
    say(f"run folder: {final}")
    return 130 if status == "interrupted" else 0


class _Saves:
    """Writes an agent's checkpoints (atomically, signals held off meanwhile)."""

    def __init__(self, path: Path, meta: dict) -> None:
        self.path, self.meta, self.written, self.due = path, meta, False, False

    def save(self, training: AgentTraining, say: Any = None) -> None:
        self.due = False
        try:
            state = training.capture(self.meta)
        except NNDSLError as e:  # a Gymnasium environment: no state to save
            if say is not None:
                say(f"no checkpoint: {e.message}")
            return
        with held_signals():
            save_checkpoint(self.path, state)
        self.written = True


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
