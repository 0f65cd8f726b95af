"""`nndsl serve` under load: examples/churn.nn trained for a few epochs, served on
127.0.0.1, then REQUESTS POSTs of 1-3 rows each, CONCURRENCY at a time, from httpx.
Prints throughput, p50/p99 latency and lost requests, beside the same rows predicted in
this process (Model.predict on the same dicts: what a request costs without HTTP), as a
ratio in one run.

    python benchmarks/bench_serve.py [--requests 2000] [--concurrency 8]

Needs the serve extra and httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import nndsl
from nndsl.cli import main as nndsl_main
from nndsl.serving import predictions, read_request

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        out = []
        for row in csv.DictReader(f):
            row.pop("churned")
            out.append({k: (v or None) for k, v in row.items()})
        return out


async def load(url: str, bodies: list[dict], concurrency: int) -> tuple[float, list[float], int]:
    gate, latencies, lost = asyncio.Semaphore(concurrency), [], 0

    async def one(client: httpx.AsyncClient, body: dict) -> None:
        nonlocal lost
        async with gate:
            start = time.perf_counter()
            r = await client.post("/predict", json=body)
            latencies.append(time.perf_counter() - start)
        if r.status_code != 200 or len(r.json()["predictions"]) != len(body["rows"]):
            lost += 1

    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one(client, b) for b in bodies))
        return time.perf_counter() - start, latencies, lost


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "churn"
        train = ["run", str(EXAMPLES / "churn.nn"), "--out", str(run), "--epochs", "3"]
        assert nndsl_main([*train, "--quiet"]) == 0
        rows = rows_of(EXAMPLES / "subscribers.csv")
        bodies = [
            {"rows": [rows[(i + k) % len(rows)] for k in range(1 + i % 3)]}
            for i in range(args.requests)
        ]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "nndsl", "serve", str(run), "--port", str(port)],
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):
                try:
                    httpx.get(url + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            seconds, latencies, lost = asyncio.run(load(url, bodies, args.concurrency))
        finally:
            server.terminate()
            server.wait()
        model = nndsl.load(run)
        encoded = [json.dumps(b).encode() for b in bodies[:300]]
        start = time.perf_counter()
        for body in encoded:
            predictions(model, *read_request(body, model))
        local = (time.perf_counter() - start) / len(encoded)
    q = statistics.quantiles(latencies, n=100)
    served = seconds / args.requests
    print(f"{args.requests} requests of 1-3 rows, {args.concurrency} concurrent")
    print(f"  served:     {args.requests / seconds:7.0f} req/s  p50 {q[49] * 1e3:6.1f} ms  "
          f"p99 {q[98] * 1e3:6.1f} ms  lost {lost}")  # fmt: skip
    print(f"  in-process: {1 / local:7.0f} req/s  ({served / local:.2f}x the time per request)")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
