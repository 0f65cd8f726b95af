"""Fuzzing the front end: whatever a person types, nndsl answers with success or one
located `NNDSLError`, never a traceback.

Sources of cases, all deterministic for a seed:

- `programs()`: hypothesis strategies that write `.nn` files from the declarations
  themselves (every op, loss, optimizer, schedule, data source and train setting, with
  arguments of the declared kinds, in and out of range), then sometimes break them.
- `mutate(data, rng)`: byte-level mutations of existing files (flips, deletions,
  insertions of interesting bytes, splices, truncations).
- `hostile_from_bytes(data)`: the kinds of input an independent fuzzer found (issue 20):
  huge integer literals, nesting at and past the limit, numbers at the edges of int64
  and float64, initializer ranges that fail only at build, control characters in
  strings, extreme window sizes and grids, names that begin with a keyword, a BOM.
- `language_from_bytes(data)`: the language of issue 13 as a `LanguageCase` (a main file
  and the files beside it): blocks with parameters of every type and default, several
  inputs, named layers reached as INSTANCE.NAME, repeats counted by parameters, blocks
  using blocks (themselves, each other, ones not in scope), `use std` and `use` of files
  the case writes (a library, two files using each other, a file using itself, a folder,
  a FIFO, a file past the size limit, a symlink loop, a device, bytes not UTF-8, odd and
  missing paths), arithmetic at every number (overflow, division by zero, strings and
  lists as operands, long unary-minus chains), `output`, and per-output train settings;
  `check_case(case, folder)` writes it and checks it there.
- `hostile_file(seeds, data)`: files a user names, of the classes issue 20 found
  (`FILE_CLASSES`): byte mutants of real weights, data and checkpoint files; an `.npy`
  header claiming a shape its member does not hold; a DEFLATE zip bomb (zeros streamed
  through zlib, declaring up to 3.5 GiB from a few MB); a central directory, local header
  or end record claiming GiB; safetensors headers with huge shapes, offsets past the file
  or a length past it; checkpoints with fields of the wrong kind or range; a FIFO,
  /dev/zero, a folder, links to them; names with a NUL, a lone surrogate or control
  characters. `check_file(path, model)` is their oracle: every loader (`LOADERS`)
  succeeds or raises an NNDSLError that names the file and renders, within
  `FILE_TIMEOUT` seconds (a FIFO opened the blocking way counts as a hang), its
  tracemalloc peak under `memory_bound` of what the file really holds.

`check_source(text)` is the oracle of sources: compile (and format, and with `build=True` build) the
text; return the error's message, or None on success; raise `FuzzFailure` for anything
else: another exception, an error without a line and column inside the file (the used
file, for an error located there), an error whose rendering fails or shows the wrong
line, a message holding a control character, `fmt` refusing what `check` accepts, or
`fmt` not idempotent or changing what the file compiles to (`check_format`).
`tools/fuzz.py` runs long campaigns; `tests/test_fuzz.py` a bounded one. hypothesis is
needed only for `programs()`.
"""

from __future__ import annotations

import ast
import copy
import functools
import io
import json
import math
import os
import random
import re
import signal
import struct
import threading
import time
import traceback
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError, display_line
from nndsl.syntax.parser import BOM


class FuzzFailure(AssertionError):
    """A case nndsl did not answer with success or a located NNDSLError."""

    def __init__(self, reason: str, source: str | bytes, detail: str = "") -> None:
        super().__init__(f"{reason}\n--- case ---\n{source!r}\n--- detail ---\n{detail}")
        self.reason = reason
        self.source = source
        self.detail = detail


# ------------------------------------------------------------------ the oracle


def source_lines(source: str) -> list[str]:
    """The lines as the parser counts them (only '\\n' ends a line)."""
    return source.split("\n")


def check_located(err: NNDSLError, source: str, path: str) -> None:
    """An error (or warning) about `source` must point inside it and render without
    failing, showing the line it names."""
    lines = source_lines(source.removeprefix(BOM))  # columns count from after a BOM
    if err.line is None or err.column is None:
        raise FuzzFailure("error without a line and column", source, err.render())
    if not 1 <= err.line <= len(lines):
        raise FuzzFailure(f"error line {err.line} outside the file", source, err.render())
    if not 1 <= err.column <= len(lines[err.line - 1]) + 1:
        raise FuzzFailure(
            f"error column {err.column} outside line {err.line}", source, err.render()
        )
    try:
        text = err.render()
    except Exception:
        raise FuzzFailure("rendering the error failed", source, traceback.format_exc()) from None
    for part in (err.message, err.hint or ""):
        if not all(c.isprintable() or c == "\n" for c in part):
            raise FuzzFailure("a control character in the message", source, repr(part))
    head = f"{path}:{err.line}:{err.column}: {err.severity}: "
    if not text.startswith(head):
        raise FuzzFailure("rendered error does not start with file:line:col", source, text)
    shown = text.split("\n")[1:2]
    expected = display_line(lines[err.line - 1])
    if shown and shown[0].startswith(f"{err.line:>4} | ") and shown[0][7:] != expected:
        raise FuzzFailure("rendered error shows another line than it names", source, text)


BUILD_LIMIT = 100_000  # parameters: `build=True` builds models up to this size


def check_source(
    source: str, path: str = "fuzz.nn", formatter: bool = True, build: bool = False
) -> str | None:
    """Compile `source` (and format it; with `build`, build each small model it defines
    on NumPy): None when it compiles, the error message when it is refused with a
    located error; `FuzzFailure` otherwise. What compiles must format idempotently to a
    file that compiles to the same graphs and plans (`check_format`). An error may lie
    in a file `source` uses: it is checked against that file (`check_located_anywhere`)."""
    from nndsl.api import compile_string

    try:
        program = compile_string(source, path)
        for warning in program.warnings:  # the semantic checks must not crash either
            if warning.line is not None:
                check_located_anywhere(warning, source, path)
    except NNDSLError as e:
        check_located_anywhere(e, source, path)
        return e.message
    except RecursionError:
        raise FuzzFailure(
            "recursion error while compiling", source, traceback.format_exc()
        ) from None
    except Exception:
        raise FuzzFailure("crash while compiling", source, traceback.format_exc()) from None
    if formatter:
        check_format(source, path, program)
    if build:
        _check_build(program, source)
    return None


def check_located_anywhere(err: NNDSLError, source: str, path: str) -> None:
    """`check_located` against the file the error names: `source` when it is `path`'s
    (or names none), else the used file, which must hold the source the error shows."""
    if err.path is None or err.path == path:
        check_located(err, source, path)
        return
    try:
        on_disk = Path(err.path).read_bytes().decode("utf-8").removeprefix(BOM)
    except (OSError, ValueError):
        raise FuzzFailure(
            "error located in a file that cannot be read", source, err.render()
        ) from None
    if err.source is None or err.source.removeprefix(BOM) != on_disk:
        raise FuzzFailure("error shows another text than its file holds", source, err.render())
    check_located(err, err.source, err.path)


def graph_key(graph: Any) -> dict:
    """A graph as data, less where its nodes were written (fmt moves lines)."""
    data = graph.to_dict()
    for node in data["nodes"]:
        node.pop("line", None)
        node.pop("column", None)
    return data


def meaning(program: Any) -> tuple:
    """What a compiled file means: its graphs and train plans, as data."""
    graphs = {name: graph_key(g) for name, g in program.models.items()}
    plans = [p.to_dict() for p in program.plans]
    return repr(graphs), repr(plans)


def check_format(
    source: str, path: str, program: Any, rewrite: dict[Path, str] | None = None
) -> str:
    """`nndsl fmt` on a file that compiles: it must format, format again to the same text
    (idempotent), and the formatted file must compile to the same graphs and plans.
    rewrite: used files to format too (each written back formatted before the check).
    Returns the formatted source."""
    from nndsl.api import compile_string
    from nndsl.syntax.format import format_source

    def fmt(text: str, where: str) -> str:
        try:
            once = format_source(text, where)
            twice = format_source(once, where)
        except NNDSLError as e:
            raise FuzzFailure("fmt refuses what check accepts", text, e.render()) from None
        except Exception:
            raise FuzzFailure("crash while formatting", text, traceback.format_exc()) from None
        if once != twice:
            raise FuzzFailure("fmt is not idempotent", text, f"once:\n{once}\ntwice:\n{twice}")
        return once

    formatted = fmt(source, path)
    for used, text in (rewrite or {}).items():
        used.write_text(fmt(text, str(used)), encoding="utf-8")
    try:
        again = compile_string(formatted, path)
    except NNDSLError as e:
        raise FuzzFailure("the formatted file does not compile", source, e.render()) from None
    except Exception:
        raise FuzzFailure(
            "crash compiling the formatted file", source, traceback.format_exc()
        ) from None
    if meaning(again) != meaning(program):
        raise FuzzFailure("fmt changed what the file means", source, f"formatted:\n{formatted}")
    return formatted


def _check_build(program: Any, source: str) -> None:
    """What compiles must build: an argument that fails only then is a checker's miss."""
    for name, graph in program.models.items():
        if graph.param_count > BUILD_LIMIT or program.sweep is not None:
            continue
        try:
            program.build(model=name, seed=0)
        except NNDSLError:
            pass
        except Exception:
            raise FuzzFailure("crash while building", source, traceback.format_exc()) from None


def check_bytes(data: bytes, path: str = "fuzz.nn") -> str | None:
    """`check_source` on raw bytes, decoded the way `compile_file` reads a file."""
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"  # compile_file refuses it before parsing
    return check_source(source, path)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d[\w.+-]*")


def message_template(message: str) -> str:
    """A message with its names and numbers blanked: 'unknown layer '…'' for counting kinds."""
    return _QUOTED.sub("…", message)


# ------------------------------------------------------------------ byte mutation

