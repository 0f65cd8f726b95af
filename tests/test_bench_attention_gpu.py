"""benchmarks/bench_attention_gpu.py cannot rot: its CPU smoke mode runs both
precisions and both contenders, and without a CUDA GPU it skips cleanly (rc 0)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_attention_gpu.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_attention_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_attention", None)


def test_smoke_run_on_cpu_reports_both_precisions(bench, capsys) -> None:
    assert bench.main(["--device", "cpu", "--steps", "2", "--rounds", "1", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "float32:" in out and "bf16 autocast:" in out
    assert out.count("nndsl torch") == 2 and out.count("hand-written torch") == 2
    assert out.count("torch backend time / hand loop") == 2


def test_without_a_gpu_it_skips(bench, capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench.main([]) == 0
    assert capsys.readouterr().out.strip() == "no CUDA GPU: skipped"
