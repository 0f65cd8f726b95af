"""`nndsl report RUN_DIR`: one self-contained HTML page about a run or sweep folder
(nndsl.report builds it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nndsl.files import atomic_write_text
from nndsl.report import report_html


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "report",
        cmd_report,
        "write one self-contained HTML page about a run (or sweep) folder",
        [
            "nndsl report runs/will_i_pass-20250101-120000 --out report.html",
            "nndsl report runs/xor-sweep-20250101-120000   # a sweep: ranked trials, the best",
        ],
    )
    p.add_argument("folder", metavar="RUN_DIR", help="a run folder, or a sweep folder")
    p.add_argument("--out", metavar="HTML", help="where to write it (default: RUN_DIR/report.html)")


def cmd_report(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    page = report_html(folder)
    out = Path(args.out) if args.out else folder / "report.html"
    atomic_write_text(out, page)  # with the user's umask, like any new file
    print(f"wrote {out}", file=sys.stderr)
    return 0
