"""The language reference, generated from the same declarations the compiler reads
(`nndsl docs > docs/reference.md`); a test fails when the committed copy is stale."""

from __future__ import annotations

from nndsl.blocks import std_files
from nndsl.ir import catalog as _catalog  # noqa: F401  (fills the registries)
from nndsl.ir.catalog import EARLY_STOP, TRAIN_SETTINGS
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS, Param, format_value, signature_text
from nndsl.sweep.grid import reference_section as sweep_reference
from nndsl.syntax.parser import parse

FAMILIES = [
    ("core", "Core layers"),
    ("convolution", "Convolution and pooling (channels last: `input(height, width, channels)`)"),
    ("normalization", "Normalization"),
    ("recurrent", "Sequences: embeddings and recurrent layers (samples `(timesteps, features)`)"),
    ("attention", "Attention and positions (samples `(timesteps, features)`)"),
    ("activation", "Activations (as layers, or as `activation=` of dense)"),
    ("regularization", "Regularization"),
    ("merge", "Merges (graphs that are not a plain stack)"),
    ("generative", "Generative models (variational autoencoders)"),
]

SECTIONS = [
    ("initializer", "Initializers (`init=`, `bias_init=`)"),
    ("loss", "Losses (`loss = ...`)"),
    ("optimizer", "Optimizers (`optimizer = ...`; torch.optim's names, formulas and defaults)"),
    ("schedule", "Learning-rate schedules (`schedule = ...`, applied after each epoch)"),
    ("metric", "Metrics (`metrics = [...]`)"),
    ("term", "Loss terms (`terms = (name = weight * fn(layers), ...)`; value reported as `name`)"),
    ("gan_loss", "GAN losses (`gan_loss = ...`, with `discriminator = MODEL`)"),
    ("env", "Environments of an agent (`env = ...`; see Reinforcement learning)"),
    ("algorithm", "Reinforcement-learning algorithms (`algorithm = ...`, with `env =`)"),
    ("exploration", "Exploration schedules (`dqn(epsilon=...)`, over environment steps)"),
    ("search", "Searches of a sweep file (`search = ...`; see Sweeps)"),
    ("logger", "Experiment trackers (`log = ...`, or `--log` on the command line)"),
    ("data", "Data sources (`data = ...`)"),
    ("column", "Feature column types (`csv(..., columns=(city=category, ...))`)"),
    ("missing", "Missing values (`csv(..., missing=fill_median)` or by column)"),
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


def _metric_facts(extra: dict) -> str:
    """A metric's direction and the outputs it is computed for, from its declaration."""
    better = "Higher" if extra.get("better") == "max" else "Lower"
    line = f"{better} is better (`early_stop`'s `mode = auto`). "
    needs = extra.get("needs")
    if needs:
        return line + "For outputs trained on " + " or ".join(needs) + " targets."
    return line + "For any output."


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
    out += std_reference()
    for kind, title in SECTIONS:
        out += [f"## {title}", ""]
        for name, entry in CATALOGS[kind].items():
            out += [f"### `{signature_text(name, entry.params)}`", "", entry.doc]
            if kind == "metric":
                out += ["", _metric_facts(entry.extra)]
            out += _param_rows(entry.params) + [""]
    out += ["## Early stopping (`early_stop = (...)`)", "", EARLY_STOP.doc]
    out += _param_rows(EARLY_STOP.params) + [""]
    out += ["## Settings of a `train` block", "", TRAIN_SETTINGS.doc]
    out += _param_rows(TRAIN_SETTINGS.params) + [""]
    out += sweep_reference()
    return "\n".join(out)


def std_reference() -> list[str]:
    """The standard library's blocks: each one's header, the comment above it, and its
    body as written (`use std` brings them in)."""
    out = [
        "## Standard library blocks (`use std`)",
        "",
        "Blocks written in `.nn`, shipped in `nndsl/stdlib/`; a file brings them in with "
        "`use std` and uses them like layers. Their layers are named by path "
        "(`residual_unit_1.dense_1`).",
        "",
    ]
    for path in std_files():
        source = path.read_text(encoding="utf-8")
        module = parse(source, str(path))
        lines = source.split("\n")
        for block in module.block_defs:
            head = lines[block.span.line - 1].strip().removeprefix("block ").rstrip(" {")
            doc = _comment_above(lines, block.span.line)
            body = lines[block.span.line - 1 : block.span.end_line]
            out += [f"### `{head}`", "", doc, "", "```", *body, "```", ""]
    return out


def _comment_above(lines: list[str], line: int) -> str:
    """The `#` comment lines right above line `line` (1-based), joined as prose."""
    words: list[str] = []
    i = line - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        words.insert(0, lines[i].lstrip()[1:].strip())
        i -= 1
    return " ".join(words)
