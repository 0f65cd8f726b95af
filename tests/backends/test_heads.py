"""Several outputs with their own losses, and loss terms, on both engines: the same
histories, gradients equal to finite differences (NumPy) and to torch autograd on a
hand-written torch model, losses equal to torch.nn.functional, an L1 activity penalty
that sparsifies, kl_normal against torch.distributions. (Keras is not installed here:
the references are torch's.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nndsl
from nndsl.backends import create_engine
from nndsl.ir.plan import Head, LossTerm
from nndsl.ir.signature import Spec

SOURCE = """
model m {
    input(4)
    h = dense(6, activation=relu)
    label = dense(3, activation=softmax)
    value = dense(1, from=h)
    output label, value
}
train m {
    loss = (label=sparse_categorical_crossentropy, value=mse)
    loss_weights = (value=0.5)
    metrics = [accuracy, mae]
    terms = (sparsity = 0.01 * l1(h))
    optimizer = sgd(lr=0.05)
    batch_size = 16
    epochs = 4
    dtype = float64
}
"""


def data(n: int = 48, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, {"label": rng.integers(0, 3, n), "value": rng.normal(size=n)}


def test_two_heads_train_alike_on_numpy_and_torch():
    program = nndsl.compile_string(SOURCE)
    x, y = data()
    hs = [
        program.build(backend=b, seed=3).fit(x, y, validation_data=(x, y), verbose=0).history
        for b in ("numpy", "torch")
    ]
    assert list(hs[0]) == [
        "loss", "label_loss", "value_loss", "sparsity", "label_accuracy", "value_mae",
        "val_loss", "val_label_loss", "val_value_loss", "val_sparsity",
        "val_label_accuracy", "val_value_mae", "lr",
    ]  # fmt: skip
    for key in hs[0]:
        np.testing.assert_allclose(hs[0][key], hs[1][key], rtol=1e-6, atol=1e-6, err_msg=key)
    # the total is the weighted sum of its parts
    h = hs[0]
    total = np.add(h["label_loss"], 0.5 * np.asarray(h["value_loss"]))
    assert not np.allclose(total, h["loss"])  # the term is in the total too
    evaluated = program.build(backend="numpy", seed=3).evaluate(x, y)
    np.testing.assert_allclose(
        evaluated["loss"],
        evaluated["label_loss"] + 0.5 * evaluated["value_loss"] + 0.01 * evaluated["sparsity"],
        rtol=1e-12,
    )


def _torch_reference(weights: dict, x: np.ndarray, y: dict):
    """The model written by hand in torch: (total, label loss, value loss, l1, params)."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    xt = torch.tensor(x)
    h = torch.relu(xt @ t["h.weight"] + t["h.bias"])
    logits = h @ t["label.weight"] + t["label.bias"]
    value = h @ t["value.weight"] + t["value.bias"]
    label_loss = F.cross_entropy(logits, torch.tensor(y["label"]))
    value_loss = F.mse_loss(value[:, 0], torch.tensor(y["value"]))
    l1 = h.abs().sum() / h.shape[0]
    total = label_loss + 0.5 * value_loss + 0.01 * l1
    return total, label_loss, value_loss, l1, t


def test_weighted_total_and_its_gradients_match_finite_differences_and_torch():
    program = nndsl.compile_string(SOURCE)
    model = program.build(backend="numpy", seed=1)
    engine = model.engine
    x, y = data(12, seed=5)
    loss, grads = engine.loss_and_grads(x, y)
    weights = engine.get_weights()
    total, label_loss, value_loss, l1, t = _torch_reference(weights, x, y)
    total.backward()
    logs = model.evaluate(x, y)
    assert abs(loss - total.item()) < 1e-10
    assert abs(logs["label_loss"] - label_loss.item()) < 1e-10
    assert abs(logs["value_loss"] - value_loss.item()) < 1e-10
    assert abs(logs["sparsity"] - l1.item()) < 1e-10
    eps = 1e-6
    for key, w in weights.items():
        np.testing.assert_allclose(grads[key], t[key].grad.numpy(), atol=1e-10, err_msg=key)
        fd = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            for sign in (1, -1):
                moved = {**weights, key: w.copy()}
                moved[key][i] += sign * eps
                engine.set_weights(moved)
                fd[i] += sign * engine.loss_and_grads(x, y)[0] / (2 * eps)
        np.testing.assert_allclose(grads[key], fd, atol=1e-6, err_msg=key)
    engine.set_weights(weights)
    torch_engine = program.build(backend="torch", seed=1).engine
    torch_loss, torch_grads = torch_engine.loss_and_grads(x, y)
    assert abs(torch_loss - total.item()) < 1e-10
    for key in weights:
        np.testing.assert_allclose(torch_grads[key], grads[key], atol=1e-10, err_msg=key)