INTERESTING = [
    b"",
    b"\x00",
    b"\r",
    b"\r\n",
    b"\t",
    b"\x0b",
    b"\x0c",
    b"\x1c",
    b"\xc2\x85",  # NEL: a line break to str.splitlines, not to the parser
    b"\xe2\x80\xa8",  # LINE SEPARATOR
    b"\xef\xbb\xbf",  # BOM
    b"\xff",
    b"{",
    b"}",
    b"(",
    b")",
    b"[",
    b"]",
    b",",
    b"=",
    b'"',
    b"\\",
    b'"\\x"',
    b'"\\N{nope}"',
    b'"\\u12"',
    b"#",
    b"-",
    b"1e999",
    b"-1e-999",
    b"99999999999999999999",
    b"0",
    b"-1",
    b".5",
    b"1.",
    b"model",
    b"train",
    b"repeat",
    b"repeat 100000000 { dense(1) }",
    b"none",
    b"from=",
    b"input(4)",
    b"dense(8, activation=relu)",
    b"add(",
    b"[" * 200,
    b"(" * 200,
    b"9" * 101,  # past the integer literal limit, and past Python's own (4,300 digits)
    b"9" * 4301,
    b"repeat 1 {" * 65,
    b".7e308",
    b"1.7976931348623157e308",
    b"9223372036854775808",
    b"2147483647",
    b"uniform(5)",
    b"normal(std=1e39)",
    b'"\\x00"',
    b'"\\x1b[2J"',
    b'"\\u202e"',
    b"repeated",
    b"none_x",
    b"true_",
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random byte-level edits of `data`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(out))
        choice = rng.randrange(8)
        if choice == 0 and out:  # flip bits of one byte
            i = min(pos, len(out) - 1)
            out[i] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:  # delete a run
            del out[pos : pos + rng.randint(1, 16)]
        elif choice == 2:  # insert an interesting token
            out[pos:pos] = rng.choice(INTERESTING)
        elif choice == 3 and out:  # duplicate a run
            start = rng.randrange(len(out))
            out[pos:pos] = out[start : start + rng.randint(1, 32)]
        elif choice == 4 and out:  # swap two runs
            a, b = sorted(rng.sample(range(len(out) + 1), 2)) if len(out) > 1 else (0, 0)
            out[a:b] = bytes(reversed(out[a:b])) if rng.random() < 0.2 else out[a:b]
            if b - a > 1:
                mid = rng.randint(a, b)
                out[a:b] = out[mid:b] + out[a:mid]
        elif choice == 5:  # truncate
            del out[pos:]
        elif choice == 6:  # one random byte
            out[pos:pos] = bytes([rng.randrange(256)])
        else:  # replace a byte with an ASCII one the grammar cares about
            if out:
                i = min(pos, len(out) - 1)
                out[i] = rng.choice(b'{}()[],="#=.-+e0123456789 \n_abc')
    return bytes(out)


def corpus(root: Path) -> list[tuple[str, bytes]]:
    """The seed files of a checkout: examples, valid test programs, the error corpus."""
    paths = sorted(root.glob("examples/**/*.nn")) + sorted(root.glob("tests/programs/*.nn"))
    paths += sorted(root.glob("tests/errors/cases/*.nn"))
    return [(str(p.relative_to(root)), p.read_bytes()) for p in paths]


def mutants(seeds: list[tuple[str, bytes]], count: int, seed: int) -> Iterator[bytes]:
    """`count` mutants, round-robin over the seed files."""
    rng = random.Random(seed)
    for i in range(count):
        _, data = seeds[i % len(seeds)]
        yield mutate(data, rng)


# ------------------------------------------------------------------ programs from declarations

NAMES = ["h", "a", "b", "x", "m", "dense", "relu", "val_loss", "zz"]
STRINGS = ['"grades.csv"', '""', '"passed"', '"x"', '"a b"', '"\\t"', '"\\""', '"é"', '"\\x"']
WRONG = ["none", "true", '"s"', "1", "-1", "[1, 2]", "[]", "relu", "(a=1)", "f(1)", "1e999"]


class Draw:
    """Choices read from a byte string (as a fuzzing engine's data provider does): the
    same bytes give the same program, and fewer bytes a simpler one (an exhausted
    string reads as zeros, which end every list), so hypothesis can shrink it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def below(self, n: int) -> int:
        """A number in [0, n)."""
        value = 0
        for _ in range(1 if n <= 256 else 2):
            byte = self.data[self.pos] if self.pos < len(self.data) else 0
            self.pos += 1
            value = value * 256 + byte
        return value % n if n > 1 else 0

    def pick(self, items: list | tuple) -> Any:
        return items[self.below(len(items))]

    def one_in(self, n: int) -> bool:
        return self.below(n) == n - 1  # zeros (an exhausted string) say no

    def more(self, most: int, count: int) -> bool:
        """Whether a list of `count` items so far grows by one more."""
        return count < most and self.below(4) != 0


def _number(d: Draw, param: Any) -> str:
    lo = -1000.0 if param.low is None else float(param.low)
    hi = 1000.0 if param.high is None else float(param.high)
    integral = param.kind in ("int", "ints")
    if d.one_in(6):  # edges and values out of range
        return d.pick(["0", "-1", "1e999", "-0.0", "1e-9", "99999999999", "0.5", str(hi + 1)])
    if integral:
        lo, hi = int(max(lo, -1000)), int(min(hi, 1000))
        return str(lo + d.below(max(1, min(hi - lo + 1, 64))))
    return repr(lo + (min(hi, lo + 10.0) - lo) * d.below(1001) / 1000)


def _value(d: Draw, param: Any, names: list[str], depth: int) -> str:
    """Text of a value for a declared `Param`: usually of its kind, sometimes not."""
    from nndsl.ir.signature import CATALOGS, GROUPS

    kind = param.kind
    if depth > 0 and d.one_in(8):
        return d.pick(WRONG)
    if kind in ("int", "float"):
        return _number(d, param)
    if kind in ("ints", "floats"):
        items: list[str] = []
        while d.more(3, len(items)):
            items.append(_number(d, param))
        return "[" + ", ".join(items) + "]" if len(items) != 1 or d.one_in(2) else items[0]
    if kind == "bool":
        return d.pick(["true", "false"])
    if kind == "str":
        return d.pick(STRINGS)
    if kind in ("word", "ref"):
        return d.pick(names or NAMES) if not d.one_in(5) else d.pick(NAMES)
    if kind == "refs":
        refs = [d.pick(names or NAMES)]
        while d.more(3, len(refs)):
            refs.append(d.pick(names or NAMES))
        return ", ".join(refs)
    if kind == "enum":
        return d.pick(list(param.choices) + ["nope"])
    if kind == "tensor":
        return _tensor(d, 3)
    if kind.startswith("list:"):
        items = []
        while d.more(3, len(items)):
            items.append(_choice(d, kind[5:], names, depth))
        return "[" + ", ".join(items) + "]"
    if kind in CATALOGS:
        return _choice(d, kind, names, depth)
    if kind in GROUPS:
        return f"({_arguments(d, GROUPS[kind].params, names, depth - 1, keywords=True)})"
    return d.pick(STRINGS + NAMES)  # any


def _tensor(d: Draw, depth: int) -> str:
    if depth == 0 or d.one_in(3):
        return d.pick(["0", "1", "-2.5", "3"])
    items = []
    while d.more(4, len(items)):
        items.append(_tensor(d, depth - 1))
    return "[" + ", ".join(items) + "]"


def _choice(d: Draw, catalog: str, names: list[str], depth: int) -> str:
    from nndsl.ir.signature import CATALOGS

    entries = CATALOGS[catalog]
    name = d.pick(sorted(entries) + ["nope"])
    if name == "nope" or depth <= 0 or not d.one_in(3):
        return name
    return f"{name}({_arguments(d, entries[name].params, names, depth - 1)})"


def _arguments(d: Draw, params: tuple, names: list[str], depth: int, keywords: bool = False) -> str:
    """`a, b, key=value` for some of `params`: positional ones first, then keywords."""
    params = tuple(params)
    parts = []
    positional = 0 if keywords else d.below(len(params) + 1)
    for p in params[:positional]:
        parts.append(_value(d, p, names, depth))
    for p in params[positional:]:
        if d.one_in(3):
            parts.append(f"{p.name}={_value(d, p, names, depth)}")
    if d.one_in(10):
        parts.append(d.pick(["nope=1", "from=h", "1", "from=x", "inputs=h"]))
    if len(parts) > 1 and d.one_in(10):
        i = d.below(len(parts))
        parts[i], parts[-1] = parts[-1], parts[i]
    return ", ".join(parts)


def _layers(d: Draw, names: list[str], depth: int, indent: str) -> list[str]:
    from nndsl.ir.ops import OPS

    ops = sorted(n for n, o in OPS.items() if o.inputs != "none")
    lines: list[str] = []
    while d.more(8, len(lines)):
        if depth > 0 and d.one_in(8):
            body = _layers(d, names, depth - 1, indent + "    ")
            count = d.pick(["1", "2", "3", "0", "100000000"])
            lines.append(f"repeat {count} {{\n" + "\n".join(body) + f"\n{indent}}}")
            continue
        op = d.pick(ops)
        target = ""
        if d.one_in(4):
            target = d.pick(["h", "a", "b", "x"])
        line = f"{op}({_arguments(d, OPS[op].params, names, 1)})"
        if target:
            line = f"{target} = {line}"
            names.append(target)
        lines.append(indent + line)
    return lines


def _model(d: Draw, name: str) -> str:
    from nndsl.ir.ops import OPS

    names: list[str] = []
    source = d.pick(sorted(n for n, o in OPS.items() if o.inputs == "none"))
    dims = [str(1 + d.below(12))]
    while d.more(3, len(dims)):
        dims.append(str(1 + d.below(12)))
    first = f"{source}({', '.join(dims)})"
    if d.one_in(3):
        first = "x = " + first
        names.append("x")
    lines = ["    " + first, *_layers(d, names, 2, "    ")]
    return f"model {name} {{\n" + "\n".join(lines) + "\n}\n"


def _train(d: Draw, model: str) -> str:
    from nndsl.ir.catalog import TRAIN_SETTINGS

    params = TRAIN_SETTINGS.params
    loss = next(p for p in params if p.name == "loss")
    lines = [f"loss = {_value(d, loss, [], 1)}"]
    used = {"loss"}
    while d.more(8, len(lines)):
        p = d.pick(params)
        if p.name not in used or d.one_in(8):  # a setting given twice, now and then
            used.add(p.name)
            lines.append(f"{p.name} = {_value(d, p, [], 2)}")
    if d.one_in(4):
        model = d.pick(["", "nope", "net"])
    head = f"train {model} {{" if model else "train {"
    return head + "\n    " + "\n    ".join(lines) + "\n}\n"


_TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z0-9_]*|[-+.0-9eE]+|\"[^\"]*\"|.")


def _break(d: Draw, text: str) -> str:
    """Token-level damage: delete, duplicate or swap a few words of a program."""
    tokens = _TOKEN.findall(text)
    for _ in range(1 + d.below(3)):
        if not tokens:
            break
        i, j = d.below(len(tokens)), d.below(len(tokens))
        how = d.below(3)
        if how == 0:
            del tokens[i]
        elif how == 1:
            tokens.insert(i, tokens[j])
        else:
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def program_from_bytes(data: bytes) -> str:
    """A `.nn` source written from the declarations, steered by `data`: usually a model
    and its train block with arguments of the declared kinds (in range or not), sometimes
    several blocks or none, sometimes damaged at the token level."""
    import nndsl.compiler  # noqa: F401  (registers the catalogs)

    d = Draw(data)
    blocks = []
    models = ["m"] if not d.one_in(6) else ["m", "m" if d.one_in(4) else "net"]
    for name in models:
        blocks.append(_model(d, name))
    if not d.one_in(6):
        blocks.append(_train(d, d.pick(models)))
    if d.one_in(10):
        d.pick([blocks.reverse, blocks.pop, blocks.clear])()
    text = "".join(blocks)
    return _break(d, text) if d.one_in(4) else text


def programs() -> Any:
    """A hypothesis strategy of `.nn` sources (see `program_from_bytes`)."""
    from hypothesis import strategies as st

    return st.binary(min_size=8, max_size=400).map(program_from_bytes)


# ------------------------------------------------------------------ the language (issue 13)
#
# Blocks, `use`, arithmetic, `output` and the train block's per-output settings, valid and
# broken: a `LanguageCase` is a main file and the files it may use, written into a fresh
# folder (`write_case`) and checked there (`check_case`), so `use "lib.nn"` reads a file
# the case made: a library, a file using it back, a folder, a FIFO, bytes that are not
# UTF-8, a file past the size limit, a symlink loop, a device, or nothing at all.


@dataclass(frozen=True)
class Special:
    """A path in a case's folder that is not a text file."""

    kind: str  # one of SPECIAL_FILES


