"""Class and sample weights against Keras 3 (its torch backend): the same model, weights
and data give the same weighted loss per batch, the same epoch history under fit's
class_weight / sample_weight and the same weights after it, on both backends; the
gradient of a weighted loss by finite differences; `balanced` as scikit-learn's; the
validation rule (class weights weigh training alone, a weight column every split); a
95/5 CSV trained with balanced weights finds more of its minority class; located errors
for bad settings and bad weight cells."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
keras = pytest.importorskip("keras")

import nndsl  # noqa: E402
from nndsl.cli import main  # noqa: E402

BACKENDS = [
    "numpy",
    pytest.param(
        "torch",
        marks=pytest.mark.skipif(
            not __import__("importlib").util.find_spec("torch"), reason="torch not installed"
        ),
    ),
]

# (output layer, loss, Keras' loss, how targets are drawn)
HEADS = {
    "binary": ("dense(1, activation=sigmoid)", "binary_crossentropy"),
    "labels": ("dense(3, activation=softmax)", "sparse_categorical_crossentropy"),
    "one_hot": ("dense(3, activation=softmax)", "categorical_crossentropy"),
    "values": ("dense(2)", "mse"),
}


def source(head: str, extra: str = "", batch_size: int = 8) -> str:
    layer, loss = HEADS[head]
    return f"""
model m {{
    input(4)
    h = dense(6, activation=tanh)
    out = {layer}
}}
train m {{
    loss       = {loss}
    optimizer  = sgd(lr=0.1)
    batch_size = {batch_size}
    epochs     = 3
    shuffle    = false
    {extra}
}}
"""


def data(head: str, n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    if head == "binary":
        return x, (rng.random(n) < 0.3).astype("float32")[:, None]
    if head == "values":
        return x, rng.normal(size=(n, 2)).astype("float32")
    labels = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    return x, (np.eye(3, dtype="float32")[labels] if head == "one_hot" else labels)


def keras_twin(ours, head: str) -> keras.Model:
    layer, loss = HEADS[head]
    units = ours.graph["out"].shape[-1]
    act = {"binary": "sigmoid", "values": None}.get(head, "softmax")
    inp = keras.Input((4,))
    h = keras.layers.Dense(6, activation="tanh", name="h")(inp)
    out = keras.layers.Dense(units, activation=act, name="out")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss)
    w = ours.get_weights()
    for name in ("h", "out"):
        model.get_layer(name).set_weights([w[f"{name}.weight"], w[f"{name}.bias"]])
    return model


def keras_loss(head: str, y, probs, weights) -> float:
    fn = {
        "binary": keras.losses.BinaryCrossentropy(),
        "labels": keras.losses.SparseCategoricalCrossentropy(),
        "one_hot": keras.losses.CategoricalCrossentropy(),
        "values": keras.losses.MeanSquaredError(),
    }[head]
    return float(fn(y, probs, sample_weight=weights))


def classes_of(head: str, y: np.ndarray) -> np.ndarray:
    return y.argmax(-1) if head == "one_hot" else np.rint(y).reshape(len(y)).astype(int)


# ---------------------------------------------------------------- one batch's loss


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("head", ["binary", "labels", "one_hot", "values"])
def test_a_batch_loss_with_sample_weights_equals_keras(backend: str, head: str) -> None:
    ours = nndsl.compile_string(source(head)).build(backend=backend, seed=1)
    x, y = data(head)
    w = np.random.default_rng(5).uniform(0, 3, len(x)).astype("float32")
    w[3] = 0.0  # a weight of 0 leaves the sample out of the sum, not out of the count
    want = keras_loss(head, y, ours.predict(x), w)
    assert ours.evaluate(x, y, sample_weight=w)["loss"] == pytest.approx(want, abs=1e-6)
    # the mean over the batch, not over the weights: halving every weight halves the loss
    half = ours.evaluate(x, y, sample_weight=w / 2)["loss"]
    assert half == pytest.approx(want / 2, abs=1e-6)
    assert ours.evaluate(x, y)["loss"] == pytest.approx(
        keras_loss(head, y, ours.predict(x), None), abs=1e-6
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_labels_weigh_each_sample_and_each_position_as_keras(backend: str) -> None:
    text = """
