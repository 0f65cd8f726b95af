"""`nndsl export`: the ONNX and TorchScript files compute what `nndsl predict` computes,
input standardization included, for any batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.cli import main  # noqa: E402

SCALED = """
model scaled {
    input(3)
    dense(5, activation=gelu)
    dropout(0.3)
    dense(2, activation=softmax)
}
train scaled {
    data       = csv("data.csv", target="label", standardize=true)
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.05)
    epochs     = 2
}
"""

TWO_INPUTS = """
model two {
    a = input(3)
    b = input(2)
    ha = dense(4, activation=tanh, from=a)
    concat(ha, b)
    dense(1, activation=sigmoid)
}
train two { loss = binary_crossentropy }
"""


@pytest.fixture
def trained(tmp_path: Path):
    """A model trained on standardized CSV data, its weights file and raw inputs."""
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[10.0, -3.0, 100.0], scale=[2.0, 0.5, 30.0], size=(60, 3))
    label = (x[:, 0] - 10 + (x[:, 2] - 100) / 30 > 0).astype(int)
    rows = ["a,b,c,label"] + [f"{r[0]},{r[1]},{r[2]},{y}" for r, y in zip(x, label)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    source = tmp_path / "scaled.nn"
    source.write_text(SCALED)
    model = nndsl.compile_file(source).build(backend="torch", device="cpu")
    model.fit(verbose=0)
    assert model.scaler is not None
    model.save(tmp_path / "w.npz")
    return source, tmp_path / "w.npz", x[:7], model.predict(x[:7])  # predict scales raw x


def test_torchscript_export_predicts_like_the_model(trained, tmp_path: Path) -> None:
    source, weights, raw, expected = trained
    out = tmp_path / "model.pt"
    assert main(["export", str(source), "--weights", str(weights), "--to", "torchscript",
                 "--out", str(out)]) == 0  # fmt: skip
    loaded = torch.jit.load(str(out))
    got = loaded(torch.from_numpy(raw.astype(np.float32))).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert loaded(torch.zeros(1, 3)).shape == (1, 2)  # another batch size


def test_onnx_export_runs_in_onnxruntime(trained) -> None:
    for name in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(name, reason=f"ONNX export checks need {name}")
    import onnxruntime

    source, weights, raw, expected = trained
    assert main(["export", str(source), "--weights", str(weights), "--to", "onnx"]) == 0
    session = onnxruntime.InferenceSession(str(weights.with_suffix(".onnx")))
    assert [i.name for i in session.get_inputs()] == ["input_1"]
    (got,) = session.run(None, {"input_1": raw.astype(np.float32)})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_several_inputs_export_in_graph_order(tmp_path: Path) -> None:
    from nndsl.backends.torch.export import export_model

    model = nndsl.compile_string(TWO_INPUTS).build(backend="torch", device="cpu", seed=3)
    export_model(model, "torchscript", tmp_path / "two.pt")
    loaded = torch.jit.load(str(tmp_path / "two.pt"))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    got = loaded(torch.from_numpy(a).float(), torch.from_numpy(b).float()).detach().numpy()
    np.testing.assert_allclose(got, model.predict({"a": a, "b": b}), rtol=1e-5)
