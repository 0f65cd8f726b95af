"""A train block's data: loaded, split into train/validation/test, optionally scaled
(the scaler fitted on the training split only)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nndsl.data.load import TABLE_SOURCES, resolve_path, spec_args
from nndsl.data.series import series_splits
from nndsl.data.stream import ParquetStream
from nndsl.data.tabular import Preprocessing, declared_kinds, declared_missing
from nndsl.data.text import Vocabulary, text_splits
from nndsl.data.text_column import tokenize_splits
from nndsl.errors import NNDSLError
from nndsl.ir.plan import TrainPlan
from nndsl.ir.signature import Spec


@dataclass
class Splits:
    train: Any  # nndsl.data.Dataset
    validation: Any | None
    test: Any | None
    scaler: dict[str, Any] | None
    class_names: list[str] | None
    feature_names: list[str] | None = None  # the data's columns, in the order trained on
    target_names: list[str] | None = None
    # text data: the vocabulary of the token ids, fitted on the training split
    vocab: Vocabulary | None = None
    note: str | None = None  # something to warn about (tokens read as <unk>)
    # typed columns: their encodings, fitted on the training split (Preprocessing.to_dict)
    preprocessing: dict[str, Any] | None = None
    # series data: the naive forecasts' metrics on the held-out windows (split by time)
    baselines: dict[str, Any] | None = None


def load_splits(
    plan: TrainPlan,
    validation: float | None = None,
    check: Callable[[Any], None] | None = None,
    targets: bool = True,
    keep: bool = False,
) -> Splits:
    """`check(dataset)` runs on the whole dataset before it is split (and shuffled), so
    its errors can name a data file's own rows. Without `targets` (an autoencoder's are
    its inputs, an unconditional GAN has none), a file need not hold them. With `keep`
    (input(auto) reading the data to learn its width) the rows read are handed on to
    the next load of the same, unchanged file, so compiling and training read it once;
    typed columns are then fitted but not encoded (the width is all it needs)."""
    from nndsl.data import Standardizer, load_data, split

    if plan.data is None:
        raise NNDSLError(
            f"the train block of '{plan.model}' names no data",
            hint='add e.g. data = csv("data.csv", target="y"), or pass arrays to fit(x, y)',
        )
    if plan.data.name == "text":
        return _text_splits(plan, validation)
    if plan.data.name == "series":
        return _series_splits(plan, validation)
    if plan.data.name == "parquet" and spec_args(plan.data)["stream"]:
        return _streamed_splits(plan, validation)
    spec = plan.data
    if not targets and spec.name in (*TABLE_SOURCES, "npz"):  # labels where named, else none
        optional = spec.name == "npz" or spec.args.get("target") is None
        spec = Spec(spec.name, {**spec.args, "inputs_only": optional})
    outputs = [h.output for h in plan.heads] or None
    key = _read_key(spec, plan.base_dir, outputs)
    held = _HANDED_ON.pop(key, None) if key is not None else None
    dataset, fitted_before = (
        held if held is not None else (load_data(spec, plan.base_dir, outputs), None)
    )
    if keep and key is not None:  # read for input(auto): training reads it next
        _HANDED_ON.clear()
        _HANDED_ON[key] = (dataset, None)
    if check is not None:
        check(dataset)
    val_fraction = plan.validation if validation is None else validation
    train, val, test = split(dataset, val_fraction, plan.test, plan.seed)
    vocab, note = None, None
    if dataset.texts is not None:  # csv(text=...): tokenized with the training split's words
        args = spec_args(plan.data)
        if args["standardize"]:
            raise NNDSLError(
                "csv(): standardize scales numeric features, and with text= the input is token ids",
                hint="leave standardize out",
            )
        (train, val, test), vocab, note = tokenize_splits(
            (train, val, test),
            shown=args["path"],
            tokenizer=args["tokenizer"],
            length=args["length"],
            vocab_size=args["vocab_size"],
        )
    scaler, preprocessing, notes = None, None, list(dataset.notes)
    if note:
        notes.append(note)
    if dataset.columns is not None:  # typed columns: encoded as the training split says
        args = spec_args(plan.data)
        # the same rows split the same way fit the same encodings: input(auto)'s are reused
        fit_key = (val_fraction, plan.test, plan.seed, repr(args["missing"]), args["standardize"])
        if fitted_before is not None and fitted_before[0] == fit_key:
            fitted = fitted_before[1]
        else:
            fitted = Preprocessing.fit(
                [train.columns[name] for name in dataset.feature_names],
                declared_missing(args["missing"]),
                "standard" if args["standardize"] else "none",
            )
        if keep and key is not None:
            _HANDED_ON[key] = (dataset, (fit_key, fitted))
        if not keep:  # (input(auto) needs the width alone: training encodes the splits)
            train, val, test = (
                encode_split(fitted, part, what, notes)
                for part, what in ((train, "training"), (val, "validation"), (test, "test"))
            )
        preprocessing = fitted.to_dict()
    elif plan.data.args.get("standardize"):
        std = Standardizer().fit(train.x)
        train = train.with_x(std.transform(train.x))
        val = val.with_x(std.transform(val.x)) if val is not None else None
        test = test.with_x(std.transform(test.x)) if test is not None else None
        scaler = std.to_dict()
    return Splits(
        train,
        val,
        test,
        scaler,
        dataset.class_names,
        list(dataset.feature_names) or None,  # unnamed (very wide arrays): by position
        list(dataset.target_names) or None,
        vocab=vocab,
        note="\n".join(notes) or None,
        preprocessing=preprocessing,
    )


def encode_split(fitted: Preprocessing, part: Any, what: str, notes: list[str]) -> Any:
    """A split's typed columns encoded into its inputs (None passes through); categories
    the training split never had are counted in `notes`."""
    if part is None:
        return None
    x, unseen = fitted.transform(part.columns)
    for column, count in unseen.items():
        notes.append(
            f"{count} {what} value(s) of column '{column}' were not among its training "
            "categories: read as unknown"
        )
    return part.with_x(x)


def _text_splits(plan: TrainPlan, validation: float | None) -> Splits:
    """A text file's windows, split by position, with the training split's vocabulary."""
    args = spec_args(plan.data)
    parts = text_splits(
        resolve_path(args["path"], plan.base_dir),
        args["path"],
        tokenizer=args["tokenizer"],
        context=args["context"],
        stride=args["stride"],
        targets=args["targets"],
        vocab_size=args["vocab_size"],
        validation=plan.validation if validation is None else validation,
        test=plan.test,
    )
    return Splits(
        parts.train, parts.validation, parts.test, None, None, vocab=parts.vocab, note=parts.note
    )


def _streamed_splits(plan: TrainPlan, validation: float | None) -> Splits:
    """parquet(stream=true): the training rows read from the shards each epoch, the
    held-out rows (by a hash of the row number) in memory (nndsl.data.stream)."""
    args = spec_args(plan.data)
    stream = ParquetStream(
        args,
        resolve_path(args["path"], plan.base_dir),
        plan.validation if validation is None else validation,
        plan.test,
        plan.seed,
        declared_kinds(args["columns"]),
        declared_missing(args["missing"]),
    )
    val, test = stream.fit("standard" if args["standardize"] else "none")
    return Splits(
        stream,
        val,
        test,
        None,
        stream.class_names,
        stream.feature_names,
        stream.target_names,
        note="\n".join(stream.notes) or None,
        preprocessing=stream.preprocessing.to_dict(),
    )


def _series_splits(plan: TrainPlan, validation: float | None) -> Splits:
    """An ordered table's windows, split by time in every series (nndsl.data.series)."""
    args = spec_args(plan.data)
    parts = series_splits(
        args,
        resolve_path(args["path"], plan.base_dir),
        args["path"],
        validation=plan.validation if validation is None else validation,
        test=plan.test,
    )
    train = parts.train
    return Splits(
        train,
        parts.validation,
        parts.test,
        parts.scaler,
        None,
        train.feature_names,
        train.target_names,
        baselines=parts.baselines,
    )


