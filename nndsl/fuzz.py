"""Fuzzing the front end: whatever a person types, nndsl answers with success or one
located `NNDSLError`, never a traceback.

Three sources of cases, all deterministic for a seed:

- `programs()`: hypothesis strategies that write `.nn` files from the declarations
  themselves (every op, loss, optimizer, schedule, data source and train setting, with
  arguments of the declared kinds, in and out of range), then sometimes break them.
- `mutate(data, rng)`: byte-level mutations of existing files (flips, deletions,
  insertions of interesting bytes, splices, truncations).
- `hostile_from_bytes(data)`: the kinds of input an independent fuzzer found (issue 20):
  huge integer literals, nesting at and past the limit, numbers at the edges of int64
  and float64, initializer ranges that fail only at build, control characters in
  strings, extreme window sizes and grids, names that begin with a keyword, a BOM.
- `weights_mutants(...)`: damaged weight files (see `check_weights_file`).

`check_source(text)` is the oracle: compile (and format, and with `build=True` build) the
text; return the error's message, or None on success; raise `FuzzFailure` for anything
else: another exception, an error without a line and column inside the file, an error
whose rendering fails or shows the wrong line, a message holding a control character,
or `fmt` refusing what `check` accepts. `tools/fuzz.py` runs long campaigns;
`tests/test_fuzz.py` a bounded one. hypothesis is needed only for `programs()`.
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    located error; `FuzzFailure` otherwise."""
    from nndsl.api import compile_string

    try:
        program = compile_string(source, path)
        for warning in program.warnings:  # the semantic checks must not crash either
            if warning.line is not None:
                check_located(warning, source, path)
    except NNDSLError as e:
        check_located(e, source, path)
        return e.message
    except Exception:
        raise FuzzFailure("crash while compiling", source, traceback.format_exc()) from None
    if formatter:
        from nndsl.syntax.format import format_source

        try:
            format_source(source, path)
        except NNDSLError as e:
            check_located(e, source, path)
            raise FuzzFailure("fmt refuses what check accepts", source, e.render()) from None
        except Exception:
            raise FuzzFailure("crash while formatting", source, traceback.format_exc()) from None
    if build:
        _check_build(program, source)
    return None


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
        f"    early_stop = (monitor={d.pick(KEYWORD_NAMES)})\n}}\n"
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


# ------------------------------------------------------------------ hostile weight files


def check_weights_file(path: Path, model: Any) -> str | None:
    """Loading a (damaged) weights file must succeed or raise NNDSLError."""
    from nndsl.model import Model
    from nndsl.weights import load_weights

    try:
        load_weights(path)
        model.load(path)
        Model.load_file(path)  # the model description it carries, too
    except NNDSLError as e:
        try:
            return e.render()
        except Exception:
            raise FuzzFailure("rendering the error failed", path.read_bytes()) from None
    except Exception:
        raise FuzzFailure(
            "crash while loading weights", path.read_bytes(), traceback.format_exc()
        ) from None
    return None
