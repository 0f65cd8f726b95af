"""Learning-rate schedules give torch.optim.lr_scheduler's rate after every epoch."""

import math

import pytest

torch = pytest.importorskip("torch")

import nndsl.ir.catalog  # noqa: E402,F401  (fills CATALOGS)
from nndsl.errors import NNDSLError  # noqa: E402
from nndsl.ir.signature import CATALOGS, Spec  # noqa: E402
from nndsl.train.schedules import SCHEDULES, make_schedule  # noqa: E402

EPOCHS = 60
BASE_LR = 0.1

# a scripted validation loss: improvement, plateaus, tiny gains under the threshold, a NaN
LOSSES = (
    [1.0, 0.8, 0.7, 0.65, 0.64]
    + [0.64] * 6
    + [0.6399999, 0.63999, 0.5, 0.5, 0.45]
    + [0.46, 0.47, 0.45, 0.449, 0.4495, 0.44] * 3
    + [0.44 - 1e-6 * i for i in range(10)]
    + [math.nan, 0.3, 0.3, 0.31, 0.32, 0.33, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.19, 0.2, 0.2, 0.2]
)
ACCURACY = [1.0 - x if x == x else x for x in LOSSES]  # the same story, to be maximized
assert len(LOSSES) == EPOCHS

CASES = [
    ("step", {"step_size": 7}),
    ("step", {"step_size": 1, "gamma": 0.9}),
    ("step", {"step_size": 25, "gamma": 0.5}),
    ("exponential", {"gamma": 0.95}),
    ("exponential", {"gamma": 1.01}),
    ("cosine", {"t_max": 60}),
    ("cosine", {"t_max": 13, "eta_min": 0.01}),  # past t_max: back up, periodically
    ("cosine", {"t_max": 1}),
    ("reduce_on_plateau", {}),
    ("reduce_on_plateau", {"factor": 0.5, "patience": 2}),
    (
        "reduce_on_plateau",
        {
            "factor": 0.5,
            "patience": 1,
            "threshold": 0.01,
            "threshold_mode": "abs",
            "cooldown": 3,
            "min_lr": 0.02,
        },
    ),
    (
        "reduce_on_plateau",
        {"factor": 0.3, "patience": 0, "mode": "max", "monitor": "val_accuracy", "threshold": 1e-3},
    ),
    (
        "reduce_on_plateau",
        {
            "factor": 0.7,
            "patience": 2,
            "mode": "max",
            "threshold_mode": "abs",
            "threshold": 0.005,
            "cooldown": 1,
            "monitor": "val_accuracy",
        },
    ),
    ("reduce_on_plateau", {"factor": 0.5, "patience": 0, "min_lr": 0.1 * 0.5**3 - 1e-9}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'defaults'}" for name, o in CASES]

TORCH_ARGS = {  # our argument names -> torch's, where they differ
    "t_max": "T_max",
}


def spec(name: str, **overrides) -> Spec:
    """A Spec as the compiler binds it: every declared argument, defaulted by the catalog."""
    params = CATALOGS["schedule"][name].params
    return Spec(name, {**{p.name: p.default for p in params}, **overrides})


def logs(epoch: int) -> dict[str, float]:
    return {"loss": LOSSES[epoch] + 0.1, "val_loss": LOSSES[epoch], "val_accuracy": ACCURACY[epoch]}


def torch_rates(s: Spec) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=BASE_LR)
    args = {TORCH_ARGS.get(k, k): v for k, v in s.args.items() if k != "monitor"}
    cls = {
        "step": torch.optim.lr_scheduler.StepLR,
        "exponential": torch.optim.lr_scheduler.ExponentialLR,
        "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
        "reduce_on_plateau": torch.optim.lr_scheduler.ReduceLROnPlateau,
    }[s.name]
    sched = cls(opt, **args)
    rates = []
    for epoch in range(EPOCHS):
        opt.step()
        if s.name == "reduce_on_plateau":
            sched.step(logs(epoch)[s.args["monitor"]])
        else:
            sched.step()
        rates.append(opt.param_groups[0]["lr"])
    return rates


def test_every_catalog_schedule_is_implemented():
    assert set(SCHEDULES) == set(CATALOGS["schedule"])


@pytest.mark.parametrize("name, overrides", CASES, ids=IDS)
def test_matches_torch(name, overrides):
    s = spec(name, **overrides)
    schedule = make_schedule(s, BASE_LR)
    ours = [schedule.epoch_end(epoch, logs(epoch)) for epoch in range(EPOCHS)]
    expected = torch_rates(s)
    assert ours == pytest.approx(expected, rel=1e-9, abs=0)
    assert len(set(ours)) > 1  # the rate did change


@pytest.mark.parametrize("name, overrides", CASES, ids=IDS)
def test_resume_from_state_dict(name, overrides):
    s = spec(name, **overrides)
    whole = make_schedule(s, BASE_LR)
    expected = [whole.epoch_end(epoch, logs(epoch)) for epoch in range(EPOCHS)]
    first = make_schedule(s, BASE_LR)
    ours = [first.epoch_end(epoch, logs(epoch)) for epoch in range(25)]
    state = first.state_dict()
    assert all(isinstance(v, (int, float, str)) for v in state.values())  # plain data
    second = make_schedule(s, BASE_LR)
    second.load_state_dict(state)
    ours += [second.epoch_end(epoch, logs(epoch)) for epoch in range(25, EPOCHS)]
    assert ours == expected


@pytest.mark.parametrize(
    "name, args, closed_form",
    [
        ("step", {"step_size": 7, "gamma": 0.5}, lambda e: BASE_LR * 0.5 ** (e // 7)),
        ("exponential", {"gamma": 0.9}, lambda e: BASE_LR * 0.9**e),
        (
            "cosine",
            {"t_max": 20, "eta_min": 0.0},
            lambda e: BASE_LR * (1 + math.cos(math.pi * e / 20)) / 2,
        ),
    ],
)
def test_jump_without_state_uses_the_closed_form(name, args, closed_form):
    schedule = make_schedule(spec(name, **args), BASE_LR)
    assert schedule.epoch_end(41, {}) == pytest.approx(closed_form(42), rel=1e-12)
    assert schedule.epoch_end(42, {}) == pytest.approx(closed_form(43), rel=1e-9)


def test_missing_monitored_key_names_it_and_the_logged_ones():
    schedule = make_schedule(spec("reduce_on_plateau"), BASE_LR)
    with pytest.raises(NNDSLError) as info:
        schedule.epoch_end(0, {"loss": 1.0, "accuracy": 0.5})
    message = str(info.value)
    assert "val_loss" in message and "loss" in message and "accuracy" in message
    assert info.value.hint and "validation" in info.value.hint
