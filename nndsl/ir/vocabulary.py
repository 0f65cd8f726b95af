"""The words of the language, by role, from the declarations: what editors and the
Pygments lexer colour (nndsl.syntax.lexer, editors/nndsl.tmLanguage.json)."""

from __future__ import annotations

from nndsl.ir import catalog  # noqa: F401  (fills the registries)
from nndsl.ir.catalog import TRAIN_SETTINGS
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS, GROUPS

KEYWORDS = ("model", "train", "repeat")
CONSTANTS = ("true", "false", "none")
RESERVED_ARGUMENTS = ("from",)  # the compiler's branch keyword: `dense(8, from=h)`


def vocabulary() -> dict[str, list[str]]:
    """{"keywords", "constants", "layers", "entries", "arguments"}: sorted, each name once.

    layers: every op (`dense`, `relu`, ...); entries: every other catalog name (losses,
    optimizers, initializers, schedules, metrics, data sources; `accuracy`, `adam`);
    arguments: every declared argument and `train` setting name (`lr`, `batch_size`)."""
    layers = set(OPS)
    entries = {name for kind, table in CATALOGS.items() for name in table} - layers
    arguments = {p.name for table in CATALOGS.values() for e in table.values() for p in e.params}
    arguments |= {p.name for g in GROUPS.values() for p in g.params}
    arguments |= {p.name for p in TRAIN_SETTINGS.params}
    arguments |= set(RESERVED_ARGUMENTS)
    return {
        "keywords": list(KEYWORDS),
        "constants": list(CONSTANTS),
        "layers": sorted(layers),
        "entries": sorted(entries),
        "arguments": sorted(arguments - set(KEYWORDS) - set(CONSTANTS)),
    }
