"""The Python API on the NumPy backend, as a user embeds it:

model = nndsl.compile_string(src).build(seed=0)
model.fit(x, y, ...); model.evaluate(x, y); model.predict(x)
model.get_weights(); model.set_weights(w); model.save(p); nndsl.load(p)
"""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl.errors import NNDSLError
from nndsl.train.callbacks import Callback
from nndsl.weights import load_weights, save_weights

BINARY = """
model clf {
  input(4)
  dense(8, activation=relu)
  dropout(0.1)
  dense(1, activation=sigmoid)
}
train clf {
  data = synthetic("xor", n=120, noise=0.1, seed=3)
  validation = 0.25
  loss = binary_crossentropy
  optimizer = adam(lr=0.02)
  batch_size = 8
  epochs = 5
  metrics = [accuracy]
  seed = 11
}
"""

MULTI = """
model multi {{
  input(4)
  dense(8, activation=tanh)
  dense(3, activation=softmax)
}}
train multi {{
  loss = {loss}
  optimizer = sgd(lr=0.1, momentum=0.5)
  batch_size = 10
  epochs = 2
  metrics = [accuracy]
}}
"""


def xy(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, (x[:, 0] * x[:, 1] > 0).astype(float)


def labels(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, np.argmax(x[:, :3], axis=1)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


class Steps(Callback):
    def on_train_begin(self) -> None:
        self.batches = 0
        self.epochs = 0

    def on_batch_end(self, batch: int) -> None:
        self.batches += 1

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.epochs += 1


@pytest.fixture(scope="module")
def binary() -> nndsl.Program:
    return nndsl.compile_string(BINARY.replace("input(4)", "input(2)"))


# ---------------------------------------------------------------- fit and the train block


def test_fit_arguments_override_the_train_block(binary) -> None:
    x, y = xy(50)
    x = x[:, :2]
    steps = Steps()
    binary.build().fit(x, y, epochs=2, verbose=0, callbacks=[steps])
    # batch_size 8 from the block, on the 38 of 50 samples its validation = 0.25 leaves
    assert (steps.epochs, steps.batches) == (2, 2 * 5)
    steps = Steps()
    binary.build().fit(x, y, batch_size=20, verbose=0, callbacks=[steps])
    assert (steps.epochs, steps.batches) == (5, 5 * 2)  # epochs 5 from the block


def test_everything_else_comes_from_the_train_block(binary) -> None:
    model = binary.build()
    assert model.seed == 11
    assert same_weights(model.get_weights(), binary.build(seed=11).get_weights())
    assert not same_weights(model.get_weights(), binary.build(seed=12).get_weights())
    history = model.fit(verbose=0)  # data, split, loss, optimizer, metrics from the file
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history.history["lr"] == [pytest.approx(0.02)] * 5
    assert type(model.engine.optimizer).__name__.lower().startswith("adam")
    assert model.engine.loss.name == "binary_crossentropy"


def test_fit_without_data_or_targets_is_refused() -> None:
    model = nndsl.compile_string(MULTI.format(loss="sparse_categorical_crossentropy")).build()
    with pytest.raises(NNDSLError, match="names no data"):
        model.fit(verbose=0)
    with pytest.raises(NNDSLError, match="needs targets"):
        model.fit(np.zeros((4, 4)), verbose=0)


def test_validation_data(binary) -> None:
    x, y = xy(60)
    x = x[:, :2]
    model = binary.build()
    history = model.fit(x[:45], y[:45], validation_data=(x[45:], y[45:]), verbose=0)
    assert len(history.history["val_loss"]) == 5
    assert len(history.history["val_accuracy"]) == 5
    final = model.evaluate(x[45:], y[45:])
    assert history.history["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(final["accuracy"])


def test_validation_split_holds_out_the_last_samples(binary) -> None:
    x, y = xy(60)
    x = x[:, :2]
    model = binary.build()
    history = model.fit(x, y, validation_split=0.25, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[45:], y[45:])["loss"], rel=1e-6
    )
    # the held-out samples were not trained on: training on the first 45 alone is the same
    again = binary.build()
    again.fit(x[:45], y[:45], validation_data=(x[45:], y[45:]), verbose=0)
    assert same_weights(model.get_weights(), again.get_weights())


def test_validation_split_overrides_the_block_fraction(binary) -> None:
    history = binary.build().fit(validation_split=0.5, verbose=0)
    assert "val_loss" in history.history
    model = binary.build()
    splits = model.load_data(validation_split=0.5)
    assert len(splits.validation) == 60 and len(splits.train) == 60


# ---------------------------------------------------------------- targets


def test_targets_n_and_n_by_1_are_the_same(binary) -> None:
    x, y = xy(30)
    x = x[:, :2]
    a, b = binary.build(), binary.build()
    ha = a.fit(x, y, epochs=2, verbose=0)
    hb = b.fit(x, y.reshape(-1, 1), epochs=2, verbose=0)
    assert ha.history == hb.history
    assert same_weights(a.get_weights(), b.get_weights())
    assert a.evaluate(x, y) == b.evaluate(x, y[:, None])


def test_sparse_labels_in_several_forms() -> None:
    prog = nndsl.compile_string(MULTI.format(loss="sparse_categorical_crossentropy"))
    x, y = labels()
    runs = []
    for targets in (y, y.reshape(-1, 1), y.astype(np.float64), y.astype(np.int32)):
        model = prog.build(seed=0)
        runs.append(model.fit(x, targets, verbose=0).history)
    assert all(r == runs[0] for r in runs)


def test_categorical_accepts_one_hot_and_integer_labels() -> None:
    prog = nndsl.compile_string(MULTI.format(loss="categorical_crossentropy"))
    sparse = nndsl.compile_string(MULTI.format(loss="sparse_categorical_crossentropy"))
    x, y = labels()
    one_hot = np.eye(3)[y]
    a, b, c = prog.build(seed=0), prog.build(seed=0), sparse.build(seed=0)
    ha = a.fit(x, one_hot, verbose=0).history
    hb = b.fit(x, y, verbose=0).history
    hc = c.fit(x, y, verbose=0).history
    assert ha == hb
    assert same_weights(a.get_weights(), b.get_weights())
    # the same numbers as sparse cross-entropy on the labels
    np.testing.assert_allclose(ha["loss"], hc["loss"], rtol=1e-5)
    assert ha["accuracy"] == hc["accuracy"]
    probs = a.predict(x)
    assert probs.shape == (40, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


BAD_TARGETS = [
    ("binary", lambda y: np.stack([y, y, y], axis=1), r"shape \(40, 3\)"),
    ("binary", lambda y: y[:30], r"40 samples .* 30"),
    ("binary", lambda y: np.where(np.arange(40) == 7, np.nan, y), r"NaN.*row 7"),
    ("binary", lambda y: y * 3, r"between 0 and 1"),
    ("binary", lambda y: np.array(["a"] * 40), "numbers"),
    ("sparse", lambda y: np.where(np.arange(40) == 5, 3, y), r"label 3 \(row 5\).*0\.\.2"),
    ("sparse", lambda y: np.where(np.arange(40) == 2, -1, y), r"label -1 \(row 2\)"),
    ("sparse", lambda y: y + 0.5, "integer"),
    ("sparse", lambda y: np.eye(3)[y], "one integer class label"),
    ("categorical", lambda y: np.where(np.arange(40) == 9, 4, y), r"label 4 \(row 9\)"),
    ("categorical", lambda y: np.eye(4)[y], r"shape \(40, 4\)"),
]


@pytest.mark.parametrize("kind, corrupt, message", BAD_TARGETS)
def test_bad_targets_are_clear_errors(kind: str, corrupt, message: str) -> None:
    if kind == "binary":
        model = nndsl.compile_string(BINARY).build()
        x, y = xy()
    else:
        loss = "sparse_categorical_crossentropy" if kind == "sparse" else "categorical_crossentropy"
        model = nndsl.compile_string(MULTI.format(loss=loss)).build()
        x, y = labels()
    start = model.get_weights()
    with pytest.raises(NNDSLError, match=message):
        model.fit(x, corrupt(y), verbose=0)
    with pytest.raises(NNDSLError, match=message):
        model.evaluate(x, corrupt(y))
    assert same_weights(start, model.get_weights())


BAD_INPUTS = [
    # where the model's input is declared, and what the data has instead
    (lambda x: x[:, :3], r"samples of shape \(4,\) \(input\(4\), line \d+\), .* shape \(3,\)"),
    (lambda x: np.where(np.arange(40)[:, None] == 4, np.inf, x), r"NaN or Inf \(row 4\)"),
    (lambda x: x.astype(str), "numbers"),
    (lambda x: x.reshape(40, 2, 2), r"shape \(4,\) .* has samples of shape \(2, 2\)"),
]


@pytest.mark.parametrize("corrupt, message", BAD_INPUTS)
def test_bad_inputs_are_clear_errors(corrupt, message: str) -> None:
    model = nndsl.compile_string(BINARY).build()
    x, y = xy()
    with pytest.raises(NNDSLError, match=message):
        model.fit(corrupt(x), y, verbose=0)
    with pytest.raises(NNDSLError, match=message):
        model.predict(corrupt(x))


def test_several_inputs_fed_by_name() -> None:
    src = """
    model two {
      a = input(3)
      b = input(2)
      ha = dense(4, activation=tanh, from=a)
      concat(ha, b)
      dense(1)
    }
    train two { loss = mse  epochs = 2 }
    """
    model = nndsl.compile_string(src).build(seed=0)
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(20, 3)), "b": rng.normal(size=(20, 2))}
    y = rng.normal(size=20)
    history = model.fit(x, y, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(x).shape == (20, 1)
    with pytest.raises(NNDSLError, match="no data for input 'b'"):
        model.predict({"a": x["a"]})
    with pytest.raises(NNDSLError, match="2 inputs"):
        model.predict(x["a"])


def test_predict_one_sample_and_evaluate_keys(binary) -> None:
    model = binary.build()
    x, y = xy(10)
    x = x[:, :2]
    assert model.predict(x[0]).shape == (1, 1)
    np.testing.assert_array_equal(model.predict(x[:1]), model.predict(x[0]))
    p = model.predict(x)
    assert p.shape == (10, 1) and np.all((p > 0) & (p < 1))
    assert set(model.evaluate(x, y)) == {"loss", "accuracy"}


def test_model_without_train_block_predicts_but_does_not_fit() -> None:
    model = nndsl.compile_string("model m { input(2) dense(3) }").build(seed=0)
    assert model.predict(np.ones((4, 2))).shape == (4, 3)
    with pytest.raises(NNDSLError, match="no train block"):
        model.fit(np.ones((4, 2)), np.ones((4, 3)))


# ---------------------------------------------------------------- weights and files


def test_get_and_set_weights(binary) -> None:
    a, b = binary.build(seed=1), binary.build(seed=2)
    x = xy(10)[0][:, :2]
    assert not np.array_equal(a.predict(x), b.predict(x))
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert set(a.get_weights()) == {
        "dense_1.weight",
        "dense_1.bias",
        "dense_2.weight",
        "dense_2.bias",
    }


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_and_load_round_trip(binary, tmp_path, suffix: str) -> None:
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    model = binary.build()
    model.fit(verbose=0)
    x = xy(20)[0][:, :2]
    expected = model.predict(x)
    path = tmp_path / f"w{suffix}"
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left
    # into a model built from the same program
    fresh = binary.build(seed=99)
    fresh.load(path)
    np.testing.assert_array_equal(fresh.predict(x), expected)
    # from the file alone
    loaded = nndsl.load(path)
    np.testing.assert_array_equal(loaded.predict(x), expected)
    assert loaded.graph.name == "clf"
    assert loaded.evaluate(x, np.zeros(20)) == model.evaluate(x, np.zeros(20))
    # the file's own metadata: no pickle needed to read it
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            assert "dense_1.weight" in z.files


def test_load_keeps_the_input_scaling(tmp_path) -> None:
    rng = np.random.default_rng(0)
    rows = ["a,b,y"] + [
        f"{10 + v:.3f},{-5 + 2 * w:.3f},{int(v > 0)}" for v, w in rng.normal(size=(30, 2))
    ]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    src = BINARY.replace("input(4)", "input(2)").replace(
        'synthetic("xor", n=120, noise=0.1, seed=3)',
        'csv("data.csv", target="y", standardize=true)',
    )
    (tmp_path / "m.nn").write_text(src)
    model = nndsl.compile_file(tmp_path / "m.nn").build()
    model.fit(epochs=1, verbose=0)
    assert model.scaler is not None
    model.save(tmp_path / "w.npz")
    assert nndsl.load(tmp_path / "w.npz").scaler == model.scaler


def _tamper(path, change):
    tensors, meta = load_weights(path)
    change(tensors)
    save_weights(path, tensors, meta)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.pop("dense_2.bias"), "missing tensor 'dense_2.bias'"),
        (lambda t: t.update({"dense_9.weight": np.zeros(3)}), "unexpected tensor 'dense_9.weight'"),
        (
            lambda t: t.update({"dense_1.weight": np.zeros((3, 8))}),
            r"'dense_1.weight' has shape \(3, 8\).*\(2, 8\)",
        ),
    ],
)
def test_loading_mismatched_weights_is_refused(binary, tmp_path, change, message) -> None:
    model = binary.build()
    path = tmp_path / "w.npz"
    model.save(path)
    _tamper(path, change)
    target = binary.build(seed=5)
    before = target.get_weights()
    with pytest.raises(NNDSLError, match=message) as info:
        target.load(path)
    assert str(path) in str(info.value)
    assert same_weights(before, target.get_weights())
    with pytest.raises(NNDSLError, match=message):
        target.set_weights(load_weights(path)[0])
    with pytest.raises(NNDSLError, match=message):
        nndsl.load(path)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_truncated_weights_file_is_refused(binary, tmp_path, suffix: str) -> None:
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    path = tmp_path / f"w{suffix}"
    binary.build().save(path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 7, 5):
        path.write_bytes(data[:cut])
        with pytest.raises(NNDSLError, match="corrupt or truncated|not a readable"):
            nndsl.load(path)
        with pytest.raises(NNDSLError, match="corrupt or truncated|not a readable"):
            binary.build().load(path)


