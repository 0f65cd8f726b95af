"""What trains each output of a graph: the activation each output ends in, and which of
them a cross-entropy takes off (so the loss is computed from logits, never NaN). Shared
by the compiler's checks and both engines."""

from __future__ import annotations

from dataclasses import dataclass

from nndsl.ir.graph import Graph, Node
from nndsl.ir.ops import OPS
from nndsl.ir.plan import Head, LossTerm
from nndsl.ir.signature import CATALOGS, Spec


def node_activation(node: Node) -> Spec:
    """The activation a node's value passes through last (linear when none)."""
    if OPS[node.op].family == "activation":
        return Spec(node.op, dict(node.attrs))
    if "activation" in node.attrs:
        return node.attrs["activation"]
    return Spec("linear")


@dataclass(frozen=True)
class OutputPlan:
    """One head as an engine runs it: the node it reads, the activation applied after
    that node (linear when nothing was split off), whether the node gives logits."""

    node: str
    activation: Spec
    from_logits: bool
    # "sigmoid" | "softmax": the loss wants logits but the node gives these probabilities
    # (other nodes read it): the loss converts them (see probability_logits)
    converts: str | None = None


def plan_outputs(
    graph: Graph, heads: list[Head], terms: list[LossTerm] = ()
) -> tuple[Graph, list[OutputPlan]]:
    """(graph the engine runs, one OutputPlan per head). A head whose loss wants logits of
    the output's sigmoid/softmax has it split off (applied only for predictions and
    metrics); an output other nodes or a term read keeps its activation, so what they
    read does not change, and its loss is computed on probabilities."""
    read = {i for n in graph.nodes for i in n.inputs} | {i for t in terms for i in t.inputs}
    nodes = list(graph.nodes)
    index = {n.name: k for k, n in enumerate(nodes)}
    plans = []
    for head in heads:
        node = graph[head.output]
        act = node_activation(node)
        wants = CATALOGS["loss"][head.loss.name].extra.get("logits") if head.loss else None
        if not wants or act.name not in (wants, "linear"):
            plans.append(OutputPlan(node.name, Spec("linear"), False))
            continue
        if act.name != "linear" and node.name in read:
            plans.append(OutputPlan(node.name, Spec("linear"), False, act.name))
            continue
        if act.name != "linear":
            nodes[index[node.name]] = _without_activation(node)
        plans.append(OutputPlan(node.name, act, True))
    if nodes == graph.nodes:
        return graph, plans
    return Graph(graph.name, nodes, list(graph.outputs)), plans


def _without_activation(node: Node) -> Node:
    if OPS[node.op].family == "activation":  # the activation node becomes an identity
        return Node(
            node.name, "linear", list(node.inputs), {}, node.shape, [], node.line, node.column
        )
    attrs = dict(node.attrs, activation=Spec("linear"))
    return Node(
        node.name,
        node.op,
        list(node.inputs),
        attrs,
        node.shape,
        list(node.weights),
        node.line,
        node.column,
    )


PROBABILITY_EPS = 1e-7  # Keras' epsilon: probabilities are clipped to [eps, 1 - eps]


def probability_logits(P, p, activation: str):
    """Logits that give probabilities `p` back through `activation`, composed of
    primitives: log(p) for softmax (log_softmax(log p) = log p when rows sum to 1),
    log(p) - log(1 - p) for sigmoid; p clipped to [eps, 1 - eps] first, as Keras does."""
    low = P.maximum(p, PROBABILITY_EPS)
    if activation == "softmax":
        return P.log(low)
    clipped = -P.maximum(-low, -(1 - PROBABILITY_EPS))
    return P.log(clipped) - P.log(1 - clipped)
