"""`nndsl run`, `evaluate` and `predict`: run folders, overrides, errors, output.

Commands run in-process through `nndsl.cli.main`; one test runs `python -m nndsl` as a
separate process, as a user would.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import nndsl
from nndsl.cli import main
from nndsl.weights import load_weights

ROOT = Path(__file__).resolve().parent.parent
RUN_FILES = {"config.yaml", "history.csv", "weights.npz", "metrics.json", "model.nn"}


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def leftovers(folder: Path) -> list[str]:
    """Anything half-written: `.partial` folders or temporary files."""
    return [p.name for p in folder.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp")]


@pytest.fixture(autouse=True)
def no_curves(request, monkeypatch) -> None:
    """Plotting costs half a second a run: only the examples' runs draw their curves."""
    if request.node.originalname != "test_every_example_runs":
        monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


REGRESSION = """
model reg {{
    input(2)
    dense(8, activation=tanh)
    dense(1)
}}

train reg {{
    data       = csv("{data}", target="y", standardize=true)
    validation = 0.25
    loss       = mse
    optimizer  = {optimizer}
    batch_size = 8
    epochs     = 3
    metrics    = [mae]
    seed       = 0
}}
"""


def write_regression(
    folder: Path, optimizer: str = "adam(lr=0.01)", data: str = "data.csv", scale: float = 1.0
) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[5.0, -3.0], scale=[2.0, 0.5], size=(40, 2))
    y = scale * (x[:, 0] - 2 * x[:, 1])
    lines = ["a,b,y"] + [f"{a:.6f},{b:.6f},{t:.6f}" for (a, b), t in zip(x, y)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    source = folder / "reg.nn"
    source.write_text(REGRESSION.format(data=data, optimizer=optimizer))
    return source


# ---------------------------------------------------------------- every example


def test_examples_exist() -> None:
    assert sorted(ROOT.glob("examples/*.nn")), "no examples to run"


def test_every_example_runs(example_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["run", str(example_path), "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert leftovers(tmp_path) == []
    program = nndsl.compile_file(example_path)
    if program.sweep is None:
        check_run_folder(out, program.source, program)
        return
    # a sweep example: one run folder per trial, and the comparison
    assert {"sweep.csv"} | ({"sweep.png"} if has_matplotlib() else set()) <= {
        p.name for p in out.iterdir()
    }
    for trial in program.trials:
        check_run_folder(out / trial.name, trial.program.source, trial.program)


def check_run_folder(out: Path, source: str, program: nndsl.Program) -> None:
    expected = RUN_FILES | ({"curves.png"} if has_matplotlib() else set())
    assert expected <= {p.name for p in out.iterdir()}
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["status"] in ("completed", "stopped early")
    assert config["train"]["epochs"] == 2
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert 1 <= len(rows) <= 2 and rows[0]["epoch"] == "1"
    metrics = json.loads((out / "metrics.json").read_text())
    loss = "d_loss" if program.train.discriminator else "loss"  # a GAN: two losses
    if program.train.env is not None:  # an agent: two episodes may end before it learns
        loss = "mean_return"
    assert "train" in metrics and np.isfinite(metrics["train"][loss])
    assert (out / "model.nn").read_text() == source
    # the weights load, without pickle, into the example's model
    tensors, _ = load_weights(out / "weights.npz")
    model = program.build()
    model.load(out / "weights.npz")
    assert set(tensors) == set(model.get_weights())


# ---------------------------------------------------------------- overrides


def test_set_and_seed_take_effect(tmp_path: Path) -> None:
    xor = str(ROOT / "examples" / "xor.nn")
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["--epochs", "1", "--quiet", "--set", "optimizer=sgd(lr=0.1)", "--set", "batch_size=50"]
    assert main(["run", xor, "--out", str(a), "--seed", "7", *args]) == 0
    assert main(["run", xor, "--out", str(b), "--seed", "8", *args]) == 0
    config = yaml.safe_load((a / "config.yaml").read_text())
    assert config["seed"] == 7
    assert config["train"]["optimizer"]["name"] == "sgd"
    assert config["train"]["optimizer"]["args"]["lr"] == 0.1
    assert config["train"]["batch_size"] == 50
    assert config["train"]["epochs"] == 1
    assert "optimizer=sgd(lr=0.1)" in config["overrides"]
    wa, _ = load_weights(a / "weights.npz")
    wb, _ = load_weights(b / "weights.npz")
    assert any(not np.array_equal(wa[k], wb[k]) for k in wa)
    assert yaml.safe_load((b / "config.yaml").read_text())["seed"] == 8


@pytest.mark.parametrize(
    "setting, words",
    [
        ("optimizer=sgd(lr=-1)", ["lr", ">= 0"]),
        ("optimizr=sgd(lr=0.1)", ["unknown setting 'optimizr'"]),
        ("epochs=ten", ["epochs", "integer"]),
        ("epochs=", ["expected a value"]),
        ("epochs", ["key=value"]),
        ("loss=mse(", ["expected"]),
    ],
)
def test_bad_set_is_a_located_one_line_error(tmp_path: Path, capsys, setting, words) -> None:
    out = tmp_path / "run"
    xor = str(ROOT / "examples" / "xor.nn")
    assert main(["run", xor, "--out", str(out), "--quiet", "--set", setting]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [line for line in captured.err.splitlines() if not line.startswith("  hint:")]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"--set {setting}: error: "), lines[0]
    for word in words:
        assert word in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_bad_flag_exits_with_usage(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", str(ROOT / "examples" / "xor.nn"), "--epochs", "many"])
    assert info.value.code == 2
    assert "--epochs" in capsys.readouterr().err


# ---------------------------------------------------------------- errors and run folders


def test_missing_data_file(tmp_path: Path, capsys) -> None:
    source = write_regression(tmp_path, data="missing.csv")
    out = tmp_path / "runs" / "r"
    assert main(["run", str(source), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "missing.csv" in err
    assert err.startswith(str(source)), err  # located in the .nn file, not "<string>"
    assert not (tmp_path / "runs").exists()
    assert leftovers(tmp_path) == []


def test_missing_nn_file(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "nope.nn"), "--out", str(tmp_path / "r")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_targets_that_do_not_fit_leave_no_run_folder(tmp_path: Path, capsys) -> None:
    """Refused before training begins: an error, no traceback, nothing written."""
    (tmp_path / "d.csv").write_text(
        "a,b,y\n" + "".join(f"{i},{i + 1},{i % 5}\n" for i in range(20))
    )
    (tmp_path / "m.nn").write_text(
        "model m { input(2) dense(3, activation=softmax) }\n"
        'train m { data = csv("d.csv", target="y") loss = sparse_categorical_crossentropy }\n'
    )
    out = tmp_path / "runs" / "r"
    assert main(["run", str(tmp_path / "m.nn"), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    # located in the CSV itself, by its own line (before the data is split and shuffled)
    assert err.startswith(f"{tmp_path / 'd.csv'}:5:5: error: in d.csv, line 5, column 'y': ")
    assert "class label 3 is out of range" in err and "0..2" in err, err
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_diverged_training_leaves_a_failed_run_with_the_last_good_weights(
    tmp_path: Path, capsys
) -> None:
    source = write_regression(tmp_path, optimizer="sgd(lr=1e6)", scale=1e6)
    out = tmp_path / "run"
    assert main(["run", str(source), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"epoch \d+, batch \d+", err), err
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["status"] == "failed"
    tensors, _ = load_weights(out / "weights.npz")
    assert all(np.all(np.isfinite(v)) for v in tensors.values())
    assert leftovers(tmp_path) == []


def test_rerun_replaces_the_run_folder(tmp_path: Path) -> None:
    source = write_regression(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert main(["run", str(source), "--out", str(out), "--quiet", "--epochs", "1"]) == 0
    assert not (out / "stale.txt").exists()
    assert RUN_FILES <= {p.name for p in out.iterdir()}


# ---------------------------------------------------------------- output


def test_progress_is_one_line_per_epoch_when_not_a_terminal(tmp_path: Path, capsys) -> None:
    source = write_regression(tmp_path)
    assert main(["run", str(source), "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    epochs = [line for line in captured.err.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 3
    for i, line in enumerate(epochs, start=1):
        assert re.match(rf"epoch {i}/3  loss \S+  mae \S+  val_loss \S+  val_mae \S+", line), line
    assert "\r" not in captured.err and "\033" not in captured.err
    # the final metrics table on stdout
    assert re.search(r"^split\s+loss\s+mae$", captured.out, re.M), captured.out
    assert re.search(r"^validation\s", captured.out, re.M)


def test_quiet_prints_nothing(tmp_path: Path, capsys) -> None:
    source = write_regression(tmp_path)
    assert main(["run", str(source), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_subprocess_run_of_xor(tmp_path: Path) -> None:
    out = tmp_path / "xor-run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "nndsl", "run", "examples/xor.nn", "--out", str(out), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["accuracy"] == 1.0


# ---------------------------------------------------------------- evaluate and predict


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(folder with data.csv, the .nn file, its run folder), trained once for the module."""
    folder = tmp_path_factory.mktemp("regression")
    source = write_regression(folder)
    out = folder / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
        assert main(["run", str(source), "--out", str(out), "--quiet"]) == 0
    return folder, source, out


def test_evaluate_saved_weights(regression_run, capsys) -> None:
    folder, source, out = regression_run
    weights = str(out / "weights.npz")
    assert main(["evaluate", str(source), "--weights", weights]) == 0
    table = capsys.readouterr().out
    row = re.search(r"^validation\s+(\S+)\s+(\S+)$", table, re.M)
    assert row, table
    # the split the file holds out (validation here, and named so), scaled as in training
    metrics = json.loads((out / "metrics.json").read_text())
    assert float(row.group(1)) == pytest.approx(metrics["validation"]["loss"], abs=1e-4)
    # on a CSV given with --data: the whole file
    assert (
        main(["evaluate", str(source), "--weights", weights, "--data", str(folder / "data.csv")])
        == 0
    )
    whole = re.search(r"^data\.csv\s+(\S+)", capsys.readouterr().out, re.M)  # named by file
    assert whole and float(whole.group(1)) != float(row.group(1))


def predict(source: Path, weights: Path, data: Path, *out: str) -> int:
    return main(["predict", str(source), "--weights", str(weights), "--data", str(data), *out])


@pytest.mark.parametrize("with_target", [True, False])
def test_predict_saved_weights_on_a_csv(regression_run, tmp_path, capsys, with_target) -> None:
    folder, source, out = regression_run
    rows = (folder / "data.csv").read_text().splitlines()
    if not with_target:  # new data: the feature columns only
        rows = [r.rsplit(",", 1)[0] for r in rows]
    (tmp_path / "new.csv").write_text("\n".join(rows) + "\n")
    preds = tmp_path / "p.csv"
    assert predict(source, out / "weights.npz", tmp_path / "new.csv", "--out", str(preds)) == 0
    with open(preds) as f:
        got = np.array([float(r["y"]) for r in csv.DictReader(f)])  # named by the target
    assert got.shape == (40,)
    # the same as the loaded model on the same inputs, scaled as in training
    model = nndsl.load(out / "weights.npz")
    x = np.loadtxt(tmp_path / "new.csv", delimiter=",", skiprows=1)[:, :2]
    mean, std = np.array(model.scaler["mean"]), np.array(model.scaler["std"])
    # predict takes raw inputs and applies the training scaling itself
    np.testing.assert_allclose(got, model.predict(x)[:, 0], rtol=1e-5, atol=1e-5)
    scaled = model.engine.predict((x - mean) / std, 256)
    np.testing.assert_allclose(got, scaled[:, 0], rtol=1e-5, atol=1e-5)
    # to standard output when --out is left out
    capsys.readouterr()
    assert predict(source, out / "weights.npz", tmp_path / "new.csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "y" and len(lines) == 41  # a regression output named by its target
    np.testing.assert_allclose([float(v) for v in lines[1:]], got, rtol=1e-5)


@pytest.fixture(scope="module")
def xor_weights(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xor") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
        xor = str(ROOT / "examples" / "xor.nn")
        assert main(["run", xor, "--out", str(out), "--quiet", "--epochs", "20"]) == 0
    return out / "weights.npz"


@pytest.mark.parametrize("with_target", [True, False])
def test_predict_on_an_npz(xor_weights: Path, tmp_path: Path, capsys, with_target) -> None:
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    arrays = {"x": x, "y": np.array([0.0, 1.0, 1.0, 0.0])} if with_target else {"x": x}
    np.savez(tmp_path / "new.npz", **arrays)
    assert predict(ROOT / "examples" / "xor.nn", xor_weights, tmp_path / "new.npz") == 0
    lines = capsys.readouterr().out.splitlines()
    # synthetic("xor") names its target "label": its probability, then the predicted class
    assert lines[0] == "p_label,label"
    probs = np.array([float(v.split(",")[0]) for v in lines[1:]])
    assert list(probs > 0.5) == [False, True, True, False]
    assert [v.split(",")[1] for v in lines[1:]] == ["0", "1", "1", "0"]


def test_evaluate_with_wrong_weights_names_the_tensor(regression_run, capsys) -> None:
    _, _, out = regression_run
    digits = str(ROOT / "examples" / "digits.nn")
    assert main(["evaluate", digits, "--weights", str(out / "weights.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "weights.npz" in err
    assert re.search(r"missing tensor 'dense_\d\.(weight|bias)'", err), err


def test_epochs_are_numbered_one_way_everywhere(tmp_path: Path, capsys) -> None:
    """config.yaml, the console, history.csv (and so curves and report) all count the
    first epoch as 1, as Keras prints."""
    source = write_regression(tmp_path, optimizer="sgd(lr=0.2, momentum=0.9)")
    text = source.read_text().replace(
        "epochs     = 3",
        "epochs     = 40\n    early_stop = (monitor=val_loss, patience=3, restore_best=true)",
    )
    source.write_text(text)
    out = tmp_path / "run"
    assert main(["run", str(source), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    info = yaml.safe_load((out / "config.yaml").read_text())["early_stop"]
    rows = list(csv.DictReader((out / "history.csv").open()))
    best = min(rows, key=lambda r: float(r["val_loss"]))
    assert info["restored_epoch"] == int(best["epoch"])
    assert info["stopped_epoch"] == int(rows[-1]["epoch"]) < 40
    assert f"early stop at epoch {info['stopped_epoch']}\n" in err
    assert f"restored the weights of epoch {info['restored_epoch']}\n" in err


def test_run_folder_files_follow_the_users_umask(tmp_path: Path) -> None:
    source = write_regression(tmp_path)
    old = os.umask(0o027)
    try:
        assert main(["run", str(source), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
    assert modes and set(modes.values()) == {0o640}, modes  # 0666 & ~0027, like open()
