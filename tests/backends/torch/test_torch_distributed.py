"""Several processes: `nndsl run --nproc 2` (torchrun, gloo on CPU), and two "nodes" on
this machine (`--nnodes 2 --node-rank K --master 127.0.0.1:PORT`, or the user's own
torchrun with a c10d rendezvous), train the same model as one process with the same global
batch, evaluate (validation every epoch, the final metrics) each its share of the rows
with the same numbers, and write one run folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # processes under torchrun: pytest -m slow

import nndsl  # noqa: E402
from nndsl.backends.torch.distributed import Launch, free_local_port, without_option  # noqa: E402
from nndsl.cli import main  # noqa: E402

# batch 15 over 2 processes: every global batch splits unevenly (8 + 7 rows); float64, so
# that the processes' sums agree with one process's to far below the tolerance
SMALL = """
model small {
    input(2)
    dense(6, activation=tanh, l2=0.001)
    dense(1, activation=sigmoid)
}
train small {
    data       = synthetic("xor", n=100, noise=0.1, seed=0)
    validation = 0.2
    test       = 0.1
    loss       = binary_crossentropy
    optimizer  = adam(lr=0.02)
    batch_size = 15
    epochs     = 3
    metrics    = [accuracy]
    dtype      = float64
}
"""
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TIMEOUT = 120


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMALL trained by one process: the reference run folder."""
    folder = tmp_path_factory.mktemp("single")
    (folder / "small.nn").write_text(SMALL)
    assert main([*_common(folder / "small.nn"), "--out", str(folder / "one")]) == 0
    return folder / "one"


def _common(source: Path) -> list[str]:
    return ["run", str(source), "--backend", "torch", "--device", "cpu", "--quiet"]


def _history(run: Path) -> tuple[list[str], np.ndarray]:
    lines = (run / "history.csv").read_text().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in r.split(",")] for r in lines[1:]])


def assert_same_run(run: Path, reference: Path) -> None:
    """`run` trained what `reference` did: history (train and validation columns), final
    metrics and weights equal to 1e-6."""
    header, values = _history(run)
    ref_header, ref_values = _history(reference)
    assert header == ref_header and "val_loss" in header and "val_accuracy" in header
    np.testing.assert_allclose(values, ref_values, rtol=1e-6, atol=1e-9)
    metrics, ref_metrics = (json.loads((r / "metrics.json").read_text()) for r in (run, reference))
    assert metrics.keys() == ref_metrics.keys() == {"train", "validation", "test"}
    for split, numbers in ref_metrics.items():
        for key, value in numbers.items():
            assert metrics[split][key] == pytest.approx(value, rel=1e-6, abs=1e-9), (split, key)
    weights = nndsl.load(run / "weights.npz").get_weights()
    for key, w in nndsl.load(reference / "weights.npz").get_weights().items():
        np.testing.assert_allclose(weights[key], w, rtol=1e-6, atol=1e-9, err_msg=key)


def _local_master() -> str:
    return f"127.0.0.1:{free_local_port()}"


def _start(command: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=ENV, cwd=cwd, stderr=subprocess.PIPE, text=True)


def run_nodes(argv: list[str], nodes: int, nproc: int, cwd: Path) -> list[str]:
    """`nndsl <argv>` as `nodes` machines of `nproc` processes each, on this one: the
    nodes' standard errors (each asserted to have succeeded)."""
    launch = ["--nproc", str(nproc), "--nnodes", str(nodes), "--master", _local_master()]
    started = [
        _start([sys.executable, "-m", "nndsl", *argv, *launch, "--node-rank", str(k)], cwd)
        for k in range(nodes)
    ]
    errors = _finish(started)
    for p, err in zip(started, errors):
        assert p.returncode == 0, err
    return errors


def _finish(started: list[subprocess.Popen]) -> list[str]:
    """The processes' standard errors once they have exited; killed (all, the test
    failing with what they said) past TIMEOUT."""
    try:
        return [p.communicate(timeout=TIMEOUT)[1] for p in started]
    except subprocess.TimeoutExpired:
        for p in started:
            p.kill()
        said = "\n---\n".join(p.communicate()[1][-4000:] for p in started)
        raise AssertionError(f"still running after {TIMEOUT} s:\n{said}") from None


def test_two_processes_train_like_one(tmp_path: Path, single: Path) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    argv = [*_common(source), "--out", str(tmp_path / "two"), "--nproc", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "nndsl", *argv],
        env=ENV, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.nn", "two"]
    assert_same_run(tmp_path / "two", single)


@pytest.mark.parametrize("nproc", [1, 2])
def test_two_nodes_train_like_one_process(tmp_path: Path, single: Path, nproc: int) -> None:
    """Two machines (here two launchers on this one, meeting at 127.0.0.1) of `nproc`
    processes each: one run folder, written by global rank 0 (on node 0), and the same
    training, validation and final metrics as one process."""
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    run_nodes([*_common(source), "--out", str(tmp_path / "run")], 2, nproc, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "small.nn"]
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["status"] == "completed"
    assert_same_run(tmp_path / "run", single)


