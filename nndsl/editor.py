"""What an editor asks about a `.nn` file while it is being typed: its diagnostics, the
docs of the word under the cursor, what may be written at the cursor, where a name is
defined, and the file formatted. Everything comes from the declarations the compiler
reads (nndsl.ir.ops, nndsl.ir.catalog), so the editor knows every layer, argument, loss
and setting the language does. nndsl.lsp serves this over the Language Server Protocol;
this module needs no LSP library and is tested on its own.

Positions are 0-based (line, character), as LSP counts them; nndsl's own spans are
1-based and converted here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nndsl.api import Program
from nndsl.blocks import std_files
from nndsl.compiler import compile_module
from nndsl.errors import NNDSLError
from nndsl.ir import catalog
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS, GROUPS, Entry, Param, format_value, signature_text
from nndsl.syntax import ast
from nndsl.syntax.format import format_source
from nndsl.syntax.parser import parse

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CATALOG_TITLES = {
    "initializer": "initializer",
    "loss": "loss",
    "optimizer": "optimizer",
    "schedule": "learning-rate schedule",
    "metric": "metric",
    "data": "data source",
    "column": "column type",
    "missing": "missing-value strategy",
    "activation": "activation",
    "gan_loss": "GAN loss",
    "env": "environment",
    "exploration": "exploration schedule",
    "algorithm": "algorithm",
    "term": "loss term",
}
TOP_KEYWORDS = ("model", "train", "block", "use")


@dataclass(frozen=True)
class Diagnostic:
    line: int
    character: int
    end_line: int
    end_character: int
    message: str
    severity: str  # "error" or "warning"


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # layer, block, argument, setting, keyword, or a catalog's name
    detail: str
    insert: str


@dataclass(frozen=True)
class Location:
    path: str | None  # None: the document asked about
    line: int
    character: int
    end_line: int
    end_character: int


# ------------------------------------------------------------------ diagnostics


def diagnostics(source: str, path: str | None = None) -> list[Diagnostic]:
    """The checker's error (the first one, as `nndsl check` gives it) or its warnings.
    The data is never read: input(auto) is checked without its width."""
    lines = source.split("\n")
    try:
        program = Program(compile_module(parse(source, path)))
        found = list(program.warnings)
    except NNDSLError as e:
        return [_diagnostic(e, lines, path)]
    return [_diagnostic(w, lines, path) for w in found]


def _diagnostic(e: NNDSLError, lines: list[str], path: str | None) -> Diagnostic:
    message = e.message + (f"\nhint: {e.hint}" if e.hint else "")
    elsewhere = e.path is not None and path is not None and Path(e.path) != Path(path)
    if e.line is None or elsewhere:  # about the file as a whole, or in a file it uses
        where = f"{e.path}:{e.line}:{e.column}: " if elsewhere and e.line else ""
        return Diagnostic(0, 0, 0, len(lines[0]) if lines else 0, where + message, e.severity)
    line = min(max(e.line - 1, 0), len(lines) - 1)
    start = max((e.column or 1) - 1, 0)
    end = (e.end_column - 1) if e.end_column else _word_end(lines[line], start)
    return Diagnostic(line, start, line, max(end, start + 1), message, e.severity)


def _word_end(text: str, start: int) -> int:
    m = WORD.match(text, start)
    return m.end() if m else min(start + 1, len(text))


# ------------------------------------------------------------------ hover


def hover(source: str, line: int, character: int, path: str | None = None) -> str | None:
    """Markdown about the word at the position: a layer, a catalog entry (loss,
    optimizer, ...), an argument of the call it is in, a train setting, a block or a
    named layer of the file."""
    lines = source.split("\n")
    if line >= len(lines):
        return None
    word, start, end = _word_at(lines[line], character)
    if word is None:
        return None
    before = _text_before(lines, line, start)
    after = lines[line][end:].lstrip()
    if after.startswith("=") and not after.startswith("=="):
        owner = _enclosing_call(before)
        params = _params_of(owner, before) if owner is not None else None
        if params is not None:
            p = next((p for p in params if p.name == word), None)
            return _param_text(p, owner) if p is not None else None
        if _context(before) == "train":
            p = next((p for p in catalog.TRAIN_SETTINGS.params if p.name == word), None)
            return _param_text(p, "train") if p is not None else None
    parts = []
    if word in OPS:
        op = OPS[word]
        parts.append(_entry_text(word, op.params, op.doc, f"layer ({op.family})"))
    for kind, entries in CATALOGS.items():
        if kind in ("layer",) or word not in entries or (kind == "activation" and word in OPS):
            continue
        e = entries[word]
        parts.append(_entry_text(word, e.params, e.doc, CATALOG_TITLES.get(kind, kind)))
    if word in GROUPS:
        parts.append(_entry_text(word, GROUPS[word].params, GROUPS[word].doc, "setting"))
    block = _blocks(source, path).get(word)
    if block is not None:
        parts.append(f"```nn\n{block[0]}\n```\n\nblock" + (f": {block[1]}" if block[1] else ""))
    named = _named_layer(source, path, line, word)
    if named is not None:
        parts.append(named)
    return "\n\n---\n\n".join(parts) or None


def _entry_text(name: str, params: tuple[Param, ...], doc: str, what: str) -> str:
    text = f"```nn\n{signature_text(name, params)}\n```\n\n*{what}*: {doc}"
    rows = [f"- `{p.name}`: {_param_line(p)}" for p in params]
    return text + ("\n\n" + "\n".join(rows) if rows else "")


def _param_text(p: Param, owner: str) -> str:
    return f"`{p.name}` of `{owner.strip('()')}`: {_param_line(p)}"


def _param_line(p: Param) -> str:
    kind = " | ".join(p.choices) if p.choices else p.kind
    if p.describe_range():
        kind += f", {p.describe_range()}"
    default = "required" if p.required else f"default `{format_value(p.default)}`"
    if p.variadic:
        default = "one or more"
    return f"{p.doc} ({kind}; {default})" if p.doc else f"({kind}; {default})"


def _named_layer(source: str, path: str | None, line: int, word: str) -> str | None:
    """A named layer's line, and its output shape when the file compiles."""
    target = _layer_targets(source, path, line).get(word)
    if target is None:
        return None
    layer, model = target
    text = source.split("\n")[layer.span.line - 1].strip()
    shape = ""
    try:
        graph = Program(compile_module(parse(source, path))).models.get(model)
        name = graph.resolve(word) if graph is not None else None
        if name is not None:
            shape = f" — output shape `(None, {', '.join(map(str, graph[name].shape))})`"
    except NNDSLError:
        pass
    return f"layer `{word}`{shape}\n\n```nn\n{text}\n```"


