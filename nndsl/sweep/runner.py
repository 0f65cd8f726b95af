"""`nndsl run` on a sweep file: train every trial (or a seeded sample of them), each into
its own run folder under one sweep folder, then rank them by the monitored metric.

SWEEP/trial-01/ ...   ordinary run folders (config.yaml, history.csv, weights.npz, ...;
                      model.nn is the trial's own file, runnable by itself)
SWEEP/sweep.csv       one row per trial: rank, best, the values, status, metrics
SWEEP/sweep.png       every trial's curves on shared axes (with matplotlib)

Each trial is a separate, seeded run, so `--jobs N` (trials in N processes) gives the
same numbers as one after another.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.ir.metrics import monitor_mode
from nndsl.run import RunRequest, default_dir, train_run
from nndsl.runfolder import RunFolder


@dataclass
class TrialResult:
    """What a finished trial left in its run folder."""

    name: str
    index: int
    text: dict[str, str]  # {axis label: value as written}
    folder: str
    status: str  # completed | stopped early | pruned | interrupted | failed
    epochs: int
    kept: dict[str, float]  # history row of the weights kept (best with restore_best)
    history: dict[str, list[float]] = field(default_factory=dict)
    error: str = ""

    def value(self, key: str) -> float:
        return self.kept.get(key, math.nan)


@dataclass(frozen=True)
class Objective:
    """The metric that ranks trials: early_stop's monitor, else val_loss, else loss."""

    key: str
    mode: str  # "min" | "max"

    @classmethod
    def of(cls, plan: Any) -> Objective:
        if plan.early_stop is None and plan.discriminator is not None:
            raise NNDSLError(
                "a GAN has no one loss to rank a sweep's trials by (d_loss and g_loss "
                "trade off against each other)",
                hint="name the column that ranks them: early_stop = (monitor=d_loss, "
                "mode=max, patience=1000) keeps every epoch and ranks by how confused "
                "the discriminator is",
            )
        if plan.early_stop is not None:
            key, mode = plan.early_stop["monitor"], plan.early_stop["mode"]
        else:
            key, mode = ("val_loss" if plan.validation > 0 else "loss"), "auto"
        return cls(key, monitor_mode(key, mode))  # "auto" as EarlyStopping decides

    def rank(self, results: list[TrialResult]) -> list[TrialResult]:
        """Best first; pruned trials after those that ran on (their value is of an
        earlier epoch), failed trials and missing values last; ties in grid order."""

        def key(r: TrialResult) -> tuple:
            v = r.value(self.key)
            bad = r.status == "failed" or not math.isfinite(v)
            tier = 2 if bad else int(r.status == "pruned")
            return (tier, 0.0 if bad else (v if self.mode == "min" else -v), r.index)

        return sorted(results, key=key)


def run_sweep(request: RunRequest, sample: int | None = None, jobs: int = 1) -> int:
    """Train the trials of `request.program` (a sweep; its overrides are the --set texts),
    or a seeded `sample` of them, `jobs` at a time, into one sweep folder."""
    from nndsl.sweep.trials import check_trials

    program = request.program
    if program.train.search.name != "grid":  # its trials are sampled one by one
        raise NNDSLError(
            f"search = {program.train.search.name}(...) is run by nndsl.sweep.search.run_search"
        )
    say = (lambda *a: None) if request.quiet else (lambda *a: print(*a, file=sys.stderr))
    trials = program.trials
    chosen = trials
    if sample is not None:
        if sample < 1:
            raise NNDSLError(f"--trials must be at least 1, got {sample}")
        seed = request.seed if request.seed is not None else program.train.seed
        chosen = [trials[i] for i in program.sweep.sample(sample, seed)]
    if len(chosen) == len(trials):
        check_trials(program)
    for trial in chosen:  # every combination compiles before anything trains
        trial.program  # noqa: B018
    objective = Objective.of(program.train)
    model_name = program.train.model
    folder = request.out or default_dir(f"{model_name}-sweep")
    folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or 1, len(chosen)))
    say(
        f"sweep of {model_name}: {len(chosen)} of {len(trials)} trials over "
        + ", ".join(program.sweep.labels)
        + (f", {jobs} at a time" if jobs > 1 else "")
        + f"; ranked by {objective.key} ({'lower' if objective.mode == 'min' else 'higher'}"
        " is better)"
    )
    tasks = [(_trial_options(request, folder), t.index) for t in chosen]
    results: list[TrialResult] = []
    interrupted = False

    def done(r: TrialResult) -> None:
        results.append(r)
        say(trial_line(r, len(results), len(chosen), objective))

    try:
        if jobs == 1:
            for options, index in tasks:
                r = _run_trial(options, index, program)
                done(r)
                if r.status == "interrupted":
                    interrupted = True
                    break
        else:
            interrupted = _run_parallel(tasks, jobs, done)
    except KeyboardInterrupt:
        interrupted = True
    return finish_sweep(request, folder, results, objective, interrupted)


