"""Backends: each turns an IR graph into an Engine (see nndsl.backends.base).

Looked up by name and imported lazily, so the numpy path never imports torch.
"""

from __future__ import annotations

from typing import Any

from nndsl.errors import NNDSLError

BACKENDS = ("numpy", "torch")


def create_engine(backend: str, graph: Any, **options: Any) -> Any:
    if backend == "numpy":
        from nndsl.backends.numpy.engine import NumpyEngine

        options.pop("device", None)
        options.pop("compile", None)  # nothing to compile: the interpreter runs as is
        if options.pop("mixed_precision", None) not in (None, "none"):
            raise NNDSLError(
                "mixed_precision = bf16 needs the torch backend",
                hint="use --backend torch, or mixed_precision = none",
            )
        return NumpyEngine(graph, **options)
    if backend == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise NNDSLError(
                "the torch backend needs PyTorch: pip install 'nndsl[torch]'"
            ) from None
        from nndsl.backends.torch.engine import TorchEngine

        return TorchEngine(graph, **options)
    raise NNDSLError(f"unknown backend '{backend}'", hint="backends: " + ", ".join(BACKENDS))