model s {
    input(5, 3)
    dense(4, activation=softmax)
}
train s { loss = sparse_categorical_crossentropy }
"""
    ours = nndsl.compile_string(text).build(backend=backend, seed=2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5, 3)).astype("float32")
    y = rng.integers(0, 4, size=(6, 5))
    probs = ours.predict(x)
    fn = keras.losses.SparseCategoricalCrossentropy()
    per_sample = rng.uniform(0, 2, 6).astype("float32")
    per_position = rng.uniform(0, 2, (6, 5)).astype("float32")
    # Keras takes a weight per position; one per sample spreads over the sample's positions
    for w, theirs in ((per_sample, per_sample[:, None]), (per_position, per_position)):
        want = float(fn(y, probs, sample_weight=np.broadcast_to(theirs, y.shape)))
        assert ours.evaluate(x, y, sample_weight=w)["loss"] == pytest.approx(want, abs=1e-6)


# ---------------------------------------------------------------- fit, epoch by epoch


def keras_fit(theirs, x, y, epochs=3, **weighting) -> list[float]:
    history = theirs.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0, **weighting)
    return history.history["loss"]


def assert_trains_as_keras(ours, theirs, x, y, sample_weight=None, **keras_weighting) -> None:
    """Both fit 3 epochs in order: the same loss each epoch, the same weights after."""
    if sample_weight is not None:
        keras_weighting["sample_weight"] = sample_weight
    got = ours.fit(x, y, sample_weight=sample_weight, verbose=0).history["loss"]
    want = keras_fit(theirs, x, y, **keras_weighting)
    np.testing.assert_allclose(got, want, atol=1e-6)
    w = ours.get_weights()
    for name in ("h", "out"):
        kernel, bias = theirs.get_layer(name).get_weights()
        np.testing.assert_allclose(w[f"{name}.weight"], kernel, atol=1e-5)
        np.testing.assert_allclose(w[f"{name}.bias"], bias, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "head, written, keras_map",
    [
        ("binary", "class_weight = [1, 4]", {0: 1.0, 1: 4.0}),
        ("labels", "class_weight = [1, 2.5, 7]", {0: 1.0, 1: 2.5, 2: 7.0}),
        ("one_hot", "class_weight = [0.5, 1, 3]", {0: 0.5, 1: 1.0, 2: 3.0}),
    ],
)
def test_fit_with_a_class_weight_list_equals_keras(backend, head, written, keras_map) -> None:
    ours = nndsl.compile_string(source(head, written)).build(backend=backend, seed=4)
    theirs = keras_twin(ours, head)
    x, y = data(head)
    assert_trains_as_keras(ours, theirs, x, y, class_weight=keras_map)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("head", ["binary", "one_hot"])
def test_balanced_weights_equal_scikit_learn_and_train_as_keras(backend, head) -> None:
    from sklearn.utils.class_weight import compute_class_weight

    ours = nndsl.compile_string(source(head, "class_weight = balanced")).build(
        backend=backend, seed=4
    )
    theirs = keras_twin(ours, head)
    x, y = data(head, n=37)
    classes = classes_of(head, y)
    present = np.unique(classes)
    expected = dict(
        zip(present.tolist(), compute_class_weight("balanced", classes=present, y=classes))
    )
    assert_trains_as_keras(ours, theirs, x, y, class_weight=expected)
    assert ours.class_weights == pytest.approx(expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("head", ["binary", "values"])
def test_fit_with_sample_weights_equals_keras(backend, head) -> None:
    ours = nndsl.compile_string(source(head)).build(backend=backend, seed=6)
    theirs = keras_twin(ours, head)
    x, y = data(head, n=29)  # a last batch of 5: batch means weighted by their sizes
    w = np.random.default_rng(1).uniform(0, 4, len(x)).astype("float32")
    assert_trains_as_keras(ours, theirs, x, y, sample_weight=w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_validation_is_weighted_by_sample_weights_and_never_by_class_weights(backend) -> None:
    x, y = data("labels", n=40)
    xv, yv = data("labels", n=20, seed=9)
    wv = np.random.default_rng(2).uniform(0, 2, len(xv)).astype("float32")
    # class weights: the validation loss is the plain one (Keras' rule)
    ours = nndsl.compile_string(source("labels", "class_weight = [1, 3, 9]")).build(
        backend=backend, seed=0
    )
    theirs = keras_twin(ours, "labels")
    h = ours.fit(x, y, epochs=1, validation_data=(xv, yv), verbose=0).history
    k = theirs.fit(
        x,
        y,
        batch_size=8,
        epochs=1,
        shuffle=False,
        verbose=0,
        class_weight={0: 1, 1: 3, 2: 9},
        validation_data=(xv, yv),
    ).history
    assert h["val_loss"][0] == pytest.approx(ours.evaluate(xv, yv)["loss"], abs=1e-6)
    assert h["val_loss"][0] == pytest.approx(k["val_loss"][0], abs=1e-6)
    # validation sample weights weigh it
    ours = nndsl.compile_string(source("labels")).build(backend=backend, seed=0)
    theirs = keras_twin(ours, "labels")
    w = np.ones(len(x), "float32")
    h = ours.fit(x, y, epochs=1, sample_weight=w, validation_data=(xv, yv, wv), verbose=0)
    k = theirs.fit(
        x,
        y,
        batch_size=8,
        epochs=1,
        shuffle=False,
        verbose=0,
        sample_weight=w,
        validation_data=(xv, yv, wv),
    ).history
    assert h.history["val_loss"][0] == pytest.approx(k["val_loss"][0], abs=1e-6)
    assert h.history["val_loss"][0] != pytest.approx(ours.evaluate(xv, yv)["loss"], abs=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shuffled_batches_keep_each_weight_with_its_sample(backend) -> None:
    from nndsl.backends.base import split_weights

    ours = nndsl.compile_string(source("values")).build(backend=backend, seed=0)
    n = 23
    x = np.zeros((n, 4), "float32")
    y = np.stack([np.arange(n), np.zeros(n)], axis=1).astype("float32")
    data = ours.engine.prepare(x, y, np.arange(n) / 10)
    order = np.random.default_rng(0).permutation(n)
    seen = []
    for _ in range(2):  # the second epoch reuses the shuffle buffers
        for _, yb, _ in ours.engine.epoch_batches(data, order, 8):
            targets, weights = (
                np.asarray(v.cpu() if hasattr(v, "cpu") else v) for v in split_weights(yb)
            )
            np.testing.assert_allclose(weights, targets[:, 0] / 10, rtol=1e-6)
            seen.extend(targets[:, 0].tolist())
    assert seen == [*order.tolist(), *order.tolist()]


# ---------------------------------------------------------------- gradients


def test_the_weighted_gradient_equals_finite_differences() -> None:
    for head in ("binary", "labels", "one_hot", "values"):
        text = source(head).replace("shuffle    = false", "shuffle = false\n    dtype = float64")
        model = nndsl.compile_string(text).build(backend="numpy", seed=3)
        engine = model.engine
        x, y = data(head, n=9)
        w = np.random.default_rng(4).uniform(0, 3, len(x))
        loss, grads = engine.loss_and_grads(x, y, weights=w)
        weights = model.get_weights()
        eps = 1e-6
        for key in ("h.weight", "out.bias"):
            flat = weights[key].reshape(-1)
            for i in range(min(flat.size, 6)):
                value = flat[i]
                flat[i] = value + eps
                model.set_weights(weights)
                up = engine.loss_and_grads(x, y, weights=w)[0]
                flat[i] = value - eps
                model.set_weights(weights)
                down = engine.loss_and_grads(x, y, weights=w)[0]
                flat[i] = value
                model.set_weights(weights)
                numeric = (up - down) / (2 * eps)
                assert grads[key].reshape(-1)[i] == pytest.approx(numeric, abs=1e-7), (head, key, i)
        # and the weighted loss is not the plain one
        assert loss != pytest.approx(engine.loss_and_grads(x, y)[0], abs=1e-6)


# ---------------------------------------------------------------- through files and the CLI


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def imbalanced_csv(path: Path, n: int = 600, seed: int = 0) -> Path:
    """95/5: the rare class 'churned' sits where one feature is high, with overlap."""
    rng = np.random.default_rng(seed)
    churned = rng.random(n) < 0.05
    a = rng.normal(size=n) + 1.6 * churned
    b = rng.normal(size=n)
    lines = ["a,b,label"] + [
        f"{ai:.4f},{bi:.4f},{'churned' if c else 'stayed'}" for ai, bi, c in zip(a, b, churned)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def churn_program(extra: str) -> str:
    return f"""
