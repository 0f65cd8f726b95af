"""`nndsl run` killed and starved (issue 20, classes 11, 12, 13 and 15): a signal after the
last epoch, a crash while the folder is written or swapped in, two runs into one folder,
a full or read-only disk, Ctrl-C while nndsl starts or while a checkpoint is written.
Each fault is injected at its exact moment (a real signal sent by the process to itself,
or an exception where the system call would fail); each ends in a whole run folder, or
the previous one, and one line, never a traceback."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from test_cli_resume import assert_same_run, leftovers, status, write

import nndsl.run
import nndsl.train.checkpoint
from nndsl.backends.numpy.engine import NumpyEngine
from nndsl.cli import main
from nndsl.train.plots import BackgroundPlotter

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


class PowerCut(BaseException):
    """A crash: nothing handles it, as if the process died there."""


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    """No plot helper process and no matplotlib (fast); tests that want one set it."""
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
    monkeypatch.setattr(BackgroundPlotter, "__init__", lambda self: setattr(self, "proc", None))


def on_write(monkeypatch, name: str, action) -> None:
    """`action()` when the run folder's file `name` is about to be written."""
    real = nndsl.run.atomic_write_text

    def write_text(path, text):
        if Path(path).name == name:
            action()
        real(path, text)

    monkeypatch.setattr(nndsl.run, "atomic_write_text", write_text)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def epochs_in(run: Path) -> int:
    return len((run / "history.csv").read_text().splitlines()) - 1


# ---------------------------------------------------------------- class 11: after the last epoch


