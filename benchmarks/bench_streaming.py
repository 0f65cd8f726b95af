"""Peak memory of parquet(stream=true) against loading the same shards whole.

The data: ROWS rows of 16 float columns and a 0/1 target in 8 Parquet shards, row groups
of GROUP rows. The memory allowed to the stream is its shuffle buffer plus one row group
of encoded rows; the dataset is 4x that (ROWS = 4 * (buffer + group)). Each contender
runs in a fresh process that reads one shuffled epoch of training rows after the
preprocessing fit: `stream` through ParquetStream.encoded (the path the trainer draws
batches from), `whole` through parquet(...) without stream (every row as cells, then
encoded). Reported: the process's peak resident memory growth over its state after
imports (Linux: VmHWM in /proc/self/status), tracemalloc's peak (NumPy and Python
objects) and pyarrow's pool peak, in MB.

    python benchmarks/bench_streaming.py [--buffer 50000] [--group 10000] [--times 4]

Needs pyarrow.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buffer", type=int, default=50_000)
    parser.add_argument("--group", type=int, default=10_000)
    parser.add_argument("--times", type=int, default=4, help="the data, in allowed memories")
    args = parser.parse_args()
    rows = args.times * (args.buffer + args.group)
    row_mb = (COLUMNS + 1) * 8 / 2**20
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shards"
        write_shards(folder, rows, args.group)
        print(
            f"{rows} rows x {COLUMNS + 1} float64 columns = {rows * row_mb:.0f} MB as arrays; "
            f"allowed to the stream: buffer {args.buffer} + row group {args.group} rows = "
            f"{(args.buffer + args.group) * row_mb:.0f} MB"
        )
        for mode in ("stream", "whole"):
            out = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(CHILD), mode, str(folder),
                 str(args.buffer), str(args.group)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{mode:7s} {r['rows']} rows in {r['seconds']:.1f} s: peak RSS growth "
                f"{r['rss_mb']:.0f} MB, tracemalloc peak {r['tracemalloc_mb']:.0f} MB, "
                f"pyarrow pool peak {r['arrow_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
