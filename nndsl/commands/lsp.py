"""`nndsl lsp`: the language server an editor starts (nndsl.lsp; pygls is the `lsp`
extra, imported only when the command runs)."""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable

from nndsl.errors import NNDSLError


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    add(
        "lsp",
        cmd_lsp,
        "a Language Server Protocol server on stdin/stdout, for editors",
        ["nndsl lsp   # started by the editor (editors/ holds a VS Code extension)"],
    )


def cmd_lsp(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pygls") is None:
        raise NNDSLError("nndsl lsp needs pygls", hint="pip install 'nndsl[lsp]'")
    from nndsl.lsp import serve_stdio

    serve_stdio()
    return 0
