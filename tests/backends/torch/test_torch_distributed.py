"""Several processes: `nndsl run --nproc 2` (torchrun, gloo on CPU) trains the same model
as one process with the same global batch, and writes one run folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.backends.torch.distributed import without_option  # noqa: E402
from nndsl.cli import main  # noqa: E402

# batch 15 over 2 processes: every global batch splits unevenly (8 + 7 rows)
SMALL = """
model small {
    input(2)
    dense(6, activation=tanh, l2=0.001)
    dense(1, activation=sigmoid)
}
train small {
    data       = synthetic("xor", n=100, noise=0.1, seed=0)
    validation = 0.2
    loss       = binary_crossentropy
    optimizer  = adam(lr=0.02)
    batch_size = 15
    epochs     = 3
    metrics    = [accuracy]
}
"""


def test_two_processes_train_like_one(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    common = ["run", str(source), "--backend", "torch", "--device", "cpu", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--out", str(tmp_path / "two"), "--nproc", "2"]) == 0, capfd.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "small.nn", "two"]

    one = nndsl.load(tmp_path / "one" / "weights.npz").get_weights()
    two = nndsl.load(tmp_path / "two" / "weights.npz").get_weights()
    for key, w in one.items():
        np.testing.assert_allclose(two[key], w, rtol=1e-5, atol=1e-6, err_msg=key)
    lines = [(tmp_path / d / "history.csv").read_text().splitlines() for d in ("one", "two")]
    assert len(lines[0]) == len(lines[1]) == 4
    for a, b in zip(lines[0][1:], lines[1][1:]):
        np.testing.assert_allclose(
            [float(v) for v in b.split(",")], [float(v) for v in a.split(",")], rtol=1e-5
        )


@pytest.mark.parametrize("world", [2, 3])
def test_each_global_batch_is_split_over_the_processes(world: int) -> None:
    engine = nndsl.compile_string(SMALL).build(backend="torch", device="cpu").engine
    order = np.random.default_rng(0).permutation(47)
    shards = []
    for rank in range(world):
        engine.rank, engine.world = rank, world
        local, bounds = engine._shard(order, 15)
        assert [size for _, _, size in bounds] == [15, 15, 15, 2]
        shards.append([local[a:b] for a, b, _ in bounds])
    for b, start in enumerate(range(0, 47, 15)):
        joined = np.concatenate([shards[r][b] for r in range(world)])
        np.testing.assert_array_equal(joined, order[start : start + 15])


def test_several_processes_need_the_torch_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    assert main(["run", str(source), "--nproc", "2", "--out", str(tmp_path / "r")]) == 1
    assert "needs --backend torch" in capsys.readouterr().err


def test_several_processes_without_torch_say_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["run", str(source), "--backend", "torch", "--nproc", "2"]) == 1
    assert "pip install 'nndsl[torch]'" in capsys.readouterr().err


def test_nproc_is_not_passed_on_to_torchrun() -> None:
    argv = ["run", "f.nn", "--nproc", "2", "--nproc=3", "--out", "d"]
    assert without_option(argv, "--nproc") == ["run", "f.nn", "--out", "d"]


def test_resume_under_the_users_own_torchrun(tmp_path: Path, monkeypatch) -> None:
    """`torchrun -m nndsl run --resume RUN` continues from the checkpoint's epoch on every
    rank (it once started again from epoch 1, deleted the checkpoint and said nothing)."""
    from nndsl.backends.torch.engine import TorchEngine

    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
    source = tmp_path / "small.nn"
    source.write_text(SMALL.replace("epochs     = 3", "epochs     = 4"))
    common = ["run", str(source), "--backend", "torch", "--device", "cpu", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0

    real, calls = TorchEngine.train_epoch, {"n": 0}

    def train_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # Ctrl-C as epoch 3 begins: the checkpoint holds epochs 1-2
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(TorchEngine, "train_epoch", train_epoch)
        assert main([*common, "--out", str(run)]) == 130
    assert (run / "checkpoint.npz").is_file()

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node=2", "-m", "nndsl", "run", "--resume", str(run)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    trained = re.findall(r"^epoch (\d)/4", done.stderr, re.M)
    assert trained == ["3", "4"], done.stderr  # only what the checkpoint had not done
    assert not (run / "checkpoint.npz").exists()
    assert yaml.safe_load((run / "config.yaml").read_text())["status"] == "completed"
    whole = (tmp_path / "whole" / "history.csv").read_text().splitlines()
    resumed = (run / "history.csv").read_text().splitlines()
    assert resumed[0] == whole[0] and len(resumed) == len(whole) == 5
    for a, b in zip(whole[1:], resumed[1:]):
        np.testing.assert_allclose(
            [float(v) for v in b.split(",")], [float(v) for v in a.split(",")], rtol=1e-5
        )
