"""A train block's heads and loss terms: which loss, weight and metrics train each output
of the model (`loss`, `loss_weights`, `metrics`, written once for every output or as a
group per output), and the extra terms on named layers (`terms`). Every mistake is a
located error; the compiler (nndsl.compiler) calls `compile_heads` for each block."""

from __future__ import annotations

from typing import Any

from nndsl.errors import NNDSLError, did_you_mean
from nndsl.ir import catalog  # noqa: F401  (registers the catalogs)
from nndsl.ir.adversarial import gan_columns
from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.graph import Graph
from nndsl.ir.heads import node_activation
from nndsl.ir.metrics import metric_key, resolve
from nndsl.ir.plan import Head, LossTerm, TrainPlan, history_columns
from nndsl.ir.signature import CATALOGS, Spec, bind, convert
from nndsl.ir.targets import target_kind
from nndsl.ir.terms import TERMS
from nndsl.ir.weighting import CLASSIFYING, check_class_weight_value
from nndsl.syntax import ast

# the settings bound here rather than by the train block's signature
HEADS = ("loss", "loss_weights", "metrics", "terms")
_PARAMS = {p.name: p for p in TRAIN_SETTINGS.params}


def _err(message: str, span: ast.Span | None, hint: str | None = None) -> NNDSLError:
    if span is None:
        return NNDSLError(message, hint=hint)
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def compile_heads(
    graph: Graph, seen: dict[str, ast.Setting]
) -> tuple[list[Head], list[LossTerm], dict[str, Any]]:
    """(one Head per output in declared order, the terms, the plan's `loss`, `metrics`
    and `loss_weights` fields: the first head's loss and metrics, the weights as written)."""
    outputs = list(graph.outputs)
    losses = _per_output(seen["loss"], outputs, _bind_loss, "loss")
    missing = [o for o in outputs if o not in losses]
    if missing:
        raise _err(
            f"output '{missing[0]}' has no loss",
            seen["loss"].value.span,
            f"add {missing[0]}=... to the group, e.g. "
            f"{missing[0]}={_suggest_loss(graph, missing[0])}; outputs: {', '.join(outputs)}",
        )
    weights = _weights(seen.get("loss_weights"), outputs)
    metrics = _metrics(seen.get("metrics"), outputs, losses)
    heads = [Head(o, losses[o], weights.get(o, 1.0), tuple(metrics.get(o, ()))) for o in outputs]
    terms = _terms(seen.get("terms"), graph, heads)
    first = heads[0]
    written = {
        "loss": first.loss,
        "metrics": [Spec(m) for m in first.metrics] if len(heads) == 1 else [],
        "loss_weights": weights or None,
    }
    return heads, terms, written


def loss_span(setting: ast.Setting, output: str) -> ast.Span:
    """Where the loss of `output` is written: its entry of a group, else the setting."""
    if isinstance(setting.value, ast.Group):
        for arg in setting.value.args:
            if arg.name == output:
                return arg.value.span
    return setting.value.span


# ---------------------------------------------------------------- per output


def _per_output(setting: ast.Setting, outputs: list[str], bind_one, what: str) -> dict:
    """{output: bound value}: one written value for every output, or a group by output."""
    value = setting.value
    if not isinstance(value, ast.Group):
        bound = bind_one(value)
        return dict.fromkeys(outputs, bound)
    out: dict[str, Any] = {}
    for arg in value.args:
        if arg.name is None:
            raise _err(
                f"'{what}' as a group names an output for each value, e.g. ({outputs[0]}=...)",
                arg.span,
                "outputs: " + ", ".join(outputs),
            )
        _check_output(arg, outputs, what)
        if arg.name in out:
            raise _err(f"'{what}': output '{arg.name}' is given twice", arg.span)
        out[arg.name] = bind_one(arg.value)
    return out


def _check_output(arg: ast.Arg, outputs: list[str], what: str) -> None:
    if arg.name not in outputs:
        hint = did_you_mean(arg.name, outputs)
        listed = "outputs: " + ", ".join(outputs)
        raise _err(
            f"'{what}' names '{arg.name}', which is not an output of the model",
            arg.span,
            f"{hint} ({listed})" if hint else listed,
        )


