"""`nndsl generate RUN`, driven as a user would: a run folder made by `nndsl run` on a
text written here, then generation from the folder and from its weights file; errors
are one clean message with exit status 1, and Ctrl-C ends a real process with 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nndsl
from nndsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEXT = "to be or not to be, that is the question.\n" * 40

SOURCE = """use std

model lm {
    tokens = input(8)
    embedding(24, 16)
    sinusoidal_position()
    transformer_encoder(2, 8, 32, causal=true)
    layer_norm()
    dense(24)
}

train lm {
    data       = text("play.txt", tokenizer=char, context=8)
    validation = 0.1
    loss       = sparse_categorical_crossentropy
    optimizer  = adam(lr=0.02)
    batch_size = 16
    epochs     = 2
    seed       = 0
}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli_lm")
    (folder / "play.txt").write_text(TEXT, encoding="utf-8")
    (folder / "lm.nn").write_text(SOURCE, encoding="utf-8")
    out = folder / "run"
    assert main(["run", str(folder / "lm.nn"), "--out", str(out), "--quiet"]) == 0
    return out


def generate(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_run_folder_holds_the_vocabulary_and_bits_per_token(run: Path) -> None:
    vocab = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
    assert vocab == {"tokenizer": "char", "tokens": ["<pad>", "<unk>", *sorted(set(TEXT))]}
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    val = metrics["validation"]
    assert val["bits_per_token"] == pytest.approx(val["loss"] / 0.6931471805599453)


def test_generate_prints_the_prompt_and_the_tokens(run: Path, capsys) -> None:
    code, out, err = generate(capsys, str(run), "--prompt", "to be", "--tokens", "30")
    assert code == 0 and err == ""
    assert out.startswith("to be") and out.endswith("\n") and len(out) == len("to be") + 31
    again = generate(capsys, str(run / "weights.npz"), "--prompt", "to be", "--tokens", "30")
    assert again == (0, out, "")  # the weights file alone: the same model, the same text


def test_no_cache_writes_the_same_text(run: Path, capsys) -> None:
    args = [str(run), "--prompt", "to", "--tokens", "40", "--temperature", "0.9"]
    cached = generate(capsys, *args)
    assert generate(capsys, *args, "--no-cache") == cached and cached[0] == 0


def test_seed_temperature_and_top_k_on_the_command_line(run: Path, capsys) -> None:
    common = [str(run), "--prompt", "t", "--tokens", "80", "--temperature", "1.5"]
    a = generate(capsys, *common, "--seed", "1")[1]
    assert generate(capsys, *common, "--seed", "1")[1] == a
    assert generate(capsys, *common, "--seed", "2")[1] != a
    narrow = generate(capsys, *common, "--seed", "1", "--top-k", "1")[1]
    greedy = generate(capsys, str(run), "--prompt", "t", "--tokens", "80", "--temperature", "0")
    assert narrow == greedy[1]  # top-1 is greedy whatever the temperature


def test_the_same_text_on_the_torch_backend(run: Path, capsys) -> None:
    pytest.importorskip("torch")
    args = [str(run), "--prompt", "that", "--tokens", "40", "--temperature", "0.8", "--seed", "3"]
    assert generate(capsys, *args, "--backend", "torch") == generate(capsys, *args)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--prompt", "to BE"], "lacks: 'B', 'E'"),
        (["--prompt", ""], "the prompt is empty"),
        (["--prompt", "to", "--temperature", "-1"], "temperature must be a number >= 0"),
        (["--prompt", "to", "--tokens", "-5"], "tokens must be a whole number"),
    ],
)
def test_mistakes_are_one_clean_message(run: Path, capsys, args, message) -> None:
    code, out, err = generate(capsys, str(run), *args)
    assert code == 1 and out == ""
    assert message in err and "Traceback" not in err


def test_a_folder_or_file_that_is_no_language_model(tmp_path: Path, capsys) -> None:
    code, _, err = generate(capsys, str(tmp_path / "nope"), "--prompt", "a")
    assert code == 1 and "no such run folder or weights file" in err
    code, _, err = generate(capsys, str(tmp_path), "--prompt", "a")
    assert code == 1 and "not a run folder" in err
    weights = tmp_path / "w.npz"  # a model trained on numbers: no vocabulary
    program = nndsl.compile_string("model m { input(2)  dense(1) }\ntrain m { loss = mse }")
    program.build().save(weights)
    code, _, err = generate(capsys, str(weights), "--prompt", "a")
    assert code == 1 and "holds no vocabulary" in err and "Traceback" not in err


def test_ctrl_c_while_generating_ends_with_130(run: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nndsl", "generate", str(run), "--prompt", "to"]
        + ["--tokens", "1000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout.read(4)  # the prompt and a first token: generating
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
    assert "interrupted" in err and "Traceback" not in err
