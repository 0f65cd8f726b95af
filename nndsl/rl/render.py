"""Frames of the built-in environments, drawn in NumPy (RGB arrays, height x width x
3), for `nndsl play RUN --gif out.gif`: CartPole as Gymnasium draws it (a cart on a
track, the pole at its angle, the world 4.8 units wide), the grid world as cells with
its walls, goal and agent. Writing the GIF needs Pillow (the `gif` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.rl.envs import CartPole, GridWorld

WIDTH, HEIGHT = 300, 200  # CartPole's frame (Gymnasium's 600 x 400, halved)
CART, POLE, TRACK, BACKGROUND = (0, 0, 0), (202, 152, 101), (90, 90, 90), (255, 255, 255)
WALL, GOAL, AGENT, GRIDLINE = (60, 60, 60), (90, 190, 90), (40, 90, 220), (200, 200, 200)


def can_render(env: Any) -> bool:
    return isinstance(env, (CartPole, GridWorld))


def frame(env: Any) -> np.ndarray:
    """The environment as it is now, as an RGB image."""
    if isinstance(env, CartPole):
        return _cartpole(env)
    if isinstance(env, GridWorld):
        return _gridworld(env)
    raise NNDSLError(
        f"{type(env).__name__} has no frames to draw",
        hint="--gif draws cartpole and gridworld environments",
    )


def _cartpole(env: CartPole) -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), BACKGROUND, np.uint8)
    scale = WIDTH / (2 * env.x_threshold)  # pixels per unit
    x, _, theta, _ = (float(v) for v in env.state)
    track_y = int(HEIGHT * 0.75)
    image[track_y, :] = TRACK
    cart_x = x * scale + WIDTH / 2
    cart_w, cart_h = 25, 15
    top, bottom = track_y - cart_h // 2, track_y + cart_h // 2
    left, right = int(round(cart_x - cart_w)), int(round(cart_x + cart_w))
    image[max(top, 0) : bottom, max(left, 0) : max(min(right, WIDTH), 0)] = CART
    # the pole: 2 * length units long from the cart's top, leaning by theta (right: +)
    length = scale * 2 * env.length
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    bx, by = cart_x, float(top)
    dx, dy = np.sin(theta), -np.cos(theta)  # image rows grow downwards
    along = (cols - bx) * dx + (rows - by) * dy
    across = np.abs((cols - bx) * dy - (rows - by) * dx)
    image[(along >= 0) & (along <= length) & (across <= 4)] = POLE
    return image


def _gridworld(env: GridWorld, cell: int = 32) -> np.ndarray:
    n = env.size
    image = np.full((n * cell, n * cell, 3), BACKGROUND, np.uint8)
    for index, color in [*((w, WALL) for w in env.walls), (env.goal, GOAL), (env.cell, AGENT)]:
        r, c = divmod(index, n)
        pad = cell // 5 if color == AGENT else 0
        image[r * cell + pad : (r + 1) * cell - pad, c * cell + pad : (c + 1) * cell - pad] = color
    image[::cell, :] = GRIDLINE
    image[:, ::cell] = GRIDLINE
    return image


def write_gif(frames: list[np.ndarray], path: str | Path, seconds_per_frame: float) -> None:
    """The frames as an animated GIF at `path`, looping."""
    try:
        from PIL import Image
    except ImportError:
        raise NNDSLError("--gif needs Pillow", hint="pip install 'nndsl[gif]'") from None
    images = [Image.fromarray(f) for f in frames]
    try:
        images[0].save(
            path,
            save_all=True,
            append_images=images[1:],
            duration=max(int(seconds_per_frame * 1000), 20),
            loop=0,
        )
    except OSError as e:
        raise NNDSLError(f"cannot write {path}: {e.strerror or e}") from None
