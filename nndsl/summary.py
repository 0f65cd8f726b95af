"""`model.summary()`: a table like Keras' — layer, op, output shape, parameters, totals."""

from __future__ import annotations

from nndsl.htmlparts import escape, table
from nndsl.ir.graph import Graph
from nndsl.ir.ops import fmt_shape


def summary_table(graph: Graph) -> Summary:
    show_inputs = any(len(n.inputs) > 1 for n in graph.nodes) or any(
        n.inputs and n.inputs[0] != graph.nodes[i - 1].name for i, n in enumerate(graph.nodes)
    )
    header = ["Layer", "Op", "Output shape", "Params"] + (["Connected to"] if show_inputs else [])
    rows = []
    for n in graph.nodes:
        op = n.op
        act = n.attrs.get("activation")
        if act is not None and act.name != "linear":
            op += f" ({act.name})"
        pad = n.attrs.get("pad_from")
        if pad is not None:  # the token ids whose padding it leaves out (mask_zero fills it)
            op += f" [mask: {pad}]"
        row = [n.name, op, fmt_shape(n.shape).replace("batch", "None"), f"{n.param_count:,}"]
        if show_inputs:
            row.append(", ".join(n.inputs))
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(header))
    total, trainable = graph.param_count, graph.trainable_count
    out = [f'Model: "{graph.name}"', rule, line(header), "=" * len(rule)]
    out += [line(r) for r in rows]
    totals = [
        f"Total params: {total:,} ({_bytes(total * 4)})",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    out += ["=" * len(rule), *totals, rule]
    page = f"<p><b>Model: {escape(graph.name)}</b></p>" + table(header, rows)
    page += "<p>" + "<br>".join(escape(t) for t in totals) + "</p>"
    return Summary("\n".join(out), page)


class Summary(str):
    """A layer table as text that shows as itself at a Python prompt (not as an escaped
    string with \\n in it) and as an HTML table in a notebook."""

    html: str

    def __new__(cls, text: str, html: str = "") -> Summary:
        made = super().__new__(cls, text)
        made.html = html
        return made

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return self.html or f"<pre>{escape(str(self))}</pre>"


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n} B"
