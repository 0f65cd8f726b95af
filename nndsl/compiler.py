"""AST -> IR: resolve names, bind and check every argument, infer shapes, count
parameters, and resolve each `train` block into a `TrainPlan`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from nndsl.compile_train import HEADS, check_plan, compile_heads
from nndsl.compile_train import loss_span as _loss_span
from nndsl.errors import NNDSLError, did_you_mean
from nndsl.ir import catalog  # noqa: F401  (registers losses, optimizers, ...)
from nndsl.ir import check as memory
from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.graph import Graph, Node
from nndsl.ir.heads import node_activation
from nndsl.ir.ops import OPS, OpDef, ShapeError, WeightDef, fmt_shape
from nndsl.ir.plan import TrainPlan
from nndsl.ir.signature import CATALOGS, Spec, bind
from nndsl.sweep.grid import Sweep, find_sweep
from nndsl.syntax import ast
from nndsl.syntax.parser import parse

FROM = "from"  # reserved keyword: `dense(8, from=x)` starts a branch at layer x
MAX_LAYERS = 10_000  # per model; `repeat 100000000 {...}` is refused, not stamped out


def _err(message: str, span: ast.Span | None, hint: str | None = None) -> NNDSLError:
    if span is None:
        return NNDSLError(message, hint=hint)
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def _memory_bytes() -> int:
    return memory.machine_memory()


@dataclass
class _Scope:
    """Names visible while a model body is compiled."""

    bound: dict[str, str] = field(default_factory=dict)  # user name -> node name
    defined_later: set[str] = field(default_factory=set)
    used_names: set[str] = field(default_factory=set)  # node names taken
    counters: dict[str, int] = field(default_factory=dict)
    prev: str | None = None
    repeat_depth: int = 0


class _ModelCompiler:
    def __init__(self, model: ast.Model) -> None:
        self.model = model
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.spans: dict[str, ast.Span] = {}
        self.scope = _Scope(defined_later=set(_targets(model.body)))
        self.total_params = 0

    def compile(self) -> Graph:
        self._statements(self.model.body)
        if not self.nodes:
            raise _err(
                f"model '{self.model.name}' has no layers",
                self.model.name_span,
                "start it with input(...), e.g. input(4)",
            )
        return Graph(self.model.name, self.nodes)

    def _statements(self, body: tuple[ast.Statement, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Repeat):
                if stmt.count < 1:
                    raise _err(
                        f"repeat needs a count of at least 1, got {stmt.count}", stmt.count_span
                    )
                stamped = _layer_count((stmt,))
                if stamped == 0:  # an empty body: nothing to stamp out, however often
                    continue
                total = len(self.nodes) + stamped
                if total > MAX_LAYERS:  # refused before it is stamped out
                    length = f"{total:,}" if stamped < _COUNT_CAP else f"over {_COUNT_CAP:,}"
                    raise _err(
                        f"this repeat makes the model {length} layers long; "
                        f"nndsl compiles at most {MAX_LAYERS:,}",
                        stmt.count_span,
                    )
                self.scope.repeat_depth += 1
                for _ in range(stmt.count):
                    self._statements(stmt.body)
                self.scope.repeat_depth -= 1
            else:
                self._layer(stmt)

    def _node_name(self, stmt: ast.Layer) -> str:
        if stmt.target is not None:
            if stmt.target in self.scope.bound and self.scope.repeat_depth == 0:
                first = self.spans[self.scope.bound[stmt.target]]
                raise _err(
                    f"the name '{stmt.target}' is already used (line {first.line})",
                    stmt.target_span,
                    "give each named layer its own name",
                )
            base = stmt.target
        else:
            base = stmt.call.name
        # auto names count per op from 1 (dense_1, dense_2); repeated names get _2, _3
        if stmt.target is not None and base not in self.scope.used_names:
            return base
        k = self.scope.counters.get(base, 1 if stmt.target else 0)
        while True:
            k += 1 if stmt.target or k else 1
            candidate = f"{base}_{k}"
            if candidate not in self.scope.used_names and candidate not in self.scope.defined_later:
                self.scope.counters[base] = k
                return candidate

    def _resolve(self, ref: str, span: ast.Span, stmt: ast.Layer) -> str:
        if ref in self.scope.bound:
            return self.scope.bound[ref]
        if ref == stmt.target or ref in self.scope.defined_later:
            raise _err(
                f"'{ref}' is used before it is defined",
                span,
                "a layer can only use layers above it (the graph cannot have a cycle)",
            )
        hint = did_you_mean(ref, self.scope.bound) or (
            "name a layer to reuse it: h = dense(8)"
            if not self.scope.bound
            else "named layers so far: " + ", ".join(self.scope.bound)
        )
        raise _err(f"undefined name '{ref}'", span, hint)

    def _layer(self, stmt: ast.Layer) -> None:
        call = stmt.call
        opdef = OPS.get(call.name)
        if opdef is None:
            raise _unknown_layer(call)
        attrs = bind(opdef.params, call.args, f"{call.name}()", call.span, reserved=(FROM,))
        inputs = self._inputs(stmt, opdef, attrs)
        name = self._node_name(stmt)
        in_shapes = [self.by_name[i].shape for i in inputs]
        try:
            shape = opdef.shape(in_shapes, attrs)
        except ShapeError as e:
            raise self._shape_error(e, stmt, inputs) from None
        weights = opdef.weights(in_shapes, attrs)
        self._check_literals(call, opdef, weights)
        self._check_size(stmt, name, shape, weights)
        if opdef.inputs == "many":
            attrs = {k: v for k, v in attrs.items() if k != "inputs"}
        node = Node(
            name, call.name, inputs, attrs, tuple(shape), weights, stmt.span.line, stmt.span.column
        )
        self.nodes.append(node)
        self.by_name[name] = node
        self.spans[name] = stmt.span
        self.scope.used_names.add(name)
        if stmt.target is not None:
            self.scope.bound[stmt.target] = name
        self.scope.prev = name

    def _inputs(self, stmt: ast.Layer, opdef: OpDef, attrs: dict) -> list[str]:
        call = stmt.call
        from_arg = next((a for a in call.args if a.name == FROM), None)
        if opdef.inputs == "none":
            if from_arg is not None:
                raise _err(
                    f"{call.name}() takes no '{FROM}': it is where data enters", from_arg.span
                )
            if "shape" in attrs and not attrs["shape"]:
                raise _err(
                    f"{call.name}() needs the shape of one sample",
                    call.span,
                    f"e.g. {call.name}(4) for 4 features, {call.name}(28, 28) for 28x28 images",
                )
            return []
        if from_arg is not None and not isinstance(from_arg.value, ast.Name):
            raise _err(f"'{FROM}' must name a layer, e.g. {FROM}=h", from_arg.span)
        if opdef.inputs == "many":
            refs = [
                self._resolve(r, a.span, stmt)
                for r, a in zip(
                    attrs["inputs"], [a for a in call.args if a.name in (None, "inputs")]
                )
            ]
            if from_arg is not None:
                refs.insert(0, self._resolve(from_arg.value.name, from_arg.span, stmt))
            elif len(refs) < 2:
                if self.scope.prev is None:
                    raise _err(f"{call.name}() needs at least two layers to combine", call.span)
                refs.insert(0, self.scope.prev)
            if len(refs) < 2:
                raise _err(
                    f"{call.name}() needs at least two layers to combine",
                    call.span,
                    f"e.g. h = dense(8) ... {call.name}(h)",
                )
            return refs
        if from_arg is not None:
            return [self._resolve(from_arg.value.name, from_arg.value.span, stmt)]
        if self.scope.prev is None:
            raise _err(
                f"{call.name}() has no input: the model must start with input(...)",
                call.span,
                "add a first line such as input(4), the size of one sample",
            )
        return [self.scope.prev]

    def _shape_error(self, e: ShapeError, stmt: ast.Layer, inputs: list[str]) -> NNDSLError:
        origins = "; ".join(
            f"{fmt_shape(self.by_name[i].shape)} from {i} (line {self.spans[i].line})"
            for i in inputs
        )
        hint = e.hint + "; " if e.hint else ""
        return _err(e.message, stmt.call.span, f"{hint}inputs: {origins}")

    def _check_literals(self, call: ast.Call, opdef: OpDef, weights: list[WeightDef]) -> None:
        for w in weights:
            if w.value is None:
                continue
            got = _nested_shape(w.value)
            if (
                got is None
                or math.prod(got) != math.prod(w.shape)
                or (len(got) == len(w.shape) and got != w.shape)
            ):
                arg = "weights" if w.name == "weight" else w.name
                span = _arg_span(call, opdef, arg)
                shown = "ragged" if got is None else fmt_shape(got).replace("batch, ", "")
                raise _err(
                    f"{call.name}(): literal '{w.name}' has shape {shown}, "
                    f"but the layer needs {fmt_shape(w.shape).replace('batch, ', '')}",
                    span,
                    next((p.doc for p in opdef.params if p.name == arg), None),
                )

    def _check_size(self, stmt: ast.Layer, name: str, shape: tuple, weights: list) -> None:
        count = sum(math.prod(w.shape) for w in weights)
        self.total_params += count
        need = 4 * max(self.total_params, math.prod(shape))
        if need > _memory_bytes():
            raise _err(
                f"{name} is too large: the model needs {_gib(need)} "
                f"for parameters alone (this machine has {_gib(_memory_bytes())})",
                stmt.call.span,
                "use fewer units or a smaller input",
            )


_COUNT_CAP = 10**18  # layer counts saturate here: nested repeats multiply without bound


def _gib(n: int) -> str:
    """Bytes in GiB, for any size a file can ask for (a float division of a product of
    many sizes overflows; printing its digits can exceed Python's limit)."""
    if n >= 2**30 * 10**15:
        return f"over {10**15:,} GiB"
    return f"about {n / 2**30:,.1f} GiB"


def _layer_count(body: tuple[ast.Statement, ...]) -> int:
    """Layers `body` stamps out, repeats multiplied (without stamping them out), at most
    _COUNT_CAP: `repeat 10^99 { repeat 10^99 { ... } }` would otherwise grow past what
    Python will print."""
    total = 0
    for s in body:
        n = s.count * _layer_count(s.body) if isinstance(s, ast.Repeat) else 1
        total = min(total + max(n, 0), _COUNT_CAP)
    return total


def _targets(body: tuple[ast.Statement, ...]) -> list[str]:
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Repeat):
            out.extend(_targets(stmt.body))
        elif stmt.target is not None:
            out.append(stmt.target)
    return out


