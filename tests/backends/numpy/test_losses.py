"""Loss values and gradients against closed forms and torch.nn.functional; the fused
cross-entropies stay finite and exact at logits of +-1000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nndsl
import nndsl.ir.catalog  # noqa: F401  (fills CATALOGS)
from nndsl.backends.numpy.losses import LOSSES
from nndsl.ir.signature import CATALOGS

RNG = np.random.default_rng(0)
OUT = RNG.normal(scale=2.0, size=(6, 3))
VALUES = RNG.normal(scale=2.0, size=(6, 3))
BINARY = RNG.integers(0, 2, size=(6, 3)).astype(float)
SOFT = RNG.dirichlet(np.ones(3), size=6)
LABELS = RNG.integers(0, 3, size=6)


def run(name: str, out: np.ndarray, y: np.ndarray, **args) -> tuple[float, np.ndarray]:
    grad = np.empty_like(out)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        loss = LOSSES[name](out, y, grad, **args)
    return loss, grad


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def log_softmax(z):
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# name -> (targets, closed-form mean loss) on OUT; written without the library's tricks
REFERENCES = {
    "mse": (VALUES, lambda z, y: np.mean((z - y) ** 2)),
    "mae": (VALUES, lambda z, y: np.mean(np.abs(z - y))),
    "huber": (
        VALUES,
        lambda z, y: np.mean(np.where(np.abs(z - y) <= 1, 0.5 * (z - y) ** 2, np.abs(z - y) - 0.5)),
    ),
    "binary_crossentropy": (
        BINARY,
        lambda z, y: -np.mean(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z))),
    ),
    "categorical_crossentropy": (SOFT, lambda z, y: -np.mean((y * log_softmax(z)).sum(-1))),
    "sparse_categorical_crossentropy": (
        LABELS,
        lambda z, y: -np.mean(log_softmax(z)[np.arange(len(y)), y]),
    ),
}


@pytest.mark.parametrize("name", list(CATALOGS["loss"]))
def test_every_loss_has_a_function_and_a_reference(name: str) -> None:
    assert name in LOSSES
    assert name in REFERENCES, f"loss '{name}' needs a closed-form reference here"


@pytest.mark.parametrize("name", list(REFERENCES))
def test_loss_value_matches_closed_form(name: str) -> None:
    y, ref = REFERENCES[name]
    loss, _ = run(name, OUT.copy(), y)
    assert loss == pytest.approx(float(ref(OUT, y)), rel=1e-12)


def test_huber_delta() -> None:
    r = OUT - VALUES
    delta = 0.7
    ref = np.mean(np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta)))
    loss, grad = run("huber", OUT.copy(), VALUES, delta=delta)
    assert loss == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(grad, np.clip(r, -delta, delta) / r.size, rtol=1e-12)


def test_loss_leaves_its_inputs_alone() -> None:
    for name, (y, _) in REFERENCES.items():
        out, y_copy = OUT.copy(), np.array(y, copy=True)
        run(name, out, y)
        np.testing.assert_array_equal(out, OUT, err_msg=name)
        np.testing.assert_array_equal(y, y_copy, err_msg=name)


# ---------------------------------------------------------------- torch as the oracle


def _torch_losses():
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    return torch, {
        "mse": lambda z, y: f.mse_loss(z, y),
        "mae": lambda z, y: f.l1_loss(z, y),
        "huber": lambda z, y: f.huber_loss(z, y, delta=1.0),
        "binary_crossentropy": lambda z, y: f.binary_cross_entropy_with_logits(z, y),
        "categorical_crossentropy": lambda z, y: f.cross_entropy(z, y),  # probability targets
        "sparse_categorical_crossentropy": lambda z, y: f.cross_entropy(z, y),
    }


@pytest.mark.parametrize("name", list(REFERENCES))
def test_loss_and_gradient_match_torch(name: str) -> None:
    torch, ref = _torch_losses()
    y, _ = REFERENCES[name]
    z = torch.tensor(OUT, requires_grad=True)
    expected = ref[name](z, torch.tensor(y))
    expected.backward()
    loss, grad = run(name, OUT.copy(), y)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_bce_matches_torch_on_probabilities() -> None:
    """The fused form equals the textbook loss on sigmoid probabilities."""
    torch, _ = _torch_losses()
    p = torch.sigmoid(torch.tensor(OUT))
    expected = torch.nn.functional.binary_cross_entropy(p, torch.tensor(BINARY)).item()
    assert run("binary_crossentropy", OUT.copy(), BINARY)[0] == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------- extreme logits

Z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_crossentropy_at_1000(dtype: str) -> None:
    z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]], dtype=dtype)
    y = np.array([[1.0], [0.0], [0.0], [1.0]], dtype=dtype)
    loss, grad = run("binary_crossentropy", z, y)
    # right with certainty costs 0, wrong with certainty costs |z|
    assert loss == pytest.approx((0 + 0 + 1000 + 1000) / 4, rel=1e-6)
    np.testing.assert_allclose(grad.ravel(), [0, 0, 0.25, -0.25], atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_crossentropies_at_1000(dtype: str) -> None:
    z = Z.astype(dtype)
    labels = np.array([0, 0])
    loss, grad = run("sparse_categorical_crossentropy", z, labels)
    # row 0 is right (cost 0); row 1 puts half on each of the wrong classes: 2000 + log 2
    assert loss == pytest.approx((0 + 2000 + np.log(2)) / 2, rel=1e-6)
    np.testing.assert_allclose(grad, [[0, 0, 0], [-0.5, 0.25, 0.25]], atol=1e-7)
    onehot = np.eye(3, dtype=dtype)[labels]
    loss2, grad2 = run("categorical_crossentropy", z, onehot)
    assert loss2 == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(grad2, grad, atol=1e-7)


def test_fused_models_at_1000_give_finite_loss_and_gradients() -> None:
    """Through the engine: a sigmoid/softmax output with its cross-entropy, huge logits."""
    for act, loss, y, expected in [
        ("sigmoid", "binary_crossentropy", np.array([[1.0], [0.0]]), 1000),
        ("softmax", "categorical_crossentropy", np.array([[1.0, 0.0], [0.0, 1.0]]), 2000),
        ("softmax", "sparse_categorical_crossentropy", np.array([0, 1]), 2000),
    ]:
        weights = "[[500.0], [500.0]]" if act == "sigmoid" else "[[500.0, -500.0], [500.0, -500.0]]"
        units = 1 if act == "sigmoid" else 2
        src = (
            f"model m {{ input(2) dense({units}, activation={act}, weights={weights}) }}"
            f" train m {{ loss = {loss} }}"
        )
        model = nndsl.compile_string(src).build(seed=0)
        # logits of -1000 and +1000, each on the wrong side of its target
        x = np.array([[-1.0, -1.0], [1.0, 1.0]], dtype=np.float32)
        with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
            warnings.simplefilter("error")
            value, grads = model.engine.loss_and_grads(x, y)
            probs = model.predict(x)
        assert value == pytest.approx(expected, rel=1e-6), (act, loss, value)
        assert all(np.all(np.isfinite(g)) for g in grads.values())
        assert np.all((probs >= 0) & (probs <= 1))


def test_l2_penalty_is_added_to_the_loss() -> None:
    src = "model m { input(3) dense(2, l2=0.25) } train m { loss = mse }"
    model = nndsl.compile_string(src).build(seed=3, dtype="float64")
    x = RNG.normal(size=(4, 3))
    y = RNG.normal(size=(4, 2))
    w = model.get_weights()
    plain = np.mean((x @ w["dense_1.weight"] + w["dense_1.bias"] - y) ** 2)
    loss, _ = model.engine.loss_and_grads(x, y)
    assert loss == pytest.approx(plain + 0.25 * np.sum(w["dense_1.weight"] ** 2), rel=1e-12)
