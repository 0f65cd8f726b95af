"""What an agent's `train` block may name (`env = cartpole`, `algorithm = dqn(...)`): the
environments, the algorithms and the exploration schedules, each declared once for the
parser, the checker, the docs and nndsl.rl, which runs them.

An environment's entry knows its spaces (`env_spaces`): the observation's size and the
number of discrete actions, so that a model that does not fit is refused at compile
time. A Gymnasium environment's spaces come from Gymnasium (imported only then)."""

from __future__ import annotations

from nndsl.errors import NNDSLError
from nndsl.ir.signature import CATALOGS, Entry, Param, Spec, register

# ---------------------------------------------------------------- environments
register(
    "env",
    Entry(
        "cartpole",
        (Param("max_steps", "int", 500, low=1, doc="steps before an episode is truncated"),),
        "Gymnasium's CartPole-v1 in NumPy, step for step: push a cart left or right to keep "
        "its pole up; +1 per step, at most 500. Observation 4 numbers, 2 actions.",
        {"spaces": lambda a: (4, 2)},
    ),
)
register(
    "env",
    Entry(
        "gridworld",
        (
            Param("size", "int", 4, low=2, high=32, doc="cells per side"),
            Param("walls", "ints", [], doc="cells (row * size + column) the agent cannot enter"),
            Param("max_steps", "int", 50, low=1, doc="steps before an episode is truncated"),
        ),
        "A size x size grid: walk (up, down, left, right) from the top-left cell to the "
        "bottom-right one; -1 per step. Observation: one-hot of the cell (size * size), 4 "
        "actions; the best return is minus the shortest path's length.",
        {"spaces": lambda a: (a["size"] ** 2, 4), "check": lambda a: _walls(a)},
    ),
)


def _walls(a: dict) -> tuple[tuple[str, ...], str] | None:
    cells = a["size"] ** 2
    for w in a["walls"]:
        if not 0 <= w < cells:
            return (
                "walls",
            ), f"wall {w} is not a cell of a {a['size']}x{a['size']} grid (0-{cells - 1})"
        if w in (0, cells - 1):
            where = "start" if w == 0 else "goal"
            return ("walls",), f"wall {w} is the {where} cell"
    return None


def _gym_spaces(a: dict) -> tuple[int, int | None]:
    try:
        import gymnasium
    except ImportError:
        raise NNDSLError(
            "gym(...) environments need Gymnasium", hint="pip install 'nndsl[gym]'"
        ) from None
    try:
        env = gymnasium.make(a["name"])
    except Exception as e:  # noqa: BLE001  (gymnasium's errors: unknown name, missing extra)
        raise NNDSLError(f"gym: cannot make '{a['name']}': {e}") from None
    obs, act = env.observation_space, env.action_space
    env.close()
    if not isinstance(act, gymnasium.spaces.Discrete):
        return _vector(obs, a["name"]), None
    return _vector(obs, a["name"]), int(act.n)


def _vector(space, name: str) -> int:
    shape = getattr(space, "shape", None)
    if not shape or len(shape) != 1:
        raise NNDSLError(
            f"gym: '{name}' observes {type(space).__name__} {shape}, not a vector",
            hint="an agent's model takes a vector: an environment with a Box(n,) observation",
        )
    return int(shape[0])


register(
    "env",
    Entry(
        "gym",
        (Param("name", "str", doc='a Gymnasium environment id, e.g. "LunarLander-v3"'),),
        "Any Gymnasium environment with discrete actions and a vector observation (pip "
        "install 'nndsl[gym]').",
        {"spaces": _gym_spaces},
    ),
)

ENVS: dict[str, Entry] = CATALOGS["env"]


def env_spaces(spec: Spec) -> tuple[int, int | None]:
    """(observation size, number of actions; None for a continuous action space)."""
    args = {p.name: p.default for p in ENVS[spec.name].params if not p.required}
    return ENVS[spec.name].extra["spaces"]({**args, **spec.args})


