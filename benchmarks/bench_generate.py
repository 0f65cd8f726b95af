"""Tokens per second of `model.generate` on the model of examples/char_lm.nn, side by
side on the NumPy and torch backends (CPU unless --device says otherwise).

Without a cache (`generate(cache=False)`) every new token runs the model over its whole
window of `context` tokens (the text so far, padded): one full forward pass per token.
With the key/value cache (nndsl.train.kvcache, the default where the model allows it)
each token runs at its own position alone, attending to the cached keys and values;
past the context the cache is rebuilt from the cropped window (as costly as a full
pass), so a long text costs more per token than a short one: both are measured.

The weights are the model's initial ones (the speed of a forward pass does not depend
on them); the vocabulary is fitted from the example's text as training would.

    python benchmarks/bench_generate.py [--tokens 200] [--rounds 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import nndsl

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "char_lm.nn"
PROMPT = "ROMEO:\n"


def tokens_per_second(model, tokens: int, rounds: int, cache: bool) -> float:
    model.generate(PROMPT, 5, temperature=0.8, top_k=40, cache=cache)  # warm up
    rates = []
    for r in range(rounds):
        start = time.perf_counter()
        model.generate(PROMPT, tokens, temperature=0.8, top_k=40, seed=r, cache=cache)
        rates.append(tokens / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="torch: cpu, cuda, ...")
    args = parser.parse_args()
    program = nndsl.compile_file(EXAMPLE)
    graph = program.graph
    context = graph.inputs[0].shape[0]
    print(
        f"model: {EXAMPLE.name} ({graph.param_count:,} parameters, context {context}); "
        f"{args.tokens} tokens per round after a {len(PROMPT)}-character prompt, median "
        f"of {args.rounds}"
    )
    print(f"{'backend':<16}{'no cache (tokens/s)':>22}{'key/value cache':>18}{'ratio':>8}")
    for backend, build in [
        ("numpy", {}),
        (f"torch ({args.device})", {"device": args.device}),
    ]:
        model = program.build(backend=backend.split()[0], **build)
        plain = tokens_per_second(model, args.tokens, args.rounds, cache=False)
        cached = tokens_per_second(model, args.tokens, args.rounds, cache=True)
        print(f"{backend:<16}{plain:>22.1f}{cached:>18.1f}{cached / plain:>7.2f}x")


if __name__ == "__main__":
    main()
