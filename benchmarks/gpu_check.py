"""The GPU check of issue 18: the torch backend on a CUDA GPU, in one run (under 8 minutes).

1. tests: the torch backend's agreement tests (every op and loss against the NumPy
   backend, the fused modules against their compositions, the primitives) on the device,
   tests written for float64 in float32 at float32 tolerances (NNDSL_TEST_DEVICE,
   NNDSL_TEST_DTYPE: tests/backends/torch/conftest.py);
2. examples: `nndsl run FILE --backend torch --device D --epochs 1` for every
   examples/**/*.nn, each in its own process (a CUDA error in one cannot spoil the
   others), pass or fail and seconds;
3. bench: training samples/s of the torch backend beside a hand-written PyTorch loop of
   the same model (benchmarks/_reference.py's hand_epoch: eager, fused Adam), float32 and
   bf16 autocast: B1 (784-256-128-10 MLP, bench_torch.py), CNN (bench_layers.py's C1 on
   28x28x1, nn.Conv2d on NCHW by hand), LSTM (lstm(64) over 50 steps of 32 features,
   batch 64, then dense(10); nn.LSTM by hand) and the transformer (bench_attention_gpu.py).
   ratio = nndsl's time per epoch / the hand loop's (issue 18's target on a GPU: B1 <=
   1.10).

The report (tests' summary, the examples' table, the benchmark table) is printed and
written to OUT/gpu_check.md, with the tests' log (gpu_check_tests.log) and the failing
examples' output (gpu_check_examples.log) beside it; OUT is --out, else $OUT (the device
tool's folder that comes back), else runs/gpu_check; the report is rewritten after each
part and each benchmark, so a run stopped from outside still leaves what it measured.
Examples and benchmarks not begun within --budget seconds (450) are listed as not run.
Exit status 0 when every test, example and benchmark passed or ran, 1 otherwise, 2 when
the device is missing.

Run it through benchmarks/gpu_check.sh, which installs lark from carried wheels where it
is missing (a device machine has no internet); see that file's header.

    benchmarks/gpu_check.sh                          # on a CUDA machine: everything
    benchmarks/gpu_check.sh --device cpu --quick     # proves it runs (a few minutes)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _reference import hand_epoch, training_rates  # noqa: E402  (torch imported lazily)

TESTS = [
    f"tests/backends/torch/test_torch_{name}.py"
    for name in ("agreement", "layers", "composed", "attention", "primitives", "recurrent")
]
BENCHMARKS = ("B1", "CNN", "LSTM", "transformer")
DTYPES = ("float32", "bf16")
CARRY = """on a device machine (no internet, no lark): here, once,
  benchmarks/gpu_check.sh --wheels      # lark's wheel into .whl/ (ignored by git)
then run the check there with carry [".whl"]:
  run(command="benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=600)
the report comes back as $OUT/gpu_check.md (with the tests' and failing examples' logs)"""


@dataclass
class Sizes:
    """Samples and rounds of each benchmark: full on a GPU, a few steps with --quick."""

    b1: int  # samples of B1 (batch 128)
    layers: int  # samples of the CNN and the LSTM (batch 64)
    steps: int  # steps of the transformer
    batch: int  # the transformer's batch
    rounds: int


FULL = Sizes(b1=60_000, layers=64 * 100, steps=50, batch=32, rounds=5)
QUICK = Sizes(b1=128 * 8, layers=64 * 3, steps=2, batch=4, rounds=1)


def child_env(device: str) -> dict[str, str]:
    """The environment of a child process: this checkout importable, plots headless,
    the agreement tests on `device` in float32."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
        NNDSL_TEST_DEVICE=device,
        NNDSL_TEST_DTYPE="float32",
    )
    return env


def say(line: str) -> None:
    print(line, flush=True)


# ------------------------------------------------------------------ 1. tests