def test_a_signal_while_the_run_folder_is_written_lets_it_finish(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    source = write(tmp_path)
    run, reference = tmp_path / "run", tmp_path / "reference"
    assert main(["run", str(source), "--out", str(reference), "--quiet"]) == 0
    with monkeypatch.context() as patch:
        on_write(patch, "history.csv", lambda: os.kill(os.getpid(), signal.SIGINT))
        assert main(["run", str(source), "--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert "interrupted (SIGINT) after training ended: the run folder is whole" in err
    assert "Traceback" not in err
    assert status(run) == "completed" and not (run / "checkpoint.npz").exists()
    assert_same_run(run, reference)
    assert leftovers(tmp_path) == []


def test_a_signal_while_waiting_for_the_curve_plot_skips_the_plot(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The plot helper takes the job, then the user presses Ctrl-C (the helper sends it
    here) and the helper never finishes: the run does not wait, the folder is whole."""
    helper = (
        "import os, signal, sys, time; sys.stdin.read(); "
        "os.kill(os.getppid(), signal.SIGINT); time.sleep(60)"
    )

    def start(self: BackgroundPlotter) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", helper],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    monkeypatch.setattr(BackgroundPlotter, "__init__", start)
    run = tmp_path / "run"
    started = time.monotonic()
    assert main(["run", str(write(tmp_path)), "--out", str(run)]) == 130
    assert time.monotonic() - started < 30  # not the helper's 60 s, nor the 120 s limit
    err = capsys.readouterr().err
    assert "curves.png skipped: interrupted" in err and "Traceback" not in err
    assert status(run) == "completed" and epochs_in(run) == 6
    assert {"weights.npz", "history.csv", "metrics.json", "model.nn"} <= set(files(run))
    assert "curves.png" not in files(run) and leftovers(tmp_path) == []


def test_a_real_sigterm_while_the_run_folder_is_written(tmp_path: Path) -> None:
    """A real process with the signal's real disposition (SIGTERM's default kills)."""
    source, run = write(tmp_path), tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        import nndsl.run
        from nndsl.cli import main
        real = nndsl.run.atomic_write_text
        def write_text(path, text):
            if Path(path).name == "metrics.json":
                os.kill(os.getpid(), signal.SIGTERM)
            real(path, text)
        nndsl.run.atomic_write_text = write_text
        sys.exit(main(["run", {str(source)!r}, "--out", {str(run)!r}]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "interrupted (SIGTERM) after training ended" in proc.stderr
    assert status(run) == "completed" and leftovers(tmp_path) == []


def test_a_crash_while_the_run_folder_is_written_leaves_it_resumable(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The periodic checkpoint is removed only once every file is written."""
    source = write(tmp_path, every=2)
    run, reference = tmp_path / "run", tmp_path / "reference"
    assert main(["run", str(source), "--out", str(reference), "--quiet"]) == 0

    def crash() -> None:
        raise PowerCut

    with monkeypatch.context() as patch:
        on_write(patch, "metrics.json", crash)
        with pytest.raises(PowerCut):
            main(["run", str(source), "--out", str(run), "--quiet"])
    assert not run.exists() and (tmp_path / "run.partial" / "checkpoint.npz").is_file()
    assert main(["run", "--resume", str(run), "--quiet"]) == 0, capsys.readouterr().err
    assert status(run) == "completed" and not (run / "checkpoint.npz").exists()
    assert_same_run(run, reference)
    assert leftovers(tmp_path) == []


def test_a_crash_between_the_two_renames_is_recovered_by_resume_and_by_a_rerun(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """RUN -> RUN.old done, RUN.partial -> RUN not: the new folder is whole in RUN.partial.
    `--resume RUN` completes the swap (then finds it finished); so does a rerun."""
    source, run = write(tmp_path), tmp_path / "run"
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 0
    real = Path.rename

    def rename(self: Path, target):
        if self.name == "run.partial":
            raise PowerCut
        return real(self, target)

    for recovering in (["run", "--resume", str(run)], ["run", str(source), "--out", str(run)]):
        with monkeypatch.context() as patch:
            patch.setattr(Path, "rename", rename)
            with pytest.raises(PowerCut):
                main(["run", str(source), "--out", str(run), "--epochs", "4", "--quiet"])
        assert not run.exists()
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
            "run.old",
            "run.partial",
        ]
        code = main([*recovering, "--quiet"])
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if recovering[1] == "--resume":
            assert code == 1 and "it finished: there is nothing to continue" in err
            assert epochs_in(run) == 4  # the new run, swapped in
        else:
            assert code == 0 and epochs_in(run) == 6
        assert status(run) == "completed" and leftovers(tmp_path) == []


# ---------------------------------------------------------------- class 12: one folder, two runs


def hold_lock(run: Path) -> subprocess.Popen:
    """Another process holding `run`'s lock as a run does (flock on RUN.lock, its pid in
    it) until its standard input closes."""
    script = textwrap.dedent(
        f"""
        import fcntl, os, sys
        fd = os.open({str(run) + ".lock"!r}, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{{os.getpid()}}\\n".encode())
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "locked\n"
    return proc


def test_a_second_run_into_a_folder_in_use_is_refused_naming_the_first(
    tmp_path: Path, capsys
) -> None:
    source, run = write(tmp_path), tmp_path / "run"
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 0
    before = files(run)
    holder = hold_lock(run)
    try:
        assert main(["run", str(source), "--out", str(run), "--epochs", "3"]) == 1
        err = capsys.readouterr().err
        assert f"{run} is being written by another nndsl run (pid {holder.pid})" in err
        assert "Traceback" not in err
        assert files(run) == before and not (tmp_path / "run.partial").exists()
    finally:
        holder.communicate("")  # it ends; its lock file stays, naming a dead process
    assert (tmp_path / "run.lock").is_file()
    assert main(["run", str(source), "--out", str(run), "--epochs", "3", "--quiet"]) == 0
    assert epochs_in(run) == 3 and not (tmp_path / "run.lock").exists()
    assert leftovers(tmp_path) == []


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(nndsl.run.time, "strftime", lambda fmt: "20250101-120000")
    (tmp_path / "runs").mkdir()
    holder = hold_lock(tmp_path / "runs" / "m-20250101-120000")
    try:
        assert main(["run", str(write(tmp_path)), "--quiet"]) == 0
    finally:
        holder.communicate("")
    assert status(tmp_path / "runs" / "m-20250101-120000-2") == "completed"


def test_two_real_runs_into_one_folder_leave_one_run_whole(tmp_path: Path) -> None:
    """Started together: each ends in success or the clear refusal; RUN is one run's
    folder, whole (its weights give the metrics it records, its history its epochs)."""
    source, run = write(tmp_path, n=400), tmp_path / "run"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "nndsl", "run", str(source), "--out", str(run)]
            + ["--epochs", str(epochs), "--quiet"],
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for epochs in (5, 7)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 1 and "is being written by another nndsl run" in err), err
    assert any(code == 0 for code, _ in results)
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert epochs_in(run) == config["train"]["epochs"] in (5, 7)
    recorded = yaml.safe_load((run / "metrics.json").read_text())["validation"]
    proc = subprocess.run(
        [sys.executable, "-m", "nndsl", "evaluate", str(run)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.split("\n")[:2]
    measured = dict(zip(header.split()[1:], map(float, row.split()[1:])))
    assert measured == pytest.approx({k: round(v, 4) for k, v in recorded.items()}, abs=1e-4)
    assert leftovers(tmp_path) == [] and not (tmp_path / "run.lock").exists()


# ---------------------------------------------------------------- class 13: a disk that refuses


def _under(path: object, folder: Path) -> bool:
    return isinstance(path, (str, os.PathLike)) and str(folder) in os.fspath(path)


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("ENOSPC", "the disk is full"),
        ("EROFS", "the file system is read-only"),
        ("EACCES", "permission denied"),
        ("EBUSY", "the file or device is busy"),
    ],
)
def test_a_full_or_read_only_disk_is_one_message_and_the_old_folder_stays(
    tmp_path: Path, monkeypatch, capsys, fault: str, cause: str
) -> None:
    """ENOSPC when data reaches the disk (fsync); EROFS on creating anything in the
    output folder's parent; EACCES on creating files in RUN.partial; EBUSY on renaming
    RUN.partial into place (after RUN was moved aside)."""
    source, run = write(tmp_path), tmp_path / "run"
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 0
    before = files(run)
    code = getattr(errno, fault)
    failure = OSError(code, os.strerror(code))
    real_open, real_mkdir, real_rename = os.open, os.mkdir, os.rename

    def fsync(fd):
        raise failure

    def open_(path, flags, *args, **kwargs):
        folder = tmp_path if fault == "EROFS" else tmp_path / "run.partial"
        if flags & os.O_CREAT and _under(path, folder):
            raise OSError(code, os.strerror(code), path)
        return real_open(path, flags, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if _under(path, tmp_path):
            raise OSError(code, os.strerror(code), path)
        return real_mkdir(path, *args, **kwargs)

    def rename(src, dst, *args, **kwargs):
        if os.fspath(src).endswith("run.partial"):
            raise OSError(code, os.strerror(code), src)
        return real_rename(src, dst, *args, **kwargs)

    with monkeypatch.context() as patch:
        if fault == "ENOSPC":
            patch.setattr(os, "fsync", fsync)
        elif fault == "EBUSY":
            patch.setattr(os, "rename", rename)
        else:
            patch.setattr(os, "open", open_)
            if fault == "EROFS":
                patch.setattr(os, "mkdir", mkdir)
        assert main(["run", str(source), "--out", str(run), "--epochs", "3"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: cannot " in err and f"{tmp_path}/run" in err and cause in err, err
    assert files(run) == before  # the previous folder, whole
    assert leftovers(tmp_path) == [] and not (tmp_path / "run.lock").exists()


def test_writers_temporaries_left_by_a_kill_never_reach_the_run_folder(
    tmp_path: Path, monkeypatch
) -> None:
    """A process killed while writing leaves `.NAME.RANDOM.tmp` files: in RUN.partial
    beside a checkpoint (the resumed run's folder must not hold them), or in a folder
    being written (a killed plot helper's `.curves.png.RANDOM.tmp.png`)."""
    source, run = write(tmp_path, every=2), tmp_path / "run"
    partial = tmp_path / "run.partial"
    real = NumpyEngine.train_epoch
    calls = {"n": 0}

    def train_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise PowerCut
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(NumpyEngine, "train_epoch", train_epoch)
        with pytest.raises(PowerCut):
            main(["run", str(source), "--out", str(run), "--quiet"])
    for name in (".checkpoint.npz.k3j2x.tmp", ".weights.npz.a8b9c.tmp"):
        (partial / name).write_bytes(b"half a file")
    with monkeypatch.context() as patch:
        on_write(
            patch, "metrics.json", lambda: (partial / ".curves.png.q1w2.tmp.png").write_bytes(b"")
        )
        assert main(["run", "--resume", str(run), "--quiet"]) == 0
    assert status(run) == "completed"
    assert [p.name for p in run.iterdir() if ".tmp" in p.name] == []
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- class 15: Ctrl-C at any moment

# A Ctrl-C that lands while NumPy is being imported: a real SIGINT, sent by the process to
# itself from the import system, at the first `import numpy`.
SIGINT_IN_IMPORT = """
import os, signal, sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize(
    "entry",
    [
        # what `python -m nndsl` runs
        "import runpy; runpy.run_module('nndsl', run_name='__main__', alter_sys=True)",
        # what the `nndsl` console script runs
        "from nndsl.cli import main; sys.exit(main())",
    ],
    ids=["python -m nndsl", "console script"],
)
def test_ctrl_c_while_nndsl_starts_is_one_line(tmp_path: Path, entry: str) -> None:
    source = write(tmp_path)
    script = SIGINT_IN_IMPORT + f"sys.argv = ['nndsl', 'check', {str(source)!r}]\n" + entry
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert (proc.returncode, proc.stderr) == (130, "nndsl: interrupted\n")


def ctrl_c_as_a_zip_member_opens(write_to):
    """`write_to` with a real SIGINT sent at the moment zipfile has marked a member open
    for writing and not yet made its handle: the moment that, interrupted, leaves an
    archive that cannot be closed."""

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is zipfile._ZipWriteFile.__init__.__code__:
            sys.settrace(None)
            os.kill(os.getpid(), signal.SIGINT)

    def write(f) -> None:
        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            write_to(f)
        finally:
            sys.settrace(previous)

    return write


def test_ctrl_c_inside_a_checkpoint_write_is_an_interruption(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Once gave `ValueError: seek of closed file` (zipfile closing a half-written archive
    after the KeyboardInterrupt): the write now ends first, then the interruption."""
    source, run, reference = write(tmp_path, every=1), tmp_path / "run", tmp_path / "reference"
    real = nndsl.train.checkpoint.atomic_write
    saves = {"n": 0}

    def atomic_write(path, write_to):
        saves["n"] += 1
        if saves["n"] != 2:  # the checkpoint of epoch 2
            return real(path, write_to)
        return real(path, ctrl_c_as_a_zip_member_opens(write_to))

    with monkeypatch.context() as patch:
        patch.setattr(nndsl.train.checkpoint, "atomic_write", atomic_write)
        assert main(["run", str(source), "--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "closed file" not in err
    assert "a checkpoint of epoch 2; continue with" in err
    assert status(run) == "interrupted"
    assert main(["run", "--resume", str(run), "--quiet"]) == 0
    assert main(["run", str(source), "--out", str(reference), "--quiet"]) == 0
    assert_same_run(run, reference)
