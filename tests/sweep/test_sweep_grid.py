"""Sweeps in the file: which lists are sweeps, the grid's trials and their configurations,
errors located at the value that causes them, `nndsl check` / `summary` on sweep files."""

from __future__ import annotations

import pytest

import nndsl
from nndsl.cli import main

BASE = """
model m {{
    input(2)
    dense({units}, activation={act})
    dense(1, activation=sigmoid)
}}

train m {{
    data       = synthetic("xor", n=64, seed=0)
    validation = {validation}
    loss       = binary_crossentropy
    optimizer  = {optimizer}
    batch_size = {batch}
    metrics    = [accuracy]
}}
"""


def source(units="4", act="tanh", validation="0.25", optimizer="adam(lr=0.01)", batch="16") -> str:
    return BASE.format(
        units=units, act=act, validation=validation, optimizer=optimizer, batch=batch
    )


def test_a_plain_file_has_no_trials():
    program = nndsl.compile_string(source())
    assert program.sweep is None
    assert program.trials == []


def test_grid_in_source_order_last_list_fastest():
    program = nndsl.compile_string(
        source(optimizer="adam(lr=[1e-2, 1e-3, 1e-4])", batch="[16, 64]")
    )
    assert program.sweep.labels == ["optimizer.lr", "batch_size"]
    trials = program.trials
    assert len(trials) == 6
    assert [t.name for t in trials] == [f"trial-{i:02d}" for i in range(1, 7)]
    assert [t.config for t in trials] == [
        {"optimizer.lr": lr, "batch_size": b} for lr in (1e-2, 1e-3, 1e-4) for b in (16, 64)
    ]
    assert trials[3].text == {"optimizer.lr": "1e-3", "batch_size": "64"}
    plan = trials[3].program.train
    assert plan.optimizer.args["lr"] == 1e-3 and plan.batch_size == 64
    # the sweep file itself stands for its first trial
    assert program.train.optimizer.args["lr"] == 1e-2 and program.train.batch_size == 16


def test_trial_names_pad_to_the_grid_size():
    program = nndsl.compile_string(source(batch="[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]"))
    assert [t.name for t in program.trials][:2] == ["trial-01", "trial-02"]


def test_layer_arguments_sweep_and_are_labelled_by_node():
    program = nndsl.compile_string(source(units="[4, 8]", act="[relu, tanh]"))
    assert program.sweep.labels == ["dense_1.units", "dense_1.activation"]
    graphs = [t.program.graph for t in program.trials]
    assert [g.param_count for g in graphs] == [17, 17, 33, 33]
    assert [g.nodes[1].attrs["activation"].name for g in graphs] == ["relu", "tanh"] * 2


def test_a_list_of_optimizers_is_a_sweep():
    program = nndsl.compile_string(source(optimizer="[adam(lr=0.01), sgd(lr=0.1, momentum=0.9)]"))
    assert [t.program.train.optimizer.name for t in program.trials] == ["adam", "sgd"]
    assert program.trials[1].text == {"optimizer": "sgd(lr=0.1, momentum=0.9)"}


@pytest.mark.parametrize(
    "optimizer",
    ["adam(lr=0.01, betas=[0.9, 0.999])", "sgd(lr=0.1)"],
)
def test_lists_that_are_values_are_not_sweeps(optimizer):
    text = source(optimizer=optimizer).replace("input(2)", "input(2, )")
    assert nndsl.compile_string(text).sweep is None


def test_list_valued_arguments_sweep_with_a_list_of_lists():
    program = nndsl.compile_string(source(optimizer="adam(betas=[[0.9, 0.999], [0.5, 0.9]])"))
    assert [t.program.train.optimizer.args["betas"] for t in program.trials] == [
        [0.9, 0.999],
        [0.5, 0.9],
    ]