def finish_sweep(
    request: RunRequest,
    folder: Path,
    results: list[TrialResult],
    objective: Objective,
    interrupted: bool,
) -> int:
    """Rank the trials, write sweep.csv and sweep.png, print the table; the exit status."""
    program = request.program
    model_name = program.train.model
    say = (lambda *a: None) if request.quiet else (lambda *a: print(*a, file=sys.stderr))
    ranked = objective.rank(results)
    write_summary(folder, ranked, program.sweep.labels, objective)
    note = None
    if ranked:
        from nndsl.sweep.plot import plot_sweep

        note = plot_sweep(ranked, objective, folder / "sweep.png", title=f"{model_name} sweep")
    if not request.quiet:
        if ranked:
            print(table(ranked, program.sweep.labels, objective))
        if note:
            say(note)
        best = ranked[0] if ranked and _is_good(ranked[0], objective) else None
        if best is not None:
            say(f"best: {best.name} ({_describe(best.text)}): {best.folder}")
        say(f"sweep folder: {folder}")
    return 130 if interrupted else 0


def trial_line(r: TrialResult, n: int, total: int, objective: Objective) -> str:
    """The progress line of a finished trial: `[3/8] trial-03  lr=0.01  val_loss=...`."""
    epochs = f"{r.epochs} epoch" + ("s" if r.epochs != 1 else "")
    return (
        f"[{n}/{total}] {r.name}  {_describe(r.text)}  "
        f"{objective.key}={_num(r.value(objective.key))}  ({r.status}, {epochs})"
    )


def _trial_options(request: RunRequest, folder: Path) -> dict[str, Any]:
    """What a trial's run needs, as plain data (it may cross to another process)."""
    return {
        "file": request.file,
        "sets": list(request.program.overrides),  # --set texts and --epochs
        "backend": request.backend,
        "device": request.device,
        "model": request.model,
        "seed": request.seed,
        "folder": str(folder),
    }


def _run_trial(options: dict[str, Any], index: int, program: Any = None) -> TrialResult:
    """Train trial `index` into its run folder with `nndsl run`'s own machinery."""

    if program is None:  # in a worker process: compile the file again
        from nndsl.api import compile_file

        program = compile_file(options["file"], overrides=options["sets"])
    return train_trial(options, program.trials[index])


def train_trial(options: dict[str, Any], trial: Any, callbacks: tuple = ()) -> TrialResult:
    """Train `trial` (nndsl.sweep.trials.Trial) into its folder under the sweep's, with
    `callbacks` added to its training loop."""
    index = trial.index
    out = Path(options["folder"]) / trial.name
    request = RunRequest(
        options["file"],
        trial.program,  # its overrides hold this trial's values (and --epochs)
        backend=options["backend"],
        device=options["device"],
        model=options["model"],
        seed=options["seed"],
        out=out,
        quiet=True,
        callbacks=tuple(callbacks),
    )
    error = ""
    code = 0
    try:
        code = train_run(request)
    except NNDSLError as e:
        if not out.exists():  # refused before training (data, targets): no trial can run
            e.message = f"{trial.name} ({trial.describe()}): {e.message}"
            e.args = (e.message,)
            raise
        error = e.message
    result = read_trial(out, trial.name, index, trial.text)
    result.error = error
    if code == 130:
        result.status = "interrupted"
    return result


