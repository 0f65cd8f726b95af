"""`search = optuna(...)`: ranges sampled by an Optuna study, pruning on the monitored
metric per epoch, sweep.csv as a grid's. Optuna itself is the reference: its samplers
seeded alike pick the same values, and its MedianPruner, replayed on the histories the
trials wrote, prunes the same trials at the same epochs."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest

from nndsl.api import compile_file
from nndsl.cli import main
from nndsl.train.plots import BackgroundPlotter

optuna = pytest.importorskip("optuna")

SEARCH = """
model xor {{
    input(2)
    dense({units}, activation=tanh)
    dense(1, activation=sigmoid)
}}

train xor {{
    data       = synthetic("xor", n=64, noise=0.1, seed=0)
    validation = 0.25
    loss       = binary_crossentropy
    optimizer  = sgd(lr={lr}, momentum={momentum})
    batch_size = {batch}
    epochs     = {epochs}
    search     = {search}
}}
"""


def write(tmp_path: Path, name: str = "s.nn", **changes: str) -> Path:
    values = {
        "units": "intuniform(2, 8)",
        "lr": "loguniform(1e-4, 1e-1)",
        "momentum": "uniform(0.1, 0.9)",
        "batch": "[8, 32]",
        "epochs": "2",
        "search": "optuna(trials=8, sampler=random, pruner=none, seed=1)",
    }
    values.update(changes)
    path = tmp_path / name
    path.write_text(SEARCH.format(**values), encoding="utf-8")
    return path


def rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "sweep.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def history(folder: Path, key: str) -> list[float]:
    with open(folder / "history.csv", encoding="utf-8") as f:
        return [float(r[key]) for r in csv.DictReader(f)]


@pytest.fixture(autouse=True)
def no_plots(monkeypatch):
    """Pictures are not what these tests check; drawing them (in helper processes that
    start matplotlib) takes most of each trial's time."""
    monkeypatch.setattr(BackgroundPlotter, "__init__", lambda self: setattr(self, "proc", None))
    monkeypatch.setattr(BackgroundPlotter, "plot", lambda self, *a, **k: None)
    monkeypatch.setattr("nndsl.sweep.plot.plot_sweep", lambda *a, **k: None)


def test_sampled_values_lie_in_their_ranges_as_optuna_samples_them(tmp_path):
    out = tmp_path / "search"
    assert main(["run", str(write(tmp_path)), "--out", str(out), "-q"]) == 0
    table = sorted(rows(out), key=lambda r: r["trial"])
    assert [r["trial"] for r in table] == [f"trial-{i:02d}" for i in range(1, 9)]
    lrs = [float(r["optimizer.lr"]) for r in table]
    units = [r["dense_1.units"] for r in table]
    assert all(1e-4 <= v <= 1e-1 for v in lrs)
    assert all(u.isdigit() and 2 <= int(u) <= 8 for u in units)
    assert all(0.1 <= float(r["optimizer.momentum"]) <= 0.9 for r in table)
    assert {r["batch_size"] for r in table} <= {"8", "32"}
    # log-uniform: spread over the decades, not bunched at the top as uniform would be
    assert len({math.floor(math.log10(v)) for v in lrs}) >= 2
    assert min(lrs) < 1e-2
    # the reference: Optuna's RandomSampler with the same seed, asked in the file's order
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for row in table:
        t = study.ask()
        assert int(row["dense_1.units"]) == t.suggest_int("dense_1.units", 2, 8)
        assert float(row["optimizer.lr"]) == t.suggest_float("optimizer.lr", 1e-4, 1e-1, log=True)
        assert float(row["optimizer.momentum"]) == t.suggest_float("optimizer.momentum", 0.1, 0.9)
        assert row["batch_size"] == t.suggest_categorical("batch_size", ["8", "32"])
        study.tell(t, 0.0)
    # each trial's model.nn holds its values written out
    row = table[3]
    text = (out / row["trial"] / "model.nn").read_text(encoding="utf-8")
    assert f"dense({row['dense_1.units']}, activation=tanh)" in text
    assert f"sgd(lr={row['optimizer.lr']}, momentum={row['optimizer.momentum']})" in text
    assert "uniform(" not in text


