"""Pictures of a trained model's predictions on held-out data, written into its run
folder after training (nndsl.run), and the numbers behind them.

Per output head, on the test split (else validation, else the training data; the
picture's title says which):
- classification: `confusion.png` (counts and normalized by true class, with class
  names), `roc_pr.png` (ROC and precision-recall curves, one per class for more than two
  classes, AUC in the legend), `calibration.png` (for sigmoid/softmax outputs), and
  `per_class.csv` (precision, recall, F1, support per class);
- regression: `predictions.png` (predicted against actual with the diagonal, residuals
  against predicted, a histogram of residuals; R², RMSE, MAE in the title);
- every head: its whole-split scores in `scores.json`.
A model of several heads prefixes each file with the output's name (`passed_confusion.png`).
Generative models (autoencoders, GANs) and outputs per sequence position get none.

Work is split so that training's process does only NumPy: `evaluate_held_out` predicts
and scores (nndsl.ir.scores) into plain JSON-able descriptions, `write_tables` writes the
CSV and JSON, and `draw_pictures` (matplotlib, run in the plot helper process of
nndsl.train.plots) turns descriptions into PNGs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.files import atomic_write_by_name, atomic_write_text
from nndsl.ir import scores
from nndsl.ir.heads import node_activation
from nndsl.ir.targets import head_targets, target_kind

MAX_POINTS = 2000  # points of a drawn curve or scatter (scores use every sample)
MAX_CURVES = 10  # classes drawn one curve each; more: the first ten by support
ANNOTATE_CLASSES = 20  # confusion matrix cells carry their numbers up to this many classes
SCORES = "scores.json"
PICTURE_KINDS = ("confusion", "roc_pr", "calibration", "predictions")  # file NAME.png


def held_out_split(splits: Any) -> tuple[str, Any]:
    """(name, split) the pictures are drawn on: test, else validation, else training."""
    for name in ("test", "validation"):
        part = getattr(splits, name, None)
        if part is not None and len(part):
            return name, part
    return "training", splits.train


def evaluate_held_out(model: Any, splits: Any) -> list[dict[str, Any]]:
    """One description per head that has pictures (nndsl.model.Model duck-typed: plan,
    graph, engine, class_names). Empty for generative models."""
    plan = model.plan
    if plan is None or model.is_gan or model.reconstructs:
        return []
    heads = plan.heads_for(model.graph)
    split, part = held_out_split(splits)
    if hasattr(part, "for_epoch"):  # rows streamed from files, none held out: not read whole
        return []
    out = model.engine.predict(part.x)
    outputs = out if isinstance(out, dict) else {heads[0].output: out}
    targets = head_targets(model.targets_of(part), heads, model.graph, "float64")
    described = []
    for head, y in zip(heads, targets):
        node = model.graph[head.output]
        kind = target_kind(head.loss.name) if head.loss is not None else "values"
        pred = np.asarray(outputs[head.output], dtype=np.float64)
        if len(node.shape) != 1:  # a value per position (a sequence): not pictured here
            continue
        prefix = f"{head.output}_" if len(heads) > 1 else ""
        names = model.class_names if len(heads) == 1 else None
        if kind == "values":
            desc = describe_regression(y, pred)
        elif kind == "binary" and node.shape[-1] > 1:
            continue  # several independent yes/no outputs (multi-label): not pictured
        else:
            probabilistic = node_activation(node).name in ("sigmoid", "softmax")
            desc = describe_classification(y, pred, names, probabilistic)
        desc.update(head=head.output, prefix=prefix, split=split, model=model.graph.name)
        described.append(desc)
    return described


# ------------------------------------------------------------------ descriptions


def describe_classification(
    y_true: Any, y_score: Any, class_names: list[str] | None = None, probabilistic: bool = True
) -> dict[str, Any]:
    """Scores and curves of a classifier: y_true labels or one-hot (n,) / (n, k), y_score
    its outputs (n, 1) for two classes or (n, k)."""
    s = np.asarray(y_score, dtype=np.float64)
    s = s.reshape(len(s), -1)
    t = scores.labels_of(y_true)
    binary = s.shape[1] == 1
    k = 2 if binary else s.shape[1]
    threshold = 0.5 if probabilistic else 0.0  # a sigmoid's 0.5 is a logit's 0
    pred = (s[:, 0] > threshold).astype(np.int64) if binary else s.argmax(axis=1)
    labels = list(range(k))
    names = [str(c) for c in class_names] if class_names and len(class_names) == k else None
    names = names or [str(c) for c in labels]
    precision, recall, f1, support = scores.per_class_scores(t, pred, labels)
    positive = s[:, 0] if binary else None
    desc: dict[str, Any] = {
        "kind": "classification",
        "classes": names,
        "n": len(t),
        "confusion": scores.confusion_matrix(t, pred, labels).tolist(),
        "per_class": {
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "f1": f1.tolist(),
            "support": support.tolist(),
        },
        "scores": {
            "accuracy": scores.accuracy(t, pred),
            "macro_precision": float(np.mean(precision)),
            "macro_recall": float(np.mean(recall)),
            "macro_f1": float(np.mean(f1)),
            "weighted_f1": _weighted(f1, support),
        },
        "curves": [],
        "calibration": None,
        "probabilistic": probabilistic,
    }
    if binary:
        desc["scores"]["f1"] = float(f1[1])
    # one curve per class, one against the rest; two classes: the positive one only
    shown = [1] if binary else sorted(labels, key=lambda c: -support[c])[:MAX_CURVES]
    aucs, aps = [], []
    for c in labels if not binary else [1]:
        if support[c] == 0 or support[c] == len(t):  # a curve needs both outcomes
            continue
        score_c = positive if binary else s[:, c]
        is_c = (t == c).astype(np.int64)
        fpr, tpr, _ = scores.roc_curve(is_c, score_c)
        prec, rec, _ = scores.precision_recall_curve(is_c, score_c)
        auc, ap = scores.roc_auc(is_c, score_c), scores.average_precision(is_c, score_c)
        aucs.append(auc)
        aps.append(ap)
        if c not in shown:
            continue
        curve = {"class": names[c], "auc": auc, "ap": ap, "prevalence": float(is_c.mean())}
        curve["fpr"], curve["tpr"] = _thin(fpr, tpr)
        curve["recall"], curve["precision"] = _thin(rec, prec)
        desc["curves"].append(curve)
    if probabilistic and s.min() >= 0 and s.max() <= 1 and len(t):
        # two classes: the positive one's probability; more: the predicted class's
        # probability against being right (one curve, as a reliability diagram draws it)
        confidence = positive if binary else s.max(axis=1)
        hit = t if binary else (pred == t).astype(np.int64)
        frac, mean = scores.calibration_curve(hit, confidence, n_bins=10)
        label = names[1] if binary else "predicted class"
        desc["calibration"] = {"of": label, "fraction": frac.tolist(), "mean": mean.tolist()}
    missing = [names[c] for c in labels if support[c] == 0]
    if aucs and not missing:  # one-vs-rest macro, as scores.roc_auc: every class present
        desc["scores"]["roc_auc"] = float(np.mean(aucs))
        desc["scores"]["average_precision"] = float(np.mean(aps))
    desc["absent"] = missing
    return desc


def describe_regression(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Scores and (a sample of) points of a regression: arrays (n,) or (n, m)."""
    t = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    keep = _sample(t.size)
    return {
        "kind": "regression",
        "n": len(t),
        "scores": {
            "r2": scores.r2(t, p),
            "rmse": scores.rmse(t, p),
            "mae": scores.mae(t, p),
            "mape": scores.mape(t, p),
        },
        "actual": t.reshape(-1)[keep].tolist(),
        "predicted": p.reshape(-1)[keep].tolist(),
    }