SPECIAL_FILES = ("folder", "fifo", "huge", "loop", "device")


@dataclass
class LanguageCase:
    source: str  # the main file, written as MAIN in the case's folder
    files: dict[str, str | bytes | Special]  # more files, by path relative to the folder


MAIN = "main.nn"
BLOCK_NAMES = ["unit", "mix", "enc", "inner", "outer", "twin"]
CLASHING_BLOCKS = ["dense", "relu", "input", "residual_unit", "mse", "adam", "output", "m"]
PARAM_NAMES = ["units", "n", "rate", "act", "depth", "k"]
CLASHING_PARAMS = ["x", "h", "dense", "relu", "from", "input", "units", "memory", "none_"]
PARAM_TYPES = ["int", "int", "float", "bool", "string", "activation", "initializer"]
ODD_TYPES = ["nope", "list", "Int", "tensor"]
DEFAULTS = {
    "int": ["2", "4", "2 * 3", "8 // 2", "-1", "0", "1 // 0", "9223372036854775807 + 1"],
    "float": ["0.1", "0.5 / 2", "0", "1e308 * 10", "1 - 0.75", "2"],
    "bool": ["true", "false", "1"],
    "string": ['"same"', '"a"', "3"],
    "activation": ["relu", "tanh", "nope", "2"],
    "initializer": ["zeros", "uniform(0.1)", "he_normal", "nope"],
}
HOSTILE_ATOMS = [
    "1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "0",
    "-0",
    "0.0",
    "1e-320",
    '"s"',
    "true",
    "none",
    "[1, 2]",
    "relu",
    "r.h",
    "()",
    "(1,)",
    "dense(1)",
    "zz",
    "99999999999999999999",
]
OPERATORS = ["+", "-", "*", "/", "//", "%"]
ACTIVATIONS = ["relu", "tanh", "linear", "sigmoid"]


def _atom(d: Draw, numbers: list[str]) -> str:
    if numbers and not d.one_in(4):
        return d.pick(numbers)
    if d.one_in(3):
        return d.pick(HOSTILE_ATOMS)
    return str(d.below(9))


def _expr(d: Draw, numbers: list[str], depth: int = 2) -> str:
    """Arithmetic over `numbers` (names or literals), sometimes hostile: huge, zero
    divisors, strings and lists as operands, long chains of unary minus."""
    if depth <= 0 or d.one_in(3):
        return _atom(d, numbers)
    how = d.below(12)
    if how < 7:
        a, b = _expr(d, numbers, depth - 1), _expr(d, numbers, depth - 1)
        return f"{a} {d.pick(OPERATORS)} {b}"
    if how < 9:
        return f"-{_expr(d, numbers, depth - 1)}"
    if how < 11 or not d.one_in(3):
        return f"({_expr(d, numbers, depth - 1)})"
    k = d.pick([2, 3, 20, 40, 70])  # -(-(-...)): past 64 levels, refused
    return "-(" * k + _atom(d, numbers) + ")" * k


def _args(d: Draw, params: list[tuple[str, str | None]], numbers: list[str]) -> list[str]:
    """Arguments for a block's parameters: positional, then keywords, sometimes wrong."""
    out: list[str] = []
    keywords = False
    for name, kind in params:
        if d.one_in(4):  # left to its default (or missing)
            keywords = True
            continue
        value = _param_value(d, kind, numbers)
        if keywords or d.one_in(3):
            out.append(f"{name}={value}")
            keywords = True
        else:
            out.append(value)
    if d.one_in(8):
        out.append(d.pick(["nope=1", "7", "from=1", "units=2", "from=zz"]))
    return out


def _param_value(d: Draw, kind: str | None, numbers: list[str]) -> str:
    if kind in DEFAULTS and not d.one_in(6):
        if kind in ("int", "float"):
            return _expr(d, numbers + DEFAULTS[kind][:3], 1)
        return d.pick(DEFAULTS[kind])
    return d.pick([*ACTIVATIONS, "4", "0.5", '"x"', "true", _expr(d, numbers, 1)])


@dataclass
class _BlockPlan:
    name: str
    params: list[tuple[str, str | None]]  # (name, declared kind or None)
    inputs: list[str]
    named: list[str]  # layers named inside it (reachable as INSTANCE.NAME)
    text: str = ""


def _block(d: Draw, name: str, callable_blocks: list[_BlockPlan]) -> _BlockPlan:
    params: list[tuple[str, str | None]] = []
    header: list[str] = []
    defaulted = False
    while d.more(4, len(params)):
        pname = d.pick(CLASHING_PARAMS) if d.one_in(8) else d.pick(PARAM_NAMES)
        kind: str | None = d.pick(PARAM_TYPES) if not d.one_in(5) else None
        if d.one_in(12):
            kind = d.pick(ODD_TYPES)
        if pname == "act" and kind in ("int", "float") and not d.one_in(4):
            kind = "activation"
        if pname == "rate" and kind == "int" and not d.one_in(4):
            kind = "float"
        text = pname if kind is None else f"{pname}: {kind}"
        if (defaulted and not d.one_in(6)) or d.one_in(3):
            defaulted = True
            text += f" = {d.pick(DEFAULTS.get(kind or 'int', DEFAULTS['int']))}"
        params.append((pname, kind))
        header.append(text)
    ints = [p for p, k in params if k in ("int", None) and p not in ("act", "rate")]
    floats = [p for p, k in params if k == "float"]
    acts = [p for p, k in params if k == "activation" or p == "act"]
    lines: list[str] = []
    inputs: list[str] = []
    for extra in ("x", "memory"):
        if d.one_in(2 if extra == "x" else 4):
            shape = f"({_expr(d, ints, 1)})" if d.one_in(6) else "()"
            lines.append(f"{extra} = input{shape}")
            inputs.append(extra)
    if d.one_in(12):
        lines.append("input()")  # unnamed: refused
    named: list[str] = []
    body = _block_layers(d, ints, floats, acts, inputs, named, callable_blocks, 2, "    ")
    lines += body
    if d.one_in(15):
        lines.insert(d.below(len(lines) + 1), "x = input()")  # after a layer: refused
    text = f"block {name}({', '.join(header)}) {{\n" + "".join(
        f"    {line}\n" if not line.startswith(" ") else f"{line}\n" for line in lines
    )
    return _BlockPlan(name, params, inputs, named, text + "}\n")


def _block_layers(
    d: Draw,
    ints: list[str],
    floats: list[str],
    acts: list[str],
    inputs: list[str],
    named: list[str],
    blocks: list[_BlockPlan],
    depth: int,
    indent: str,
) -> list[str]:
    lines: list[str] = []
    while d.more(5, len(lines)) or (not lines and not d.one_in(10)):
        how = d.below(10)
        if how < 4:
            units = _expr(d, ints or ["4"], 2)
            act = d.pick(acts) if acts and d.one_in(2) else d.pick(ACTIVATIONS)
            line = f"dense({units}, activation={act})" if d.one_in(2) else f"dense({units})"
        elif how == 4:
            line = f"dropout({_expr(d, floats or ['0.1'], 1)})"
        elif how == 5 and inputs:
            line = d.pick([f"add({inputs[0]})", f"concat({d.pick(inputs)})"])
        elif how == 6 and blocks:
            other = d.pick(blocks)
            args = _args(d, other.params, ints)
            args += [f"{i}={d.pick(inputs or ['x'])}" for i in other.inputs[1:] if d.more(9, 0)]
            line = f"{other.name}({', '.join(args)})"
        elif how == 7 and depth > 0:
            count = d.pick([*(ints or ["2"]), "2", "depth", "0", "-1", "1.5", "2 * 3",
                            '"3"', "100000", "99999999999 * 99999999999"])  # fmt: skip
            inner = _block_layers(d, ints, floats, acts, inputs, named, blocks, depth - 1, "")
            pad = indent + "    "
            return [*lines, f"repeat {count} {{", *[pad + line for line in inner], "}"]
        elif how == 8:
            line = d.pick(["relu()", "batch_norm()", "residual_unit(4)", "dense_unit(2)",
                           "output h", "flatten()", "layer_norm()"])  # fmt: skip
        else:
            line = f"dense({_expr(d, ints or ['2'], 1)})"
        if d.one_in(3):
            target = d.pick(["h", "g", "h", *inputs[:1], *(p for p in ints[:1])])
            line = f"{target} = {line}"
            named.append(target)
        lines.append(line)
    return lines


