"""`search = optuna(...)`: an Optuna study picks each trial's values from the file's lists
(categorical) and ranges (`loguniform(1e-4, 1e-1)`, nndsl.sweep.grid) and prunes trials
on the monitored metric, reported every epoch.

Trials run one after another, each through `nndsl run`'s own machinery into its run
folder under the sweep folder, as a grid's do; sweep.csv and the table are the grid's.
TPE's choices depend on every earlier trial's result, so a seeded search is reproducible
only sequentially: `--jobs` is ignored here. A pruned trial stops at the epoch the pruner
decides; its run folder is whole, with status `pruned`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.run import RunRequest, default_dir
from nndsl.sweep.grid import Axis, Range, unparse
from nndsl.sweep.runner import (
    Objective,
    TrialResult,
    _trial_options,
    finish_sweep,
    train_trial,
    trial_line,
)
from nndsl.sweep.trials import make_trial
from nndsl.train.callbacks import Callback

INSTALL = "pip install 'nndsl[optuna]'"


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise NNDSLError(
            "search = optuna(...) needs Optuna, which is not installed",
            hint=f"{INSTALL}, or sweep a grid: drop the search setting and list the values",
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # nndsl prints each trial itself
    return optuna


def make_study(optuna: Any, search: dict[str, Any], seed: int, direction: str) -> Any:
    """The study `search` (the optuna(...) entry's arguments) describes."""
    startup = search["startup_trials"]
    if search["sampler"] == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(startup, 1))
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    if search["pruner"] == "median":
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=startup, n_warmup_steps=search["warmup_epochs"]
        )
    else:
        pruner = optuna.pruners.NopPruner()
    return optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)


def suggest(sweep: Any, trial: Any) -> tuple[list[int], dict[str, float]]:
    """Optuna's picks for one trial: (the index of each list's value, {range: number})."""
    point, values = [], {}
    for dim in sweep.dimensions:
        if isinstance(dim, Axis):
            texts = [unparse(v) for v in dim.items]
            point.append(texts.index(trial.suggest_categorical(dim.label, texts)))
        elif isinstance(dim, Range):
            log = dim.kind == "loguniform"
            if dim.integer:
                values[dim.label] = trial.suggest_int(dim.label, dim.low, dim.high, log=log)
            else:
                values[dim.label] = trial.suggest_float(dim.label, dim.low, dim.high, log=log)
    return point, values


class Pruning(Callback):
    """Reports the monitored metric to an Optuna trial after every epoch and stops
    training when the pruner says so (`pruned_epoch`, 1-based, in the history's info)."""

    def __init__(self, trial: Any, key: str) -> None:
        self.trial = trial
        self.key = key
        self.pruned_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.key)
        if value is None:
            raise NNDSLError(
                f"the search prunes on '{self.key}', which training does not report",
                hint="reported: " + ", ".join(logs),
            )
        if not math.isfinite(value):
            return  # Optuna refuses NaN reports; the trial fails or recovers on its own
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned_epoch = epoch + 1
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.pruned_epoch:
            logs["pruned_epoch"] = self.pruned_epoch


def run_search(request: RunRequest, trials: int | None = None, jobs: int = 1) -> int:
    """Train `request.program`'s search (`trials` from --trials overrides its count)."""
    program = request.program
    plan = program.train
    search = plan.search.args
    say = (lambda *a: None) if request.quiet else (lambda *a: print(*a, file=sys.stderr))
    optuna = import_optuna()
    if trials is not None and trials < 1:
        raise NNDSLError(f"--trials must be at least 1, got {trials}")
    count = trials if trials is not None else search["trials"]
    if jobs and jobs > 1:
        say("optuna trials run one after another (each learns from the last): --jobs ignored")
    seed = search["seed"]
    if seed is None:
        seed = request.seed if request.seed is not None else plan.seed
    objective = Objective.of(plan)
    study = make_study(optuna, search, seed, "minimize" if objective.mode == "min" else "maximize")
    folder = request.out or default_dir(f"{plan.model}-sweep")
    folder.mkdir(parents=True, exist_ok=True)
    say(
        f"search of {plan.model}: {count} optuna trials ({search['sampler']} sampler, "
        f"{search['pruner'] or 'no'} pruner, seed {seed}) over "
        + ", ".join(program.sweep.labels)
        + f"; ranked by {objective.key} "
        f"({'lower' if objective.mode == 'min' else 'higher'} is better)"
    )
    options = _trial_options(request, folder)
    width = max(2, len(str(count)))
    results: list[TrialResult] = []
    interrupted = False
    try:
        for n in range(count):
            asked = study.ask()
            point, values = suggest(program.sweep, asked)
            index = program.sweep.index_of(point)
            trial = make_trial(program, index, f"trial-{n + 1:0{width}d}", values)
            result = train_trial(options, trial, callbacks=(Pruning(asked, objective.key),))
            result.index = n  # ties rank in the order the trials ran
            results.append(result)
            _tell(optuna, study, asked, result, objective)
            say(trial_line(result, n + 1, count, objective))
            if result.status == "interrupted":
                interrupted = True
                break
    except KeyboardInterrupt:
        interrupted = True
    return finish_sweep(request, folder, results, objective, interrupted)


def _tell(optuna: Any, study: Any, asked: Any, result: TrialResult, objective: Objective) -> None:
    state = optuna.trial.TrialState
    value = result.value(objective.key)
    if result.status == "pruned":
        study.tell(asked, state=state.PRUNED)
    elif result.status in ("failed", "interrupted") or not math.isfinite(value):
        study.tell(asked, state=state.FAIL)
    else:
        study.tell(asked, value)
