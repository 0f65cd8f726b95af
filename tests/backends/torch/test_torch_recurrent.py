"""Recurrent layers on torch's fused kernels (torch.lstm / torch.gru / torch.rnn_*, the
code behind nn.LSTM, nn.GRU and nn.RNN) compute the function of the op's declaration,
the step-by-step composition the NumPy backend runs: outputs, every weight's gradient
and the input's gradient, float64 to 1e-10, for every arrangement the fused path takes.
With NNDSL_TEST_DEVICE=cuda (benchmarks/gpu_check.sh) the same tests hold cuDNN's
kernels to float32 tolerances (tests/backends/torch/conftest.py).
What the fused kernels cannot express lowers to the declaration itself.

(torch's own nn.LSTM / nn.GRU / nn.RNN, holding the same weights mapped by hand, are the
reference of the NumPy kernels in tests/backends/numpy/test_recurrent.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.backends.torch.layers_recurrent import FusedRecurrent  # noqa: E402
from nndsl.backends.torch.lowering import lower  # noqa: E402
from nndsl.backends.torch.primitives import Composed  # noqa: E402

FUSED = [
    f"{op}(5{bias}{seq}{act})"
    for op, act in [
        ("lstm", ""),
        ("gru", ""),
        ("simple_rnn", ""),
        ("simple_rnn", ", activation=relu"),
    ]
    for bias in ("", ", use_bias=false")
    for seq in ("", ", return_sequences=true")
]
STEPWISE = [
    "lstm(4, recurrent_activation=silu)",
    "lstm(4, activation=relu)",
    "gru(4, activation=elu)",
    "simple_rnn(4, activation=sigmoid)",
    "simple_rnn(4, activation=leaky_relu(alpha=0.3))",
]


TOLERANCE = {"float64": 1e-10, "float32": 1e-5}


def build(layer: str, backend: str, dtype: str = "float64", device: str = "cpu"):
    source = f"model m {{\n input(7, 3)\n r = {layer}\n dense(2)\n}}\ntrain m {{ loss = mse }}"
    if backend == "numpy":
        return nndsl.compile_string(source).build(backend=backend, seed=0, dtype=dtype)
    return nndsl.compile_string(source).build(backend=backend, seed=0, dtype=dtype, device=device)


def random_weights(model) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {k: rng.normal(0, 0.6, w.shape) for k, w in model.get_weights().items()}


def run(module: torch.nn.Module, x: np.ndarray, dout: np.ndarray, device: str, dtype: str):
    """(output, {parameter: gradient}, input gradient) of sum(output * dout)."""
    kind = getattr(torch, dtype)
    xt = torch.tensor(x, dtype=kind, device=device, requires_grad=True)
    out = module(xt)
    (out * torch.tensor(dout, dtype=kind, device=device)).sum().backward()
    grads = {k: p.grad.cpu().numpy() for k, p in module.named_parameters()}
    return out.detach().cpu().numpy(), grads, xt.grad.cpu().numpy()


def close(got: np.ndarray, want: np.ndarray, dtype: str, what: str = "") -> None:
    tol = TOLERANCE[dtype]
    scale = max(np.abs(want).max(), 1.0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


@pytest.mark.parametrize("layer", FUSED)
def test_the_fused_kernel_equals_the_declaration(layer: str, device: str, precise: str) -> None:
    """On the test device: cuDNN's kernels on a GPU, against the declaration in float64
    on the CPU."""
    model = build(layer, "torch")
    weights = random_weights(model)
    node = model.graph["r"]
    kind = getattr(torch, precise)
    fast, declared = FusedRecurrent(node).to(device, kind), Composed(node).double()
    for module, where, dtype in ((fast, device, kind), (declared, "cpu", torch.float64)):
        for name, p in module.named_parameters():
            p.data = torch.tensor(weights[f"r.{name}"], dtype=dtype, device=where)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 7, 3))
    dout = rng.normal(size=(6, *node.shape))
    if precise != "float64":  # the reference sees the same rounded inputs
        x, dout = x.astype(precise).astype(np.float64), dout.astype(precise).astype(np.float64)
    got = run(fast, x, dout, device, precise)
    want = run(declared, x, dout, "cpu", "float64")
    close(got[0], want[0], precise, "outputs")
    assert got[1].keys() == want[1].keys()
    for key in want[1]:
        close(got[1][key], want[1][key], precise, key)
    close(got[2], want[2], precise, "input gradient")


@pytest.mark.parametrize("layer", FUSED + STEPWISE)
def test_the_torch_model_equals_the_numpy_model(layer: str) -> None:
    ref, got = build(layer, "numpy"), build(layer, "torch")
    ref.set_weights(random_weights(ref))
    got.set_weights(ref.get_weights())
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 7, 3))
    y = rng.normal(size=(8, *ref.graph.output.shape))
    np.testing.assert_allclose(got.predict(x), ref.predict(x), rtol=1e-10, atol=1e-12)
    loss, grads = got.engine.loss_and_grads(x, y)
    ref_loss, ref_grads = ref.engine.loss_and_grads(x, y)
    assert abs(loss - ref_loss) < 1e-10
    for key, g in ref_grads.items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("layer", FUSED)
def test_the_fused_path_is_taken(layer: str) -> None:
    assert isinstance(lower(build(layer, "torch").graph).get_submodule("r"), FusedRecurrent)


@pytest.mark.parametrize("layer", STEPWISE)
def test_what_the_fused_kernels_cannot_express_runs_as_declared(layer: str) -> None:
    assert isinstance(lower(build(layer, "torch").graph).get_submodule("r"), Composed)


def test_gradients_in_evaluation_mode() -> None:
    """cuDNN keeps what backward needs only when told it trains: the kernel follows
    autograd, so gradients of a model in eval mode (nndsl trace, a GAN's frozen critic)
    still come back; without autograd it keeps nothing."""
    model = build("lstm(4)", "torch")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(3, 7, 3)), rng.normal(size=(3, 2))
    _, grads = model.engine.loss_and_grads(x, y, training=False)
    assert np.abs(grads["r.weight"]).max() > 0
    with torch.no_grad():
        assert model.predict(x).shape == (3, 2)


def test_training_updates_the_keras_layout_weights_as_the_numpy_backend_does() -> None:
    """Two epochs of Adam through a fused gru (its gates reordered inside the forward)
    and a fused lstm give the NumPy backend's losses and weights."""
    source = """
model m {
    input(6, 2)
    r = gru(4, return_sequences=true)
    lstm(3)
    dense(1)
}
train m {
    loss = mse
    optimizer = adam(lr=0.01)
    batch_size = 16
    epochs = 2
    dtype = float64
}
"""
    program = nndsl.compile_string(source)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(64, 6, 2)), rng.normal(size=(64, 1))
    models = [program.build(backend=b, seed=0, dtype="float64") for b in ("numpy", "torch")]
    ref, got = (m.fit(x, y, verbose=0, shuffle=False).history["loss"] for m in models)
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    weights = models[1].get_weights()
    for key, w in models[0].get_weights().items():
        np.testing.assert_allclose(weights[key], w, rtol=1e-8, atol=1e-10, err_msg=key)


