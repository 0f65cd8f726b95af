"""A label per position: sparse_categorical_crossentropy over outputs (rows, steps,
classes) and targets (rows, steps), as a language model trains, on both backends:
finite differences, torch's F.cross_entropy in its own (rows, classes, steps) layout, and
the accuracy metric against a direct count."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl.backends.numpy.losses import sparse_categorical_crossentropy as numpy_loss
from nndsl.errors import NNDSLError
from nndsl.ir.metrics import METRICS, MetricInput
from nndsl.ir.targets import prepare_targets

RNG = np.random.default_rng(3)
ROWS, STEPS, CLASSES = 3, 5, 7
Z = RNG.normal(scale=2.0, size=(ROWS, STEPS, CLASSES))
Y = RNG.integers(0, CLASSES, size=(ROWS, STEPS))


def _numpy(z: np.ndarray) -> tuple[float, np.ndarray]:
    grad = np.empty_like(z)
    return numpy_loss(z.copy(), Y, grad), grad


def test_value_is_the_mean_over_every_position() -> None:
    logp = Z - np.log(np.exp(Z).sum(-1, keepdims=True))
    want = -np.mean([logp[r, t, Y[r, t]] for r in range(ROWS) for t in range(STEPS)])
    assert _numpy(Z)[0] == pytest.approx(want, rel=1e-12)


def test_gradient_matches_finite_differences() -> None:
    _, grad = _numpy(Z)
    eps = 1e-6
    numeric = np.empty_like(Z)
    for i in np.ndindex(Z.shape):
        up, down = Z.copy(), Z.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (_numpy(up)[0] - _numpy(down)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_both_backends_match_torch_cross_entropy_in_its_own_layout() -> None:
    torch = pytest.importorskip("torch")
    from nndsl.backends.torch.losses import sparse_categorical_crossentropy as torch_loss

    z = torch.tensor(Z, requires_grad=True)
    # torch's own reading of a label per position: classes on axis 1, (rows, classes, steps)
    expected = torch.nn.functional.cross_entropy(z.permute(0, 2, 1), torch.tensor(Y))
    expected.backward()
    loss, grad = _numpy(Z)
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-10, atol=1e-15)
    ours = torch_loss(torch.tensor(Z), torch.tensor(Y))
    assert ours.item() == pytest.approx(expected.item(), rel=1e-12)


def accuracy(z, y) -> tuple:
    return METRICS["accuracy"].stats(MetricInput(z, None, y, "labels", True, float), {})


def test_accuracy_counts_every_position() -> None:
    right, count = accuracy(Z, Y)
    assert count == ROWS * STEPS
    direct = sum(int(np.argmax(Z[r, t]) == Y[r, t]) for r in range(ROWS) for t in range(STEPS))
    assert int(right) == direct
    torch = pytest.importorskip("torch")
    right_t, count_t = accuracy(torch.tensor(Z), torch.tensor(Y))
    assert (int(right_t), count_t) == (direct, ROWS * STEPS)


def test_targets_per_position_are_checked() -> None:
    loss = "sparse_categorical_crossentropy"
    labels = prepare_targets(Y.astype(float), loss, (STEPS, CLASSES), "float32")
    assert labels.dtype == np.int64 and labels.shape == (ROWS, STEPS)
    with pytest.raises(NNDSLError, match=r"targets of shape \(3, 5\), got \(3, 4\)"):
        prepare_targets(Y[:, :4], loss, (STEPS, CLASSES), "float32")
    with pytest.raises(NNDSLError, match="fractional"):
        prepare_targets(Y + 0.5, loss, (STEPS, CLASSES), "float32")
    with pytest.raises(NNDSLError):
        prepare_targets(Y + CLASSES, loss, (STEPS, CLASSES), "float32")  # out of range