def _nested_shape(value) -> tuple[int, ...] | None:
    if not isinstance(value, list):
        return ()
    subs = [_nested_shape(v) for v in value]
    if any(s is None or s != subs[0] for s in subs):
        return None
    return (len(value), *subs[0])


def _arg_span(call: ast.Call, opdef: OpDef, name: str) -> ast.Span:
    names = [p.name for p in opdef.params]
    for i, a in enumerate(call.args):
        if a.name == name or (a.name is None and i < len(names) and names[i] == name):
            return a.value.span
    return call.span


def _unknown_layer(call: ast.Call) -> NNDSLError:
    for kind, entries in CATALOGS.items():
        if kind not in ("layer", "activation") and call.name in entries:
            return _err(
                f"'{call.name}' is a {kind}, not a layer",
                call.name_span,
                f"set it in the train block, e.g. {kind} = {call.name}"
                if kind in ("loss", "optimizer", "schedule")
                else None,
            )
    hint = did_you_mean(call.name, OPS) or "layers: " + ", ".join(OPS)
    return _err(f"unknown layer '{call.name}'", call.name_span, hint)


# --------------------------------------------------------------------------- train blocks


def _check_loss_fits(loss_spec: Spec, out: Node, span: ast.Span) -> None:
    """The loss fits the output it trains (its activation and units), else a located
    error saying what would."""
    loss = loss_spec.name
    entry = CATALOGS["loss"][loss]
    act = node_activation(out).name
    units = out.shape[-1] if out.shape else 1
    where = f"the output layer ({out.name}, line {out.line})"
    wants = entry.extra.get("logits")
    if wants == "sigmoid" and act == "softmax" and units == 1:
        raise _err(  # softmax over one unit is 1 whatever the input: nothing can train
            f"{loss} expects a sigmoid output, but {where} is one softmax unit, "
            "which always outputs 1",
            span,
            "for two classes use one sigmoid unit: dense(1, activation=sigmoid)",
        )
    if wants == "sigmoid" and act == "softmax":
        raise _err(
            f"{loss} expects sigmoid outputs, but {where} has softmax over {units} units",
            span,
            "use categorical_crossentropy (one-hot targets) or "
            "sparse_categorical_crossentropy (integer labels)",
        )
    if wants == "softmax" and units == 1:
        raise _err(
            f"{loss} needs one output unit per class, but {where} has 1 unit",
            span,
            "for two classes with one sigmoid unit use binary_crossentropy",
        )
    if wants == "softmax" and act == "sigmoid":
        raise _err(
            f"{loss} expects softmax outputs, but {where} has sigmoid",
            span,
            "use activation=softmax on the output, or binary_crossentropy for independent labels",
        )
    if wants and act not in (wants, "linear"):
        raise _err(
            f"{loss} needs probabilities ({wants}) or logits (linear) from the output, "
            f"but {where} has {act}",
            span,
            f"use activation={wants} on the output layer",
        )


