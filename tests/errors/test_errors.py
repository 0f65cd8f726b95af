"""The error corpus: every broken file in `cases/` fails with one located message.

Each case starts with two header lines that state what it must report:

    # expect: LINE:COLUMN: a fragment of the message
    # hint: a fragment of the hint (or - when there is none to check)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nndsl
from nndsl.cli import main

CASES = sorted((Path(__file__).parent / "cases").glob("*.nn"))
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+)\n# hint: (.+)\n")


def expectation(path: Path) -> tuple[int, int, str, str | None]:
    match = EXPECT.match(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} does not start with '# expect: L:C: ...' and '# hint: ...'"
    line, column, message, hint = match.groups()
    return int(line), int(column), message, None if hint == "-" else hint


def test_the_corpus_is_large():
    assert len(CASES) >= 35


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_error_is_located_and_explained(path: Path):
    line, column, message, hint = expectation(path)
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_file(path)
    err = info.value
    assert (err.line, err.column) == (line, column), err.render()
    assert message in err.message
    if hint is not None:
        assert err.hint is not None and hint in err.hint, err.render()
    assert err.path == str(path)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_cli_check_prints_location_source_line_and_caret(path: Path, capsys):
    line, column, message, _ = expectation(path)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    first, *rest = err.splitlines()
    assert first.startswith(f"{path}:{line}:{column}: error: ")
    assert message in first
    source_line = path.read_text(encoding="utf-8").splitlines()[line - 1]
    gutter = f"{line:>4} | "
    assert rest[0] == gutter + source_line
    caret = rest[1]
    assert caret.strip().startswith("^")
    assert caret.index("^") == len(gutter) + column - 1


def test_compile_string_raises_the_same_error_without_a_path():
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string("model m {\n    input(4)\n    dens(8)\n}\n")
    err = info.value
    assert (err.line, err.column) == (3, 5)
    assert err.path is None
    assert "unknown layer 'dens'" in str(err)
    assert "did you mean 'dense'?" in str(err)


def test_check_goes_on_after_a_bad_file(tmp_path: Path, capsys):
    good = tmp_path / "good.nn"
    good.write_text("model m {\n    input(2)\n    dense(1)\n}\n", encoding="utf-8")
    bad = CASES[0]
    assert main(["check", str(bad), str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count(f"{bad}:") == 2
    assert "good.nn" not in err


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path, capsys):
    assert main(["check", str(tmp_path / "nope.nn")]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text, shown",
    [
        ("a\\x00b", "a\\x00b"),
        ("\\x1b[2J", "\\x1b[2J"),
        ("a\\nb", "a\\nb"),
        ("\\u202eevil", "\\u202eevil"),
    ],
)
def test_user_text_in_a_message_is_shown_with_its_control_characters_escaped(text, shown):
    """Was: `unknown schedule 'a<NUL>b'`, the string's escape decoded into the message."""
    source = f'model m {{ input(1) dense(1) }}\ntrain {{ loss = mse schedule = "{text}" }}\n'
    with pytest.raises(nndsl.NNDSLError) as info:
        nndsl.compile_string(source, "f.nn")
    err = info.value
    assert (err.line, err.column) == (2, 31)
    assert err.message == f"unknown schedule '{shown}'"
    assert all(c.isprintable() or c == "\n" for c in err.render())
    raw = nndsl.NNDSLError("raw \x00 and \x1b in a message", hint="a \x07 hint\non two lines")
    assert raw.message == "raw \\x00 and \\x1b in a message"
    assert raw.hint == "a \\x07 hint\non two lines"
