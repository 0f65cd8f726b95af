"""Every example trains the same on both backends; weight files cross between them; the
CLI runs the torch backend, and says how to install torch when it is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.cli import main  # noqa: E402


def without_dropout(program) -> None:
    """Dropout off in every model, in blocks too: the backends draw different masks."""
    for graph in program.models.values():
        for node in graph.nodes:
            if node.op == "dropout":
                node.attrs["rate"] = 0.0


def example_program(path: Path, *overrides: str):
    """The example with dropout off, one float64 epoch; skipped when its data is missing."""
    program = nndsl.compile_file(path, ["epochs=1", "dtype=float64", *overrides])
    without_dropout(program)
    if program.train.env is not None:
        pytest.skip(f"{path.name} is an agent: tests/rl/test_agents.py compares the backends")
    data = program.train.data
    if data.name == "dataset":
        pytest.importorskip("sklearn", reason=f"{path.name} needs scikit-learn")
    if "path" in data.args and not (Path(program.train.base_dir) / data.args["path"]).exists():
        pytest.skip(f"{path.name}: its data file {data.args['path']} is missing")
    return program


@pytest.fixture
def without_noise(monkeypatch) -> None:
    """sample_normal's noise zero on both backends (each draws from its own generator,
    as dropout does): the layer is then its mean in training too."""
    from nndsl.backends.numpy.autodiff import Primitives
    from nndsl.backends.torch.primitives import _Pass

    monkeypatch.setattr(Primitives, "normal", lambda self, x: np.zeros_like(getattr(x, "value", x)))
    monkeypatch.setattr(_Pass, "normal", lambda self, x: torch.zeros_like(x))


def test_example_trains_identically(example_path: Path, tmp_path: Path, without_noise) -> None:
    program = example_program(example_path)
    ref = program.build(backend="numpy")
    got = program.build(backend="torch", device="cpu")
    ref_history = ref.fit(verbose=0).history
    got_history = got.fit(verbose=0).history
    assert got_history.keys() == ref_history.keys()
    for key, values in ref_history.items():
        np.testing.assert_allclose(got_history[key], values, rtol=1e-4, atol=1e-4, err_msg=key)
    for key, w in ref.get_weights().items():
        np.testing.assert_allclose(got.get_weights()[key], w, rtol=1e-6, atol=1e-8)

    # weights saved by one backend load in the other and predict (a GAN: sample) the same
    x = ref.load_data().train.x[:64]
    for saver, loader in (("numpy", "torch"), ("torch", "numpy")):
        source = ref if saver == "numpy" else got
        path = tmp_path / f"{saver}.npz"
        source.save(path)
        target = program.build(backend=loader, seed=123, device="cpu")
        target.load(path)
        if source.is_gan:
            cls = 3 if source.engine.conditional else None
            got_pred, want_pred = target.sample(64, classes=cls), source.sample(64, classes=cls)
        else:
            got_pred, want_pred = target.predict(x), source.predict(x)
        if isinstance(want_pred, dict):  # several outputs: one array each
            for name, want in want_pred.items():
                np.testing.assert_allclose(got_pred[name], want, rtol=1e-10, atol=1e-12)
        else:
            np.testing.assert_allclose(got_pred, want_pred, rtol=1e-10, atol=1e-12)


SMALL = """
model small {
    input(2)
    dense(8, activation=tanh)
    dropout(0.1)
    dense(1, activation=sigmoid)
}
train small {
    data       = synthetic("xor", n=120, noise=0.1, seed=0)
    validation = 0.25
    loss       = binary_crossentropy
    optimizer  = adam(lr=0.01)
    batch_size = 16
    epochs     = 5
    metrics    = [accuracy]
}
"""


def test_cli_runs_the_torch_backend(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    out = tmp_path / "run"
    args = ["run", str(source), "--backend", "torch", "--device", "cpu", "--epochs", "2"]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    assert (out / "weights.npz").is_file()
    assert "epoch" in (out / "history.csv").read_text()
    assert len((out / "history.csv").read_text().splitlines()) == 3  # header + 2 epochs
    # the run's weights load into a numpy model
    model = nndsl.compile_file(source).build(backend="numpy").load(out / "weights.npz")
    assert model.predict(np.zeros((1, 2))).shape == (1, 1)


def test_cli_without_torch_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    source = tmp_path / "small.nn"
    source.write_text(SMALL)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    assert main(["run", str(source), "--backend", "torch", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "pip install 'nndsl[torch]'" in err
    assert not (tmp_path / "r").exists()