def test_bf16_autocast_runs_the_fused_kernels_close_to_float32() -> None:
    source = """
model m {
    input(10, 3)
    gru(8, return_sequences=true)
    lstm(8)
    dense(1)
}
train m {
    loss = mse
    optimizer = adam(lr=0.01)
    batch_size = 16
    epochs = 3
}
"""
    program = nndsl.compile_string(source)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(64, 10, 3)).astype(np.float32)
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    runs = {}
    for precision in ("none", "bf16"):
        model = program.build(backend="torch", device="cpu", mixed_precision=precision)
        runs[precision] = model.fit(x, y, verbose=0, shuffle=False).history["loss"]
        assert all(w.dtype == np.float32 for w in model.get_weights().values())
    assert runs["bf16"] != runs["none"]  # bfloat16 did run: rounding shows
    np.testing.assert_allclose(runs["bf16"], runs["none"], rtol=0.05)
    assert runs["bf16"][-1] < runs["bf16"][0]


RECURRENT_CRITIC = """
model generator {
    noise = input(2)
    dense(32)
    reshape(32, 1)
}
model critic {
    input(32, 1)
    lstm(4)
    dense(1)
}
train generator {
    discriminator = critic
    data = synthetic("waves", n=64)
    gan_loss = wasserstein(gradient_penalty=10)
    optimizer = adam(lr=0.001)
}
"""


def test_a_recurrent_critics_gradient_penalty_equals_the_numpy_backends(
    device: str, precise: str
) -> None:
    """A WGAN-GP penalty differentiates the critic's input gradient: through the fused
    lstm (run there without cuDNN, which has no double backward) as through the NumPy
    backend's central differences; cuDNN is switched back on after."""
    program = nndsl.compile_string(RECURRENT_CRITIC)
    a = program.build(backend="numpy", seed=3, dtype="float64").engine
    b = program.build(backend="torch", seed=3, dtype=precise, device=device).engine
    assert isinstance(b.d.net.get_submodule("lstm_1"), FusedRecurrent)
    x = np.random.default_rng(7).normal(size=(16, 32, 1)).astype(precise)
    a.d.grads[...] = 0
    value = a.d.add_gradient_penalty([x], 10.0)
    for p in b.d.params:
        p.grad = torch.zeros_like(p)
    enabled = torch.backends.cudnn.enabled
    rel = 1e-10 if precise == "float64" else 1e-4
    penalty = b.d.add_gradient_penalty([torch.tensor(x, device=device)], 10.0)
    assert float(penalty) == pytest.approx(value, rel=rel)
    assert torch.backends.cudnn.enabled == enabled
    # the NumPy side differentiates along the input gradient by central differences
    tol = 1e-5 if precise == "float64" else 2e-3
    for key, p in b.d.net.named_parameters():
        g = p.grad.cpu().numpy()
        scale = np.abs(g).max()
        np.testing.assert_allclose(a.d.grad_views[key], g, rtol=tol, atol=tol * scale, err_msg=key)
    assert np.abs(b.d.net.get_parameter("lstm_1.weight").grad.cpu().numpy()).max() > 1e-4
