"""`nndsl boundary`: what a two-input model decides at every point of the plane.

A grid over the data's range goes through `model.predict` (raw inputs: the model applies
its own scaling), and is drawn as

- one sigmoid unit (or binary cross-entropy on logits): the probability of class 1 from
  red to green, with the 0.5 contour (the decision boundary) as a black line;
- several units: the arg-max class as coloured regions;
- otherwise (regression): the output value as filled contours.

The data points go on top, coloured by their label. Needs matplotlib (the `plot` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError

RESOLUTION = 200  # grid points per axis


def check_two_inputs(graph: Any) -> None:
    inputs = graph.inputs
    if len(inputs) != 1 or tuple(inputs[0].shape) != (2,):
        shapes = ", ".join(f"{n.name} {tuple(n.shape)}" for n in inputs)
        raise NNDSLError(
            f"boundary draws models with one input of 2 features; '{graph.name}' has {shapes}",
            hint="the plane shows two features: start the model with input(2)",
        )


def _kind(model: Any) -> str:
    """binary | classes | values: how to read the model's predictions."""
    from nndsl.ir.graph import output_activation

    units = model.graph.output.shape[-1] if model.graph.output.shape else 1
    if units > 1:
        return "classes"
    act = output_activation(model.graph).name
    loss = model.plan.loss.name if model.plan else None
    if act == "sigmoid" or loss == "binary_crossentropy":
        return "binary"
    return "values"


def _probabilities(model: Any, grid: np.ndarray) -> np.ndarray:
    from nndsl.backends.numpy.activations import apply as apply_activation
    from nndsl.ir.graph import output_activation

    p = np.asarray(model.predict(grid), dtype=np.float64).reshape(len(grid), -1)
    if output_activation(model.graph).name == "linear":  # logits for a cross-entropy
        p = apply_activation("sigmoid", {}, p)
    return p[:, 0]


def plot_boundary(
    model: Any,
    x: np.ndarray | None,
    y: np.ndarray | None,
    path: str | Path,
    title: str = "",
    mark: np.ndarray | None = None,
    feature_names: list[str] | None = None,
) -> dict[str, float]:
    """Write the picture to `path` (PNG); returns {"accuracy": ...} on the points for a
    classifier (empty otherwise)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NNDSLError("boundary plots need matplotlib: pip install 'nndsl[plot]'") from None
    check_two_inputs(model.graph)
    lo, hi = (x.min(axis=0), x.max(axis=0)) if x is not None and len(x) else ([-3, -3], [3, 3])
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if mark is not None:
        lo, hi = np.minimum(lo, mark), np.maximum(hi, mark)
    pad = 0.08 * np.maximum(hi - lo, 1e-6)
    g1, g2 = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], RESOLUTION),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], RESOLUTION),
    )
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1)
    kind = _kind(model)
    labels = None if y is None else _labels(np.asarray(y), kind)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    result: dict[str, float] = {}
    if kind == "binary":
        p = _probabilities(model, grid).reshape(g1.shape)
        filled = ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap="RdYlGn", alpha=0.75)
        ax.contour(g1, g2, p, levels=[0.5], colors="black", linewidths=1.8)
        fig.colorbar(filled, ax=ax, label="P(class 1)")
        if labels is not None:
            ax.scatter(*x.T, c=labels, cmap="RdYlGn", vmin=0, vmax=1, s=16, edgecolors="k", lw=0.5)
            result["accuracy"] = float(np.mean((_probabilities(model, x) > 0.5) == (labels > 0.5)))
    elif kind == "classes":
        pred = np.asarray(model.predict(grid)).reshape(len(grid), -1)
        k = pred.shape[1]
        cls = pred.argmax(axis=1).reshape(g1.shape)
        cmap = plt.get_cmap("tab10", max(k, 2))
        levels = np.arange(k + 1) - 0.5
        ax.contourf(g1, g2, cls, levels=levels, cmap=cmap, vmin=-0.5, vmax=k - 0.5, alpha=0.45)
        ax.contour(g1, g2, cls, levels=levels[1:-1], colors="black", linewidths=1.0)
        if labels is not None:
            ax.scatter(
                *x.T, c=labels, cmap=cmap, vmin=-0.5, vmax=k - 0.5, s=16, edgecolors="k", lw=0.5
            )
            guess = np.asarray(model.predict(x)).reshape(len(x), -1).argmax(axis=1)
            result["accuracy"] = float(np.mean(guess == labels))
    else:
        v = np.asarray(model.predict(grid), dtype=np.float64).reshape(len(grid), -1)[:, 0]
        filled = ax.contourf(g1, g2, v.reshape(g1.shape), levels=20, cmap="viridis", alpha=0.8)
        fig.colorbar(filled, ax=ax, label="output")
        if labels is not None:
            ax.scatter(*x.T, c=labels, cmap="viridis", norm=filled.norm, s=16, edgecolors="k")
    if mark is not None:
        ax.scatter([mark[0]], [mark[1]], marker="*", s=220, c="white", edgecolors="black", lw=1.2)
    names = feature_names if feature_names and len(feature_names) == 2 else ["x1", "x2"]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if "accuracy" in result:
        title = f"{title}\naccuracy {result['accuracy']:.1%} on {len(x)} points"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return result


def _labels(y: np.ndarray, kind: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        return y.argmax(axis=1)
    return y.reshape(len(y))
