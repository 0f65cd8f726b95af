"""A trained model as ONNX or TorchScript, to serve without nndsl (`nndsl export`'s
command line: nndsl.commands.export).

The exported model is what `nndsl predict` computes: the input standardization the
model was trained with (if any), the network, its output activation. It takes one
tensor per input (named after the input layers, any batch size) and returns the
outputs. Importing this module does not import torch.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_by_name

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}


def export_model(model: Any, to: str, path: str | Path) -> None:
    """Write `model` (an nndsl Model on the torch backend) to `path` as `to`."""
    import torch

    module = servable(model)
    dtype = getattr(torch, model.engine.dtype)
    inputs = model.engine.full_graph.inputs
    examples = tuple(torch.zeros(2, *node.shape, dtype=dtype) for node in inputs)
    if to not in SUFFIXES:
        raise NNDSLError(f"cannot export to '{to}'", hint="one of: " + ", ".join(SUFFIXES))
    with warnings.catch_warnings():  # torch's notes on its own deprecations
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if to == "torchscript":
            traced = torch.jit.trace(module, examples)
            atomic_write_by_name(path, lambda tmp: torch.jit.save(traced, tmp))
        else:
            atomic_write_by_name(
                path, lambda tmp: _onnx(module, examples, [n.name for n in inputs], tmp)
            )


def servable(model: Any) -> Any:
    """The model as one `nn.Module` in evaluation mode, input scaling included."""
    import torch

    module = model.torch_module().eval()
    if not model.scaler:
        return module
    mean = torch.tensor(model.scaler["mean"], dtype=getattr(torch, model.engine.dtype))
    std = torch.tensor(model.scaler["std"], dtype=mean.dtype)
    # the data's scaling: on the inputs, and undone on what is data again (an
    # autoencoder's reconstructions, a GAN's samples; a GAN's inputs are noise)
    inputs, outputs = not model.is_gan, model.is_gan or model.reconstructs
    return standardized_class()(module, mean, std, inputs, outputs).eval()


def _onnx(module: Any, examples: tuple, names: list[str], path: str) -> None:
    import logging

    import torch

    try:
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise NNDSLError("exporting to ONNX needs: pip install onnx onnxscript") from None
    batch = torch.export.Dim("batch")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # no notes on torchvision ops
    program = torch.onnx.export(
        module,
        examples,
        dynamo=True,
        verbose=False,
        input_names=names,
        output_names=["output"],
        dynamic_shapes=tuple({0: batch} for _ in examples),
    )
    program.save(path)


@functools.cache
def standardized_class() -> type:
    """The module class that scales inputs first (defined on use: importing needs no torch)."""
    import torch

    class Standardized(torch.nn.Module):
        """(x - mean) / std, then the model: inputs as raw as `nndsl predict` takes them;
        outputs in the data's units (out * std + mean) where they are data."""

        def __init__(
            self,
            model: torch.nn.Module,
            mean: torch.Tensor,
            std: torch.Tensor,
            inputs: bool = True,
            outputs: bool = False,
        ):
            super().__init__()
            self.model = model
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)
            self.inputs, self.outputs = inputs, outputs

        def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
            # a second input: a conditional GAN's class (named arguments: torch.export
            # takes no *args)
            if self.inputs:
                x = (x - self.mean) / self.std
            out = self.model(x) if label is None else self.model(x, label)
            return out * self.std + self.mean if self.outputs else out

    return Standardized
