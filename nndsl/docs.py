"""The language reference, generated from the same declarations the compiler reads
(`nndsl docs > docs/reference.md`); a test fails when the committed copy is stale."""

from __future__ import annotations

from nndsl.ir import catalog as _catalog  # noqa: F401  (fills the registries)
from nndsl.ir.catalog import EARLY_STOP, TRAIN_SETTINGS
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS, Param, format_value, signature_text
from nndsl.sweep.grid import reference_section as sweep_reference

FAMILIES = [
    ("core", "Core layers"),
    ("convolution", "Convolution and pooling (channels last: `input(height, width, channels)`)"),
    ("normalization", "Normalization"),
    ("recurrent", "Sequences: embeddings and recurrent layers (samples `(timesteps, features)`)"),
    ("activation", "Activations (as layers, or as `activation=` of dense)"),
    ("regularization", "Regularization"),
    ("merge", "Merges (graphs that are not a plain stack)"),
]

SECTIONS = [
    ("initializer", "Initializers (`init=`, `bias_init=`)"),
    ("loss", "Losses (`loss = ...`)"),
    ("optimizer", "Optimizers (`optimizer = ...`; torch.optim's names, formulas and defaults)"),
    ("schedule", "Learning-rate schedules (`schedule = ...`, applied after each epoch)"),
    ("metric", "Metrics (`metrics = [...]`)"),
    ("term", "Loss terms (`terms = (name = weight * fn(layers), ...)`; value reported as `name`)"),
    ("data", "Data sources (`data = ...`)"),
]


def _param_rows(params: tuple[Param, ...]) -> list[str]:
    if not params:
        return ["", "_No arguments._"]
    rows = ["", "| argument | kind | default | meaning |", "|---|---|---|---|"]
    for p in params:
        kind = p.kind
        if p.choices:
            kind = " \\| ".join(p.choices)
        rng = p.describe_range()
        if rng:
            kind += f", {rng}"
        if p.variadic:
            default = "(one or more)"
        elif p.required:
            default = "required"
        else:
            default = f"`{format_value(p.default)}`"
        rows.append(f"| `{p.name}` | {kind} | {default} | {p.doc} |")
    return rows


def reference() -> str:
    out = [
        "# nndsl language reference",
        "",
        "Generated from nndsl's declarations by `nndsl docs`; do not edit by hand.",
        "",
    ]
    out += ["## Layers", ""]
    for family, title in FAMILIES:
        out += [f"### {title}", ""]
        for name, op in OPS.items():
            if op.family != family:
                continue
            out += [f"#### `{signature_text(name, op.params)}`", "", op.doc]
            out += _param_rows(op.params) + [""]
    for kind, title in SECTIONS:
        out += [f"## {title}", ""]
        for name, entry in CATALOGS[kind].items():
            out += [f"### `{signature_text(name, entry.params)}`", "", entry.doc]
            out += _param_rows(entry.params) + [""]
    out += ["## Early stopping (`early_stop = (...)`)", "", EARLY_STOP.doc]
    out += _param_rows(EARLY_STOP.params) + [""]
    out += ["## Settings of a `train` block", "", TRAIN_SETTINGS.doc]
    out += _param_rows(TRAIN_SETTINGS.params) + [""]
    out += sweep_reference()
    return "\n".join(out)
