"""AST -> IR: resolve names, bind and check every argument, infer shapes, count
parameters, and resolve each `train` block into a `TrainPlan`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from nndsl.blocks import BlockSource, collect_blocks
from nndsl.compile_agent import AGENT_ONLY, agent_plan
from nndsl.compile_train import HEADS, check_generative, check_plan, compile_heads, gan_plan
from nndsl.compile_train import loss_span as _loss_span
from nndsl.errors import NNDSLError, did_you_mean
from nndsl.files import show_path
from nndsl.ir import catalog  # noqa: F401  (registers losses, optimizers, ...)
from nndsl.ir import check as memory
from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.graph import Graph, Node
from nndsl.ir.heads import node_activation
from nndsl.ir.masks import MaskError, follow
from nndsl.ir.ops import OPS, OpDef, ShapeError, WeightDef, fmt_shape
from nndsl.ir.plan import TrainPlan
from nndsl.ir.signature import CATALOGS, REQUIRED, Param, Spec, bind, convert, literal
from nndsl.sweep.grid import Sweep, find_sweep
from nndsl.syntax import ast
from nndsl.syntax.expressions import fold, fold_args
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
    """Names visible while a model body, or one use of a block, is compiled."""

    bound: dict[str, str] = field(default_factory=dict)  # user name -> node name
    defined_later: set[str] = field(default_factory=set)
    used_names: set[str] = field(default_factory=set)  # local names taken
    counters: dict[str, int] = field(default_factory=dict)
    prev: str | None = None
    repeat_depth: int = 0
    # inside a block: node names are `prefix + local name` (`enc.dense_1`), the block's
    # parameters have the values `env` gives, and `block` is where it was written
    prefix: str = ""
    env: dict[str, ast.Value] = field(default_factory=dict)
    block: BlockSource | None = None
    inputs: dict[str, str] = field(default_factory=dict)  # block input name -> node


BLOCK_DEPTH = 64  # blocks used inside blocks, this deep at most
NEST_DEPTH = 128  # repeats and blocks being compiled, one inside another (Python's stack)
MAX_EXPANSIONS = 10_000  # block uses stamped out per model: a use may add no layer at all
PARAM_KINDS = {  # a block parameter's declared type -> the signature kind that checks it
    "int": "int",
    "float": "float",
    "bool": "bool",
    "string": "str",
    "activation": "activation",
    "initializer": "initializer",
}


class _ModelCompiler:
    def __init__(
        self,
        model: ast.Model,
        blocks: dict[str, BlockSource] | None = None,
        path: str | None = None,
        auto_width: int | None = None,
    ) -> None:
        self.model = model
        # input(auto): the width from the data, once known; until then 1 (`auto_input`)
        self.auto_width = auto_width
        self.auto_input: tuple[int, int] | None = None  # where input(auto) waits for it
        self.blocks = blocks or {}
        self.path = path  # the file the model is written in
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.spans: dict[str, ast.Span] = {}
        self.scope = _Scope(defined_later=set(_targets(model.body)))
        self.total_params = 0
        self.expanding: list[str] = []  # the blocks being expanded, outermost first
        self.depth = 0  # repeats and blocks being compiled, nested (NEST_DEPTH)
        self.expansions = 0  # block uses stamped out so far (MAX_EXPANSIONS)
        self.site: ast.Span | None = None  # the model's line a block's layers come from
        self.outputs: list[str] = []
        self.masks: dict[str, str] = {}  # node -> the token ids its steps are masked by

    def compile(self) -> Graph:
        body = self.model.body
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.Output) and i != len(body) - 1:
                raise _err(
                    "output must be the model's last statement",
                    stmt.span,
                    "move it to the end: output NAME, NAME",
                )
        self._statements(body)
        if not self.nodes:
            raise _err(
                f"model '{self.model.name}' has no layers",
                self.model.name_span,
                "start it with input(...), e.g. input(4)",
            )
        return Graph(self.model.name, self.nodes, self.outputs, dict(self.scope.bound))

    def _statements(self, body: tuple[ast.Statement, ...]) -> None:
        # a repeat's body is compiled from here, not from a method of its own: one frame
        # per level of nesting (the deepest file the parser allows stays well in the stack)
        for stmt in body:
            if isinstance(stmt, ast.Repeat):
                count = self._repeat_count(stmt)
                if count == 0:
                    continue
                self._nest(stmt.count_span)
                self.scope.repeat_depth += 1
                for _ in range(count):
                    self._statements(stmt.body)
                self.scope.repeat_depth -= 1
                self.depth -= 1
            elif isinstance(stmt, ast.Output):
                self._output(stmt)
            else:
                self._layer(stmt)

    def _repeat_count(self, stmt: ast.Repeat) -> int:
        """How often to stamp the body out (0: it holds nothing to stamp), checked before
        anything is stamped."""
        count = stmt.count if stmt.count_expr is None else self._count(stmt)
        if count < 1:
            raise _err(f"repeat needs a count of at least 1, got {count}", stmt.count_span)
        output = next((s for s in _walk(stmt.body) if isinstance(s, ast.Output)), None)
        if output is not None:  # refused even where the repeat stamps out nothing
            raise _err("output cannot be repeated", output.span, "write it once, at the end")
        per_pass = _layer_count(stmt.body)
        if per_pass == 0:  # an empty body: nothing to stamp out, however often
            return 0
        stamped = min(count * per_pass, _COUNT_CAP)
        total = len(self.nodes) + stamped
        if total > MAX_LAYERS:  # refused before it is stamped out
            length = f"{total:,}" if stamped < _COUNT_CAP else f"over {_COUNT_CAP:,}"
            raise _err(
                f"this repeat makes the model {length} layers long; "
                f"nndsl compiles at most {MAX_LAYERS:,}",
                stmt.count_span,
            )
        return count

    def _nest(self, span: ast.Span) -> None:
        """One level deeper: blocks whose bodies repeat and use blocks, each within its
        own bounds, would together recurse past Python's stack."""
        if self.depth >= NEST_DEPTH:
            raise _err(
                f"repeats and blocks nest more than {NEST_DEPTH} deep here",
                span,
                "flatten the nesting: a repeat inside a repeat is one repeat of the product",
            )
        self.depth += 1

    def _count(self, stmt: ast.Repeat) -> int:
        """A repeat count written as a block parameter or arithmetic (`repeat depth`)."""
        value = fold(stmt.count_expr, self.scope.env)
        if isinstance(value, ast.Number) and isinstance(value.value, int):
            return value.value
        got = repr(value.value) if isinstance(value, ast.Number) else "not a number"
        hint = "use // for integer division" if isinstance(value, ast.Number) else None
        if isinstance(value, ast.Name) and not self.scope.block:
            hint = "a name as a count is a block parameter: block NAME(depth: int) { ... }"
        raise _err(f"repeat needs an integer count, got {got}", stmt.count_span, hint)

    def _output(self, stmt: ast.Output) -> None:
        if self.scope.block is not None:
            raise _err(
                "output belongs in a model; a block's output is its last layer",
                stmt.span,
                "use the block's named layers from outside as INSTANCE.NAME",
            )
        if self.scope.repeat_depth:
            raise _err("output cannot be repeated", stmt.span, "write it once, at the end")
        seen: dict[str, ast.Name] = {}
        for ref in stmt.names:
            node = self._resolve(ref.name, ref.span, None)
            if node in self.outputs:
                first = seen[node]
                raise _err(
                    f"'{ref.name}' is already an output (as '{first.name}')",
                    ref.span,
                    "name each output once",
                )
            seen[node] = ref
            self.outputs.append(node)

    def _node_name(self, stmt: ast.Layer) -> str:
        """The local name of a layer or block instance (the node name less the prefix)."""
        scope = self.scope
        if stmt.target is not None:
            if stmt.target in scope.bound and scope.repeat_depth == 0:
                raise _err(
                    f"the name '{stmt.target}' is already used{self._line_of(stmt.target)}",
                    stmt.target_span,
                    "give each named layer its own name",
                )
            base = stmt.target
        else:
            base = stmt.call.name
        # auto names count per op from 1 (dense_1, dense_2); repeated names get _2, _3
        if stmt.target is not None and base not in scope.used_names:
            return base
        k = scope.counters.get(base, 1 if stmt.target else 0)
        while True:
            k += 1 if stmt.target or k else 1
            candidate = f"{base}_{k}"
            if candidate not in scope.used_names and candidate not in scope.defined_later:
                scope.counters[base] = k
                return candidate

    def _line_of(self, user_name: str) -> str:
        node = self.scope.bound[user_name]
        span = self.spans.get(node)
        return f" (line {span.line})" if span is not None else ""

    def _resolve(self, ref: str, span: ast.Span, stmt: ast.Layer | None) -> str:
        scope = self.scope
        if ref in scope.bound:
            return scope.bound[ref]
        if (stmt is not None and ref == stmt.target) or ref in scope.defined_later:
            raise _err(
                f"'{ref}' is used before it is defined",
                span,
                "a layer can only use layers above it (the graph cannot have a cycle)",
            )
        visible = [name for name in scope.bound if "." not in name] or list(scope.bound)
        hint = did_you_mean(ref, scope.bound) or (
            "name a layer to reuse it: h = dense(8)"
            if not scope.bound
            else "named layers so far: " + ", ".join(visible)
        )
        raise _err(f"undefined name '{ref}'", span, hint)

    def _layer(self, stmt: ast.Layer) -> None:
        call = stmt.call
        call = ast.Call(call.name, fold_args(call.args, self.scope.env), call.span, call.name_span)
        if call.name == "input" and self.scope.block is not None:
            self._block_input(stmt, call)
            return
        if call.name == "input" and _is_auto(call):
            if self.auto_width is None:
                self.auto_input = (call.span.line, call.span.column)
            width = self.auto_width or 1
            call = ast.Call(
                call.name,
                (
                    ast.Arg(
                        None, ast.Number(width, call.args[0].span, str(width)), call.args[0].span
                    ),
                ),
                call.span,
                call.name_span,
            )
        opdef = OPS.get(call.name)
        if opdef is None:
            if call.name in self.blocks:
                self._expand(stmt, call, self.blocks[call.name])
                return
            raise _unknown_layer(call, self.blocks)
        if len(self.nodes) >= MAX_LAYERS:
            raise _err(f"the model is over {MAX_LAYERS:,} layers long", call.span)
        attrs = bind(opdef.params, call.args, f"{call.name}()", call.span, reserved=(FROM,))
        inputs = self._inputs(stmt, call, opdef, attrs)
        try:  # the padding mask of mask_zero, followed (nndsl.ir.masks)
            mask, pad_from = follow(call.name, attrs, inputs, self.masks)
        except MaskError as e:
            raise _err(e.message, call.span, e.hint) from None
        if pad_from is not None:  # as if `pad_from=<the token ids>` were written
            attrs["pad_from"] = pad_from
            inputs.append(pad_from)
        local = self._node_name(stmt)
        name = self.scope.prefix + local
        in_shapes = [self.by_name[i].shape for i in inputs]
        try:
            shape = opdef.shape(in_shapes, attrs)
        except ShapeError as e:
            raise self._shape_error(e, call, inputs) from None
        weights = opdef.weights(in_shapes, attrs)
        self._check_literals(call, opdef, weights)
        self._check_size(call, name, shape, weights)
        if opdef.inputs == "many":
            attrs = {k: v for k, v in attrs.items() if k != "inputs"}
        site = self.site or stmt.span  # a block's layers are shown at the line using it
        node = Node(name, call.name, inputs, attrs, tuple(shape), weights, site.line, site.column)
        self.nodes.append(node)
        self.by_name[name] = node
        self.spans[name] = stmt.span
        if mask is not None:
            self.masks[name] = mask
        self._bind(stmt, local, name)

    def _bind(self, stmt: ast.Layer, local: str, node: str) -> None:
        self.scope.used_names.add(local)
        if stmt.target is not None:
            self.scope.bound[stmt.target] = node
        self.scope.prev = node

    # ------------------------------------------------------------------ blocks
    def _block_input(self, stmt: ast.Layer, call: ast.Call) -> None:
        """`x = input()` in a block: `x` is already bound to what feeds the block; a
        shape, if written, is checked against it."""
        if call.args:
            node = self.by_name[self.scope.inputs[stmt.target]]
            want = bind(OPS["input"].params, call.args, "input()", call.span)["shape"]
            if tuple(want) != tuple(node.shape):
                raise _err(
                    f"block '{self.scope.block.block.name}' wants input '{stmt.target}' of "
                    f"shape {fmt_shape(tuple(want))}, but it is fed {fmt_shape(node.shape)} "
                    f"from {node.name}",
                    call.span,
                )

    def _expand(self, stmt: ast.Layer, call: ast.Call, src: BlockSource) -> None:
        block = src.block
        if block.name in self.expanding:
            chain = " -> ".join([*self.expanding[self.expanding.index(block.name) :], block.name])
            raise _err(
                f"block '{block.name}' uses itself ({chain})",
                call.name_span,
                "a block cannot contain itself: nothing would end the expansion",
            )
        if len(self.expanding) >= BLOCK_DEPTH:
            raise _err(f"blocks nest more than {BLOCK_DEPTH} deep here", call.name_span)
        self.expansions += 1
        if self.expansions > MAX_EXPANSIONS:  # blocks that add no layers, used in repeats
            raise _err(
                f"blocks are used more than {MAX_EXPANSIONS:,} times in model "
                f"'{self.model.name}'; nndsl expands at most {MAX_EXPANSIONS:,}",
                call.name_span,
                "a block inside a repeat inside a block multiplies its uses",
            )
        input_names = _check_block(src)
        env = self._block_arguments(call, src, input_names)
        feeds = self._block_feeds(stmt, call, block, input_names)
        local = self._node_name(stmt)
        inner = _Scope(
            bound=dict(zip(input_names, feeds)),
            defined_later=set(_targets(block.body)) - set(input_names),
            used_names=set(input_names),
            prev=feeds[0],
            prefix=f"{self.scope.prefix}{local}.",
            env=env,
            block=src,
            inputs=dict(zip(input_names, feeds)),
        )
        self._nest(call.name_span)
        outer, outer_site = self.scope, self.site
        self.scope, self.site = inner, self.site or stmt.span
        self.expanding.append(block.name)
        try:
            self._statements(block.body)
        except NNDSLError as e:
            raise self._in_block(e, src, call, outer) from None
        finally:
            self.scope, self.site = outer, outer_site
            self.expanding.pop()
            self.depth -= 1
        out = inner.prev
        self._bind(stmt, local, out)
        for name, node in inner.bound.items():  # named layers inside: `enc.mean`
            if name not in inner.inputs:
                self.scope.bound[f"{local}.{name}"] = node
                if stmt.target is not None:
                    self.scope.bound[f"{stmt.target}.{name}"] = node

    def _in_block(
        self, e: NNDSLError, src: BlockSource, call: ast.Call, outer: _Scope
    ) -> NNDSLError:
        """A mistake inside a block, located in the block's file, and said where it is
        used (once: the innermost use names itself)."""
        if getattr(e, "_block_context", False):
            return e
        outer_path = outer.block.path if outer.block is not None else self.path
        e.located(src.path, src.source)
        place = (
            f"line {call.span.line}"
            if src.path == outer_path
            else f"{show_path(outer_path) if outer_path else 'the model'}:{call.span.line}"
        )
        note = f"in block '{src.block.name}', used at {place}"
        e.hint = f"{e.hint}; {note}" if e.hint else note
        e._block_context = True
        return e

    def _block_arguments(
        self, call: ast.Call, src: BlockSource, input_names: list[str]
    ) -> dict[str, ast.Value]:
        """The value of each parameter: as written at the use site (checked against its
        declared type, like a built-in's arguments), else its default."""
        block = src.block
        params = tuple(_param(p) for p in block.params)
        extra = tuple(input_names[1:])
        bind(params, call.args, f"{block.name}()", call.span, reserved=(FROM, *extra))
        env: dict[str, ast.Value] = {}
        position = 0
        for arg in call.args:
            if arg.name is None:
                env[block.params[position].name] = arg.value
                position += 1
            elif arg.name not in (FROM, *extra):
                env[arg.name] = arg.value
        for p in block.params:
            if p.name not in env:
                env[p.name] = fold(p.default)
        return env

    def _block_feeds(
        self, stmt: ast.Layer, call: ast.Call, block: ast.BlockDef, input_names: list[str]
    ) -> list[str]:
        """The nodes that feed the block's inputs: the previous layer (or `from=`) the
        first, the layers named by keyword (`memory=enc`) the others."""
        given = {a.name: a for a in call.args if a.name is not None}
        first = given.get(FROM)
        if first is not None:
            if not isinstance(first.value, ast.Name):
                raise _err(f"'{FROM}' must name a layer, e.g. {FROM}=h", first.span)
            feeds = [self._resolve(first.value.name, first.value.span, stmt)]
        elif self.scope.prev is None:
            raise _err(
                f"{block.name}() has no input: the model must start with input(...)",
                call.span,
                "add a first line such as input(4), the size of one sample",
            )
        else:
            feeds = [self.scope.prev]
        for name in input_names[1:]:
            arg = given.get(name)
            if arg is None:
                raise _err(
                    f"{block.name}() needs its input '{name}'",
                    call.span,
                    f"name the layer that feeds it: {block.name}(..., {name}=LAYER)",
                )
            if not isinstance(arg.value, ast.Name):
                raise _err(f"input '{name}' must name a layer, e.g. {name}=h", arg.value.span)
            feeds.append(self._resolve(arg.value.name, arg.value.span, stmt))
        return feeds

    # ------------------------------------------------------------------ checks
    def _inputs(self, stmt: ast.Layer, call: ast.Call, opdef: OpDef, attrs: dict) -> list[str]:
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
            first = self._resolve(from_arg.value.name, from_arg.value.span, stmt)
        elif self.scope.prev is None:
            raise _err(
                f"{call.name}() has no input: the model must start with input(...)",
                call.span,
                "add a first line such as input(4), the size of one sample",
            )
        else:
            first = self.scope.prev
        return [first, *self._ref_inputs(stmt, call, opdef, attrs)]

    def _ref_inputs(self, stmt: ast.Layer, call: ast.Call, opdef: OpDef, attrs: dict) -> list:
        """Further inputs of a one-input op, named by its `ref` arguments (attention's
        `memory=enc`), in declaration order; each attribute becomes the node's name."""
        refs = []
        for p in opdef.params:
            if p.kind == "ref" and not p.variadic and attrs.get(p.name) is not None:
                arg = next((a for a in call.args if a.name == p.name), None)
                span = arg.value.span if arg is not None else call.span
                attrs[p.name] = self._resolve(attrs[p.name], span, stmt)
                refs.append(attrs[p.name])
        return refs

    def _shape_error(self, e: ShapeError, call: ast.Call, inputs: list[str]) -> NNDSLError:
        origins = "; ".join(
            f"{fmt_shape(self.by_name[i].shape)} from {i} (line {self.spans[i].line})"
            for i in inputs
        )
        hint = e.hint + "; " if e.hint else ""
        return _err(e.message, call.span, f"{hint}inputs: {origins}")

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

    def _check_size(self, call: ast.Call, name: str, shape: tuple, weights: list) -> None:
        count = sum(math.prod(w.shape) for w in weights)
        self.total_params += count
        need = 4 * max(self.total_params, math.prod(shape))
        if need > _memory_bytes():
            raise _err(
                f"{name} is too large: the model needs {_gib(need)} "
                f"for parameters alone (this machine has {_gib(_memory_bytes())})",
                call.span,
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
    Python will print. A block's use counts one (it is refused once it stamps out more
    than MAX_LAYERS); a repeat whose count is a block parameter counts once."""
    total = 0
    for s in body:
        if isinstance(s, ast.Repeat):
            n = (s.count if s.count_expr is None else 1) * _layer_count(s.body)
        else:
            n = 0 if isinstance(s, ast.Output) else 1
        total = min(total + max(n, 0), _COUNT_CAP)
    return total


def _targets(body: tuple[ast.Statement, ...]) -> list[str]:
    out = []
    for stmt in body:
        if isinstance(stmt, ast.Repeat):
            out.extend(_targets(stmt.body))
        elif isinstance(stmt, ast.Layer) and stmt.target is not None:
            out.append(stmt.target)
    return out


def _is_input(stmt: ast.Statement) -> bool:
    return isinstance(stmt, ast.Layer) and stmt.call.name == "input"


_CHECKED: dict[int, tuple[ast.BlockDef, list[str]]] = {}  # id -> (the block, its inputs)


def _check_block(src: BlockSource) -> list[str]:
    """A block definition's own rules, checked once: its inputs (named, first), its
    parameters (distinct, known types, defaults that fit, defaults last) and a body.
    Returns the names of its inputs, in order."""
    hit = _CHECKED.get(id(src.block))
    if hit is not None and hit[0] is src.block:
        return hit[1]
    try:
        inputs = _block_rules(src.block)
    except NNDSLError as e:
        raise e.located(src.path, src.source) from None
    _CHECKED[id(src.block)] = (src.block, inputs)
    return inputs


def _block_rules(block: ast.BlockDef) -> list[str]:
    inputs: list[str] = []
    seen_layer = False
    for stmt in block.body:
        if _is_input(stmt):
            if stmt.target is None:
                raise _err(
                    "name the block's input, e.g. x = input()",
                    stmt.span,
                    "its name is how the block's layers refer to it",
                )
            if seen_layer:
                raise _err(
                    "a block's inputs come before its layers",
                    stmt.span,
                    "the first input is fed by the layer above the block's use",
                )
            if stmt.target in inputs:
                raise _err(f"the block has two inputs named '{stmt.target}'", stmt.target_span)
            inputs.append(stmt.target)
        else:
            seen_layer = True
            if isinstance(stmt, ast.Output):
                raise _err(
                    "output belongs in a model; a block's output is its last layer",
                    stmt.span,
                    "use the block's named layers from outside as INSTANCE.NAME",
                )
    nested = [s for s in _walk(block.body) if _is_input(s)]
    if len(nested) != len(inputs):
        extra = next(s for s in nested if s.target not in inputs or s not in block.body)
        raise _err("a block's inputs cannot be repeated", extra.span)
    if not [s for s in block.body if not _is_input(s)]:
        raise _err(f"block '{block.name}' has no layers", block.name_span)
    if not inputs:
        inputs = ["input"]  # no input written: the block takes the previous layer's output
    layer_names = set(_targets(block.body))
    names: dict[str, ast.BlockParam] = {}
    defaulted: ast.BlockParam | None = None
    for p in block.params:
        if p.name in names:
            raise _err(f"parameter '{p.name}' is given twice", p.name_span)
        names[p.name] = p
        if p.name in layer_names:
            raise _err(
                f"'{p.name}' is both a parameter and a layer of block '{block.name}'",
                p.name_span,
                "give the parameter another name",
            )
        if p.kind is not None and p.kind not in PARAM_KINDS:
            raise _err(
                f"unknown parameter type '{p.kind}'",
                p.kind_span or p.name_span,
                did_you_mean(p.kind, PARAM_KINDS) or "types: " + ", ".join(PARAM_KINDS),
            )
        if p.default is None:
            if defaulted is not None:
                raise _err(
                    f"parameter '{p.name}' has no default but follows '{defaulted.name}', "
                    "which has one",
                    p.name_span,
                    "put the parameters with defaults last",
                )
        else:
            defaulted = p
            value = fold(p.default)  # its arithmetic refused here, in the block's file
            if p.kind is not None:
                convert(_param(p), value, f"block {block.name}")
    return inputs


def _walk(body: tuple[ast.Statement, ...]):
    for s in body:
        if isinstance(s, ast.Repeat):
            yield from _walk(s.body)
        else:
            yield s


def _param(p: ast.BlockParam) -> Param:
    """A block parameter as a declared argument, so a use is checked like a built-in's."""
    kind = PARAM_KINDS.get(p.kind, "any") if p.kind is not None else "any"
    default = REQUIRED if p.default is None else literal(fold(p.default))
    return Param(p.name, kind, default, optional=isinstance(p.default, ast.NoneValue))


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