def _bind_loss(value: ast.Value) -> Spec:
    return convert(_PARAMS["loss"], value, "train")


def _suggest_loss(graph: Graph, output: str) -> str:
    act = node_activation(graph[output]).name
    return {"sigmoid": "binary_crossentropy", "softmax": "sparse_categorical_crossentropy"}.get(
        act, "mse"
    )


def _weights(setting: ast.Setting | None, outputs: list[str]) -> dict[str, float]:
    if setting is None:
        return {}
    value = setting.value
    if not isinstance(value, ast.Group):
        raise _err(
            "'loss_weights' is a group with a weight per output, e.g. "
            f"({', '.join(f'{o}=1' for o in outputs)})",
            value.span,
        )
    out: dict[str, float] = {}
    for arg in value.args:
        if arg.name is None:
            raise _err(
                "'loss_weights' names an output for each weight",
                arg.span,
                "outputs: " + ", ".join(outputs),
            )
        _check_output(arg, outputs, "loss_weights")
        number = _number(arg.value)
        if number is None:
            raise _err(f"loss_weights: the weight of '{arg.name}' must be a number", arg.value.span)
        if number < 0:
            raise _err(
                f"loss_weights: the weight of '{arg.name}' must be >= 0, got {number:g}",
                arg.value.span,
                "a weight scales that output's loss in the total; 0 leaves it out",
            )
        out[arg.name] = float(number)
    return out


def _number(value: ast.Value) -> float | None:
    """A written number, `-2` and `(0.5)` included; None for anything else."""
    if isinstance(value, ast.Number) and not isinstance(value.value, bool):
        return float(value.value)
    if type(value).__name__ == "Neg":
        inner = _number(value.operand)
        return None if inner is None else -inner
    if type(value).__name__ == "Paren":
        return _number(value.inner)
    return None


# ---------------------------------------------------------------- metrics


def _metrics(
    setting: ast.Setting | None, outputs: list[str], losses: dict[str, Spec]
) -> dict[str, list[str]]:
    if setting is None:
        return {}
    value = setting.value
    bind_list = lambda v: [metric_key(m) for m in convert(_PARAMS["metrics"], v, "train")]  # noqa: E731
    if isinstance(value, ast.Group):
        chosen = _per_output(setting, outputs, bind_list, "metrics")
        for arg in value.args:
            _check_needs(chosen[arg.name], arg.value, arg.name, losses[arg.name])
        return chosen
    names = bind_list(value)
    if len(outputs) == 1:
        _check_needs(names, value, outputs[0], losses[outputs[0]])
        return {outputs[0]: names}
    # listed for every output: each goes to the outputs whose loss it fits
    items = value.items if isinstance(value, ast.ListValue) else (value,)
    out: dict[str, list[str]] = {o: [] for o in outputs}
    for name, item in zip(names, items):
        fits = CATALOGS["metric"][resolve(name)[0]].extra.get("fits", ())
        taking = [o for o in outputs if target_kind(losses[o].name) in fits]
        if not taking:
            kinds = ", ".join(f"{o} ({losses[o].name})" for o in outputs)
            raise _err(
                f"metric '{name}' fits none of the outputs: {kinds}",
                item.span,
                f"name the output it is for: metrics = ({outputs[0]}=[{name}])",
            )
        for o in taking:
            out[o].append(name)
    return out


def _check_needs(names: list[str], value: ast.Value, output: str, loss: Spec) -> None:
    """A metric named for an output must be computable there: `auc` needs classes, `r2`
    values (each metric's `needs` in nndsl.ir.catalog)."""
    items = value.items if isinstance(value, ast.ListValue) else (value,)
    kind = target_kind(loss.name)
    for key, item in zip(names, items):
        name = resolve(key)[0]
        needs = CATALOGS["metric"][name].extra.get("needs")
        if needs is None or kind in needs:
            continue
        fitting = [
            m for m, e in CATALOGS["metric"].items() if kind in e.extra.get("needs", (kind,))
        ]
        raise _err(
            f"metric '{name}' needs an output trained on {' or '.join(needs)} targets; "
            f"'{output}' is trained with {loss.name} ({kind} targets)",
            item.span,
            "metrics for this output: " + ", ".join(fitting),
        )


