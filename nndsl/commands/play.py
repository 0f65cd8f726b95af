"""`nndsl play RUN --episodes 5`: a trained agent (a run folder of a train block with
`env =`) plays greedy episodes of its environment; one return per line, then their mean.
`--gif out.gif` also draws the episodes as an animation (nndsl.rl.render)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from nndsl.agent_run import evaluate_agent, is_agent
from nndsl.commands.run import add_backend_options
from nndsl.errors import NNDSLError
from nndsl.rl.render import frame, write_gif
from nndsl.run import build_model
from nndsl.runfolder import compile_run_source, open_model_ref


def add_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "play",
        cmd_play,
        "let a trained agent play episodes of its environment and print their returns",
        [
            "nndsl play runs/q-20260101-120000 --episodes 5",
            "nndsl play runs/q-20260101-120000 --episodes 2 --gif play.gif",
        ],
    )
    p.add_argument("run", metavar="RUN", help="the run folder of an agent (or FILE.nn)")
    p.add_argument("--weights", metavar="W", help="weights to load (default: the run's)")
    p.add_argument("--episodes", type=int, default=5, help="episodes to play (5)")
    p.add_argument("--seed", type=int, help="seeds the episodes' starts (default: the run's)")
    p.add_argument(
        "--gif",
        metavar="OUT",
        help="draw the episodes as an animated GIF (cartpole, gridworld; needs Pillow)",
    )
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
    frames: list[np.ndarray] = []
    env_name = model.plan.env.name
    if args.gif and env_name not in GIF_EVERY:
        raise NNDSLError(f"--gif draws cartpole and gridworld, not {env_name}")
    every, seconds = GIF_EVERY.get(env_name, (1, 0.0))
    steps = [0]

    def draw(env: object) -> None:  # every `every`-th step of CartPole: GIFs are heavy
        if steps[0] % every == 0:
            frames.append(frame(env))
        steps[0] += 1

    returns = evaluate_agent(model, args.episodes, draw if args.gif else None)
    for i, value in enumerate(returns, 1):
        print(f"episode {i}: return {value:g}")
    print(f"mean return {np.mean(returns):g} over {len(returns)} episodes")
    if args.gif:
        write_gif(frames, args.gif, seconds)
        print(f"{len(frames)} frames: {args.gif}")
    return 0


# frames kept (every N-th step) and seconds each: CartPole's step is 0.02 s of its world
GIF_EVERY = {"cartpole": (2, 0.04), "gridworld": (1, 0.3)}
