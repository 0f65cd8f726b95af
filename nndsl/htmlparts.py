"""Small HTML pieces shared by the report (nndsl.report) and the notebook displays of
programs, models and histories (`_repr_html_`): escaping, tables, numbers, and the
learning curves as inline SVG (no matplotlib needed). Plain strings, no dependencies."""

from __future__ import annotations

import html
import math
from typing import Any


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def number(v: float) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.4f}" if 1e-3 <= abs(v) < 1e4 else f"{v:.4g}"


def table(
    head: list[str], rows: list[list[Any]], highlight: list[bool] | None = None, code: bool = False
) -> str:
    """A table; numbers right-aligned (class "num"), rows marked "best" where `highlight`
    says, cells after the first as code where `code`."""
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        cls = ' class="best"' if highlight and highlight[i] else ""
        out.append(f"<tr{cls}>")
        for j, cell in enumerate(row):
            if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                out.append(f'<td class="num" style="text-align:right">{escape(number(cell))}</td>')
            elif code and j > 0:
                out.append(f"<td><code>{escape(cell)}</code></td>")
            else:
                out.append(f"<td>{escape('' if cell is None else cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def svg_curves(history: dict[str, list[float]], info: dict, width: int = 640) -> str:
    """Loss (and validation loss) per epoch as an inline SVG: the curves without
    matplotlib. The early-stopping epoch is marked."""
    keys = [k for k in ("loss", "val_loss") if history.get(k)]
    values = [v for k in keys for v in history[k] if math.isfinite(v)]
    if not values:
        return "<p>(no finite losses)</p>"
    height, pad = 260, 36
    n = max(len(history[k]) for k in keys)
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * (i / max(1, n - 1))
        y = height - pad - (height - 2 * pad) * ((v - lo) / (hi - lo))
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="learning curves">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for k, colour in zip(keys, ("#1f77b4", "#ff7f0e")):
        points = " ".join(xy(i, v) for i, v in enumerate(history[k]) if math.isfinite(v))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
    if info.get("stopped_epoch"):
        x = xy(info["stopped_epoch"] - 1, lo).split(",")[0]  # 1-based epoch, 0-based point
        parts.append(
            f'<line x1="{x}" x2="{x}" y1="{pad}" y2="{height - pad}" stroke="grey" '
            'stroke-dasharray="3,3"/>'
        )
    parts.append(
        f'<text x="{pad}" y="20" font-size="12">{" / ".join(keys)} per epoch '
        f"({number(lo)} to {number(hi)})</text></svg>"
    )
    return "".join(parts)
