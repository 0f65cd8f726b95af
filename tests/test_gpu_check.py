"""benchmarks/gpu_check.sh cannot rot before a GPU runs it: its help names what to carry,
and a tiny CPU run (one test file, one example, B1 in float32) goes through the wrapper
and every part of the check, prints the report's benchmark table and writes it to $OUT;
a failing example fails the check; without a GPU it says what to do."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = ROOT / "benchmarks" / "gpu_check.sh"
HEAD = re.compile(
    r"\| benchmark +\| dtype +\| nndsl samples/s +\| hand-written samples/s +\| ratio +\|"
)


def check(*args: str, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OUT=str(out))  # the report's folder, as on a device machine
    return subprocess.run(
        ["bash", str(WRAPPER), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_help_names_the_carry(tmp_path: Path) -> None:
    done = check("--help", out=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--device" in done.stdout and "--quick" in done.stdout
    assert 'carry=[".whl"]' in done.stdout and "gpu_check.sh --wheels" in done.stdout


def test_a_tiny_cpu_run_prints_and_writes_the_table(tmp_path: Path) -> None:
    done = check(
        "--device", "cpu", "--quick", "--bench", "B1", "--dtypes", "float32",
        "--examples", "examples/xor.nn",
        "--tests", "tests/backends/torch/test_torch_layers.py",
        out=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^2 passed in [\d.]+ s", done.stdout, re.M)
    assert re.search(r"\| examples/xor\.nn \| pass +\| [\d.]+ +\|", done.stdout)
    assert HEAD.search(done.stdout)
    (row,) = re.findall(r"^\| B1 +\| float32 \| ([\d,]+) +\| ([\d,]+) +\| ([\d.]+) +\|$",
                        done.stdout, re.M)  # fmt: skip
    nndsl, hand, ratio = (float(v.replace(",", "")) for v in row)
    assert nndsl > 0 and hand > 0
    assert ratio == pytest.approx(hand / nndsl, abs=0.01)  # time ratio: nndsl / hand
    report = (tmp_path / "gpu_check.md").read_text()
    assert HEAD.search(report) and "| B1 " in report and "all passed" in report
    assert "2 passed" in (tmp_path / "gpu_check_tests.log").read_text()


def test_a_failing_example_fails_the_check(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nn"
    broken.write_text(
        "model m {\n  input(2)\n  dense(1, activation=nope)\n}\ntrain m { loss = mse }\n"
    )
    done = check("--device", "cpu", "--only", "examples", "--examples", str(broken), out=tmp_path)
    assert done.returncode == 1
    assert re.search(r"FAIL: .*nope", done.stdout)
    assert "broken.nn" in (tmp_path / "gpu_check_examples.log").read_text()
    assert "FAILURES" in (tmp_path / "gpu_check.md").read_text()


def test_without_a_gpu_it_says_what_to_do(monkeypatch, capsys) -> None:
    spec = importlib.util.spec_from_file_location("gpu_check", WRAPPER.with_suffix(".py"))
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert module.main([]) == 2
    out = capsys.readouterr().out
    assert "no CUDA GPU" in out and "--device cpu --quick" in out and ".whl" in out