# ---------------------------------------------------------------- exploration (epsilon)
for _name, _doc, _params in [
    (
        "linear",
        "From `start` down to `end` in a straight line over `steps` steps, then `end`.",
        (
            Param("start", "float", 1.0, low=0, high=1, doc="the rate at step 0"),
            Param("end", "float", 0.05, low=0, high=1, doc="the lowest rate"),
            Param("steps", "int", 10000, low=1, doc="steps from start to end"),
        ),
    ),
    (
        "exponential",
        "start * decay ** step, never below `end`.",
        (
            Param("start", "float", 1.0, low=0, high=1, doc="the rate at step 0"),
            Param("end", "float", 0.05, low=0, high=1, doc="the lowest rate"),
            Param("decay", "float", 0.999, low=0, high=1, low_open=True, doc="factor per step"),
        ),
    ),
    ("constant", "Always `value`.", (Param("value", "float", 0.1, low=0, high=1, doc="the rate"),)),
]:
    register("exploration", Entry(_name, _params, _doc))


def epsilon_at(spec: Spec, step: int) -> float:
    """The exploration rate of schedule `spec` after `step` environment steps."""
    a = {p.name: p.default for p in CATALOGS["exploration"][spec.name].params} | spec.args
    if spec.name == "linear":
        return a["start"] + (a["end"] - a["start"]) * min(step / a["steps"], 1.0)
    if spec.name == "exponential":
        return max(a["end"], a["start"] * a["decay"] ** step)
    return a["value"]


# ---------------------------------------------------------------- algorithms
_GAMMA = Param("gamma", "float", 0.99, low=0, high=1, doc="discount of future rewards")
register(
    "algorithm",
    Entry(
        "dqn",
        (
            _GAMMA,
            Param("buffer", "int", 50000, low=1, doc="transitions the replay buffer keeps"),
            Param("target_update", "int", 500, low=1, doc="steps between target-network copies"),
            Param(
                "epsilon",
                "exploration",
                Spec("linear"),
                doc="the chance of a random action: linear(start, end, steps), "
                "exponential(start, end, decay) or constant(value)",
            ),
            Param("double", "bool", False, doc="Double DQN: the online network picks the action"),
            Param("learn_start", "int", 1000, low=0, doc="steps of random play before learning"),
            Param("train_every", "int", 1, low=1, doc="environment steps between updates"),
            Param("gradient_steps", "int", 1, low=1, doc="gradient steps per update"),
            Param(
                "loss",
                "enum",
                "huber",
                choices=("huber", "mse"),
                doc="of the temporal-difference error (huber: as SB3's smooth L1)",
            ),
        ),
        "Deep Q-learning (Mnih et al. 2015): the model gives each action's value (linear "
        "output, one unit per action); replay buffer, target network, epsilon-greedy.",
        {"output": "values"},
    ),
)
register(
    "algorithm",
    Entry(
        "reinforce",
        (
            _GAMMA,
            Param("episodes", "int", 1, low=1, doc="episodes per update"),
            Param(
                "baseline",
                "enum",
                "mean",
                choices=("mean", "none"),
                doc="mean: the update's returns less their mean, over their std",
            ),
        ),
        "Policy gradient (Williams 1992): the model gives the actions' probabilities "
        "(softmax output, or logits), sampled to act; each update raises the log-"
        "probability of the actions taken in proportion to the return that followed.",
        {"output": "policy"},
    ),
)

register(
    "algorithm",
    Entry(
        "a2c",
        (
            _GAMMA,
            Param("envs", "int", 8, low=1, high=1024, doc="copies of the environment at once"),
            Param("n_steps", "int", 5, low=1, doc="steps of every copy per update"),
            Param("value_coef", "float", 0.5, low=0, doc="weight of the value's squared error"),
            Param("entropy_coef", "float", 0.01, low=0, doc="weight of the policy's entropy bonus"),
        ),
        "Advantage actor-critic (Mnih et al. 2016, synchronous): the model ends in two "
        "outputs, `output policy, value`: the actions' probabilities (softmax, or logits) "
        "and the state's value (dense(1)); `envs` copies of the environment played "
        "together, one update every `n_steps` steps of each.",
        {"output": "actor-critic"},
    ),
)

ALGORITHMS: dict[str, Entry] = CATALOGS["algorithm"]