_SETTING_NAMES = [p.name for p in TRAIN_SETTINGS.params]


def _compile_train(block: ast.Train, graphs: dict[str, Graph], base_dir: str) -> TrainPlan:
    if block.model is None:
        if len(graphs) != 1:
            raise _err(
                "this train block does not say which model it trains",
                block.span,
                "name one: train " + " | ".join(graphs) + " { ... }"
                if graphs
                else "define a model first: model NAME { ... }",
            )
        model = next(iter(graphs))
    else:
        model = block.model
        if model not in graphs:
            hint = did_you_mean(model, graphs) or (
                "models in this file: " + ", ".join(graphs) if graphs else "no model is defined"
            )
            raise _err(f"train block names unknown model '{model}'", block.model_span, hint)
    seen: dict[str, ast.Setting] = {}
    for s in block.settings:
        if s.key in seen:
            raise _err(
                f"setting '{s.key}' is given twice (first on line {seen[s.key].span.line})",
                s.key_span,
            )
        seen[s.key] = s
        if s.key not in _SETTING_NAMES:
            hint = did_you_mean(s.key, _SETTING_NAMES) or "settings: " + ", ".join(_SETTING_NAMES)
            raise _err(f"unknown setting '{s.key}'", s.key_span, hint)
    graph = graphs[model]
    if "loss" not in seen:
        raise _err("the train block needs a loss", block.span, _loss_hint(graph))
    # the settings a head or a term is made of are bound here, per output (train_heads)
    args = tuple(ast.Arg(s.key, s.value, s.span) for s in block.settings if s.key not in HEADS)
    own = tuple(p for p in TRAIN_SETTINGS.params if p.name not in HEADS)
    values = bind(own, args, "train", block.span)
    heads, terms, written = compile_heads(graph, seen)
    for head in heads:
        _check_loss_fits(head.loss, graph[head.output], _loss_span(seen["loss"], head.output))
    values.update(written)
    plan = TrainPlan(model=model, base_dir=base_dir, heads=heads, terms=terms, **values)
    check_plan(plan, seen)
    _check_memory(plan, graph, seen, block)
    if plan.validation + plan.test >= 1:
        raise _err(
            "validation and test fractions leave no data to train on",
            seen.get("test", seen.get("validation")).value.span,
        )
    return plan


