"""`nndsl report`: one self-contained HTML page per run or sweep folder that parses, holds
every piece (metrics, curves, layers, configuration, highlighted source), and, where a
Chromium is installed, renders to a non-blank screenshot."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nndsl.cli import main
from nndsl.report import report_html

SOURCE = """
model tiny {
    input(2)
    dense(4, activation=tanh)
    dense(1, activation=sigmoid)
}

train tiny {
    data       = synthetic("xor", n=64, seed=0)
    validation = 0.25
    loss       = binary_crossentropy
    optimizer  = adam(lr={lr})
    batch_size = 16
    epochs     = 6
    early_stop = (monitor=val_loss, patience=2, restore_best=true)
    metrics    = [accuracy]
}
"""
VOID = {"meta", "img", "br", "hr", "input", "link", "rect", "polyline", "line"}


class Page(HTMLParser):
    """Collects tags, attributes and text; checks that every element is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    @classmethod
    def of(cls, text: str) -> Page:
        page = cls()
        page.feed(text)
        page.close()
        assert page.stack == [], f"unclosed: {page.stack}"
        return page

    def all_text(self) -> str:
        return " ".join(self.text)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    path = root / "tiny.nn"
    path.write_text(SOURCE.replace("{lr}", "0.05"))
    assert main(["run", str(path), "--out", str(root / "run"), "-q"]) == 0
    return root / "run"


def test_run_report_holds_every_piece(run_folder, tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(run_folder), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    page = Page.of(text)
    words = page.all_text()
    assert next(t for t, _ in page.tags if t == "title") and "tiny" in words
    for heading in ("Final metrics", "Learning curves", "Layers", "Configuration", "Source"):
        assert heading in words
    for layer in ("input_1", "dense_1", "dense (tanh)", "dense_2", "(None, 4)"):
        assert layer in words
    assert "adam(lr=0.05" in words and "binary_crossentropy" in words
    # metrics as metrics.json has them
    import json

    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert f"{metrics['validation']['accuracy']:.4f}" in words
    # the curves, embedded
    images = [a["src"] for t, a in page.tags if t == "img" and a["alt"] == "learning curves"]
    if (run_folder / "curves.png").exists():
        (src,) = images  # the pictures of its predictions follow (tests/test_model_pictures.py)
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == (run_folder / "curves.png").read_bytes()
    # the source, highlighted: coloured spans inside the <pre>
    pre = re.search(r'<pre class="source">(.*?)</pre>', text, re.S).group(1)
    assert "<span" in pre and "dense" in pre
    assert "http" not in re.sub(r'xmlns="[^"]*"', "", text.split("</style>")[1])  # no fetches


def test_without_curves_png_or_pygments(run_folder, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    (folder / "curves.png").unlink(missing_ok=True)
    monkeypatch.setitem(sys.modules, "nndsl.syntax.lexer", None)
    text = report_html(folder)
    page = Page.of(text)
    assert any(t == "svg" for t, _ in page.tags) and any(t == "polyline" for t, _ in page.tags)
    pre = re.search(r'<pre class="source">(.*?)</pre>', text, re.S).group(1)
    assert "<span" not in pre and "model tiny {" in pre


def test_sweep_report_marks_the_best(tmp_path, monkeypatch):
    monkeypatch.setattr("nndsl.train.plots.plot_curves", lambda *a, **k: None)
    path = tmp_path / "s.nn"
    path.write_text(SOURCE.replace("{lr}", "[0.05, 0.001]"))
    assert main(["run", str(path), "--out", str(tmp_path / "sweep"), "-q"]) == 0
    assert main(["report", str(tmp_path / "sweep")]) == 0
    text = (tmp_path / "sweep" / "report.html").read_text()
    page = Page.of(text)
    best_rows = [a for t, a in page.tags if t == "tr" and a.get("class") == "best"]
    assert len(best_rows) == 1
    assert "Best trial" in page.all_text() and "optimizer.lr" in page.all_text()


def test_not_a_run_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "is not a run folder" in capsys.readouterr().err


CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None
)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (/usr/bin/chromium)")
def test_report_renders_in_a_headless_browser(run_folder, tmp_path):
    png = tmp_path / "shot.png"
    page = tmp_path / "report.html"
    page.write_text(report_html(run_folder), encoding="utf-8")
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={png}",
            "--window-size=1100,1400",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    matplotlib_image = pytest.importorskip("matplotlib.image")
    pixels = matplotlib_image.imread(png)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    # non-blank: many distinct colours (text, tables, the curves), not one flat page
    flat = (pixels[..., :3] * 255).astype(int).reshape(-1, 3)
    assert len({tuple(c) for c in flat[::97]}) > 20
    assert flat.std() > 10