def _init_worker() -> None:
    # trials run side by side: one BLAS thread each (set before NumPy loads, where it can)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


def _run_parallel(tasks: list, jobs: int, done: Any) -> bool:
    """Trials in `jobs` worker processes. On Linux they are forked, inheriting what is
    already imported (NumPy, matplotlib: a second or two each otherwise), unless torch is
    loaded, which must not be forked; then they are spawned afresh."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    fork = sys.platform == "linux" and "torch" not in sys.modules
    if fork:  # every trial draws its curves: load matplotlib once, before the workers fork
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        except ImportError:
            pass
    context = multiprocessing.get_context("fork" if fork else "spawn")
    interrupted = False
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker) as pool:
        futures = [pool.submit(_run_trial, options, index) for options, index in tasks]
        try:
            for future in as_completed(futures):
                r = future.result()
                done(r)
                interrupted = interrupted or r.status == "interrupted"
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return interrupted


# ------------------------------------------------------------------ results


def read_trial(folder: Path, name: str, index: int, text: dict[str, str]) -> TrialResult:
    """A trial's result from its run folder: status, history, and the history row of the
    weights it kept (the restored epoch with restore_best, else the last)."""
    run = RunFolder(folder)
    config, read = run.config, run.history
    history, epochs = read.history, [e + 1 for e in read.epoch]  # 1-based, as config's
    kept: dict[str, float] = {}
    if epochs:
        restored = (config.get("early_stop") or {}).get("restored_epoch")
        at = epochs.index(restored) if restored in epochs else -1  # both 1-based
        kept = {k: v[at] for k, v in history.items()}
    return TrialResult(
        name, index, dict(text), str(folder), config.get("status", "?"), len(epochs), kept, history
    )


def _is_good(r: TrialResult, objective: Objective) -> bool:
    return r.status != "failed" and math.isfinite(r.value(objective.key))


def _columns(results: list[TrialResult], objective: Objective) -> list[str]:
    keys = [objective.key]
    for r in results:
        keys += [k for k in r.kept if k not in keys and k != "lr"]
    return keys


def write_summary(
    folder: Path, ranked: list[TrialResult], labels: list[str], objective: Objective
) -> None:
    """sweep.csv: one row per trial, best first; `best` is 1 on the winning row."""
    from nndsl.files import atomic_write_text

    metrics = _columns(ranked, objective)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "trial", "best", *labels, "status", "epochs", *metrics, "folder"])
    for rank, r in enumerate(ranked, 1):
        best = int(rank == 1 and _is_good(r, objective))
        w.writerow(
            [rank, r.name, best, *(r.text.get(k, "") for k in labels), r.status, r.epochs]
            + [repr(r.value(k)) for k in metrics]
            + [Path(r.folder).name]
        )
    atomic_write_text(folder / "sweep.csv", buf.getvalue())


def table(ranked: list[TrialResult], labels: list[str], objective: Objective) -> str:
    """The ranking as a text table; the best row is marked with `*`."""
    metrics = _columns(ranked, objective)
    head = ["", "rank", "trial", *labels, "status", "epochs", *metrics]
    rows = [head]
    for rank, r in enumerate(ranked, 1):
        mark = "*" if rank == 1 and _is_good(r, objective) else ""
        rows.append(
            [mark, str(rank), r.name, *(r.text.get(k, "") for k in labels), r.status]
            + [str(r.epochs), *(_num(r.value(k)) for k in metrics)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    numeric = {1, len(head) - len(metrics) - 1, *range(len(head) - len(metrics), len(head))}
    lines = [
        "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def _num(v: float) -> str:
    return f"{v:.4f}" if 1e-3 <= abs(v) < 1e4 else f"{v:.4g}"


def _describe(text: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in text.items())
