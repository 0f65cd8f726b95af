"""Predictions as a table people can use: named columns, each class's probability and
the predicted class's name. `nndsl predict` writes it as CSV, `nndsl serve` as JSON
objects; both read it from here, so a served prediction and a written one agree."""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.ir.targets import target_kind

Cell = float | str


def prediction_table(
    model: Any, pred: np.ndarray | dict[str, np.ndarray]
) -> tuple[list[str], list[list[Cell]]]:
    """Columns for predictions (samples, outputs): classifiers give each class's
    probability (`p_CLASS`) and the predicted class under the target's name; regression
    outputs are named by their target columns. Several outputs (`pred` a dict) give a
    group of columns each, in declared order: the probabilities prefixed by the output's
    name (`label_p_0`), values and classes under the output's target column (or its name).
    Numbers are floats, classes strings."""
    if not isinstance(pred, dict):
        loss = model.plan.loss.name if model.plan is not None else "mse"
        flat = pred.reshape(len(pred), -1)
        return _head_table(loss, model.target_names or [], model.class_names, flat, "label")
    heads = model.plan.heads_for(model.graph) if model.plan is not None else []
    losses = {h.output: h.loss.name for h in heads}
    targets = model.target_names or []
    header: list[str] = []
    rows: list[list[Cell]] = []
    for k, (name, values) in enumerate(pred.items()):
        own = [targets[k]] if len(targets) == len(pred) else []
        part, cells = _head_table(
            losses.get(name, "mse"), own, None, values.reshape(len(values), -1), name
        )
        header += [f"{name}_{h}" if h.startswith("p_") else h for h in part]
        rows = [[*r, *c] for r, c in zip(rows, cells)] if rows else cells
    return header, rows


def _head_table(
    loss: str, targets: list[str], classes: list[str] | None, pred: np.ndarray, fallback: str
) -> tuple[list[str], list[list[Cell]]]:
    kind = target_kind(loss)
    target = targets[0] if len(targets) == 1 else fallback
    values: list[list[Cell]] = pred.astype(np.float64).tolist()
    if kind == "values":
        names = targets if len(targets) == pred.shape[1] else []
        if not names and fallback != "label" and pred.shape[1] == 1:
            names = [fallback]  # one of several outputs: by its name
        header = names or [f"output_{i}" for i in range(pred.shape[1])]
        return header, values
    if kind == "binary" and pred.shape[1] == 1:
        labels = (pred[:, 0] >= 0.5).astype(int)
        names = classes if classes and len(classes) == 2 else None
        p_name = f"p_{names[1]}" if names else f"p_{target}"
        shown = [names[k] for k in labels] if names else [str(k) for k in labels]
        return [p_name, target], [[*v, c] for v, c in zip(values, shown)]
    if kind == "binary":  # several independent labels: each one's probability
        header = [f"p_{t}" for t in targets] if len(targets) == pred.shape[1] else []
        return header or [f"p_{i}" for i in range(pred.shape[1])], values
    names = classes if classes and len(classes) == pred.shape[1] else None
    header = [f"p_{c}" for c in names] if names else [f"p_{i}" for i in range(pred.shape[1])]
    best = pred.argmax(axis=1)
    shown = [names[k] for k in best] if names else [str(k) for k in best]
    return [*header, target], [[*v, c] for v, c in zip(values, shown)]