def test_a_seeded_search_is_reproducible(tmp_path, capsys):
    path = write(
        tmp_path, search="optuna(trials=5, sampler=tpe, startup_trials=2, seed=5)", epochs="3"
    )
    assert main(["run", str(path), "--out", str(tmp_path / "a"), "-q"]) == 0
    assert main(["run", str(path), "--out", str(tmp_path / "b"), "--jobs", "2"]) == 0
    assert "--jobs ignored" in capsys.readouterr().err
    a = (tmp_path / "a" / "sweep.csv").read_text(encoding="utf-8")
    assert a == (tmp_path / "b" / "sweep.csv").read_text(encoding="utf-8")
    assert len(rows(tmp_path / "a")) == 5
    other = write(tmp_path, "t.nn", search="optuna(trials=3, startup_trials=2, seed=6)")
    assert main(["run", str(other), "--out", str(tmp_path / "c"), "-q"]) == 0
    lrs = {r["optimizer.lr"] for r in rows(tmp_path / "a")}
    assert lrs.isdisjoint(r["optimizer.lr"] for r in rows(tmp_path / "c"))


def test_pruning_stops_the_trials_optunas_median_pruner_prunes(tmp_path):
    # learning rates down to 1e-6 learn nothing in 6 epochs: worse than the median
    path = write(
        tmp_path,
        units="4",
        lr="loguniform(1e-6, 1.0)",
        momentum="0.9",
        batch="16",
        epochs="6",
        search="optuna(trials=10, sampler=random, pruner=median, startup_trials=2, seed=0)",
    )
    out = tmp_path / "search"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 0
    table = {r["trial"]: r for r in rows(out)}
    pruned = [r for r in table.values() if r["status"] == "pruned"]
    assert pruned and all(int(r["epochs"]) < 6 for r in pruned)
    assert any(r["status"] == "completed" and r["epochs"] == "6" for r in table.values())
    # pruned rows rank after every trial that ran on
    ranks = {r["trial"]: int(r["rank"]) for r in table.values()}
    assert max(ranks[r["trial"]] for r in table.values() if r["status"] != "pruned") < min(
        ranks[r["trial"]] for r in pruned
    )
    # replay: Optuna's own MedianPruner given the same values, in the same order
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    for name in sorted(table):
        losses = history(out / name, "val_loss")
        t = study.ask()
        stopped = None
        for epoch, value in enumerate(losses):
            t.report(value, epoch)
            if t.should_prune():
                stopped = epoch + 1
                break
        if stopped is None:
            study.tell(t, losses[-1])
            assert table[name]["status"] == "completed", name
            assert int(table[name]["epochs"]) == 6
        else:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
            assert table[name]["status"] == "pruned", name
            assert int(table[name]["epochs"]) == stopped == len(losses)
    # the pruned ones are the bad region: their learning rates are below the others'
    kept = [float(r["optimizer.lr"]) for r in table.values() if r["status"] == "completed"]
    assert max(kept) > max(float(r["optimizer.lr"]) for r in pruned)
    # a pruned trial's folder is whole and says so
    config = (out / pruned[0]["trial"] / "config.yaml").read_text(encoding="utf-8")
    assert "status: pruned" in config


def test_the_best_trials_model_nn_runs_alone_to_the_same_history(tmp_path):
    path = write(tmp_path, search="optuna(trials=3, seed=2)")
    out = tmp_path / "search"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 0
    best = next(r for r in rows(out) if r["best"] == "1")
    alone = tmp_path / "alone"
    assert main(["run", str(out / best["trial"] / "model.nn"), "--out", str(alone), "-q"]) == 0
    assert (alone / "history.csv").read_text() == (out / best["trial"] / "history.csv").read_text()


def test_choice_is_the_list_spelled_as_optuna_does(tmp_path):
    listed = compile_file(write(tmp_path, "a.nn", batch="[8, 32]")).sweep
    chosen = compile_file(write(tmp_path, "b.nn", batch="choice([8, 32])")).sweep
    assert listed.labels == chosen.labels
    assert [len(a) for a in listed.axes] == [len(a) for a in chosen.axes] == [2]
    text = chosen.source_for(1, values={"optimizer.lr": 0.5})
    assert "batch_size = 32\n" in text and "choice" not in text and "lr=0.5," in text


