"""One training loop: both engines inherit nndsl.backends.base.Engine, whose train_epoch,
evaluate and predict hold the batch loop, metric sums, logs and NaN check; an engine
offers only the device-specific steps. Backends import nothing from nndsl.train."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.backends.base import Engine, NonFiniteLoss
from nndsl.backends.numpy.engine import NumpyEngine

SOURCE = """
model m {
    input(4)
    dense(8, activation=relu)
    dense(3, activation=softmax)
}
train m {
    loss = sparse_categorical_crossentropy
    optimizer = sgd(lr=0.1)
    batch_size = 8
    epochs = 1
    metrics = [accuracy, mse]
}
"""


def data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, size=n)


def test_the_loops_are_written_once_in_the_base_class() -> None:
    engines = [NumpyEngine]
    try:
        from nndsl.backends.torch.engine import TorchEngine

        engines.append(TorchEngine)
    except ImportError:
        pass
    for cls in engines:
        assert issubclass(cls, Engine)
        for loop in ("train_epoch", "evaluate", "predict", "_metric_stats", "_finish_metrics"):
            assert getattr(cls, loop) is getattr(Engine, loop), (cls.__name__, loop)


def test_backends_import_nothing_from_train() -> None:
    root = Path(nndsl.__file__).parent / "backends"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("nndsl.train"), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("nndsl.train") for a in node.names), path


def test_logs_are_the_batch_weighted_means() -> None:
    engine = nndsl.compile_string(SOURCE).build(backend="numpy", seed=0).engine
    x, y = data(37)  # a short last batch
    prepared = engine.prepare(x, y)
    before = engine.get_weights()
    expected_loss, hits = 0.0, 0
    order = np.arange(37)
    logs = engine.train_epoch(prepared, order, 8)
    # replay by hand on a fresh engine: each batch's loss before its step
    replay = nndsl.compile_string(SOURCE).build(backend="numpy", seed=0).engine
    replay.set_weights(before)
    for start in range(0, 37, 8):
        xb, yb = x[start : start + 8], y[start : start + 8]
        loss, _ = replay.loss_and_grads(xb, yb, training=True)
        hits += int((replay.logits(xb).argmax(-1) == yb).sum())
        expected_loss += loss * len(yb)
        replay.train_epoch(replay.prepare(xb, yb), np.arange(len(yb)), 8)
    assert logs["loss"] == pytest.approx(expected_loss / 37, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(hits / 37)
    assert set(logs) == {"loss", "accuracy", "mse"}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_numpy_stops_before_applying_the_bad_step() -> None:
    engine = nndsl.compile_string(SOURCE).build(backend="numpy", seed=0).engine
    x, y = data()
    prepared = engine.prepare(x, y)
    seen: list[dict[str, np.ndarray]] = []
    engine.lr = 1e30
    with pytest.raises(NonFiniteLoss) as info:
        for _ in range(5):
            engine.train_epoch(
                prepared, np.arange(40), 8, lambda b: seen.append(engine.get_weights())
            )
    last_good = seen[-1] if seen else None
    if last_good is not None:  # the weights are those after the last finite batch's step
        for k, w in engine.get_weights().items():
            np.testing.assert_array_equal(w, last_good[k])
    assert not np.isfinite(info.value.value)


def test_torch_reads_the_epoch_back_once() -> None:
    pytest.importorskip("torch")
    engine = nndsl.compile_string(SOURCE).build(backend="torch", device="cpu", seed=0).engine
    x, y = data()
    calls = {"n": 0}
    real = engine.read_back

    def read_back(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    engine.read_back = read_back
    records = []
    real_forward = engine.train_forward

    def train_forward(*args):
        step, record, out = real_forward(*args)
        records.append(record)
        return step, record, out

    engine.train_forward = train_forward
    engine.train_epoch(engine.prepare(x, y), np.arange(40), 8)
    assert calls["n"] == 1
    assert len(records) == 5 and all(not isinstance(r, float) for r in records)