def _interrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epochs: int) -> Path:
    """SMALL (`epochs` epochs) stopped by Ctrl-C as epoch 3 begins: its run folder, whose
    checkpoint holds epochs 1-2."""
    from nndsl.backends.torch.engine import TorchEngine

    source = tmp_path / "small.nn"
    source.write_text(SMALL.replace("epochs     = 3", f"epochs     = {epochs}"))
    real, calls = TorchEngine.train_epoch, {"n": 0}

    def train_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(TorchEngine, "train_epoch", train_epoch)
        patch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)
        assert main([*_common(source), "--out", str(run)]) == 130
    assert (run / "checkpoint.npz").is_file()
    return run


def _assert_resumed(run: Path, log: str, reference: Path) -> None:
    trained = re.findall(r"^epoch (\d)/\d", log, re.M)
    assert trained == ["3"], log  # only what the checkpoint had not done
    assert not (run / "checkpoint.npz").exists()
    assert yaml.safe_load((run / "config.yaml").read_text())["status"] == "completed"
    assert_same_run(run, reference)


def test_resume_across_two_nodes(tmp_path: Path, single: Path, monkeypatch) -> None:
    """`nndsl run --resume RUN --nnodes 2 ...` on each node: every rank continues from the
    checkpoint's epoch, and the run ends as the uninterrupted one did."""
    run = _interrupted_run(tmp_path, monkeypatch, epochs=3)
    logs = run_nodes(["run", "--resume", str(run)], 2, 1, tmp_path)
    _assert_resumed(run, logs[0], single)
    assert "epoch" not in logs[1]  # node 1's rank prints nothing


def test_resume_under_the_users_own_torchrun_of_two_nodes(
    tmp_path: Path, single: Path, monkeypatch
) -> None:
    """`torchrun --nnodes 2 --rdzv-backend c10d ... -m nndsl run --resume RUN` on each
    node continues from the checkpoint's epoch on every rank (it once started again from
    epoch 1, deleted the checkpoint and said nothing)."""
    run = _interrupted_run(tmp_path, monkeypatch, epochs=3)
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2"]
    command += ["--nproc-per-node=1", "--rdzv-backend=c10d", "--rdzv-id=resume"]
    command += [f"--rdzv-endpoint={_local_master()}", "-m", "nndsl", "run", "--resume", str(run)]
    started = [_start(command, tmp_path) for _ in range(2)]
    logs = _finish(started)
    assert [p.returncode for p in started] == [0, 0], logs
    # c10d gives out the ranks in order of arrival: rank 0 is on either "node"
    _assert_resumed(run, "".join(logs), single)


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
        # as np.array_split would split it
        expected = np.array_split(order[start : start + 15], world)
        for rank in range(world):
            np.testing.assert_array_equal(shards[rank][b], expected[rank])


def evaluate_as_ranks(
    model, x: np.ndarray, y: np.ndarray, world: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, float], list[list[int]]]:
    """`model.evaluate_scaled` as rank 0 of `world` processes, in this one: the other ranks
    run first, their all-reduced tensors kept, and rank 0's all_reduce adds them to its
    own. (rank 0's result, the rows each rank's batches held)."""
    import torch

    engine = model.engine
    kept: list = []
    seen: list[list[int]] = []
    real_eval_batch = type(engine).eval_batch

    def all_reduce(t):
        if engine.rank:
            kept.append(t.clone())
        else:
            t += sum(kept)

    def eval_batch(self, xs, y):
        seen[-1].append(xs[0].shape[0])
        return real_eval_batch(self, xs, y)

    monkeypatch.setattr(torch.distributed, "all_reduce", all_reduce)
    monkeypatch.setattr(type(engine), "eval_batch", eval_batch)
    for rank in [*range(1, world), 0]:
        engine.rank, engine.world = rank, world
        seen.append([])
        result = model.evaluate_scaled(x, y)
    engine.rank, engine.world = 0, 1
    return result, [seen[-1], *seen[:-1]]


