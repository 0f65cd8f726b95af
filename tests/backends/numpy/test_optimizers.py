"""The NumPy optimizers follow torch.optim step for step, over one flat buffer."""

import tracemalloc

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nndsl.ir.catalog  # noqa: E402,F401  (fills CATALOGS)
from nndsl.backends.numpy.optimizers import (  # noqa: E402
    OPTIMIZERS,
    clip_grad_norm,
    make_optimizer,
)
from nndsl.errors import NNDSLError  # noqa: E402
from nndsl.ir.signature import CATALOGS, Spec  # noqa: E402

SHAPES = [(5, 3), (3,), (4, 2, 2), (1,), (7,)]  # tensors of a small model, flattened in order
SIZE = sum(int(np.prod(s)) for s in SHAPES)
STEPS = 50

TORCH = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop,
}

# (name, overrides): the defaults, then every option in use
CASES = [
    ("sgd", {}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.05}),
    ("adam", {}),
    (
        "adam",
        {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True},
    ),
    ("adam", {"lr": 0.02, "betas": [0.3, 0.9]}),  # beta1 < 0.5: torch.lerp's other rounding
    ("adamw", {}),
    (
        "adamw",
        {"lr": 0.01, "betas": [0.85, 0.995], "eps": 1e-7, "weight_decay": 0.1, "amsgrad": True},
    ),
    ("adamw", {"weight_decay": 0.0}),
    ("adagrad", {}),
    (
        "adagrad",
        {
            "lr": 0.1,
            "lr_decay": 0.05,
            "weight_decay": 0.01,
            "initial_accumulator_value": 0.1,
            "eps": 1e-8,
        },
    ),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}),
    ("rmsprop", {}),
    (
        "rmsprop",
        {
            "lr": 0.003,
            "alpha": 0.9,
            "eps": 1e-6,
            "weight_decay": 0.01,
            "momentum": 0.9,
            "centered": True,
        },
    ),
    ("rmsprop", {"centered": True, "alpha": 0.4}),
    ("rmsprop", {"momentum": 0.5}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'defaults'}" for name, o in CASES]


def spec(name: str, **overrides) -> Spec:
    """A Spec as the compiler binds it: every declared argument, defaulted by the catalog."""
    params = CATALOGS["optimizer"][name].params
    return Spec(name, {**{p.name: p.default for p in params}, **overrides})


def start_and_grads(dtype, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    start = rng.normal(size=SIZE).astype(dtype)
    grads = rng.normal(scale=0.5, size=(steps, SIZE)).astype(dtype)
    grads[::7] *= 20.0  # occasional large gradients exercise the max / accumulators
    return start, grads


def run_nndsl(s: Spec, start, grads, lr_at=None):
    params, g = start.copy(), np.empty_like(start)
    opt = make_optimizer(s, params, g)
    for i, step_grads in enumerate(grads):
        if lr_at and i in lr_at:
            opt.lr = lr_at[i]
        g[:] = step_grads
        opt.step()
    return params


def run_torch(s: Spec, start, grads, lr_at=None):
    tensors, offset = [], 0
    for shape in SHAPES:
        n = int(np.prod(shape))
        tensors.append(torch.nn.Parameter(torch.tensor(start[offset : offset + n]).reshape(shape)))
        offset += n
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in s.args.items()}
    opt = TORCH[s.name](tensors, **args)
    for i, step_grads in enumerate(grads):
        if lr_at and i in lr_at:
            opt.param_groups[0]["lr"] = lr_at[i]
        offset = 0
        for t in tensors:
            t.grad = torch.tensor(step_grads[offset : offset + t.numel()]).reshape(t.shape)
            offset += t.numel()
        opt.step()
    return np.concatenate([t.detach().numpy().ravel() for t in tensors])


def test_every_catalog_optimizer_is_implemented():
    assert set(OPTIMIZERS) == set(CATALOGS["optimizer"])


@pytest.mark.parametrize("name, overrides", CASES, ids=IDS)
def test_matches_torch_float64(name, overrides):
    s = spec(name, **overrides)
    start, grads = start_and_grads(np.float64)
    ours = run_nndsl(s, start, grads)
    assert ours.dtype == np.float64
    assert not np.allclose(ours, start)  # it moved
    np.testing.assert_allclose(ours, run_torch(s, start, grads), rtol=1e-6, atol=0)


