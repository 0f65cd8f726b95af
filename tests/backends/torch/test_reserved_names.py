"""Layers named like attributes of torch's modules (`code`, `eval`, `training`, `graph`,
`forward`) lower to torch and train as on NumPy, under their own names in weight files:
the lowering keeps their modules under mangled names, one to one (`code_` stays apart)."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl

torch = pytest.importorskip("torch")

SOURCE = """
model m {
    input(3)
    code = dense(4, activation=tanh)
    eval = dense(4, activation=tanh)
    training = dense(4, activation=tanh)
    graph = batch_norm()
    code_ = dense(3, activation=tanh)
    forward = dense(1, l2=0.01)
}
train m { loss = mse  optimizer = adam(lr=0.01)  batch_size = 8  epochs = 3 }
"""


def test_reserved_names_train_alike_on_both_backends() -> None:
    program = nndsl.compile_string(SOURCE)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    a = program.build(backend="numpy", dtype="float64")
    b = program.build(backend="torch", dtype="float64", device="cpu")
    ha, hb = a.fit(x, y, verbose=0).history, b.fit(x, y, verbose=0).history
    np.testing.assert_allclose(hb["loss"], ha["loss"], rtol=1e-10)
    wa, wb = a.get_weights(), b.get_weights()
    assert set(wb) == set(wa) and {"code.weight", "code_.weight", "graph.running_mean"} <= set(wa)
    for k in wa:
        np.testing.assert_allclose(wb[k], wa[k], rtol=1e-10, atol=1e-12, err_msg=k)
    _, grads = b.engine.loss_and_grads(x[:8], y[:8])
    assert "eval.weight" in grads
    module = b.torch_module().eval()  # batch_norm: running statistics, as predict
    out = module(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, b.predict(x), rtol=1e-10)
