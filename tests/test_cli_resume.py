"""`nndsl run` under faults: Ctrl-C (a real SIGINT to a real process, and a deterministic
one in-process), a crash, a failed write. An interrupted run's folder resumes with
`nndsl run --resume RUN_DIR` to the same history and weights as an uninterrupted run;
no fault leaves a run folder half-written."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from nndsl import NNDSLError
from nndsl.backends.numpy.engine import NumpyEngine
from nndsl.cli import main
from nndsl.runfolder import find_checkpoint, recover, swap_in
from nndsl.weights import load_weights

ROOT = Path(__file__).resolve().parent.parent

SOURCE = """model m {{
    input(2)
    dense(16, activation=tanh)
    dropout(0.2)
    dense(1, activation=sigmoid)
}}
train m {{
    data = synthetic("spirals", n={n}, noise=0.1)
    validation = 0.2
    loss = binary_crossentropy
    optimizer = adam(lr=0.01)
    schedule = cosine(t_max={epochs})
    batch_size = 8
    epochs = {epochs}
    metrics = [accuracy]
    checkpoint_every = {every}
    seed = 1
}}
"""


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


def write(folder: Path, n: int = 80, epochs: int = 6, every: int = 0) -> Path:
    path = folder / "m.nn"
    path.write_text(SOURCE.format(n=n, epochs=epochs, every=every))
    return path


def leftovers(folder: Path) -> list[str]:
    names = (".partial", ".old", ".tmp")
    return sorted(p.name for p in folder.rglob("*") if any(n in p.name for n in names))


def assert_same_run(a: Path, b: Path) -> None:
    wa, _ = load_weights(a / "weights.npz")
    wb, _ = load_weights(b / "weights.npz")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k
    assert (a / "history.csv").read_text() == (b / "history.csv").read_text()
    assert (a / "metrics.json").read_text() == (b / "metrics.json").read_text()


def status(run: Path) -> str:
    return yaml.safe_load((run / "config.yaml").read_text())["status"]


def interrupt_at(monkeypatch, epoch: int, batch: int) -> None:
    """Ctrl-C after batch `batch` of epoch `epoch` (counted from 0), once."""
    real = NumpyEngine.train_epoch
    calls = {"n": 0}

    def train_epoch(self, data, order, batch_size, on_batch=None):
        calls["n"] += 1
        if calls["n"] - 1 != epoch:
            return real(self, data, order, batch_size, on_batch)

        def stop(b: int) -> None:
            if on_batch is not None:
                on_batch(b)
            if b == batch:
                raise KeyboardInterrupt

        return real(self, data, order, batch_size, stop)

    monkeypatch.setattr(NumpyEngine, "train_epoch", train_epoch)


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """The uninterrupted run."""
    out = tmp_path / "reference"
    assert main(["run", str(write(tmp_path)), "--out", str(out), "--quiet"]) == 0
    return out


def test_interrupted_mid_epoch_then_resumed_equals_uninterrupted(
    tmp_path: Path, reference: Path, monkeypatch, capsys
) -> None:
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        interrupt_at(patch, epoch=3, batch=2)
        assert main(["run", str(write(tmp_path)), "--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert f"checkpoint of epoch 3; continue with: nndsl run --resume {run}" in err
    assert status(run) == "interrupted" and (run / "checkpoint.npz").is_file()
    assert main(["run", "--resume", str(run), "--quiet"]) == 0
    assert status(run) == "completed"
    assert not (run / "checkpoint.npz").exists()  # finished: nothing left to continue
    assert_same_run(run, reference)
    assert leftovers(tmp_path) == []


def test_resume_with_more_epochs_extends_the_run(tmp_path: Path, monkeypatch) -> None:
    source = write(tmp_path)
    run, longer = tmp_path / "run", tmp_path / "longer"
    with monkeypatch.context() as patch:
        interrupt_at(patch, epoch=4, batch=0)
        assert main(["run", str(source), "--out", str(run), "--quiet"]) == 130
    assert main(["run", "--resume", str(run), "--epochs", "9", "--quiet"]) == 0
    assert main(["run", str(source), "--out", str(longer), "--epochs", "9", "--quiet"]) == 0
    assert_same_run(run, longer)


def test_a_crash_leaves_a_resumable_partial_folder(
    tmp_path: Path, reference: Path, monkeypatch
) -> None:
    """A hard crash (here: an exception nothing handles, as if the process died) leaves
    RUN.partial with the last periodic checkpoint; --resume RUN finds it there."""
    source = write(tmp_path, every=2)
    run = tmp_path / "run"

    class PowerCut(BaseException):
        pass

    real = NumpyEngine.train_epoch
    calls = {"n": 0}

    def train_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise PowerCut
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(NumpyEngine, "train_epoch", train_epoch)
        with pytest.raises(PowerCut):
            main(["run", str(source), "--out", str(run), "--quiet"])
    assert not run.exists()
    partial = tmp_path / "run.partial"
    assert sorted(p.name for p in partial.iterdir()) == ["checkpoint.npz"]
    state, final = find_checkpoint(run)
    assert (state["epoch"], final) == (4, run)
    # running the file again would destroy that progress: refused
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 1
    assert (partial / "checkpoint.npz").is_file()
    assert main(["run", "--resume", str(run), "--quiet"]) == 0
    write(tmp_path)  # the reference's file, without checkpoint_every (not in the results)
    assert_same_run(run, reference)
    assert leftovers(tmp_path) == []


def test_a_real_sigint_to_a_running_process_then_resume(tmp_path: Path) -> None:
    """SIGINT lands wherever the process is (mid-epoch, most likely): the run keeps its
    folder with a checkpoint, and resuming gives what an uninterrupted run gives."""
    source = write(tmp_path, n=1200, epochs=60)
    run, reference = tmp_path / "run", tmp_path / "reference"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nndsl", "run", str(source), "--out", str(run)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        for line in proc.stderr:  # one line per epoch (not a terminal)
            if re.match(r"epoch +3/60 ", line):
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
    finally:
        proc.kill()
    assert "Traceback" not in rest
    assert status(run) == "interrupted"
    # epoch 3 was printed before its state was kept: the signal may land in between
    assert 2 <= find_checkpoint(run)[0]["epoch"] < 60
    assert main(["run", "--resume", str(run), "--quiet"]) == 0
    assert main(["run", str(source), "--out", str(reference), "--quiet"]) == 0
    assert_same_run(run, reference)


def test_a_real_sigterm_stops_a_run_like_ctrl_c(tmp_path: Path) -> None:
    source = write(tmp_path, n=1200, epochs=60)
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nndsl", "run", str(source), "--out", str(run)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        for line in proc.stderr:
            if re.match(r"epoch +2/60 ", line):
                proc.send_signal(signal.SIGTERM)
                break
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
    assert status(run) == "interrupted" and (run / "checkpoint.npz").is_file()


# ---------------------------------------------------------------- never half-written


def test_a_failed_write_leaves_the_previous_run_folder(
    tmp_path: Path, reference: Path, monkeypatch
) -> None:
    """Re-running into a folder: the old one stays whole until the new one is complete."""
    before = {p.name: p.read_bytes() for p in reference.iterdir()}
    real = __import__("nndsl.run", fromlist=["atomic_write_text"]).atomic_write_text

    def fail_on_metrics(path, text):
        if Path(path).name == "metrics.json":
            raise OSError(28, "No space left on device")
        real(path, text)

    with monkeypatch.context() as patch:
        patch.setattr("nndsl.run.atomic_write_text", fail_on_metrics)
        with pytest.raises(OSError):
            main(["run", str(tmp_path / "m.nn"), "--out", str(reference), "--quiet"])
    assert {p.name: p.read_bytes() for p in reference.iterdir()} == before
    # the next run cleans up the half-written .partial and replaces the folder
    assert main(["run", str(tmp_path / "m.nn"), "--out", str(reference), "--quiet"]) == 0
    assert leftovers(tmp_path) == []


def test_swapping_in_a_new_folder_is_never_without_a_complete_one(
    tmp_path: Path, monkeypatch
) -> None:
    """A crash between the two renames leaves RUN.old and the whole RUN.partial;
    `recover` (every run and resume begins with it) completes the swap. A rename the
    system refuses puts the old folder back."""
    final, partial = tmp_path / "run", tmp_path / "run.partial"
    for folder, text in ((final, "old"), (partial, "new")):
        folder.mkdir()
        (folder / "weights.npz").write_text(text)
        (folder / "config.yaml").write_text("status: completed\n")
    real = Path.rename

    class PowerCut(BaseException):
        pass

    def rename(self, target):
        if self == partial:
            raise PowerCut
        return real(self, target)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "rename", rename)
        with pytest.raises(PowerCut):
            swap_in(partial, final)
    assert (tmp_path / "run.old" / "weights.npz").read_text() == "old"
    assert (partial / "weights.npz").read_text() == "new"
    recover(final)
    assert (final / "weights.npz").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]

    partial.mkdir()
    (partial / "weights.npz").write_text("newer")

    def refuse(self, target):
        if self == partial:
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real(self, target)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "rename", refuse)
        with pytest.raises(NNDSLError, match="busy"):
            swap_in(partial, final)
    assert (final / "weights.npz").read_text() == "new"
    assert not (tmp_path / "run.old").exists()


# ---------------------------------------------------------------- refusals


def test_resume_refusals(tmp_path: Path, reference: Path, capsys) -> None:
    source = tmp_path / "m.nn"
    assert main(["run", "--resume", str(reference)]) == 1
    assert "no checkpoint in" in capsys.readouterr().err  # it finished
    assert main(["run", "--resume", str(tmp_path / "nothing")]) == 1
    assert "no checkpoint in" in capsys.readouterr().err
    assert main(["run", str(source), "--resume", str(reference)]) == 1
    assert "either a FILE or --resume" in capsys.readouterr().err
    assert main(["run"]) == 1
    assert "needs a FILE, or --resume RUN_DIR" in capsys.readouterr().err


def test_resume_refuses_changes(tmp_path: Path, monkeypatch, capsys) -> None:
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        interrupt_at(patch, epoch=1, batch=0)
        assert main(["run", str(write(tmp_path)), "--out", str(run), "--quiet"]) == 130
    assert main(["run", "--resume", str(run), "--set", "batch_size=4"]) == 1
    assert "no --set" in capsys.readouterr().err
    assert main(["run", "--resume", str(run), "--seed", "5"]) == 1
    assert "continues the seed" in capsys.readouterr().err
    with pytest.raises(NNDSLError, match="not a readable checkpoint"):
        (run / "checkpoint.npz").write_bytes(b"PK\x03\x04 damaged")
        find_checkpoint(run)


# ---------------------------------------------------------------- NaN stop


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_a_nan_loss_stops_the_run_with_the_last_good_epochs_weights(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The learning rate explodes in epoch 4: the run stops in that epoch, names it and the
    batch, suggests a smaller rate, and its folder holds exactly the weights after epoch 3
    (those of a run of 3 epochs); a failed run leaves no checkpoint to resume."""
    source = write(tmp_path, every=1)
    run, three = tmp_path / "run", tmp_path / "three"
    real = NumpyEngine.train_epoch
    calls = {"n": 0}

    def train_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            self.lr = 3e38  # near float32 max: the next products overflow
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(NumpyEngine, "train_epoch", train_epoch)
        assert main(["run", str(source), "--out", str(run), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"error: the loss became (nan|inf) at epoch 4, batch \d+", err), err
    assert "try a smaller learning rate" in err
    assert status(run) == "failed" and not (run / "checkpoint.npz").exists()
    assert main(["run", str(source), "--out", str(three), "--epochs", "3", "--quiet"]) == 0
    wa, _ = load_weights(run / "weights.npz")
    wb, _ = load_weights(three / "weights.npz")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert leftovers(tmp_path) == []
