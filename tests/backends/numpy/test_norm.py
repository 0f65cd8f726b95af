"""batch_norm and layer_norm: torch's modules as the reference for the statistics and
the momentum, running statistics as state (saved, restored, never optimized), Keras'
parameter counts."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.weights import load_weights

BN = """
model m {
    input(4, 3, 2)
    bn = batch_norm(momentum=0.2, epsilon=0.001)
}
train m { loss = mse }
"""


def test_batch_norm_follows_torch_batchnorm():
    """Three training batches, then evaluation: the same running statistics and outputs
    as torch.nn.BatchNorm2d on the same data (channels first there)."""
    torch = pytest.importorskip("torch")
    model = nndsl.compile_string(BN).build(dtype="float64")
    rng = np.random.default_rng(0)
    gamma, beta = rng.normal(size=2), rng.normal(size=2)
    weights = model.get_weights()
    model.set_weights({**weights, "bn.weight": gamma, "bn.bias": beta})
    ref = torch.nn.BatchNorm2d(2, eps=0.001, momentum=0.2).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(gamma))
        ref.bias.copy_(torch.from_numpy(beta))
    for step in range(3):
        x = rng.normal(loc=step, scale=1 + step, size=(5, 4, 3, 2))
        y = rng.normal(size=x.shape)
        loss, _ = model.engine.loss_and_grads(x, y, training=True)
        out = ref(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        assert loss == pytest.approx(float(((out.detach().numpy() - y) ** 2).mean()), rel=1e-12)
    state = model.get_weights()
    np.testing.assert_allclose(state["bn.running_mean"], ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(state["bn.running_var"], ref.running_var.numpy(), rtol=1e-12)
    ref.eval()
    x = rng.normal(size=(3, 4, 3, 2))
    expected = ref(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(model.predict(x), expected.detach().numpy(), rtol=1e-12)


def test_layer_norm_follows_torch_layernorm():
    torch = pytest.importorskip("torch")
    model = nndsl.compile_string("model m { input(3, 5)\n ln = layer_norm() }").build(
        dtype="float64"
    )
    rng = np.random.default_rng(1)
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    model.set_weights({"ln.weight": gamma, "ln.bias": beta})
    x = rng.normal(size=(4, 3, 5)) * 3 + 1
    expected = torch.nn.functional.layer_norm(
        torch.from_numpy(x), (5,), torch.from_numpy(gamma), torch.from_numpy(beta), 1e-5
    )
    np.testing.assert_allclose(model.predict(x), expected.numpy(), rtol=1e-12, atol=1e-12)


NET = """
model net {
    input(2)
    dense(8)
    bn = batch_norm()
    relu()
    dense(1)
}
train net {
    data      = synthetic("moons", n=64, seed=1)
    loss      = mse
    optimizer = adamw(lr=0.01, weight_decay=0.5)
    epochs    = 2
}
"""


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_running_statistics_are_state_not_parameters(backend, tmp_path):
    if backend == "torch":
        pytest.importorskip("torch")
    program = nndsl.compile_string(NET)
    model = program.build(backend=backend, device="cpu") if backend == "torch" else program.build()
    before = model.get_weights()
    assert before["bn.running_mean"].tolist() == [0.0] * 8
    assert before["bn.running_var"].tolist() == [1.0] * 8
    model.fit(verbose=0)
    after = model.get_weights()
    # moved by the layer (batch statistics), not decayed towards 0 by adamw
    assert not np.allclose(after["bn.running_mean"], 0)
    assert np.all(after["bn.running_var"] > 0)
    # evaluation uses them, and they travel with the weights
    x = model.load_data().train.x[:16]
    path = tmp_path / "w.npz"
    model.save(path)
    tensors, _ = load_weights(path)
    assert {"bn.running_mean", "bn.running_var"} <= set(tensors)
    fresh = program.build(
        backend=backend, seed=99, **({"device": "cpu"} if backend == "torch" else {})
    )
    fresh.load(path)
    np.testing.assert_allclose(fresh.predict(x), model.predict(x), rtol=1e-6)
    # an optimizer sees only the trainable tensors: 24 + 16 + 9 of the 65 values
    state = model.engine.state_dict()
    sizes = {np.size(v) for k, v in state.items() if k.startswith("optimizer.exp_avg")}
    assert sizes == {49} and model.graph.param_count == 65


def test_numpy_flat_buffer_keeps_state_after_the_trainable_part():
    model = nndsl.compile_string(NET).build()
    engine = model.engine
    n = model.graph.trainable_count
    assert engine.grads.size == n and engine.trainable.size == n
    assert engine.params.size == model.graph.param_count
    assert np.shares_memory(engine.views["bn.running_var"], engine.params[n:])


def test_summary_counts_non_trainable_like_keras():
    # Keras: BatchNormalization on (None, 28, 28, 32): 128 params, 64 non-trainable
    program = nndsl.compile_string("model m { input(28, 28, 32)\n batch_norm() }")
    assert program.graph.param_count == 128 and program.graph.trainable_count == 64
    text = program.summary()
    assert "Total params: 128" in text
    assert "Trainable params: 64" in text and "Non-trainable params: 64" in text
    # LayerNormalization on (None, 10, 64): 128 params, all trainable
    g = nndsl.compile_string("model m { input(10, 64)\n layer_norm() }").graph
    assert (g.param_count, g.trainable_count, g.output.shape) == (128, 128, (10, 64))


def test_a_batch_of_one_row_trains():
    """One value per channel has no unbiased variance: its zero variance is used (torch
    would refuse the batch; a last batch of one should not end a run)."""
    model = nndsl.compile_string(NET).build()
    loss, _ = model.engine.loss_and_grads(np.ones((1, 2)), np.ones((1, 1)), training=True)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(model.get_weights()["bn.running_var"]))
