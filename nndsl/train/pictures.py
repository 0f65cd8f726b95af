"""Pictures of what a generative model makes, as PNG files. Needs matplotlib (the `plot`
extra): without it each function writes nothing and returns a one-line note instead.

- `image_grid(images, path)`: images (n, h, w) grey or (n, h, w, 3) colour in a
  near-square grid, on one colour scale, with optional titles (class labels).
- `scatter_samples(samples, path, real=...)`: generated 2-d points over the real data.
- `latent_scatter(codes, labels, path)`: latent codes coloured by class.

The input is checked first (an NNDSLError for a wrong shape, no points, NaN), with or
without matplotlib. Files are written atomically: a reader never sees half a PNG.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.files import atomic_write_by_name

MAX_IMAGES = 1024  # a grid of more is too large to draw, or to look at
GROUND = "0.8"  # the grid's background: light grey, so a white image keeps its edges
TITLE_BAND = 0.25  # inches above each cell for its title, when there are titles
LEGEND_CLASSES = 20  # more classes (or labels that are not whole numbers): a colourbar


def _note(path: str | Path) -> str:
    return f"{Path(path).name} skipped: pip install 'nndsl[plot]' for plots"


def _figure_class() -> Any:
    """matplotlib's Figure (drawn without pyplot, so no global state), or None."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def _save(fig: Any, path: str | Path, dpi: int) -> None:
    atomic_write_by_name(
        path,
        lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", facecolor=fig.get_facecolor()),
        suffix=".png",
    )


# ---------------------------------------------------------------- image grids


def image_grid(
    images: Any,
    path: str | Path,
    cols: int | None = None,
    titles: Any = None,
    *,
    cell: float = 1.2,
    dpi: int = 100,
) -> str | None:
    """Write `images` as one PNG grid; returns a note instead when matplotlib is missing.

    images: (n, h, w) grey, or (n, h, w, 3) colour ((n, h, w, 1) is grey), any float
    range, all on one colour scale: 0 black .. 1 white when every value lies in 0..1,
    else the smallest value black .. the largest white.
    cols: images per row (default ceil(sqrt(n)), at most n); rows follow.
    titles: one per image (class labels, say), shown above each.
    The PNG is cols*cell inches wide and rows*cell high (rows*(cell + 0.25) with titles)
    at `dpi` dots per inch, each image centred in its cell, without axes, on light grey.
    """
    x = _images(images)
    n = len(x)
    cols = _cols(cols, n)
    rows = math.ceil(n / cols)
    labels = _titles(titles, n)
    if not _positive(cell) or not _positive(dpi):
        raise NNDSLError(f"image_grid needs cell > 0 and dpi > 0, got cell={cell}, dpi={dpi}")
    lo, hi = float(x.min()), float(x.max())
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    elif lo == hi:  # one value everywhere, outside 0..1: grey
        lo, hi = lo - 1, hi + 1
    Figure = _figure_class()
    if Figure is None:
        return _note(path)
    band = TITLE_BAND if labels is not None else 0.0
    width, height = cols * cell, rows * (cell + band)
    margin = 0.04 * cell
    fig = Figure(figsize=(width, height), dpi=dpi, facecolor=GROUND)
    for i in range(n):
        r, c = divmod(i, cols)
        ax = fig.add_axes(
            (
                (c * cell + margin) / width,
                (height - (r + 1) * (cell + band) + margin) / height,
                (cell - 2 * margin) / width,
                (cell - 2 * margin) / height,
            )
        )
        ax.set_axis_off()
        if x.ndim == 3:
            ax.imshow(x[i], cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        else:  # colour: matplotlib shows RGB as given in 0..1
            ax.imshow(np.clip((x[i] - lo) / (hi - lo), 0, 1), interpolation="nearest")
        if labels is not None:
            ax.set_title(labels[i], fontsize=8, pad=2)
    _save(fig, path, dpi)
    return None


def _images(images: Any) -> np.ndarray:
    x = _floats(images, "image_grid: images")
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 3):
        raise NNDSLError(
            f"image_grid needs images of shape (n, h, w) or (n, h, w, 3), got {x.shape}",
            hint="one image is images[None]; channels last, 1 (grey) or 3 (colour)",
        )
    if x.size == 0:
        raise NNDSLError(f"image_grid: no images to draw (shape {x.shape})")
    if len(x) > MAX_IMAGES:
        raise NNDSLError(
            f"image_grid draws at most {MAX_IMAGES} images, got {len(x)}",
            hint="pass a few: images[:64]",
        )
    _finite(x, "image_grid: images")
    return x


def _cols(cols: Any, n: int) -> int:
    if cols is None:
        return math.ceil(math.sqrt(n))
    if isinstance(cols, bool) or not isinstance(cols, (int, np.integer)) or cols < 1:
        raise NNDSLError(f"image_grid needs cols >= 1, got {cols!r}")
    return min(int(cols), n)