@pytest.mark.parametrize(
    "changes, where, message",
    [
        ({"lr": "loguniform(0.1, 0.01)"}, "loguniform(0.1, 0.01)", "must be below its high"),
        ({"lr": "uniform(0.1, 0.1)"}, "uniform(0.1, 0.1)", "must be below its high"),
        ({"lr": "loguniform(0, 0.1)"}, "0, 0.1)", "must be above 0"),
        ({"lr": "intuniform(1, 3)"}, "intuniform(1, 3)", "intuniform samples integers"),
        ({"units": "uniform(2, 8)"}, "uniform(2, 8)", "takes an integer"),
        ({"units": "intuniform(0, 8)"}, "0, 8)", "must be >= 1"),
        ({"lr": "loguniform(1e-4)"}, "loguniform(1e-4)", "takes two numbers"),
        ({"lr": 'uniform("a", 1)'}, '"a"', "must be a number"),
        ({"batch": "choice(8, 32)"}, "choice(8, 32)", "takes one list"),
        ({"lr": "loguniform(1e-4, 1e999)"}, "1e999", "must be a finite number"),
        ({"units": "intuniform(2, 99999999999999999999)"}, "9999", "at most"),
        ({"momentum": "uniform(-0.5, 0.5)"}, "-0.5", "must be >= 0"),
        ({"lr": "loguniform(low=1e-4, low=1e-3)"}, "1e-3)", "takes two numbers"),
        ({"lr": "loguniform(1e-4, 1e-1, 3)"}, "3)", "takes two numbers"),
        ({"search": "grid"}, "intuniform(2, 8)", "sweep is a grid"),
        ({"lr": "[loguniform(1e-4, 1e-1), 0.1]"}, "loguniform(1e-4", "a sweep inside a sweep"),
    ],
)
def test_bad_ranges_are_located_errors(tmp_path, capsys, changes, where, message):
    path = write(tmp_path, **changes)
    assert main(["check", str(path)]) != 0
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if where in t)
    column = path.read_text().splitlines()[line - 1].index(where) + 1
    assert f"s.nn:{line}:{column}: error" in err and message in err
    assert "^" in err and "Traceback" not in err


def test_a_range_on_a_non_numeric_argument_is_refused(tmp_path, capsys):
    path = write(tmp_path)
    path.write_text(path.read_text().replace("activation=tanh", "activation=loguniform(1, 2)"))
    assert main(["check", str(path)]) != 0
    err = capsys.readouterr().err
    assert "s.nn:4:" in err and "not a number" in err and "hint:" in err
    # the initializer uniform(low, high) stays an initializer
    path.write_text(
        path.read_text().replace("activation=loguniform(1, 2)", "init=uniform(-0.1, 0.1)")
    )
    assert main(["check", str(path)]) == 0


def test_a_grid_hint_names_the_search_and_check_compiles_the_low_ends(tmp_path, capsys):
    path = write(tmp_path, search="grid")
    main(["check", str(path)])
    assert "add search = optuna(trials=N)" in capsys.readouterr().err
    program = compile_file(write(tmp_path, "ok.nn"))
    assert main(["check", str(tmp_path / "ok.nn")]) == 0
    # compiled at the low ends: 2 units
    assert program.graph.param_count == 2 * 2 + 2 + 2 + 1
    assert main(["summary", str(tmp_path / "ok.nn")]) == 0
    shown = capsys.readouterr().out
    assert "Search: optuna(trials=8" in shown and "optimizer.lr = loguniform(0.0001, 0.1)" in shown


def test_without_optuna_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    assert main(["run", str(write(tmp_path)), "--out", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err
    assert "pip install 'nndsl[optuna]'" in err and "Traceback" not in err


def test_diverged_trials_fail_and_the_search_goes_on(tmp_path):
    # a linear output under mse diverges at large learning rates: those trials fail
    path = write(
        tmp_path,
        units="4",
        lr="loguniform(1e-3, 1e4)",
        momentum="0.9",
        batch="16",
        search="optuna(trials=12, sampler=random, pruner=none, seed=4)",
    )
    path.write_text(
        path.read_text()
        .replace("dense(1, activation=sigmoid)", "dense(1)")
        .replace("binary_crossentropy", "mse")
    )
    out = tmp_path / "search"
    assert main(["run", str(path), "--out", str(out), "-q", "--trials", "8"]) == 0
    table = rows(out)
    assert len(table) == 8  # --trials overrides the count
    statuses = [r["status"] for r in table]
    assert "failed" in statuses and "completed" in statuses
    # failed trials rank last and are never the best
    first_failed = statuses.index("failed")
    assert set(statuses[first_failed:]) == {"failed"} and table[0]["best"] == "1"
    failed_lr = min(float(r["optimizer.lr"]) for r in table if r["status"] == "failed")
    assert failed_lr > max(float(r["optimizer.lr"]) for r in table if r["status"] == "completed")
