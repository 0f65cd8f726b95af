"""`nndsl sample RUN` (new samples of a GAN's generator or a variational autoencoder's
decoder: a picture grid, a scatter over the real data, or an .npz) and `nndsl encode RUN
--data D` (the latent codes of new data: a CSV or .npz, and a scatter coloured by class)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nndsl.api import load
from nndsl.commands.run import add_engine_options
from nndsl.errors import NNDSLError
from nndsl.files import atomic_write, atomic_write_text, show_path
from nndsl.runfolder import open_model_ref


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "sample",
        cmd_sample,
        "draw new samples from a GAN or a variational autoencoder trained by nndsl run",
        [
            "nndsl sample runs/ring_gan --n 2000 --out ring.png      # a scatter over the data",
            "nndsl sample runs/digits_vae --n 64 --seed 1 --out grid.png",
            "nndsl sample runs/digits_cgan --n 16 --class 7 --out sevens.png",
            "nndsl sample runs/digits_cgan --n 8 --class 0,1,2,3,4,5,6,7,8,9 --out all.png",
            "nndsl sample runs/digits_vae --n 500 --out samples.npz  # the numbers",
        ],
    )
    p.add_argument("run", metavar="RUN", help="a run folder, or a weights file saved by one")
    p.add_argument("--n", type=int, default=64, help="how many samples (64)")
    p.add_argument(
        "--class",
        dest="label",
        default=None,
        metavar="K[,K...]",
        help="a conditional GAN: the class to draw, or several (0,1,2: --n of each, a row "
        "per class in the picture)",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the noise: one seed, one set (0)")
    p.add_argument(
        "--out",
        default=None,
        help=".png: a grid of images (image-shaped samples) or a scatter (2-d samples); "
        ".npz: the samples (default: samples.png where a picture fits, else samples.npz)",
    )
    p.add_argument(
        "--image-shape",
        default=None,
        metavar="HxW",
        help="how to show flat samples as images (default: a square, 64 -> 8x8)",
    )
    add_engine_options(p, "numpy (the default) or torch; one seed draws the same samples")

    p = add(
        "encode",
        cmd_encode,
        "write the latent codes of data under an autoencoder trained by nndsl run",
        [
            "nndsl encode runs/digits_vae --data digits.csv --out codes.csv",
            "nndsl encode runs/digits_ae --data test.npz --out codes.npz --plot latent.png",
        ],
    )
    p.add_argument("run", metavar="RUN", help="a run folder, or a weights file saved by one")
    p.add_argument("--data", required=True, help="a .csv (columns by name) or .npz file of inputs")
    p.add_argument("--out", default=None, help=".csv or .npz (default: CSV on standard output)")
    p.add_argument(
        "--plot",
        default=None,
        metavar="PNG",
        help="a scatter of the codes, coloured by the data's target column when it has one",
    )
    add_engine_options(p, "numpy (the default) or torch")


def load_run_model(run: str, backend: str, device: str | None) -> Any:
    """The model of a run folder (its weights) or of a weights file."""
    path = Path(run)
    build: dict[str, Any] = {"backend": backend}
    if backend == "torch":
        build["device"] = device
    if path.is_dir():
        ref = open_model_ref(run, None)  # says what is wrong with a folder that is not a run
        return load(ref.weights, **build)
    if not path.exists():
        raise NNDSLError(f"no such run folder or weights file: {show_path(run)}")
    if path.suffix == ".nn":
        raise NNDSLError(
            f"{show_path(run)} is a model's source, not a trained model",
            hint=f"train it first (nndsl run {show_path(run)} --out RUN), then give RUN",
        )
    return load(path, **build)


# ---------------------------------------------------------------- sample


def cmd_sample(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise NNDSLError(f"--n must be at least 1, got {args.n}")
    if args.out is not None:
        _suffix(args.out, (".png", ".npz"), "--out")
    classes = _classes(args.label)
    model = load_run_model(args.run, args.backend, args.device)
    if classes is None:
        samples = model.sample(args.n, seed=args.seed)
    else:
        samples = np.concatenate([model.sample(args.n, seed=args.seed, classes=k) for k in classes])
    image = _image_shape(samples.shape[1:], args.image_shape)
    out = args.out or ("samples.png" if image or samples.shape[1:] == (2,) else "samples.npz")
    suffix = _suffix(out, (".png", ".npz"), "--out")
    if suffix == ".png" and image is not None and len(samples) > GRID_MOST:
        raise NNDSLError(
            f"a picture shows at most {GRID_MOST} images; {len(samples)} asked for",
            hint="a smaller --n, or all of them as numbers: --out samples.npz",
        )
    if suffix == ".npz":
        arrays = {"samples": samples}
        if classes is not None:
            arrays["classes"] = np.repeat(classes, args.n)
        _save_npz(out, arrays)
        print(f"wrote {_count(len(samples), 'sample')} to {out}", file=sys.stderr)
        return 0
    from nndsl.train import pictures

    real = _real_points(model)
    if samples.shape[1:] == (2,):
        title = f"{len(samples)} samples of {model.graph.name}" + (
            " over the training data" if real is not None else ""
        )
        note = pictures.scatter_samples(samples, Path(out), real=real, title=title)
    elif image is not None:
        images = samples.reshape(len(samples), *image)
        if real is not None:  # shown on the data's own scale: a stray value dims no image
            images = np.clip(images, real.min(), real.max())
        if classes is None:
            note = pictures.image_grid(images, Path(out))
        else:  # a row per class, labelled at its start
            titles = [str(k) if i == 0 else "" for k in classes for i in range(args.n)]
            note = pictures.image_grid(images, Path(out), cols=args.n, titles=titles)
    else:
        raise NNDSLError(
            f"samples of shape {samples.shape[1:]} are neither images nor 2-d points",
            hint="write them with --out samples.npz, or say --image-shape HxW",
        )
    if note:
        raise NNDSLError(note, hint="or write the numbers: --out samples.npz")
    print(f"wrote {_count(len(samples), 'sample')} to {out}", file=sys.stderr)
    return 0


GRID_MOST = 1024  # images in one picture grid (nndsl.train.pictures.image_grid's limit)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _suffix(path: str, allowed: tuple[str, ...], option: str) -> str:
    """The file type `path` names, of `allowed` (in any case: .PNG is a .png)."""
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        listed = " or ".join(allowed)
        raise NNDSLError(f"{option} {path}: write a {listed} file")
    return suffix


def _classes(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        classes = [int(part) for part in text.split(",")]
    except ValueError:
        raise NNDSLError(f"--class {text}: write a class number, or several: 0,1,2") from None
    if any(k < 0 for k in classes):
        raise NNDSLError(f"--class {text}: classes are numbered from 0")
    return classes


def _image_shape(shape: tuple[int, ...], given: str | None) -> tuple[int, ...] | None:
    """How to show a sample as an image: (h, w) or (h, w, 3), or None."""
    size = math.prod(shape)
    if given is not None:
        try:
            h, w = (int(v) for v in given.lower().split("x"))
        except ValueError:
            raise NNDSLError(f"--image-shape {given}: write HxW, e.g. 8x8") from None
        for channels in (1, 3):
            if h * w * channels == size:
                return (h, w) if channels == 1 else (h, w, 3)
        raise NNDSLError(f"--image-shape {given}: samples have {size} values, not {h}x{w}")
    if len(shape) == 3 and shape[-1] in (1, 3):
        return shape[:2] if shape[-1] == 1 else shape
    if len(shape) == 2 and min(shape) > 1:
        return shape
    side = math.isqrt(size)
    if len(shape) == 1 and size >= 16 and side * side == size:
        return (side, side)
    return None


def _real_points(model: Any) -> np.ndarray | None:
    """The run's training data in its own units, to draw behind 2-d samples; None where
    it cannot be read any more (moved, or arrays given to fit)."""
    try:
        splits = model.load_data()
    except NNDSLError:
        return None
    return model.unscale(splits.train.x)


def _save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


# ---------------------------------------------------------------- encode


def cmd_encode(args: argparse.Namespace) -> int:
    out_type = _suffix(args.out, (".csv", ".npz"), "--out") if args.out else None
    if args.plot:
        _suffix(args.plot, (".png",), "--plot")
    if not Path(args.data).is_file():
        raise NNDSLError(f"no such data file: {show_path(args.data)}")
    model = load_run_model(args.run, args.backend, args.device)
    x, _ = model.read_data(args.data)
    codes = model.encode(x)
    flat = codes.reshape(len(codes), -1)
    labels = _labels(model, args.data) if args.plot else None
    if out_type == ".npz":
        _save_npz(args.out, {"codes": codes})
    else:
        header = ",".join(f"z{i + 1}" for i in range(flat.shape[1]))  # as the plot's axes
        lines = [header] + [",".join(f"{v:.6g}" for v in row) for row in flat]
        text = "\n".join(lines) + "\n"
        if args.out is None:
            sys.stdout.write(text)
        else:
            atomic_write_text(args.out, text)
    if args.out:
        print(f"wrote {len(flat)} codes of {flat.shape[1]} values to {args.out}", file=sys.stderr)
    if args.plot:
        from nndsl.train import pictures

        title = f"latent codes of {show_path(args.data)}"
        if labels is None:
            title += " (the data has no class column to colour by)"
        note = pictures.latent_scatter(flat, labels, Path(args.plot), title=title)
        if note:
            raise NNDSLError(note)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _labels(model: Any, data: str) -> np.ndarray | None:
    """The data's class labels, to colour the codes by, where it has a target."""
    try:
        _, y = model.read_data(data, need_targets=True)
    except NNDSLError:
        return None
    return None if y is None else np.asarray(y).reshape(len(y), -1)[:, 0]
