"""Weights of the loss per sample, as Keras gives them: `class_weight` (a weight per class:
`balanced`, a group by class name, or a list by class index) or a data column of sample
weights (`csv(..., weight="w")`). Both become one weight per sample (per position of a
sequence of labels), computed here once, on the host, for both backends; a backend's
loss then takes the mean over the batch of weight * loss (Keras' "sum_over_batch_size":
divided by the number of samples, not by the sum of the weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.errors import NNDSLError, did_you_mean

CLASSIFYING = ("binary", "one_hot", "labels")  # target kinds (nndsl.ir.targets) with classes


def class_count(kind: str, out_shape: tuple[int, ...]) -> int:
    """How many classes an output of `out_shape` trained on targets of `kind` tells apart."""
    if kind == "binary":
        return 2
    return int(out_shape[-1]) if out_shape else 1


def class_indices(yp: np.ndarray, kind: str) -> np.ndarray:
    """The class of each sample (each position of a sequence) of prepared targets `yp`
    (nndsl.ir.targets.prepare_targets), as Keras reads them for class_weight: labels as
    they are, one-hot rows by their largest entry, a binary 0/1 value rounded."""
    if kind == "labels":
        return np.asarray(yp, dtype=np.int64)
    if kind == "one_hot":
        return np.argmax(yp, axis=-1)
    if kind == "binary":
        return np.rint(yp.reshape(yp.shape[0])).astype(np.int64)
    raise ValueError(f"targets of kind {kind} have no classes")


def resolve_class_weight(
    setting: Any, train_classes: np.ndarray, n_classes: int, class_names: list[str] | None
) -> dict[int, float]:
    """{class index: weight} of a class_weight setting: `balanced` (scikit-learn's
    compute_class_weight: n / (k * count), over the k classes present in the training
    split `train_classes`), a dict {class name: weight} (classes left out weigh 1), or a
    list of weights by class index."""
    if setting == "balanced":
        present, counts = np.unique(train_classes, return_counts=True)
        n, k = int(train_classes.size), len(present)
        return {int(c): n / (k * int(m)) for c, m in zip(present, counts)}
    if isinstance(setting, dict):
        names = list(class_names) if class_names is not None else []
        out = {}
        for name, weight in setting.items():
            if name in names:
                out[names.index(name)] = float(weight)
                continue
            if not names:
                raise NNDSLError(
                    f"class_weight: the classes of this data have no names, so '{name}' names none",
                    hint="give a weight per class index: class_weight = ["
                    + ", ".join(["1"] * n_classes)
                    + "]",
                )
            hint = did_you_mean(name, names)
            listed = "classes: " + ", ".join(names)
            raise NNDSLError(
                f"class_weight: the data has no class '{name}'",
                hint=f"{hint} ({listed})" if hint else listed,
            )
        return out
    if isinstance(setting, list):
        if len(setting) != n_classes:
            raise NNDSLError(
                f"class_weight: {len(setting)} weight(s) for an output of {n_classes} classes",
                hint="one weight per class, by index",
            )
        return {i: float(w) for i, w in enumerate(setting)}
    raise NNDSLError(f"class_weight: cannot read {setting!r}")


def sample_weights_of_classes(
    weights: dict[int, float], classes: np.ndarray, dtype: str
) -> np.ndarray:
    """Each sample's (position's) weight: its class's, 1 for a class not given."""
    table = np.ones(max([*weights, int(classes.max(initial=0))]) + 1, dtype=np.float64)
    for c, w in weights.items():
        table[c] = w
    return table[classes].astype(dtype)


def check_class_weight_value(setting: Any) -> str | None:
    """What is wrong with a written class_weight (None if nothing): `balanced`, a group of
    class=weight, or a list of weights, every weight a number >= 0."""
    if setting == "balanced":
        return None
    values = (
        list(setting.values())
        if isinstance(setting, dict)
        else setting
        if isinstance(setting, list)
        else None
    )
    if values is None or not values:
        return (
            "class_weight is balanced, a group by class name (churned=5, stayed=1) or a "
            "list by class index [5, 1]"
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            return f"class_weight: each weight is a number >= 0, got {v!r}"
    return None
