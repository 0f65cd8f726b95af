"""The trials of a sweep file, each an ordinary `Program` compiled on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nndsl.sweep.grid import Range, unparse

if TYPE_CHECKING:
    from nndsl.api import Program


@dataclass
class Trial:
    """One point of the grid (or of a search): `config` maps each axis label to its value
    here; `values` holds the ranges' sampled numbers (absent: their low ends)."""

    index: int  # 0-based position in the grid
    name: str  # "trial-03": 1-based, zero-padded to the grid's size
    config: dict[str, Any]
    text: dict[str, str]  # the same values in .nn syntax, for tables and file names
    parent: Program = field(repr=False)
    values: dict[str, float] = field(default_factory=dict)

    @cached_property
    def program(self) -> Program:
        """This trial as a plain program; its `source` is the file with each list
        replaced by this trial's value, its `overrides` the `--set`s with theirs."""
        from nndsl.compiler import compile_module

        sweep = self.parent.sweep
        module = sweep.module_for(self.index, self.values)
        program = type(self.parent)(compile_module(module))  # a Program, like its parent
        keys = set(_override_keys(self.parent.overrides))
        program.source = sweep.source_for(self.index, skip=keys, values=self.values)
        program.overrides = _concrete_overrides(self.parent.overrides, module)
        return program

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.text.items())


def trials_of(program: Program) -> list[Trial]:
    """The grid's trials, each range at its low end (a search samples its own values:
    nndsl.sweep.search)."""
    sweep = program.sweep
    if sweep is None:
        return []
    width = max(2, len(str(len(sweep))))  # trial-01 ... trial-12: names sort as numbers
    return [make_trial(program, i, f"trial-{i + 1:0{width}d}") for i in range(len(sweep))]


def make_trial(
    program: Program, index: int, name: str, values: dict[str, float] | None = None
) -> Trial:
    """Trial `index` of the grid with the ranges at `values` (absent: their low ends);
    `config` and `text` list every dimension in the file's order."""
    sweep = program.sweep
    config, text = sweep.config(index), sweep.config_text(index)
    for r in sweep.ranges:
        number = r.number((values or {}).get(r.label, r.low))
        config[r.label], text[r.label] = number.value, number.text
    order = sweep.labels
    config = {k: config[k] for k in order}
    text = {k: text[k] for k in order}
    return Trial(index, name, config, text, program, dict(values or {}))


def _override_keys(overrides: list[str]) -> list[str]:
    return [text.partition("=")[0].strip() for text in overrides]


def _concrete_overrides(overrides: list[str], module: Any) -> list[str]:
    """`--set` texts with this trial's value where an override held a sweep."""
    settings = {s.key: s for block in module.trains for s in block.settings}
    out = []
    for key, text in zip(_override_keys(overrides), overrides):
        setting = settings.get(key)
        out.append(f"{key}={unparse(setting.value)}" if setting is not None else text)
    return out


CHECK_LIMIT = 1000  # `nndsl check` compiles every trial of a grid up to this size


def check_trials(program: Program, limit: int = CHECK_LIMIT) -> int:
    """Compile every trial (a grid larger than `limit`: none beyond those that take each
    value once, already compiled) so that a combination that cannot work (validation
    and test fractions leaving nothing, a loss that does not fit an activation) is found
    before anything runs. Returns how many were compiled."""
    from nndsl.errors import NNDSLError

    if len(program.sweep) > limit:  # before the trials are listed: that alone takes long
        return 0
    for trial in program.trials:
        try:
            trial.program  # noqa: B018  (compiles it)
        except NNDSLError as e:
            e.message = f"{trial.name} ({trial.describe()}): {e.message}"
            e.args = (e.message,)
            raise
    return len(program.trials)


def sweep_header(program: Program) -> str:
    sweep = program.sweep
    lines = [f"Sweep: {len(sweep)} trial{'s' if len(sweep) != 1 else ''}"]
    search = program.train.search if program.train is not None else None
    if search is not None and search.name != "grid":
        lines[0] = f"Search: {search}"
    for dim in sweep.dimensions:
        shown = dim.describe() if isinstance(dim, Range) else unparse(dim.values)
        lines.append(f"  {dim.label} = {shown}")
    return "\n".join(lines)


def sweep_summary(program: Program, model: str | None = None, most: int = 16) -> str:
    """The grid, then the layer table of each distinct model the grid builds."""
    import itertools

    sweep = program.sweep
    out = [sweep_header(program), ""]
    shaping = [k for k, a in enumerate(sweep.axes) if a.layer is not None]
    combos = itertools.product(*(range(len(sweep.axes[k])) for k in shaping))
    for n, combo in enumerate(combos):
        if n == most:
            out.append(f"(and more: {len(sweep)} trials in all)")
            break
        point = [0] * len(sweep.axes)
        for k, j in zip(shaping, combo):
            point[k] = j
        trial = program.trials[sweep.index_of(point)]
        if shaping:
            shown = " ".join(
                f"{sweep.axes[k].label}={trial.text[sweep.axes[k].label]}" for k in shaping
            )
            out.append(f"With {shown}:")
        out += [trial.program.summary(model), ""]
    return "\n".join(out).rstrip("\n")
