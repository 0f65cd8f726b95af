"""The IR prints and serializes without loss: YAML, JSON, the text table and dot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import nndsl
from nndsl.errors import NNDSLError
from nndsl.ir.graph import Graph
from nndsl.ir.plan import TrainPlan


def compiled(path: Path) -> nndsl.Program:
    return nndsl.compile_file(path)


def test_graph_yaml_and_json_round_trips_are_lossless(valid_path: Path):
    for g in compiled(valid_path).models.values():
        data = g.to_dict()
        assert Graph.from_yaml(g.to_yaml()).to_dict() == data
        assert Graph.from_json(g.to_json()).to_dict() == data
        assert Graph.from_dict(data).param_count == g.param_count


def test_plan_yaml_and_json_round_trips_are_lossless(valid_path: Path):
    for plan in compiled(valid_path).plans:
        data = plan.to_dict()
        assert TrainPlan.from_dict(json.loads(json.dumps(data))).to_dict() == data
        assert TrainPlan.from_dict(yaml.safe_load(yaml.safe_dump(data))).to_dict() == data
        back = TrainPlan.from_dict(data)
        assert back.loss == plan.loss and back.optimizer == plan.optimizer
        assert back.metrics == plan.metrics and back.early_stop == plan.early_stop


def test_round_trip_keeps_specs_and_literals():
    program = nndsl.compile_string(
        "model m {\n input(2)\n dense(1, activation=leaky_relu(alpha=0.2), init=normal(std=0.1),"
        " weights=[[3], [-2]], bias=[0.5])\n}\n"
    )
    back = Graph.from_yaml(program.graph.to_yaml())
    node = back["dense_1"]
    assert node.attrs["activation"].name == "leaky_relu"
    assert node.attrs["activation"].args == {"alpha": 0.2}
    assert node.weights[0].init.args == {"std": 0.1, "mean": 0.0}
    assert node.weights[0].value == [[3], [-2]]
    assert node.weights[1].value == [0.5]


def hand_made(nodes: list[tuple[str, str, list[str]]]) -> dict:
    return {
        "name": "hand",
        "nodes": [
            {"name": name, "op": op, "inputs": inputs, "attrs": {}, "shape": [4]}
            for name, op, inputs in nodes
        ],
    }


def test_validate_rejects_a_cycle():
    data = hand_made([("x", "input", []), ("a", "relu", ["b"]), ("b", "relu", ["a"])])
    with pytest.raises(NNDSLError, match="uses 'b' before it is computed \\(a cycle\\)"):
        Graph.from_dict(data)


def test_validate_rejects_an_unknown_input():
    data = hand_made([("x", "input", []), ("a", "relu", ["ghost"])])
    with pytest.raises(NNDSLError, match="an undefined node"):
        Graph.from_dict(data)


def test_validate_rejects_duplicate_names_and_unknown_ops():
    with pytest.raises(NNDSLError, match="duplicate node name 'x'"):
        Graph.from_dict(hand_made([("x", "input", []), ("x", "relu", [])]))
    with pytest.raises(NNDSLError, match="unknown op 'conv9d'"):
        Graph.from_dict(hand_made([("x", "input", []), ("c", "conv9d", ["x"])]))


def test_validate_accepts_a_good_hand_made_graph():
    g = Graph.from_dict(hand_made([("x", "input", []), ("a", "relu", ["x"])]))
    assert g.consumers() == {"x": ["a"], "a": []}


def test_table_and_dot_show_every_node(valid_path: Path):
    for g in compiled(valid_path).models.values():
        table, dot = g.table(), g.dot()
        assert f"total parameters: {g.param_count:,}" in table
        assert dot.startswith(f'digraph "{g.name}"') and dot.rstrip().endswith("}")
        for node in g.nodes:
            assert f"  {node.name} " in table
            assert f'"{node.name}" [label=' in dot
            for source in node.inputs:
                assert f'"{source}" -> "{node.name}";' in dot
