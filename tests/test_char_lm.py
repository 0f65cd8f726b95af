"""examples/char_lm.nn trained as written, as `nndsl run` trains it: the validation bits
per character it states (the held-out last 10% of the Shakespeare text), then a sample
written from its run folder by `nndsl generate`."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from nndsl.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "char_lm.nn"
TARGET_BPC = 2.65  # the example's stated target (its comment), validation bits per character


def test_char_lm_reaches_its_bits_per_character(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    started = time.perf_counter()
    assert main(["run", str(EXAMPLE), "--out", str(run), "--quiet"]) == 0
    seconds = time.perf_counter() - started
    validation = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["validation"]
    bpc = validation["bits_per_token"]
    assert bpc == validation["loss"] / math.log(2)
    assert bpc <= TARGET_BPC, f"{bpc:.3f} bits per character after {seconds:.0f} s"
    assert f"at most {TARGET_BPC} bits per character" in EXAMPLE.read_text(encoding="utf-8")
    capsys.readouterr()
    args = ["--prompt", "ROMEO:", "--tokens", "100", "--temperature", "0.8", "--top-k", "20"]
    assert main(["generate", str(run), *args]) == 0
    sample = capsys.readouterr().out
    assert sample.startswith("ROMEO:") and len(sample) == len("ROMEO:") + 101
    words = sample.split()
    assert sum(w.strip(".,;:!?'").lower() in ENGLISH for w in words) >= 3, sample


# common words the model has seen thousands of times: a sample at this loss holds some
ENGLISH = set("the and i to of a you my that in is not with me it for be your he this".split())