model churn {{
    input(2)
    dense(8, activation=relu)
    dense(2, activation=softmax)
}}
train churn {{
    data       = csv("churn.csv", target="label")
    validation = 0.2
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.01)
    batch_size = 32
    epochs     = 30
    seed       = 1
    {extra}
}}
"""


def minority_recall(run: Path, data: Path) -> float:
    model = nndsl.load(run / "weights.npz")
    rows = np.genfromtxt(data, delimiter=",", skip_header=1, usecols=(0, 1))
    labels = np.array([line.rsplit(",", 1)[1] for line in data.read_text().split()[1:]])
    churned = model.class_names.index("churned")
    predicted = model.predict(rows).argmax(-1)
    rare = labels == "churned"
    return float((predicted[rare] == churned).mean())


def test_balanced_weights_find_more_of_the_rare_class_through_nndsl_run(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *a, **k: None)
    data = imbalanced_csv(tmp_path / "churn.csv")
    recall = {}
    for name, extra in (("plain", ""), ("balanced", "class_weight = balanced")):
        write(tmp_path / f"{name}.nn", churn_program(extra))
        run = tmp_path / f"run_{name}"
        assert main(["run", str(tmp_path / f"{name}.nn"), "--out", str(run), "-q"]) == 0
        recall[name] = minority_recall(run, data)
    assert recall["balanced"] > recall["plain"] + 0.2, recall
    # the weights are those of the training split, saved in the run's config
    config = yaml.safe_load((tmp_path / "run_balanced" / "config.yaml").read_text())
    weights = config["class_weights"]
    from sklearn.utils.class_weight import compute_class_weight

    splits = nndsl.compile_file(tmp_path / "balanced.nn").build(seed=1).load_data()
    train, whole = splits.train.y, np.concatenate([splits.train.y, splits.validation.y])
    names = splits.class_names
    for y, equal in ((train, True), (whole, False)):
        expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
        same = all(weights[names[c]] == pytest.approx(expected[c], rel=1e-9) for c in (0, 1))
        assert same is equal, (weights, expected)
    assert weights["churned"] > 5 * weights["stayed"]


def test_class_weight_by_name_and_a_weight_column_through_a_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 40
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a + b > 0.8, "yes", "no")
    w = rng.uniform(0, 3, n)
    write(
        tmp_path / "d.csv",
        "a,b,w,label\n"
        + "".join(f"{x:.3f},{y:.3f},{v:.3f},{c}\n" for x, y, v, c in zip(a, b, w, label)),
    )
    base = """