def test_an_output_other_layers_read_keeps_its_softmax_and_trains_on_probabilities():
    source = """
    model m {
        input(4)
        probs = dense(3, activation=softmax)
        value = dense(1)
        output probs, value
    }
    train m {
        loss = (probs=sparse_categorical_crossentropy, value=mse)
        dtype = float64
    }
    """
    program = nndsl.compile_string(source)
    x, y = data(10, seed=2)
    y = {"probs": y["label"], "value": y["value"]}
    for backend in ("numpy", "torch"):
        engine = program.build(backend=backend, seed=0).engine
        loss, grads = engine.loss_and_grads(x, y)
        t = {k: torch.tensor(v, requires_grad=True) for k, v in engine.get_weights().items()}
        p = torch.softmax(torch.tensor(x) @ t["probs.weight"] + t["probs.bias"], -1)
        v = p @ t["value.weight"] + t["value.bias"]
        ref = F.nll_loss(torch.log(p.clamp(1e-7, 1 - 1e-7)), torch.tensor(y["probs"]))
        ref = ref + F.mse_loss(v[:, 0], torch.tensor(y["value"]))
        ref.backward()
        assert abs(loss - ref.item()) < 1e-10, backend
        for key, g in grads.items():
            np.testing.assert_allclose(g, t[key].grad.numpy(), atol=1e-10, err_msg=key)


def sparsity_run(weight: float) -> float:
    source = f"""
    model m {{
        input(8)
        h = dense(32, activation=relu)
        dense(1)
    }}
    train m {{
        loss = mse
        {"terms = (sparsity = " + str(weight) + " * l1(h))" if weight else ""}
        optimizer = adam(lr=0.01)
        batch_size = 32
        epochs = 60
    }}
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8))
    y = x[:, :2].sum(axis=1)
    model = nndsl.compile_string(source).build(seed=0)
    model.fit(x, y, verbose=0)
    w = model.get_weights()
    h = np.maximum(x @ w["h.weight"] + w["h.bias"], 0)
    return float(np.mean(h < 1e-3))


def test_an_l1_activity_penalty_sparsifies_a_relu_layer():
    without, with_penalty = sparsity_run(0), sparsity_run(0.05)
    print(f"fraction of activations < 1e-3: without {without:.3f}, with l1 {with_penalty:.3f}")
    assert with_penalty > without + 0.25


def test_kl_normal_is_the_kl_divergence_from_a_standard_normal():
    source = """
    model m {
        x = input(3)
        mean = dense(2)
        log_var = dense(2, from=x)
        out = concat(mean, log_var)
    }
    train m { loss = mse  terms = (kl = kl_normal(mean, log_var))  dtype = float64 }
    """
    program = nndsl.compile_string(source)
    x = np.random.default_rng(1).normal(size=(7, 3))
    model = program.build(seed=0)
    w = model.get_weights()
    m = torch.tensor(x @ w["mean.weight"] + w["mean.bias"])
    lv = torch.tensor(x @ w["log_var.weight"] + w["log_var.bias"])
    dist = torch.distributions
    kl = dist.kl_divergence(dist.Normal(m, torch.exp(0.5 * lv)), dist.Normal(0.0, 1.0))
    expected = kl.sum(-1).mean().item()
    for backend in ("numpy", "torch"):
        logs = program.build(backend=backend, seed=0).evaluate(x, np.zeros((7, 4)))
        assert abs(logs["kl"] - expected) < 1e-12, backend


def test_engines_take_heads_and_terms_directly():
    program = nndsl.compile_string(SOURCE)
    graph = program._compiled.models["m"]
    heads = [Head("label", Spec("sparse_categorical_crossentropy")), Head("value", Spec("mse"))]
    terms = [LossTerm("act", "l2", ("h",), 0.1)]
    engine = create_engine("numpy", graph, dtype="float64", heads=heads, terms=terms)
    x, y = data(5)
    pred = engine.predict(x)
    assert set(pred) == {"label", "value"}
    assert pred["label"].shape == (5, 3) and pred["value"].shape == (5, 1)
    np.testing.assert_allclose(pred["label"].sum(axis=1), 1.0)  # the softmax is applied
    with pytest.raises(nndsl.NNDSLError, match="no targets for output 'value'"):
        engine.prepare(x, {"label": y["label"]})