# ---------------------------------------------------------------- terms


def _terms(setting: ast.Setting | None, graph: Graph, heads: list[Head]) -> list[LossTerm]:
    if setting is None:
        return []
    value = setting.value
    if not isinstance(value, ast.Group):
        raise _err(
            "'terms' is a group of named terms, e.g. (sparsity = 0.001 * l1(h))",
            value.span,
            "term functions: " + ", ".join(TERMS),
        )
    taken = set(history_columns(heads, [])) | {"lr"}
    out: list[LossTerm] = []
    for arg in value.args:
        if arg.name is None:
            raise _err("each term has a name: (sparsity = 0.001 * l1(h))", arg.span)
        if arg.name in taken or arg.name.startswith("val_"):
            raise _err(
                f"the term name '{arg.name}' is already a history column",
                arg.span,
                "give the term its own name, e.g. sparsity",
            )
        taken.add(arg.name)
        out.append(_term(arg, graph))
    return out


def _term(arg: ast.Arg, graph: Graph) -> LossTerm:
    call, weight = _weighted_call(arg.value)
    entry = TERMS.get(call.name)
    if entry is None:
        hint = did_you_mean(call.name, TERMS) or "term functions: " + ", ".join(TERMS)
        what = next((k for k, e in CATALOGS.items() if k != "term" and call.name in e), None)
        if what and not did_you_mean(call.name, TERMS):
            hint = f"'{call.name}' is a {what}; term functions: " + ", ".join(TERMS)
        raise _err(f"unknown term function '{call.name}'", call.name_span, hint)
    bound = bind(entry.params, call.args, f"{call.name}()", call.span)
    refs = [p.name for p in entry.params if p.kind == "ref"]
    inputs = []
    for ref in refs:
        name = bound.pop(ref)
        node = graph.resolve(name)
        if node is None:
            span = _arg_span(call, entry, ref)
            named = [*graph.names, *(n.name for n in graph.nodes if n.op != "input")]
            named = list(dict.fromkeys(named))
            hint = did_you_mean(name, named) or "layers: " + ", ".join(named[:12])
            raise _err(f"{call.name}(): no layer named '{name}'", span, hint)
        inputs.append(node)
    if entry.extra.get("same_shape") and len({graph[i].shape for i in inputs}) > 1:
        shapes = ", ".join(f"{i} {_shape(graph[i].shape)}" for i in inputs)
        raise _err(
            f"{call.name}() needs layers of one shape, got {shapes}",
            call.span,
            "give both layers the same units",
        )
    return LossTerm(arg.name, call.name, tuple(inputs), weight, bound)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(["batch", *map(str, shape)]) + ")"


def _arg_span(call: ast.Call, entry, name: str) -> ast.Span:
    names = [p.name for p in entry.params]
    for i, a in enumerate(call.args):
        if a.name == name or (a.name is None and i < len(names) and names[i] == name):
            return a.value.span
    return call.span


def _weighted_call(value: ast.Value) -> tuple[ast.Call, float]:
    """`fn(...)`, `w * fn(...)`, `fn(...) * w` or `fn(...) / n` as (the call, its weight)."""
    kind = type(value).__name__
    if kind == "Paren":
        return _weighted_call(value.inner)
    if isinstance(value, ast.Call):
        return value, 1.0
    if kind == "BinOp" and value.op in ("*", "/"):
        left, right = value.left, value.right
        if value.op == "*" and _number(left) is not None:
            call, inner = _weighted_call(right)
            return call, _check_weight(_number(left) * inner, left.span)
        if _number(right) is not None:
            call, inner = _weighted_call(left)
            n = _number(right)
            if value.op == "/" and n == 0:
                raise _err("a term divided by 0", right.span)
            w = inner * n if value.op == "*" else inner / n
            return call, _check_weight(w, right.span)
    raise _err(
        "a term is a weight times a term function of named layers, e.g. 0.001 * l1(h)",
        value.span,
        "term functions: " + ", ".join(TERMS),
    )