def test_missing_weights_file(tmp_path) -> None:
    with pytest.raises(NNDSLError, match="no such weights file"):
        nndsl.load(tmp_path / "nothing.npz")


def test_file_without_model_description_needs_a_program(binary, tmp_path) -> None:
    path = tmp_path / "bare.npz"
    np.savez(path, **binary.build().get_weights())
    with pytest.raises(NNDSLError, match="no model description"):
        nndsl.load(path)
    loaded = nndsl.load(path, program=binary)
    assert same_weights(loaded.get_weights(), binary.build().get_weights())


# ---------------------------------------------------------------- new users' first hour

XOR2 = BINARY.replace("input(4)", "input(2)")


def test_fit_without_validation_data_holds_out_the_files_split() -> None:
    """fit(x, y) on the file's own data trains exactly as fit() on the file does: the
    train block's `validation = 0.25`, by the same seeded split."""
    program = nndsl.compile_string(XOR2)
    by_file = program.build().fit(verbose=0)
    from nndsl.data import load_data

    ds = load_data(program.train.data, ".")
    by_arrays = program.build().fit(ds.x, ds.y, verbose=0)
    assert "val_loss" in by_arrays.history
    assert by_arrays.history == by_file.history


def test_early_stop_on_validation_without_validation_data_is_refused_before_training() -> None:
    src = XOR2.replace("validation = 0.25", "validation = 0").replace(
        "epochs = 5", "epochs = 5\n  early_stop = (monitor=val_loss, patience=2)"
    )
    model = nndsl.compile_string(src).build()
    start = model.get_weights()
    x, y = xy()
    with pytest.raises(NNDSLError, match="no validation data") as info:
        model.fit(x[:, :2], y, verbose=0)
    assert "validation_data=" in info.value.hint and "validation = 0.2" in info.value.hint
    assert same_weights(start, model.get_weights())  # nothing trained


