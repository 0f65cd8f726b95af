"""An agent's train block (`env = cartpole`, `algorithm = dqn(...)`): the model acts in
an environment and learns from its rewards. Checked here, every mistake located: the
model takes the environment's observation and gives one number per action (each
action's value for DQN, its probability or logit for a policy); the settings of
training on data are refused."""

from __future__ import annotations

from typing import Any

from nndsl.errors import NNDSLError
from nndsl.ir.agents import ALGORITHMS, env_spaces
from nndsl.ir.graph import Graph
from nndsl.ir.heads import node_activation
from nndsl.ir.plan import Head, TrainPlan
from nndsl.ir.signature import Spec
from nndsl.syntax import ast

# what an agent learns from instead, for the settings of training on data
REFUSED = {
    "data": "it learns from the environment's rewards, not from data",
    "validation": "it is evaluated by playing episodes",
    "test": "it is evaluated by playing episodes",
    "loss": "the algorithm is its loss: algorithm = dqn(loss=huber) or reinforce(...)",
    "loss_weights": "the algorithm is its loss",
    "terms": "the algorithm is its loss",
    "metrics": "it reports returns, episode lengths, loss and epsilon itself",
    "target": "it learns from rewards, with no targets",
    "latent": "it has no latent codes",
    "discriminator": "an agent is not a GAN",
    "early_stop": "it trains for `steps` environment steps",
    "schedule": "its exploration has its own schedule: dqn(epsilon=linear(...))",
}
AGENT_ONLY = ("algorithm", "steps")


def _err(message: str, span: ast.Span, hint: str | None = None) -> NNDSLError:
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(["batch", *map(str, shape)]) + ")"


def agent_plan(
    graph: Graph, values: dict[str, Any], seen: dict[str, ast.Setting], base_dir: str
) -> TrainPlan:
    """The plan of an agent training model `graph` in `values["env"]`."""
    for key, why in REFUSED.items():
        if key in seen:
            raise _err(f"an agent's train block does not take '{key}'", seen[key].key_span, why)
    env: Spec = values["env"]
    span = seen["env"].value.span
    try:
        observation, actions = env_spaces(env)
    except NNDSLError as e:
        raise _err(e.message, span, e.hint) from None
    if actions is None:
        raise _err(
            f"{env.args.get('name', env.name)} has a continuous action space",
            span,
            "the algorithms here choose among discrete actions: pick an environment with a "
            "Discrete action space (e.g. LunarLander-v3, not LunarLanderContinuous-v3)",
        )
    if len(graph.inputs) != 1 or graph.inputs[0].shape != (observation,):
        shapes = ", ".join(_shape(n.shape) for n in graph.inputs)
        raise _err(
            f"{env.name} observes {observation} numbers, but model '{graph.name}' takes {shapes}",
            span,
            f"start the model with input({observation})",
        )
    algorithm: Spec = values["algorithm"]
    algo_span = seen["algorithm"].value.span if "algorithm" in seen else span
    kind = ALGORITHMS[algorithm.name].extra["output"]
    if kind == "actor-critic":
        return _actor_critic_plan(graph, values, seen, base_dir, env, actions, algo_span)
    if len(graph.outputs) != 1:
        raise _err(
            f"{algorithm.name}'s model has one output; '{graph.name}' has several",
            algo_span,
            "two outputs, a policy and a value, are for algorithm = a2c(...)",
        )
    out = graph.output
    if out.shape != (actions,):
        raise _err(
            f"{env.name} has {actions} actions, but model '{graph.name}' ends in "
            f"{_shape(out.shape)}",
            span,
            f"end it in one unit per action: dense({actions})",
        )
    act = node_activation(out).name
    wants = ("linear",) if kind == "values" else ("softmax", "linear")
    if act not in wants:
        raise _err(
            f"{algorithm.name} needs the model to end in {' or '.join(wants)}, not {act}",
            algo_span,
            "an action's value is any number: dense(actions)"
            if wants == ("linear",)
            else "a policy ends in dense(actions, activation=softmax)",
        )
    args = {p.name: p.default for p in ALGORITHMS[algorithm.name].params} | algorithm.args
    if "buffer" in args and args["buffer"] < values["batch_size"]:
        raise _err(
            f"dqn's buffer ({args['buffer']}) holds fewer transitions than a batch "
            f"({values['batch_size']}): it would never learn",
            seen["algorithm"].value.span if "algorithm" in seen else span,
            "make buffer much larger than batch_size, e.g. buffer=50000",
        )
    # the engine's loss: none of DQN's own (it differentiates its TD error), but a policy's
    # softmax is split off so that its logits give stable log-probabilities
    loss = Spec("mse" if wants == ("linear",) else "sparse_categorical_crossentropy")
    values = dict(values)
    if "epochs" not in seen:
        values["epochs"] = 0  # no cap on the episodes: `steps` decides
    return TrainPlan(model=graph.name, loss=loss, base_dir=base_dir, **values)


def _actor_critic_plan(
    graph: Graph,
    values: dict[str, Any],
    seen: dict[str, ast.Setting],
    base_dir: str,
    env: Spec,
    actions: int,
    span: ast.Span,
) -> TrainPlan:
    """An actor-critic's model ends in `output policy, value`: one unit per action
    (softmax, or logits) and one linear unit. Its engine has a head for each (their
    losses unused: the algorithm differentiates its own), the policy's softmax split off
    so that its logits give stable log-probabilities."""
    name = values["algorithm"].name
    hint = (
        f"end it in two outputs: policy = dense({actions}, activation=softmax, from=h), "
        "value = dense(1, from=h), output policy, value"
    )
    if len(graph.outputs) != 2:
        raise _err(
            f"{name} needs a policy and a value head (two outputs); '{graph.name}' has "
            f"{len(graph.outputs)}",
            span,
            hint,
        )
    policy, value = graph.output_nodes
    if policy.shape != (actions,) or node_activation(policy).name not in ("softmax", "linear"):
        raise _err(
            f"{name}'s first output '{policy.name}' is the policy: {env.name} has {actions} "
            f"actions, so {_shape((actions,))} with softmax (or logits), not "
            f"{_shape(policy.shape)} with {node_activation(policy).name}",
            span,
            hint,
        )
    if value.shape != (1,) or node_activation(value).name != "linear":
        raise _err(
            f"{name}'s second output '{value.name}' is the value: (batch, 1), linear, not "
            f"{_shape(value.shape)} with {node_activation(value).name}",
            span,
            hint,
        )
    heads = [
        Head(policy.name, Spec("sparse_categorical_crossentropy")),
        Head(value.name, Spec("mse")),
    ]
    values = dict(values)
    if "epochs" not in seen:
        values["epochs"] = 0
    return TrainPlan(model=graph.name, loss=heads[0].loss, base_dir=base_dir, heads=heads, **values)
