"""The reference and the help cannot drift: docs/reference.md is what `nndsl docs`
generates from the declarations, every declared argument says what it means, and every
command's help explains each argument and shows an example."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from nndsl.cli import build_parser, main
from nndsl.docs import reference
from nndsl.ir.catalog import EARLY_STOP, TRAIN_SETTINGS
from nndsl.ir.ops import OPS
from nndsl.ir.signature import CATALOGS

ROOT = Path(__file__).resolve().parent.parent


def test_committed_reference_is_up_to_date():
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == reference(), "stale: run `nndsl docs --out docs/reference.md`"


def test_nndsl_docs_writes_the_reference(tmp_path):
    assert main(["docs", "--out", str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == reference()


def test_reference_names_everything_declared():
    text = reference()
    for name in OPS:
        assert f"#### `{name}(" in text
    for kind, entries in CATALOGS.items():
        if kind in ("layer", "activation"):
            continue
        for name in entries:
            assert f"### `{name}(" in text, (kind, name)
    for p in (*TRAIN_SETTINGS.params, *EARLY_STOP.params):
        assert f"| `{p.name}` |" in text
    assert "## Sweeps" in text


def _declared():
    for kind, entries in CATALOGS.items():
        for name, entry in entries.items():
            yield f"{kind} {name}", entry.doc, entry.params
    yield "early_stop", EARLY_STOP.doc, EARLY_STOP.params
    yield "train", TRAIN_SETTINGS.doc, TRAIN_SETTINGS.params


@pytest.mark.parametrize(("owner", "doc", "params"), list(_declared()), ids=lambda v: str(v)[:40])
def test_every_declaration_says_what_it_means(owner, doc, params):
    assert doc.strip(), f"{owner} has no doc"
    for p in params:
        assert p.doc.strip() and "\n" not in p.doc, f"{owner}: argument '{p.name}' has no meaning"


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_top_level_help_lists_every_command_with_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in _commands():
        assert f"    {name}" in text, name
    examples = text.split("examples:")[1]
    for name in ("check", "summary", "run", "lr-find", "report", "docs"):
        assert f"nndsl {name} " in examples


@pytest.mark.parametrize("name", list(_commands()))
def test_every_command_explains_its_arguments_and_shows_an_example(name, capsys):
    command = _commands()[name]
    assert command.description and command.epilog.startswith(("example:", "examples:"))
    assert f"nndsl {name}" in command.epilog
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help, f"nndsl {name}: {label} has no help text"
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    assert "example" in capsys.readouterr().out
