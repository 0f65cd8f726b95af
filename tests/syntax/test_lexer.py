"""Highlighting: the Pygments lexer tokenizes every example without error tokens and
colours each role from the declarations; error lines are coloured on a colour terminal
only; the committed TextMate grammar is the generated one."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import tomllib

pytest.importorskip("pygments")
from pygments.token import Error, Keyword, Name, Number, String, Token  # noqa: E402

from nndsl.cli import main  # noqa: E402
from nndsl.ir.ops import OPS  # noqa: E402
from nndsl.syntax.lexer import NNDSLLexer, colour_snippet  # noqa: E402
from nndsl.syntax.textmate import grammar, grammar_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
README_BLOCKS = [
    b
    for lang, b in re.findall(r"```(\w*)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if lang == "" and "model " in b
]
SWEEP = """model m {
    h = dense([4, 8], activation=[relu, tanh])
}
train m { optimizer = adam(lr=[1e-2, 1e-3], betas=[0.9, 0.999])  batch_size = [16, 64] }
"""


def tokens(text: str) -> list[tuple]:
    return [(t, v) for t, v in NNDSLLexer().get_tokens(text) if v.strip()]


def test_every_valid_file_tokenizes_without_errors(valid_path):
    text = valid_path.read_text(encoding="utf-8")
    toks = list(NNDSLLexer().get_tokens(text))
    assert not [v for t, v in toks if t in Error], valid_path
    assert "".join(v for _, v in toks) == text if text.endswith("\n") else text + "\n"


@pytest.mark.parametrize("text", [*README_BLOCKS, SWEEP], ids=lambda t: t.split("{")[0][:30])
def test_readme_blocks_and_sweeps_tokenize_without_errors(text):
    assert not [v for t, v in tokens(text) if t in Error]


def test_roles():
    toks: dict[str, object] = {}
    for t, v in tokens(
        "model m {\n    h = dense(8, activation=relu)  # hidden\n    add(h)\n}\n"
        'train m {\n    data = csv("d.csv", target="y")\n    epochs = 10\n'
        "    optimizer = adam(lr=1e-3)\n    shuffle = true\n}\n"
    ):
        toks.setdefault(v, t)  # the first occurrence of each text
    assert toks["model"] in Keyword.Declaration and toks["m"] in Name.Class
    assert toks["h"] in Name.Variable  # a layer's name
    assert toks["dense"] in Name.Builtin and toks["relu"] in Name.Builtin
    assert toks["activation"] in Name.Attribute and toks["lr"] in Name.Attribute
    assert toks["epochs"] in Name.Attribute and toks["data"] in Name.Attribute
    assert toks["adam"] in Name.Function and toks["csv"] in Name.Function
    assert toks["# hidden"] in Token.Comment and toks['"d.csv"'] in String
    assert toks["1e-3"] in Number.Float and toks["8"] in Number.Integer
    assert toks["true"] in Keyword.Constant


def test_every_declared_layer_is_coloured_as_one():
    for name in OPS:
        assert tokens(f"model m {{ {name}(1) }}")[3] == (Name.Builtin, name)


def test_the_lexer_is_declared_as_a_pygments_plugin():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = meta["project"]["entry-points"]["pygments.lexers"]["nndsl"]
    assert target == "nndsl.syntax.lexer:NNDSLLexer"
    assert "highlight" in meta["project"]["optional-dependencies"]
    from importlib.metadata import entry_points

    if not [e for e in entry_points(group="pygments.lexers") if e.name == "nndsl"]:
        pytest.skip("installed before the entry point existed: pip install -e . registers it")
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert isinstance(get_lexer_by_name("nndsl"), NNDSLLexer)
    assert isinstance(get_lexer_for_filename("model.nn"), NNDSLLexer)


BAD = "model m {\n    input(2)\n    dropout(1.5)\n}\n"


def test_colour_snippet_colours_only_the_source_line():
    rendered = "bad.nn:3:13: error: x\n   3 |     dropout(1.5)\n                   ^^^\n  hint: h"
    out = colour_snippet(rendered, 3)
    first, line, caret, hint = out.split("\n")
    assert "\x1b[" in line and line.startswith("   3 | ")
    assert re.sub(r"\x1b\[[0-9;]*m", "", line) == "   3 |     dropout(1.5)"
    assert "\x1b[" not in first + caret + hint


@pytest.mark.parametrize("no_color", [False, True])
def test_error_lines_in_colour_on_a_terminal(tmp_path, capsys, monkeypatch, no_color):
    path = tmp_path / "bad.nn"
    path.write_text(BAD)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    source_line = next(x for x in err.splitlines() if x.startswith("   3 |"))
    assert ("\x1b[" in source_line) is not no_color
    assert re.sub(r"\x1b\[[0-9;]*m", "", err).endswith("^^^\n")


def test_without_pygments_errors_stay_plain(tmp_path, capsys, monkeypatch):
    path = tmp_path / "bad.nn"
    path.write_text(BAD)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setitem(sys.modules, "nndsl.syntax.lexer", None)  # import fails
    assert main(["check", str(path)]) == 1
    source_line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("   3 |"))
    assert source_line == "   3 |     dropout(1.5)"


def test_textmate_grammar_is_up_to_date():
    committed = (ROOT / "editors" / "nndsl.tmLanguage.json").read_text(encoding="utf-8")
    assert committed == grammar_text(), (
        "stale: python -m nndsl.syntax.textmate > editors/nndsl.tmLanguage.json"
    )
    package = json.loads((ROOT / "editors" / "package.json").read_text())
    (lang,) = package["contributes"]["grammars"]
    assert lang["scopeName"] == grammar()["scopeName"]
    assert (ROOT / "editors" / lang["path"]).exists()


def test_textmate_patterns_match_what_they_name():
    repo = grammar()["repository"]
    for rule in repo.values():
        for key in ("match", "begin", "end"):
            if key in rule:
                re.compile(rule[key])  # plain regexes, read alike by Oniguruma
    layer = re.compile(repo["layer"]["match"])
    for name in OPS:
        assert layer.fullmatch(name), name
    assert re.compile(repo["entry"]["match"]).fullmatch("sparse_categorical_crossentropy")
    assert re.compile(repo["number"]["match"]).fullmatch("-1.5e-3")