@pytest.mark.parametrize(("world", "rows"), [(2, 300), (3, 500), (3, 2)])
def test_each_process_evaluates_its_share_with_the_numbers_of_one(
    world: int, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evaluation over `world` processes: each evaluates its part of the rows (as
    np.array_split splits each batch of 256 rows per process), and the all-reduced loss
    and metrics are one process's. 2 rows over 3: the last process's part is empty."""
    model = nndsl.compile_string(SMALL).build(backend="torch", device="cpu")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(rows, 2)), (rng.random(rows) > 0.5).astype(float)
    alone = model.evaluate_scaled(x, y)
    result, seen = evaluate_as_ranks(model, x, y, world, monkeypatch)
    assert result.keys() == alone.keys() == {"loss", "accuracy"}
    for key, value in alone.items():
        assert result[key] == pytest.approx(value, rel=1e-12), key
    step = 256 * world
    for rank in range(world):
        expected = [len(np.array_split(np.arange(b, min(b + step, rows)), world)[rank])
                    for b in range(0, rows, step)]  # fmt: skip
        assert seen[rank] == expected
    assert sum(map(sum, seen)) == rows  # every row once, in all
    if rows < world:
        assert seen[-1] == [0]


def test_an_interrupted_rank_0_evaluates_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank 0 of an interrupted run computes its final metrics without the others (which
    have stopped): every row, no all_reduce."""
    import torch

    model = nndsl.compile_string(SMALL).build(backend="torch", device="cpu")
    x, y = np.random.default_rng(2).normal(size=(40, 2)), np.ones(40)
    alone = model.evaluate_scaled(x, y)

    def all_reduce(t):
        raise AssertionError("no all_reduce when evaluating alone")

    monkeypatch.setattr(torch.distributed, "all_reduce", all_reduce)
    model.engine.rank, model.engine.world = 0, 2
    model.engine.evaluates_alone = True
    assert model.evaluate_scaled(x, y) == pytest.approx(alone, rel=1e-12)


def test_several_processes_need_the_torch_backend(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    assert main(["run", str(source), "--nproc", "2", "--out", str(tmp_path / "r")]) == 1
    assert "needs --backend torch" in capsys.readouterr().err
    node = ["--nnodes", "2", "--node-rank", "0", "--master", "127.0.0.1:29500"]
    assert main(["run", str(source), *node, "--out", str(tmp_path / "r")]) == 1
    assert "needs --backend torch" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--nnodes", "2", "--node-rank", "0"], "--nnodes 2 needs --master HOST:PORT"),
        (["--nnodes", "2", "--master", "h:1"], "--nnodes 2 needs --node-rank K"),
        (["--nnodes", "2", "--node-rank", "2", "--master", "h:1"], "--node-rank 2 is out of range"),
        (["--nnodes", "2", "--node-rank", "-1", "--master", "h:1"], "--node-rank -1 is out of"),
        (["--node-rank", "1"], "--node-rank 1 is out of range for --nnodes 1"),
        (["--nnodes", "0"], "--nnodes must be at least 1"),
        (["--nproc", "0"], "--nproc must be at least 1"),
        (["--nnodes", "2", "--node-rank", "0", "--master", "h"], "--master must be HOST:PORT"),
        (["--nnodes", "2", "--node-rank", "0", "--master", "h:x"], "--master must be HOST:"),
        (["--nnodes", "2", "--node-rank", "0", "--master", ":29500"], "--master must be HOST"),
        (["--nnodes", "2", "--node-rank", "0", "--master", "h:70000"], "--master must be HOS"),
        (["--nnodes", "2", "--node-rank", "0", "--master", "h:0"], "--master must be HOST:PO"),
    ],
)
def test_launch_options_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture, options: list[str], message: str
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    assert main([*_common(source), *options, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_launch_options_are_refused_under_torchrun(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main([*_common(source), "--nproc", "2"]) == 1
    assert "already under one" in capsys.readouterr().err


def test_torchrun_meets_at_the_master_with_static_ranks() -> None:
    """Several nodes: a static rendezvous at --master (node K's ranks follow --node-rank,
    so global rank 0 runs on node 0); one node alone: --standalone."""
    two = Launch(nproc=4, nodes=2, node=1, master=("fe80::1", 29500))
    assert two.torchrun_options() == [
        "--nproc-per-node=4", "--nnodes=2", "--node-rank=1",
        "--master-addr=fe80::1", "--master-port=29500",
    ]  # fmt: skip
    assert Launch(nproc=2).torchrun_options() == ["--standalone", "--nproc-per-node=2"]
    assert not Launch().starts_torchrun and Launch(nodes=1, master=("h", 1)).starts_torchrun


def test_several_processes_without_torch_say_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["run", str(source), "--backend", "torch", "--nproc", "2"]) == 1
    assert "pip install 'nndsl[torch]'" in capsys.readouterr().err


def test_launch_options_are_not_passed_on_to_torchrun() -> None:
    argv = ["run", "f.nn", "--nproc", "2", "--nproc=3", "--out", "d", "--nnodes", "2"]
    argv += ["--node", "1", "--master=h:1", "--mast", "h:2", "--node-rank=0", "--seed", "1"]
    for option in ("--nproc", "--nnodes", "--node-rank", "--master"):
        argv = without_option(argv, option)
    assert argv == ["run", "f.nn", "--out", "d", "--seed", "1"]


def test_resume_on_a_node_without_the_run_folder_says_where_it_must_be(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Only rank 0 writes the run folder, on its machine: another node resuming without a
    copy is told that every machine reads the checkpoint."""
    missing = str(tmp_path / "run")
    node = ["--nnodes", "2", "--node-rank", "1", "--master", "10.0.0.1:29500"]
    assert main(["run", "--resume", missing, "--backend", "torch", *node]) == 1
    err = capsys.readouterr().err
    assert f"no run folder {missing} on this machine" in err and "same path on each" in err
    assert main(["run", "--resume", missing]) == 1  # one machine: the usual message
    assert "no run folder" not in capsys.readouterr().err