model m {{
    input(2)
    dense(1, activation=sigmoid)
}}
train m {{
    data       = csv("d.csv", target="label"{weight})
    validation = 0.25
    loss       = binary_crossentropy
    optimizer  = sgd(lr=0.1)
    epochs     = 2
    {extra}
}}
"""
    named = nndsl.compile_file(
        write(
            tmp_path / "named.nn",
            base.format(weight=', features=["a", "b"]', extra="class_weight = (yes=4)"),
        )
    )
    model = named.build(seed=0)
    model.fit(verbose=0)
    assert model.class_weights == {"no": 1.0, "yes": 4.0}
    # a weight column: never a feature; it weighs training, validation and test alike
    column = nndsl.compile_file(
        write(tmp_path / "col.nn", base.format(weight=', weight="w"', extra=""))
    )
    model = column.build(seed=0)
    history = model.fit(verbose=0)
    splits = model.load_data()
    assert splits.train.x.shape[1] == 2 and splits.feature_names == ["a", "b"]
    val = splits.validation
    probs = model.predict(val.x)
    want = keras_loss("binary", val.y[:, None], probs, val.weights)
    assert history.history["val_loss"][-1] == pytest.approx(want, abs=1e-6)
    # new data to predict on need not bring the weight column
    assert model.predict({"a": [0.1], "b": [0.2]}).shape == (1, 1)


# ---------------------------------------------------------------- errors


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def error_of(tmp_path: Path, text: str, capsys) -> str:
    path = write(tmp_path / "bad.nn", text)
    code = main(["run", str(path), "--out", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err
    return err


def test_class_weight_on_a_regression_is_a_located_error(tmp_path, capsys) -> None:
    text = source("values", "class_weight = balanced")
    with pytest.raises(nndsl.NNDSLError) as e:
        nndsl.compile_string(text)
    assert e.value.line == line_of(text, "class_weight") and "regression" in e.value.message
    assert "weight column" in (e.value.hint or "")


@pytest.mark.parametrize(
    "written, says",
    [
        ("class_weight = heavy", "class_weight is balanced"),
        ("class_weight = [1, -2]", ">= 0"),
        ('class_weight = (a="x")', ">= 0"),
        ("class_weight = []", "class_weight is balanced"),
    ],
)
def test_a_malformed_class_weight_is_a_located_error(written, says) -> None:
    text = source("labels", written)
    with pytest.raises(nndsl.NNDSLError) as e:
        nndsl.compile_string(text)
    assert says in e.value.message and e.value.line == line_of(text, "class_weight")


def test_an_unknown_class_name_lists_the_classes(tmp_path, capsys) -> None:
    imbalanced_csv(tmp_path / "churn.csv", n=60)
    text = churn_program("class_weight = (churnd=5)")
    err = error_of(tmp_path, text, capsys)
    assert "no class 'churnd'" in err and "did you mean 'churned'" in err
    assert "classes: churned, stayed" in err
    assert f"bad.nn:{line_of(text, 'class_weight')}:" in err


def test_a_class_weight_list_of_the_wrong_length_is_located(tmp_path, capsys) -> None:
    imbalanced_csv(tmp_path / "churn.csv", n=60)
    text = churn_program("class_weight = [1, 2, 3]")
    err = error_of(tmp_path, text, capsys)
    assert "3 weight(s) for an output of 2 classes" in err
    assert f"bad.nn:{line_of(text, 'class_weight')}:" in err


@pytest.mark.parametrize(
    "cell, says",
    [("-1", "got '-1'"), ("nan", "got 'nan'"), ("heavy", "got 'heavy'"), ("", "the cell is empty")],
)
def test_a_bad_weight_cell_is_a_located_data_error(tmp_path, capsys, cell, says) -> None:
    rows = ["1,2,1.0,a", "2,1,0.5,b", f"3,3,{cell},a", "4,1,2,b"] * 3
    write(tmp_path / "d.csv", "x1,x2,w,label\n" + "\n".join(rows) + "\n")
    text = """