def run_tests(device: str, files: list[str], out: Path, timeout: float) -> tuple[str, bool]:
    """(summary line, passed) of pytest over `files`, its log written to out."""
    command = [sys.executable, "-m", "pytest", *files, "-p", "no:cacheprovider", "-rfE"]
    command += ["--tb=short", "-o", "addopts="]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=child_env(device),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        log, rc = done.stdout + done.stderr, done.returncode
        last = done.stdout.strip().splitlines()[-1:]  # pytest's "N passed, M skipped in T"
    except subprocess.TimeoutExpired as stopped:  # its output is bytes, whatever `text`
        log, rc, last = (
            f"{(stopped.stdout or b'').decode()}\nstopped after {timeout:.0f} s",
            None,
            [],
        )
    (out / "gpu_check_tests.log").write_text(log)
    counts = re.findall(r"(\d+) (passed|failed|skipped|errors?)", "".join(last))
    summary = ", ".join(f"{n} {what}" for n, what in counts) or "no summary (see the log)"
    took = time.perf_counter() - start
    if rc is None:
        summary = f"timed out after {timeout:.0f} s"
    return f"{summary} in {took:.1f} s", rc == 0


# ------------------------------------------------------------------ 2. examples


@dataclass
class Example:
    path: str
    ok: bool
    seconds: float
    why: str = ""


def run_example(
    path: Path, device: str, folder: Path, timeout: float, deadline: float
) -> tuple[Example, str]:
    """One `nndsl run` of `path` for one epoch in its own process, and its output."""
    name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    if time.perf_counter() > deadline:
        return Example(name, False, 0.0, "not run: past --budget"), ""
    out = folder / name.strip("/").replace("/", "_").removesuffix(".nn")
    command = [sys.executable, "-m", "nndsl", "run", str(path), "--backend", "torch"]
    command += ["--device", device, "--epochs", "1", "--out", str(out), "--quiet"]
    start = time.perf_counter()
    try:
        env = child_env(device)
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        text = (done.stdout + done.stderr).strip()
        wrote = (out / "config.yaml").exists() or (out / "sweep.csv").exists()  # a sweep's
        if done.returncode == 0 and wrote:
            why = ""
        else:
            lines = text.splitlines() or [f"exit {done.returncode}, no run folder"]
            errors = [line for line in lines if "error:" in line]  # nndsl's own message
            why = (errors or lines)[-1][:120]
    except subprocess.TimeoutExpired:
        text, why = "", f"over {timeout:.0f} s"
    example = Example(name, not why, time.perf_counter() - start, why)
    say(f"   {'pass' if example.ok else 'FAIL'} {example.seconds:6.1f} s  {name}  {why}")
    return example, text


def run_examples(
    device: str, paths: list[Path], jobs: int, out: Path, timeout: float, deadline: float
) -> list[Example]:
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as folder:
        with ThreadPoolExecutor(jobs) as pool:  # the work is in the child processes
            done = list(
                pool.map(lambda p: run_example(p, device, Path(folder), timeout, deadline), paths)
            )
    failures = [f"== {e.path}\n{text}\n" for e, text in done if not e.ok]
    (out / "gpu_check_examples.log").write_text("\n".join(failures) or "every example ran\n")
    return [e for e, _ in done]


# ------------------------------------------------------------------ 3. benchmarks


