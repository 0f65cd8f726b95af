"""nndsl: describe, check and train neural networks from a readable `.nn` file.

    import nndsl
    program = nndsl.compile_file("will_i_pass.nn")
    model = program.build(backend="numpy", seed=0)
    history = model.fit(x, y, epochs=50)

Importing nndsl is cheap: the parser, backends and torch load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nndsl.errors import NNDSLError, NNDSLWarning

__version__ = "0.1.0"
__all__ = [
    "NNDSLError",
    "NNDSLWarning",
    "Program",
    "compile_file",
    "compile_string",
    "load",
    "__version__",
]

if TYPE_CHECKING:
    from nndsl.api import Program, compile_file, compile_string, load


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nndsl` in IPython or Jupyter: the `%%nndsl NAME` cell magic."""
    from nndsl.notebook import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    # Lazy: `import nndsl` must stay fast and must never import torch.
    if name in ("Program", "compile_file", "compile_string", "load"):
        from nndsl import api

        return getattr(api, name)
    raise AttributeError(f"module 'nndsl' has no attribute {name!r}")
