"""Pictures of samples (nndsl.train.pictures), read back from the PNG: its size follows
from figsize x dpi, each image lands in its cell on one colour scale, scatters keep equal
scales; bad input is an NNDSLError with or without matplotlib; a note without it."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from nndsl.errors import NNDSLError
from nndsl.files import is_temporary
from nndsl.train.pictures import image_grid, latent_scatter, scatter_samples

WHITE, BLACK = 0.98, 0.02
GROUND = 0.8  # the grid's background grey


def needs_matplotlib():
    pytest.importorskip("matplotlib")
    import matplotlib.image

    return matplotlib.image


def read(path) -> np.ndarray:
    """The PNG as floats (height, width, RGB) in 0..1."""
    return needs_matplotlib().imread(str(path))[..., :3]


def cell_centre(rgb: np.ndarray, rows: int, cols: int, r: int, c: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    return rgb[int((r + 0.5) * h / rows), int((c + 0.5) * w / cols)]


# ---------------------------------------------------------------- image_grid


@pytest.mark.parametrize(
    "n, cols, titles, size",
    [
        # ceil(sqrt(10)) = 4 columns, 3 rows of 1-inch cells at 40 dpi
        (10, None, False, (3 * 40, 4 * 40)),
        # titles add a 0.25-inch band above each row: 3 * 1.25 * 40 = 150
        (10, None, True, (150, 4 * 40)),
        (9, None, False, (3 * 40, 3 * 40)),
        (5, 5, False, (40, 5 * 40)),
        (3, 10, False, (40, 3 * 40)),  # never more columns than images
        (7, 2, False, (4 * 40, 2 * 40)),
    ],
)
def test_grid_size_follows_cells_and_dpi(tmp_path, n, cols, titles, size) -> None:
    needs_matplotlib()
    path = tmp_path / "grid.png"
    labels = [str(i) for i in range(n)] if titles else None
    assert image_grid(np.zeros((n, 8, 8)), path, cols=cols, titles=labels, cell=1.0, dpi=40) is None
    assert read(path).shape == (*size, 3)


def test_only_the_first_cell_is_white_when_only_the_first_image_is(tmp_path) -> None:
    images = np.zeros((6, 8, 8))
    images[0] = 1.0
    path = tmp_path / "grid.png"
    image_grid(images, path, cell=1.0, dpi=60)  # 3 columns, 2 rows: 180 x 120 pixels
    rgb = read(path)
    assert rgb.shape == (120, 180, 3)
    white = (rgb > WHITE).all(axis=2)
    ys, xs = np.nonzero(white)
    assert ys.max() < 60 and xs.max() < 60  # inside the top-left cell
    # the image fills its cell but a thin margin (4% each side): (0.92 * 60)^2 pixels
    assert white.sum() > 0.8 * 60 * 60
    assert (cell_centre(rgb, 2, 3, 0, 0) > WHITE).all()
    for r, c in [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]:
        assert (cell_centre(rgb, 2, 3, r, c) < BLACK).all(), (r, c)
    np.testing.assert_allclose(rgb[1, 1], GROUND, atol=0.01)  # light grey, not white


def test_one_colour_scale_min_to_max_or_zero_to_one(tmp_path) -> None:
    path = tmp_path / "grid.png"
    centres = lambda: [cell_centre(read(path), 2, 2, r, c) for r, c in [(0, 0), (0, 1)]]  # noqa: E731

    # outside 0..1 (a tanh generator): the smallest value black, the largest white
    images = np.full((4, 5, 5), -1.0)
    images[0] = 1.0
    image_grid(images, path, cell=1.0, dpi=40)
    first, other = centres()
    assert (first > WHITE).all() and (other < BLACK).all()

    # inside 0..1: shown as given, 0.5 is mid grey, not black
    images = np.full((4, 5, 5), 0.5)
    images[0] = 1.0
    image_grid(images, path, cell=1.0, dpi=40)
    first, other = centres()
    assert (first > WHITE).all()
    np.testing.assert_allclose(other, 0.5, atol=0.01)

    # 1..2 lies outside 0..1: min..max, so 1 is black
    image_grid(images + 1.0, path, cell=1.0, dpi=40)
    first, other = centres()
    assert (first > WHITE).all() and (other < BLACK).all()


def test_colour_images_and_a_single_channel(tmp_path) -> None:
    path = tmp_path / "grid.png"
    images = np.zeros((4, 6, 6, 3))
    images[0, ..., 0] = 1.0  # red
    images[1:, ..., 2] = 1.0  # blue
    image_grid(images, path, cell=1.0, dpi=40)
    rgb = read(path)
    np.testing.assert_allclose(cell_centre(rgb, 2, 2, 0, 0), [1, 0, 0], atol=0.02)
    for r, c in [(0, 1), (1, 0), (1, 1)]:
        np.testing.assert_allclose(cell_centre(rgb, 2, 2, r, c), [0, 0, 1], atol=0.02)

    grey = np.zeros((4, 6, 6, 1))
    grey[0] = 1.0
    image_grid(grey, path, cell=1.0, dpi=40)  # (n, h, w, 1): grey
    rgb = read(path)
    assert (cell_centre(rgb, 2, 2, 0, 0) > WHITE).all()
    assert (cell_centre(rgb, 2, 2, 1, 1) < BLACK).all()


def test_titles_are_drawn_over_their_images(tmp_path, monkeypatch) -> None:
    needs_matplotlib()
    import matplotlib.axes

    drawn = []
    original = matplotlib.axes.Axes.set_title

    def spy(self, label, *args, **kwargs):
        drawn.append(label)
        return original(self, label, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", spy)
    image_grid(np.zeros((3, 4, 4)), tmp_path / "g.png", titles=np.array([7, 2, 9]))
    assert drawn == ["7", "2", "9"]


def test_written_atomically_over_an_old_file(tmp_path) -> None:
    needs_matplotlib()
    path = tmp_path / "grid.png"
    path.write_bytes(b"old")
    assert image_grid(np.zeros((2, 4, 4)), path) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [name for name in os.listdir(tmp_path) if is_temporary(name)]


@pytest.mark.parametrize(
    "images, kwargs, fragment",
    [
        (np.zeros((8, 8)), {}, "shape"),  # one image without its batch axis
        (np.zeros((2, 8, 8, 2)), {}, "shape"),  # two channels
        (np.zeros((2, 2, 8, 8, 3)), {}, "shape"),
        (np.zeros((0, 8, 8)), {}, "no images"),
        (np.zeros((2, 0, 8)), {}, "no images"),
        (np.full((2, 4, 4), np.nan), {}, "NaN"),
        (np.zeros((2001, 2, 2)), {}, "at most"),
        ([["a"]], {}, "not numbers"),
        (np.zeros((3, 4, 4)), {"titles": ["a", "b"]}, "2 titles for 3 images"),
        (np.zeros((3, 4, 4)), {"titles": "abc"}, "one per image"),
        (np.zeros((3, 4, 4)), {"cols": 0}, "cols >= 1"),
        (np.zeros((3, 4, 4)), {"cell": 0}, "cell > 0"),
    ],
)
def test_image_grid_refuses_bad_input(tmp_path, images, kwargs, fragment) -> None:
    with pytest.raises(NNDSLError, match=fragment):
        image_grid(images, tmp_path / "g.png", **kwargs)
    assert not (tmp_path / "g.png").exists()


# ---------------------------------------------------------------- scatters


def orange(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the generated points (tab:orange, 1.0 0.5 0.05, over white or grey)."""
    return rgb[..., 0] - rgb[..., 2] > 0.4