def test_groups_and_repeats():
    text = source().replace(
        "    metrics", "    early_stop = (patience=[2, 5], restore_best=true)\n    metrics"
    )
    text = text.replace("dense(4, activation=tanh)", "repeat 2 { dense([3, 5]) }")
    program = nndsl.compile_string(text)
    assert program.sweep.labels == ["dense_1.units", "early_stop.patience"]
    second = program.trials[2].program
    assert [n.shape for n in second.graph.nodes[1:3]] == [(5,), (5,)]  # both copies
    assert second.train.early_stop["patience"] == 2


def test_trial_source_is_a_standalone_file():
    program = nndsl.compile_string(source(units="[4, 8]", optimizer="adam(lr=[1e-2, 1e-3])"))
    trial = program.trials[3]
    assert "dense(8, activation=tanh)" in trial.program.source
    assert "adam(lr=1e-3)" in trial.program.source
    again = nndsl.compile_string(trial.program.source)
    assert again.sweep is None
    assert again.train.to_dict() | {"base_dir": None} == trial.program.train.to_dict() | {
        "base_dir": None
    }


def test_a_sweep_given_with_set():
    program = nndsl.compile_string(source(), overrides=["batch_size=[8, 32]", "epochs=3"])
    assert program.sweep.labels == ["batch_size"]
    trial = program.trials[1]
    assert trial.program.train.batch_size == 32
    assert trial.program.overrides == ["batch_size=32", "epochs=3"]
    assert trial.program.source == source()  # the override is not in the file


def test_seeded_sample_of_trials():
    program = nndsl.compile_string(source(units="[2, 3, 4, 5]", batch="[4, 8, 16, 32, 64]"))
    sweep = program.sweep
    a = sweep.sample(6, seed=1)
    assert a == sweep.sample(6, seed=1) and a == sorted(set(a)) and len(a) == 6
    assert a != sweep.sample(6, seed=2)
    assert sweep.sample(99, seed=0) == list(range(20))


@pytest.mark.parametrize(
    ("change", "message", "at"),
    [
        ({"batch": "[16, true]"}, "'batch_size' must be an integer, got a boolean", "true"),
        ({"batch": "[]"}, "an empty list sweeps nothing", "[]"),
        ({"optimizer": "adam(lr=[0.1, -1])"}, "'lr' must be >= 0, got -1", "-1"),
        ({"optimizer": "[adam(lr=[1, 2]), sgd]"}, "a sweep inside a sweep's value", "[1, 2]"),
        ({"act": "[relu, rellu]"}, "unknown activation 'rellu'", "rellu"),
    ],
)
def test_mistakes_point_at_the_value(change, message, at):
    text = source(**change)
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(text, path="sweep.nn")
    e = info.value
    assert message in e.message
    line = text.splitlines()[e.line - 1]
    assert line[e.column - 1 :].startswith(at)
    assert e.end_column - e.column == len(at)


def test_check_tries_every_combination(tmp_path, capsys):
    path = tmp_path / "s.nn"
    path.write_text(
        source(validation="[0.2, 0.5]").replace("    metrics", "    test = [0.1, 0.5]\n    metrics")
    )
    nndsl.compile_file(path)  # each value is fine on its own
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "trial-04 (validation=0.5 test=0.5): validation and test fractions" in err


def test_summary_of_a_sweep_shows_each_model(tmp_path, capsys):
    path = tmp_path / "s.nn"
    path.write_text(source(units="[4, 8]", optimizer="adam(lr=[0.1, 0.01])"))
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sweep: 4 trials\n  dense_1.units = [4, 8]\n  optimizer.lr = [0.1, 0.01]")
    assert "With dense_1.units=4:" in out and "With dense_1.units=8:" in out
    assert "Total params: 17" in out and "Total params: 33" in out


def test_fmt_keeps_sweeps():
    from nndsl.syntax.format import format_source

    text = source(units="[4, 8]", optimizer="adam(lr=[1e-2, 1e-3])")
    assert format_source(text) == text.lstrip("\n")