LIB_KINDS = [
    "lib",  # a library of blocks, some of which the main file uses
    "std",
    "mutual",  # a.nn uses b.nn, which uses a.nn back
    "self",  # the main file uses itself
    "nested",  # sub/lib.nn, which uses ../more.nn
    "special",  # a folder, FIFO, huge file, symlink loop or device
    "binary",  # bytes that are not UTF-8
    "missing",
    "broken",  # a library with a syntax error, or a mistake in a block
    "odd-path",  # "", "/", "..", an absolute path, a NUL, a lone surrogate
]


def language_from_bytes(data: bytes) -> LanguageCase:
    """A main file written with blocks (parameters of every kind, several inputs, named
    layers, repeats counted by parameters, blocks using blocks, themselves or each
    other), arithmetic at every number, `output`, per-output train settings and `use` of
    the files the case makes beside it; sometimes damaged at the token level."""
    import nndsl.compiler  # noqa: F401  (registers the catalogs)

    d = Draw(data)
    files: dict[str, str | bytes | Special] = {}
    uses: list[str] = []
    lib_blocks: list[_BlockPlan] = []
    std = [
        _BlockPlan("residual_unit", [("units", "int"), ("rate", "float")], ["x"], []),
        _BlockPlan("dense_unit", [("units", "int"), ("rate", "float")], [], []),
    ]
    while len(uses) < 2 and d.one_in(2):
        kind = d.pick(LIB_KINDS[:2] * 3 + LIB_KINDS + ["special"] * 2)  # mostly usable
        if kind == "std":
            uses.append("use std")
            lib_blocks += std
        elif kind == "lib":
            path = d.pick(["lib.nn", "lib.nn", "blocks.nn"])
            plans: list[_BlockPlan] = []
            for name in ("lunit", "lmix")[: 1 + d.below(2)]:
                plans.append(_block(d, name, plans))
            text = "".join(p.text for p in plans)
            if d.one_in(4):
                text += "model other {\n    input(2)\n    dense(1)\n}\ntrain { loss = mse }\n"
            files[path] = text
            uses.append(f'use "{path}"')
            lib_blocks += plans
        elif kind == "mutual":
            files["a.nn"] = 'use "b.nn"\nblock a1(n: int = 2) {\n    b1(n)\n}\n'
            files["b.nn"] = 'use "a.nn"\nblock b1(n: int = 2) {\n    a1(n)\n}\n'
            if d.one_in(2):  # no cycle of files: a1 then calls a block b.nn cannot see
                files["b.nn"] = "block b1(n: int = 2) {\n    a1(n)\n}\n"
            uses.append('use "a.nn"')
            lib_blocks.append(_BlockPlan("a1", [("n", "int")], [], []))
        elif kind == "self":
            uses.append(f'use "{d.pick([MAIN, "./" + MAIN, "sub/../" + MAIN])}"')
        elif kind == "nested":
            files["sub/lib.nn"] = 'use "../more.nn"\nblock deep(n: int) {\n    more(n)\n}\n'
            files["more.nn"] = "block more(n: int) {\n    h = dense(n)\n}\n"
            if d.one_in(3):
                files["more.nn"] = 'use "sub/lib.nn"\n' + str(files["more.nn"])
            uses.append('use "sub/lib.nn"')
            lib_blocks.append(_BlockPlan("deep", [("n", "int")], [], []))
        elif kind == "special":
            special = d.pick(SPECIAL_FILES)
            files[f"{special}.nn"] = Special(special)
            uses.append(f'use "{special}.nn"')
        elif kind == "binary":
            files["bin.nn"] = d.pick([b"\xff\xfe\x00block", b"block b() {\x80}", b"\x00" * 64])
            uses.append('use "bin.nn"')
        elif kind == "missing":
            uses.append(f'use "{d.pick(["missing.nn", "lib", "LIB.nn", "lib.nn.nn"])}"')
        elif kind == "broken":
            files["bad.nn"] = d.pick([
                "block bad(n: int) {\n    dense(n\n}\n",
                "block bad(n: int) {\n    dense(n // 0)\n}\n",
                "block bad(n: int = 1 / 0) {\n    dense(n)\n}\n",
                "block bad(n: int) {\n    nope(n)\n}\n",
                "block bad(n: int) {\n    bad(n)\n}\n",
                "block bad(n: int) {\n" + "    repeat 1 {\n" * 66 + "}\n" * 67,
                "block bad() {\n}\n",
                "block dense(n: int) {\n    relu()\n}\n",
                "use std\nblock residual_unit(n: int) {\n    relu()\n}\n",
            ])  # fmt: skip
            uses.append('use "bad.nn"')
            lib_blocks.append(_BlockPlan("bad", [("n", "int")], [], []))
        else:
            uses.append(f'use "{d.pick(ODD_PATHS)}"')
    # the main file's own blocks, each able to use those before it (and, sometimes, itself
    # or one defined later: recursion)
    plans = list(lib_blocks)
    own: list[_BlockPlan] = []
    names = list(BLOCK_NAMES)
    while d.more(3, len(own)):
        name = d.pick(CLASHING_BLOCKS) if d.one_in(10) else names.pop(d.below(len(names)))
        if d.one_in(8):  # recursion: the block calls itself, or one defined after it
            plans.append(_BlockPlan(name, [], [], []))
            plans.append(_BlockPlan(d.pick(BLOCK_NAMES), [], [], []))
        plan = _block(d, name, plans)
        own.append(plan)
        plans.append(plan)
        if not names:
            break
    model, outputs = _language_model(d, [*own, *lib_blocks] or std)
    parts = [*uses, "".join(p.text for p in own), model]
    if not d.one_in(5):
        parts.append(_language_train(d, outputs))
    if d.one_in(10):  # a use after the blocks, or at the end
        parts.append(d.pick(["use std", 'use "lib.nn"']))
    source = "\n".join(p for p in parts if p)
    if d.one_in(6):
        source = _break(d, source)
    return LanguageCase(source, files)


ODD_PATHS = ["", "/", "..", ".", "/dev/zero", "/dev/null", "a\\x00b.nn", "\\ud800.nn",
             "sub", "~/x.nn", "a" * 300 + ".nn", "lib.nn\\n", "\\\\"]  # fmt: skip


def _language_model(d: Draw, blocks: list[_BlockPlan]) -> tuple[str, list[str]]:
    """A model using `blocks`: instances named or not, several inputs by keyword, dotted
    references to the layers inside them, repeats of blocks, and an `output` line."""
    first = d.pick(["a = input(4)", "input(4)", "a = input(2, 3)", "input(8)"])
    lines = [first]
    bound = ["a"] if first.startswith("a =") else []
    dotted: list[str] = []
    while d.more(6, len(lines) - 1):
        how = d.below(8)
        if how < 4:
            plan = d.pick(blocks)
            args = _args(d, plan.params, ["4", "2", "8"])
            for extra in plan.inputs[1:]:
                if not d.one_in(6):
                    args.append(f"{extra}={d.pick(bound or ['zz'])}")
            if d.one_in(8):
                args.append(f"from={d.pick([*bound, 'zz', *dotted] or ['zz'])}")
            line = f"{plan.name}({', '.join(args)})"
            if d.one_in(2):
                target = d.pick(["r", "s", "b", "r"])
                line = f"{target} = {line}"
                bound.append(target)
                dotted += [f"{target}.{n}" for n in plan.named] + [f"{target}.nope"]
            if d.one_in(6):
                line = f"repeat {d.pick(['2', '1 + 1', '0', '3 // 2', '10001'])} {{ {line} }}"
        elif how == 4 and (bound or dotted):
            ref = d.pick([*bound, *dotted])
            line = d.pick([f"dense(2, from={ref})", f"add({ref})", f"concat({ref})"])
            if d.one_in(2):
                line = f"c = {line}"
                bound.append("c")
        elif how == 5:
            line = f"b = dense({_expr(d, ['4', '2'], 2)})"
            bound.append("b")
        elif how == 6:
            line = f"dropout({_expr(d, ['0.5', '0.25'], 1)})"
        else:
            line = f"dense({d.pick(['1', '2', '4 // 2', '-1', '2.0'])})"
        lines.append(line)
    outputs: list[str] = []
    if d.one_in(2) and (bound or dotted):
        while d.more(3, len(outputs)) or not outputs:
            outputs.append(d.pick([*bound, *dotted, "zz"]))
        lines.append("output " + ", ".join(outputs))
        if d.one_in(10):
            lines.insert(1, lines.pop())  # not last: refused
    body = "".join(f"    {line}\n" for line in lines)
    return f"model m {{\n{body}}}\n", outputs


def _language_train(d: Draw, outputs: list[str]) -> str:
    heads = outputs or ["m"]
    losses = ["mse", "mae", "binary_crossentropy", "huber", "nope"]
    lines: list[str] = []
    if len(outputs) > 1 or (outputs and d.one_in(2)):
        named = [o if not d.one_in(8) else "zz" for o in dict.fromkeys(outputs)]
        lines.append("loss = (" + ", ".join(f"{o}={d.pick(losses)}" for o in named) + ")")
        if d.one_in(2):
            weights = ", ".join(f"{o}={_expr(d, ['1', '0.5', '2'], 1)}" for o in named)
            lines.append(f"loss_weights = ({weights})")
        if d.one_in(3):
            lines.append(f"metrics = ({d.pick(named)}=[{d.pick(['mae', 'accuracy', 'nope'])}])")
    else:
        lines.append(f"loss = {d.pick(losses[:2])}")
    if d.one_in(4):
        target = d.pick([*heads, "zz", "r.h"])
        term = f"{d.pick(['sparsity', 'l'])} = {_expr(d, ['0.001'], 1)} * l1({target})"
        lines.append(f"terms = ({term})")
    if d.one_in(2):
        lines.append(f"epochs = {d.pick(['2 * 3', '10 // 3', '1 / 2', '-(-2)', '0 * 5'])}")
    if d.one_in(3):
        lines.append(f"batch_size = {d.pick(['64 // 2', '16 % 0', '8 + 8', '2 ** 3'])}")
    if d.one_in(3):
        lines.append(f"optimizer = adam(lr={_expr(d, ['1e-3', '2', '10'], 2)})")
    return "train m {\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


