"""GANs declared in a .nn file (nndsl.train.adversarial): the declared losses against
torch's binary cross-entropy and finite differences; the Wasserstein critic's gradient
penalty (NumPy: central differences of two more passes) against torch's double
backward; both backends training alike; the eight-Gaussian ring learnt with every mode
covered, and mode collapse detected when the discriminator never trains; checkpoint,
resume and the NaN stop for a run of two models; the file's mistakes, located."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import NNDSLError
from nndsl.backends.numpy.engine import NumpyEngine
from nndsl.cli import main
from nndsl.data.modes import mode_coverage
from nndsl.data.synthetic import ring_centers
from nndsl.ir.adversarial import GAN_LOSSES, discriminator_loss, generator_loss
from nndsl.train.adversarial import Adversarial
from nndsl.weights import load_weights

torch = pytest.importorskip("torch")
F = torch.nn.functional

GAN = """
model generator {{
    noise = input(2)
    dense(64, activation=relu)
    dense(64, activation=relu)
    dense(2)
}}
model critic {{
    input(2)
    dense(64, activation={hidden})
    dense(64, activation={hidden})
    dense(1{act})
}}
train generator {{
    discriminator = critic
    data = synthetic("ring", n={n}, noise=0.05, classes=8)
    gan_loss = {loss}
    optimizer = adam(lr={lr}, betas=[0.5, 0.999])
    d_steps = {d_steps}
    batch_size = 64
    epochs = {epochs}
    checkpoint_every = {every}
    seed = {seed}
}}
"""


def gan_source(
    loss: str = "non_saturating",
    d_steps: int = 1,
    epochs: int = 3,
    n: int = 512,
    lr: float = 1e-3,
    every: int = 0,
    seed: int = 0,
    hidden: str | None = None,
) -> str:
    critic = loss.startswith("wasserstein")
    act = "" if critic else ", activation=sigmoid"
    hidden = hidden or ("silu" if critic else "leaky_relu")  # a smooth critic
    return GAN.format(
        hidden=hidden,
        act=act,
        loss=loss,
        d_steps=d_steps,
        epochs=epochs,
        n=n,
        lr=lr,
        every=every,
        seed=seed,
    )


# ---------------------------------------------------------------- the declared losses


def _logits(seed: int, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 3, (n, 1)), rng.normal(0, 3, (n, 1))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_discriminator_loss_is_torchs_binary_crossentropy(smoothing: float) -> None:
    real, fake = _logits(0)
    P = NumpyEngine  # noqa: F841  (the engine's plain primitives below)
    engine = nndsl.compile_string(gan_source()).build(seed=0, dtype="float64").engine.d
    value, _ = engine.differentiate(
        lambda P, v: discriminator_loss("non_saturating")(
            P, v[0], v[1], {"label_smoothing": smoothing}
        ),
        [real, fake],
    )
    tr, tf = torch.tensor(real), torch.tensor(fake)
    expected = F.binary_cross_entropy_with_logits(
        tr, torch.full_like(tr, 1 - smoothing)
    ) + F.binary_cross_entropy_with_logits(tf, torch.zeros_like(tf))
    assert value == pytest.approx(float(expected), rel=1e-12)


def test_generator_losses_are_their_formulas_and_finite_differences_agree() -> None:
    real, fake = _logits(1)
    engine = nndsl.compile_string(gan_source()).build(seed=0, dtype="float64").engine.d
    p = 1 / (1 + np.exp(-fake))
    formulas = {
        "non_saturating": -np.mean(np.log(p)),
        "minimax": np.mean(np.log(1 - p)),
        "wasserstein": -np.mean(fake),
    }
    for name, expected in formulas.items():
        args = {q.name: q.default for q in GAN_LOSSES[name].params}

        def fn(P, v, name=name, args=args):
            return generator_loss(name)(P, v[0], args)

        value, (grad,) = engine.differentiate(fn, [fake])
        assert value == pytest.approx(expected, rel=1e-10), name
        h = 1e-6
        for i in (0, 5, 11):
            bumped = fake.copy()
            bumped[i] += h
            up = engine.differentiate(fn, [bumped])[0]
            bumped[i] -= 2 * h
            down = engine.differentiate(fn, [bumped])[0]
            assert grad[i, 0] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_losses_are_stable_at_extreme_logits() -> None:
    engine = nndsl.compile_string(gan_source()).build(seed=0).engine.d
    huge = np.array([[1000.0], [-1000.0]], dtype=np.float32)
    for name in ("non_saturating", "minimax"):
        d, (gr, gf) = engine.differentiate(
            lambda P, v, name=name: discriminator_loss(name)(P, v[0], v[1], {}), [huge, -huge]
        )
        assert np.isfinite(d) and np.all(np.isfinite(gr)) and np.all(np.isfinite(gf))


# ---------------------------------------------------------------- gradient penalty


def _critic_pair(dtype: str) -> tuple[Adversarial, Adversarial]:
    program = nndsl.compile_string(gan_source("wasserstein(gradient_penalty=10)"))
    a = program.build(backend="numpy", seed=3, dtype=dtype).engine
    b = program.build(backend="torch", seed=3, dtype=dtype, device="cpu").engine
    return a, b


def test_gradient_penalty_gradient_equals_torchs_double_backward() -> None:
    """The NumPy engine's penalty gradient (central differences along the input gradient)
    against torch's exact second derivative, same weights, float64, a SiLU critic."""
    a, b = _critic_pair("float64")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, (32, 2))
    a.d.grads[...] = 0
    value_np = a.d.add_gradient_penalty([x], 10.0)
    for p in b.d.params:
        p.grad = torch.zeros_like(p)
    value_t = float(b.d.add_gradient_penalty([torch.tensor(x)], 10.0))
    assert value_np == pytest.approx(value_t, rel=1e-10)
    torch_grads = {k: p.grad.numpy() for k, p in b.d.net.named_parameters()}
    for key, g in a.d.grad_views.items():
        np.testing.assert_allclose(g, torch_grads[key], rtol=1e-5, atol=1e-8, err_msg=key)
    assert max(np.abs(g).max() for g in a.d.grad_views.values()) > 1e-3  # not all zero


