"""`nndsl lsp`: a Language Server Protocol server for `.nn` files over stdio (pygls, the
`lsp` extra). It answers from nndsl.editor: diagnostics as the file is opened, changed
and saved; hover docs; completion; go to definition; formatting with `nndsl fmt`."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from nndsl import __version__, editor

SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}
KINDS = {
    "layer": types.CompletionItemKind.Class,
    "block": types.CompletionItemKind.Module,
    "argument": types.CompletionItemKind.Property,
    "setting": types.CompletionItemKind.Field,
    "keyword": types.CompletionItemKind.Keyword,
    "value": types.CompletionItemKind.Value,
}


def _path(uri: str) -> str | None:
    """A file: URI's path (use and data paths resolve beside it); None for others."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else None


def _range(line: int, character: int, end_line: int, end_character: int) -> types.Range:
    return types.Range(types.Position(line, character), types.Position(end_line, end_character))


def create_server() -> LanguageServer:
    server = LanguageServer("nndsl", __version__)

    def publish(uri: str) -> None:
        document = server.workspace.get_text_document(uri)
        found = editor.diagnostics(document.source, _path(uri))
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                version=document.version,
                diagnostics=[
                    types.Diagnostic(
                        range=_range(d.line, d.character, d.end_line, d.end_character),
                        message=d.message,
                        severity=SEVERITY[d.severity],
                        source="nndsl",
                    )
                    for d in found
                ],
            )
        )

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
        uri, at = params.text_document.uri, params.position
        document = ls.workspace.get_text_document(uri)
        text = editor.hover(document.source, at.line, at.character, _path(uri))
        if text is None:
            return None
        content = types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
        return types.Hover(contents=content)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["(", ",", "=", " ", "["]),
    )
    def completion(ls: LanguageServer, params: types.CompletionParams) -> types.CompletionList:
        uri, at = params.text_document.uri, params.position
        document = ls.workspace.get_text_document(uri)
        items = editor.completions(document.source, at.line, at.character, _path(uri))
        return types.CompletionList(
            is_incomplete=False,
            items=[
                types.CompletionItem(
                    label=c.label,
                    kind=KINDS.get(c.kind, types.CompletionItemKind.EnumMember),
                    detail=c.detail,
                    insert_text=c.insert,
                )
                for c in items
            ],
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: LanguageServer, params: types.DefinitionParams) -> types.Location | None:
        uri, at = params.text_document.uri, params.position
        document = ls.workspace.get_text_document(uri)
        found = editor.definition(document.source, at.line, at.character, _path(uri))
        if found is None:
            return None
        target = uri if found.path is None else f"file://{found.path}"
        where = _range(found.line, found.character, found.end_line, found.end_character)
        return types.Location(uri=target, range=where)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: LanguageServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        source = document.source
        text = editor.formatted(source, _path(params.text_document.uri))
        if text is None or text == source:
            return None if text is None else []
        lines = source.split("\n")
        whole = _range(0, 0, len(lines) - 1, len(lines[-1]))
        return [types.TextEdit(range=whole, new_text=text)]

    return server


def serve_stdio() -> None:
    create_server().start_io()
