"""`nndsl lr-find FILE`: the learning-rate range test on the file's model, optimizer,
batch size and training data, with a plot of loss against learning rate and a suggested
rate (nndsl.lrfind)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nndsl import lrfind
from nndsl.api import compile_file
from nndsl.commands.run import add_backend_options, add_set_option
from nndsl.run import build_model


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "lr-find",
        cmd_lr_find,
        "sweep the learning rate over a few hundred mini-batch steps and suggest one",
        [
            "nndsl lr-find examples/digits.nn --min 1e-6 --max 1 --out lr.png",
            "nndsl lr-find examples/xor.nn --set optimizer=sgd(momentum=0.9) --steps 300",
        ],
    )
    p.add_argument("file", metavar="FILE", help="the .nn file (its optimizer, batch size, data)")
    p.add_argument("--min", dest="min_lr", type=float, default=1e-7, help="first rate (1e-7)")
    p.add_argument("--max", dest="max_lr", type=float, default=10.0, help="last rate (10)")
    p.add_argument("--steps", type=int, default=200, help="mini-batch steps (200)")
    p.add_argument(
        "--out", metavar="PNG", help="the plot (default: MODEL-lr-find.png in this folder)"
    )
    add_backend_options(p)
    p.add_argument("--seed", type=int, help="override the train block's seed")
    add_set_option(p)


def cmd_lr_find(args: argparse.Namespace) -> int:
    program = compile_file(args.file, overrides=list(args.sets))
    note = None
    if program.sweep is not None:
        note = (
            f"a sweep file: the range test runs on its first trial ({program.trials[0].describe()})"
        )
        program = program.trials[0].program
    model = build_model(program, args.backend, args.device, args.model, args.seed)
    model.refuse_gan("lr-find")
    if note:
        print(note, file=sys.stderr)
    finding = lrfind.lr_find(model, min_lr=args.min_lr, max_lr=args.max_lr, steps=args.steps)
    out = Path(args.out) if args.out else Path(f"{model.graph.name}-lr-find.png")
    optimizer = model.plan.optimizer.name
    plot_note = lrfind.plot_finding(finding, out, title=f"{model.graph.name}: {optimizer}")
    print(lrfind.report(finding, optimizer))
    print(plot_note or f"plot: {out}", file=sys.stderr)
    return 0
