"""`nndsl report RUN_DIR`: one self-contained HTML page about a run folder (or a sweep
folder): what was trained, how it went, where it ended. Images are embedded as base64,
styles are inline; the page needs no other file and no network.

The run folder is the input (config.yaml, history.csv, metrics.json, model.nn,
curves.png, and the pictures of the model's predictions with scores.json and
per_class.csv: nndsl.train.model_pictures): a report can be written long after the run,
on another machine.
"""

from __future__ import annotations

import base64
import csv
from pathlib import Path
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.htmlparts import escape as _e
from nndsl.htmlparts import svg_curves
from nndsl.htmlparts import table as _table
from nndsl.runfolder import RunFolder
from nndsl.train.model_pictures import PICTURE_KINDS, read_scores

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 68rem; padding: 0 1rem; color: #1f2328; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
.sub { color: #59636e; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .92rem; }
th, td { padding: .25rem .7rem; border-bottom: 1px solid #eaeef2; text-align: left; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; font-weight: 600; }
code, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; }
pre.source { background: #f6f8fa; padding: .8rem 1rem; border-radius: 6px; overflow-x: auto;
             font-size: .88rem; line-height: 1.4; }
img { max-width: 100%; border: 1px solid #eaeef2; border-radius: 6px; }
.status { display: inline-block; padding: .05rem .5rem; border-radius: 1rem;
          background: #ddf4ff; font-size: .85rem; }
.status.failed, .status.interrupted { background: #ffebe9; }
"""


def report_html(folder: Path) -> str:
    """The page for a run folder or a sweep folder (one holding sweep.csv)."""
    if (folder / "sweep.csv").exists():
        return _page(*_sweep_sections(folder))
    if not (folder / "config.yaml").exists():
        raise NNDSLError(
            f"{folder} is not a run folder (it has no config.yaml)",
            hint="give the folder `nndsl run` printed at its end, e.g. runs/MODEL-TIME",
        )
    return _page(*_run_sections(folder))


# ------------------------------------------------------------------ a run


def _run_sections(folder: Path, level: int = 1) -> tuple[str, list[str]]:
    run = RunFolder(folder)
    config = run.config
    name = config.get("model", folder.name)
    status = config.get("status", "?")
    title = f"{name}: {status}"
    h = f"h{level + 1}"
    out = [
        f"<h{level}>{_e(name)}</h{level}>",
        f'<p class="sub"><span class="status {_e(status.split()[0])}">{_e(status)}</span> '
        f"{_e(_facts(config, folder))}</p>",
    ]
    metrics = run.metrics
    if metrics:
        out += [f"<{h}>Final metrics</{h}>", _metrics_table(metrics)]
    history = run.history.history
    out += [f"<{h}>Learning curves</{h}>", _curves(folder, history, config)]
    out += _predictions(folder, h)
    if config.get("graph"):
        out += [f"<{h}>Layers</{h}>", _layers_table(config["graph"])]
    out += [f"<{h}>Configuration</{h}>", _config_table(config)]
    source = folder / "model.nn"
    if source.exists():
        text = source.read_text(encoding="utf-8")
        out += [f"<{h}>Source <code>{_e(config.get('source', 'model.nn'))}</code></{h}>"]
        out += [highlight_source(text)]
    if history:
        out += [f"<{h}>History</{h}>", _history_table(history)]
    return title, out


def _facts(config: dict, folder: Path) -> str:
    parts = [f"{config.get('backend', '?')} backend", f"seed {config.get('seed', '?')}"]
    if config.get("seconds") is not None:
        parts.append(f"{config['seconds']:.1f} s")
    info = config.get("early_stop") or {}
    if info.get("stopped_epoch"):
        parts.append(f"early stop at epoch {info['stopped_epoch']}")
    if "restored_epoch" in info:
        parts.append(f"weights of epoch {info['restored_epoch']} kept")
    if config.get("overrides"):
        parts.append("--set " + " ".join(config["overrides"]))
    parts.append(f"folder {folder}")
    return " · ".join(parts)


def _metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    metrics = dict(metrics)
    for held, forecasts in (metrics.pop("baselines", None) or {}).items():  # series() data
        metrics.update({f"{held}, {name} baseline": m for name, m in forecasts.items()})
    keys = list(dict.fromkeys(k for m in metrics.values() for k in m))
    rows = [[split, *(m.get(k) for k in keys)] for split, m in metrics.items()]
    return _table(["split", *keys], rows)


def _layers_table(graph_data: dict) -> str:
    from nndsl.ir.graph import Graph
    from nndsl.ir.ops import fmt_shape

    try:
        graph = Graph.from_dict(graph_data)
    except Exception:  # a graph from another version: show what the file says
        return "<p>(the graph in config.yaml is not readable by this version)</p>"
    rows = []
    for n in graph.nodes:
        op = n.op
        act = n.attrs.get("activation")
        if act is not None and getattr(act, "name", "linear") != "linear":
            op += f" ({act.name})"
        rows.append([n.name, op, fmt_shape(n.shape).replace("batch", "None"), n.param_count])
    rows.append(["total", "", "", graph.param_count])
    return _table(["layer", "op", "output shape", "params"], rows)


def _config_table(config: dict) -> str:
    from nndsl.ir.plan import TrainPlan
    from nndsl.ir.signature import format_value

    train = config.get("train") or {}
    try:
        plan = TrainPlan.from_dict(train)
        items = [(k, getattr(plan, k)) for k in train if k not in ("model", "base_dir")]
    except Exception:
        items = [(k, v) for k, v in train.items() if k not in ("model", "base_dir")]

    def shown(v: Any) -> str:
        if isinstance(v, dict):
            return "(" + ", ".join(f"{k}={format_value(x)}" for k, x in v.items()) + ")"
        return format_value(v)

    rows = [[k, shown(v)] for k, v in items]
    rows += [["backend", config.get("backend", "")], ["nndsl", config.get("nndsl", "")]]
    return _table(["setting", "value"], rows, code=True)


def _history_table(history: dict[str, list[float]]) -> str:
    keys = list(history)
    n = len(history[keys[0]]) if keys else 0
    rows = [[i + 1, *(history[k][i] for k in keys)] for i in range(n)]
    return f"<details><summary>{n} epochs</summary>{_table(['epoch', *keys], rows)}</details>"


def _curves(folder: Path, history: dict[str, list[float]], config: dict) -> str:
    png = folder / "curves.png"
    if png.exists():
        return _img(png.read_bytes(), "learning curves")
    if not history:
        return "<p>(no history)</p>"
    return svg_curves(history, config.get("early_stop") or {})


PICTURE_ALT = {
    "confusion": "confusion matrix, counts and normalized",
    "roc_pr": "ROC and precision-recall curves",
    "calibration": "calibration curve",
    "predictions": "predicted against actual, residuals",
}


def _predictions(folder: Path, h: str) -> list[str]:
    """Each output's scores on held-out data, its per-class table and its pictures."""
    heads = read_scores(folder)
    out = []
    for head, values in heads.items():
        prefix = f"{head}_" if len(heads) > 1 else ""
        shown = {k: v for k, v in values.items() if k not in ("split", "n")}
        where = f"{values.get('split', '?')} split, {values.get('n', '?')} samples"
        title = f"Predictions of {head}" if len(heads) > 1 else "Predictions"
        out += [
            f"<{h}>{_e(title)} ({_e(where)})</{h}>",
            _table(list(shown), [list(shown.values())]),
        ]
        per_class = folder / f"{prefix}per_class.csv"
        if per_class.exists():
            with open(per_class, encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))
            if rows:
                body = [[r[0], *(_number(c) for c in r[1:])] for r in rows[1:]]
                out.append(_table(rows[0], body))
        for kind in PICTURE_KINDS:
            png = folder / f"{prefix}{kind}.png"
            if png.exists():
                out.append(_img(png.read_bytes(), PICTURE_ALT[kind]))
    return out


def _number(text: str) -> float | int | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


# ------------------------------------------------------------------ a sweep


def _sweep_sections(folder: Path) -> tuple[str, list[str]]:
    with open(folder / "sweep.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    head = list(rows[0]) if rows else []
    shown = [k for k in head if k not in ("best", "folder")]
    body = [[r[k] for k in shown] for r in rows]
    best = [r["best"] == "1" for r in rows]
    out = [
        f"<h1>Sweep: {_e(folder.name)}</h1>",
        f'<p class="sub">{len(rows)} trials, best first · folder {_e(str(folder))}</p>',
        "<h2>Trials</h2>",
        _table(shown, body, highlight=best),
    ]
    if (folder / "sweep.png").exists():
        out += ["<h2>Curves of every trial</h2>", _img((folder / "sweep.png").read_bytes(), "")]
    winner = next((r for r in rows if r["best"] == "1"), None)
    if winner is not None and (folder / winner["folder"] / "config.yaml").exists():
        _, sections = _run_sections(folder / winner["folder"], level=2)
        out += [f"<h2>Best trial: {_e(winner['trial'])}</h2>", *sections[1:]]
    return f"sweep {folder.name}", out


# ------------------------------------------------------------------ pieces


def highlight_source(text: str) -> str:
    """`.nn` source as HTML: coloured by the Pygments lexer (inline styles), or plain."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter

        from nndsl.syntax.lexer import NNDSLLexer
    except ImportError:
        return f'<pre class="source">{_e(text)}</pre>'
    formatter = HtmlFormatter(noclasses=True, nowrap=True, style="friendly")
    return f'<pre class="source">{highlight(text, NNDSLLexer(), formatter)}</pre>'


def _img(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{encoded}">'


def _page(title: str, sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(sections)
        + '\n<p class="sub">written by <code>nndsl report</code></p>\n</body></html>\n'
    )
