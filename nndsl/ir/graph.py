"""The intermediate representation: a small DAG of nodes with static shapes.

A `Graph` prints as a readable table, and serializes to JSON/YAML and back without loss.
Shapes exclude the batch dimension, which stays symbolic.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.ir.ops import OPS, Shape, WeightDef, fmt_shape
from nndsl.ir.signature import Spec, decode, encode, format_value


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    attrs: dict[str, Any]
    shape: Shape
    weights: list[WeightDef] = field(default_factory=list)
    line: int | None = None  # where the node was written, for messages
    column: int | None = None

    @property
    def param_count(self) -> int:
        """All values of its tensors, trainable or not (as Keras counts)."""
        return sum(math.prod(w.shape) for w in self.weights)

    @property
    def trainable_count(self) -> int:
        return sum(math.prod(w.shape) for w in self.weights if w.trainable)

    def weight_key(self, weight: WeightDef) -> str:
        """The name of a weight tensor in weight dictionaries and files: `dense_1.weight`."""
        return f"{self.name}.{weight.name}"

    def describe_attrs(self) -> str:
        """Non-default attributes, as they would be written."""
        params = {p.name: p for p in OPS[self.op].params}
        shown = []
        for key, value in self.attrs.items():
            p = params.get(key)
            if p is None or (p.variadic and self.op != "input"):
                continue
            if not p.required and not p.variadic and value == p.default:
                continue
            if key in ("weights", "bias") and value is not None:
                shown.append(f"{key}=<literal>")
                continue
            if p.variadic:
                shown.append(", ".join(format_value(v) for v in value))
            else:
                shown.append(format_value(value) if p.required else f"{key}={format_value(value)}")
        return ", ".join(shown)


@dataclass
class Graph:
    name: str
    nodes: list[Node]
    # the node names the model ends in, in declared order (`output label, value`);
    # empty means one output, the last node
    outputs: list[str] = field(default_factory=list)
    # the names the file gives (user name -> node name: `h` -> `h`, a block used as
    # `enc = encoder(8)` -> its last node, `enc.mean` -> `enc.mean`), for what refers to
    # layers after the model (loss terms); compile-time only, not serialized
    names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name = {n.name: n for n in self.nodes}
        if not self.outputs and self.nodes:
            self.outputs = [self.nodes[-1].name]

    # ------------------------------------------------------------------ queries
    def __getitem__(self, name: str) -> Node:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def resolve(self, name: str) -> str | None:
        """The node a name written in the file means, or None."""
        node = self.names.get(name, name)
        return node if node in self._by_name else None

    @property
    def inputs(self) -> list[Node]:
        return [n for n in self.nodes if n.op == "input"]

    @property
    def output(self) -> Node:
        """The output of a one-output model (the first of several)."""
        return self._by_name[self.outputs[0]]

    @property
    def output_nodes(self) -> list[Node]:
        return [self._by_name[name] for name in self.outputs]

    @property
    def param_count(self) -> int:
        return sum(n.param_count for n in self.nodes)

    @property
    def trainable_count(self) -> int:
        return sum(n.trainable_count for n in self.nodes)

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out[i].append(n.name)
        return out

    def validate(self) -> None:
        """Nodes are in topological order, inputs exist, names are unique (no cycles),
        outputs name nodes."""
        for name in self.outputs:
            if name not in self._by_name:
                raise NNDSLError(f"graph '{self.name}': output '{name}' is not a node")
        seen: set[str] = set()
        for n in self.nodes:
            if n.name in seen:
                raise NNDSLError(f"graph '{self.name}': duplicate node name '{n.name}'")
            for i in n.inputs:
                if i not in seen:
                    what = "a cycle" if i in self._by_name else "an undefined node"
                    raise NNDSLError(
                        f"graph '{self.name}': node '{n.name}' uses '{i}' before it is "
                        f"computed ({what})"
                    )
            seen.add(n.name)

    # ------------------------------------------------------------------ printing
    def table(self) -> str:
        """One line per node: name, op, inputs, output shape, parameters, attributes."""
        rows = [("node", "op", "inputs", "shape", "params", "attributes")]
        for n in self.nodes:
            rows.append(
                (
                    n.name,
                    n.op,
                    ", ".join(n.inputs) or "-",
                    fmt_shape(n.shape),
                    f"{n.param_count:,}",
                    n.describe_attrs(),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [f"graph {self.name}"]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        lines.append(f"  total parameters: {self.param_count:,}")
        return "\n".join(lines)

    __str__ = table

    def dot(self) -> str:
        lines = [f'digraph "{self.name}" {{', "  rankdir=TB;", "  node [shape=record];"]
        for n in self.nodes:
            label = f"{n.name}|{n.op}|{fmt_shape(n.shape)}"
            lines.append(f'  "{n.name}" [label="{{{label}}}"];')
            for i in n.inputs:
                lines.append(f'  "{i}" -> "{n.name}";')
        lines.append("}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodes": [
                {
                    "name": n.name,
                    "op": n.op,
                    "inputs": list(n.inputs),
                    "attrs": {k: encode(v) for k, v in n.attrs.items()},
                    "shape": list(n.shape),
                    "weights": [_weight_to_dict(w) for w in n.weights],
                    "line": n.line,
                    "column": n.column,
                }
                for n in self.nodes
            ],
            **({"outputs": list(self.outputs)} if len(self.outputs) > 1 else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        nodes = []
        for d in data["nodes"]:
            if d["op"] not in OPS:
                raise NNDSLError(f"graph '{data.get('name')}': unknown op '{d['op']}'")
            kinds = {p.name: p.kind for p in OPS[d["op"]].params}
            attrs = {k: decode(kinds.get(k, "any"), v) for k, v in d["attrs"].items()}
            nodes.append(
                Node(
                    d["name"],
                    d["op"],
                    list(d["inputs"]),
                    attrs,
                    tuple(d["shape"]),
                    [_weight_from_dict(w) for w in d.get("weights", [])],
                    d.get("line"),
                    d.get("column"),
                )
            )
        graph = cls(data["name"], nodes, list(data.get("outputs", [])))
        graph.validate()
        return graph

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_yaml(cls, text: str) -> Graph:
        import yaml

        return cls.from_dict(yaml.safe_load(text))


def _weight_to_dict(w: WeightDef) -> dict[str, Any]:
    return {
        "name": w.name,
        "shape": list(w.shape),
        "init": w.init.to_dict(),
        "l2": w.l2,
        "fan_in": w.fan_in,
        "fan_out": w.fan_out,
        "value": w.value,
        **({} if w.trainable else {"trainable": False}),  # state, not a parameter
    }


def _weight_from_dict(d: dict[str, Any]) -> WeightDef:
    return WeightDef(
        d["name"],
        tuple(d["shape"]),
        decode("initializer", d["init"]),
        d["l2"],
        d["fan_in"],
        d["fan_out"],
        d.get("value"),
        d.get("trainable", True),
    )


def output_activation(graph: Graph) -> Spec:
    """The activation the model's output passes through last (linear when none)."""
    out = graph.output
    if OPS[out.op].family == "activation":
        return Spec(out.op, dict(out.attrs))
    if "activation" in out.attrs:
        return out.attrs["activation"]
    return Spec("linear")


def split_output_activation(graph: Graph) -> tuple[Graph, Spec]:
    """The graph up to the logits, and the output activation that follows them.

    Backends train on the logits so that a sigmoid/softmax fused with its cross-entropy
    never overflows; predict applies the activation on top.
    """
    act = output_activation(graph)
    out = graph.output
    if act.name == "linear":
        return graph, act
    if OPS[out.op].family == "activation":
        # the activation node becomes an identity on its input
        nodes = graph.nodes[:-1] + [
            Node(out.name, "linear", list(out.inputs), {}, out.shape, [], out.line, out.column)
        ]
    else:
        attrs = dict(out.attrs, activation=Spec("linear"))
        nodes = graph.nodes[:-1] + [
            Node(
                out.name,
                out.op,
                list(out.inputs),
                attrs,
                out.shape,
                list(out.weights),
                out.line,
                out.column,
            )
        ]
    return Graph(graph.name, nodes), act
