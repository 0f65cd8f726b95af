"""The front-end commands of `nndsl`: check, summary, graph, --help; a cheap import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import nndsl
from nndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "programs"
BAD = ROOT / "tests" / "errors" / "cases" / "unknown_layer.nn"


def run_python(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_check_is_silent_on_good_files(valid_path: Path, capsys):
    """Silent, but for the file's warnings (nndsl.lint), which never fail a check."""
    assert main(["check", str(valid_path)]) == 0
    warnings = "".join(w.render() + "\n" for w in nndsl.compile_file(valid_path).warnings)
    assert capsys.readouterr() == ("", warnings)


def test_check_many_files_at_once(capsys):
    files = [str(p) for p in sorted(PROGRAMS.glob("*.nn"))]
    assert main(["check", *files]) == 0
    assert main(["check", *files, str(BAD)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    errors = [line for line in err.splitlines() if ": error: " in line]  # the rest: warnings
    assert errors == [f"{BAD}:5:5: error: unknown layer 'dens'"]


def test_summary_prints_layers_and_totals(capsys):
    assert main(["summary", str(PROGRAMS / "mlp.nn")]) == 0
    out = capsys.readouterr().out
    assert 'Model: "mlp"' in out
    assert "Total params: 235,146" in out
    assert "Trainable params: 235,146" in out
    for name in ("input_1", "dense_1", "dropout_1", "dense_2", "dense_3"):
        assert name in out


def test_summary_of_a_chosen_model(capsys):
    path = str(PROGRAMS / "several_models.nn")
    assert main(["summary", path, "--model", "small"]) == 0
    assert "Total params: 5 " in capsys.readouterr().out
    assert main(["summary", path, "--model", "tiny"]) == 1
    assert "no model named 'tiny'" in capsys.readouterr().err


def test_summary_of_a_bad_file_is_an_error(capsys):
    assert main(["summary", str(BAD)]) == 1
    assert "unknown layer" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["text", "yaml", "json", "dot"])
def test_graph_formats(fmt, capsys):
    assert main(["graph", str(PROGRAMS / "residual.nn"), "--format", fmt]) == 0
    out = capsys.readouterr().out
    names = ["x", "h", "a", "a_2", "side", "main", "add_3", "concat_1", "dense_3"]
    if fmt == "json":
        assert [n["name"] for n in json.loads(out)["nodes"]][:3] == ["x", "h", "a"]
    elif fmt == "yaml":
        data = yaml.safe_load(out)
        assert data["name"] == "residual"
        assert {n["name"] for n in data["nodes"]} >= set(names)
    elif fmt == "dot":
        assert out.startswith('digraph "residual"')
        assert '"h" -> "side";' in out
    else:
        assert out.startswith("graph residual")
        assert "total parameters: 20,401" in out
    for name in names:
        assert name in out


def test_graph_default_format_is_text(capsys):
    assert main(["graph", str(PROGRAMS / "mlp.nn")]) == 0
    assert capsys.readouterr().out.startswith("graph mlp")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: nndsl" in capsys.readouterr().out


def test_python_m_nndsl_help():
    result = run_python("-m", "nndsl", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("check", "summary", "graph", "fmt"):
        assert command in result.stdout


def test_python_m_nndsl_check_exit_codes():
    good = run_python("-m", "nndsl", "check", str(PROGRAMS / "mlp.nn"))
    assert (good.returncode, good.stdout, good.stderr) == (0, "", "")
    bad = run_python("-m", "nndsl", "check", str(BAD))
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "did you mean 'dense'?" in bad.stderr


EXTRAS = (  # optional libraries: loaded by the feature that needs them, never before
    "fastapi", "uvicorn", "pygls", "lsprotocol", "IPython", "tensorboardX", "tensorboard",
    "mlflow", "optuna", "pyarrow", "gymnasium", "pandas", "matplotlib", "sklearn",
)  # fmt: skip


def test_import_is_cheap():
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import nndsl\n"
        "print(time.perf_counter() - t)\n"
        f"heavy = {{'torch', 'lark', 'numpy', 'yaml', *{EXTRAS!r}}} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert nndsl.NNDSLError\n"
    )
    seconds = []
    for _ in range(5):  # the best of five: the machine may be busy with other work
        result = run_python("-c", code)
        assert result.returncode == 0, result.stderr
        seconds.append(float(result.stdout))
    assert min(seconds) < 0.15, seconds


def test_the_command_line_loads_no_extra_before_a_command_needs_it():
    code = (
        "import sys\n"
        "from nndsl.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {{'torch', *{EXTRAS!r}}} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr


def test_compiling_never_imports_torch():
    code = (
        "import sys, nndsl\n"
        f"nndsl.compile_file({str(PROGRAMS / 'residual.nn')!r}).summary()\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
