"""The blocks a file may use: its own `block` definitions and those of the files it brings
in with `use "other.nn"` (paths relative to the file that says `use`) or `use std` (the
standard library, `nndsl/stdlib/*.nn`, shipped with the package).

What a used file brings is its blocks and, in turn, the blocks of the files it uses; its
models and train blocks stay its own. A file used twice (two files use a third) is read
once; a cycle of uses is refused at the `use` that closes it. Each block keeps the file
it was written in, so a mistake inside it is reported there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nndsl.errors import NNDSLError, did_you_mean
from nndsl.files import MissingFile, read_regular, show_path
from nndsl.syntax import ast
from nndsl.syntax.parser import parse

STD_DIR = Path(__file__).resolve().parent / "stdlib"
MAX_SOURCE_BYTES = 2**20  # a .nn file is source text; nothing sensible is larger (and a
# larger one takes the parser seconds). The same bound holds for the file compiled.


@dataclass(frozen=True)
class BlockSource:
    """A block definition and the file it was written in (for messages)."""

    block: ast.BlockDef
    path: str | None
    source: str

    def where(self) -> str:
        place = show_path(self.path) if self.path else "this file"
        return f"{place}:{self.block.span.line}"


def _err(message: str, span: ast.Span, hint: str | None = None) -> NNDSLError:
    end = span.end_column if span.end_line == span.line else None
    return NNDSLError(message, line=span.line, column=span.column, end_column=end, hint=hint)


def std_files() -> list[Path]:
    return sorted(STD_DIR.glob("*.nn"))


def collect_blocks(module: ast.Module, builtins: set[str]) -> dict[str, BlockSource]:
    """Every block `module` may use, by name. `builtins` are the names of built-in layers,
    which a block may not take. Errors are located in the file they are in."""
    table: dict[str, BlockSource] = {}
    _Collector(table, builtins).add(module, [_key(module.path)])
    return table


def _key(path: str | None) -> str:
    if not path:
        return "<source>"
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError, ValueError):
        # a symlink loop, a NUL, a lone surrogate: reading it says why, naming the file
        return os.path.abspath(path)


class _Collector:
    def __init__(self, table: dict[str, BlockSource], builtins: set[str]) -> None:
        self.table = table
        self.builtins = builtins
        self.done: set[str] = set()

    def add(self, module: ast.Module, chain: list[str]) -> None:
        self.done.add(chain[-1])
        try:  # uses first: a clash with a used block is reported at this file's block
            for use in module.uses:
                self._use(use, module, chain)
            for block in module.block_defs:
                self._define(BlockSource(block, module.path, module.source))
        except NNDSLError as e:
            raise e.located(module.path, module.source) from None

    def _define(self, src: BlockSource) -> None:
        block = src.block
        if block.name in self.builtins:
            raise _err(
                f"'{block.name}' is a built-in layer; a block needs a name of its own",
                block.name_span,
                f"e.g. my_{block.name}",
            )
        other = self.table.get(block.name)
        if other is not None:
            raise _err(
                f"block '{block.name}' is already defined ({other.where()})",
                block.name_span,
                "give each block its own name",
            )
        self.table[block.name] = src

    def _use(self, use: ast.Use, module: ast.Module, chain: list[str]) -> None:
        if use.std:
            paths = std_files()
        else:
            base = Path(module.path).resolve().parent if module.path else Path.cwd()
            paths = [base / use.path]
        for path in paths:
            key = _key(str(path))
            if key in chain:
                cycle = " -> ".join(Path(k).name for k in chain[chain.index(key) :])
                raise _err(
                    f"use cycle: {cycle} -> {path.name}",
                    use.path_span,
                    "a file cannot use itself, directly or through others",
                )
            if key in self.done:
                continue
            used = _read(path, use)
            shown = str(path) if use.std else _shown(module.path, use.path)
            self.add(parse(used, shown), [*chain, key])


def _shown(importer: str | None, written: str) -> str:
    """The used file's path as messages show it: beside the importer's path as given."""
    if importer is None:
        return written
    return str(Path(importer).parent / written)


def _read(path: Path, use: ast.Use) -> str:
    try:
        data = read_regular(path, "used file", limit=MAX_SOURCE_BYTES)
    except MissingFile:
        near = [p.name for p in path.parent.glob("*.nn")] if path.parent.is_dir() else []
        raise _err(
            f"no such file: {show_path(use.path)}",
            use.path_span,
            did_you_mean(path.name, near) or "paths are relative to the file that says use",
        ) from None
    except NNDSLError as e:
        raise _err(e.message, use.path_span, e.hint) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _err(
            f"{show_path(use.path)} is not UTF-8 text ({e.reason} at byte {e.start})",
            use.path_span,
        ) from None
