"""docs/lecture.md stays true: its trace listings are what `nndsl trace` prints, its
pictures and example files exist, and the README links to it."""

from __future__ import annotations

import re
from pathlib import Path

from nndsl.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "lecture.md"
TEXT = DOC.read_text(encoding="utf-8")
PERCEPTRON = str(ROOT / "examples" / "lecture" / "perceptron.nn")


def test_trace_listings_are_the_real_output(capsys) -> None:
    forward, backward = re.findall(r"```text\n(.*?)```", TEXT, re.S)
    assert main(["trace", PERCEPTRON, "--input", "-1, 2"]) == 0
    assert forward in capsys.readouterr().out
    assert main(["trace", PERCEPTRON, "--input", "-1, 2", "--target", "1"]) == 0
    assert backward in capsys.readouterr().out


def test_pictures_and_examples_exist() -> None:
    pictures = re.findall(r"\]\((img/[\w.]+\.png)\)", TEXT)
    assert len(pictures) >= 6
    for picture in pictures:
        path = DOC.parent / picture
        assert path.is_file(), picture
        assert path.stat().st_size < 100_000, picture
    for example in re.findall(r"\]\(\.\./(examples/lecture/\w+\.nn)\)", TEXT):
        assert (ROOT / example).is_file(), example


def test_readme_links_here() -> None:
    assert "(docs/lecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