def _check_weight(weight: float, span: ast.Span) -> float:
    if weight < 0:
        raise _err(
            f"a term's weight must be >= 0, got {weight:g}",
            span,
            "the total loss is minimized: a negative weight would reward the term growing",
        )
    return weight


# ---------------------------------------------------------------- what early_stop watches


def check_monitors(plan: TrainPlan, seen: dict[str, ast.Setting]) -> None:
    """early_stop (and reduce_on_plateau) watch a column training will report: `loss`,
    every head's and term's column, `lr`, and their `val_` versions."""
    if plan.discriminator is not None:
        columns = [*gan_columns(plan.gan_loss.name), "lr"]
    else:
        columns = [*history_columns(plan.heads, plan.terms), "lr"]
    every = columns + [f"val_{c}" for c in columns if c != "lr"]
    watched = []
    if plan.early_stop is not None and "early_stop" in seen:
        watched.append((plan.early_stop["monitor"], seen["early_stop"].value, "early_stop"))
    if plan.schedule is not None and "monitor" in plan.schedule.args and "schedule" in seen:
        watched.append((plan.schedule.args["monitor"], seen["schedule"].value, plan.schedule.name))
    for monitor, value, owner in watched:
        if monitor in every:
            continue
        span = next(
            (a.value.span for a in getattr(value, "args", ()) if a.name == "monitor"), value.span
        )
        hint = did_you_mean(monitor, every)
        listed = "columns: " + ", ".join(every)
        raise _err(
            f"{owner} monitors '{monitor}', a column training does not report",
            span,
            f"{hint} ({listed})" if hint else listed,
        )


# ---------------------------------------------------------------- the plan as a whole


def check_plan(plan: TrainPlan, seen: dict[str, ast.Setting]) -> None:
    """What needs the whole plan: the data's targets name the outputs, the monitored
    columns exist."""
    _check_csv_targets(plan, seen)
    check_monitors(plan, seen)
    _check_loss_weighting(plan, seen)


def _check_loss_weighting(plan: TrainPlan, seen: dict[str, ast.Setting]) -> None:
    """class_weight weighs the classes of one classifying output; a weight column
    (csv(weight=...)) one output's samples; not both (as Keras refuses both)."""
    column = plan.data.args.get("weight") if plan.data is not None else None
    several = len(plan.heads) > 1 or plan.terms
    if column is not None and several:
        raise _err(
            f"{plan.data.name}(weight=...): sample weights need a model with one output and "
            "no loss terms",
            seen["data"].value.span,
        )
    if column is not None and plan.data.args.get("stream"):  # batches read as they come
        raise _err(
            "parquet(stream=true) reads no weight column (yet)",
            seen["data"].value.span,
            "leave out stream=true to load the table whole, or leave out weight=",
        )
    if plan.class_weight is None:
        return
    setting = seen["class_weight"]
    problem = check_class_weight_value(plan.class_weight)
    if problem is not None:
        raise _err(
            problem,
            setting.value.span,
            "e.g. class_weight = balanced, class_weight = (churned=5, stayed=1) or "
            "class_weight = [1, 5]",
        )
    if several:
        raise _err(
            "class_weight weighs the classes of one output; this model has several outputs "
            "or loss terms",
            setting.key_span,
        )
    loss = plan.heads[0].loss.name if plan.heads else plan.loss.name
    if target_kind(loss) not in CLASSIFYING:
        raise _err(
            f"class_weight weighs classes, and the loss {loss} is a regression's",
            setting.key_span,
            "class_weight goes with binary_crossentropy, categorical_crossentropy or "
            "sparse_categorical_crossentropy; to weigh rows, use a weight column: "
            'csv(..., weight="w")',
        )
    if column is not None:
        raise _err(
            f"class_weight and the weight column '{column}' together: give one (Keras, too, "
            "refuses class_weight with sample weights)",
            setting.key_span,
            "fold the class's weight into the column, or leave the column out",
        )


