"""Autoencoders and variational autoencoders (`target = input`, `latent`, sample_normal,
the kl_normal term), `nndsl encode` and `nndsl sample`, and a conditional GAN judged by a
digits classifier trained separately: measured outcomes on scikit-learn's 8x8 digits,
with the parts (encoder, decoder) checked against the weights computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import NNDSLError
from nndsl.cli import main

pytest.importorskip("sklearn")
ROOT = Path(__file__).resolve().parent.parent
GENERATIVE = ROOT / "examples" / "generative"


@pytest.fixture(autouse=True)
def no_curves(monkeypatch) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *args, **kwargs: None)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data, d.target


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


@pytest.fixture(scope="module")
def vae() -> nndsl.Model:
    model = nndsl.compile_file(GENERATIVE / "digits_vae.nn").build(seed=0)
    model.fit(verbose=0, epochs=60)
    return model


@pytest.fixture(scope="module")
def autoencoder() -> nndsl.Model:
    model = nndsl.compile_file(GENERATIVE / "digits_ae.nn").build(seed=0)
    model.fit(verbose=0, epochs=60)
    return model


# ---------------------------------------------------------------- autoencoder


def test_autoencoder_reconstructs_the_test_split(autoencoder: nndsl.Model) -> None:
    """Through 2 numbers: the test split's mean squared error (standardized pixels) is at
    most 0.5, where predicting every pixel's training mean scores 0.88 (the test split's
    variance, computed here)."""
    splits = autoencoder.load_data()
    test = splits.test.x
    assert autoencoder.evaluate()["loss"] <= 0.5
    raw = autoencoder.unscale(test)
    recon = autoencoder.predict(raw)  # raw in, raw out: pixels 0..16
    assert 0 <= np.median(recon) <= 16
    mse = float(np.mean((autoencoder._scale(recon) - test) ** 2))
    assert mse == pytest.approx(autoencoder.evaluate()["loss"], rel=1e-5)
    assert mse < 0.6 * float(np.mean((test - test.mean(axis=0)) ** 2))


def test_encode_is_the_code_layer_computed_by_hand(autoencoder: nndsl.Model) -> None:
    x, _ = _digits()
    codes = autoencoder.encode(x[:50])
    assert codes.shape == (50, 2)
    w = autoencoder.get_weights()
    h = autoencoder._scale(x[:50])
    for name in ("dense_1", "dense_2"):
        h = _relu(h @ w[f"{name}.weight"] + w[f"{name}.bias"])
    expected = h @ w["code.weight"] + w["code.bias"]
    np.testing.assert_allclose(codes, expected, rtol=1e-4, atol=1e-4)


def test_encode_command_matches_columns_by_name(tmp_path: Path, autoencoder) -> None:
    """A CSV of the digits with its columns in another order gives the codes of the
    array in the training order: columns matched by name, not by position."""
    run = tmp_path / "run"
    source = GENERATIVE / "digits_ae.nn"
    assert main(["run", str(source), "--out", str(run), "--epochs", "3", "--quiet"]) == 0
    x, y = _digits()
    names = [f"pixel_{i // 8}_{i % 8}" for i in range(64)]
    order = np.random.default_rng(0).permutation(64)
    lines = [",".join([names[i] for i in order] + ["target"])]
    lines += [",".join([f"{v:g}" for v in row[order]] + [str(t)]) for row, t in zip(x, y)]
    data = tmp_path / "shuffled.csv"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "codes.csv"
    assert main(["encode", str(run), "--data", str(data), "--out", str(out)]) == 0
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert out.read_text().splitlines()[0] == "z1,z2"
    np.testing.assert_allclose(table, nndsl.load(run).encode(x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- variational autoencoder


def test_vae_elbo_beats_a_plain_gaussian_and_reconstructs(vae: nndsl.Model) -> None:
    """With the file's decoder, N(x_hat(z), 0.25 I) on standardized pixels, the negative
    ELBO per test sample is 64 * mse / (2 * 0.25) + KL + 32 * log(2 pi 0.25). A plain
    Gaussian of the same variance around the training mean (no latent code at all) has
    negative log-likelihood 64 * its mse / (2 * 0.25) + the same constant. The VAE's
    bound must be better by a clear margin, and its test reconstruction error at most 0.55."""
    splits = vae.load_data()
    test, train = splits.test.x, splits.train.x
    result = vae.evaluate()
    assert set(result) == {"loss", "image_loss", "kl"}
    const = 32 * math.log(2 * math.pi * 0.25)
    neg_elbo = 64 * result["image_loss"] / 0.5 + result["kl"] + const
    baseline = 64 * float(np.mean((test - train.mean(axis=0)) ** 2)) / 0.5 + const
    assert neg_elbo < baseline - 20, (neg_elbo, baseline)
    assert result["image_loss"] <= 0.55
    assert result["loss"] == pytest.approx(result["image_loss"] + result["kl"] / 128, rel=1e-6)
    assert 0.5 < result["kl"] < 20  # the codes carry information; not collapsed


def test_vae_history_has_the_elbo_parts(vae: nndsl.Model) -> None:
    h = vae.history.history
    assert {"loss", "image_loss", "kl", "val_loss", "val_image_loss", "val_kl"} <= set(h)
    assert h["image_loss"][-1] < h["image_loss"][0]


def test_vae_samples_are_the_decoder_of_seeded_normal_codes(vae: nndsl.Model) -> None:
    a = vae.sample(30, seed=7)
    assert a.shape == (30, 64)
    assert np.array_equal(a, vae.sample(30, seed=7))
    assert not np.array_equal(a, vae.sample(30, seed=8))
    # the decoder by hand, for codes a sample of that size draws: N(0, I)
    w = vae.get_weights()
    z = np.random.default_rng([7, 0x5A3]).standard_normal((30, 2))
    h = _relu(z @ w["dense_1.weight"] + w["dense_1.bias"])
    scaled = h @ w["image.weight"] + w["image.bias"]
    np.testing.assert_allclose(vae._scale(a), scaled, rtol=1e-4, atol=1e-4)
    assert 0 <= np.median(a) <= 16  # in the data's units (pixels 0..16)


def test_vae_encode_is_the_mean_in_evaluation(vae: nndsl.Model) -> None:
    x, _ = _digits()
    w = vae.get_weights()
    h = _relu(vae._scale(x[:20]) @ w["h.weight"] + w["h.bias"])
    np.testing.assert_allclose(
        vae.encode(x[:20]), h @ w["mean.weight"] + w["mean.bias"], rtol=1e-4, atol=1e-4
    )


def test_sample_command_writes_a_picture_grid(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.image

    run = tmp_path / "run"
    source = GENERATIVE / "digits_vae.nn"
    assert main(["run", str(source), "--out", str(run), "--epochs", "2", "--quiet"]) == 0
    png = tmp_path / "grid.png"
    assert main(["sample", str(run), "--n", "16", "--out", str(png)]) == 0
    assert matplotlib.image.imread(png).ndim == 3
    npz = tmp_path / "s.npz"
    assert main(["sample", str(run), "--n", "5", "--seed", "3", "--out", str(npz)]) == 0
    with np.load(npz) as f:
        np.testing.assert_array_equal(f["samples"], nndsl.load(run).sample(5, seed=3))


# ---------------------------------------------------------------- conditional GAN


def test_conditional_gan_draws_the_class_it_is_asked_for() -> None:
    """examples/generative/digits_cgan.nn (trimmed to 40 epochs), judged by digits.nn
    trained on the real digits: samples asked to be class k are labelled k at least 70%
    of the time, over all ten classes."""
    classifier = nndsl.compile_file(ROOT / "examples" / "digits.nn").build(seed=0)
    classifier.fit(verbose=0)
    assert classifier.evaluate()["accuracy"] > 0.95
    gan = nndsl.compile_file(GENERATIVE / "digits_cgan.nn").build(seed=0)
    gan.fit(verbose=0, epochs=40)
    right = [
        float(np.mean(classifier.predict(gan.sample(100, seed=k, classes=k)).argmax(1) == k))
        for k in range(10)
    ]
    assert np.mean(right) >= 0.7, right
    with pytest.raises(NNDSLError, match="say which class"):
        gan.sample(4)


# ---------------------------------------------------------------- mistakes


AE = """
model ae {{
    input(4)
    code = dense(2)
    dense({units})
}}
train ae {{
    data = synthetic("blobs", n=40)
    target = input
    {extra}
    loss = mse
}}
"""


@pytest.mark.parametrize(
    "units, extra, message",
    [
        (3, "", "output 'dense_1' has shape (batch, 3) but the input has (batch, 4)"),
        (4, "latent = cod", "latent: no layer named 'cod'"),
    ],
)
def test_autoencoder_mistakes_are_located(units: int, extra: str, message: str) -> None:
    with pytest.raises(NNDSLError) as e:
        nndsl.compile_string(AE.format(units=units, extra=extra), path="ae.nn")
    assert message in e.value.message
    assert e.value.line is not None


def test_a_plain_autoencoder_has_no_sampler() -> None:
    source = AE.format(units=4, extra="latent = code").replace("input(4)", "input(2)")
    model = nndsl.compile_string(source.replace("dense(4)", "dense(2)")).build(seed=0)
    model.fit(verbose=0, epochs=1)
    assert model.encode(np.zeros((3, 2))).shape == (3, 2)
    with pytest.raises(NNDSLError, match="is not a sample_normal layer"):
        model.sample(3)


def test_sample_command_draws_several_classes(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    source = GENERATIVE / "digits_cgan.nn"
    assert main(["run", str(source), "--out", str(run), "--epochs", "1", "--quiet"]) == 0
    npz = tmp_path / "s.npz"
    assert main(["sample", str(run), "--n", "3", "--class", "2,7", "--out", str(npz)]) == 0
    with np.load(npz) as f:
        assert f["samples"].shape == (6, 64)
        assert list(f["classes"]) == [2, 2, 2, 7, 7, 7]
        model = nndsl.load(run)
        np.testing.assert_array_equal(f["samples"][3:], model.sample(3, seed=0, classes=7))
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "3", "--class", "12", "--out", str(npz)]) == 1
    assert "class 12 is not one of the 10" in capsys.readouterr().err
    assert main(["sample", str(run), "--n", "3", "--class", "seven"]) == 1
    assert "write a class number" in capsys.readouterr().err


def test_exported_generators_and_autoencoders_work_in_the_datas_units(tmp_path: Path) -> None:
    """ONNX export: an autoencoder scales its input and gives back pixels; a conditional
    GAN takes noise and a class (no scaling) and gives pixels; both as predict does."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    x, _ = _digits()
    for name in ("digits_ae", "digits_cgan"):
        run = tmp_path / name
        source = GENERATIVE / f"{name}.nn"
        assert main(["run", str(source), "--out", str(run), "--epochs", "1", "--quiet"]) == 0
        onnx = tmp_path / f"{name}.onnx"
        assert main(["export", str(run), "--to", "onnx", "--out", str(onnx)]) == 0
        session = ort.InferenceSession(str(onnx))
        names = [i.name for i in session.get_inputs()]
        model = nndsl.load(run)
        if name == "digits_ae":
            feed, want = {names[0]: x[:6].astype(np.float32)}, model.predict(x[:6])
        else:
            z = np.random.default_rng(0).standard_normal((6, 32)).astype(np.float32)
            label = np.full((6, 1), 7, np.float32)
            feed, want = {names[0]: z, names[1]: label}, model.predict([z, label])
        got = session.run(None, feed)[0]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        assert 0 <= np.median(got) <= 16 or name == "digits_cgan"


