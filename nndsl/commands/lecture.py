"""`nndsl trace` and `nndsl boundary`: the command-line side of the teaching tools."""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "trace",
        cmd_trace,
        "one input through the network, node by node: values, loss and gradients",
        [
            'nndsl trace examples/lecture/perceptron.nn --input "-1, 2" --target 1',
            'nndsl trace examples/spirals.nn --weights runs/spirals/weights.npz --input "0.5, -1"',
        ],
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    p.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="VALUES",
        help='one sample, e.g. "-1, 2" (several inputs: NAME=VALUES, repeated)',
    )
    p.add_argument("--target", metavar="VALUES", help="its target: adds the loss and backward pass")
    p.add_argument("--weights", metavar="W", help="trained weights (default: the file's)")
    p.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text: the lecture's notation; json: every value, for programs",
    )
    p.add_argument("--digits", type=int, default=4, help="decimal places shown (text)")
    p.add_argument("--model", help="which model of the file (default: the trained one)")

    p = add(
        "boundary",
        cmd_boundary,
        "draw the decision regions of a two-input model and its data points",
        [
            'nndsl boundary examples/lecture/perceptron.nn --mark "-1, 2" --out perceptron.png',
            "nndsl boundary examples/lecture/linear_vs_relu.nn --model relu_net --out relu.png",
        ],
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    p.add_argument("--out", required=True, metavar="PNG", help="the picture to write")
    p.add_argument(
        "--weights",
        metavar="W",
        help="trained weights; without them the model is trained first with the file's "
        "settings, unless every weight is written in the file",
    )
    p.add_argument("--data", metavar="D", help=".csv or .npz points (default: the file's data)")
    p.add_argument("--no-train", action="store_true", help="draw the untrained model")
    p.add_argument("--epochs", type=int, help="override the train block's epochs")
    from nndsl.commands.run import add_set_option

    add_set_option(p)
    p.add_argument("--mark", metavar="VALUES", help='a point to mark, e.g. "-1, 2"')
    p.add_argument("--model", help="which model of the file (default: the trained one)")


# ---------------------------------------------------------------- shared


def parse_values(text: str, what: str) -> np.ndarray:
    """Numbers as written on the command line: "-1, 2", "[[1, 2], [3, 4]]" or "0.5"."""
    try:
        value = ast.literal_eval(text.strip())
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, SyntaxError, TypeError):
        raise NNDSLError(
            f"{what} {text!r}: expected numbers separated by commas", hint='e.g. "-1, 2"'
        ) from None
    if not np.all(np.isfinite(arr)):
        raise NNDSLError(f"{what} {text!r}: numbers must be finite")
    return arr


def _sample(graph: Any, texts: list[str]) -> Any:
    """One sample per input node, shaped as the node wants."""
    nodes = graph.inputs
    if len(nodes) == 1 and len(texts) == 1 and "=" not in texts[0]:
        return _shaped(nodes[0], parse_values(texts[0], "--input"))
    given = {}
    for text in texts:
        name, eq, values = text.partition("=")
        if not eq:
            raise NNDSLError(
                f"this model has {len(nodes)} inputs: write --input NAME=VALUES for each",
                hint="inputs: " + ", ".join(n.name for n in nodes),
            )
        given[name.strip()] = values
    by_name = {n.name: n for n in nodes}
    for name in given:
        if name not in by_name:
            raise NNDSLError(
                f"--input {name}=...: the model has no input '{name}'",
                hint="inputs: " + ", ".join(by_name),
            )
    missing = [n.name for n in nodes if n.name not in given]
    if missing:
        raise NNDSLError(f"no --input for '{missing[0]}'", hint=f"add --input {missing[0]}=...")
    sample = {n: _shaped(by_name[n], parse_values(v, f"--input {n}=")) for n, v in given.items()}
    return sample if len(nodes) > 1 else next(iter(sample.values()))


def _shaped(node: Any, arr: np.ndarray) -> np.ndarray:
    if arr.size != math.prod(node.shape):
        raise NNDSLError(
            f"--input has {arr.size} value(s), but input '{node.name}' takes samples of shape "
            f"{tuple(node.shape)}"
        )
    return arr.reshape(1, *node.shape)