def _layer_rates(source: str, hand_model, shape, n: int, device: str, bf16: bool, rounds: int):
    """Samples/s of bench_layers.py's model `source` (sparse cross-entropy over 10
    classes, batch 64) and of `hand_model`, which reads NCHW where the data are images."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    import nndsl

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    y = rng.integers(0, 10, n)
    mixed = "bf16" if bf16 else "none"
    program = nndsl.compile_string(source)
    engine = program.build(backend="torch", device=device, seed=0, mixed_precision=mixed).engine
    tx = torch.from_numpy(x).to(device)
    if len(shape) == 3:  # images: channels first, as one writes nn.Conv2d
        tx = tx.permute(0, 3, 1, 2).contiguous()
    hand = hand_epoch(hand_model, F.cross_entropy, device, bf16)
    return training_rates(engine, hand, x, y, (tx, torch.from_numpy(y).to(device)), 64, rounds)


def benchmark(name: str, device: str, bf16: bool, sizes: Sizes) -> dict[str, float]:
    """{contender: samples/s} of benchmark `name`."""
    import bench_attention_gpu  # the benchmark files import nndsl and torch
    import bench_layers
    import bench_torch
    import torch

    torch.manual_seed(0)  # the hand-written models' initial weights
    rounds = sizes.rounds
    if name == "B1":
        return bench_torch.measure([784, 256, 128, 10], sizes.b1, 128, rounds, False, device, bf16)
    if name == "CNN":
        model, source, shape = bench_layers.plain_cnn(), bench_layers.CNN, (28, 28, 1)
    elif name == "LSTM":
        model, source, shape = bench_layers.LastStep(), bench_layers.LSTM, (50, 32)
    else:
        return bench_attention_gpu.measure(
            torch.device(device), bf16, sizes.steps, sizes.batch, rounds
        )
    return _layer_rates(source, model, shape, sizes.layers, device, bf16, rounds)


@dataclass
class Row:
    benchmark: str
    dtype: str
    nndsl: float = 0.0
    hand: float = 0.0
    error: str = ""

    @property
    def ratio(self) -> float:
        return self.hand / self.nndsl


def run_benchmarks(
    device: str,
    names: list[str],
    dtypes: list[str],
    sizes: Sizes,
    deadline: float,
    done: Callable[[list[Row]], None],
) -> list[Row]:
    """One row per benchmark and dtype; `done`(rows so far) after each."""
    rows: list[Row] = []
    for name in names:
        for dtype in dtypes:
            row = Row(name, dtype)
            if time.perf_counter() > deadline:
                row.error = "not run: past --budget"
                rows.append(row)
                continue
            try:
                rates = benchmark(name, device, dtype == "bf16", sizes)
                row.nndsl, row.hand = rates["nndsl torch"], rates["hand-written torch"]
                rates = f"nndsl {row.nndsl:12,.0f}  hand {row.hand:12,.0f}  samples/s"
                say(f"   {name:12} {dtype:8} {rates}  ratio {row.ratio:5.2f}")
            except Exception as error:  # one broken benchmark leaves the others' rows
                row.error = f"{type(error).__name__}: {error}".splitlines()[0][:100]
                say(f"   {name:12} {dtype:8} failed: {row.error}")
            rows.append(row)
            done(rows)
    return rows


# ------------------------------------------------------------------ the report


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table, columns padded to their widest cell."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def bench_table(rows: list[Row]) -> list[str]:
    cells = [
        [r.benchmark, r.dtype, "-", "-", r.error]
        if r.error
        else [r.benchmark, r.dtype, f"{r.nndsl:,.0f}", f"{r.hand:,.0f}", f"{r.ratio:.2f}"]
        for r in rows
    ]
    head = ["benchmark", "dtype", "nndsl samples/s", "hand-written samples/s", "ratio"]
    return table(head, cells)


def machine(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        where = f"{torch.cuda.get_device_name(torch.device(device))}, CUDA {torch.version.cuda}"
    else:
        where = f"CPU, {torch.get_num_threads()} torch threads"
    return f"{device} ({where}), torch {torch.__version__}, Python {sys.version.split()[0]}"


# ------------------------------------------------------------------ main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog=CARRY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument(
        "--quick", action="store_true", help="a few steps per benchmark (a CPU's proof run)"
    )
    parser.add_argument(
        "--out", type=Path, help="report folder (default $OUT, else runs/gpu_check)"
    )
    parser.add_argument(
        "--only",
        default="tests,examples,bench",
        help="which parts, comma-separated: tests, examples, bench (default all)",
    )
    parser.add_argument(
        "--bench", default=",".join(BENCHMARKS), help=f"benchmarks (default {','.join(BENCHMARKS)})"
    )
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="float32, bf16 (default both)")
    parser.add_argument(
        "--examples", nargs="+", type=Path, help="the .nn files (default examples/**/*.nn)"
    )
    parser.add_argument(
        "--tests", nargs="+", help="test files or ids (default the agreement tests)"
    )
    parser.add_argument("--jobs", type=int, default=4, help="examples trained at once (default 4)")
    parser.add_argument(
        "--timeout", type=float, default=180, help="seconds for one example (default 180)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=450,
        help="seconds in all: examples and benchmarks not begun by then are not run (450)",
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.examples or () if not p.is_file()]
    if missing:
        parser.error(f"--examples: no such file {', '.join(missing)}")
    args.only = set(args.only.split(","))
    args.bench = args.bench.split(",")
    args.dtypes = args.dtypes.split(",")
    for given, known, what in (
        (args.only, ("tests", "examples", "bench"), "--only"),
        (args.bench, BENCHMARKS, "--bench"),
        (args.dtypes, DTYPES, "--dtypes"),
    ):
        unknown = set(given) - set(known)
        if unknown:
            parser.error(
                f"{what}: unknown {', '.join(sorted(unknown))} (known: {', '.join(known)})"
            )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        say(
            "gpu_check: PyTorch sees no CUDA GPU here; for a proof run: --device cpu --quick"
            f"\n\n{CARRY}"
        )
        return 2
    out = args.out or Path(os.environ.get("OUT") or ROOT / "runs" / "gpu_check")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    deadline = start + args.budget
    report = [f"# nndsl GPU check: {machine(args.device)}", ""]
    ok = True

    def save(ending: str) -> None:
        """The report so far, so that a run stopped from outside still brings it back."""
        (out / "gpu_check.md").write_text("\n".join([*report, ending]) + "\n")

    say(report[0])
    save("(running)")
    if "tests" in args.only:
        say("\n1. agreement tests (float32) ...")
        timeout = max(30.0, min(300.0, deadline - time.perf_counter()))
        summary, passed = run_tests(args.device, args.tests or TESTS, out, timeout)
        ok &= passed
        report += [f"## Agreement tests on {args.device} (NNDSL_TEST_DTYPE=float32)", ""]
        report += [f"{summary} (log: gpu_check_tests.log)", ""]
        say(f"   {summary}")
        save("(running: examples and benchmarks next)")
    if "examples" in args.only:
        found = sorted((ROOT / "examples").glob("**/*.nn"))
        paths = [p.resolve() for p in args.examples] if args.examples else found
        say(f"\n2. {len(paths)} example file(s), one epoch each, {args.jobs} at a time ...")
        examples = run_examples(args.device, paths, args.jobs, out, args.timeout, deadline)
        ok &= all(e.ok for e in examples)
        passed = sum(e.ok for e in examples)
        report += [
            f"## Examples: nndsl run FILE --backend torch --device {args.device} --epochs 1",
            "",
            f"{passed} of {len(examples)} ran (failures' output: gpu_check_examples.log)",
            "",
        ]
        cells = [
            [e.path, "pass" if e.ok else f"FAIL: {e.why}", f"{e.seconds:.1f}"] for e in examples
        ]
        report += [*table(["example", "result", "seconds"], cells), ""]
        save("(running: benchmarks next)")
    if "bench" in args.only:
        sizes = QUICK if args.quick else FULL
        say(f"\n3. benchmarks ({'quick' if args.quick else 'full'} sizes) ...")
        head = [
            "## Training samples/s: the torch backend and a hand-written PyTorch loop",
            "",
            "ratio = nndsl's time per epoch / the hand loop's (target on a GPU: B1 <= 1.10)",
            "",
        ]
        rows = run_benchmarks(
            args.device,
            args.bench,
            args.dtypes,
            sizes,
            deadline,
            lambda rows: save("\n".join([*head, *bench_table(rows), "", "(running)"])),
        )
        ok &= not any(r.error for r in rows)
        report += [*head, *bench_table(rows), ""]
    took = time.perf_counter() - start
    ending = f"{'all passed' if ok else 'FAILURES above'}; {took:.0f} s in all"
    save(ending)
    say("\n" + "\n".join([*report[2:], ending]))
    say(f"\nwritten: {out / 'gpu_check.md'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