def grey(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the real points: grey, between black text and the white ground."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (abs(r - g) < 0.02) & (abs(r - b) < 0.02) & (r > 0.3) & (r < 0.85)


def wide_cloud(n: int = 3000, seed: int = 0) -> np.ndarray:
    """Points filling [-4, 4] x [-1, 1]: four times as wide as high."""
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(-4, 4, n), rng.uniform(-1, 1, n)]


def aspect_of(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    return (xs.max() - xs.min()) / (ys.max() - ys.min())


def test_scatter_size_and_equal_scales(tmp_path) -> None:
    path = tmp_path / "s.png"
    assert scatter_samples(wide_cloud(), path, size=4.0, dpi=50) is None
    assert read(path).shape == (200, 200, 3)
    scatter_samples(wide_cloud(), path)  # 5 x 5 inches at 100 dpi
    rgb = read(path)
    assert rgb.shape == (500, 500, 3)
    # equal scales: the cloud is drawn four times as wide as high (1 without them)
    assert 3.5 < aspect_of(orange(rgb)) < 4.5


def test_real_points_are_grey_and_behind(tmp_path) -> None:
    path = tmp_path / "s.png"
    samples = wide_cloud()
    scatter_samples(samples, path)
    alone = read(path)
    scatter_samples(samples, path, real=samples + [0.0, 3.0])  # real beside the samples
    beside = read(path)
    assert grey(beside).sum() > 5 * grey(alone).sum()
    scatter_samples(samples, path, real=samples)  # real under the samples, hidden
    under = read(path)
    assert grey(under).sum() < 0.2 * grey(beside).sum()
    assert orange(under).sum() > 0.9 * orange(alone).sum()  # the samples stay on top


def tab10(i: int) -> np.ndarray:
    needs_matplotlib()
    import matplotlib

    return np.array(matplotlib.colormaps["tab10"](i)[:3])


def test_latent_codes_coloured_by_class_with_a_legend(tmp_path, monkeypatch) -> None:
    needs_matplotlib()
    import matplotlib.axes
    import matplotlib.figure

    calls = []
    for cls, name in [(matplotlib.axes.Axes, "legend"), (matplotlib.figure.Figure, "colorbar")]:
        original = getattr(cls, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, spy)
    rng = np.random.default_rng(0)
    labels = np.repeat([0.0, 1.0, 2.0], 300)  # float labels that are whole numbers
    codes = np.array([[-3, 0], [0, 0], [3, 0]])[labels.astype(int)] + 0.3 * rng.standard_normal(
        (900, 2)
    )
    path = tmp_path / "z.png"
    assert latent_scatter(codes, labels, path, size=4.0, dpi=50) is None
    assert calls == ["legend"]
    rgb = read(path)
    assert rgb.shape == (200, 200, 3)
    # each class in its own colour: the mode of its pixels lies near tab10's colour
    for k in range(3):
        near = np.linalg.norm(rgb - tab10(k), axis=2) < 0.15
        assert near.sum() > 50, k

    calls.clear()
    latent_scatter(codes, rng.standard_normal(900), path)  # values, not classes
    assert calls == ["colorbar"]
    calls.clear()
    latent_scatter(codes, np.arange(900) % 50, path)  # too many classes for a legend
    assert calls == ["colorbar"]
    calls.clear()
    latent_scatter(codes, np.eye(3)[labels.astype(int)], path)  # one-hot: argmax
    assert calls == ["legend"]


def test_latent_codes_beyond_two_dimensions(tmp_path, monkeypatch) -> None:
    needs_matplotlib()
    import matplotlib.axes

    titles = []
    original = matplotlib.axes.Axes.set_title

    def spy(self, label, *args, **kwargs):
        titles.append(label)
        return original(self, label, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", spy)
    rng = np.random.default_rng(1)
    # the first two dimensions are four times as wide as high; the others are huge
    codes = np.c_[wide_cloud(), 100 * rng.standard_normal((3000, 3))]
    path = tmp_path / "z.png"
    latent_scatter(codes, np.zeros(3000), path, title="VAE")
    assert titles == ["VAE (first 2 of 5 dimensions)"]
    rgb = read(path)
    assert 3.5 < aspect_of(np.linalg.norm(rgb - tab10(0), axis=2) < 0.3) < 4.5
    titles.clear()
    latent_scatter(codes[:, :2], np.zeros(3000), path)
    assert titles == []


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda p: scatter_samples(np.zeros((5, 3)), p), r"shape \(n, 2\)"),
        (lambda p: scatter_samples(np.zeros(5), p), r"shape \(n, 2\)"),
        (lambda p: scatter_samples(np.zeros((0, 2)), p), "no points"),
        (lambda p: scatter_samples(np.full((3, 2), np.inf), p), "NaN or infinity"),
        (lambda p: scatter_samples(np.zeros((3, 2)), p, real=np.zeros((3, 1))), "real"),
        (lambda p: scatter_samples(np.zeros((3, 2)), p, size=0), "size > 0"),
        (lambda p: latent_scatter(np.zeros((5, 1)), np.zeros(5), p), "d >= 2"),
        (lambda p: latent_scatter(np.zeros(5), np.zeros(5), p), "d >= 2"),
        (lambda p: latent_scatter(np.zeros((0, 2)), np.zeros(0), p), "no codes"),
        (lambda p: latent_scatter(np.zeros((5, 2)), np.zeros(4), p), "4 labels for 5"),
        (lambda p: latent_scatter(np.zeros((5, 2)), np.full(5, np.nan), p), "labels hold NaN"),
        (lambda p: latent_scatter(np.full((5, 2), np.nan), np.zeros(5), p), "codes hold NaN"),
    ],
)
def test_scatters_refuse_bad_input(tmp_path, call, fragment) -> None:
    with pytest.raises(NNDSLError, match=fragment):
        call(tmp_path / "s.png")
    assert not (tmp_path / "s.png").exists()


# ---------------------------------------------------------------- without matplotlib


def test_a_note_instead_without_matplotlib(tmp_path, monkeypatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it fails
    notes = [
        image_grid(np.zeros((2, 4, 4)), tmp_path / "grid.png"),
        scatter_samples(np.zeros((3, 2)), tmp_path / "samples.png"),
        latent_scatter(np.zeros((3, 2)), np.zeros(3), tmp_path / "latent.png"),
    ]
    for note, name in zip(notes, ["grid.png", "samples.png", "latent.png"]):
        assert note is not None and note.startswith(f"{name} skipped") and "pip install" in note
    assert os.listdir(tmp_path) == []