def write_case(case: LanguageCase, folder: Path) -> Path:
    """Empty `folder`, write the case's files into it; the main file's path."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    main = folder / MAIN
    main.write_text(case.source, encoding="utf-8")
    for rel, content in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif content.kind == "folder":
            path.mkdir()
        elif content.kind == "fifo":
            os.mkfifo(path)
        elif content.kind == "huge":  # sparse: past the limit without writing it
            with open(path, "wb") as f:
                f.truncate(17 << 20)
        elif content.kind == "loop":
            os.symlink(path.name, path)
        else:
            os.symlink("/dev/zero", path)
    return main


def check_case(case: LanguageCase, folder: Path, build: bool = False) -> str | None:
    """`check_source` of the case's main file in `folder` (its files written beside it):
    an error in a used file must be located there; what compiles must format, with its
    used files, to what compiles the same."""
    main = write_case(case, folder)
    message = check_source(case.source, str(main), formatter=False, build=build)
    if message is None:
        from nndsl.api import compile_string

        program = compile_string(case.source, str(main))
        texts = {folder / rel: t for rel, t in case.files.items() if _parses(t)}
        check_format(case.source, str(main), program, rewrite=texts)
    return message


def _parses(text: Any) -> bool:
    from nndsl.syntax.parser import parse

    if not isinstance(text, str):
        return False
    try:
        parse(text)
    except NNDSLError:
        return False
    return True


# ------------------------------------------------------------------ hostile input (issue 20)

BIG_DIGITS = [99, 100, 101, 400, 4299, 4300, 4301, 6000]
EXTREME_NUMBERS = [
    ".7e308",
    "1e308",
    "-1.7976931348623157e308",
    "1e999",
    "-1e999",
    "1e-999",
    "4.9e-324",
    "3.5e38",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "2147483647",
    "1e18",
    "0",
    "-1",
]
CONTROL = [
    "\\x00",
    "\\x07",
    "\\x1b[2J",
    "\\x7f",
    "\\x85",
    "\\u202e",
    "\\u2028",
    "\\ud800",
    "\\n",
    "\x1b",
]
KEYWORD_NAMES = ["repeated", "repeat_", "models", "model1", "trainer", "train_x", "true_"]
KEYWORD_NAMES += ["truex", "falsey", "false0", "none_of_these", "nonex", "none_"]
STRING_SLOTS = [
    "schedule = {s}",
    "loss = {s}",
    "optimizer = {s}",
    "data = csv({s}, target={s})",
    "early_stop = (monitor={s}, mode={s})",
    "metrics = [{s}]",
]
_NUMBER_TOKEN = re.compile(r"(?<![\w.])[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(?![\w.])")


def _big_int(d: Draw) -> str:
    return d.pick(["", "-", "+"]) + "9" * d.pick(BIG_DIGITS)


def _with_numbers(d: Draw, text: str, numbers: list[str]) -> str:
    """`text` with some of its number literals replaced by `numbers`."""

    def swap(m: re.Match) -> str:
        return d.pick(numbers) if d.one_in(2) else m.group()

    return _NUMBER_TOKEN.sub(swap, text)


def _nested(d: Draw) -> str:
    depth = d.pick([62, 63, 64, 65, 300])
    inner = d.pick(["dense(1)", "dense([1, 2])", "dense(1, weights=" + "[" * 61 + "1" + "]" * 61])
    if d.one_in(2):  # blocks
        body = "repeat 1 {\n" * depth + inner + "\n" + "}\n" * depth
        return f"model m {{\n    input(1)\n{body}}}\ntrain m {{ loss = mse }}\n"
    opener = d.pick(["[", "(", "adam("])
    closer = "]" if opener == "[" else ")"
    value = opener * depth + "0.1" + closer * depth
    return (
        f"model m {{ input(1) dense(1) }}\ntrain m {{ loss = mse optimizer = adam(lr={value}) }}\n"
    )


def _initializer(d: Draw) -> str:
    from nndsl.ir.ops import OPS

    layers = sorted(n for n, o in OPS.items() if any(p.kind == "initializer" for p in o.params))
    op = d.pick(layers)
    key = d.pick([p.name for p in OPS[op].params if p.kind == "initializer"])
    a, b = d.pick(EXTREME_NUMBERS + ["5", "-5", "0.05"]), d.pick(EXTREME_NUMBERS + ["5", "-5"])
    init = d.pick(
        [
            f"uniform({a}, {b})",
            f"uniform(low={a})",
            f"uniform(high={b})",
            f"normal({a}, {b})",
            f"normal(std={a})",
            f"constant({a})",
            f"orthogonal({a})",
        ]
    )
    shape = d.pick(["input(3)", "input(6, 4)", "input(8, 8, 2)"])
    args = {"embedding": "input_dim=4, output_dim=3"}.get(op, "2")
    return f"model m {{\n    {shape}\n    {op}({args}, {key}={init})\n}}\n"


def _control_string(d: Draw) -> str:
    text = "".join(d.pick(CONTROL + ["a", "relu", " ", "é"]) for _ in range(1 + d.below(4)))
    slot = d.pick(STRING_SLOTS).replace("{s}", f'"{text}"')
    layer = d.pick(["", f'dense(1, activation="{text}")', f'conv1d(1, 1, padding="{text}")'])
    return (
        f"model m {{\n    input(4, 2)\n    {layer}\n    dense(1)\n}}\ntrain m {{\n    {slot}\n}}\n"
    )


def _extreme_shape(d: Draw) -> str:
    edges = ["1", "2", "3", "2147483647", "9223372036854775807", "1e18", "0", "-1"]
    dims = ", ".join(d.pick(edges) for _ in range(1 + d.below(3)))

    def ints() -> str:
        items = [d.pick(edges) for _ in range(1 + d.below(5))]
        return items[0] if len(items) == 1 and d.one_in(2) else "[" + ", ".join(items) + "]"

    pad = d.pick(["same", "valid"])
    layer = d.pick(
        [
            f"conv2d({d.pick(edges)}, kernel_size={ints()}, strides={ints()}, "
            f"dilation={ints()}, padding={pad})",
            f"conv1d({d.pick(edges)}, {ints()}, strides={ints()}, padding={pad})",
            f"max_pool2d({ints()}, strides={ints()}, padding={pad})",
            f"avg_pool1d({ints()}, padding={pad})",
            f"upsample({ints()})",
            f"reshape({dims})",
            f"embedding({d.pick(edges)}, {d.pick(edges)})",
            f"dense({d.pick(edges)})",
        ]
    )
    if d.one_in(4):  # a grid of up to ~140,000 trials: refused past 100,000, never listed
        filters = "[" + ", ".join(str(k) for k in range(1, 2 + d.below(300))) + "]"
        layer = (
            f"conv2d(filters={filters}, kernel_size=[[1], [2], [3]], strides=[[1], [2]], "
            "dilation=[[1], [2]], activation=[relu, tanh, elu], use_bias=[true, false], "
            "padding=[same, valid], init=[zeros, ones, he_normal, orthogonal])"
        )
    batch = d.pick(["32", "9223372036854775807", "[1, 2, 3]"])
    return (
        f"model m {{\n    input({dims})\n    {layer}\n    flatten()\n    dense(1)\n}}\n"
        f"train m {{\n    loss = mse\n    batch_size = {batch}\n}}\n"
    )


def _keyword_names(d: Draw) -> str:
    a, b = d.pick(KEYWORD_NAMES), d.pick(KEYWORD_NAMES)
    model = d.pick(["m", *KEYWORD_NAMES])
    return (
        f"model {model} {{\n    {a} = input(4)\n    {b} = dense(4, from={a})\n"
        f"    add({a}, {b})\n    dense(1)\n}}\n"
        f"train {model} {{\n    loss = mse\n"
        f"    early_stop = (monitor={d.pick(['loss', 'loss', *KEYWORD_NAMES])})\n}}\n"
    )


def hostile_from_bytes(data: bytes) -> str:
    """A `.nn` source of one of the kinds an independent fuzzer found (issue 20), steered
    by `data`: each must end in success or a located error, as fast as any other file."""
    import nndsl.compiler  # noqa: F401  (registers the catalogs)

    d = Draw(data)
    kind = d.below(9)
    if kind == 0:  # big integer literals, anywhere a number goes
        return _with_numbers(d, program_from_bytes(data[1:]), [_big_int(d) for _ in "abc"])
    if kind == 1:
        return _nested(d)
    if kind == 2:  # numbers at the edges of int64 and float64
        return _with_numbers(d, program_from_bytes(data[1:]), EXTREME_NUMBERS)
    if kind == 3:
        return _initializer(d)
    if kind == 4:
        return _control_string(d)
    if kind == 5:
        return _extreme_shape(d)
    if kind == 6:
        return _keyword_names(d)
    if kind == 7:  # a byte-order mark, where editors write it (and where they do not)
        text = program_from_bytes(data[1:])
        return BOM + text if not d.one_in(4) else text[:5] + BOM + text[5:]
    return f"model m {{\n    input(2)\n    repeat {_big_int(d)} {{ dense(1) }}\n}}\n"


def deep_nesting(opener: str, depth: int) -> str:
    """Brackets nested far deeper than anyone writes (recursion must not escape)."""
    closer = {"[": "]", "(": ")", "f(": ")"}[opener]
    return f"model m {{\n    input(2)\n    dense({opener * depth}1{closer * depth})\n}}\n"


# ------------------------------------------------------------------ hostile files (issue 20)
#
# Files a user names (weights, .npz data, checkpoints) and paths that are not files. Every
# case goes through every loader; the oracle (`check_file`) wants success or an NNDSLError
# naming the file, and memory and time bounded by what the file really holds.

FILE_CLASSES = (
    "mutant",  # byte mutations of a real weights, data or checkpoint file
    "npy-claim",  # an .npy header inside an .npz claiming a shape the member does not hold
    "zip-bomb",  # a member of zeros streamed through DEFLATE, declaring what it inflates to
    "zip-size",  # a central directory (or local header, or end record) claiming GiB
    "safetensors",  # a header claiming a huge shape, offsets past the file, a bad length
    "checkpoint",  # a well-formed checkpoint with a field of the wrong kind or range
    "special-path",  # a FIFO, /dev/zero, a folder, a link to a device, a missing file
    "bad-name",  # a name with a NUL, a lone surrogate, or control characters
)
LOADERS = (
    "nndsl.load",
    "model.load",
    "load_weights",
    "load_weights(expected)",
    "load_checkpoint",
    "load_npz",
    "load_npz(inputs_only)",
)
FILE_TIMEOUT = 5.0  # seconds one loader may take on one file before it counts as a hang
SEED_SOURCE = """model m {
    input(3)
    dense(4, activation=relu)
    dense(2)
}
train m {
    loss = mse
    optimizer = adam(lr=0.01)
    batch_size = 4
    epochs = 3
}
"""


@dataclass(frozen=True)
class FileCase:
    """One hostile file: its class, the path every loader is given, what was made, and
    the loaders that must refuse it (all of them for a claim no file may make)."""

    kind: str
    path: str
    note: str
    refuse: tuple[str, ...]


@dataclass
class FileSeeds:
    """Real files to damage, and the model they belong to (built from SEED_SOURCE)."""

    folder: Path
    model: Any
    files: dict[str, bytes]  # "weights.npz", "weights.safetensors", "data.npz", ...
    checkpoint: dict  # the state of a real checkpoint (load_checkpoint of files[...])
    count: int = 0  # cases written so far (each gets a fresh name)


def file_seeds(folder: Path) -> FileSeeds:
    """Train the seed model three epochs on a few samples, save its weights (.npz, and
    .safetensors when installed), its data (.npz, plain and compressed) and its
    checkpoint under `folder`; load each through every loader once (imports happen
    now, not inside a measured case)."""
    import nndsl
    from nndsl.train.checkpoint import Checkpoint, load_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    model = nndsl.compile_string(SEED_SOURCE).build(seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model.fit(x, y, verbose=0, callbacks=[Checkpoint(folder / "checkpoint.npz", every=1)])
    model.save(folder / "weights.npz")
    try:
        model.save(folder / "weights.safetensors")
    except NNDSLError:  # safetensors not installed
        pass
    np.savez(folder / "data.npz", x=x, y=y)
    np.savez_compressed(folder / "data-compressed.npz", x=x, y=y.astype(np.float32))
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    seeds = FileSeeds(folder, model, files, load_checkpoint(folder / "checkpoint.npz"))
    for name in files:
        check_file(str(folder / name), model)
    return seeds


# ------------------------------------------------ the oracle


class _Hang(BaseException):
    """Raised by the alarm: a BaseException, so no loader's `except Exception` hides it."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _Hang after `seconds` (main thread only; elsewhere, no limit). The previous
    alarm handler and timer are put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, ring)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