def _check_memory(
    plan: TrainPlan, graph: Graph, seen: dict[str, ast.Setting], block: ast.Train
) -> None:
    """Refuse training that needs more memory than this machine has (parameters,
    gradients, optimizer state, the batch's activations), before anything is allocated."""
    need = memory.estimate_memory(graph, plan.dtype, plan.batch_size, plan.optimizer)
    try:
        memory.check_fits(need, f"training '{plan.model}'")
    except NNDSLError as e:
        batch = seen.get("batch_size") if need.activations > need.total // 2 else None
        span = batch.value.span if batch is not None else (block.model_span or block.span)
        raise _err(e.message, span, e.hint) from None


def _loss_hint(graph: Graph, output: str | None = None) -> str:
    act = node_activation(graph[output] if output else graph.output).name
    suggestion = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy"}.get(
        act, "mse"
    )
    return f"e.g. loss = {suggestion}"


@dataclass
class CompiledFile:
    models: dict[str, Graph]
    plans: list[TrainPlan]
    module: ast.Module
    sweep: Sweep | None = None  # lists written where one value goes (nndsl.sweep.grid)


def compile_module(module: ast.Module) -> CompiledFile:
    """Check a parsed file and lower it to graphs and plans; errors carry path and source.
    A sweep file compiles as its first trial, after every value of every list has been
    checked in some trial; `.sweep` describes the grid."""
    try:
        sweep = find_sweep(module)
    except NNDSLError as e:
        raise e.located(module.path, module.source) from None
    if sweep is None:
        return _compile_plain(module)
    _check_sweep_work(module, sweep)
    first = None
    graphs: dict[int, tuple[ast.Model, Graph]] = {}  # a model no list lies in compiles once
    for index in sweep.covering():
        compiled = _compile_plain(sweep.module_for(index), graphs)
        first = first or compiled
    sweep.name_layers(first.models)
    first.sweep = sweep
    return first


