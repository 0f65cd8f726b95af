"""Pictures of a model (nndsl.train.model_pictures), driven as a user drives them: `nndsl
run` into a fresh folder, then the files it left are checked: valid PNGs of a sensible
size, a per-class table equal to scikit-learn's classification_report on the same
predictions, scores equal to scikit-learn's, one set per output head, none for a
generative model, and the HTML report showing them."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.report import report_html
from nndsl.train import model_pictures
from nndsl.train.history import History
from nndsl.train.plots import plot_curves, spans_decades

sk = pytest.importorskip("sklearn.metrics")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent

CLASSIFIER = """
model flowers {
    input(4)
    dense(8, activation=relu)
    dense(3, activation=softmax)
}
train flowers {
    data       = dataset("iris", standardize=true)
    validation = 0.2
    test       = 0.3
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.02)
    schedule   = step(step_size=4, gamma=0.5)
    batch_size = 16
    epochs     = 10
    metrics    = [accuracy]
    seed       = 3
}
"""

REGRESSION = """
model line {
    input(2)
    dense(8, activation=tanh)
    dense(1)
}
train line {
    data       = csv("line.csv", target="y", standardize=true)
    validation = 0.25
    loss       = mse
    optimizer  = adam(lr=0.05)
    batch_size = 16
    epochs     = 15
    metrics    = [mae]
    seed       = 0
}
"""

AUTOENCODER = """
model squeeze {
    input(4)
    dense(2)
    dense(4)
}
train squeeze {
    data       = dataset("iris", standardize=true)
    target     = input
    validation = 0.2
    loss       = mse
    optimizer  = adam(lr=0.01)
    epochs     = 2
}
"""


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG, read from its header (which must be one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_picture(path: Path) -> None:
    """A valid PNG, large enough to read, and not a blank page."""
    width, height = png_size(path)
    assert 400 <= width <= 3000 and 300 <= height <= 2000, (path.name, width, height)
    from matplotlib.image import imread

    pixels = imread(path)[..., :3]
    assert pixels.std() > 0.05, f"{path.name} looks blank"


def run(tmp_path: Path, source: str, name: str, *extra: str) -> Path:
    nn = tmp_path / f"{name}.nn"
    nn.write_text(source)
    out = tmp_path / name
    assert main(["run", str(nn), "--out", str(out), "--quiet", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("pictures"), CLASSIFIER, "flowers")


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 0.3 * rng.normal(size=120) + 10
    rows = ["a,b,y", *(f"{a:.5f},{b:.5f},{t:.5f}" for (a, b), t in zip(x, y))]
    (root / "line.csv").write_text("\n".join(rows) + "\n")
    return run(root, REGRESSION, "line")


def held_out_predictions(folder: Path, source: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(targets, outputs, split name) recomputed independently of the pictures: the run's
    weights loaded into its source, the split rebuilt from the file's seed."""
    model = nndsl.compile_file(source).build().load(folder / "weights.npz")
    splits = model.load_data()
    split, part = (
        ("test", splits.test) if splits.test is not None else ("validation", splits.validation)
    )
    return np.asarray(part.y), np.asarray(model.engine.predict(part.x)), split


def test_classification_pictures_and_table(classifier_run: Path) -> None:
    for name in ("curves.png", "confusion.png", "roc_pr.png", "calibration.png"):
        assert_picture(classifier_run / name)
    assert not (classifier_run / "predictions.png").exists()
    y, probs, split = held_out_predictions(classifier_run, classifier_run.parent / "flowers.nn")
    assert split == "test"
    pred = probs.argmax(axis=1)
    report = sk.classification_report(y, pred, labels=[0, 1, 2], output_dict=True, zero_division=0)
    with open(classifier_run / "per_class.csv", newline="") as f:
        rows = {r["class"]: r for r in csv.DictReader(f)}
    names = ["setosa", "versicolor", "virginica"]  # scikit-learn's class names, in order
    assert list(rows)[:3] == names
    for i, name in enumerate(names + ["macro avg", "weighted avg"]):
        ref = report[str(i) if i < 3 else name]
        for key, ref_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert float(rows[name][key]) == pytest.approx(ref[ref_key], abs=1e-12), (name, key)
        assert int(rows[name]["support"]) == ref["support"]
    scores = json.loads((classifier_run / "scores.json").read_text())
    (head,) = scores.values()
    assert head["split"] == "test" and head["n"] == len(y)
    assert head["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert head["roc_auc"] == pytest.approx(sk.roc_auc_score(y, probs, multi_class="ovr"))
    assert head["average_precision"] == pytest.approx(sk.average_precision_score(y, probs))
    assert head["macro_f1"] == pytest.approx(sk.f1_score(y, pred, average="macro"))


def test_regression_pictures_and_scores(regression_run: Path) -> None:
    assert_picture(regression_run / "predictions.png")
    for name in ("confusion.png", "roc_pr.png", "calibration.png", "per_class.csv"):
        assert not (regression_run / name).exists(), name
    y, pred, split = held_out_predictions(regression_run, regression_run.parent / "line.nn")
    assert split == "validation"
    (head,) = json.loads((regression_run / "scores.json").read_text()).values()
    assert head["split"] == "validation"
    assert head["r2"] == pytest.approx(sk.r2_score(y, pred.reshape(y.shape)), abs=1e-9)
    assert head["rmse"] == pytest.approx(sk.root_mean_squared_error(y, pred.reshape(y.shape)))
    assert head["mae"] == pytest.approx(sk.mean_absolute_error(y, pred.reshape(y.shape)))
    assert head["r2"] > 0.5  # it learned the line: the scores are of real predictions


def test_one_set_of_pictures_per_output_head(tmp_path: Path) -> None:
    example = (ROOT / "examples" / "two_heads.nn").read_text()
    (tmp_path / "grades_scores.csv").write_bytes(
        (ROOT / "examples" / "grades_scores.csv").read_bytes()
    )
    out = run(tmp_path, example, "student", "--epochs", "3")
    for name in ("passed_confusion.png", "passed_roc_pr.png", "score_predictions.png"):
        assert_picture(out / name)
    assert (out / "passed_per_class.csv").exists() and not (out / "confusion.png").exists()
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores) == {"passed", "score"} and "r2" in scores["score"]
    assert "roc_auc" in scores["passed"]


