"""Peak memory (RSS) of one B1 epoch (784-256-128-10 MLP, 60,000 float32 samples, batch
128, Adam): the NumPy backend beside the hand-written NumPy loop, each in its own process.
The dataset alone is 188 MB; the target is no more than the data twice (data and one
shuffled copy) plus a few times the parameters and one batch's activations.

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

COMMON = """
import resource, sys, numpy as np
sys.path.insert(0, {here!r})
rng = np.random.default_rng(0)
x = rng.standard_normal((60000, 784), dtype=np.float32)
y = rng.integers(0, 10, 60000)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

NNDSL = (
    COMMON
    + """
from bench_training import nndsl_model
m = nndsl_model([784, 256, 128, 10], 128, False)
m.fit(x, y, epochs=1, verbose=0)
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
)

HAND = (
    COMMON
    + """
from _reference import NumpyMLP
ref = NumpyMLP([784, 256, 128, 10], 128)
xb, yb = np.empty_like(x), np.empty_like(y)
ref.epoch(x, y, 128, np.random.default_rng(1), xb, yb)
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
)


def peak(code: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", code.format(here=str(HERE))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]) / 1024, int(out[1]) / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    data_mb = 60000 * 784 * 4 / 2**20
    params_mb = 235146 * 4 / 2**20
    print(f"dataset {data_mb:.0f} MiB, parameters {params_mb:.2f} MiB")
    for name, code in (("hand-written numpy", HAND), ("nndsl numpy", NNDSL)):
        before, after = peak(code)
        print(
            f"  {name:<20} peak RSS {after:7.0f} MiB (with data loaded: {before:.0f} MiB;"
            f" training added {after - before:.0f} MiB = {(after - before) / data_mb:.2f}x "
            f"the dataset)"
        )


if __name__ == "__main__":
    main()