def test_gradient_penalty_in_float32_is_close_to_exact() -> None:
    a, b = _critic_pair("float32")
    x = np.random.default_rng(1).normal(0, 1.5, (64, 2)).astype(np.float32)
    a.d.grads[...] = 0
    a.d.add_gradient_penalty([x], 10.0)
    for p in b.d.params:
        p.grad = torch.zeros_like(p)
    b.d.add_gradient_penalty([torch.tensor(x)], 10.0)
    exact = np.concatenate([p.grad.numpy().ravel() for _, p in b.d.net.named_parameters()])
    ours = np.concatenate([a.d.grad_views[k].ravel() for k, _ in b.d.net.named_parameters()])
    assert np.linalg.norm(ours - exact) <= 2e-3 * np.linalg.norm(exact)


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "wasserstein(gradient_penalty=1)"])
def test_both_backends_train_a_gan_alike(loss: str) -> None:
    program = nndsl.compile_string(gan_source(loss, d_steps=2, epochs=2, n=256))
    a = program.build(backend="numpy", seed=5, dtype="float64")
    b = program.build(backend="torch", seed=5, dtype="float64", device="cpu")
    ha = a.fit(verbose=0).history
    hb = b.fit(verbose=0).history
    assert ha.keys() == hb.keys()
    for k in ha:
        np.testing.assert_allclose(ha[k], hb[k], rtol=1e-5, atol=1e-7, err_msg=k)
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys() and any(k.startswith("critic.") for k in wa)
    for k in wa:
        np.testing.assert_allclose(wa[k], wb[k], rtol=1e-5, atol=1e-7, err_msg=k)


def test_the_ring_gan_covers_every_mode_and_the_ablation_collapses() -> None:
    """The classic benchmark: 8 Gaussians (std 0.05) on a circle of radius 2. Trained
    adversarially, 2,000 samples put >= 5% in each of the 8 modes and >= 80% within 3
    standard deviations of one; with d_steps = 0 (the discriminator never trains) the
    generator chases a fixed critic and the same measure finds the collapse."""
    centers = ring_centers(8)
    program = nndsl.compile_string(gan_source(epochs=60, n=2000, lr=2e-3))
    model = program.build(seed=0)
    history = model.fit(verbose=0).history
    assert set(history) >= {"d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"}
    found = mode_coverage(model.sample(2000, seed=1), centers, 0.05)
    assert found.covered == 8, str(found)
    assert found.high_quality >= 0.8, str(found)
    ablation = nndsl.compile_string(gan_source(d_steps=0, epochs=60, n=2000, lr=2e-3))
    collapsed = ablation.build(seed=0)
    collapsed.fit(verbose=0)
    lost = mode_coverage(collapsed.sample(2000, seed=1), centers, 0.05)
    assert lost.covered < 8 or lost.high_quality < 0.8, str(lost)