SWEEP_WORK = 200_000  # layers compiled to check every value of a sweep's layer lists


def _check_sweep_work(module: ast.Module, sweep: Sweep) -> None:
    """Refuse a sweep whose values in layers would take long to check: each one
    compiles its model again (`repeat 9999 { dense([1, 2, ..., 1000]) }`)."""
    layers = sum(_layer_count(m.body) for m in module.models)
    compiles = 1
    for axis in sweep.axes:
        if axis.layer is None:
            continue
        compiles += len(axis) - 1
        if compiles * layers > SWEEP_WORK:
            e = _err(
                f"checking every value of this sweep compiles the model {compiles:,} times "
                f"({layers:,} layers each); nndsl checks at most {SWEEP_WORK:,} layers",
                axis.values.span,
                "sweep fewer values, or a smaller model",
            )
            raise e.located(module.path, module.source)


def _compile_plain(
    module: ast.Module, cache: dict[int, tuple[ast.Model, Graph]] | None = None
) -> CompiledFile:
    """`cache` (id of a model's AST -> the AST, kept alive so its id is not reused, and
    its graph) lets a sweep's trials share the graphs of the models they leave unchanged
    (sweep.module_for keeps those objects)."""
    try:
        graphs: dict[str, Graph] = {}
        for m in module.models:
            if m.name in graphs:
                raise _err(f"model '{m.name}' is defined twice", m.name_span)
            hit = cache.get(id(m)) if cache is not None else None
            graph = hit[1] if hit is not None and hit[0] is m else _ModelCompiler(m).compile()
            if cache is not None:
                cache[id(m)] = (m, graph)
            graphs[m.name] = graph
        base = str(Path(module.path).resolve().parent) if module.path else os.getcwd()
        plans = [_compile_train(t, graphs, base) for t in module.trains]
        if not graphs:
            raise NNDSLError(
                "no model in this file",
                line=1,
                column=1,
                hint="define one: model NAME { input(4) dense(1) }",
            )
    except NNDSLError as e:
        raise e.located(module.path, module.source) from None
    return CompiledFile(graphs, plans, module)


def compile_source(source: str, path: str | None = None) -> CompiledFile:
    return compile_module(parse(source, path))


def apply_overrides(module: ast.Module, sets: list[str], model: str | None = None) -> None:
    """Apply `--set key=value` overrides (values in .nn syntax) to a train block."""
    if not sets:
        return
    block = next((t for t in module.trains if model is None or t.model == model), None)
    if block is None:
        raise NNDSLError(
            "--set needs a train block to change", hint="add one: train NAME { loss = mse }"
        )
    settings = list(block.settings)
    for text in sets:
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            raise NNDSLError("write key=value, e.g. --set epochs=20", path=f"--set {text}")
        snippet = f"train {{ {key.strip()} = {value.strip()} }}"
        try:
            (parsed,) = parse(snippet, "--set").trains
        except NNDSLError as e:
            raise NNDSLError(e.message, path=f"--set {text}", hint=e.hint) from None
        (new,) = parsed.settings
        settings = [s for s in settings if s.key != new.key] + [new]
    module.trains[module.trains.index(block)] = ast.Train(
        block.model, tuple(settings), block.span, block.model_span
    )


def compile_with_overrides(module: ast.Module, sets: list[str]) -> CompiledFile:
    """Compile with `--set` overrides applied. A mistake an override brings is reported
    against it (`--set key=value: error: ...`): its spans point into the override's text,
    not into the file."""
    if not sets:
        return compile_module(module)
    try:
        compiled = compile_module(module)
    except NNDSLError:  # the file alone does not compile; an override may be what fixes it
        apply_overrides(module, sets)
        return compile_module(module)
    for text in sets:
        apply_overrides(module, [text])
        try:
            compiled = compile_module(module)
        except NNDSLError as e:
            raise NNDSLError(e.message, path=f"--set {text}", hint=e.hint) from None
    return compiled
