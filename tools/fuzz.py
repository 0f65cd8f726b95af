"""Fuzz the front end (and the weight loader) for as long as you like.

    python tools/fuzz.py                      # 60 s, every kind of case
    python tools/fuzz.py --seconds 600 --seed 7 --kinds programs
    python tools/fuzz.py --cases 100000 --out fuzz-failures/

Kinds: `mutants` (byte-level mutations of the examples, the valid test programs and the
error corpus), `programs` (sources written from the op and catalog declarations, see
`nndsl.fuzz.program_from_bytes`), `hostile` (huge literals, deep nesting, extreme
numbers and shapes, build-time-only argument errors, control characters, keyword-like
names, a BOM: `nndsl.fuzz.hostile_from_bytes`; small models are built too), `language`
(blocks, `use` of files the case writes beside it or of odd paths, arithmetic, `output`
and per-output train settings: `nndsl.fuzz.language_from_bytes`), `weights`
(byte mutants of real weights, .npz data and checkpoint files) and `files` (every class
of `nndsl.fuzz.hostile_file`: size-lying .npz headers, zip bombs, patched zip headers,
safetensors headers, checkpoint fields, FIFOs and devices, impossible names), both given
to every loader. A source must end in success or a located `NNDSLError`; a file in
success or an `NNDSLError` naming it, within the memory bound of `nndsl.fuzz.check_file`;
a case that takes longer than --timeout seconds counts as a hang; what compiles must
format idempotently to a file that compiles to the same graphs. Reports cases per
second, the distinct error messages seen (and their kinds, with names and numbers
blanked), and every failure (saved under --out). Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nndsl.fuzz import (  # noqa: E402
    FILE_CLASSES,
    FuzzFailure,
    check_bytes,
    check_case,
    check_hostile_file,
    check_source,
    corpus,
    file_seeds,
    hostile_file,
    hostile_from_bytes,
    language_from_bytes,
    message_template,
    mutate,
    program_from_bytes,
)


class Hang(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise Hang()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    ap.add_argument("--cases", type=int, default=0, help="stop after this many cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="mutants,programs,hostile,language,weights,files")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a case hangs")
    ap.add_argument("--out", type=Path, help="save failing cases in this folder")
    args = ap.parse_args(argv)

    kinds = args.kinds.split(",")
    rng = random.Random(args.seed)
    seeds = [data for _, data in corpus(ROOT)]
    scratch = Path(tempfile.mkdtemp(prefix="nndsl-fuzz-"))
    files = file_seeds(scratch / "files") if {"weights", "files"} & set(kinds) else None
    signal.signal(signal.SIGALRM, _on_alarm)

    counts: collections.Counter[str] = collections.Counter()
    messages: set[str] = set()
    templates: collections.Counter[str] = collections.Counter()
    failures: dict[str, tuple[str, bytes | str]] = {}
    started = time.perf_counter()
    n = file_n = 0
    while True:
        elapsed = time.perf_counter() - started
        if (args.cases and n >= args.cases) or (not args.cases and elapsed >= args.seconds):
            break
        kind = kinds[n % len(kinds)]
        n += 1
        case: bytes | str
        if kind in ("weights", "files"):  # check_file times each loader itself
            assert files is not None
            file_kind = "mutant" if kind == "weights" else FILE_CLASSES[file_n % len(FILE_CLASSES)]
            file_n += kind == "files"
            kind = f"{kind}/{file_kind}" if kind == "files" else kind
        else:
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
        used = ""  # a language case's other files, shown with its failure
        try:
            if kind == "mutants":
                case = mutate(rng.choice(seeds), rng)
                message = check_bytes(case)
            elif kind == "programs":
                case = program_from_bytes(rng.randbytes(rng.randint(8, 400)))
                message = check_source(case)
            elif kind == "hostile":
                case = hostile_from_bytes(rng.randbytes(rng.randint(8, 400)))
                message = check_source(case, build=True)
            elif kind == "language":
                made_case = language_from_bytes(rng.randbytes(rng.randint(8, 400)))
                case = made_case.source
                used = f"\n--- files beside it ---\n{made_case.files!r}\n"
                message = check_case(made_case, scratch / "language")
            else:
                made = hostile_file(files, rng.randbytes(64), file_kind)
                case = f"{made.note} at {made.path}"
                message = check_hostile_file(made, files, timeout=args.timeout)
        except FuzzFailure as f:
            last = f.detail.strip().splitlines()[-1] if f.detail.strip() else ""
            key = f"{kind}: {f.reason}: {last.split(':')[0][:80]}"  # one per exception type
            failures.setdefault(key, (used + f.detail, case))
            counts[f"{kind} failed"] += 1
            continue
        except Hang:
            failures.setdefault(f"{kind}: hang (> {args.timeout:g} s)", (used, case))
            counts[f"{kind} failed"] += 1
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        counts[f"{kind} {'refused' if message else 'accepted'}"] += 1
        if message:
            messages.add(f"{kind}: {message}")
            templates[f"{kind}: {message_template(message)}"] += 1

    seconds = time.perf_counter() - started
    print(f"{n:,} cases in {seconds:.1f} s: {n / seconds:,.0f} cases/s (seed {args.seed})")
    for key in sorted(counts):
        print(f"  {key:<24} {counts[key]:>9,}")
    print(f"distinct error messages: {len(messages):,}; kinds of message: {len(templates):,}")
    if failures:
        print(f"FAILURES ({len(failures)} distinct):")
        for i, (key, (detail, case)) in enumerate(sorted(failures.items())):
            print(f"- {key}\n  {detail.strip().splitlines()[-1][:200] if detail.strip() else ''}")
            print(f"  case: {case[:300]!r}")
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                data = case.encode("utf-8") if isinstance(case, str) else case
                (args.out / f"failure-{i}.case").write_bytes(data)
                (args.out / f"failure-{i}.txt").write_text(f"{key}\n\n{detail}\n")
        return 1
    print("no failures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