def _target(model: Any, arr: np.ndarray) -> np.ndarray:
    out = model.graph.output.shape
    if arr.size == math.prod(out):
        return arr.reshape(1, *out)
    return arr.reshape(1, *arr.shape) if arr.ndim else arr.reshape(1)


def _weights(model: Any, path: str | None) -> tuple[str, bool]:
    """Load `path` if given; say where the model's weights come from, and whether they
    are all chosen (loaded or written in the file) rather than initial."""
    if path:
        model.load(path)
        return f"from {path}", True
    # state a layer keeps for itself (batch_norm's running statistics) is not a weight
    defs = [w for n in model.graph.nodes for w in n.weights if getattr(w, "trainable", True)]
    literal = sum(w.value is not None for w in defs)
    if literal == len(defs):
        return ("written in the file" if defs else "none (no parameters)"), True
    initial = f"initial (seed {model.seed}, not trained; pass --weights W for trained ones)"
    return ("written in the file where given, the rest " + initial) if literal else initial, False


def _scaler_from_data(model: Any) -> None:
    """A file that standardizes its inputs needs its training split's scaling."""
    plan = model.plan
    if model.scaler is None and plan and plan.data and plan.data.args.get("standardize"):
        model.load_data()


# ---------------------------------------------------------------- trace


def cmd_trace(args: argparse.Namespace) -> int:
    from nndsl.api import compile_file
    from nndsl.lecture.trace import format_text, to_json, trace

    program = compile_file(args.file)
    model = program.build(model=args.model, dtype="float64")
    model.refuse_gan("trace")
    source, _ = _weights(model, args.weights)
    _scaler_from_data(model)
    x = _sample(model.graph, args.input)
    target = None
    if args.target is not None:
        if model.plan is None:
            raise NNDSLError(
                f"--target needs a loss, and '{model.graph.name}' has no train block",
                hint=f"add: train {model.graph.name} {{ loss = mse }}",
            )
        target = _target(model, parse_values(args.target, "--target"))
    result = trace(model, x, target, weights=source)
    if args.format == "json":
        print(json.dumps(to_json(result), indent=2))
    else:
        sys.stdout.write(format_text(result, digits=max(args.digits, 1)))
    return 0


# ---------------------------------------------------------------- boundary


def cmd_boundary(args: argparse.Namespace) -> int:
    from nndsl.api import compile_file
    from nndsl.lecture.boundary import check_two_inputs, plot_boundary

    sets = list(args.sets) + ([f"epochs={args.epochs}"] if args.epochs else [])
    program = compile_file(args.file, overrides=sets)
    model = program.build(model=args.model)
    model.refuse_gan("boundary")
    check_two_inputs(model.graph)
    source, chosen = _weights(model, args.weights)
    if not chosen and not args.no_train:
        if model.plan is None:
            raise NNDSLError(
                f"'{model.graph.name}' has no train block to train it with",
                hint="pass --weights W, or --no-train to draw the untrained model",
            )
        print(
            f"training {model.graph.name} first ({model.plan.epochs} epochs; "
            "--weights W draws saved weights instead)",
            file=sys.stderr,
        )
        model.fit(verbose=0)
        source = "trained with the file's settings"
    elif not chosen:
        source = f"untrained, seed {model.seed}"
    _scaler_from_data(model)
    x, y, names = _points(model, args.data)
    mark = None if args.mark is None else parse_values(args.mark, "--mark")
    if mark is not None and mark.size != 2:
        raise NNDSLError(f'--mark {args.mark!r}: expected two numbers, e.g. "-1, 2"')
    plot_boundary(
        model,
        x,
        y,
        args.out,
        title=f"{model.graph.name} ({'weights ' * chosen}{source})",
        mark=None if mark is None else mark.reshape(2),
        feature_names=names,
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _points(model: Any, path: str | None) -> tuple[Any, Any, list[str] | None]:
    """Raw (unscaled) points, labels and feature names: --data, else the train block's
    data, else none."""
    if path:
        x, y = model.read_data(path, need_targets=True)
        return x, y, model.training_columns()[0]
    plan = model.plan
    if plan is None or plan.data is None:
        return None, None, None
    from nndsl.data import load_data

    try:
        ds = load_data(plan.data, plan.base_dir)
    except NNDSLError as e:
        raise e.located(model.program.path if model.program else None, None) from None
    return ds.x, ds.y, list(ds.feature_names or []) or None
