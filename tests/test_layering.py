"""The pipeline's direction, as the tree shows it: syntax -> ir -> compiler -> data ->
backends -> train -> model/api -> commands. No module imports one of a later layer (at
module level or inside a function; `if TYPE_CHECKING:` imports are types only), and no
imports form a cycle. The root package `nndsl` is the public facade and exempt: it
imports the API lazily."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "nndsl"

# module prefix -> layer; the longest prefix decides
LAYERS = {
    "nndsl.errors": 0,
    "nndsl.htmlparts": 0,  # HTML strings for the report and notebook displays
    "nndsl.syntax": 1,
    # the highlighters are generated from the op and catalog declarations: above ir
    "nndsl.syntax.lexer": 3,
    "nndsl.syntax.textmate": 3,
    "nndsl.ir": 2,
    "nndsl.files": 3,
    "nndsl.compiler": 3,
    "nndsl.compile_agent": 3,  # an agent's train block (reinforcement learning)
    "nndsl.compile_train": 3,  # a train block's heads and terms: the compiler's other half
    "nndsl.blocks": 3,  # reads the files a `use` names: beside the compiler
    "nndsl.summary": 3,
    "nndsl.lint": 3,
    "nndsl.docs": 3,
    "nndsl.data": 4,
    "nndsl.weights": 4,
    "nndsl.backends": 5,
    "nndsl.train": 6,
    "nndsl.rl": 6,  # environments and algorithms: beside the trainer
    "nndsl.model": 7,
    "nndsl.api": 7,
    "nndsl.predictions": 7,  # a model's predictions as named columns (predict, serve)
    "nndsl.sweep.grid": 3,  # the sweep's grid is part of compiling
    "nndsl.sweep.trials": 7,
    "nndsl.sweep": 8,
    "nndsl.lrfind": 8,
    "nndsl.report": 8,
    "nndsl.runfolder": 8,
    "nndsl.run": 8,
    "nndsl.agent_run": 8,  # nndsl run of an agent: beside nndsl.run
    "nndsl.lecture": 8,
    "nndsl.fuzz": 8,
    "nndsl.serving": 8,  # nndsl serve's HTTP application
    "nndsl.editor": 8,  # what an editor asks (diagnostics, hover, completion)
    "nndsl.lsp": 8,  # nndsl lsp: nndsl.editor over the Language Server Protocol
    "nndsl.notebook": 8,  # the %%nndsl cell magic (IPython)
    "nndsl.commands": 8,
    "nndsl.cli": 9,
    "nndsl.__main__": 9,
}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


MODULES = _modules()


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
        names = subs if len(subs) == len(node.names) else [base, *subs]
    return [n for n in names if n in MODULES and n != module]


def imports(module: str) -> set[str]:
    """Every nndsl module `module` imports, wherever, except for type checking."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in tree.body
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in typing_only:
            found.update(_targets(module, node))
    return found - {"nndsl"}


GRAPH = {m: imports(m) for m in MODULES if m != "nndsl"}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_nothing_imports_a_later_layer(module: str) -> None:
    upward = sorted(t for t in GRAPH[module] if layer(t) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports later layers: {upward}"


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"
