"""A train block's data: loaded, split into train/validation/test, optionally scaled
(the scaler fitted on the training split only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nndsl.data.load import resolve_path, spec_args
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


def load_splits(
    plan: TrainPlan,
    validation: float | None = None,
    check: Callable[[Any], None] | None = None,
    targets: bool = True,
) -> Splits:
    """`check(dataset)` runs on the whole dataset before it is split (and shuffled), so
    its errors can name a data file's own rows. Without `targets` (an autoencoder's are
    its inputs, an unconditional GAN has none), a file need not hold them."""
    from nndsl.data import Standardizer, load_data, split

    if plan.data is None:
        raise NNDSLError(
            f"the train block of '{plan.model}' names no data",
            hint='add e.g. data = csv("data.csv", target="y"), or pass arrays to fit(x, y)',
        )
    if plan.data.name == "text":
        return _text_splits(plan, validation)
    spec = plan.data
    if not targets and spec.name in ("csv", "npz"):  # labels read where named, else none
        optional = spec.name == "npz" or spec.args.get("target") is None
        spec = Spec(spec.name, {**spec.args, "inputs_only": optional})
    dataset = load_data(spec, plan.base_dir, [h.output for h in plan.heads] or None)
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
    scaler = None
    if plan.data.args.get("standardize"):
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
        note=note,
    )


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


def apply_scaler(scaler: dict[str, Any] | None, x: Any) -> Any:
    """Scale raw inputs the way the model's training data was scaled."""
    if scaler is None:
        return x
    from nndsl.data import Standardizer

    return Standardizer.from_dict(scaler).transform(x)