def _titles(titles: Any, n: int) -> list[str] | None:
    if titles is None:
        return None
    if isinstance(titles, str):
        raise NNDSLError("image_grid: titles is one string; give one per image")
    labels = [str(t) for t in titles]
    if len(labels) != n:
        raise NNDSLError(f"image_grid: {len(labels)} titles for {n} images")
    return labels


# ---------------------------------------------------------------- scatter plots


def scatter_samples(
    samples: Any,
    path: str | Path,
    real: Any = None,
    title: str = "",
    *,
    size: float = 5.0,
    dpi: int = 100,
) -> str | None:
    """Write a scatter of generated 2-d points (n, 2), in colour, over the real data
    (m, 2) in grey behind them, on equal scales in x and y; a note instead when
    matplotlib is missing. The PNG is size x size inches at `dpi`."""
    x = _plane(samples, "scatter_samples: samples")
    r = None if real is None else _plane(real, "scatter_samples: real")
    _check_size(size, dpi, "scatter_samples")
    Figure = _figure_class()
    if Figure is None:
        return _note(path)
    fig = Figure(figsize=(size, size), dpi=dpi)
    ax = fig.add_subplot()
    if r is not None:
        ax.scatter(r[:, 0], r[:, 1], s=4, color="0.5", alpha=0.5, lw=0, label="real", zorder=1)
    ax.scatter(
        x[:, 0], x[:, 1], s=4, color="tab:orange", alpha=0.6, lw=0, label="generated", zorder=2
    )
    ax.set_aspect("equal", adjustable="datalim")
    if r is not None:
        ax.legend(loc="upper right", markerscale=3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, path, dpi)
    return None


def latent_scatter(
    codes: Any,
    labels: Any,
    path: str | Path,
    title: str = "",
    *,
    size: float = 5.0,
    dpi: int = 100,
) -> str | None:
    """Write latent codes (n, d >= 2) as a scatter coloured by class; a note instead
    when matplotlib is missing. With more than 2 dimensions the first two are drawn, and
    the title says so. labels: (n,) (or one-hot (n, k), read by argmax); up to 20
    classes of whole numbers get a legend, others (many classes, values) a colourbar;
    None: one colour (data without classes).
    Equal scales in x and y; the PNG is size x size inches at `dpi`."""
    z = _floats(codes, "latent_scatter: codes")
    if z.ndim != 2 or z.shape[1] < 2:
        raise NNDSLError(
            f"latent_scatter needs codes of shape (n, d) with d >= 2, got {z.shape}",
            hint="a 1-d latent space has no plane to draw",
        )
    if len(z) == 0:
        raise NNDSLError("latent_scatter: no codes to draw")
    _finite(z, "latent_scatter: codes")
    y = np.zeros(len(z)) if labels is None else _floats(labels, "latent_scatter: labels")
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1).astype(np.float64)
    elif y.ndim == 2:
        y = y[:, 0]
    if y.shape != (len(z),):
        raise NNDSLError(
            f"latent_scatter: {y.shape[0] if y.ndim else 0} labels for {len(z)} codes"
            f" (labels of shape {y.shape})"
        )
    _finite(y, "latent_scatter: labels")
    _check_size(size, dpi, "latent_scatter")
    Figure = _figure_class()
    if Figure is None:
        return _note(path)
    if z.shape[1] > 2:
        shown = f"first 2 of {z.shape[1]} dimensions"
        title = f"{title} ({shown})" if title else shown
    fig = Figure(figsize=(size, size), dpi=dpi)
    ax = fig.add_subplot()
    classes = np.unique(y)
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=6, alpha=0.7, lw=0)
    elif len(classes) <= LEGEND_CLASSES and np.all(classes == np.round(classes)):
        cmap = _colormap("tab10" if len(classes) <= 10 else "tab20")
        for i, k in enumerate(classes):
            at = y == k
            ax.scatter(z[at, 0], z[at, 1], s=6, color=cmap(i), alpha=0.7, lw=0, label=f"{k:g}")
        ax.legend(title="class", markerscale=2, loc="best", fontsize=8)
    else:
        points = ax.scatter(z[:, 0], z[:, 1], s=6, c=y, cmap="viridis", alpha=0.7, lw=0)
        fig.colorbar(points, ax=ax, label="label")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, path, dpi)
    return None


def _colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def _plane(value: Any, what: str) -> np.ndarray:
    a = _floats(value, what)
    if a.ndim != 2 or a.shape[1] != 2:
        raise NNDSLError(f"{what} must be 2-d points, shape (n, 2), got {a.shape}")
    if len(a) == 0:
        raise NNDSLError(f"{what}: no points to draw")
    _finite(a, what)
    return a


def _floats(value: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NNDSLError(f"{what} are not numbers") from None


def _finite(a: np.ndarray, what: str) -> None:
    if not np.isfinite(a).all():
        raise NNDSLError(f"{what} hold NaN or infinity")


def _positive(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
        and value > 0
    )


def _check_size(size: float, dpi: int, who: str) -> None:
    if not _positive(size) or not _positive(dpi):
        raise NNDSLError(f"{who} needs size > 0 and dpi > 0, got size={size}, dpi={dpi}")