def _check_csv_targets(plan: TrainPlan, seen: dict[str, ast.Setting]) -> None:
    """A csv source of a model with several outputs names a target column for each: a
    list in declared order, or a group by output (put in declared order here)."""
    spec = plan.data
    if spec is None or spec.name != "csv" or "data" not in seen:
        return
    outputs = [h.output for h in plan.heads]
    target = spec.args.get("target")
    value = seen["data"].value
    if target is None and plan.target != "input":
        raise _err(
            'csv() needs the target column: target="COLUMN"',
            value.span,
            'e.g. csv("data.csv", target="label"); an autoencoder, which learns to give '
            "back its inputs, says target = input in the train block instead",
        )
    span = next(
        (a.value.span for a in getattr(value, "args", ()) if a.name == "target"), value.span
    )
    if isinstance(target, dict):
        arg = next((a for a in value.args if a.name == "target"), None)
        for entry in getattr(arg.value, "args", ()) if arg is not None else ():
            if entry.name is None or not isinstance(target.get(entry.name), str):
                raise _err('csv(): each target is output="column"', entry.span)
            _check_output(entry, outputs, "target")
        missing = [o for o in outputs if o not in target]
        if missing:
            raise _err(
                f"csv(): no target column for output '{missing[0]}'",
                span,
                f'add {missing[0]}="COLUMN" to the group; outputs: ' + ", ".join(outputs),
            )
        spec.args["target"] = {o: target[o] for o in outputs}
        return
    if len(outputs) < 2:
        return
    columns = [target] if isinstance(target, str) else list(target or [])
    if len(columns) != len(outputs):
        raise _err(
            f"csv(): the model has {len(outputs)} outputs ({', '.join(outputs)}) but "
            f"{len(columns)} target column{'s' if len(columns) != 1 else ''}",
            span,
            "name one per output, in order: target=[...], or by output: target=("
            + ", ".join(f'{o}="..."' for o in outputs)
            + ")",
        )


# ---------------------------------------------------------------- generative models


def check_generative(plan: TrainPlan, graph: Graph, seen: dict[str, ast.Setting]) -> None:
    """`target = input` (an autoencoder) needs one input whose shape its one output has;
    `latent` names a layer of the model."""
    if plan.target == "input":
        span = seen["target"].value.span
        if len(graph.inputs) != 1:
            raise _err(
                f"target = input needs a model with one input, '{graph.name}' has "
                f"{len(graph.inputs)}",
                span,
            )
        shape = graph.inputs[0].shape
        for head in plan.heads_for(graph):
            if graph[head.output].shape != shape:
                raise _err(
                    f"target = input: output '{head.output}' has shape "
                    f"{_shape(graph[head.output].shape)} but the input has {_shape(shape)}",
                    span,
                    "an autoencoder's output gives back its input: end it in "
                    f"{shape[-1]} units (reshape to {_shape(shape)} if needed)",
                )
    if plan.latent is not None:
        plan.latent = _layer_ref(graph, plan.latent, seen["latent"].value.span, "latent")


def _layer_ref(graph: Graph, name: str, span: ast.Span, what: str) -> str:
    node = graph.resolve(name)
    if node is None:
        named = list(dict.fromkeys([*graph.names, *(n.name for n in graph.nodes)]))
        hint = did_you_mean(name, named) or "layers: " + ", ".join(named[:12])
        raise _err(f"{what}: no layer named '{name}' in model '{graph.name}'", span, hint)
    return node


