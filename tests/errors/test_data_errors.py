"""The data-file error corpus: every defect of a CSV that `nndsl run` is given ends in one
message located in the data file (file:line:col, the line, a caret) that names the file,
the line and the column, including the checks made after loading (a class label out of
range for the model's output), which name the file's own line, not a shuffled row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nndsl.cli import main

CASES = Path(__file__).parent / "data_cases"

BINARY = ("dense(1, activation=sigmoid)", "binary_crossentropy")
THREE_CLASSES = ("dense(3, activation=softmax)", "sparse_categorical_crossentropy")

# file: (model output and loss, target, line, column, fragment of the message)
EXPECT = {
    "empty.csv": (BINARY, "y", 1, 1, "data file empty.csv is empty"),
    "header_only.csv": (BINARY, "y", 1, 1, "header_only.csv has a header but no data rows"),
    "ragged_short.csv": (BINARY, "y", 3, 4, "line 3: 2 cells but the header has 3"),
    "ragged_long.csv": (BINARY, "y", 2, 7, "line 2: 4 cells but the header has 3"),
    "non_numeric.csv": (BINARY, "y", 3, 3, "line 3, column 'b': 'abc' is not a number"),
    "nan.csv": (BINARY, "y", 1, 3, "column 'b' has no values (every cell is empty)"),
    "inf.csv": (BINARY, "y", 3, 3, "line 3, column 'b': the value is infinite"),
    "unknown_target.csv": (BINARY, "label", 1, 1, "has no column 'label' (line 1, the header)"),
    "label_out_of_range.csv": (
        THREE_CLASSES,
        "y",
        4,
        5,
        "line 4, column 'y': class label 7 is out of range for 3 output units",
    ),
    "too_many_classes.csv": (
        THREE_CLASSES,
        "kind",
        5,
        5,
        "line 5, column 'kind': class 'dog' is label 3 of 4 (ant, bee, cat, dog): "
        "3 output units cannot tell them apart",
    ),
    "binary_out_of_range.csv": (
        BINARY,
        "y",
        4,
        5,
        "line 4, column 'y': binary_crossentropy wants targets between 0 and 1, got 2",
    ),
    "fractional_label.csv": (
        THREE_CLASSES,
        "y",
        3,
        5,
        "line 3, column 'y': sparse_categorical_crossentropy wants whole class labels, got 1.5",
    ),
    "not_utf8.csv": (BINARY, "y", 3, 3, "not_utf8.csv is not UTF-8 text (line 3"),
    "mixed_labels.csv": (
        BINARY,
        "y",
        4,
        5,
        "line 4, column 'y': 'yes' is not a number, though other values of target 'y' are",
    ),
    "text_labels_for_one_unit.csv": (
        BINARY,
        "y",
        2,
        5,
        "line 2, column 'y': class 'yes' is label 2 of 3 (1, no, yes): "
        "1 output unit cannot tell them apart",
    ),
    "line_break_character.csv": (
        BINARY,
        "y",
        3,
        1,
        "line 3, column 'a': 'x\\x1cy' is not a number",
    ),
}


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CASES.glob("*.csv")) == sorted(EXPECT)
    assert len(EXPECT) >= 10


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_a_broken_data_file_is_located_in_itself(name: str, tmp_path: Path, capsys) -> None:
    (output, loss), target, line, column, fragment = EXPECT[name]
    data = tmp_path / name
    shutil.copy(CASES / name, data)
    source = tmp_path / "m.nn"
    source.write_text(
        f"model m {{\n    input(2)\n    {output}\n}}\n"
        f'train m {{\n    data = csv("{name}", target="{target}")\n    loss = {loss}\n}}\n'
    )
    out = tmp_path / "run"
    assert main(["run", str(source), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    first, shown, caret, *_ = err.splitlines() + ["", ""]
    assert first.startswith(f"{data}:{line}:{column}: error: "), err
    assert fragment in first, err
    assert name in first  # the file, even where the location is lost (a log line)
    lines = data.read_bytes().decode("utf-8", "replace").split("\n")
    assert shown.startswith(f"{line:>4} | ")
    assert len(shown) - 7 == len(lines[line - 1])  # the very line, character for character
    assert caret.index("^") == 7 + column - 1
    assert not out.exists() and not (tmp_path / "run.partial").exists()