# ---------------------------------------------------------------- a user's own files


def _digit_files(folder: Path) -> None:
    x, y = _digits()
    names = [f"pixel_{i // 8}_{i % 8}" for i in range(64)]
    rows = [",".join(f"{v:g}" for v in r) for r in x]
    (folder / "nolabel.csv").write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    labelled = [f"{r},{t}" for r, t in zip(rows, y)]
    (folder / "digits.csv").write_text(",".join([*names, "digit"]) + "\n" + "\n".join(labelled))
    np.savez(folder / "x_only.npz", x=x)


@pytest.mark.parametrize(
    "data", ['csv("nolabel.csv")', 'csv("digits.csv", target="digit")', 'npz("x_only.npz")']
)
def test_an_autoencoder_trains_on_files_without_targets(tmp_path: Path, data: str, capsys):
    """No target column needed (a class column, named, is left out of the inputs);
    evaluate and encode take new files with or without the class column."""
    _digit_files(tmp_path)
    source = (GENERATIVE / "digits_ae.nn").read_text()
    (tmp_path / "ae.nn").write_text(source.replace('dataset("digits", standardize=true)', data))
    run = tmp_path / "run"
    assert (
        main(["run", str(tmp_path / "ae.nn"), "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    )
    capsys.readouterr()
    for new in ("nolabel.csv", "digits.csv") if "csv" in data else ("x_only.npz",):
        assert main(["evaluate", str(run), "--data", str(tmp_path / new)]) == 0
        assert "loss" in capsys.readouterr().out
    model = nndsl.load(run)
    x, _ = _digits()
    want = float(np.mean((model.predict(x) - x) ** 2))  # no scaling in these files
    assert model.evaluate(x)["loss"] == pytest.approx(want, rel=1e-5)
    if "csv" in data and has_matplotlib():
        plot = tmp_path / "latent.png"
        args = ["encode", str(run), "--data", str(tmp_path / "nolabel.csv"), "--plot", str(plot)]
        assert main([*args, "--out", str(tmp_path / "c.csv")]) == 0
        assert plot.stat().st_size > 1000


def has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def test_commands_say_what_a_model_is_not(tmp_path: Path, capsys) -> None:
    run = tmp_path / "xor"
    assert (
        main(
            [
                "run",
                str(ROOT / "examples" / "xor.nn"),
                "--epochs",
                "1",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["sample", str(run), "--out", str(tmp_path / "s.npz")]) == 1
    assert "neither an autoencoder nor a GAN" in capsys.readouterr().err
    assert main(["sample", str(ROOT / "examples" / "xor.nn")]) == 1
    assert "not a trained model" in capsys.readouterr().err
    assert main(["encode", str(run), "--data", str(tmp_path / "none.csv")]) == 1
    assert "no such data file" in capsys.readouterr().err
    assert main(["sample", str(run), "--out", str(tmp_path / "s.jpg")]) == 1
    assert "write a .png or .npz file" in capsys.readouterr().err


def test_gan_settings_need_a_discriminator_and_a_one_number_class() -> None:
    source = (GENERATIVE / "digits_ae.nn").read_text().replace("seed       = 0", "d_steps = 2")
    with pytest.raises(NNDSLError, match="'d_steps' is a GAN's setting"):
        nndsl.compile_string(source, path="ae.nn")
    wide = (
        (GENERATIVE / "digits_cgan.nn").read_text().replace("digit = input(1)", "digit = input(2)")
    )
    with pytest.raises(NNDSLError, match="a class is one number per sample") as e:
        nndsl.compile_string(wide, path="cgan.nn")
    assert e.value.line is not None


def test_conditional_sampling_checks_the_classes() -> None:
    gan = nndsl.compile_file(GENERATIVE / "digits_cgan.nn").build(seed=0)
    assert gan.sample(2, classes=[1, 2]).shape == (2, 64)
    for bad in ([1, 2, 3], "3", [[1], [2]]):
        with pytest.raises(NNDSLError, match="one class number"):
            gan.sample(2, classes=bad)
    with pytest.raises(NNDSLError, match="class 10 is not one of the 10"):
        gan.sample(2, classes=10)


def test_lr_find_on_an_autoencoder_uses_its_inputs_as_targets(tmp_path: Path, capsys) -> None:
    out = tmp_path / "lr.png"
    args = ["lr-find", str(GENERATIVE / "digits_vae.nn"), "--steps", "12", "--out", str(out)]
    assert main(args) == 0
    assert "suggest" in capsys.readouterr().out.lower()