class Frame:
    """What a pandas DataFrame offers nndsl: `.columns` and a column by name."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self._data = columns
        self.columns = list(columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]


def test_columns_given_by_name_are_matched_by_name(tmp_path) -> None:
    x, y = xy(60)
    model = nndsl.compile_string(BINARY).build()
    table = {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3]}
    model.fit(table, y, verbose=0)
    assert model.feature_names == ["a", "b", "c", "d"]
    expected = model.predict(x)
    shuffled = {k: table[k] for k in ("d", "b", "a", "c")}
    np.testing.assert_array_equal(model.predict(shuffled), expected)
    np.testing.assert_array_equal(model.predict(Frame(shuffled)), expected)
    # saved with the model: a loaded model matches names too
    model.save(tmp_path / "w.npz")
    loaded = nndsl.load(tmp_path / "w.npz")
    np.testing.assert_array_equal(loaded.predict(Frame(shuffled)), expected)
    with pytest.raises(NNDSLError, match="has no column c; the model was trained on 4"):
        loaded.predict({k: table[k] for k in ("a", "b", "d")})
    with pytest.warns(UserWarning, match="left out columns the model was not trained on: e"):
        got = loaded.predict({**shuffled, "e": np.zeros(60)})
    np.testing.assert_array_equal(got, expected)


def test_predict_and_evaluate_read_a_csv_by_name(tmp_path) -> None:
    x, y = xy(30)
    model = nndsl.compile_string(BINARY).build()
    model.fit({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3]}, y, verbose=0)
    model.target_names = ["label"]
    rows = ["label,d,c,b,a"] + [
        ",".join(str(v) for v in (t, r[3], r[2], r[1], r[0])) for r, t in zip(x, y)
    ]
    (tmp_path / "new.csv").write_text("\n".join(rows) + "\n")
    np.testing.assert_allclose(model.predict(tmp_path / "new.csv"), model.predict(x), rtol=1e-6)
    assert model.evaluate(str(tmp_path / "new.csv")) == pytest.approx(model.evaluate(x, y))


def test_a_dataset_without_scikit_learn_points_at_the_data_line(monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "sklearn", None)  # as if not installed
    src = "model m {\n  input(4)\n  dense(3, activation=softmax)\n}\ntrain m {\n  loss = "
    src += 'sparse_categorical_crossentropy\n  data = dataset("iris")\n}\n'
    model = nndsl.compile_string(src, "iris.nn").build()
    with pytest.raises(NNDSLError) as info:
        model.fit(verbose=0)
    e = info.value
    assert (e.path, e.line, e.column) == ("iris.nn", 7, 3)
    text = e.render()
    assert "pip install 'nndsl[datasets]'" in text
    assert '   7 |   data = dataset("iris")' in text