def _shown(name: str) -> str:
    """A name as an error message must show it: unprintables as Python escapes."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in name)


def _load(loader: str, path: str, model: Any) -> Any:
    import nndsl
    from nndsl.data.npzfile import load_npz
    from nndsl.train.checkpoint import load_checkpoint
    from nndsl.weights import load_weights

    if loader == "nndsl.load":
        return nndsl.load(path)
    if loader == "model.load":
        return model.load(path)
    if loader == "load_weights":
        return load_weights(path)
    if loader == "load_weights(expected)":
        expected = {k: tuple(v.shape) for k, v in model.get_weights().items()}
        return load_weights(path, expected=expected)
    if loader == "load_checkpoint":
        return load_checkpoint(path)
    return load_npz(path, inputs_only=loader == "load_npz(inputs_only)")


def _held(value: Any) -> int:
    """Bytes of the arrays a loader returned (a model's weights, a dataset's arrays)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_held(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_held(v) for v in value)
    if hasattr(value, "get_weights"):
        return _held(value.get_weights())
    if hasattr(value, "x") and hasattr(value, "y"):
        return _held([value.x, value.y])
    return 0


def memory_bound(real_size: int, returned: int = 0) -> int:
    """The most a load may allocate: a small multiple of what the file holds on disk (or
    honestly inflates to) and of what the load returns, never what it claims."""
    return 4 * (real_size + returned) + (4 << 20)


def inflated_size(path: str, cap: int) -> int:
    """What the members of zip archive `path` really inflate to, read through zipfile (so
    no member past the size it declares), counting stops at `cap`; 0 for other files."""
    total = 0
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                with z.open(info) as f:
                    while total < cap:
                        chunk = f.read(1 << 20)
                        if not chunk:
                            break
                        total += len(chunk)
    except Exception:  # damage ends the count where it was
        pass
    return total


def check_file(
    path: str,
    model: Any,
    *,
    refuse: tuple[str, ...] = (),
    checkpoint: bool = False,
    timeout: float = FILE_TIMEOUT,
) -> str | None:
    """Give `path` to every loader (`LOADERS`): each must succeed or raise an NNDSLError
    whose message names the file and renders; within `timeout` seconds; with a
    tracemalloc peak under `memory_bound`. refuse: the loaders that must refuse it.
    checkpoint: a checkpoint that loads must be valid in every field. Returns the
    refusals' distinct messages, one a line (None when every loader accepted);
    `FuzzFailure` otherwise."""
    started_tracing = not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    try:
        messages = [
            _check_loader(loader, path, model, refuse, checkpoint, timeout) for loader in LOADERS
        ]
    finally:
        if started_tracing:
            tracemalloc.stop()
    refusals = list(dict.fromkeys(m for m in messages if m))  # distinct, in order
    return "\n".join(refusals) if refusals else None


def _case(path: str) -> bytes | str:
    """What a failure shows of the case: the file's first bytes, or its name."""
    try:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                return f.read(300)
    except (OSError, ValueError):
        pass
    return path


def _check_loader(
    loader: str, path: str, model: Any, refuse: tuple[str, ...], checkpoint: bool, timeout: float
) -> str | None:
    try:
        real = os.stat(path).st_size if os.path.isfile(path) else 0
    except (OSError, ValueError):
        real = 0
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    started = time.monotonic()
    result, error = None, None
    try:
        with _deadline(timeout):
            result = _load(loader, path, model)
    except _Hang:
        raise FuzzFailure(f"{loader} ran past {timeout:g} s (a hang)", _case(path)) from None
    except NNDSLError as e:
        error = e
    except Exception:
        raise FuzzFailure(
            f"crash in {loader}", _case(path), f"path {path!r}\n{traceback.format_exc()}"
        ) from None
    peak = tracemalloc.get_traced_memory()[1] - before
    bound = memory_bound(real, _held(result))
    seconds = time.monotonic() - started
    if peak > bound:  # reading what a compressed file honestly holds is allowed
        bound = memory_bound(real + inflated_size(path, peak), _held(result))
    if peak > bound:
        raise FuzzFailure(
            f"{loader} allocated {peak:,} bytes for a file of {real:,} (bound {bound:,})",
            _case(path),
            f"path {path!r}; {'refused' if error else 'accepted'} after {seconds:.2f} s"
            + (f": {error.message}" if error else ""),
        )
    if error is None:
        if loader in refuse:
            raise FuzzFailure(f"{loader} accepted a file it must refuse", _case(path), path)
        if checkpoint and loader == "load_checkpoint":
            problem = checkpoint_problem(result)
            if problem:
                raise FuzzFailure(f"load_checkpoint accepted {problem}", _case(path), path)
        return None
    try:
        text = error.render()
    except Exception:
        raise FuzzFailure(
            f"rendering {loader}'s error failed", _case(path), traceback.format_exc()
        ) from None
    if not all(c.isprintable() or c == "\n" for c in error.message + (error.hint or "")):
        raise FuzzFailure(f"a control character in {loader}'s message", _case(path), repr(text))
    name = _shown(os.path.basename(os.path.normpath(path)) or path)
    if name not in error.message:
        raise FuzzFailure(f"{loader}'s message does not name the file", _case(path), text)
    return error.message


def checkpoint_problem(state: Any) -> str | None:
    """What is wrong with a loaded checkpoint state (None: every field of its kind and
    in range, the history exactly `epoch` epochs long)."""
    epoch = state.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        return f"epoch {epoch!r}"
    for key in ("weights", "engine", "trainer_rng", "callbacks", "meta", "history"):
        if not isinstance(state.get(key), dict):
            return f"a {key} of kind {type(state.get(key)).__name__}"
    history = state["history"]
    if history.get("epoch") != list(range(epoch)):
        return f"a history of {history.get('epoch')!r} for epoch {epoch}"
    values = history.get("history")
    if not isinstance(values, dict) or any(
        not isinstance(v, list) or len(v) != epoch for v in values.values()
    ):
        return f"history values {values!r} for epoch {epoch}"
    if any(not isinstance(v, np.ndarray) for v in state["weights"].values()):
        return "weights that are not arrays"
    seed = state["meta"].get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        return f"a seed {seed!r}"
    return None


def check_weights_file(path: Path, model: Any) -> str | None:
    """A (damaged) file through every loader (see `check_file`)."""
    return check_file(str(path), model)


# ------------------------------------------------ building archives by hand


def npy_bytes(descr: str, shape: str, data: bytes = b"", version: int = 1) -> bytes:
    """An .npy file whose header says `descr` and `shape` (Python literals as text, so a
    header may say anything), followed by `data`."""
    text = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}"
    length = "<H" if version == 1 else "<I"
    text += " " * (-(8 + struct.calcsize(length) + len(text) + 1) % 64) + "\n"
    raw = text.encode("latin-1", "replace")
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(length, len(raw)) + raw + data


