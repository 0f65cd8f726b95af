"""`nndsl lsp` in a real Language Server Protocol session: pygls' client starts the
command over stdio, as an editor does, and drives it (initialize, didOpen of a broken
file, diagnostics at the right range, didChange fixing it, hover, completion,
definition, formatting, shutdown). nndsl.editor's answers are checked on their own too."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from nndsl import editor  # noqa: E402
from nndsl.ir.ops import OPS  # noqa: E402
from nndsl.ir.signature import CATALOGS  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BROKEN = """\
model m {
    input(4)
    dense(8, activaton=relu)
    dense(3, activation=softmax)
}
train m {
    data      = dataset("iris")
    loss      = sparse_categorical_crossentropy
    optimizer = adam(lr=0.01)
}
"""


def _at(source: str, text: str, offset: int = 0) -> types.Position:
    for i, line in enumerate(source.split("\n")):
        if text in line:
            return types.Position(i, line.index(text) + offset)
    raise AssertionError(text)


async def _session(tmp_path: Path) -> dict:
    """One editor session; returns what the server answered."""
    got: dict = {"diagnostics": []}
    client = LanguageClient("nndsl-test", "1")
    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(ls, params: types.PublishDiagnosticsParams) -> None:
        got["diagnostics"].append(params)
        arrived.set()

    await client.start_io(sys.executable, "-m", "nndsl", "lsp")
    try:
        init = await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(), root_uri=tmp_path.as_uri()
            )
        )
        got["capabilities"] = init.capabilities
        client.initialized(types.InitializedParams())
        doc = tmp_path / "m.nn"
        doc.write_text(BROKEN)
        uri = doc.as_uri()
        ident = types.TextDocumentIdentifier(uri=uri)
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="nndsl", version=1, text=BROKEN
                )
            )
        )
        await asyncio.wait_for(arrived.wait(), 60)
        got["broken"] = got["diagnostics"][-1]

        fixed = BROKEN.replace("activaton", "activation")
        arrived.clear()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
            )
        )
        await asyncio.wait_for(arrived.wait(), 60)
        got["fixed"] = got["diagnostics"][-1]

        got["hover"] = await client.text_document_hover_async(
            types.HoverParams(text_document=ident, position=_at(fixed, "adam(", 1))
        )
        got["hover_argument"] = await client.text_document_hover_async(
            types.HoverParams(text_document=ident, position=_at(fixed, "activation=", 2))
        )
        got["completion_layers"] = await client.text_document_completion_async(
            types.CompletionParams(text_document=ident, position=types.Position(1, 4))
        )
        got["completion_arguments"] = await client.text_document_completion_async(
            types.CompletionParams(text_document=ident, position=_at(fixed, "dense(8, ", 9))
        )
        got["completion_loss"] = await client.text_document_completion_async(
            types.CompletionParams(text_document=ident, position=_at(fixed, "sparse_", 0))
        )
        messy = fixed.replace("    input(4)", "input(4)").replace("loss      =", "loss =")
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=messy)],
            )
        )
        got["formatting"] = await client.text_document_formatting_async(
            types.DocumentFormattingParams(
                text_document=ident, options=types.FormattingOptions(tab_size=4, insert_spaces=True)
            )
        )
        got["messy"] = messy
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
    return got


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict:
    return asyncio.run(_session(tmp_path_factory.mktemp("lsp")))


def test_server_says_what_it_can_do(session: dict) -> None:
    caps = session["capabilities"]
    assert caps.hover_provider and caps.definition_provider and caps.document_formatting_provider
    assert caps.completion_provider is not None


def test_a_broken_file_gets_a_diagnostic_at_the_mistake(session: dict) -> None:
    (d,) = session["broken"].diagnostics
    assert d.severity == types.DiagnosticSeverity.Error
    assert "no argument 'activaton'" in d.message and "did you mean 'activation'" in d.message
    line = BROKEN.split("\n")[d.range.start.line]
    assert line[d.range.start.character : d.range.end.character].startswith("activaton")
    assert d.range.start.line == 2


def test_fixing_it_clears_the_diagnostics(session: dict) -> None:
    assert list(session["fixed"].diagnostics) == [] and session["fixed"].version == 2


def test_hover_shows_the_declaration(session: dict) -> None:
    text = session["hover"].contents.value
    assert "adam(lr=0.001" in text and "optimizer" in text
    assert "activation" in session["hover_argument"].contents.value
    assert "of `dense`" in session["hover_argument"].contents.value


def test_completion_by_place(session: dict) -> None:
    layers = {i.label for i in session["completion_layers"].items}
    assert set(OPS) <= layers and "repeat" in layers
    arguments = {i.label for i in session["completion_arguments"].items}
    assert {"units", "activation", "use_bias", "init"} <= arguments
    losses = {i.label for i in session["completion_loss"].items}
    assert set(CATALOGS["loss"]) == losses


def test_formatting_is_nndsl_fmt(session: dict) -> None:
    from nndsl.syntax.format import format_source

    (edit,) = session["formatting"]
    assert edit.new_text == format_source(session["messy"]) != session["messy"]
    assert edit.range.start == types.Position(0, 0)


# ------------------------------------------------------------------ nndsl.editor alone


def test_definitions_of_layers_blocks_and_models() -> None:
    path = EXAMPLES / "residual.nn"
    source = path.read_text()
    at = _at(source, "concat(x)", 7)
    found = editor.definition(source, at.line, at.character, str(path))
    assert found is not None and found.path is None
    assert source.split("\n")[found.line].strip().startswith("x = input(30)")
    at = _at(source, "residual_unit(", 3)
    found = editor.definition(source, at.line, at.character, str(path))
    assert found is not None and found.path.endswith("units.nn")
    std = Path(found.path).read_text().split("\n")[found.line]
    assert std[found.character : found.end_character] == "residual_unit"
    at = _at(source, "train residual", 8)
    found = editor.definition(source, at.line, at.character, str(path))
    assert found is not None and source.split("\n")[found.line].startswith("model residual")


def test_hover_on_a_named_layer_gives_its_shape() -> None:
    path = EXAMPLES / "residual.nn"
    source = path.read_text()
    at = _at(source, "concat(x)", 7)
    text = editor.hover(source, at.line, at.character, str(path))
    assert "(None, 30)" in text and "x = input(30)" in text


def test_completion_of_setting_names_values_and_lists() -> None:
    source = "model m {\n    input(2)\n    dense(1)\n}\ntrain m {\n    \n}\n"
    names = {c.label for c in editor.completions(source, 5, 4)}
    assert {"data", "loss", "optimizer", "epochs", "early_stop"} <= names
    source = source.replace("    \n}", "    metrics = [accuracy, \n}")
    line = source.split("\n")[5]
    metrics = {c.label for c in editor.completions(source, 5, len(line))}
    assert metrics == set(CATALOGS["metric"])
    source2 = "model m {\n    input(2)\n    dense(1, activation=\n}\n"
    acts = {c.label for c in editor.completions(source2, 2, len("    dense(1, activation="))}
    assert "relu" in acts and "sigmoid" in acts
    early = "train m {\n    early_stop = (\n}\n"
    keys = {c.label for c in editor.completions(early, 1, len("    early_stop = ("))}
    assert {"monitor", "patience"} <= keys


def test_warnings_are_diagnostics_too() -> None:
    source = (EXAMPLES / "xor.nn").read_text().replace("sgd(lr=", "sgd(lr=50 + 0 * ")
    found = editor.diagnostics(source, str(EXAMPLES / "xor.nn"))
    assert found and all(d.severity == "warning" for d in found), found


def test_every_example_checks_clean_or_with_warnings_only() -> None:
    """No example is an error in the editor (data is never read: input(auto) too)."""
    for path in sorted(EXAMPLES.rglob("*.nn")):
        found = editor.diagnostics(path.read_text(), str(path))
        assert all(d.severity == "warning" for d in found), (path, found)


def test_hostile_text_never_raises() -> None:
    """Half-typed files at every cursor position: each question gets an answer, never
    an exception (an editor asks at every keystroke)."""
    source = (EXAMPLES / "residual.nn").read_text()
    for cut in range(0, len(source), 37):
        text = source[:cut]
        lines = text.split("\n")
        line, character = len(lines) - 1, len(lines[-1])
        editor.diagnostics(text, None)
        editor.completions(text, line, character)
        editor.hover(text, line, max(character - 1, 0))
        editor.definition(text, line, max(character - 1, 0))
        editor.formatted(text)
    for odd in ["", "\n\n", "model", "model m {", "}}}}", '"unterminated', "\x00\t(", "((((", "="]:
        assert isinstance(editor.diagnostics(odd), list)
        editor.completions(odd, 0, len(odd.split("\n")[0]))
        editor.hover(odd, 0, 0)
        editor.hover(odd, 5, 0)  # past the end
