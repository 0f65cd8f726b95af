"""sample_normal, a variational autoencoder's reparameterization trick: in training
mean + exp(log_var / 2) * eps with eps ~ N(0, 1) from the layer's generator (`P.normal`),
elsewhere mean itself. Its gradients against central differences with the noise held
fixed (float64, the kl_normal term included), the two backends against each other given
one noise array, the draws' statistics, evaluation, seeds, and the compiler's refusals.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import nndsl
from nndsl.backends.numpy import autodiff
from nndsl.ir.primitives import CONTEXT

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
BACKENDS = ["numpy", pytest.param("torch", marks=needs_torch)]

VAE = """
model vae {
    input(5)
    h = dense(4, activation=tanh)
    mean = dense(2, from=h)
    log_var = dense(2, from=h)
    z = sample_normal(mean, log_var)
    dense(4, activation=tanh)
    dense(5, activation=sigmoid)
}
train vae {
    loss = binary_crossentropy
    terms = (kl = 0.7 * kl_normal(mean, log_var))
    dtype = float64
}
"""

# the latent alone: the output is z, mean and log_var read the input directly
LATENT = """
model latent {
    x = input(3)
    mean = dense(2, from=x)
    log_var = dense(2, from=x)
    sample_normal(mean, log_var%s)
}
train latent { loss = mse  dtype = float64 }
"""


def build(source: str, backend: str = "numpy", seed: int = 0, dtype: str = "float64"):
    kwargs = {"device": "cpu"} if backend == "torch" else {}
    return nndsl.compile_string(source).build(backend=backend, seed=seed, dtype=dtype, **kwargs)


def random_weights(model, rng: np.random.Generator, scale: float = 0.7) -> dict:
    weights = {k: rng.normal(scale=scale, size=v.shape) for k, v in model.get_weights().items()}
    model.set_weights(weights)
    return weights


def train_output(model, x: np.ndarray) -> np.ndarray:
    """The output of one training pass (the noise drawn), as a step of fit computes it."""
    engine = model.engine
    engine.set_mode(True)
    data = engine.prepare(x, np.zeros((len(x), *model.graph.output.shape)))
    out = engine.train_forward(data.xs, data.y, len(x))[2]
    return out.cpu().numpy() if hasattr(out, "cpu") else np.array(out)


def latent_parts(weights: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x @ weights["mean.weight"] + weights["mean.bias"]
    log_var = x @ weights["log_var.weight"] + weights["log_var.bias"]
    return mean, log_var


# ---------------------------------------------------------------- the primitive


def test_normal_is_in_the_pass_context_of_every_P():
    assert "normal" in CONTEXT and "random" in CONTEXT
    for dtype in ("float32", "float64"):
        x = np.zeros((4, 3), dtype)
        rng = np.random.default_rng(7)
        P = autodiff.Primitives(rng=rng)
        want = np.random.default_rng(7).standard_normal((4, 3), dtype=np.dtype(dtype))
        got = P.normal(P.tape.leaf(x))  # a Var: its value's shape and dtype
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)
        # the same generator as random: a uniform draw after it continues its stream
        np.testing.assert_array_equal(P.random(x), _after_normal(dtype))
    plain = autodiff.plain_primitives()
    a, b = plain.normal(np.zeros((2, 3))), plain.normal(np.zeros((2, 3)))
    assert a.shape == (2, 3) and a.dtype == np.float64 and not np.array_equal(a, b)


def _after_normal(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    rng.standard_normal((4, 3), dtype=np.dtype(dtype))
    return rng.random((4, 3), dtype=np.dtype(dtype))


@needs_torch
def test_torch_normal_draws_from_the_module_generator():
    import torch

    from nndsl.backends.torch.primitives import Composed, P

    graph = build(LATENT % "").graph
    module = Composed(next(n for n in graph.nodes if n.op == "sample_normal"))
    module.generator = torch.Generator().manual_seed(11)
    x = torch.zeros(3, 4, dtype=torch.float64)
    got = module.P.normal(x)
    want = torch.randn((3, 4), generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    assert got.dtype == torch.float64 and torch.equal(got, want)
    assert P.normal(x).shape == (3, 4)  # the module-level P: torch's default generator


# ---------------------------------------------------------------- what it computes


def test_a_training_pass_draws_mean_plus_scaled_noise_from_the_engine_generator():
    model = build(LATENT % "")
    weights = random_weights(model, np.random.default_rng(1))
    x = np.random.default_rng(2).normal(size=(6, 3))
    noise = np.random.default_rng()
    noise.bit_generator.state = model.engine.rng.bit_generator.state
    eps = noise.standard_normal((6, 2))
    mean, log_var = latent_parts(weights, x)
    got = train_output(model, x)
    np.testing.assert_allclose(got, mean + np.exp(log_var / 2) * eps, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluation_and_prediction_give_the_mean_exactly(backend: str):
    model = build(LATENT % "", backend)
    weights = random_weights(model, np.random.default_rng(3))
    x = np.random.default_rng(4).normal(size=(7, 3))
    mean, _ = latent_parts(weights, x)
    first = model.predict(x)
    np.testing.assert_allclose(first, mean, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(model.predict(x), first)  # nothing drawn
    np.testing.assert_array_equal(model.engine.logits(x), first)
    # the value of the mean layer itself: evaluation is the identity on it
    mean_only = build(
        "model latent {\n x = input(3)\n log_var = dense(2, from=x)\n mean = dense(2, from=x)\n}"
        "\ntrain latent { loss = mse  dtype = float64 }",
        backend,
    )
    mean_only.set_weights(weights)
    np.testing.assert_array_equal(mean_only.predict(x), first)
    assert not np.allclose(train_output(model, x), first)  # training does draw


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_in_eval_draws_in_evaluation_too(backend: str):
    model = build(LATENT % ", sample_in_eval=true", backend)
    weights = random_weights(model, np.random.default_rng(5))
    x = np.random.default_rng(6).normal(size=(50, 3))
    mean, log_var = latent_parts(weights, x)
    a, b = model.predict(x), model.predict(x)
    assert not np.allclose(a, mean) and not np.allclose(a, b)
    # the draws are N(mean, exp(log_var)): standardized, about N(0, 1)
    eps = np.concatenate([(a - mean), (b - mean)]) / np.exp(np.concatenate([log_var] * 2) / 2)
    assert abs(eps.mean()) < 5 / np.sqrt(eps.size)
    assert abs(eps.var() - 1) < 5 * np.sqrt(2 / eps.size)


@pytest.mark.parametrize("backend", BACKENDS)
def test_draws_have_the_mean_and_variance_asked_for(backend: str):
    m, v = np.array([1.5, -0.5, 0.0]), np.array([-1.0, 0.0, 1.2])
    source = f"""