@pytest.mark.parametrize("name, overrides", CASES, ids=IDS)
def test_matches_torch_float32(name, overrides):
    s = spec(name, **overrides)
    start, grads = start_and_grads(np.float32)
    ours = run_nndsl(s, start, grads)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, run_torch(s, start, grads), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(TORCH))
def test_learning_rate_set_between_steps(name):
    # a schedule changes lr between epochs; torch sees it through param_groups
    s = spec(name, **({"momentum": 0.9} if name == "sgd" else {}))
    start, grads = start_and_grads(np.float64)
    lr_at = {10: s.args["lr"] * 0.5, 30: s.args["lr"] * 0.1}
    np.testing.assert_allclose(
        run_nndsl(s, start, grads, lr_at), run_torch(s, start, grads, lr_at), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize("name, overrides", CASES, ids=IDS)
def test_resume_from_state_dict_is_bit_identical(name, overrides, tmp_path):
    s = spec(name, **overrides)
    start, grads = start_and_grads(np.float32)
    uninterrupted = run_nndsl(s, start, grads)

    params, g = start.copy(), np.empty_like(start)
    first = make_optimizer(s, params, g)
    for step_grads in grads[:20]:
        g[:] = step_grads
        first.step()
    state = first.state_dict()
    np.savez(tmp_path / "opt.npz", **state)  # plain arrays and numbers: no pickle needed
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as saved:
        state = dict(saved)

    params, g = params.copy(), np.empty_like(start)
    second = make_optimizer(s, params, g)
    second.load_state_dict(state)
    for step_grads in grads[20:]:
        g[:] = step_grads
        second.step()
    np.testing.assert_array_equal(params, uninterrupted)


def test_state_dict_is_a_copy():
    params, g = np.zeros(4), np.ones(4)
    opt = make_optimizer(spec("adam"), params, g)
    opt.step()
    state = opt.state_dict()
    assert state["step"] == 1 and state["lr"] == 1e-3
    before = state["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(state["exp_avg"], before)


@pytest.mark.parametrize("name, overrides", CASES, ids=IDS)
def test_step_reads_grads_and_allocates_nothing_of_parameter_size(name, overrides):
    n = 100_000
    params = np.linspace(-1, 1, n, dtype=np.float32)
    g = np.linspace(0.5, -0.3, n, dtype=np.float32)
    g_before = g.copy()
    opt = make_optimizer(spec(name, **overrides), params, g)
    opt.step()
    opt.step()
    tracemalloc.start()
    opt.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < n * 4 // 10  # a temporary array would take n * 4 bytes
    np.testing.assert_array_equal(g, g_before)
    assert params.dtype == np.float32


def test_nesterov_needs_momentum_and_no_dampening():
    params, g = np.zeros(3), np.zeros(3)
    with pytest.raises(NNDSLError, match="nesterov"):
        make_optimizer(spec("sgd", nesterov=True), params, g)
    with pytest.raises(NNDSLError, match="nesterov"):
        make_optimizer(spec("sgd", nesterov=True, momentum=0.9, dampening=0.1), params, g)


def test_buffers_must_be_flat_and_matching():
    with pytest.raises(ValueError, match="match"):
        make_optimizer(spec("sgd"), np.zeros(3), np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="1-D"):
        make_optimizer(spec("sgd"), np.zeros((3, 2)), np.zeros((3, 2)))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(dtype, rtol, max_norm):
    _, grads = start_and_grads(dtype, steps=1, seed=3)
    ours = grads[0].copy()
    norm = clip_grad_norm(ours, max_norm)

    tensors, offset = [], 0
    for shape in SHAPES:
        n = int(np.prod(shape))
        t = torch.nn.Parameter(torch.zeros(shape, dtype=torch.from_numpy(grads).dtype))
        t.grad = torch.tensor(grads[0, offset : offset + n]).reshape(shape)
        tensors.append(t)
        offset += n
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    expected = np.concatenate([t.grad.numpy().ravel() for t in tensors])

    assert norm == pytest.approx(expected_norm, rel=rtol)
    np.testing.assert_allclose(ours, expected, rtol=rtol)
    if max_norm > norm:
        np.testing.assert_array_equal(ours, grads[0])  # below the limit: untouched
    else:
        assert np.linalg.norm(ours) == pytest.approx(max_norm, rel=1e-5)
