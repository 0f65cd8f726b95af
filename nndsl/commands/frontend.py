"""The front end's commands: `nndsl check`, `summary`, `graph`, `fmt` and `docs`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nndsl.api import compile_file
from nndsl.commands.display import print_error
from nndsl.docs import reference
from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_text, read_regular
from nndsl.sweep.trials import check_trials, sweep_summary
from nndsl.syntax.format import format_source


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
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


def _compile(path: str):
    return compile_file(path)


# ------------------------------------------------------------------ front-end commands


def cmd_check(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            program = _compile(path)
            if program.sweep is not None:  # every combination, not only every value
                check_trials(program)
            for warning in program.warnings:  # printed, never fatal
                print_error(warning)
        except NNDSLError as e:
            print_error(e)
            failed += 1
    return 1 if failed else 0


def cmd_summary(args: argparse.Namespace) -> int:
    program = _compile(args.file)
    if program.sweep is not None:
        print(sweep_summary(program, args.model))
        return 0
    print(program.summary(args.model))
    plan = program.plan_for(program.model_graph(args.model).name)
    if plan is not None and plan.discriminator is not None:  # a GAN: its other model
        print(f"\ntrained as a GAN against '{plan.discriminator}':")
        print(program.summary(plan.discriminator))
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    graph = _compile(args.file).model_graph(args.model)
    text = {"text": graph.table, "yaml": graph.to_yaml, "json": graph.to_json, "dot": graph.dot}[
        args.format
    ]()
    print(text.rstrip("\n"))
    return 0


def cmd_fmt(args: argparse.Namespace) -> int:
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
    text = reference()
    if args.out:
        atomic_write_text(args.out, text)
    else:
        print(text, end="")
    return 0
