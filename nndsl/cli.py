"""The `nndsl` command: check, summary, graph, fmt, run, evaluate, predict, generate,
sample, encode, trace, boundary."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from nndsl.errors import NNDSLError, NNDSLWarning

# Only the standard library and nndsl.errors above: everything else (NumPy, the parser,
# the commands) loads inside main(), where a Ctrl-C during start-up is caught like any
# other, instead of a traceback from the middle of an import.

EPILOG = """\
examples:
  nndsl check examples/*.nn              # silent when every file is fine
  nndsl summary examples/digits.nn       # layers, shapes and parameter counts
  nndsl run examples/will_i_pass.nn      # train; writes a run folder under runs/
  nndsl run examples/digits.nn --epochs 5 --set optimizer=sgd(lr=0.1)
  nndsl graph examples/residual.nn --format dot | dot -Tpng > graph.png
  nndsl run sweep.nn --jobs 4               # lists in the file: train every combination
  nndsl lr-find examples/digits.nn          # loss against learning rate; a suggestion
  nndsl report runs/digits-20250101-120000  # one HTML page about a run folder
  nndsl compare runs/a runs/b --out ab.png  # two runs' curves overlaid, a table
  nndsl serve runs/churn-20250101-120000    # POST /predict rows as JSON, by column name
  nndsl generate runs/char_lm --prompt "ROMEO:" --tokens 200 --temperature 0.8
  nndsl sample runs/ring_gan --n 2000 --out ring.png   # a GAN's or a VAE's new samples
  nndsl encode runs/digits_vae --data digits.csv --out codes.csv
  nndsl docs --out docs/reference.md        # the language reference
  nndsl fmt --check examples/*.nn
  nndsl trace examples/lecture/perceptron.nn --input "-1, 2" --target 1
"""


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    from nndsl import __version__

    parser = argparse.ArgumentParser(
        prog="nndsl",
        description="Describe, check and train neural networks from a readable .nn file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nndsl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str, func: Callable, help: str, example: str | list[str]
    ) -> argparse.ArgumentParser:
        examples = [example] if isinstance(example, str) else list(example)
        p = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=("examples:" if len(examples) > 1 else "example:")
            + "".join(f"\n  {e}" for e in examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    _add_front_end_commands(add)
    _add_training_commands(add)
    return parser


def _add_front_end_commands(add: Callable) -> None:
    from nndsl.commands.frontend import add_commands

    add_commands(add)
    from nndsl.commands.lsp import add_command as add_lsp

    add_lsp(add)


def _add_training_commands(add: Callable) -> None:
    try:
        from nndsl.commands.run import add_commands
    except ImportError:  # the trainer is not part of this build
        return
    add_commands(add)
    from nndsl.commands.export import add_command as add_export  # imports no torch

    add_export(add)
    from nndsl.commands.lrfind import add_command as add_lr_find

    add_lr_find(add)
    from nndsl.commands.report import add_command as add_report

    add_report(add)
    from nndsl.commands.compare import add_command as add_compare

    add_compare(add)
    from nndsl.commands.serve import add_command as add_serve

    add_serve(add)
    from nndsl.commands.generate import add_command as add_generate

    add_generate(add)
    from nndsl.commands.generative import add_commands as add_generative

    add_generative(add)
    from nndsl.commands.lecture import add_commands as add_lecture

    add_lecture(add)
    from nndsl.commands.play import add_command as add_play

    add_play(add)


# ------------------------------------------------------------------ entry point


def _print_error(e: NNDSLError) -> None:
    from nndsl.commands.display import print_error

    print_error(e)


def _run_command(args: argparse.Namespace) -> int | None:
    """Run a command; nndsl's warnings (`NNDSLWarning`, e.g. from fit) print like errors,
    or not at all with --quiet."""
    with warnings.catch_warnings():
        if getattr(args, "quiet", False):
            warnings.simplefilter("ignore", NNDSLWarning)
            return args.func(args)
        warnings.simplefilter("always", NNDSLWarning)
        show = warnings.showwarning

        def show_nndsl(message, category, *rest, **kwargs):
            if isinstance(message, NNDSLWarning):
                _print_error(message)
            else:
                show(message, category, *rest, **kwargs)

        warnings.showwarning = show_nndsl
        return args.func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """The `nndsl` command; its exit status. Interrupted at any moment (Ctrl-C, or
    SIGTERM while training), it ends with one line and 130, never a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        interrupted()
        return 130


def interrupted() -> None:
    try:
        print("nndsl: interrupted", file=sys.stderr)
    except KeyboardInterrupt:  # a second Ctrl-C while saying so
        pass


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to relaunch (run --nproc)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(_run_command(args) or 0)
    except NNDSLError as e:
        _print_error(e)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