def test_generative_models_get_no_prediction_pictures(tmp_path: Path) -> None:
    out = run(tmp_path, AUTOENCODER, "squeeze")
    assert (out / "curves.png").exists()
    left = {p.name for p in out.iterdir()}
    assert not left & {"scores.json", "confusion.png", "predictions.png", "per_class.csv"}


def test_without_matplotlib_a_note_and_the_tables(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    desc = model_pictures.describe_classification(rng.integers(0, 2, 30), rng.random((30, 1)))
    desc.update(head="out", prefix="", split="validation", model="m")
    monkeypatch.setitem(__import__("sys").modules, "matplotlib.figure", None)
    note = model_pictures.draw_pictures(tmp_path, [desc])
    assert note == "model pictures skipped: pip install 'nndsl[plot]' for plots"
    model_pictures.write_tables(tmp_path, [desc])
    assert {p.name for p in tmp_path.iterdir()} == {"per_class.csv", "scores.json"}


def test_a_class_absent_from_the_held_out_split(tmp_path: Path) -> None:
    """Its curve is left out (it has no positives) and named; the macro AUC, which needs
    every class (as scikit-learn's), is not reported."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 40)  # class 2 never occurs
    probs = rng.dirichlet(np.ones(3), size=40)
    desc = model_pictures.describe_classification(y, probs, ["a", "b", "c"])
    assert desc["absent"] == ["c"] and [c["class"] for c in desc["curves"]] == ["a", "b"]
    assert "roc_auc" not in desc["scores"]
    assert desc["per_class"]["support"] == [int((y == 0).sum()), int((y == 1).sum()), 0]
    desc.update(head="out", prefix="", split="validation", model="m")
    assert model_pictures.draw_pictures(tmp_path, [desc]) is None
    assert_picture(tmp_path / "roc_pr.png")


def test_learning_rate_panel_and_log_axis(tmp_path: Path) -> None:
    assert spans_decades([10.0, 0.05]) and not spans_decades([1.0, 0.02])
    assert not spans_decades([5.0, 0.0, 0.001])  # a zero: no log axis
    base = {"loss": [100.0, 1.0, 0.01], "val_loss": [90.0, 2.0, 0.5]}
    plain = History({**base, "lr": [0.1, 0.1, 0.1]}, [0, 1, 2])
    scheduled = History({**base, "lr": [0.1, 0.01, 0.001]}, [0, 1, 2])
    plot_curves(plain, tmp_path / "plain.png")
    plot_curves(scheduled, tmp_path / "scheduled.png")
    # a constant rate draws no panel; a changing one draws it beside the loss
    assert png_size(tmp_path / "scheduled.png")[0] == 2 * png_size(tmp_path / "plain.png")[0]


def test_the_classifier_run_records_the_schedule(classifier_run: Path) -> None:
    with open(classifier_run / "history.csv", newline="") as f:
        lr = [float(r["lr"]) for r in csv.DictReader(f)]
    assert lr[0] == pytest.approx(0.02) and lr[-1] == pytest.approx(0.02 * 0.5**2)
    # three panels: loss, accuracy, learning rate
    assert png_size(classifier_run / "curves.png")[0] == 1500


def test_report_shows_the_pictures_and_the_table(
    classifier_run: Path, regression_run: Path
) -> None:
    page = report_html(classifier_run)
    for alt in ("confusion matrix", "ROC and precision-recall", "calibration curve"):
        assert f'alt="{alt}' in page
    assert "Predictions (test split, " in page and "versicolor" in page and "weighted avg" in page
    assert 'alt="predicted against actual, residuals"' in report_html(regression_run)


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(),
    reason="no headless Chromium at /usr/bin/chromium (not installed by default; CI installs none)",
)
def test_report_screenshot_in_headless_chromium(classifier_run: Path, tmp_path: Path) -> None:
    import subprocess

    page, shot = tmp_path / "report.html", tmp_path / "shot.png"
    page.write_text(report_html(classifier_run), encoding="utf-8")
    subprocess.run(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1100,3000", page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # every embedded picture decodes in the browser: a script added to a copy of the page
    # writes each image's decoded width into the DOM that Chromium dumps after loading
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => { document.body.setAttribute("
        "'data-widths', [...document.images].map(i => i.alt + '=' + i.naturalWidth).join(';'))"
        "});</script>"
    )
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script + "</body>"))
    dom = subprocess.run(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    widths = dict(
        w.rsplit("=", 1) for w in dom.split('data-widths="', 1)[1].split('"', 1)[0].split(";")
    )
    for alt in ("learning curves", "confusion matrix", "ROC and precision", "calibration curve"):
        (width,) = [int(v) for k, v in widths.items() if k.startswith(alt)]
        assert width >= 300, (alt, widths)
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[0] >= 2000
    lower = pixels[1000:]  # past the metrics: the pictures are drawn, not blank boxes
    assert lower.std() > 0.05 and len(np.unique(lower.reshape(-1, 3)[::97], axis=0)) > 20