def crc32_zeros(crc: int, n: int) -> int:
    """`zlib.crc32(bytes(n), crc)` in time logarithmic in n: feeding a zero byte is a
    linear map of CRC-32's register (zlib's crc32_combine squares it)."""

    def times(matrix: list[int], vector: int) -> int:
        out, i = 0, 0
        while vector:
            if vector & 1:
                out ^= matrix[i]
            vector, i = vector >> 1, i + 1
        return out

    def square(matrix: list[int]) -> list[int]:
        return [times(matrix, column) for column in matrix]

    step = square(square(square([0xEDB88320] + [1 << i for i in range(31)])))  # one byte
    register = crc ^ 0xFFFFFFFF
    while n:
        if n & 1:
            register = times(step, register)
        step, n = square(step), n >> 1
    return register ^ 0xFFFFFFFF


_UNIT = 1 << 20  # zeros per repeated DEFLATE unit


@functools.cache
def _zero_unit() -> bytes:
    """A MiB of zeros as DEFLATE blocks ending in a full flush: after a full flush the
    compressor starts afresh, so the same bytes stand for every further MiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    c.compress(b"\x01")
    c.flush(zlib.Z_FULL_FLUSH)
    unit = c.compress(bytes(_UNIT)) + c.flush(zlib.Z_FULL_FLUSH)
    assert unit == c.compress(bytes(_UNIT)) + c.flush(zlib.Z_FULL_FLUSH)
    return unit


def deflated_zeros(head: bytes, zeros: int) -> tuple[bytes, int]:
    """(raw DEFLATE stream, CRC-32) of `head` followed by `zeros` zero bytes, made in
    time and memory proportional to the stream (~1/1000 of what it inflates to)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [c.compress(head), c.flush(zlib.Z_FULL_FLUSH), _zero_unit() * (zeros // _UNIT)]
    parts += [c.compress(bytes(zeros % _UNIT)), c.flush(zlib.Z_FINISH)]
    return b"".join(parts), crc32_zeros(zlib.crc32(head), zeros)


@dataclass
class Member:
    """A zip member as written: `raw` is what is stored (a DEFLATE stream when
    `deflated`); the other fields are what the headers claim."""

    name: str
    raw: bytes
    deflated: bool
    crc: int
    size: int

    @classmethod
    def of(cls, name: str, data: bytes, deflated: bool) -> Member:
        if not deflated:
            return cls(name, data, False, zlib.crc32(data), len(data))
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return cls(name, c.compress(data) + c.flush(), True, zlib.crc32(data), len(data))


ZIP_LIES = ("size", "csize", "local size", "offset", "entries", "cd size", "cd offset")


def zip_bytes(members: list[Member], lie: tuple[int, str, int] | None = None) -> bytes:
    """A zip archive of `members`, written by hand (so a member can be a precomputed
    stream). lie: (member index, field in ZIP_LIES, value) patched into the headers."""
    index, field, value = lie if lie is not None else (-1, "", 0)
    local, central = bytearray(), bytearray()
    for i, m in enumerate(members):
        name = m.name.encode("utf-8", "surrogateescape")
        method = zipfile.ZIP_DEFLATED if m.deflated else zipfile.ZIP_STORED
        at = len(local)

        def claim(what: str, true: int, i: int = i) -> int:
            return value & 0xFFFFFFFF if (i, what) == (index, field) else true

        local += struct.pack(
            "<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, m.crc, len(m.raw),
            claim("local size", m.size), len(name), 0,
        ) + name + m.raw  # fmt: skip
        central += struct.pack(
            "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, m.crc,
            claim("csize", len(m.raw)), claim("size", m.size), len(name), 0, 0, 0, 0, 0,
            claim("offset", at),
        ) + name  # fmt: skip
    count = len(members) if field != "entries" else value & 0xFFFF
    size = len(central) if field != "cd size" else value & 0xFFFFFFFF
    offset = len(local) if field != "cd offset" else value & 0xFFFFFFFF
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, size, offset, 0)
    return bytes(local + central + end)


def npz_members(data: bytes) -> list[Member]:
    """The members of a real .npz, as `Member`s (re-compressed when they were)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [
            Member.of(i.filename, z.read(i), i.compress_type == zipfile.ZIP_DEFLATED)
            for i in z.infolist()
        ]


# ------------------------------------------------ the generators

NPZ_SEEDS = ("weights.npz", "data.npz", "data-compressed.npz", "checkpoint.npz")
HUGE_SHAPES = [
    "(1048576, 1048576, 2)",  # 8 TiB of float32
    "(9223372036854775807,)",
    "(4611686018427387904, 4)",  # elements past int64
    "(1099511627776, 4)",
    "(3, 4194304)",  # 48 MiB: a model tensor's name, a shape far too big
    "(0, 1000000000000)",  # no bytes, a trillion features
    "(3, 4)",
    "(8, 3)",
    "(-1,)",
    "(10000000000000000000000000000000,)",
    "(2.5,)",
    "('a',)",
    "((1, 2),)",
    "()",
]
DESCRS = ["'<f4'", "'<f8'", "'|u1'", "'<i8'", "'>f4'", "'|b1'", "'V0'", "'|S0'", "'<U0'"]
DESCRS += ["'|O'", "[('a', '<f4')]", "'<c16'", "'<f4", "'xx'"]


def _shape_bytes(descr: str, shape: str) -> int | None:
    """What an honest member of this header holds (None: not a plain shape and dtype)."""
    try:
        dims = ast.literal_eval(shape)
        dtype = np.dtype(ast.literal_eval(descr))
    except Exception:
        return None
    if not isinstance(dims, tuple) or not all(type(n) is int and n >= 0 for n in dims):
        return None
    return 0 if dtype.hasobject else math.prod(dims) * max(dtype.itemsize, 1)


def _member_names(d: Draw, members: list[Member]) -> str:
    """A member to replace: one of the seed's, or a model tensor's name, or x/y."""
    names = [m.name for m in members] + ["dense_1.weight.npy", "x.npy", "y.npy", "a0.npy"]
    return d.pick(names)


def _with_member(members: list[Member], new: Member) -> list[Member]:
    return [m for m in members if m.name != new.name] + [new]


def _npy_claim(d: Draw, seeds: FileSeeds) -> tuple[bytes, str, bool]:
    members = npz_members(seeds.files[d.pick(NPZ_SEEDS)])
    descr, shape = d.pick(DESCRS), d.pick(HUGE_SHAPES)
    claimed = _shape_bytes(descr, shape)
    held = 0 if claimed is None else d.pick([0, 1, max(claimed - 1, 0), min(claimed, 4096)])
    held = min(held, 1 << 16)
    name = _member_names(d, members)
    data = npy_bytes(descr, shape, bytes(held), version=d.pick([1, 2]))
    members = _with_member(members, Member.of(name, data, deflated=d.one_in(2)))
    lying = claimed is not None and claimed > held
    return zip_bytes(members), f"{name}: {descr} {shape}, {held} bytes held", lying


BOMB_SIZES = [4 << 20, (1 << 30) + (128 << 20), (3 << 30) + (512 << 20)]  # past 1 GiB: refused


def _zip_bomb(d: Draw, seeds: FileSeeds) -> tuple[bytes, str, tuple[str, ...]]:
    """Zeros streamed through DEFLATE under an honest header: small ones may load (they
    inflate less than nndsl allows), those past 1 GiB must be refused unread."""
    members = npz_members(seeds.files[d.pick(NPZ_SEEDS)])
    size = d.pick(BOMB_SIZES)
    descr, width = d.pick([("'<f4'", 4), ("'<f8'", 8), ("'|u1'", 1)])
    rows = d.pick([1, 2, 3, 4, 8])
    wide = size < 1 << 30 and d.one_in(4)  # few samples of many features
    if wide:
        features = d.pick([4096, 16384, 1 << 22])
        size, shape = rows * features * width, f"({rows}, {features})"
    count = size // (width * rows)
    if not wide:
        shape = d.pick([f"({count}, {rows})", f"({count * rows},)"])
    head = npy_bytes(descr, shape)
    raw, crc = deflated_zeros(head, count * rows * width)
    names = [_member_names(d, members)]
    if d.one_in(2):  # the second array of a data file inflates as well
        names.append("y.npy" if names[0] != "y.npy" else "x.npy")
    for name in names:
        members = _with_member(members, Member(name, raw, True, crc, len(head) + size))
    note = f"{', '.join(names)}: {shape} of {descr} from {len(raw):,} bytes"
    note += f" (wide: {features} features)" if wide else ""
    if size < 1 << 30:
        return zip_bytes(members), note, ()
    # a loader of data reads only x and y: another member may inflate unread
    data = {"x.npy", "y.npy"} & set(names)
    return zip_bytes(members), note, LOADERS if data else LOADERS[:-2]


CLAIMS = [0xF0000000, 1 << 31, (1 << 30) + 1, 0xFFFFFFFF]


def _zip_size(d: Draw, seeds: FileSeeds) -> tuple[bytes, str, bool]:
    """A real archive with one header field patched: sizes, offsets, counts in GiB, or
    one off."""
    members = npz_members(seeds.files[d.pick(NPZ_SEEDS)])
    if d.one_in(3):  # a member deflated from much less than its true size claims
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = c.compress(npy_bytes("'<f4'", "(16384, 256)")) + c.compress(bytes(16 << 20))
        members.append(Member("big.npy", raw + c.flush(), True, 0, 16 << 20))
    field = d.pick(ZIP_LIES)
    deflated = [i for i, m in enumerate(members) if m.deflated]
    # a deflated member's size is checked against what DEFLATE can make of its stream
    index = d.pick(deflated) if field == "size" and deflated else d.below(len(members))
    true = {"size": members[index].size, "csize": len(members[index].raw)}.get(field, 1000)
    value = d.pick(CLAIMS * 2 + [true + 1, max(true - 1, 0), 0])  # mostly GiB
    huge = value in CLAIMS and field in ("size", "csize", "cd size", "cd offset")
    note = f"{members[index].name}: {field} = {value:,}"
    return zip_bytes(members, (index, field, value)), note, huge


def _safetensors(d: Draw, seeds: FileSeeds) -> tuple[bytes, str, bool]:
    """A safetensors file whose header lies about one tensor, or about its own length."""
    data = seeds.files.get("weights.safetensors")
    if data is None:  # safetensors not installed: a header nndsl must still refuse
        data = struct.pack("<Q", 2) + b"{}"
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    names = [k for k in header if k != "__metadata__"] or ["dense_1.weight"]
    name = d.pick(names)
    how = d.below(8)
    entry = dict(header.get(name, {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}))
    if how == 0:  # a huge shape, offsets to match (past the file)
        shape = d.pick([[1 << 20, 1 << 20, 2], [1 << 40, 1 << 40, 1 << 40], [1 << 62, 8]])
        entry.update(shape=shape, data_offsets=[0, math.prod(shape) * 4])
    elif how == 1:  # the model's shape, the data past the end
        end = d.pick([len(body) + 1, 1 << 32, 1 << 62, (1 << 64) - 1])
        entry["data_offsets"] = [entry["data_offsets"][0], end]
    elif how == 2:  # a huge shape over the real bytes
        entry["shape"] = d.pick([[1 << 31, 1 << 31], [0, 1 << 62], [-1, 12], [12.5]])
    elif how == 3:
        entry["dtype"] = d.pick(["BF16", "F8_E4M3", "X", 5, "F64"])
    elif how == 4:
        entry["data_offsets"] = d.pick([[48, 0], [-1, 47], ["0", "48"], [0], [0, 48, 96]])
    elif how == 5:  # the file's first 8 bytes claim a header longer than the file
        value = d.pick([len(data), 1 << 40, (1 << 63) - 1, (1 << 64) - 1, 0])
        return struct.pack("<Q", value) + data[8:], f"header length {value:,}", True
    elif how == 6:  # metadata nndsl reads: nested deep, huge, or of the wrong kind
        meta = d.pick(["[" * 5000 + "]" * 5000, "x" * (1 << 16), "1e999", "null", "{}"])
        header["__metadata__"] = d.pick([{"__nndsl_meta__": meta}, {"__nndsl_meta__": 5}, []])
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text)) + text + body, f"metadata {meta[:20]!r}", False
    else:  # a header that is no record of tensors: nested deep, a list, a number
        text = d.pick(["[" * 4000 + "]" * 4000, "[]", "5", '{"a": 5}', "{"]).encode()
        return struct.pack("<Q", len(text)) + text + body, f"header {text[:20]!r}", True
    header[name] = entry
    text = json.dumps(header).encode()
    note = f"{name}: {json.dumps(entry)[:120]}"
    return struct.pack("<Q", len(text)) + text + body, note, how in (0, 1, 3, 4)


# (path into the state, value written there, must load_checkpoint refuse it)
CHECKPOINT_FIELDS: list[tuple[str, Any, bool]] = [
    ("epoch", "x", True),
    ("epoch", -5, True),
    ("epoch", 2.5, True),
    ("epoch", 10**9, True),
    ("epoch", True, True),
    ("epoch", None, True),
    ("epoch", 10**30, True),
    ("epoch", 2, True),  # a history of three epochs
    ("epoch", 0, True),
    ("history.epoch", [0, 1], True),
    ("history.epoch", [0, 0, 0], True),
    ("history.epoch", list(range(100)), True),
    ("history.epoch", "x", True),
    ("history.history.loss", [1.0], True),
    ("history.history.loss", ["a", "b", "c"], True),
    ("history.history.loss", "x", True),
    ("history", "x", True),
    ("history", [], True),
    ("history.info", [], True),
    ("engine", [1, 2], True),
    ("engine", "x", True),
    ("engine", None, True),
    ("trainer_rng", "x", True),
    ("trainer_rng", [1], True),
    ("callbacks", [], True),
    ("weights", "x", True),
    ("weights.dense_1.weight", [[1.0]], True),
    ("weights.dense_1.weight", "x", True),
    ("meta", [], True),
    ("meta.seed", "3", True),
    ("meta.seed", 2.5, True),
    ("meta.seed", True, True),
    ("meta.epochs", -1, True),
    ("meta.source", 5, True),
    ("meta.overrides", [1], True),
    ("engine.step", [1], False),  # may be refused when restored, not now
    ("meta.seed", 7, False),
    ("meta.epochs", 10**6, False),
]
CHECKPOINT_RECORDS = [
    b'{"format": "nndsl-checkpoint", "version": 2, "state": {}}',
    b'{"format": "x", "version": 1}',
    b"[]",
    b'{"format": "nndsl-checkpoint", "version": 1, "state": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"format": "nndsl-checkpoint", "version": 1, "state": ' + b"9" * 5000 + b"}",
    b'{"format": "nndsl-checkpoint", "version": 1, "state": {"__array__": "a999"}}',
    b'{"format": "nndsl-checkpoint", "version": 1, "state": {"__dict__": 5}}',
    b"\xff\xfe",
]


def _set_field(state: dict, field: str, value: Any) -> None:
    *parents, last = field.split(".")
    if field.startswith("weights."):  # a tensor name holds a dot itself
        parents, last = ["weights"], field[len("weights.") :]
    target: Any = state
    for part in parents:
        target = target[part] if isinstance(target, dict) else {}
    if isinstance(target, dict):
        if value is _MISSING:
            target.pop(last, None)
        else:
            target[last] = value


_MISSING = object()
CHECKPOINT = ("load_checkpoint",)  # the loader a checkpoint's field must be refused by


def _checkpoint(d: Draw, seeds: FileSeeds, path: Path) -> tuple[str, bool]:
    """A checkpoint written by save_checkpoint from a real state with one field changed
    (or removed), or an archive whose JSON record is damaged."""
    from nndsl.train.checkpoint import RECORD, save_checkpoint

    if d.one_in(5):
        record = d.pick(CHECKPOINT_RECORDS)
        np.savez(path, **{RECORD: np.frombuffer(record, np.uint8)})
        return f"record {record[:60]!r}", True
    state = copy.deepcopy(dict(seeds.checkpoint))
    if d.one_in(8):
        field = d.pick(["epoch", "weights", "engine", "history", "meta", "trainer_rng"])
        _set_field(state, field, _MISSING)
        save_checkpoint(path, state)
        return f"{field} missing", True
    field, value, refuse = d.pick(CHECKPOINT_FIELDS)
    _set_field(state, field, copy.deepcopy(value))
    save_checkpoint(path, state)
    return f"{field} = {value!r}"[:100], refuse


def _special_path(d: Draw, seeds: FileSeeds) -> tuple[str, str]:
    """A path that is no regular file: a FIFO with no writer (opening it for reading the
    blocking way waits forever), a device, a folder, links to them, nothing at all."""
    folder = seeds.folder / "special"
    folder.mkdir(exist_ok=True)
    fifo = folder / "pipe.npz"
    if hasattr(os, "mkfifo") and not fifo.exists():
        os.mkfifo(fifo)
    links = {"zero-link.npz": "/dev/zero", "pipe-link.npz": str(fifo)}
    for name, target in links.items():
        if not (folder / name).is_symlink():
            os.symlink(target, folder / name)
    choice = d.pick(["pipe", "/dev/zero", "/dev/null", "/dev/urandom", "folder", "link"])
    if choice == "pipe" and hasattr(os, "mkfifo"):
        return str(fifo), "a FIFO"
    if choice.startswith("/dev/") and os.path.exists(choice):
        return choice, choice
    if choice == "link":
        name = d.pick(sorted(links))
        return str(folder / name), f"a link to {links[name]}"
    if choice == "folder":
        return str(folder), "a folder"
    return str(folder / "missing.npz"), "no file"


BAD_NAMES = ["a\x00b.npz", "\ud800.npz", "\udc80.npz", "a\nb.npz", "\x1b[2J.npz", "\u202e.npz"]


def _bad_name(d: Draw, seeds: FileSeeds) -> tuple[str, str, bool]:
    """A name with a NUL or a lone surrogate (no file can have it), or one a file can
    have (a surrogate-escaped byte, control characters), then holding a real file."""
    name = d.pick(BAD_NAMES)
    path = os.path.join(seeds.folder, name)
    try:
        with open(path, "wb") as f:
            f.write(seeds.files[d.pick(sorted(seeds.files))])
    except (ValueError, UnicodeError):  # a name no file can have: nothing to write
        return path, f"{name!r}", True
    return path, f"{name!r} holding a real file", False


def hostile_file(seeds: FileSeeds, data: bytes, kind: str | None = None) -> FileCase:
    """Write one hostile file (or name one path) of class `kind` (default: chosen by
    `data`), steered by `data`, under `seeds.folder`."""
    d = Draw(data)
    kind = kind or FILE_CLASSES[d.below(len(FILE_CLASSES))]
    seeds.count += 1
    path = seeds.folder / f"case{seeds.count % 8}{d.pick(['.npz', '.safetensors', ''])}"
    if kind == "special-path":
        where, note = _special_path(d, seeds)
        return FileCase(kind, where, note, LOADERS)
    if kind == "bad-name":
        where, note, refuse = _bad_name(d, seeds)
        return FileCase(kind, where, note, LOADERS if refuse else ())
    if kind == "checkpoint":
        note, refuse = _checkpoint(d, seeds, path.with_suffix(".npz"))
        return FileCase(kind, str(path.with_suffix(".npz")), note, CHECKPOINT if refuse else ())
    if kind == "mutant":
        name = d.pick(sorted(seeds.files))
        content = mutate(seeds.files[name], random.Random(data))
        note, refuse = f"a mutant of {name}", False
    elif kind == "zip-bomb":
        content, note, loaders = _zip_bomb(d, seeds)
        path.write_bytes(content)
        return FileCase(kind, str(path), note, loaders)
    else:
        make = {"npy-claim": _npy_claim, "zip-size": _zip_size, "safetensors": _safetensors}
        content, note, refuse = make[kind](d, seeds)
    path.write_bytes(content)
    return FileCase(kind, str(path), note, LOADERS if refuse else ())


def check_hostile_file(
    case: FileCase, seeds: FileSeeds, timeout: float = FILE_TIMEOUT
) -> str | None:
    """`check_file` on a generated case, with what its class demands."""
    try:
        return check_file(
            case.path,
            seeds.model,
            refuse=case.refuse,
            checkpoint=case.kind == "checkpoint",
            timeout=timeout,
        )
    except FuzzFailure as f:
        f.reason = f"{case.kind} ({case.note}): {f.reason}"
        f.args = (f"{f.reason}\n{f.detail}",)
        raise