def test_sampling_is_deterministic_for_a_seed() -> None:
    model = nndsl.compile_string(gan_source(epochs=1)).build(seed=0)
    model.fit(verbose=0)
    assert np.array_equal(model.sample(50, seed=4), model.sample(50, seed=4))
    assert not np.array_equal(model.sample(50, seed=4), model.sample(50, seed=5))


# ---------------------------------------------------------------- runs of two models


def _write(folder: Path, **kw) -> Path:
    path = folder / "gan.nn"
    path.write_text(gan_source(**kw))
    return path


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


def _same_weights(a: Path, b: Path) -> None:
    wa, _ = load_weights(a / "weights.npz")
    wb, _ = load_weights(b / "weights.npz")
    assert wa.keys() == wb.keys() and any(k.startswith("critic.") for k in wa)
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k


def test_an_interrupted_gan_run_resumes_bit_identical(tmp_path: Path, monkeypatch) -> None:
    source = _write(tmp_path, epochs=5, every=1, n=256)
    reference, run = tmp_path / "reference", tmp_path / "run"
    assert main(["run", str(source), "--out", str(reference), "--quiet"]) == 0
    real = Adversarial.train_epoch
    calls = {"n": 0}

    def train_epoch(self, data, order, batch_size, on_batch=None):
        calls["n"] += 1
        if calls["n"] == 3:

            def stop(b: int) -> None:
                if b == 1:
                    raise KeyboardInterrupt

            return real(self, data, order, batch_size, stop)
        return real(self, data, order, batch_size, on_batch)

    with monkeypatch.context() as patch:
        patch.setattr(Adversarial, "train_epoch", train_epoch)
        assert main(["run", str(source), "--out", str(run), "--quiet"]) == 130
    assert (run / "checkpoint.npz").is_file()
    assert main(["run", "--resume", str(run), "--quiet"]) == 0
    _same_weights(run, reference)
    assert (run / "history.csv").read_text() == (reference / "history.csv").read_text()


