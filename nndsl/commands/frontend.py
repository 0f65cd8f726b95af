"""The front end's commands: `nndsl check`, `summary`, `graph`, `fmt` and `docs`."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from nndsl.api import Program, compile_file
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
    p.add_argument(
        "--data",
        action="store_true",
        help="also read each train block's data and print its columns' types and widths",
    )

    p = add(
        "summary",
        cmd_summary,
        "print a model's layers, output shapes and parameters",
        "nndsl summary examples/digits.nn",
    )
    p.add_argument("file", metavar="FILE", help="the .nn file")
    p.add_argument("--model", help="which model of the file (default: the trained one)")
    p.add_argument(
        "--data",
        action="store_true",
        help="also read the train block's data: each column's type, width and encoding",
    )

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
            if args.data:
                for plan in program.plans:
                    if plan.data is not None:
                        print(data_report(program, plan.model))
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
    if args.data and plan is not None and plan.data is not None:
        print("\n" + data_report(program, plan.model))
    return 0


def data_report(program: Program, model: str) -> str:
    """Where a model's inputs come from: each feature column, its type, how many input
    values it becomes and how (fitted on the training split), and the splits' sizes."""
    built = program.build(model=model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = built.load_data()
    sizes = ", ".join(
        f"{len(part)} {name}"
        for name, part in (
            ("train", splits.train),
            ("validation", splits.validation),
            ("test", splits.test),
        )
        if part is not None
    )
    lines = [f"data of '{model}': {sizes} rows"]
    prep = built.preprocessing
    if prep is not None:
        rows = [("column", "type", "width", "encoding (fitted on the training split)")]
        rows += [(name, kind, str(width), how) for name, kind, width, how in prep.describe()]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
        lines.append(f"  input width {prep.width}")
    else:
        names = splits.feature_names or []
        shape = tuple(splits.train.x.shape[1:])
        lines.append(
            f"  {len(names) or shape} numeric feature(s), as is"
            + (f": {', '.join(names[:12])}" + (", ..." if len(names) > 12 else "") if names else "")
        )
    if splits.target_names:
        lines.append(f"  target: {', '.join(splits.target_names)}")
    if splits.class_names:
        lines.append(f"  classes: {', '.join(splits.class_names)}")
    lines += [f"  note: {w.message}" for w in caught]
    lines += [f"  note: {note}" for note in built._data_notes]
    return "\n".join(lines)


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
