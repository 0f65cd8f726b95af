"""Fuzz the front end (and the weight loader) for as long as you like.

    python tools/fuzz.py                      # 60 s, every kind of case
    python tools/fuzz.py --seconds 600 --seed 7 --kinds programs
    python tools/fuzz.py --cases 100000 --out fuzz-failures/

Kinds: `mutants` (byte-level mutations of the examples, the valid test programs and the
error corpus), `programs` (sources written from the op and catalog declarations, see
`nndsl.fuzz.program_from_bytes`), `hostile` (huge literals, deep nesting, extreme
numbers and shapes, build-time-only argument errors, control characters, keyword-like
names, a BOM: `nndsl.fuzz.hostile_from_bytes`; small models are built too), `weights`
(damaged weight files). Each case must end
in success or a located `NNDSLError`; a case that takes longer than --timeout seconds
counts as a hang. Reports cases per second, the distinct error messages seen (and their
kinds, with names and numbers blanked), and every failure (saved under --out). Exit
status 1 when anything failed.
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
    FuzzFailure,
    check_bytes,
    check_source,
    check_weights_file,
    corpus,
    hostile_from_bytes,
    message_template,
    mutate,
    program_from_bytes,
)


class Hang(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise Hang()


def _weights_seeds(folder: Path) -> tuple[object, list[bytes]]:
    """A small trained-shape model and its weights saved as .npz and .safetensors."""
    import nndsl

    program = nndsl.compile_string(
        "model m {\n input(3)\n dense(4, activation=relu)\n dense(2)\n}\ntrain m { loss = mse }\n"
    )
    model = program.build(seed=0)
    seeds = []
    for suffix in (".npz", ".safetensors"):
        path = folder / f"seed{suffix}"
        try:
            model.save(path)
        except Exception:  # safetensors not installed
            continue
        seeds.append(path.read_bytes())
    return model, seeds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    ap.add_argument("--cases", type=int, default=0, help="stop after this many cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="mutants,programs,hostile,weights")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a case hangs")
    ap.add_argument("--out", type=Path, help="save failing cases in this folder")
    args = ap.parse_args(argv)

    kinds = args.kinds.split(",")
    rng = random.Random(args.seed)
    seeds = [data for _, data in corpus(ROOT)]
    scratch = Path(tempfile.mkdtemp(prefix="nndsl-fuzz-"))
    model, weight_seeds = _weights_seeds(scratch) if "weights" in kinds else (None, [])
    if not weight_seeds and "weights" in kinds:
        kinds.remove("weights")
    signal.signal(signal.SIGALRM, _on_alarm)

    counts: collections.Counter[str] = collections.Counter()
    messages: set[str] = set()
    templates: collections.Counter[str] = collections.Counter()
    failures: dict[str, tuple[str, bytes | str]] = {}
    started = time.perf_counter()
    n = 0
    while True:
        elapsed = time.perf_counter() - started
        if (args.cases and n >= args.cases) or (not args.cases and elapsed >= args.seconds):
            break
        kind = kinds[n % len(kinds)]
        n += 1
        case: bytes | str
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
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
            else:
                case = mutate(rng.choice(weight_seeds), rng)
                path = scratch / "case.weights"
                path.write_bytes(case)
                message = check_weights_file(path, model)
        except FuzzFailure as f:
            last = f.detail.strip().splitlines()[-1] if f.detail.strip() else ""
            key = f"{kind}: {f.reason}: {last.split(':')[0][:80]}"  # one per exception type
            failures.setdefault(key, (f.detail, case))
            counts[f"{kind} failed"] += 1
            continue
        except Hang:
            failures.setdefault(f"{kind}: hang (> {args.timeout:g} s)", ("", case))
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