model m {
    input(2)
    dense(2, activation=softmax)
}
train m {
    data = csv("d.csv", target="label", weight="w")
    loss = sparse_categorical_crossentropy
    epochs = 1
}
"""
    err = error_of(tmp_path, text, capsys)
    assert "d.csv" in err and "line 4" in err and "column 'w'" in err and says in err


def test_class_weight_with_a_weight_column_is_refused(tmp_path) -> None:
    text = """
model m {
    input(2)
    dense(2, activation=softmax)
}
train m {
    data = csv("d.csv", target="label", weight="w")
    loss = sparse_categorical_crossentropy
    class_weight = balanced
}
"""
    with pytest.raises(nndsl.NNDSLError) as e:
        nndsl.compile_string(text)
    assert e.value.line == line_of(text, "class_weight") and "weight column 'w'" in e.value.message


def test_sample_weights_that_do_not_fit_are_refused() -> None:
    ours = nndsl.compile_string(source("labels")).build(seed=0)
    x, y = data("labels", n=10)
    for bad, says in (
        (np.ones(9), "do not fit"),
        (-np.ones(10), ">= 0"),
        (np.full(10, np.nan), ">= 0"),
    ):
        with pytest.raises(nndsl.NNDSLError, match=says):
            ours.fit(x, y, sample_weight=bad, verbose=0)
    assert math.isfinite(ours.evaluate(x, y)["loss"])


# ---------------------------------------------------------------- several processes

DISTRIBUTED = """
model m {{
    input(2)
    dense(6, activation=tanh)
    dense(2, activation=softmax)
}}
train m {{
    data       = csv("d.csv", target="label"{weight})
    validation = 0.2
    test       = 0.1
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.02)
    batch_size = 15
    epochs     = 2
    dtype      = float64
    {extra}
}}
"""


@pytest.mark.parametrize(
    "weight, extra",
    [(', weight="w"', ""), ("", "class_weight = balanced")],
    ids=["column", "class"],
)
@pytest.mark.slow  # two processes under torchrun
def test_two_processes_weigh_the_loss_like_one(tmp_path: Path, weight: str, extra: str) -> None:
    """Batches of 15 split 8 + 7 over two processes, each weighing its share: the history
    (training and validation losses), final metrics and weights equal one process's."""
    pytest.importorskip("torch")
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(7)
    n = 100
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a - b > 1.2, "rare", "common")
    w = rng.uniform(0, 3, n)
    rows = "".join(f"{p:.4f},{q:.4f},{v:.4f},{c}\n" for p, q, v, c in zip(a, b, w, label))
    write(tmp_path / "d.csv", "a,b,w,label\n" + rows)
    text = DISTRIBUTED.format(weight=weight, extra=extra)
    if not weight:
        text = text.replace('target="label"', 'target="label", features=["a", "b"]')
    write(tmp_path / "m.nn", text)
    common = ["run", str(tmp_path / "m.nn"), "--backend", "torch", "--device", "cpu", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = {}
    for name, launch in (("one", []), ("two", ["--nproc", "2"])):
        done = subprocess.run(
            [sys.executable, "-m", "nndsl", *common, "--out", str(tmp_path / name), *launch],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[name] = tmp_path / name
    one, two = (np.loadtxt(r / "history.csv", delimiter=",", skiprows=1) for r in runs.values())
    np.testing.assert_allclose(two, one, rtol=1e-9, atol=1e-12)
    metrics = [json.loads((r / "metrics.json").read_text()) for r in runs.values()]
    for split in ("train", "validation", "test"):
        assert metrics[1][split]["loss"] == pytest.approx(metrics[0][split]["loss"], rel=1e-9)