def _weighted(values: np.ndarray, support: np.ndarray) -> float:
    return float(np.average(values, weights=support)) if support.sum() else 0.0


def _sample(n: int) -> np.ndarray:
    """At most MAX_POINTS indices of n, the same ones every time (seeded)."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, MAX_POINTS, replace=False))


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """A curve's points, evenly thinned to MAX_POINTS keeping both ends (for drawing)."""
    if len(x) > MAX_POINTS:
        at = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
        x, y = x[at], y[at]
    return x.tolist(), y.tolist()


# ------------------------------------------------------------------ tables


def per_class_csv(desc: dict[str, Any]) -> str:
    """class,precision,recall,f1,support: one row per class, then macro and weighted
    averages (the rows of sklearn's classification_report)."""
    per = desc["per_class"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["class", "precision", "recall", "f1", "support"])
    for i, name in enumerate(desc["classes"]):
        w.writerow(
            [name, *(repr(per[k][i]) for k in ("precision", "recall", "f1")), per["support"][i]]
        )
    support = np.asarray(per["support"], dtype=np.float64)
    total = int(support.sum())
    for label, avg in (("macro avg", np.mean), ("weighted avg", None)):
        values = [
            np.mean(per[k]) if avg is not None else _weighted(np.asarray(per[k]), support)
            for k in ("precision", "recall", "f1")
        ]
        w.writerow([label, *(repr(float(v)) for v in values), total])
    return buf.getvalue()


