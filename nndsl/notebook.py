"""nndsl in IPython and Jupyter: `%load_ext nndsl`, then a cell that starts with
`%%nndsl NAME` is compiled as a `.nn` file and the Program bound to NAME (shown as its
layer tables). A mistake shows as `nndsl check` shows it, file:line:col with the line
and a caret, and stops the run of cells without a Python traceback.

    %%nndsl xor --set epochs=100
    model xor { input(2) ... }

Data paths in the cell are relative to the notebook's working folder.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class

from nndsl.api import compile_string
from nndsl.errors import NNDSLError


@magics_class
class NNDSLMagics(Magics):
    @cell_magic
    def nndsl(self, line: str, cell: str) -> Any:
        """%%nndsl NAME [--set KEY=VALUE ...]: compile the cell; bind the Program to NAME."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%%nndsl {line}: {e}") from None
        if not words or not words[0].isidentifier():
            raise UsageError("%%nndsl NAME [--set KEY=VALUE ...]: give a Python name to bind")
        name, rest, sets = words[0], words[1:], []
        while rest:
            if rest[0] != "--set" or len(rest) < 2:
                raise UsageError(f"%%nndsl: unexpected {rest[0]!r} (only --set KEY=VALUE)")
            sets.append(rest[1])
            rest = rest[2:]
        try:
            program = compile_string(cell, f"<cell {name}>", sets)
        except NNDSLError as e:
            raise UsageError(e.render()) from None  # shown without a traceback
        self.shell.user_ns[name] = program
        return program


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(NNDSLMagics)
