"""`nndsl export FILE|RUN_DIR --to onnx|torchscript`: the trained model, ready to serve
(nndsl.backends.torch.export writes it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nndsl.api import compile_file
from nndsl.backends.torch.export import SUFFIXES, export_model
from nndsl.errors import NNDSLError
from nndsl.runfolder import compile_run_source, open_model_ref


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "export",
        cmd_export,
        "write a model with its trained weights as ONNX or TorchScript",
        [
            "nndsl export runs/digits --to onnx                # a run folder: its weights",
            "nndsl export examples/digits.nn --weights runs/digits/weights.npz --to onnx",
        ],
    )
    p.add_argument("file", metavar="FILE", help="the .nn file, or a run folder")
    p.add_argument(
        "--weights", metavar="W", help="weights saved by a run (default: the run folder's)"
    )
    p.add_argument("--to", required=True, choices=list(SUFFIXES), help="format to write")
    p.add_argument("--out", metavar="PATH", help="file to write (default: W with .onnx/.pt)")
    p.add_argument("--model", help="which model of the file (default: the trained one)")


def cmd_export(args: argparse.Namespace) -> int:
    ref = open_model_ref(args.file, args.weights)
    if ref.weights is None:
        raise NNDSLError(
            "nndsl export needs trained weights: --weights W, or a run folder as FILE",
            hint="train first: nndsl run FILE --out RUN, then nndsl export RUN --to onnx",
        )
    program = compile_run_source(ref) if ref.run is not None else compile_file(ref.source)
    model = program.build(backend="torch", device="cpu", model=args.model).load(ref.weights)
    out = Path(args.out) if args.out else Path(ref.weights).with_suffix(SUFFIXES[args.to])
    export_model(model, args.to, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0