model latent {{
    x = input(1)
    mean = dense(3, from=x, weights=[[0.0, 0.0, 0.0]], bias={m.tolist()})
    log_var = dense(3, from=x, weights=[[0.0, 0.0, 0.0]], bias={v.tolist()})
    sample_normal(mean, log_var)
}}
train latent {{ loss = mse  dtype = float64 }}
"""
    model = build(source, backend)
    n = 20_000
    z = train_output(model, np.zeros((n, 1)))
    assert z.shape == (n, 3)
    var = np.exp(v)
    assert np.all(np.abs(z.mean(axis=0) - m) < 5 * np.sqrt(var / n))
    # the sample variance's standard error, for normal draws: var * sqrt(2 / (n - 1))
    assert np.all(np.abs(z.var(axis=0, ddof=1) - var) < 5 * var * np.sqrt(2 / (n - 1)))
    np.testing.assert_array_equal(model.predict(np.zeros((4, 1))), np.tile(m, (4, 1)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_draws_are_deterministic_for_a_seed(backend: str):
    x = np.random.default_rng(8).normal(size=(5, 3))
    outs = []
    for seed in (3, 3, 4):
        model = build(LATENT % "", backend, seed=seed)
        random_weights(model, np.random.default_rng(9))  # the same weights for every seed
        outs.append(train_output(model, x))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], outs[2])


# ---------------------------------------------------------------- gradients

EPS = 1e-6


def _fixed_noise_loss(model, x, y):
    """loss_and_grads of a training pass, the generator reset first: the same noise for
    every evaluation."""
    engine = model.engine
    state = engine.rng.bit_generator.state

    def loss_at(weights=None):
        if weights is not None:
            engine.set_weights(weights)
        engine.rng.bit_generator.state = state
        return engine.loss_and_grads(x, y, training=True)

    return loss_at


def test_gradients_through_a_training_pass_match_finite_differences():
    model = build(VAE)
    w0 = random_weights(model, np.random.default_rng(10))
    rng = np.random.default_rng(11)
    x = rng.uniform(0.05, 0.95, size=(6, 5))
    loss_at = _fixed_noise_loss(model, x, x)
    loss, grads = loss_at()
    again, _ = loss_at()
    assert loss == again  # the noise is held fixed
    eval_loss, _ = model.engine.loss_and_grads(x, x, training=False)
    assert abs(loss - eval_loss) > 1e-6  # the noise is really drawn
    for key in ("h.weight", "h.bias", "mean.weight", "mean.bias", "log_var.weight", "log_var.bias"):
        numeric = np.zeros_like(w0[key])
        for idx in np.ndindex(numeric.shape):
            shifted = {k: v.copy() for k, v in w0.items()}
            shifted[key][idx] += EPS
            up, _ = loss_at(shifted)
            shifted[key][idx] -= 2 * EPS
            down, _ = loss_at(shifted)
            numeric[idx] = (up - down) / (2 * EPS)
        scale = max(np.linalg.norm(numeric), np.linalg.norm(grads[key]))
        assert scale > 0, key
        assert np.linalg.norm(grads[key] - numeric) / scale < 1e-6, key
    model.set_weights(w0)


def test_log_var_gets_its_gradient_through_the_sample_in_training():
    """Without the KL term, log_var's weights learn from the reconstruction only through
    the sample: in training, not in evaluation (where an earlier pass's gradients must
    not linger either)."""
    source = VAE.replace("terms = (kl = 0.7 * kl_normal(mean, log_var))", "")
    model = build(source)
    random_weights(model, np.random.default_rng(12))
    x = np.random.default_rng(13).uniform(0.05, 0.95, size=(6, 5))
    _, trained = model.engine.loss_and_grads(x, x, training=True)
    assert np.abs(trained["log_var.weight"]).max() > 1e-6
    _, evaluated = model.engine.loss_and_grads(x, x, training=False)
    np.testing.assert_array_equal(evaluated["log_var.weight"], 0)
    np.testing.assert_array_equal(evaluated["log_var.bias"], 0)
    assert np.abs(evaluated["mean.weight"]).max() > 1e-6


# ---------------------------------------------------------------- the two backends


@needs_torch
def test_numpy_and_torch_agree_given_the_same_noise(monkeypatch):
    import torch

    from nndsl.backends.torch import primitives as torch_primitives

    x = np.random.default_rng(14).uniform(0.05, 0.95, size=(6, 5))
    eps = np.random.default_rng(15).standard_normal((6, 2))
    monkeypatch.setattr(autodiff.Primitives, "normal", lambda self, v: eps.copy())
    monkeypatch.setattr(
        torch_primitives._Pass,
        "normal",
        lambda self, v: torch.as_tensor(eps, dtype=v.dtype, device=v.device),
    )
    ref, got = build(VAE, "numpy"), build(VAE, "torch")
    weights = random_weights(ref, np.random.default_rng(16))
    got.set_weights(weights)

    np.testing.assert_allclose(got.predict(x), ref.predict(x), rtol=1e-12, atol=1e-12)
    for training in (False, True):
        loss, grads = got.engine.loss_and_grads(x, x, training=training)
        ref_loss, ref_grads = ref.engine.loss_and_grads(x, x, training=training)
        assert loss == pytest.approx(ref_loss, rel=1e-12), training
        assert grads.keys() == ref_grads.keys()
        for key, g in ref_grads.items():
            np.testing.assert_allclose(grads[key], g, rtol=1e-10, atol=1e-12, err_msg=key)
    # the patched noise is what training used: z = mean + exp(log_var / 2) * eps
    latent = build(LATENT % "", "numpy"), build(LATENT % "", "torch")
    w = random_weights(latent[0], np.random.default_rng(17))
    latent[1].set_weights(w)
    xl = np.random.default_rng(18).normal(size=(6, 3))
    mean, log_var = latent_parts(w, xl)
    for model in latent:
        np.testing.assert_allclose(
            train_output(model, xl), mean + np.exp(log_var / 2) * eps, rtol=1e-12, atol=1e-12
        )
        np.testing.assert_allclose(model.predict(xl), mean, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the compiler's refusals


def _error(call: str) -> nndsl.NNDSLError:
    source = VAE.replace("sample_normal(mean, log_var)", call)
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(source)
    e = info.value
    assert e.line == 7 and e.column is not None, (e.line, e.column)
    return e


def test_it_reads_exactly_the_two_layers_it_names():
    graph = build(VAE).graph
    node = next(n for n in graph.nodes if n.op == "sample_normal")
    assert list(node.inputs) == ["mean", "log_var"]
    assert node.shape == (2,) and node.weights == []
    assert node.attrs == {"sample_in_eval": False}


@pytest.mark.parametrize(
    "call, got",
    [("sample_normal(mean)", "got 1 name"), ("sample_normal(mean, log_var, h)", "got 3 names")],
)
def test_one_or_three_names_are_refused(call: str, got: str):
    e = _error(call)
    assert "exactly two named layers" in str(e) and got in str(e)
    assert e.column == 9  # the call


def test_from_is_refused_too():
    e = _error("sample_normal(log_var, from=mean)")
    assert "exactly two named layers" in str(e)


def test_an_unknown_name_is_refused_with_a_hint():
    e = _error("sample_normal(mean, log_vr)")
    assert "log_vr" in str(e) and "did you mean 'log_var'" in str(e)
    assert e.column == 29  # the name


def test_different_shapes_are_refused_naming_both():
    e = _error("sample_normal(mean, h)")
    assert "same shape" in str(e)
    assert "(batch, 2)" in str(e) and "(batch, 4)" in str(e)
