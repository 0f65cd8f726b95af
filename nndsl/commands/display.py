"""How the `nndsl` command shows an error or warning on the terminal: rendered
`file:line:col: error: ...`, coloured on a colour terminal (NO_COLOR respected), the
source line highlighted when Pygments is installed."""

from __future__ import annotations

import os
import sys

from nndsl.errors import NNDSLError


def print_error(e: NNDSLError) -> None:
    text = e.render()
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        colour = "1;31" if e.severity == "error" else "1;33"
        text = text.replace(f": {e.severity}: ", f": \033[{colour}m{e.severity}:\033[0m ", 1)
        try:  # the source line in colour, when Pygments is installed
            from nndsl.syntax.lexer import colour_snippet

            text = colour_snippet(text, e.line if e.source else None)
        except ImportError:
            pass
    print(text, file=sys.stderr)
