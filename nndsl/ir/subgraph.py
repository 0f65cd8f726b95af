"""Parts of a graph around one layer: the part that computes it (an encoder: inputs to
the latent codes) and the part it feeds (a decoder: the latent codes, as an input, to
the outputs). Node names, and so weight keys, are the whole graph's: a part's engine
takes the whole model's weights by name."""

from __future__ import annotations

import dataclasses

from nndsl.errors import NNDSLError
from nndsl.ir.graph import Graph, Node


def upto(graph: Graph, name: str) -> Graph:
    """The nodes `name` depends on (itself included), ending in it."""
    wanted = {name}
    for node in reversed(graph.nodes):
        if node.name in wanted:
            wanted.update(node.inputs)
    nodes = [n for n in graph.nodes if n.name in wanted]
    return Graph(f"{graph.name}.upto.{name}", nodes, [name])


def from_node(graph: Graph, name: str) -> Graph:
    """The layers `name` feeds, on to the model's outputs, with `name` made an input of
    its shape. Refused where a layer after it also reads an earlier layer other than
    through it (a skip connection around the latent codes): the part could not run
    from the codes alone."""
    start = graph[name]
    fed = {name}
    for node in graph.nodes:
        if node.name != name and any(i in fed for i in node.inputs):
            fed.add(node.name)
    for node in graph.nodes:
        if node.name in fed and node.name != name:
            stray = [i for i in node.inputs if i not in fed]
            if stray:
                raise NNDSLError(
                    f"layer '{node.name}' after '{name}' also reads '{stray[0]}', which "
                    f"comes before '{name}': the layers after '{name}' cannot run from it "
                    "alone",
                    hint=f"decode from '{name}' only: no connection around it",
                )
    outputs = [o for o in graph.outputs if o in fed]
    if not outputs:
        raise NNDSLError(f"no output of '{graph.name}' comes after layer '{name}'")
    source = Node(name, "input", [], {"shape": list(start.shape)}, start.shape, [], start.line)
    nodes = [source] + [dataclasses.replace(n) for n in graph.nodes if n.name in fed - {name}]
    return Graph(f"{graph.name}.from.{name}", nodes, outputs)
