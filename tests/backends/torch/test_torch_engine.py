"""The torch engine behaves like the NumPy engine behind the shared trainer: optimizers,
schedules, clipping, L2, metrics, divergence, checkpoint state, seeds; plus what only it
has: devices, bf16 autocast, torch.compile and `Model.torch_module()`."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl  # noqa: E402
from nndsl.backends.base import NonFiniteLoss  # noqa: E402
from nndsl.backends.torch.engine import resolve_device  # noqa: E402
from nndsl.errors import NNDSLError  # noqa: E402
from nndsl.train.trainer import TrainingDiverged  # noqa: E402

MLP = """
model m {{
    input(5)
    dense(7, activation={act}, l2={l2})
    dense({units}{out})
}}
train m {{
    loss       = {loss}
    optimizer  = {optimizer}
    batch_size = 8
    epochs     = 3
    metrics    = {metrics}
    dtype      = float64
    {extra}
}}
"""


def program(
    optimizer="adam(lr=0.01)",
    loss="mse",
    units=2,
    out="",
    act="tanh",
    l2=0.0,
    metrics="[mae]",
    extra="",
):
    source = MLP.format(
        optimizer=optimizer,
        loss=loss,
        units=units,
        out=out,
        act=act,
        l2=l2,
        metrics=metrics,
        extra=extra,
    )
    return nndsl.compile_string(source)


def pair(prog, **build):
    return prog.build(backend="numpy", **build), prog.build(backend="torch", device="cpu", **build)


def data(n=37, units=2, kind="values", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    if kind == "labels":
        return x, rng.integers(0, units, n)
    if kind == "binary":
        return x, rng.integers(0, 2, (n, units)).astype(float)
    return x, rng.normal(size=(n, units))


def assert_same_run(ref, got, x, y, **fit) -> None:
    ref_h = ref.fit(x, y, verbose=0, **fit).history
    got_h = got.fit(x, y, verbose=0, **fit).history
    assert got_h.keys() == ref_h.keys()
    for key in ref_h:
        np.testing.assert_allclose(got_h[key], ref_h[key], rtol=1e-9, atol=1e-12, err_msg=key)
    for key, w in ref.get_weights().items():
        np.testing.assert_allclose(got.get_weights()[key], w, rtol=1e-9, atol=1e-12, err_msg=key)


# ---------------------------------------------------------------- training agrees

OPTIMIZERS = [
    "sgd(lr=0.05)",
    "sgd(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)",
    "sgd(lr=0.05, momentum=0.8, nesterov=true)",
    "adam(lr=0.01, amsgrad=true, weight_decay=0.01)",
    "adamw(lr=0.01, betas=[0.8, 0.99])",
    "adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)",
    "adadelta(lr=0.5, rho=0.8)",
    "rmsprop(lr=0.01, momentum=0.5, centered=true)",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizers_train_like_numpy(optimizer: str) -> None:
    x, y = data()
    assert_same_run(*pair(program(optimizer)), x, y, validation_split=0.2)


def test_clip_norm_l2_and_schedule_train_like_numpy() -> None:
    prog = program(
        "sgd(lr=0.2, momentum=0.9)",
        l2=0.05,
        extra="clip_norm = 0.5\n    schedule = step(step_size=1, gamma=0.5)",
    )
    ref, got = pair(prog)
    x, y = data()
    assert_same_run(ref, got, x, y)
    assert got.history["lr"] == [0.2, 0.1, 0.05]  # the rate each epoch trained with


@pytest.mark.parametrize(
    "loss, units, out, kind",
    [
        ("sparse_categorical_crossentropy", 3, ", activation=softmax", "labels"),
        ("categorical_crossentropy", 3, ", activation=softmax", "labels"),  # one-hot encoded
        ("binary_crossentropy", 2, ", activation=sigmoid", "binary"),
        ("binary_crossentropy", 1, "", "binary"),  # logits out
        ("huber(delta=0.5)", 2, "", "values"),
    ],
)
def test_metrics_and_losses_evaluate_like_numpy(loss, units, out, kind) -> None:
    prog = program(loss=loss, units=units, out=out, metrics="[accuracy, mse, mae]")
    ref, got = pair(prog)
    x, y = data(units=units, kind=kind)
    assert_same_run(ref, got, x, y, epochs=2)
    ref_eval, got_eval = ref.evaluate(x, y), got.evaluate(x, y)
    assert got_eval.keys() == ref_eval.keys()
    for key, value in ref_eval.items():
        assert got_eval[key] == pytest.approx(value, rel=1e-10, abs=1e-12), key


def test_seeded_runs_with_dropout_are_reproducible() -> None:
    source = MLP.replace("dense({units}{out})", "dropout(0.5)\n    dense({units}{out})")
    prog = nndsl.compile_string(
        source.format(
            optimizer="adam(lr=0.01)",
            loss="mse",
            units=2,
            out="",
            act="relu",
            l2=0,
            metrics="[]",
            extra="",
        )
    )
    x, y = data()
    builds = [prog.build(backend="torch", device="cpu", seed=s) for s in (1, 1, 2)]
    runs = [model.fit(x, y, verbose=0) for model in builds]
    assert runs[0].history == runs[1].history
    assert runs[0].history["loss"] != runs[2].history["loss"]


# ---------------------------------------------------------------- dropout


def test_dropout_is_inverted_and_seeded() -> None:
    from nndsl.backends.torch.lowering import Dropout

    layer = Dropout(0.25)
    layer.generator = torch.Generator().manual_seed(0)
    x = torch.ones(200, 500, dtype=torch.float64)
    y = layer(x)
    kept = y != 0
    assert kept.double().mean().item() == pytest.approx(0.75, abs=0.01)
    assert torch.all(y[kept] == 1 / 0.75)
    layer.eval()
    assert layer(x) is x


# ---------------------------------------------------------------- divergence


def test_nan_loss_raises_for_the_same_batch_as_numpy() -> None:
    prog = program("sgd(lr=1e6)", act="relu")
    x, y = data(n=64)
    order = np.arange(64)
    batches = []
    for model in pair(prog):
        data_ = model.engine.prepare(x, y)
        with pytest.raises(NonFiniteLoss) as info:
            for _ in range(5):
                model.engine.train_epoch(data_, order, 8)
        batches.append(info.value.batch)
    assert batches[0] == batches[1]


def test_divergence_restores_the_last_good_epoch() -> None:
    ref, got = pair(program("sgd(lr=0.01)", act="relu"))
    x, y = data(n=64)
    for model in (ref, got):
        model.fit(x, y, epochs=1, verbose=0)
        model.engine.lr = 1e6
        good = model.get_weights()
        with pytest.raises(TrainingDiverged):
            model.fit(x, y, epochs=5, verbose=0)
        for key, w in good.items():
            np.testing.assert_array_equal(model.get_weights()[key], w)


# ---------------------------------------------------------------- checkpoint state


@pytest.mark.parametrize("optimizer", ["adam(lr=0.01, amsgrad=true)", "sgd(lr=0.05, momentum=0.9)"])
@pytest.mark.parametrize("first", ["torch", "numpy"])
def test_state_dict_resumes_on_either_backend(optimizer: str, first: str) -> None:
    """An epoch, a checkpoint (weights + state), a fresh torch engine, another epoch: the
    same as two epochs without a break."""
    prog = program(optimizer)
    x, y = data(n=40)
    orders = [np.random.default_rng(i).permutation(40) for i in range(2)]

    straight = prog.build(backend="torch", device="cpu").engine
    d = straight.prepare(x, y)
    for order in orders:
        straight.train_epoch(d, order, 8)

    before = prog.build(backend=first, device="cpu" if first == "torch" else None).engine
    before.train_epoch(before.prepare(x, y), orders[0], 8)
    weights, state = before.get_weights(), before.state_dict()
    after = prog.build(backend="torch", device="cpu", seed=99).engine
    after.set_weights(weights)
    after.load_state_dict(state)
    after.train_epoch(after.prepare(x, y), orders[1], 8)
    for key, w in straight.get_weights().items():
        np.testing.assert_allclose(after.get_weights()[key], w, rtol=1e-10, atol=1e-13)


def test_torch_state_resumes_on_numpy() -> None:
    prog = program("adam(lr=0.01)")
    x, y = data(n=40)
    orders = [np.random.default_rng(i).permutation(40) for i in range(2)]
    straight = prog.build(backend="numpy").engine
    for order in orders:
        straight.train_epoch(straight.prepare(x, y), order, 8)
    before = prog.build(backend="torch", device="cpu").engine
    before.train_epoch(before.prepare(x, y), orders[0], 8)
    after = prog.build(backend="numpy").engine
    after.set_weights(before.get_weights())
    after.load_state_dict(before.state_dict())
    after.train_epoch(after.prepare(x, y), orders[1], 8)
    for key, w in straight.get_weights().items():
        np.testing.assert_allclose(after.get_weights()[key], w, rtol=1e-10, atol=1e-13)


def test_dropout_generator_state_round_trips() -> None:
    engine = program().build(backend="torch", device="cpu").engine
    state = engine.state_dict()
    first = torch.rand(5, generator=engine.generator)
    engine.load_state_dict(state)
    assert torch.equal(torch.rand(5, generator=engine.generator), first)


# ---------------------------------------------------------------- devices, bf16, compile


def test_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    with pytest.raises(NNDSLError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(NNDSLError, match="no CUDA GPU"):
            resolve_device("cuda:0")


def test_bf16_autocast_trains_float32_weights() -> None:
    prog = nndsl.compile_string(
        MLP.format(
            optimizer="adam(lr=0.01)",
            loss="mse",
            units=2,
            out="",
            act="relu",
            l2=0,
            metrics="[mae]",
            extra="mixed_precision = bf16",
        ).replace("dtype      = float64", "")
    )
    model = prog.build(backend="torch", device="cpu")
    assert model.engine.amp is torch.bfloat16
    written_off = prog.source.replace("mixed_precision = bf16", "mixed_precision = none")
    assert nndsl.compile_string(written_off).build(backend="torch").engine.amp is None
    x, y = data()
    reference = prog.build(backend="torch", device="cpu", mixed_precision="none")
    history = model.fit(x, y, verbose=0).history
    plain = reference.fit(x, y, verbose=0).history
    assert all(np.isfinite(history["loss"]))
    np.testing.assert_allclose(history["loss"], plain["loss"], rtol=0.05)
    assert all(w.dtype == np.float32 for w in model.get_weights().values())
    assert model.predict(x).dtype == np.float32


def test_bf16_is_refused_where_it_cannot_run() -> None:
    prog = program()  # float64
    with pytest.raises(NNDSLError, match="needs dtype = float32"):
        prog.build(backend="torch", device="cpu", mixed_precision="bf16")
    with pytest.raises(NNDSLError, match="needs the torch backend"):
        prog.build(backend="numpy", mixed_precision="bf16")
    # compile is the torch backend's business; the interpreter runs as it is
    assert prog.build(backend="numpy", compile=True).engine.name == "numpy"


@pytest.mark.parametrize(
    "setting, value, mode",
    [
        ("true", True, None),
        ("reduce_overhead", "reduce_overhead", "reduce-overhead"),
        ("max_autotune", "max_autotune", "max-autotune"),
    ],
)
def test_compile_setting_reaches_torch_compile(monkeypatch, setting, value, mode) -> None:
    # compiling itself takes tens of seconds on a CPU: only the wiring is checked here
    prog = nndsl.compile_string(
        MLP.format(
            optimizer="sgd",
            loss="mse",
            units=2,
            out="",
            act="tanh",
            l2=0,
            metrics="[]",
            extra=f"compile = {setting}",
        )
    )
    assert prog.train.compile == value and type(prog.train.compile) is type(value)
    modes = []
    real = torch.compile

    def recording(module, mode=None):
        modes.append(mode)
        return real(module, mode=mode)

    monkeypatch.setattr(torch, "compile", recording)
    engine = prog.build(backend="torch", device="cpu").engine
    assert modes == [mode]
    assert engine.call is not engine.net
    assert getattr(engine.call, "_orig_mod", None) is engine.net
    assert engine.graph_steps is False  # CUDA graphs are a GPU's
    eager = prog.build(backend="torch", device="cpu", compile=False).engine
    assert eager.call is eager.net and modes == [mode]


def test_an_unknown_compile_setting_is_a_located_error() -> None:
    source = MLP.format(
        optimizer="sgd",
        loss="mse",
        units=2,
        out="",
        act="tanh",
        l2=0,
        metrics="[]",
        extra="compile = reduce_overheads",
    )
    with pytest.raises(NNDSLError) as info:
        nndsl.compile_string(source)
    message = str(info.value)
    assert "'compile' must be one of false, true, reduce_overhead, max_autotune" in message
    assert "did you mean 'reduce_overhead'" in message
    assert ":" in message.splitlines()[0] and "^" in message
    with pytest.raises(NNDSLError, match="unknown compile setting 'fast'"):
        program().build(backend="torch", device="cpu", compile="fast")


# ---------------------------------------------------------------- torch_module


def test_torch_module_is_the_model_with_its_weights() -> None:
    prog = program(loss="sparse_categorical_crossentropy", units=3, out=", activation=softmax")
    model = prog.build(backend="torch", device="cpu")
    module = model.torch_module()
    assert isinstance(module, torch.nn.Module)
    assert dict(module.named_parameters()).keys() == model.get_weights().keys()
    assert module.get_parameter("dense_1.weight").shape == (5, 7)
    x, _ = data()
    module.eval()
    with torch.no_grad():
        out = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)  # the softmax is included
    with torch.no_grad():  # shared parameters: changing the module changes the model
        module.get_parameter("dense_2.bias").add_(1.0)
    assert model.get_weights()["dense_2.bias"] == pytest.approx(
        module.get_parameter("dense_2.bias").detach().numpy()
    )


def test_torch_module_needs_the_torch_backend() -> None:
    with pytest.raises(NNDSLError, match="torch_module\\(\\) needs the torch backend"):
        program().build(backend="numpy").torch_module()
