"""`nndsl generate RUN`: the text a language model trained by `nndsl run` writes after a
prompt (nndsl.train.generate), printed to standard output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nndsl.commands.generative import load_run_model
from nndsl.commands.run import add_engine_options
from nndsl.errors import NNDSLError
from nndsl.files import show_path
from nndsl.runfolder import RunFolder
from nndsl.train.generate import check_settings
from nndsl.train.kvcache import why_not_cached


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "generate",
        cmd_generate,
        "write text with a language model trained on text(...) data",
        [
            'nndsl generate runs/char_lm --prompt "ROMEO:" --tokens 200',
            'nndsl generate runs/char_lm --prompt "To be" --temperature 0.8 --top-k 40 --seed 1',
            'nndsl generate RUN/weights.npz --prompt "the " --temperature 0   # greedy',
        ],
    )
    p.add_argument(
        "run", metavar="RUN", help="a run folder, or a weights file saved by one (weights.npz)"
    )
    p.add_argument(
        "--prompt",
        required=True,
        help="the text to continue (at least one token; every token in the vocabulary)",
    )
    p.add_argument("--tokens", type=int, default=200, help="how many tokens to write (200)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="below 1: safer, above 1: wilder; 0: always the likeliest token (1.0)",
    )
    p.add_argument(
        "--top-k", type=int, default=0, help="sample among the K likeliest tokens (0: all)"
    )
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (0)")
    add_engine_options(p, "numpy (the default) or torch; one seed writes the same text on both")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="run the whole window for every token, without the key/value cache (the same "
        "text, slower)",
    )


def cmd_generate(args: argparse.Namespace) -> int:
    """The prompt, then each token as it is written (a Ctrl-C stops it: exit 130)."""
    check_settings(args.tokens, args.temperature, args.top_k)  # refused before any output
    model = _language_model(args.run, args.backend, args.device)
    prompt = model.vocab.decode(model.encode_prompt(args.prompt))

    def write(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    reason = None if args.no_cache else why_not_cached(model.graph)
    if reason is not None:  # why it is slower than a causal transformer of its size
        print(
            f"nndsl: no key/value cache: {reason}; every token runs the whole window",
            file=sys.stderr,
        )
    write(prompt)
    model.generate(
        args.prompt,
        args.tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
        stream=write,
        cache=not args.no_cache,
    )
    write("\n")
    return 0


def _language_model(run: str, backend: str, device: str) -> Any:
    """The model of a run folder (its weights.npz) or of a weights file, with its
    vocabulary (from the weights file, else the folder's vocab.json)."""
    model = load_run_model(run, backend, device)
    if model.vocab is None and Path(run).is_dir():
        model.vocab = RunFolder(Path(run)).vocab
    if model.vocab is None:
        raise NNDSLError(
            f"{show_path(run)} holds no vocabulary: it is not a model trained on text",
            hint='generate continues text with a model trained on data = text("...")',
        )
    return model
