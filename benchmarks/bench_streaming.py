"""Peak memory of parquet(stream=true) as the data grows, against loading it whole.

The data: ROWS rows of 16 float columns and a 0/1 target in 8 Parquet shards, row groups
of GROUP rows. The memory allowed to the stream is its shuffle buffer plus one row group
of encoded rows; the dataset is T times that (ROWS = T * (buffer + group)), for each T
of --times. Each contender runs in a fresh process that reads one shuffled epoch of
training rows after the preprocessing fit: `stream` through ParquetStream.encoded (the
path the trainer draws batches from), `whole` through parquet(...) without stream (every
row as cells, then encoded; at the first T only, it takes minutes and GBs beyond).
Reported: the process's peak resident memory growth over its state after imports
(Linux: VmHWM in /proc/self/status), tracemalloc's peak (NumPy and Python objects) and
pyarrow's pool peak, in MB; then how much the stream's peak grew from the first T to the
last: bounded memory means ~0.

    python benchmarks/bench_streaming.py [--buffer 50000] [--group 10000] [--times 4 16]

Needs pyarrow. Measured (2 shared cores, pyarrow 26, mimalloc pool), 8 MB allowed:
  4x  (240k rows, 31 MB):  stream peak RSS growth 47 MB, tracemalloc 15 MB, pool 7 MB,
                           0.3 s; whole 975 MB, tracemalloc 384 MB, 35 s
  16x (960k rows, 125 MB): stream peak RSS growth 48 MB, tracemalloc 15 MB, pool 7 MB,
                           1.3 s
  growth from 4x to 16x: +0.2 to +0.8 MB over runs. Before pyarrow's pre-buffering was
  turned off and the shards closed between passes: RSS 148 -> 254 MB, pool 41 -> 149 MB.
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

COLUMNS = 16


def write_shards(folder: Path, rows: int, group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    folder.mkdir()
    for k in range(8):
        n = rows // 8
        table = {f"x{i}": rng.normal(size=n) for i in range(COLUMNS)}
        table["y"] = (table["x0"] + table["x1"] > 0).astype(np.float64)
        pq.write_table(pa.table(table), folder / f"part-{k}.parquet", row_group_size=group)


CHILD = """
import json, sys, time, tracemalloc
import pyarrow as pa
import nndsl.data.parquetfile as parquetfile
from nndsl.data.stream import ParquetStream
from nndsl.data.load import load_data
from nndsl.ir.signature import Spec

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
mode, folder, buffer, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
parquetfile.READ_ROWS = group
import pyarrow.parquet, nndsl.data.tabular, nndsl.data.csvfile  # imports are not the data's
try:
    import pandas  # what pyarrow imports at its first conversion to NumPy, where installed
except ImportError:
    pass
base = hwm()
tracemalloc.start()
start = time.perf_counter()
rows = 0
if mode == "stream":
    args = {"path": folder, "target": "y", "features": None, "shuffle_buffer": buffer}
    stream = ParquetStream(args, folder, 0.0, 0.0, 0, {}, {})
    stream.fit("none")
    rows = sum(len(x) for x, _ in stream.encoded(seed=1))
else:
    rows = len(load_data(Spec("parquet", {"path": folder, "target": "y"}), "."))
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps({"rows": rows, "seconds": seconds, "rss_mb": hwm() - base,
                  "tracemalloc_mb": peak,
                  "arrow_mb": pa.default_memory_pool().max_memory() / 2**20}))
"""


def measure(mode: str, folder: Path, buffer: int, group: int) -> dict:
    """One contender's numbers, from a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), mode, str(folder), str(buffer), str(group)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buffer", type=int, default=50_000)
    parser.add_argument("--group", type=int, default=10_000)
    parser.add_argument(
        "--times", type=int, nargs="+", default=[4, 16], help="the data, in allowed memories"
    )
    parser.add_argument("--no-whole", action="store_true", help="skip loading the data whole")
    args = parser.parse_args()
    row_mb = (COLUMNS + 1) * 8 / 2**20
    peaks = []
    print(
        f"allowed to the stream: buffer {args.buffer} + row group {args.group} rows = "
        f"{(args.buffer + args.group) * row_mb:.0f} MB"
    )
    for k, times in enumerate(args.times):
        rows = times * (args.buffer + args.group)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "shards"
            write_shards(folder, rows, args.group)
            print(
                f"{times}x: {rows} rows x {COLUMNS + 1} float64 columns = "
                f"{rows * row_mb:.0f} MB as arrays"
            )
            modes = ["stream"] + (["whole"] if k == 0 and not args.no_whole else [])
            for mode in modes:
                r = measure(mode, folder, args.buffer, args.group)
                if mode == "stream":
                    peaks.append(r["rss_mb"])
                print(
                    f"  {mode:7s} {r['rows']} rows in {r['seconds']:.1f} s: peak RSS growth "
                    f"{r['rss_mb']:.0f} MB, tracemalloc peak {r['tracemalloc_mb']:.0f} MB, "
                    f"pyarrow pool peak {r['arrow_mb']:.0f} MB"
                )
    if len(peaks) > 1:
        print(
            f"stream's peak RSS growth from {args.times[0]}x to {args.times[-1]}x the allowed "
            f"memory: {peaks[-1] - peaks[0]:+.1f} MB"
        )


if __name__ == "__main__":
    main()