def _unknown_layer(call: ast.Call, blocks: dict[str, BlockSource] | None = None) -> NNDSLError:
    for kind, entries in CATALOGS.items():
        if kind not in ("layer", "activation") and call.name in entries:
            return _err(
                f"'{call.name}' is a {kind}, not a layer",
                call.name_span,
                f"set it in the train block, e.g. {kind} = {call.name}"
                if kind in ("loss", "optimizer", "schedule")
                else None,
            )
    known = [*OPS, *(blocks or {})]
    hint = did_you_mean(call.name, known) or "layers: " + ", ".join(OPS)
    if blocks:
        hint = did_you_mean(call.name, known) or "blocks in scope: " + ", ".join(blocks)
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
    # arithmetic in settings (`epochs = 2 * 50`, `lr=1e-3 / 2`) is worked out here; a loss
    # term keeps its own (`0.001 * l1(h)`: a weight and a function, compile_train reads it)
    settings = [
        s if s.key == "terms" else ast.Setting(s.key, fold(s.value), s.span, s.key_span)
        for s in block.settings
    ]
    seen: dict[str, ast.Setting] = {}
    for s in settings:
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
    # the settings a head or a term is made of are bound here, per output (train_heads)
    args = tuple(ast.Arg(s.key, s.value, s.span) for s in settings if s.key not in HEADS)
    own = tuple(p for p in TRAIN_SETTINGS.params if p.name not in HEADS)
    gan_only = [k for k in ("gan_loss", "d_optimizer", "d_steps") if k in seen]
    if gan_only and "discriminator" not in seen:
        raise _err(
            f"'{gan_only[0]}' is a GAN's setting, and this train block names no discriminator",
            seen[gan_only[0]].key_span,
            "a GAN: discriminator = MODEL (the model that tells real samples from this one's)",
        )
    agent_only = [k for k in AGENT_ONLY if k in seen]
    if agent_only and "env" not in seen:
        raise _err(
            f"'{agent_only[0]}' is an agent's setting, and this train block names no env",
            seen[agent_only[0]].key_span,
            "an agent: env = cartpole (the environment the model acts in)",
        )
    if "env" in seen:  # an agent: it learns from an environment's rewards
        values = bind(own, args, "train", block.span)
        plan = agent_plan(graph, values, seen, base_dir)
    elif "discriminator" in seen:  # a GAN: its losses are the game's, not a head's
        values = bind(own, args, "train", block.span)
        plan = gan_plan(graphs, model, values, seen, base_dir)
    else:
        if "loss" not in seen:
            raise _err("the train block needs a loss", block.span, _loss_hint(graph))
        values = bind(own, args, "train", block.span)
        heads, terms, written = compile_heads(graph, seen)
        for head in heads:
            span = _loss_span(seen["loss"], head.output)
            _check_loss_fits(head.loss, graph[head.output], span)
        values.update(written)
        plan = TrainPlan(model=model, base_dir=base_dir, heads=heads, terms=terms, **values)
        check_plan(plan, seen)
        check_generative(plan, graph, seen)
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
    # models whose input(auto) waits for the data's width: {model: (line, column)}
    auto_inputs: dict[str, tuple[int, int]] = field(default_factory=dict)


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
        blocks = collect_blocks(module, set(OPS))
        graphs: dict[str, Graph] = {}
        waiting: dict[str, tuple[int, int]] = {}
        for m in module.models:
            if m.name in graphs:
                raise _err(f"model '{m.name}' is defined twice", m.name_span)
            hit = cache.get(id(m)) if cache is not None else None
            if hit is not None and hit[0] is m:
                graph = hit[1]
            else:
                compiler = _ModelCompiler(m, blocks, module.path, module.input_widths.get(m.name))
                graph = compiler.compile()
                if compiler.auto_input is not None:
                    waiting[m.name] = compiler.auto_input
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
    return CompiledFile(graphs, plans, module, auto_inputs=waiting)


def _is_auto(call: ast.Call) -> bool:
    """`input(auto)`: the width the data gives."""
    return (
        len(call.args) == 1
        and call.args[0].name is None
        and isinstance(call.args[0].value, ast.Name)
        and call.args[0].value.name == "auto"
    )


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
