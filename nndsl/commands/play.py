"""`nndsl play RUN --episodes 5`: a trained agent (a run folder of a train block with
`env =`) plays greedy episodes of its environment; one return per line, then their mean."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from nndsl.agent_run import evaluate_agent, is_agent
from nndsl.commands.run import add_backend_options
from nndsl.errors import NNDSLError
from nndsl.run import build_model
from nndsl.runfolder import compile_run_source, open_model_ref


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "play",
        cmd_play,
        "let a trained agent play episodes of its environment and print their returns",
        ["nndsl play runs/q-20260101-120000 --episodes 5"],
    )
    p.add_argument("run", metavar="RUN", help="the run folder of an agent (or FILE.nn)")
    p.add_argument("--weights", metavar="W", help="weights to load (default: the run's)")
    p.add_argument("--episodes", type=int, default=5, help="episodes to play (5)")
    p.add_argument("--seed", type=int, help="seeds the episodes' starts (default: the run's)")
    add_backend_options(p)


def cmd_play(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise NNDSLError(f"--episodes must be at least 1, got {args.episodes}")
    ref = open_model_ref(args.run, args.weights)
    program = compile_run_source(ref)
    if not is_agent(program, args.model):
        raise NNDSLError(
            f"{args.run} is not an agent: its train block names no env",
            hint="play is for reinforcement learning; see nndsl predict for other models",
        )
    model = build_model(program, args.backend, args.device, args.model, args.seed)
    if ref.weights is None:
        raise NNDSLError("no weights to play with", hint="give a run folder or --weights W")
    model.load(ref.weights)
    returns = evaluate_agent(model, args.episodes)
    for i, value in enumerate(returns, 1):
        print(f"episode {i}: return {value:g}")
    print(f"mean return {np.mean(returns):g} over {len(returns)} episodes")
    return 0
