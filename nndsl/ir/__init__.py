"""The IR: op and catalog declarations, graphs, plans, initial weights."""

from nndsl.ir import catalog, ops  # noqa: F401  (fill the registries)