def write_tables(folder: Path, described: list[dict[str, Any]]) -> None:
    """`per_class.csv` per classification head and `scores.json` (every head)."""
    if not described:
        return
    summary = {}
    for desc in described:
        if desc["kind"] == "classification":
            atomic_write_text(folder / f"{desc['prefix']}per_class.csv", per_class_csv(desc))
        summary[desc["head"]] = {"split": desc["split"], "n": desc["n"], **desc["scores"]}
    atomic_write_text(folder / SCORES, json.dumps(summary, indent=2) + "\n")


def read_scores(folder: Path) -> dict[str, dict[str, Any]]:
    """scores.json of a run folder ({} when there is none or it is damaged)."""
    try:
        value = json.loads((folder / SCORES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# ------------------------------------------------------------------ pictures


def draw_pictures(
    folder: Path, described: list[dict[str, Any]], kinds: list[str] | None = None
) -> str | None:
    """Every head's PNGs into `folder` (only those of `kinds`, from PICTURE_KINDS, when
    given); a one-line note instead without matplotlib."""
    if not described:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return "model pictures skipped: pip install 'nndsl[plot]' for plots"
    for desc in described:
        for kind in PICTURE_KINDS:
            if (kinds is None or kind in kinds) and _has(desc, kind):
                _DRAW[kind](Figure, folder, desc)
    return None


def _has(desc: dict[str, Any], kind: str) -> bool:
    """Whether a head has a picture of `kind` (curves need both outcomes of a class,
    calibration probabilities)."""
    if desc["kind"] == "regression":
        return kind == "predictions"
    if kind == "roc_pr":
        return bool(desc["curves"])
    if kind == "calibration":
        return desc["calibration"] is not None
    return kind == "confusion"


def _title(desc: dict[str, Any], what: str) -> str:
    head = f" · output {desc['head']}" if desc["prefix"] else ""
    return f"{desc['model']}{head}: {what} on the {desc['split']} split ({desc['n']:,} samples)"


def _save(fig: Any, path: Path, **margins: float) -> None:
    """Fixed margins rather than tight_layout, which draws the figure once more (a
    third of the time of a picture, and the run waits for the pictures)."""
    fig.subplots_adjust(**{"left": 0.07, "right": 0.98, "bottom": 0.12, "top": 0.86, **margins})
    atomic_write_by_name(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), suffix=".png")


def _draw_confusion(Figure: Any, folder: Path, desc: dict[str, Any]) -> None:
    names, k = desc["classes"], len(desc["classes"])
    cm = np.asarray(desc["confusion"], dtype=np.float64)
    side = min(3.5 + 0.25 * k, 10.0)
    fig = Figure(figsize=(2 * side, side + 0.6))
    rows = cm.sum(axis=1, keepdims=True)
    normalized = np.divide(cm, rows, out=np.zeros_like(cm), where=rows != 0)
    for i, (values, what, fmt) in enumerate(
        ((cm, "counts", "{:.0f}"), (normalized, "normalized by true class", "{:.2f}"))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.imshow(values, cmap="Blues", vmin=0, vmax=values.max() or 1)
        ax.set_xticks(
            range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center"
        )
        ax.set_yticks(range(k), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(what)
        if k <= ANNOTATE_CLASSES:
            high = values.max() / 2
            for r, c in zip(*np.nonzero(values)):  # zeros left blank: the errors stand out
                colour = "white" if values[r, c] > high else "black"
                ax.text(c, r, fmt.format(values[r, c]), ha="center", va="center",
                        color=colour, fontsize=8 if k > 10 else 10)  # fmt: skip
    acc = desc["scores"]["accuracy"]
    fig.suptitle(_title(desc, f"confusion matrix, accuracy {acc:.3f}"))
    # room for the class names in inches (about 0.08 a character) and the axis label
    names_in = 0.45 + 0.08 * max(len(n) for n in names)
    below_in = 0.55 + (0.06 * max(len(n) for n in names) if k > 4 else 0.2)
    _save(
        fig,
        folder / f"{desc['prefix']}confusion.png",
        left=min(0.3, names_in / (2 * side)),
        bottom=min(0.35, below_in / (side + 0.6)),
        wspace=min(0.8, 1.6 * names_in / side),
    )


def _curve_label(curve: dict[str, Any], key: str, binary: bool) -> str:
    """The legend entry: the class (several classes) and its AUC or AP."""
    name = "" if binary else f"{curve['class']}: "
    return f"{name}{key.upper()} {curve[key]:.3f}"


def _draw_roc_pr(Figure: Any, folder: Path, desc: dict[str, Any]) -> None:
    binary = len(desc["classes"]) == 2
    fig = Figure(figsize=(11, 4.8))
    roc, pr = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for curve in desc["curves"]:
        roc.plot(curve["fpr"], curve["tpr"], label=_curve_label(curve, "auc", binary))
        pr.step(curve["recall"], curve["precision"], where="post",
                label=_curve_label(curve, "ap", binary))  # fmt: skip
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    if binary:
        base = desc["curves"][0]["prevalence"]
        pr.axhline(base, color="grey", linestyle=":", label=f"chance ({base:.2f})")
    roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall")
    for ax in (roc, pr):
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is roc else "lower left")
    what = "ROC and precision-recall" + ("" if binary else " (each class against the rest)")
    if desc["absent"]:
        what += f"; absent: {', '.join(desc['absent'][:5])}"
    fig.suptitle(_title(desc, what))
    _save(fig, folder / f"{desc['prefix']}roc_pr.png", wspace=0.2)


def _draw_calibration(Figure: Any, folder: Path, desc: dict[str, Any]) -> None:
    cal = desc["calibration"]
    binary = len(desc["classes"]) == 2
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    ax.plot(cal["mean"], cal["fraction"], marker="o", label="model")
    if binary:
        ax.set(xlabel=f"mean predicted probability of {cal['of']}", ylabel=f"fraction {cal['of']}")
    else:
        ax.set(xlabel="mean probability of the predicted class", ylabel="fraction right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(_title(desc, "calibration (10 bins)"), fontsize=9)
    _save(fig, folder / f"{desc['prefix']}calibration.png", left=0.13, top=0.9)


def _draw_regression(Figure: Any, folder: Path, desc: dict[str, Any]) -> None:
    t, p = np.asarray(desc["actual"]), np.asarray(desc["predicted"])
    residual = t - p
    fig = Figure(figsize=(15, 4.6))
    ax = fig.add_subplot(1, 3, 1)
    ax.scatter(t, p, s=8, alpha=0.5)
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle=":", label="predicted = actual")
    ax.set(xlabel="actual", ylabel="predicted", title="predicted against actual")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 3, 2)
    ax.scatter(p, residual, s=8, alpha=0.5)
    ax.axhline(0, color="grey", linestyle=":")
    ax.set(xlabel="predicted", ylabel="actual - predicted", title="residuals")
    ax = fig.add_subplot(1, 3, 3)
    ax.hist(residual, bins=min(40, max(5, len(residual) // 10)))
    ax.set(xlabel="actual - predicted", ylabel="samples", title="residuals")
    for ax in fig.axes:
        ax.grid(alpha=0.3)
    s = desc["scores"]
    fig.suptitle(_title(desc, f"R² {s['r2']:.3f} · RMSE {s['rmse']:.4g} · MAE {s['mae']:.4g}"))
    _save(fig, folder / f"{desc['prefix']}predictions.png", left=0.05, wspace=0.25)


_DRAW = {
    "confusion": _draw_confusion,
    "roc_pr": _draw_roc_pr,
    "calibration": _draw_calibration,
    "predictions": _draw_regression,
}
