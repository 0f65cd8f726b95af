"""`nndsl serve`, driven as a client drives it: a model trained by `nndsl run` in a fresh
folder, the server started as a command on 127.0.0.1, requests over real HTTP (httpx).
Predictions must equal `nndsl predict`'s on the same rows; hostile requests must get a
4xx with a message, never a 500; a load of concurrent requests loses none."""

from __future__ import annotations

import asyncio
import csv
import json
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from nndsl.cli import main  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m nndsl serve ...` in its own process, up once /health answers."""

    def __init__(self, *args: str) -> None:
        self.url = f"http://127.0.0.1:{_port()}"
        command = [sys.executable, "-m", "nndsl", "serve", *args]
        command += ["--port", self.url.rsplit(":", 1)[1]]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.process.communicate()[1]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("serve did not answer /health within 120 s")

    def post(self, body: bytes | str | object, **kw) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return httpx.post(self.url + "/predict", content=content, timeout=60, **kw)

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("serve")
    run = folder / "churn"
    argv = ["run", str(EXAMPLES / "churn.nn"), "--out", str(run), "--epochs", "3", "--quiet"]
    assert main(argv) == 0
    return run


@pytest.fixture(scope="module")
def server(churn_run: Path):
    s = Server(str(churn_run), "--max-rows", "500")
    yield s
    s.stop()


def _file_rows(path: Path) -> list[dict[str, object]]:
    """The CSV's rows as a JSON client would send them: numbers as numbers, empty cells
    as null, and each row's keys in a shuffled order."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(5)
    out = []
    for row in rows:
        cells: dict[str, object] = {}
        for key, text in row.items():
            try:
                cells[key] = float(text) if text else None
            except ValueError:
                cells[key] = text
        keys = list(cells)
        rng.shuffle(keys)
        out.append({k: cells[k] for k in keys if k != "churned"})
    return out


def test_health_and_schema(server: Server) -> None:
    assert httpx.get(server.url + "/health").json() == {"status": "ok", "model": "churn"}
    schema = httpx.get(server.url + "/schema").json()
    with open(EXAMPLES / "subscribers.csv", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    features = [h for h in header if h not in ("user_id", "churned")]
    assert [c["name"] for c in schema["columns"]] == features
    types = {c["name"]: c["type"] for c in schema["columns"]}
    assert types["plan"] == "category" and types["signup"] == "date"
    assert types["monthly_fee"] == "number" and types["autopay"] == "binary"
    plan = next(c for c in schema["columns"] if c["name"] == "plan")
    assert plan["categories"] == ["basic", "premium", "standard"]
    assert schema["ids"] == ["user_id"] and schema["outputs"] == ["p_yes", "churned"]
    assert schema["classes"] == ["no", "yes"] and schema["max_rows"] == 500


def test_predictions_equal_nndsl_predict(server: Server, churn_run: Path, tmp_path: Path) -> None:
    """The same rows through HTTP (keys shuffled, numbers as JSON numbers) and through
    `nndsl predict` on the CSV file: the same probabilities and classes, ids echoed."""
    out = tmp_path / "p.csv"
    argv = ["predict", str(churn_run), "--data", str(EXAMPLES / "subscribers.csv")]
    assert main([*argv, "--out", str(out)]) == 0
    with open(out, newline="") as f:
        written = list(csv.DictReader(f))
    rows = _file_rows(EXAMPLES / "subscribers.csv")[:400]
    r = server.post({"rows": rows})
    assert r.status_code == 200, r.text
    got = r.json()["predictions"]
    assert len(got) == len(rows)
    for want, have, sent in zip(written, got, rows):
        assert have["user_id"] == sent["user_id"] == want["user_id"]
        assert have["churned"] == want["churned"]
        assert abs(have["p_yes"] - float(want["p_yes"])) < 1e-5


def test_unseen_category_is_a_warning_not_an_error(server: Server) -> None:
    row = _file_rows(EXAMPLES / "subscribers.csv")[0] | {"plan": "platinum"}
    r = server.post({"rows": [row]})
    assert r.status_code == 200
    (warning,) = r.json()["warnings"]
    assert "'plan'" in warning and "unknown" in warning


BAD_REQUESTS = [
    (b"not json", 400, "not JSON"),
    (b'{"rows": [{"plan": NaN}]}', 400, "NaN is not JSON"),
    (b"[1, 2]", 422, '"rows"'),
    (b'{"inputs": []}', 422, '"inputs" must be a non-empty list'),
    (b'{"inputs": [[1, "a"]]}', 422, "samples of numbers"),
    (b'{"columns": 1}', 422, '"rows"'),
    (b'{"rows": []}', 422, "non-empty"),
    (b'{"rows": {"plan": "basic"}}', 422, "non-empty list"),
    (b'{"rows": [7]}', 422, "row 1 is not an object"),
    (b'{"rows": [{"plan": "basic"}]}', 422, "no column country"),
    (b'{"rows": [{"plan": {"a": 1}}]}', 422, "column 'plan': a dict"),
    ("\ud800".encode("utf-8", "surrogatepass"), 400, "not JSON"),
]


@pytest.mark.parametrize("body,status,words", BAD_REQUESTS)
def test_bad_requests_get_a_4xx_and_a_message(server: Server, body, status, words) -> None:
    r = server.post(body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_bad_cells_are_named(server: Server) -> None:
    rows = _file_rows(EXAMPLES / "subscribers.csv")[:3]
    rows[1] = rows[1] | {"signup": "yesterday"}
    r = server.post({"rows": rows})
    assert r.status_code == 422
    assert "column 'signup', row 2" in r.json()["error"] and "date" in r.json()["hint"]
    rows = _file_rows(EXAMPLES / "subscribers.csv")[:3]
    del rows[2]["devices"]
    r = server.post({"rows": rows})
    assert r.status_code == 422 and "row 3" in r.json()["error"]
    assert "null for a missing value" in r.json()["hint"]


def test_limits(server: Server) -> None:
    rows = _file_rows(EXAMPLES / "subscribers.csv")
    r = server.post({"rows": (rows * 2)[:501]})
    assert r.status_code == 413 and "limit is 500" in r.json()["error"]
    big = b'{"rows": [' + b" " * (17 * 1024 * 1024) + b"]}"
    r = server.post(big)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert httpx.get(server.url + "/predict").status_code == 405
    assert httpx.get(server.url + "/nowhere").status_code == 404


def _hostile(rng: random.Random, good: dict[str, object]) -> object:
    """A body a careless client might send: the good row with cells of every JSON type,
    keys dropped or added, or the structure broken."""
    cells = [None, True, False, 0, -1, 1e308, -1e-308, "", " ", "basic", "2021-13-45", [], {}]
    cells += ["1,5", "∞", "\x00", "é" * 300, 12345678901234567890]
    kind = rng.randrange(5)
    row = dict(good)
    if kind == 0:
        for key in rng.sample(list(row), 3):
            row[key] = rng.choice(cells)
        return {"rows": [row]}
    if kind == 1:
        row.pop(rng.choice(list(row)))
        return {"rows": [good, row]}
    if kind == 2:
        return {"rows": [row | {rng.choice(["x", "", "plan "]): rng.choice(cells)}]}
    if kind == 3:
        return rng.choice([None, 3, "rows", [row], {"rows": None}, {"rows": [[1, 2]]}])
    return {"rows": [row] * rng.randrange(1, 4), "extra": rng.choice(cells)}


def test_hostile_requests_never_get_a_500(server: Server) -> None:
    rng = random.Random(0)
    good = _file_rows(EXAMPLES / "subscribers.csv")[0]
    seen = set()
    for _ in range(150):
        body = _hostile(rng, good)
        r = server.post(body)
        assert r.status_code in (200, 400, 413, 422), (body, r.status_code, r.text)
        assert "Traceback" not in r.text
        if r.status_code != 200:
            assert r.json()["error"]
        seen.add(r.status_code)
    assert {200, 422} <= seen  # the generator made both kinds


def test_a_load_of_concurrent_requests_loses_none(server: Server) -> None:
    """2,000 requests, 8 at a time: every one answered 200 with its own rows' ids (no
    request lost or answered with another's predictions); throughput and latency printed."""
    rows = _file_rows(EXAMPLES / "subscribers.csv")
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient, i: int, gate: asyncio.Semaphore) -> None:
        mine = [rows[(i + k) % len(rows)] for k in range(1 + i % 3)]
        async with gate:
            start = time.perf_counter()
            r = await client.post("/predict", json={"rows": mine})
            latencies.append(time.perf_counter() - start)
        assert r.status_code == 200, r.text
        assert [p["user_id"] for p in r.json()["predictions"]] == [m["user_id"] for m in mine]

    async def load() -> float:
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            start = time.perf_counter()
            await asyncio.gather(*(one(client, i, gate) for i in range(2000)))
            return time.perf_counter() - start

    seconds = asyncio.run(load())
    assert len(latencies) == 2000
    q = statistics.quantiles(latencies, n=100)
    print(f"\n2000 requests, 8 concurrent: {2000 / seconds:.0f} req/s, "
          f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")  # fmt: skip


def test_ctrl_c_stops_the_server_cleanly(churn_run: Path) -> None:
    s = Server(str(churn_run))
    code, err = s.stop()
    assert code == 0 and "Traceback" not in err
    assert f"serving 'churn' at {s.url}" in err


PICTURES = """
model tiles {
    input(4, 4, 1)
    conv2d(4, 3, activation=relu)
    flatten()
    dense(3, activation=softmax)
}
train tiles {
    data       = npz("tiles.npz")
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.01)
    epochs     = 2
}
"""


def test_a_model_of_plain_arrays_takes_inputs(tmp_path: Path) -> None:
    """No column names (an .npz of pictures): requests give "inputs", arrays of the
    input's shape, and get what model.predict gives."""
    import nndsl

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "tiles.npz", x=rng.normal(size=(60, 4, 4, 1)), y=rng.integers(0, 3, 60))
    (tmp_path / "tiles.nn").write_text(PICTURES)
    run = tmp_path / "run"
    assert main(["run", str(tmp_path / "tiles.nn"), "--out", str(run), "--quiet"]) == 0
    model = nndsl.load(run)
    x = rng.normal(size=(5, 4, 4, 1))
    s = Server(str(run))
    try:
        schema = httpx.get(s.url + "/schema").json()
        assert schema["input_shape"] == [4, 4, 1] and "columns" not in schema
        assert schema["outputs"] == ["p_0", "p_1", "p_2", "y"]  # the npz target array
        r = s.post({"inputs": x.tolist()})
        assert r.status_code == 200, r.text
        for row, p in zip(r.json()["predictions"], model.predict(x)):
            assert [row[f"p_{k}"] for k in range(3)] == pytest.approx(p.tolist(), abs=1e-6)
            assert row["y"] == str(int(np.argmax(p)))
        for bad in ([[1, 2, 3]], [["a"] * 16], [None]):
            r = s.post({"inputs": bad})
            assert r.status_code in (400, 422) and r.json()["error"], (bad, r.text)
    finally:
        s.stop()


def test_without_the_extra_a_clear_message(monkeypatch, capsys, churn_run: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert main(["serve", str(churn_run)]) == 1
    err = capsys.readouterr().err
    assert "needs uvicorn" in err and "pip install 'nndsl[serve]'" in err
    assert "Traceback" not in err


def test_bad_options(capsys, churn_run: Path) -> None:
    assert main(["serve", str(churn_run), "--port", "70000"]) == 1
    assert "not a port" in capsys.readouterr().err
    assert main(["serve", str(churn_run), "--max-rows", "0"]) == 1
    assert "--max-rows must be at least 1" in capsys.readouterr().err