def apply_scaler(scaler: dict[str, Any] | None, x: Any) -> Any:
    """Scale raw inputs the way the model's training data was scaled."""
    if scaler is None:
        return x
    from nndsl.data import Standardizer

    return Standardizer.from_dict(scaler).transform(x)


# rows read by input_width, waiting for training's load of the same file: at most one
# dataset (with the typed columns' encodings fitted on its training split, and how it
# was split), taken by the first load that matches (or replaced by the next input(auto))
_HANDED_ON: dict[tuple, Any] = {}


def _read_key(spec: Spec, base_dir: str, outputs: list[str] | None) -> tuple | None:
    """What identifies one reading of a data file: the source as written, where, and
    the file as it is now (size, change time, inode): a file rewritten in between is
    read again. None for sources that are not one file on disk."""
    path = spec.args.get("path")
    if spec.name not in (*TABLE_SOURCES, "npz") or not isinstance(path, str):
        return None
    try:
        st = os.stat(resolve_path(path, base_dir))
    except (OSError, ValueError):  # no such file, or no file name (NUL, lone surrogate)
        return None
    if not stat.S_ISREG(st.st_mode):  # a folder of shards: not held
        return None
    # inputs_only=False reads as the source does without it (training's load)
    written = {k: v for k, v in spec.args.items() if not (k == "inputs_only" and not v)}
    args = tuple(sorted((k, repr(v)) for k, v in written.items()))
    return (spec.name, args, base_dir, tuple(outputs or ()), st.st_size, st.st_mtime_ns, st.st_ino)


def input_width(plan: TrainPlan) -> int:
    """How many input values a sample of the plan's training data has once encoded, for
    input(auto): the fitted preprocessing's width, else the feature count."""
    splits = load_splits(plan, targets=False, keep=True)
    if splits.preprocessing is not None:
        return Preprocessing.from_dict(splits.preprocessing).width
    shape = splits.train.x.shape[1:]
    if len(shape) != 1:
        raise NNDSLError(
            f"input(auto) gives a width, but the samples of this data have shape {shape}",
            hint=f"write input({', '.join(map(str, shape))})",
        )
    return int(shape[0])
