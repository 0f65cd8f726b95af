"""The `nndsl` command: check, summary, graph, fmt, run, evaluate, predict, trace,
boundary."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

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
  nndsl docs --out docs/reference.md        # the language reference
  nndsl fmt --check examples/*.nn
  nndsl trace examples/lecture/perceptron.nn --input "-1, 2" --target 1
"""


def _compile(path: str):
    from nndsl.api import compile_file

    return compile_file(path)


# ------------------------------------------------------------------ front-end commands


def cmd_check(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            program = _compile(path)
            if program.sweep is not None:  # every combination, not only every value
                from nndsl.sweep.trials import check_trials

                check_trials(program)
            for warning in program.warnings:  # printed, never fatal
                _print_error(warning)
        except NNDSLError as e:
            _print_error(e)
            failed += 1
    return 1 if failed else 0


def cmd_summary(args: argparse.Namespace) -> int:
    program = _compile(args.file)
    if program.sweep is not None:
        from nndsl.sweep.trials import sweep_summary

        print(sweep_summary(program, args.model))
        return 0
    print(program.summary(args.model))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    graph = _compile(args.file).model_graph(args.model)
    text = {"text": graph.table, "yaml": graph.to_yaml, "json": graph.to_json, "dot": graph.dot}[
        args.format
    ]()
    print(text.rstrip("\n"))
    return 0


def cmd_fmt(args: argparse.Namespace) -> int:
    from nndsl.files import read_regular
    from nndsl.syntax.format import format_source

    changed = 0
    for path in args.files:
        p = Path(path)
        try:
            source = read_regular(p, ".nn file").decode("utf-8")
        except UnicodeDecodeError as e:
            raise NNDSLError(f"{p} is not UTF-8 text ({e.reason} at byte {e.start})") from None
        formatted = format_source(source, str(p))
        if formatted == source:
            continue
        changed += 1
        if args.check:
            print(f"would reformat {p}", file=sys.stderr)
        else:
            p.write_text(formatted, encoding="utf-8")
            print(f"reformatted {p}", file=sys.stderr)
    return 1 if (args.check and changed) else 0


def cmd_docs(args: argparse.Namespace) -> int:
    from nndsl.docs import reference

    text = reference()
    if args.out:
        from nndsl.files import atomic_write_text

        atomic_write_text(args.out, text)
    else:
        print(text, end="")
    return 0


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

    p = add(
        "check",
        cmd_check,
        "check .nn files; silent on success, exit 1 on any error",
        ["nndsl check examples/*.nn", "nndsl check model.nn && nndsl run model.nn"],
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".nn files to check")

    p = add(
        "summary",
        cmd_summary,
        "print a model's layers, output shapes and parameters",
        "nndsl summary examples/digits.nn",
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    p.add_argument("--model", help="which model of the file (default: the trained one)")

    p = add(
        "graph",
        cmd_graph,
        "print the compiled graph (IR)",
        "nndsl graph examples/residual.nn --format yaml",
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    p.add_argument(
        "--format",
        choices=["text", "yaml", "json", "dot"],
        default="text",
        help="a table (text), YAML or JSON (what the backends read), or Graphviz dot",
    )
    p.add_argument("--model", help="which model of the file (default: the trained one)")

    p = add(
        "fmt",
        cmd_fmt,
        "rewrite .nn files in the canonical layout (comments kept)",
        ["nndsl fmt --check examples/*.nn", "nndsl fmt model.nn"],
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".nn files to rewrite in place")
    p.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file is not formatted"
    )

    p = add(
        "docs",
        cmd_docs,
        "print the language reference generated from the declarations",
        "nndsl docs --out docs/reference.md",
    )
    p.add_argument("--out", metavar="PATH", help="write to a file instead of standard output")

    _add_training_commands(add)
    return parser


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
    from nndsl.commands.lecture import add_commands as add_lecture

    add_lecture(add)


# ------------------------------------------------------------------ entry point


def _print_error(e: NNDSLError) -> None:
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
