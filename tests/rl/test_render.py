"""`nndsl play RUN --gif`: frames drawn from the environment's state (the cart where x
puts it, the pole leaning as theta says, the grid world's agent in its cell), and the
GIF written as a user runs it, one frame per step of a shortest-path episode."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nndsl.cli import main
from nndsl.rl.envs import CartPole, GridWorld
from nndsl.rl.render import AGENT, CART, GOAL, POLE, WIDTH, frame
from tests.rl.test_agents import GRID


def cartpole_at(x: float, theta: float) -> np.ndarray:
    env = CartPole()
    env.state = np.array([x, 0.0, theta, 0.0])
    return frame(env)


def columns_of(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return np.nonzero((image == color).all(axis=2))[1]


def test_the_cart_sits_where_x_puts_it() -> None:
    centre = columns_of(cartpole_at(0.0, 0.0), CART).mean()
    assert centre == pytest.approx(WIDTH / 2, abs=1)
    moved = columns_of(cartpole_at(1.2, 0.0), CART).mean()  # 1.2 of the 4.8 units shown
    assert moved - centre == pytest.approx(WIDTH / 4, abs=1)


def test_the_pole_leans_as_theta_says() -> None:
    upright = cartpole_at(0.0, 0.0)
    rows, cols = np.nonzero((upright == POLE).all(axis=2))
    assert cols.min() >= WIDTH / 2 - 5 and cols.max() <= WIDTH / 2 + 5
    for theta in (0.2, -0.2):
        image = cartpole_at(0.0, theta)
        rows, cols = np.nonzero((image == POLE).all(axis=2))
        top = cols[rows == rows.min()].mean() - WIDTH / 2
        length = WIDTH / 4.8 * 2 * CartPole.length  # pixels: the pole is 1 unit long
        assert top == pytest.approx(length * np.sin(theta), abs=3)


def test_the_grid_world_shows_the_agent_in_its_cell() -> None:
    env = GridWorld(4, walls=[5])
    env.cell = 6  # row 1, column 2
    image = frame(env)
    ys, xs = np.nonzero((image == AGENT).all(axis=2))
    assert (ys.mean() // 32, xs.mean() // 32) == (1, 2)
    ys, xs = np.nonzero((image == GOAL).all(axis=2))
    assert (ys.min() // 32, xs.min() // 32) == (3, 3)


def test_play_writes_a_gif_of_the_episodes(tmp_path: Path, capsys, monkeypatch) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid.nn").write_text(GRID)
    assert main(["run", "grid.nn", "--out", "run", "-q"]) == 0
    assert main(["play", "run", "--episodes", "1", "--gif", "play.gif"]) == 0
    assert "7 frames: play.gif" in capsys.readouterr().out  # the start, then 6 steps
    with Image.open(tmp_path / "play.gif") as gif:
        assert gif.n_frames == 7
        first = np.asarray(gif.convert("RGB"))
        gif.seek(6)
        last = np.asarray(gif.convert("RGB"))
    assert (first[10, 10] == AGENT).all()  # the top-left cell
    assert (last[-10, -10] == AGENT).all()  # reached the goal


def test_gif_without_pillow_says_what_to_install(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid.nn").write_text(GRID)
    assert main(["run", "grid.nn", "--out", "run", "--epochs", "1", "-q"]) == 0
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert main(["play", "run", "--episodes", "1", "--gif", "play.gif"]) == 1
    assert "pip install 'nndsl[gif]'" in capsys.readouterr().err
    assert not (tmp_path / "play.gif").exists()
