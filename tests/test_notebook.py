"""nndsl in Jupyter, tested the way a student meets it: examples/notebooks/intro.ipynb
executed headless by nbclient in a real kernel, and its outputs read back (the cell
magic, rich displays, the live training display, a located error without a traceback);
the displays of Program, Model, Summary and History checked on their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nndsl
from nndsl.train.history import History

NOTEBOOKS = Path(__file__).resolve().parent.parent / "examples" / "notebooks"
XOR = Path(__file__).resolve().parent.parent / "examples" / "xor.nn"


@pytest.fixture(scope="module")
def executed():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOKS / "intro.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # a cell that raises fails the test, unless tagged raises-exception
    return nb


def _outputs(nb, marker: str) -> list:
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    return cell.outputs


def _text(outputs: list) -> str:
    return "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )


def test_the_committed_notebook_is_what_its_script_writes(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    script = (NOTEBOOKS / "make_intro.py").read_text()
    (tmp_path / "make_intro.py").write_text(script)
    subprocess.run([sys.executable, str(tmp_path / "make_intro.py")], check=True)
    made = nbformat.read(tmp_path / "intro.ipynb", as_version=4)
    committed = nbformat.read(NOTEBOOKS / "intro.ipynb", as_version=4)
    assert [c.source for c in made.cells] == [c.source for c in committed.cells]
    assert all(not c.get("outputs") for c in committed.cells if c.cell_type == "code")


def test_the_magic_binds_a_program_shown_as_its_layer_table(executed) -> None:
    (out,) = _outputs(executed, "%%nndsl perceptron")
    html = out["data"]["text/html"]
    assert "<table>" in html and "dense (sigmoid)" in html and "binary_crossentropy" in html
    (summary,) = _outputs(executed, "model.summary()")
    assert summary["data"]["text/plain"].startswith('Model: "perceptron"')  # not a quoted str
    assert "<table>" in summary["data"]["text/html"]


def test_training_shows_a_live_display_and_a_history(executed) -> None:
    outputs = _outputs(executed, "history = model.fit()")
    live = [o for o in outputs if o.output_type == "display_data"]
    assert live and "nndsl-progress" in live[0]["data"]["text/html"]
    # updated in place: the final state holds the curves and the last epoch's line
    assert "<svg" in live[0]["data"]["text/html"] and "epoch 60/60" in live[0]["data"]["text/html"]
    assert not any(o.get("name") == "stderr" and "\r" in o.get("text", "") for o in outputs)
    (result,) = [o for o in outputs if o.output_type == "execute_result"]
    assert result["data"]["text/plain"].startswith("History(60 epochs")
    assert "<svg" in result["data"]["text/html"] and "val_accuracy" in result["data"]["text/html"]


def test_the_lecture_points_hold(executed) -> None:
    assert "perceptron on XOR" in _text(_outputs(executed, "xor_perceptron"))
    text = _text(_outputs(executed, "for act in"))
    assert all(a in text for a in ("sigmoid", "tanh", "relu"))
    assert "best validation loss at epoch" in _text(_outputs(executed, "best = min"))
    assert "stopped after" in _text(_outputs(executed, "regularized.build"))


def test_a_mistake_in_a_cell_is_located_without_a_traceback(executed) -> None:
    outputs = _outputs(executed, "%%nndsl typo")
    text = _text(outputs) + "".join(o.get("evalue", "") for o in outputs)
    assert "<cell typo>:3:14: error: dense() has no argument 'activaton'" in text
    assert "^^^^" in text and "did you mean 'activation'" in text
    assert "Traceback" not in text and not any(o.get("traceback") for o in outputs)


# ------------------------------------------------------------------ displays alone


def test_summary_prints_as_the_table_at_a_prompt() -> None:
    summary = nndsl.compile_file(XOR).build(seed=0).summary()
    assert isinstance(summary, str) and repr(summary) == str(summary)
    assert repr(summary).startswith('Model: "xor"') and "\\n" not in repr(summary)
    assert summary._repr_html_().count("<tr>") == 1 + 3  # the header, three layers


def test_history_displays() -> None:
    assert repr(History()) == "History(no epochs)"
    h = History()
    for e in range(12):
        h.append(e, {"loss": 1.0 / (e + 1), "val_loss": 1.5 / (e + 1)})
    assert repr(h) == "History(12 epochs; last: loss 0.08333  val_loss 0.125)"
    page = h._repr_html_()
    assert "<svg" in page and "the last 10 of 12 epochs" in page and page.count("<tr>") == 11


def test_model_and_program_display() -> None:
    program = nndsl.compile_file(XOR)
    assert "xor.nn" in program._repr_html_() and "<table>" in program._repr_html_()
    model = program.build(seed=0)
    assert "backend numpy" in model._repr_html_() and "trained" not in model._repr_html_()
    model.fit(verbose=0, epochs=2)
    assert "trained 2 epochs" in model._repr_html_()


def test_import_stays_free_of_ipython() -> None:
    code = "import sys, nndsl; print('IPython' in sys.modules, 'nndsl.notebook' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