# ------------------------------------------------------------------ completion


def completions(
    source: str, line: int, character: int, path: str | None = None
) -> list[Completion]:
    """What may be written at the position, by where it is: an argument of a call, the
    value of a setting or argument whose kind is a catalog, a setting of a train block,
    a layer or block in a model, a keyword at the top level."""
    lines = source.split("\n")
    if line >= len(lines):
        return []
    text = lines[line][:character]
    before = _text_before(lines, line, len(text))
    partial = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", text)
    head = before[: len(before) - len(partial.group())] if partial else before
    value_of = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*\[?\s*(?:[A-Za-z_0-9]+\s*,\s*)*$", head)
    owner = _enclosing_call(head)
    context = _context(head)
    if value_of is not None:  # `key = |`: the catalog the key's kind names
        key = value_of.group(1)
        params = _params_of(owner, head) if owner is not None else None
        if params is None and context == "train":
            params = catalog.TRAIN_SETTINGS.params
        p = next((p for p in params or () if p.name == key), None)
        return _values(p) if p is not None else []
    if owner is not None and re.search(r"[(,]\s*$", head):
        params = _params_of(owner, head) or ()
        return [
            Completion(p.name, "argument", _param_line(p), f"{p.name}=")
            for p in params
            if not p.variadic
        ]
    if owner is not None:
        return []
    if context == "train" and re.fullmatch(r"\s*", head.rsplit("\n", 1)[-1]):
        return [
            Completion(p.name, "setting", _param_line(p), f"{p.name} = ")
            for p in catalog.TRAIN_SETTINGS.params
        ]
    if context in ("model", "block"):
        items = [
            Completion(name, "layer", op.doc.split(". ")[0], f"{name}(") for name, op in OPS.items()
        ]
        items += [
            Completion(name, "block", doc or header, f"{name}(")
            for name, (header, doc) in _blocks(source, path).items()
        ]
        return items + [Completion("repeat", "keyword", "repeat N { ... }", "repeat ")]
    if context == "top":
        return [Completion(k, "keyword", f"a {k} ...", f"{k} ") for k in TOP_KEYWORDS]
    return []


def _values(p: Param) -> list[Completion]:
    kind = p.kind.removeprefix("list:")
    if p.choices:
        return [Completion(str(c), "value", f"{p.name}", str(c)) for c in p.choices]
    if kind in CATALOGS:
        return [
            Completion(name, kind, e.doc.split(". ")[0], name + ("(" if e.params else ""))
            for name, e in CATALOGS[kind].items()
        ]
    if kind == "bool":
        return [Completion(v, "value", p.name, v) for v in ("true", "false")]
    return []


# ------------------------------------------------------------------ definition


def definition(source: str, line: int, character: int, path: str | None = None) -> Location | None:
    """Where the name at the position is defined: a named layer (in its model or block),
    a block (in the file, a file it uses, or the standard library), a model."""
    lines = source.split("\n")
    if line >= len(lines):
        return None
    word, _, _ = _word_at(lines[line], character)
    if word is None:
        return None
    target = _layer_targets(source, path, line).get(word)
    if target is not None and target[0].target_span is not None:
        return _location(None, target[0].target_span)
    module = _parse_quietly(source, path)
    if module is None:
        return None
    for m in module.models:
        if m.name == word:
            return _location(None, m.name_span)
    for b in module.block_defs:
        if b.name == word:
            return _location(None, b.name_span)
    for other in _used_modules(module):
        for b in other.block_defs:
            if b.name == word:
                return _location(other.path, b.name_span)
    return None


def _location(path: str | None, span: ast.Span) -> Location:
    return Location(path, span.line - 1, span.column - 1, span.end_line - 1, span.end_column - 1)


# ------------------------------------------------------------------ formatting


def formatted(source: str, path: str | None = None) -> str | None:
    """The file in `nndsl fmt`'s layout, or None when it does not parse."""
    try:
        return format_source(source, path)
    except NNDSLError:
        return None


# ------------------------------------------------------------------ reading the text


def _word_at(text: str, character: int) -> tuple[str | None, int, int]:
    for m in WORD.finditer(text):
        if m.start() <= character <= m.end():
            return m.group(), m.start(), m.end()
    return None, character, character


def _text_before(lines: list[str], line: int, character: int) -> str:
    """The file up to the position, comments and strings blanked (their brackets and
    braces do not count)."""
    text = "\n".join(lines[:line] + [lines[line][:character]])
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"?', lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)
    return re.sub(r"#[^\n]*", "", text)


def _context(before: str) -> str:
    """top, model, block or train: the innermost open `{ }` at the end of `before`."""
    stack: list[str] = []
    for m in re.finditer(r"[{}]", before):
        if m.group() == "{":
            header = before[: m.start()].rsplit("\n", 1)[-1]
            kw = re.match(r"\s*(model|train|block|repeat)\b", header)
            stack.append(kw.group(1) if kw else "?")
        elif stack:
            stack.pop()
    for kind in reversed(stack):
        if kind != "repeat":
            return kind
    return "top"


def _enclosing_call(before: str) -> str | None:
    """The name before the innermost unclosed '(' at the end of `before` ("" for a group
    written `key = (...)`), or None outside parentheses."""
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        c = before[i]
        if c in ")]":
            depth += 1
        elif c in "([":
            if depth:
                depth -= 1
                continue
            if c == "[":  # a list: the call it is an argument of, if any
                return _enclosing_call(before[:i])
            m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", before[:i])
            if m:
                return m.group(1)
            key = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*$", before[:i])
            return f"({key.group(1)})" if key else ""
        elif c in "{}":
            return None
    return None


def _params_of(owner: str, before: str) -> tuple[Param, ...] | None:
    """The declared arguments of a call (a layer, a catalog entry) or a group setting."""
    if owner.startswith("(") and owner[1:-1] in GROUPS:
        return GROUPS[owner[1:-1]].params
    if owner in OPS:
        return OPS[owner].params
    entries: list[Entry] = [e[owner] for k, e in CATALOGS.items() if owner in e]
    return entries[0].params if entries else None


def _parse_quietly(source: str, path: str | None) -> ast.Module | None:
    try:
        return parse(source, path)
    except NNDSLError:
        return None


def _used_modules(module: ast.Module) -> list[ast.Module]:
    """The modules of the file's `use` lines (the standard library for `use std`)."""
    out = []
    for use in module.uses:
        paths = std_files() if use.std else [_resolve(use.path, module.path)]
        for p in paths:
            try:
                out.append(parse(p.read_text(encoding="utf-8"), str(p)))
            except (OSError, NNDSLError):
                continue
    return out


def _resolve(path: str, base: str | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base is None else Path(base).parent / p


def _blocks(source: str, path: str | None) -> dict[str, tuple[str, str]]:
    """{block name: (its header, the comment above it)} of the file and what it uses."""
    module = _parse_quietly(source, path)
    if module is None:
        return {}
    out = {}
    for m in [module, *_used_modules(module)]:
        lines = m.source.split("\n")
        for b in m.block_defs:
            header = lines[b.span.line - 1].strip().rstrip(" {")
            above = []
            k = b.span.line - 2
            while k >= 0 and lines[k].strip().startswith("#"):
                above.insert(0, lines[k].strip().lstrip("# "))
                k -= 1
            out[b.name] = (header, " ".join(above))
    return out


def _layer_targets(source: str, path: str | None, line: int) -> dict[str, tuple[ast.Layer, str]]:
    """Named layers (`x = input(30)`) of the model or block holding `line` (0-based):
    {name: (layer, model name)}."""
    module = _parse_quietly(source, path)
    if module is None:
        return {}
    for owner in [*module.models, *module.block_defs]:
        if owner.span.line - 1 <= line <= owner.span.end_line - 1:
            found: dict[str, tuple[ast.Layer, str]] = {}
            _collect_targets(owner.body, owner.name, found)
            return found
    return {}


def _collect_targets(body: tuple, model: str, found: dict) -> None:
    for statement in body:
        if isinstance(statement, ast.Layer) and statement.target:
            found.setdefault(statement.target, (statement, model))
        elif isinstance(statement, ast.Repeat):
            _collect_targets(statement.body, model, found)