def gan_plan(
    graphs: dict[str, Graph],
    model: str,
    values: dict[str, Any],
    seen: dict[str, ast.Setting],
    base_dir: str,
) -> TrainPlan:
    """The plan of a GAN: `model` is the generator (its first input the noise, a second
    one the class it is asked for), `discriminator` the model that tells its samples
    from the data's (first input a sample, a second one the class), ending in one unit:
    a logit or sigmoid, or a linear score for wasserstein."""
    span = seen["discriminator"].value.span
    name = values["discriminator"]
    refused = {
        "loss": "its losses are the game's: gan_loss = non_saturating | minimax | wasserstein",
        "loss_weights": "its losses are the game's: gan_loss = ...",
        "terms": "its losses are the game's: gan_loss = ...",
        "metrics": "it reports d_loss, g_loss and the discriminator's accuracies itself",
        "target": "it learns the data's samples, with no targets",
        "latent": "its generator's first input is the noise it samples from",
        "class_weight": "its losses are the game's: gan_loss = ...",
    }
    for key, why in refused.items():
        if key in seen:
            raise _err(f"a GAN does not take '{key}'", seen[key].key_span, why)
    if name not in graphs:
        hint = did_you_mean(name, graphs) or "models in this file: " + ", ".join(graphs)
        raise _err(f"discriminator: no model named '{name}'", span, hint)
    if name == model:
        raise _err("a GAN's discriminator is a model of its own, not the generator", span)
    gen, disc = graphs[model], graphs[name]
    for g in (gen, disc):
        if len(g.outputs) != 1:
            raise _err(f"a GAN's models have one output each; '{g.name}' has several", span)
    if len(disc.inputs) != len(gen.inputs) or len(gen.inputs) > 2:
        raise _err(
            f"the generator '{gen.name}' has {len(gen.inputs)} input(s) and the "
            f"discriminator '{name}' {len(disc.inputs)}",
            span,
            "unconditional: one input each (noise; a sample); conditional: two each "
            "(noise, class; sample, class)",
        )
    made, takes = gen.output.shape, disc.inputs[0].shape
    if made != takes:
        raise _err(
            f"the generator '{gen.name}' makes samples of shape {_shape(made)} but the "
            f"discriminator '{name}' takes {_shape(takes)}",
            span,
            f"give '{name}' input({', '.join(map(str, made))})",
        )
    for g in (gen, disc) if len(gen.inputs) == 2 else ():
        if g.inputs[1].shape != (1,):
            raise _err(
                f"the class input '{g.inputs[1].name}' of '{g.name}' is "
                f"{_shape(g.inputs[1].shape)}; a class is one number per sample",
                span,
                f"declare it {g.inputs[1].name} = input(1) (and embed it)",
            )
    if len(gen.inputs) == 2 and gen.inputs[1].shape != disc.inputs[1].shape:
        raise _err(
            f"the class inputs differ: '{gen.inputs[1].name}' {_shape(gen.inputs[1].shape)} "
            f"in '{gen.name}', '{disc.inputs[1].name}' {_shape(disc.inputs[1].shape)} in "
            f"'{name}'",
            span,
        )
    out = disc.output
    act = node_activation(out).name
    if out.shape not in ((1,), ()):
        raise _err(
            f"the discriminator '{name}' ends in {_shape(out.shape)}; it gives one number "
            "per sample",
            span,
            "end it in dense(1, activation=sigmoid) (wasserstein: dense(1))",
        )
    loss = values["gan_loss"]
    wants = ("sigmoid", "linear") if loss.name != "wasserstein" else ("linear",)
    if act not in wants:
        raise _err(
            f"gan_loss = {loss.name} needs the discriminator '{name}' to end in "
            f"{' or '.join(wants)}, not {act}",
            seen["gan_loss"].value.span if "gan_loss" in seen else span,
            "a Wasserstein critic's score is unbounded: dense(1)"
            if loss.name == "wasserstein"
            else "end it in dense(1, activation=sigmoid)",
        )
    # `loss` is the discriminator's on its logits: binary cross-entropy splits its sigmoid
    plan = TrainPlan(model=model, loss=Spec("binary_crossentropy"), base_dir=base_dir, **values)
    check_monitors(plan, seen)
    return plan
