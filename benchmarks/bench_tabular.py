"""Reading and encoding a mixed-type CSV: nndsl's typed columns beside pandas.read_csv +
scikit-learn's ColumnTransformer doing the same preprocessing, in one run.

The file: ROWS rows, 20 columns: 12 numbers (2% of cells empty), 5 categories (8-30
values), 2 binary yes/no, 1 ISO date, and a 0/1 target. nndsl: the train block's data
loaded as `nndsl run` loads it (read, typed, split off nothing, encodings fitted and
applied). The reference: pandas.read_csv, then SimpleImputer(mean) + StandardScaler on
the numbers, OneHotEncoder on categories and binaries, the date's components by pandas'
.dt accessors. Each contender runs in a fresh process, timed, its peak resident memory
read from the OS (Linux: /proc/self/status). Target (issue 16): no slower than 1.5x and
no more memory. nndsl's time includes compiling the file, whose input(auto) reads the
data once more to learn its width.

    python benchmarks/bench_tabular.py [--rows 1000000] [--rounds 1]

Needs pandas and scikit-learn (not nndsl dependencies).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

NUMBERS, CATEGORIES, BINARIES = 12, 5, 2


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    cols = {}
    for i in range(NUMBERS):
        values = np.round(rng.normal(i, 1 + i, rows), 3).astype(str)
        values[rng.random(rows) < 0.02] = ""
        cols[f"n{i}"] = values
    for i in range(CATEGORIES):
        words = np.array([f"c{i}_{k}" for k in range(8 + 5 * i)])
        cols[f"c{i}"] = words[rng.integers(0, len(words), rows)]
    for i in range(BINARIES):
        cols[f"b{i}"] = np.where(rng.random(rows) < 0.5, "yes", "no")
    days = rng.integers(0, 2000, rows).astype("timedelta64[D]") + np.datetime64("2019-01-01")
    cols["day"] = days.astype(str)
    cols["y"] = (rng.random(rows) < 0.3).astype(int).astype(str)
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        table = np.stack(list(cols.values()), axis=1)
        for start in range(0, rows, 100_000):
            f.write("\n".join(",".join(r) for r in table[start : start + 100_000]) + "\n")


NNDSL = """
import time, nndsl
t = time.perf_counter()
program = nndsl.compile_string('''
model m {{ input(auto)
 dense(1, activation=sigmoid) }}
train m {{ data = csv("{path}", target="y", standardize=true)  loss = binary_crossentropy }}
''', path="{folder}/x.nn")
x = program.build().load_data().train.x
print(time.perf_counter() - t, x.shape[1])
"""

PANDAS = """
import time
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
t = time.perf_counter()
df = pd.read_csv("{path}")
day = pd.to_datetime(df.pop("day"))
parts = np.stack([day.dt.year, day.dt.month, day.dt.day, day.dt.weekday], axis=1)
y = df.pop("y").to_numpy()
numbers = [c for c in df if c.startswith("n")]
words = [c for c in df if not c.startswith("n")]
encode = ColumnTransformer([
    ("n", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numbers),
    ("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), words),
])
x = np.concatenate([encode.fit_transform(df), parts], axis=1)
print(time.perf_counter() - t, x.shape[1])
"""


def run(code: str) -> tuple[float, int, float]:
    """(seconds, encoded width, peak resident MB) of `code` in a fresh process."""
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's across exec)
    wrapper = code + textwrap.dedent("""
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
        print(int(hwm.split()[1]) / 1024)
    """)
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    first, second = done.stdout.strip().splitlines()[-2:]
    seconds, width = first.split()
    return float(seconds), int(width), float(second)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixed.csv"
        write_csv(path, args.rows)
        size = path.stat().st_size / 1e6
        results = {}
        for _ in range(args.rounds):  # interleaved: a slow moment falls on both
            for name, code in (("nndsl", NNDSL), ("pandas + sklearn", PANDAS)):
                got = run(code.format(path=path, folder=folder))
                best = results.get(name)
                results[name] = got if best is None or got[0] < best[0] else best
    print(f"{args.rows:,} rows x 20 columns ({size:.0f} MB CSV)")
    ref_t, _, ref_m = results["pandas + sklearn"]
    for name, (t, width, mb) in results.items():
        print(
            f"  {name:18} {t:7.2f} s ({t / ref_t:4.2f}x)  {mb:7.0f} MB peak ({mb / ref_m:4.2f}x)"
            f"  {width} inputs"
        )
    print(json.dumps({k: {"seconds": v[0], "peak_mb": v[2]} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
