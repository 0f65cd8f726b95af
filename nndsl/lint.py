"""Semantic warnings: a file that compiles and would train, but probably not as meant.

Each warning is an `NNDSLWarning`, located and rendered like an error
(`file:line:col: warning: ...`, the line, a caret, a hint) and never fatal:

- a layer whose output nothing uses (it cannot affect the model);
- dropout after the output layer (it zeroes outputs, not hidden units);
- a sigmoid or softmax hidden behind a later layer while the loss is a cross-entropy,
  which then treats probabilities as logits (a softmax/sigmoid output itself is checked
  by the compiler: binary cross-entropy on softmax and categorical cross-entropy on a
  sigmoid are errors there);
- a learning rate outside 1e-6..10;
- a batch size larger than the training set (known once the data is loaded, or from
  `synthetic(n=...)` before).

`check_program(program)` gives a file's warnings (`Program.warnings`); `check_batch`
the one that needs the data, which `Model.fit` adds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nndsl.errors import NNDSLWarning
from nndsl.ir.graph import Graph, Node, output_activation
from nndsl.ir.ops import OPS
from nndsl.ir.plan import TrainPlan
from nndsl.ir.signature import CATALOGS
from nndsl.syntax import ast

if TYPE_CHECKING:
    from nndsl.api import Program

LR_RANGE = (1e-6, 10.0)


def _warning(message: str, span: ast.Span | None, hint: str | None = None) -> NNDSLWarning:
    if span is None:
        return NNDSLWarning(message, hint=hint)
    end = span.end_column if span.end_line == span.line else None
    return NNDSLWarning(message, line=span.line, column=span.column, end_column=end, hint=hint)


class _Spans:
    """Where things are written in the file: layer statements by (line, column), the
    settings of each train block by model."""

    def __init__(self, module: ast.Module, overrides: list[str] = ()) -> None:
        # a `--set key=value` setting's spans point into its own text, not the file
        self.overridden = {text.partition("=")[0].strip() for text in overrides}
        self.layers: dict[tuple[int, int], ast.Layer] = {}
        for model in module.models:
            self._walk(model.body)
        self.settings: dict[str | None, dict[str, ast.Setting]] = {}
        for block in module.trains:
            self.settings[block.model] = {s.key: s for s in block.settings}
        self.blocks = {block.model: block for block in module.trains}

    def _walk(self, body: tuple) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Repeat):
                self._walk(stmt.body)
            elif isinstance(stmt, ast.Layer):
                self.layers[(stmt.span.line, stmt.span.column)] = stmt

    def node(self, node: Node) -> ast.Span | None:
        stmt = self.layers.get((node.line, node.column))
        if stmt is not None:
            return stmt.call.span
        if node.line is None:
            return None
        return ast.Span(node.line, node.column or 1, node.line, (node.column or 1) + 1)

    def setting(self, plan: TrainPlan, key: str) -> ast.Setting | None:
        if key in self.overridden:
            return None
        block = self.settings.get(plan.model, self.settings.get(None, {}))
        return block.get(key)

    def where(self, plan: TrainPlan, key: str) -> ast.Span | None:
        """The value of a setting, else its train block (nowhere when overridden)."""
        setting = self.setting(plan, key)
        if setting is not None:
            return setting.value.span
        return None if key in self.overridden else self.block(plan)

    def block(self, plan: TrainPlan) -> ast.Span | None:
        block = self.blocks.get(plan.model, self.blocks.get(None))
        if block is None:
            return None
        head = block.model_span or block.span
        return ast.Span(block.span.line, block.span.column, head.end_line, head.end_column)


def check_program(program: Program, model: str | None = None) -> list[NNDSLWarning]:
    """Every warning about a compiled file (or one model of it and its train block), in
    source order, located in it."""
    module = program._compiled.module
    spans = _Spans(module, program.overrides)
    out: list[NNDSLWarning] = []
    for name, graph in program.models.items():
        if model in (None, name):
            out += _unused(graph, spans)
            out += _dropout_last(graph, spans)
    for plan in program.plans:
        if model not in (None, plan.model):
            continue
        graph = program.models[plan.model]
        out += _probabilities_as_logits(graph, plan, spans)
        out += _learning_rate(plan, spans)
        known = _static_train_size(plan)
        if known is not None:
            warning = check_batch(plan, known, spans=spans)
            out += [warning] if warning else []
    for w in out:
        w.located(module.path, module.source)
    return sorted(out, key=lambda w: (w.line or 0, w.column or 0))


# ------------------------------------------------------------------ the graph


def _used(graph: Graph) -> set[str]:
    """Names of the nodes the output depends on (the output included)."""
    by_name = {n.name: n for n in graph.nodes}
    seen, todo = set(), list(graph.outputs)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(by_name[name].inputs)
    return seen


def _unused(graph: Graph, spans: _Spans) -> list[NNDSLWarning]:
    used = _used(graph)
    out, reported = [], set()
    for node in graph.nodes:
        where = (node.line, node.column)
        if node.name in used or where in reported:  # a repeat stamps one line many times
            continue
        reported.add(where)
        what = "input" if OPS[node.op].inputs == "none" else "layer"
        out.append(
            _warning(
                f"{what} '{node.name}' is not used: nothing reads its output, so it does "
                f"not affect the model's output ({', '.join(graph.outputs)})",
                spans.node(node),
                "name it and use it (e.g. h = dense(8) ... add(h)), or remove it",
            )
        )
    return out


def _dropout_last(graph: Graph, spans: _Spans) -> list[NNDSLWarning]:
    """Dropout with no weights after it on the way to the output: it drops outputs."""
    used = _used(graph)
    weighted_after: set[str] = set()  # nodes with a weighted node between them and the output
    consumers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for i in node.inputs:
            consumers.setdefault(i, []).append(node)
    for node in reversed(graph.nodes):
        if any(c.weights or c.name in weighted_after for c in consumers.get(node.name, [])):
            weighted_after.add(node.name)
    out = []
    for node in graph.nodes:
        if node.op == "dropout" and node.name in used and node.name not in weighted_after:
            rate = node.attrs.get("rate", 0)
            out.append(
                _warning(
                    f"dropout after the output layer: in training it zeroes {rate:.0%} of "
                    f"the model's outputs, not of a hidden layer's units",
                    spans.node(node),
                    "put dropout between hidden layers, before the last dense layer",
                )
            )
    return out


# ------------------------------------------------------------------ the train block


def _probabilities_as_logits(graph: Graph, plan: TrainPlan, spans: _Spans) -> list:
    loss = plan.loss.name
    wants = CATALOGS["loss"][loss].extra.get("logits")
    if not wants or output_activation(graph).name != "linear":
        return []
    by_name = {n.name: n for n in graph.nodes}
    node, after = graph.output, []
    while OPS[node.op].keeps_values and len(node.inputs) == 1:
        after.append(node.name)
        node = by_name[node.inputs[0]]
    act = node.op if OPS[node.op].family == "activation" else None
    if act is None and "activation" in node.attrs:
        act = node.attrs["activation"].name
    if act not in ("sigmoid", "softmax") or not after:
        return []
    return [
        _warning(
            f"{loss} treats the model's outputs as logits, but they are {act} "
            f"probabilities ({node.name}, line {node.line}) passed through "
            f"{', '.join(reversed(after))}",
            spans.where(plan, "loss"),
            f"make the {act} the last layer, or remove the layers after it",
        )
    ]


def _learning_rate(plan: TrainPlan, spans: _Spans) -> list[NNDSLWarning]:
    lr = plan.optimizer.args.get("lr")
    lo, hi = LR_RANGE
    if lr is None or lo <= lr <= hi:
        return []
    setting = spans.setting(plan, "optimizer")
    span = spans.where(plan, "optimizer")
    if setting is not None and isinstance(setting.value, ast.Call):
        params = [p.name for p in CATALOGS["optimizer"][plan.optimizer.name].params]
        for i, arg in enumerate(setting.value.args):
            if arg.name == "lr" or (arg.name is None and params[i : i + 1] == ["lr"]):
                span = arg.value.span
    why = (
        "the weights never change"
        if lr == 0
        else "steps this small barely move the weights"
        if lr < lo
        else "steps this large usually make the loss diverge"
    )
    entry = CATALOGS["optimizer"][plan.optimizer.name]
    default = next(p.default for p in entry.params if p.name == "lr")
    return [
        _warning(
            f"learning rate {lr:g} is outside {lo:g}..{hi:g}: {why}",
            span,
            f"{plan.optimizer.name}'s default is {default:g}",
        )
    ]


def _static_train_size(plan: TrainPlan) -> int | None:
    """Training samples, when the file alone says (synthetic(n=...))."""
    if plan.data is None or plan.data.name != "synthetic":
        return None
    n = int(plan.data.args.get("n", 500))
    return n - round(n * plan.validation) - round(n * plan.test)


def check_batch(
    plan: TrainPlan,
    n_train: int,
    batch_size: int | None = None,
    spans: _Spans | None = None,
    module: ast.Module | None = None,
    overrides: list[str] = (),
) -> NNDSLWarning | None:
    """A batch size larger than the training set: every epoch is one smaller batch.
    `batch_size`: given to fit() (the plan's otherwise), which the file cannot locate."""
    size = batch_size or plan.batch_size
    if size <= n_train:
        return None
    if spans is None and module is not None:
        spans = _Spans(module, overrides)
    span = None
    if batch_size is None and spans is not None:
        span = spans.where(plan, "batch_size")
    default = spans is not None and span == spans.block(plan) and span is not None
    written = " (the default)" if default and not batch_size else ""
    warning = _warning(
        f"batch_size {size}{written} is larger than the {n_train} training samples: "
        f"each epoch is one batch of {n_train}, one step",
        span,
        f"use batch_size = {max(1, n_train // 4)} or less for several steps an epoch",
    )
    if module is not None:
        warning.located(module.path, module.source)
    return warning