def test_a_nan_in_a_gan_run_keeps_the_last_good_epoch(tmp_path: Path, monkeypatch, capsys) -> None:
    source = _write(tmp_path, epochs=5, n=256)
    run, two = tmp_path / "run", tmp_path / "two"
    real = Adversarial.train_epoch
    calls = {"n": 0}

    def train_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            self.d.lr = 3e38  # the discriminator's step overflows
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Adversarial, "train_epoch", train_epoch)
        assert main(["run", str(source), "--out", str(run), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"the loss became (nan|inf) at epoch 3", err), err
    assert main(["run", str(source), "--out", str(two), "--epochs", "2", "--quiet"]) == 0
    _same_weights(run, two)


def test_sample_command_writes_npz_and_a_scatter(tmp_path: Path) -> None:
    source = _write(tmp_path, epochs=1, n=256)
    run = tmp_path / "run"
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 0
    out = tmp_path / "s.npz"
    assert main(["sample", str(run), "--n", "40", "--seed", "2", "--out", str(out)]) == 0
    with np.load(out) as f:
        samples = f["samples"]
    assert samples.shape == (40, 2)
    model = nndsl.load(run)
    np.testing.assert_array_equal(samples, model.sample(40, seed=2))
    pytest.importorskip("matplotlib")
    png = tmp_path / "s.png"
    assert main(["sample", str(run), "--n", "100", "--out", str(png)]) == 0
    assert png.stat().st_size > 1000


# ---------------------------------------------------------------- mistakes, located


@pytest.mark.parametrize(
    "change, message",
    [
        (("discriminator = critic", "discriminator = critc"), "no model named 'critc'"),
        (("discriminator = critic", "discriminator = generator"), "a model of its own"),
        (
            (
                "input(2)\n    dense(64, activation=leaky",
                "input(3)\n    dense(64, activation=leaky",
            ),
            "makes samples of shape (batch, 2)",
        ),
        (("gan_loss = non_saturating", "gan_loss = wasserstein"), "to end in linear"),
        (("d_steps = 1", "d_steps = 1\n    loss = mse"), "does not take 'loss'"),
        (
            ("d_steps = 1", "d_steps = 1\n    early_stop = (monitor=val_loss)"),
            "monitors 'val_loss'",
        ),
        (("dense(1, activation=sigmoid)", "dense(2, activation=sigmoid)"), "one number"),
    ],
)
def test_gan_mistakes_are_located(change: tuple[str, str], message: str) -> None:
    source = gan_source().replace(*change)
    with pytest.raises(NNDSLError) as e:
        nndsl.compile_string(source, path="gan.nn")
    assert message in e.value.message, e.value.message
    assert e.value.line is not None


def test_numpy_refuses_a_gradient_penalty_on_a_kinked_critic() -> None:
    """Differences of gradients across relu's kink are spikes of size 1/h: refused, with
    what to do instead; torch's double backward takes the same critic."""
    source = gan_source("wasserstein", hidden="leaky_relu")
    program = nndsl.compile_string(source)
    with pytest.raises(NNDSLError) as e:
        program.build(backend="numpy")
    assert "no kink" in e.value.message and "leaky_relu" in e.value.message
    assert "--backend torch" in e.value.hint
    program.build(backend="torch", device="cpu")
    nndsl.compile_string(gan_source("wasserstein(gradient_penalty=0)", hidden="relu")).build()


def test_early_stopping_restores_both_models_of_the_best_epoch() -> None:
    """early_stop watches a GAN column; restore_best puts back both models' weights of
    the best epoch: those of a run stopped there."""
    source = gan_source(epochs=12, n=256).replace(
        "d_steps = 1",
        "d_steps = 1\n    early_stop = (monitor=d_fake_accuracy, patience=2, restore_best=true)",
    )
    model = nndsl.compile_string(source).build(seed=0)
    history = model.fit(verbose=0)
    acc = history.history["d_fake_accuracy"]
    best = int(np.argmax(acc))
    assert len(acc) < 12 and len(acc) == best + 3  # stopped after 2 epochs without gain
    again = nndsl.compile_string(source).build(seed=0)
    again.fit(verbose=0, epochs=best + 1)
    wa, wb = model.get_weights(), again.get_weights()
    assert any(k.startswith("critic.") for k in wa)
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k


def test_predict_command_refuses_a_gan(tmp_path: Path, capsys) -> None:
    source = _write(tmp_path, epochs=1, n=64)
    run = tmp_path / "run"
    assert main(["run", str(source), "--out", str(run), "--quiet"]) == 0
    data = tmp_path / "points.csv"
    data.write_text("x1,x2\n0,1\n")
    capsys.readouterr()
    assert main(["predict", str(run), "--data", str(data)]) == 1
    assert "nndsl sample" in capsys.readouterr().err


def test_summary_shows_both_models_of_a_gan(tmp_path: Path, capsys) -> None:
    source = _write(tmp_path)
    assert main(["summary", str(source)]) == 0
    out = capsys.readouterr().out
    assert 'Model: "generator"' in out and 'Model: "critic"' in out
    assert "trained as a GAN against 'critic'" in out


def test_a_gan_sweep_says_what_ranks_its_trials(tmp_path: Path, capsys) -> None:
    source = tmp_path / "sweep.nn"
    source.write_text(gan_source(epochs=1, n=64).replace("d_steps = 1", "d_steps = [1, 2]"))
    assert main(["run", str(source), "--out", str(tmp_path / "s"), "--quiet"]) == 1
    assert "no one loss to rank" in capsys.readouterr().err
    ranked = gan_source(epochs=1, n=64).replace(
        "d_steps = 1", "d_steps = [1, 2]\n    early_stop = (monitor=d_loss, mode=max, patience=9)"
    )
    source.write_text(ranked)
    assert main(["run", str(source), "--out", str(tmp_path / "s"), "--quiet"]) == 0
    rows = (tmp_path / "s" / "sweep.csv").read_text().splitlines()
    assert len(rows) == 3 and "nan" not in rows[1]
