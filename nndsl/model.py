"""A built model: Keras-like fit / evaluate / predict on one backend.

Arguments given to `fit` override the file's `train` block; everything left out comes
from it (including the data, when the block names a data source).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nndsl.backends import create_engine
from nndsl.backends.base import split_weights
from nndsl.data.columns import choose_columns, mapping_array, mapping_columns
from nndsl.data.csvfile import read_columns, table_dataset
from nndsl.data.load import (
    TABLE_SOURCES,
    load_table_file,
    resolve_path,
    spec_args,
    table_header,
    table_reader,
)
from nndsl.data.npzfile import load_npz
from nndsl.data.records import RecordTable, columns_to_rows
from nndsl.data.series import series_inputs, series_row_ids
from nndsl.data.split import split_indices
from nndsl.data.tabular import Preprocessing, mapping_columns_typed
from nndsl.data.text import Vocabulary, unknown_note
from nndsl.data.text_column import encode_texts
from nndsl.errors import NNDSLError, NNDSLWarning
from nndsl.files import show_path
from nndsl.ir.graph import Graph
from nndsl.ir.plan import TrainPlan
from nndsl.ir.subgraph import from_node, upto
from nndsl.ir.targets import prepare_targets, target_kind
from nndsl.ir.weighting import (
    CLASSIFYING,
    class_count,
    class_indices,
    resolve_class_weight,
    sample_weights_of_classes,
)
from nndsl.summary import Summary, summary_table
from nndsl.train.adversarial import Adversarial, seeded_normal
from nndsl.train.callbacks import Callback, EarlyStopping, LearningRateSchedule
from nndsl.train.generate import generate_ids, model_layout
from nndsl.train.history import History
from nndsl.train.kvcache import KVCache, kv_cache
from nndsl.train.trainer import FitConfig, Trainer

if TYPE_CHECKING:
    from nndsl.api import Program
    from nndsl.train.data_plan import Splits


class Model:
    def __init__(
        self,
        graph: Graph,
        plan: TrainPlan | None,
        backend: str = "numpy",
        seed: int | None = None,
        dtype: str | None = None,
        device: str | None = None,
        program: Program | None = None,
        discriminator: Graph | None = None,
        **options: Any,
    ) -> None:
        self.graph = graph
        self.plan = plan
        self.program = program
        self.backend = backend
        self.seed = seed if seed is not None else (plan.seed if plan else 0)
        self.dtype = dtype or (plan.dtype if plan else "float32")
        self.scaler: dict[str, Any] | None = None  # input standardization, if any
        self.class_names: list[str] | None = None
        # class_weight resolved on the training split: {class name (or index): weight}
        self.class_weights: dict[Any, float] | None = None
        # the training data's column names (features in the order trained on): new data
        # that names its columns is matched by them (nndsl.data.columns)
        self.feature_names: list[str] | None = None
        self.target_names: list[str] | None = None
        # text data: the token ids' vocabulary (fitted on the training split; saved in the
        # weights file's metadata and as the run folder's vocab.json)
        self.vocab: Vocabulary | None = None
        # typed feature columns: their encodings, fitted on the training split (saved in
        # the weights file's metadata), which new raw rows go through by column name
        self.preprocessing: Preprocessing | None = None
        self._data_notes: list[str] = []  # warnings about the train block's data
        self.history: History | None = None
        self.warnings: list[NNDSLWarning] = []  # found by the last fit (nndsl.lint)
        if plan is not None:  # the file's engine settings, unless build() gives them
            options.setdefault("mixed_precision", plan.mixed_precision)
            options.setdefault("compile", plan.compile)
        self.device, self.options = device, options
        self.discriminator: Graph | None = None
        if plan is not None and plan.discriminator is not None:
            self.engine = self._adversarial(discriminator)
            return
        self.engine = create_engine(
            backend,
            graph,
            seed=self.seed,
            dtype=self.dtype,
            loss=plan.loss if plan else None,
            optimizer=plan.optimizer if plan else None,
            metrics=plan.metric_names if plan else [],
            heads=plan.heads_for(graph) if plan else None,
            terms=list(plan.terms) if plan else [],
            clip_norm=plan.clip_norm if plan else None,
            device=device,
            **options,
        )

    def _adversarial(self, discriminator: Graph | None) -> Adversarial:
        """A GAN's engine: the generator's and the discriminator's, driven as one."""
        plan = self.plan
        if discriminator is None:
            if self.program is None:
                raise NNDSLError(f"the GAN '{self.graph.name}' needs its discriminator's graph")
            discriminator = self.program.model_graph(plan.discriminator)
        self.discriminator = discriminator
        common = dict(
            dtype=self.dtype, clip_norm=plan.clip_norm, device=self.device, **self.options
        )
        g = create_engine(
            self.backend, self.graph, seed=self.seed, optimizer=plan.optimizer, **common
        )
        critic = plan.gan_loss.name == "wasserstein"  # a score: no sigmoid to split off
        d = create_engine(
            self.backend,
            discriminator,
            seed=self.seed + 1,  # not the generator's draws for layers alike
            loss=None if critic else plan.loss,
            optimizer=plan.d_optimizer or plan.optimizer,
            input_grads=True,
            **common,
        )
        names = (self.graph.name, discriminator.name)
        return Adversarial(g, d, plan.gan_loss, plan.d_steps, self.seed, names)

    @property
    def is_gan(self) -> bool:
        return self.discriminator is not None

    def refuse_gan(self, what: str) -> None:
        """A GAN trains two models against each other: `what` (a command made for one
        model and one loss) says so instead of failing inside."""
        if self.is_gan:
            raise NNDSLError(
                f"{what} works on one model with one loss; '{self.graph.name}' is a GAN "
                f"trained against '{self.discriminator.name}'",
                hint="train it with nndsl run, then draw samples: nndsl sample RUN",
            )

    @property
    def reconstructs(self) -> bool:
        """An autoencoder's plan: `target = input`."""
        return self.plan is not None and self.plan.target == "input"

    @property
    def needs_targets(self) -> bool:
        """Whether data must bring targets: not an autoencoder's (its inputs are), not an
        unconditional GAN's (it learns samples alone); a conditional GAN's classes are."""
        return not (self.reconstructs or (self.is_gan and not self.engine.conditional))

    def targets_of(self, part: Any) -> Any:
        """What a split trains towards: its inputs for an autoencoder, else its targets."""
        return part.x if self.reconstructs else part.y

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float | None = None,
        verbose: int = 1,
        shuffle: bool | None = None,
        callbacks: list[Callback] | None = None,
        initial_epoch: int = 0,
        class_weight: Any = None,
        sample_weight: Any = None,
    ) -> History:
        """Train; returns a History (`history.history["val_loss"]`, ...). `class_weight`
        (as the train block's: "balanced", {class name or index: weight} or a list by
        index; default the block's) or `sample_weight` (one per sample) weigh the
        training loss as Keras' do; a third entry of validation_data, its weights, weighs
        the validation loss (class weights never do)."""
        plan = self._require_plan("fit")
        self._data_notes = []
        streamed = False
        val_w = None
        if x is None:
            splits = self.load_data(validation_split)
            train, val = splits.train, splits.validation
            streamed = hasattr(train, "for_epoch")  # read from its files every epoch
            tx, ty = (None, None) if streamed else (train.x, self.targets_of(train))
            if sample_weight is None:  # the data's weight column, if it has one
                sample_weight = train.weights
            if validation_data is None and val is not None:
                validation_data = (val.x, self.targets_of(val))
                val_w = val.weights
        else:
            if y is None and self.needs_targets:
                raise NNDSLError("fit(x, y) needs targets y")
            names = mapping_columns(x)
            if names is not None and self._is_column_table(names):
                self.feature_names = names  # a dict or DataFrame of columns: remember them
                if self.preprocessing is None:  # words, dates, gaps: typed, as a CSV's
                    self._fit_table(x, names, validation_split, validation_data)
            tx, ty = self._scale(self._as_inputs(x, "the data given to fit")), y
            if self.reconstructs and y is None:
                ty = tx
            if validation_split:
                if sample_weight is not None:  # Keras splits the weights with the samples
                    cut = len(sample_weight) - int(round(len(sample_weight) * validation_split))
                    sample_weight, val_w = sample_weight[:cut], sample_weight[cut:]
                tx, ty, validation_data = _split_off(tx, ty, validation_split)
            elif validation_data is not None:
                if not isinstance(validation_data, (tuple, list)):
                    validation_data = (validation_data, None)
                vx = self._scale(self._as_inputs(validation_data[0], "validation_data"))
                vy = validation_data[1] if len(validation_data) > 1 else None
                val_w = validation_data[2] if len(validation_data) > 2 else None
                validation_data = (vx, vx if vy is None and self.reconstructs else vy)
        class_weight = plan.class_weight if class_weight is None else class_weight
        if class_weight is not None and sample_weight is not None:
            raise NNDSLError(
                "class_weight and sample weights together: give one (as Keras asks)",
                hint="fold each class's weight into the sample weights",
            )
        if x is not None and validation_data is None and not validation_split and plan.validation:
            # the file's split, the same samples `nndsl run` holds out, of the data prepared
            # (and checked: messages count what was given) once
            whole = self._prepare(tx, ty, sample_weight)
            train_index, val_index, _ = split_indices(len(whole), plan.validation, 0.0, plan.seed)
            if class_weight is not None:  # counted on the training rows, applied to them
                weights = self._class_weights(class_weight, ty, train_index)
                whole = self._prepare(tx, ty, weights)
            train_data = self.engine.take(whole, train_index)
            val_data = self.engine.take(whole, val_index)
            if class_weight is not None:  # class weights weigh training alone
                val_data = dataclasses.replace(val_data, y=split_weights(val_data.y)[0])
        else:
            weights = sample_weight
            if class_weight is not None and streamed:
                raise NNDSLError("class_weight does not weigh parquet(stream=true) data yet")
            if class_weight is not None:
                weights = self._class_weights(class_weight, ty)
            train_data = train if streamed else self._prepare(tx, ty, weights)
            val_data = (
                self._prepare(*validation_data, val_w) if validation_data is not None else None
            )
        bs = batch_size or plan.batch_size
        self._check_before_training(len(train_data), batch_size, verbose)
        monitor = (plan.early_stop or {}).get("monitor", "")
        if val_data is None and monitor.startswith("val_"):
            raise NNDSLError(  # refused now, not after the first epoch
                f"early_stop monitors '{monitor}', but this fit has no validation data",
                hint="pass validation_data=(x, y) or validation_split=0.2 to fit, set "
                "validation = 0.2 in the train block, or monitor=loss",
            )
        n_epochs = epochs or plan.epochs
        cbs: list[Callback] = []
        if plan.early_stop is not None:
            cbs.append(EarlyStopping(**plan.early_stop))
        if plan.schedule is not None:
            from nndsl.train.schedules import make_schedule

            cbs.append(LearningRateSchedule(make_schedule(plan.schedule, self.engine.lr)))
        if verbose:
            from nndsl.train.progress import progress_for

            steps = -(-len(train_data) // bs)
            cbs.append(progress_for(n_epochs, steps))
        cbs.extend(callbacks or [])
        config = FitConfig(
            epochs=n_epochs,
            batch_size=bs,
            seed=self.seed,
            shuffle=plan.shuffle if shuffle is None else shuffle,
            initial_epoch=initial_epoch,
            callbacks=cbs,
        )
        self.trainer = Trainer(self.engine, config)
        self.history = self.trainer.fit(train_data, val_data)
        return self.history

    def _prepare(self, x: Any, y: Any, weights: Any) -> Any:
        """The engine's prepared data, weighted where `weights` are given (an engine of
        two models, a GAN's, takes none)."""
        if weights is None:
            return self.engine.prepare(x, y)
        return self.engine.prepare(x, y, weights)

    def _class_weights(self, setting: Any, y: Any, train_index: Any = None) -> np.ndarray:
        """Each sample's weight from a class_weight setting (`balanced` counted on the rows
        `train_index` of y, else all); the weight of each class is kept in
        `self.class_weights` (saved with the model and in the run folder)."""
        loss, out_shape = self.plan.loss if self.engine.simple else None, self.graph.output.shape
        try:
            if loss is None:
                raise NNDSLError("class_weight weighs the classes of a model with one output")
            kind = target_kind(loss.name)
            if kind not in CLASSIFYING:
                raise NNDSLError(
                    f"class_weight weighs classes, and the loss {loss.name} is a regression's"
                )
            if kind == "binary" and out_shape[-1:] != (1,):
                raise NNDSLError(
                    f"class_weight with binary_crossentropy needs one output unit, not {out_shape}",
                    hint="give each label's weight as sample weights instead",
                )
            classes = class_indices(prepare_targets(y, loss.name, out_shape, self.dtype), kind)
            counted = classes if train_index is None else classes[train_index]
            if isinstance(setting, dict) and all(isinstance(k, int) for k in setting):
                table = {int(k): float(v) for k, v in setting.items()}  # the API, by index
            else:
                table = resolve_class_weight(
                    setting, counted, class_count(kind, out_shape), self.class_names
                )
        except NNDSLError as e:
            raise self._at_setting(e, "class_weight") from None
        names = self.class_names
        every = range(max(class_count(kind, out_shape), *(c + 1 for c in table)))
        self.class_weights = {  # every class, those not given weighing 1
            (names[c] if names and c < len(names) else c): table.get(c, 1.0) for c in every
        }
        return sample_weights_of_classes(table, classes, self.dtype)

    def _check_before_training(self, n_train: int, batch_size: int | None, verbose: int) -> None:
        """Refuse a batch that does not fit in memory (with the estimate); collect the
        warnings (nndsl.lint) about what will train but probably not as meant, the file's
        and the data's, in `self.warnings`, and hand them to Python's `warnings`."""
        from nndsl.ir.check import check_fits, estimate_memory
        from nndsl.lint import check_batch, check_program

        plan = self.plan
        bs = batch_size or plan.batch_size
        need = estimate_memory(self.graph, self.dtype, min(bs, n_train), plan.optimizer)
        check_fits(need, f"training '{self.graph.name}' with batch_size {bs}")
        program = self.program
        found = check_program(program, self.graph.name) if program is not None else []
        batch = check_batch(
            plan,
            n_train,
            batch_size,
            module=program._compiled.module if program is not None else None,
            overrides=program.overrides if program is not None else (),
        )
        notes = [NNDSLWarning(note) for note in self._data_notes]
        self.warnings = found + ([batch] if batch else []) + notes
        if verbose:
            for warning in self.warnings:
                warnings.warn(warning, stacklevel=3)

    def load_data(self, validation_split: float | None = None) -> Splits:
        """The train block's data, split and scaled as the plan says (the splits hold
        scaled inputs; the model remembers the scaling for raw inputs given later)."""
        from nndsl.train.data_plan import load_splits

        plan = self._require_plan("load data")
        try:
            splits = load_splits(
                plan, validation_split, check=self._check_targets, targets=self.needs_targets
            )
        except NNDSLError as e:  # a missing or bad data file: at the `data =` line
            raise self._at_data_line(e) from None
        self.scaler = splits.scaler
        self.class_names = splits.class_names
        self.feature_names, self.target_names = splits.feature_names, splits.target_names
        if splits.vocab is not None:
            self._check_vocab(splits.vocab)
        self.vocab = splits.vocab
        self._data_notes = splits.note.split("\n") if splits.note else []
        self.preprocessing = None
        if splits.preprocessing is not None:
            self.preprocessing = Preprocessing.from_dict(splits.preprocessing)
            self._check_width(self.preprocessing)
        return splits

    def _fit_table(
        self, x: Any, names: list[str], validation_split: float | None, validation_data: Any
    ) -> None:
        """A dict or DataFrame given to fit whose columns are not all numbers: its values
        read as a CSV file's cells (so with the same inferred kinds, missing cells and
        errors), and the encodings fitted on the rows that train (not those `fit` holds
        out for validation), as `nndsl run` fits them on the training split."""
        shown = "the data given to fit"
        columns = {name: list(np.asarray(x[name], dtype=object)) for name in names}
        n = len(next(iter(columns.values()))) if columns else 0
        rows = columns_to_rows(columns, shown, "row", range(1, n + 1))
        if not rows:
            return
        table = RecordTable("<fit>", shown, "fit", names, rows, list(range(1, n + 1)), "row")
        dataset = table_dataset(table, None, inputs_only=True)
        if dataset.columns is None:  # all numbers: the arrays as they are
            return
        plan = self.plan
        if validation_split:  # Keras holds out the last rows
            dataset = dataset.subset(np.arange(n - int(round(n * validation_split))))
        elif validation_data is None and plan.validation:
            dataset = dataset.subset(split_indices(n, plan.validation, 0.0, plan.seed)[0])
        fitted = Preprocessing.fit(
            [dataset.columns[name] for name in dataset.feature_names], {}, "standard"
        )
        self._check_width(fitted)
        self.preprocessing = fitted

    def _check_width(self, prep: Preprocessing) -> None:
        """The encoded columns must fill the model's input: said column by column."""
        node = self.graph.inputs[0]
        width = int(np.prod(node.shape))
        if len(self.graph.inputs) != 1 or width == prep.width:
            return
        parts = ", ".join(f"{name} ({kind}) {w}" for name, kind, w, _ in prep.describe())
        error = NNDSLError(
            f"the data's columns encode into {prep.width} input values ({parts}), but "
            f"input({', '.join(map(str, node.shape))}) takes {width}",
            line=node.line or None,
            column=node.column or None,
            hint=f"write input({prep.width}), or input(auto) to take the width from the data",
        )
        program = self.program
        raise error.located(program.path, program.source) if program is not None else error

    def _check_vocab(self, vocab: Vocabulary) -> None:
        """Token ids must fit the embeddings that read them, and a language model's
        output must score every id: said in terms of the vocabulary, before training."""
        size = len(vocab)
        what = (
            f"the vocabulary of the training text has {size} tokens (<pad>, <unk> and "
            f"{size - 2} {vocab.tokenizer} tokens)"
        )
        hint = f"make it {size} wide, or cut the vocabulary: vocab_size={{n}} in text(...)"
        for node in self.graph.nodes:
            if node.op == "embedding" and node.attrs["input_dim"] < size:
                raise NNDSLError(
                    f"{what}, but embedding '{node.name}' takes ids below "
                    f"{node.attrs['input_dim']}",
                    hint=hint.format(n=node.attrs["input_dim"]),
                )
        out = self.graph.output
        if self.plan.data.name == "text" and out.shape and out.shape[-1] < size:
            raise NNDSLError(
                f"{what}, but the output '{out.name}' scores {out.shape[-1]}",
                hint=hint.format(n=out.shape[-1]),
            )

    def _at_data_line(self, e: NNDSLError) -> NNDSLError:
        """An error about the train block's data that points nowhere (a missing file, a
        missing extra) now points at the block's `data =` setting."""
        return self._at_setting(e, "data")

    def _at_setting(self, e: NNDSLError, key: str) -> NNDSLError:
        """An error that points nowhere, pointed at the train block's setting `key`."""
        program = self.program
        if program is None:
            return e
        if e.line is None and e.path is None:
            module = program._compiled.module
            for block in module.trains:
                if block.model in (None, self.graph.name):
                    for setting in block.settings:
                        if setting.key == key:
                            e.line, e.column = setting.span.line, setting.span.column
                            e.end_column = setting.span.end_column
                            if setting.span.end_line != setting.span.line:
                                e.end_column = None
                            return e.located(program.path, program.source)
        return e.located(program.path, None)

    def _check_targets(self, dataset: Any) -> None:
        """A target the loss cannot take (a class label out of range for the output), named
        by the data's own row before any split or shuffle: for a CSV, its line and cell."""
        plan = self.plan
        if self.reconstructs or self.is_gan:  # the targets are the inputs, or none
            return
        heads = plan.heads_for(self.graph)
        for k, head in enumerate(heads):
            y = dataset.y
            if len(heads) > 1:  # one target column (or named array) per output
                y = (
                    y[head.output]
                    if isinstance(y, dict)
                    else np.asarray(y).reshape(len(y), -1)[:, k]
                )
            self._check_head_targets(dataset, head, y, k if len(heads) > 1 else None)

    def _check_head_targets(self, dataset: Any, head: Any, y: Any, index: int | None) -> None:
        from nndsl.ir.targets import first_bad_target

        plan = self.plan
        out = self.graph[head.output]
        units = out.shape[-1] if out.shape else 1
        found = first_bad_target(y, head.loss.name, out.shape)
        if found is None:
            return
        row, col, problem, hint = found
        if index is not None:
            col, problem = index, f"targets of '{head.output}': {problem}"
        names = dataset.class_names if index is None else None
        if names is not None:  # the file holds names: say which one
            label = int(np.asarray(dataset.y).reshape(len(dataset.y), -1)[row, col])
            listed = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            problem = f"class '{names[label]}' is label {label} of {len(names)} ({listed}): "
            problem += f"{units} output unit{'s' if units > 1 else ''} cannot tell them apart"
        spec = plan.data
        if spec.name == "csv":
            from nndsl.data.csvfile import cell_error
            from nndsl.data.load import resolve_path

            target = spec.args["target"]
            column = target if isinstance(target, str) else _target_list(target)[col]
            if dataset.file_rows is not None:  # rows without a target were left out
                row = int(dataset.file_rows[row])
            raise cell_error(
                resolve_path(spec.args["path"], plan.base_dir),
                row,
                column,
                problem,
                hint,
                delimiter=spec.args.get("delimiter", ","),
                shown=spec.args["path"],
            )
        array = head.output if isinstance(dataset.y, dict) else "y"
        where = f"{spec.args['path']}: {array}[{row}]" if spec.name == "npz" else f"sample {row}"
        raise NNDSLError(f"{where}: {problem}", hint=hint)

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        sample_weight: Any = None,
    ) -> dict:
        """{"loss": ..., metric: ...} in evaluation mode (no dropout). Without x, on the
        train block's test split (else validation, else training data), its loss weighted
        by the data's weight column if it has one. x may be a CSV or .npz path (targets
        read from it by name; a table file's loss weighted by the weight column the data
        source declares, when the file holds it), a dict or DataFrame of columns,
        or an array; `sample_weight` weighs the loss (Keras' evaluate(..., sample_weight=...))."""
        if x is None:
            splits = self.load_data()
            part = splits.test or splits.validation or splits.train
            weights = getattr(part, "weights", None)  # the data's weight column
            return self.evaluate_scaled(part.x, self.targets_of(part), batch_size, weights)
        if isinstance(x, (str, Path)):
            if y is not None:
                raise NNDSLError("evaluate(path) reads the targets from the file; give no y")
            if sample_weight is not None:
                raise NNDSLError(
                    "evaluate(path) weighs the rows by the data's weight column; give no "
                    "sample_weight",
                    hint="or read the file yourself and call evaluate(x, y, sample_weight=w)",
                )
            x, y, sample_weight = self.read_weighted_data(x, need_targets=self.needs_targets)
        if y is None and not self.needs_targets:
            x = self._scale(self._as_inputs(x))
            return self.evaluate_scaled(x, x if self.reconstructs else None, batch_size)
        if y is None:
            raise NNDSLError("evaluate(x, y) needs targets y (or a data file: evaluate(path))")
        return self.evaluate_scaled(self._scale(self._as_inputs(x)), y, batch_size, sample_weight)

    def evaluate_scaled(
        self, x: Any, y: Any, batch_size: int | None = None, sample_weight: Any = None
    ) -> dict:
        """evaluate() on inputs already scaled like the training data (e.g. load_data's)."""
        plan = self._require_plan("evaluate")
        data = self._prepare(x, y, sample_weight)
        result = self.engine.evaluate(data, batch_size or plan.batch_size)
        if plan.data is not None and plan.data.name == "text":  # a language model's loss
            result["bits_per_token"] = result["loss"] / math.log(2)  # in bits, not nats
        return result

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Outputs (after the output activation) for raw inputs x, one row per sample;
        inputs are scaled the way the training data was when the train block says
        `standardize=true`. x: an array (columns by position, checked against the input
        shape), a CSV or .npz path, or a dict or DataFrame of columns (matched to the
        training features by name, in any order; see nndsl.data.columns). A model of short
        texts (csv(text=...)) also takes a list of texts, encoded with its vocabulary.
        An autoencoder's reconstructions come back in the units of x (its scaling undone);
        a GAN takes the generator's noise (and classes) and gives samples in the data's
        units, as `sample` does."""
        if isinstance(x, (str, Path)):
            x, _ = self.read_data(x)
        if self.is_gan:  # noise (and classes) in, samples in the data's units out
            return self.unscale(self.engine.predict(x, batch_size))
        out = self.engine.predict(self._scale(self._as_inputs(x)), batch_size)
        if self.reconstructs and not isinstance(out, dict):  # in the data's units, as x
            return self.unscale(out)
        return out

    # ------------------------------------------------------------------ new data
    def read_data(
        self, path: str | Path, need_targets: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw inputs (and targets, if `need_targets`) from a .csv or .npz file. A CSV's
        columns are matched to the training features by name; text class labels are
        mapped to the model's own classes."""
        x, y, _ = self._read_rows(path, need_targets, weigh=False)
        return x, y

    def read_weighted_data(
        self, path: str | Path, need_targets: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """read_data's inputs and targets, and each row's sample weight when the data
        source declares a weight column (csv/parquet/jsonl(weight=...)) and the file holds
        it (with targets only); None, and a note when the file lacks it."""
        return self._read_rows(path, need_targets, weigh=True)

    def _read_rows(
        self, path: str | Path, need_targets: bool, weigh: bool
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        p, shown = Path(path), str(path)
        spec = self.plan.data if self.plan is not None else None
        if p.suffix == ".npz":
            names = dict(spec.args) if spec is not None and spec.name == "npz" else {}
            ds = load_npz(
                str(p),
                x=names.get("x", "x"),
                y=names.get("y", "y"),
                shown=shown,
                inputs_only=not need_targets,
                outputs=[h.output for h in self.plan.heads] if self.plan is not None else None,
            )
            return self._as_inputs(ds.x, shown), (ds.y if need_targets else None), None
        reader = table_reader(str(p))
        if reader is None:
            raise NNDSLError(f"{shown}: expected a .csv, .parquet, .jsonl or .npz file")
        if spec is not None and spec.name == "series" and reader == "csv":  # its windows
            x, y = series_inputs(spec_args(spec), str(p), shown, self.feature_names, need_targets)
            return self._as_inputs(x, shown), y, None
        csv_args = spec.args if spec is not None and spec.name == "csv" else {}
        delimiter = csv_args.get("delimiter", ",")
        features, targets = self.training_columns()
        header = table_header(reader, str(p), shown, delimiter)
        keys = self.id_columns()
        weight = spec.args.get("weight") if spec is not None else None  # never a feature
        try:
            available = [h for h in header if h not in keys and h != weight]
            choice = choose_columns(available, features, targets, shown, need_targets)
        except NNDSLError as e:  # at the header: the line that lacks the column
            if reader != "csv":
                raise
            e.line, e.column = 1, 1
            raise e.located(str(p), delimiter.join(header) + "\n") from None
        if need_targets and not choice.targets:
            raise NNDSLError(
                f"{shown}: which column holds the targets is not known to this model",
                hint='name it in the train block: data = csv("...", target="...")',
            )
        notes = list(choice.notes)
        weigh = weigh and need_targets  # predictions need no weights
        if weight is not None and weigh and weight not in header:
            notes.append(f"{shown} has no weight column '{weight}': its loss is unweighted")
            weight = None
        prep = self.preprocessing
        ds = load_table_file(
            reader,
            str(p),
            {
                "target": (choice.targets or None) if need_targets else None,
                "features": choice.features,
                **({"delimiter": delimiter} if reader == "csv" else {}),
                "shown": shown,
                "inputs_only": not need_targets,
                "text": self._text_column(),
                # read as the training file's columns were (by their names in this file)
                "kinds": _renamed(prep.kinds(), choice.features, features) if prep else None,
                "weight": weight if weigh else None,
            },
        )
        self._tell(notes + ds.notes)
        y = self._own_labels(ds, shown) if need_targets else None
        w = ds.weights if weigh else None
        if ds.texts is not None:
            return self._encode_texts(ds.texts, shown), y, w
        if ds.columns is not None:
            named = dict(zip(features or choice.features, choice.features))
            x = self._encode_columns({f: ds.columns[named[f]] for f in named}, shown)
            return x, y, w
        return self._as_inputs(ds.x, shown, choice.features), y, w

    def row_ids(self, path: str | Path) -> dict[str, list[str]]:
        """The key columns (csv(id=...)) of a CSV file of new rows, to write beside its
        predictions; {} when the model names none or the file is not a CSV."""
        spec = self.plan.data if self.plan is not None else None
        if spec is not None and spec.name == "series" and Path(path).suffix == ".csv":
            return series_row_ids(spec_args(spec), str(path), str(path), self.feature_names)
        keys = self.id_columns()
        reader = table_reader(str(path))
        if not keys or reader is None:
            return {}
        if reader != "csv":
            ds = load_table_file(
                reader, str(path), {"target": None, "inputs_only": True, "ids": keys}
            )
            return {k: [str(v) for v in ds.ids[k]] for k in keys}
        delimiter = self.plan.data.args.get("delimiter", ",")
        return read_columns(str(path), keys, delimiter=delimiter, shown=str(path))

    def id_columns(self) -> list[str]:
        """The key columns csv(id=...) names: never features."""
        spec = self.plan.data if self.plan is not None else None
        ids = spec.args.get("id") if spec is not None and spec.name in TABLE_SOURCES else None
        return [ids] if isinstance(ids, str) else list(ids or [])

    def _encode_columns(self, columns: dict[str, Any], source: str) -> np.ndarray:
        """Typed columns (by the training names) as the model's inputs, encoded as the
        training split's were; unseen categories counted in a warning."""
        prep = self._require_preprocessing()
        try:
            x, unseen = prep.transform(columns)
        except NNDSLError as e:
            e.message = f"{source}: {e.message}"
            e.args = (e.message,)
            raise
        self._tell(
            [
                f"{source}: {n} value(s) of column '{c}' were not among its training "
                "categories: read as unknown"
                for c, n in unseen.items()
            ]
        )
        return x

    def _require_preprocessing(self) -> Preprocessing:
        if self.preprocessing is None and self.plan is not None and self.plan.data is not None:
            self.load_data()  # a model not yet trained: its file's data says
        if self.preprocessing is None:
            raise NNDSLError(f"the model '{self.graph.name}' has no typed columns to encode")
        return self.preprocessing

    def _text_column(self) -> str | None:
        """The CSV column of texts the model reads (csv(text=...)), if it reads one."""
        spec = self.plan.data if self.plan is not None else None
        return spec.args.get("text") if spec is not None and spec.name in TABLE_SOURCES else None

    def _encode_texts(self, texts: list[str], source: str) -> np.ndarray:
        """Texts as the token ids the model was trained on (its vocabulary, its length);
        tokens it never saw read as <unk>, with a warning."""
        vocab = self._require_vocab()
        length = spec_args(self.plan.data)["length"]
        if not all(isinstance(t, str) for t in texts):
            raise NNDSLError(f"{source}: the model reads texts; give a list of strings")
        ids, unknown = encode_texts(list(texts), vocab, length)
        if unknown:
            read = {"new": int(np.count_nonzero(ids))}  # the tokens read: every id but <pad>
            self._tell([unknown_note(source, {"new": unknown}, read) or ""])
        return ids

    def training_columns(self) -> tuple[list[str] | None, list[str] | None]:
        """The training data's (feature, target) column names: as recorded by training or
        in the weights file, else as the train block's csv(...) declares them (then
        recorded, as training would)."""
        features, targets = self.feature_names, self.target_names
        spec = self.plan.data if self.plan is not None else None
        if spec is None or spec.name not in TABLE_SOURCES or (features and targets):
            return features, targets
        target = spec.args.get("target")
        declared = [target] if isinstance(target, str) else _target_list(target or [])
        targets = targets or declared or None
        if features is None:
            features = list(spec.args["features"]) if spec.args.get("features") else None
        if features is None:  # the training file's header, as load_csv would choose
            path = resolve_path(spec.args["path"], self.plan.base_dir)
            header = table_header(spec.name, path, path, spec.args.get("delimiter", ","))
            keys = self.id_columns()
            features = [h for h in header if h not in (targets or []) and h not in keys] or None
        # what training on that file records: kept, so the header is read once
        self.feature_names, self.target_names = features, targets
        return features, targets

    def _own_labels(self, ds: Any, shown: str) -> np.ndarray:
        """Targets with text labels renumbered as the model's classes (a new file may
        hold fewer classes, which its own sorting would number differently)."""
        if ds.class_names is None or self.class_names is None:
            return ds.y
        unknown = [c for c in ds.class_names if c not in self.class_names]
        if unknown:
            raise NNDSLError(
                f"{shown}: class {_quote_list(unknown)} was not among the classes the "
                f"model was trained on ({_quote_list(self.class_names)})"
            )
        mapping = np.array([self.class_names.index(c) for c in ds.class_names], dtype=np.int64)
        return mapping[ds.y]

    def _is_column_table(self, names: list[str]) -> bool:
        """A dict (or DataFrame) of feature columns, as opposed to one keyed by input
        layer names, which feeds those inputs (the only kind a model with several takes)."""
        inputs = self.graph.inputs
        return len(inputs) == 1 and set(names) != {inputs[0].name}

    def _as_inputs(self, x: Any, source: str = "the data", columns: Any = None) -> Any:
        """x as the engine takes it: a table of columns (dict, DataFrame) matched to the
        training features by name, and an array checked against the input's shape, which
        says where that input is declared when it does not fit."""
        names = mapping_columns(x)
        text = self._text_column()
        if text is not None:  # a model of short texts: a list of them, or a table's column
            if isinstance(x, (list, tuple)) and all(isinstance(t, str) for t in x):
                return self._encode_texts(list(x), source)
            if names is not None and text in names:
                return self._encode_texts([str(t) for t in x[text]], source)
        if names is not None and self._is_column_table(names):
            features, targets = self.training_columns()
            choice = choose_columns(names, features, targets, source)
            self._tell(choice.notes)
            if self.preprocessing is not None:  # raw cells, read and encoded by type
                read = dict(zip(features or choice.features, choice.features))
                return self._encode_columns(
                    mapping_columns_typed(x, read, self.preprocessing.kinds(), source), source
                )
            x, columns = mapping_array(x, choice.features, source), choice.features
        if isinstance(x, (dict, list, tuple)) or len(self.graph.inputs) != 1:
            return x  # several inputs: by name or in order, checked by the engine
        x = np.asarray(x)
        node = self.graph.inputs[0]
        shape = tuple(node.shape)
        if x.shape[1:] == shape or x.shape == shape or x.dtype.kind not in "iubf":
            return x  # fits (a single sample too); non-numbers: the engine says so
        width = int(np.prod(shape))
        if columns is not None and x.ndim == 2 and x.shape[1] == width:
            return x.reshape(len(x), *shape)  # a table's flat columns for a shaped input
        raise self._shape_error(x, source, columns)

    def _shape_error(self, x: np.ndarray, source: str, columns: Any) -> NNDSLError:
        node = self.graph.inputs[0]
        shape = tuple(node.shape)
        declared = f"input({', '.join(map(str, shape))})"
        where = self.program.path if self.program is not None and self.program.path else None
        at = (f" at {where}:{node.line}" if where else f", line {node.line}") if node.line else ""
        if columns is not None:
            has = f"{source} has {len(columns)} feature column{'s' if len(columns) != 1 else ''}"
            has += f" ({_quote_list(columns)})"
        else:
            has = f"{source} has samples of shape {x.shape[1:]}"
        features, _ = self.training_columns()
        if features is not None and len(features) == int(np.prod(shape)):
            hint = f"give the {len(features)} columns it was trained on: {_quote_list(features)}"
        else:
            hint = f"give an array of shape (samples, {', '.join(map(str, shape))})"
        return NNDSLError(
            f"the model takes samples of shape {shape} ({declared}{at}), but {has}", hint=hint
        )

    def _tell(self, notes: list[str]) -> None:
        for note in notes:
            warnings.warn(NNDSLWarning(note), stacklevel=3)

    def _scale(self, x: Any) -> Any:
        if self.scaler is None or isinstance(x, (dict, list, tuple)):
            return x
        from nndsl.train.data_plan import apply_scaler

        return apply_scaler(self.scaler, np.asarray(x, dtype=np.float64))

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        prompt: str,
        tokens: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int = 0,
        ids: bool = False,
        stream: Callable[[str], None] | None = None,
        cache: bool = True,
    ) -> str | list[int]:
        """The text a language model writes after `prompt` (which is not repeated):
        `tokens` tokens sampled one at a time at `temperature` (0: always the likeliest)
        among the `top_k` likeliest (None or 0: all), seeded. `ids=True`: the token ids
        instead (decode them with `model.vocab.decode`). `stream(text)`: called with each
        token's text as it is written. `cache`: run each new token at its own position
        alone, with a key/value cache, where the model allows it (the same text; see
        nndsl.train.kvcache.why_not_cached); False: the whole window per token. See
        nndsl.train.generate."""
        vocab = self._require_vocab()
        layout = model_layout(self.graph, len(vocab))
        step = kv_cache(self.engine) if cache else None

        def each(i: int) -> None:  # the text id i adds (after the prompt: never the first)
            stream(vocab.piece(i))

        new = generate_ids(
            lambda x: self.engine.predict(x, 1),
            layout,
            self.encode_prompt(prompt),
            tokens=tokens,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            each=each if stream is not None else None,
            step=step if isinstance(step, KVCache) else None,  # else why not: a str
        )
        return new if ids else vocab.decode(new)

    def encode_prompt(self, prompt: str) -> list[int]:
        """The token ids of `prompt`; an error naming the tokens the vocabulary lacks."""
        vocab = self._require_vocab()
        if not isinstance(prompt, str):
            raise NNDSLError(f"the prompt must be a string, got {type(prompt).__name__}")
        missing = vocab.unknown(prompt)
        if missing:
            shown = ", ".join(repr(t) for t in missing[:8])
            more = f" ({len(missing)} in all)" if len(missing) > 8 else ""
            raise NNDSLError(
                f"the prompt holds {vocab.tokenizer} tokens the model's vocabulary lacks: "
                f"{shown}{more}",
                hint=f"the vocabulary holds the training text's {len(vocab) - 2} tokens "
                "(model.vocab.tokens; vocab.json in the run folder)",
            )
        return [int(i) for i in vocab.encode(vocab.split(prompt))[0]]

    def _require_vocab(self) -> Vocabulary:
        """The model's vocabulary; for a model not yet trained on its file's text data,
        fitted now from the training split, as training would."""
        if self.vocab is None and self.plan is not None and self.plan.data is not None:
            if self.plan.data.name == "text" or self._text_column() is not None:
                self.load_data()
        if self.vocab is None:
            raise NNDSLError(
                f"the model '{self.graph.name}' has no vocabulary: generation needs a model "
                "trained on text data",
                hint='train on data = text("file.txt", ...), or load a run folder or weights '
                "file of such a model (nndsl.load)",
            )
        return self.vocab

    # ------------------------------------------------------------------ generative models
    def latent_layer(self) -> str:
        """The layer of the latent codes: the train block's `latent`, else the model's one
        sample_normal layer."""
        if self.plan is not None and self.plan.latent is not None:
            return self.plan.latent
        found = [n.name for n in self.graph.nodes if n.op == "sample_normal"]
        if len(found) == 1:
            return found[0]
        if not found and not self.reconstructs:
            raise NNDSLError(
                f"'{self.graph.name}' is neither an autoencoder nor a GAN: it has no latent "
                "codes to encode or sample from",
                hint="an autoencoder trains with target = input; a variational one samples "
                "z = sample_normal(mean, log_var); a GAN names its discriminator = MODEL",
            )
        raise NNDSLError(
            f"which layer of '{self.graph.name}' holds the latent codes is not known"
            + (f" ({len(found)} sample_normal layers)" if found else ""),
            hint="name it in the train block: latent = LAYER",
        )

    def encode(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The latent codes of raw inputs x (scaled as the training data was): the values
        of the latent layer in evaluation mode (a sample_normal layer's mean)."""
        if self.is_gan:
            raise NNDSLError("a GAN has no encoder: it makes samples from noise (sample)")
        if isinstance(x, (str, Path)):
            x, _ = self.read_data(x)
        part = self._part(upto(self.graph, self.latent_layer()))
        return part.predict(self._scale(self._as_inputs(x)), batch_size)

    def sample(self, n: int, seed: int = 0, classes: Any = None) -> np.ndarray:
        """n new samples, in the data's units: a GAN's generator from noise of `seed`
        (conditional: of `classes`, one for all or one per sample); a variational
        autoencoder's decoder from latent codes drawn from N(0, I)."""
        if n < 1:
            raise NNDSLError(f"sample(n): n must be at least 1, got {n}")
        if self.is_gan:
            out = self.engine.sample(n, seed, classes)
        else:
            if classes is not None:
                raise NNDSLError("only a conditional GAN draws samples of a class")
            latent = self.latent_layer()
            if self.graph[latent].op != "sample_normal":  # its codes follow no known law
                raise NNDSLError(
                    f"the latent layer '{latent}' is not a sample_normal layer: codes drawn "
                    "from N(0, I) would not be codes this model makes",
                    hint="a variational autoencoder samples: z = sample_normal(mean, "
                    "log_var) with a kl_normal term",
                )
            decoder = self._part(from_node(self.graph, latent))
            out = decoder.predict(seeded_normal(seed, (n, *self.graph[latent].shape)))
        if isinstance(out, dict):
            return out
        return self.unscale(out) if self.is_gan or self.reconstructs else out

    def _part(self, graph: Graph) -> Any:
        """An engine for part of the model (nndsl.ir.subgraph) with the model's weights."""
        engine = create_engine(
            self.backend, graph, seed=self.seed, dtype=self.dtype, device=self.device
        )
        weights = self.engine.get_weights()
        engine.set_weights({k: weights[k] for k in engine.get_weights()})
        return engine

    def unscale(self, out: np.ndarray) -> np.ndarray:
        """Values in the data's units (samples, reconstructions): the standardization
        of the inputs undone; as given where the model scales nothing."""
        if self.scaler is None:
            return out
        from nndsl.data import Standardizer

        std = Standardizer.from_dict(self.scaler)
        if std.mean.shape != out.shape[1:]:
            return out
        return std.inverse_transform(out)

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> dict[str, np.ndarray]:
        return self.engine.get_weights()

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self.engine.set_weights(weights)

    def metadata(self) -> dict[str, Any]:
        from nndsl import __version__

        return {
            "nndsl": __version__,
            "graph": self.graph.to_dict(),
            "discriminator": self.discriminator.to_dict() if self.discriminator else None,
            "plan": self.plan.to_dict() if self.plan else None,
            "scaler": self.scaler,
            "class_names": self.class_names,
            "class_weights": self.class_weights,
            "feature_names": self.feature_names,
            "target_names": self.target_names,
            "vocab": self.vocab.to_dict() if self.vocab is not None else None,
            "preprocessing": self.preprocessing.to_dict() if self.preprocessing else None,
        }

    def save(self, path: str | Path) -> None:
        """Write weights (and the graph, plan and scaling) to .npz or .safetensors."""
        from nndsl.weights import save_weights

        save_weights(path, self.get_weights(), self.metadata())

    def load(self, path: str | Path) -> Model:
        """Load weights saved by either backend into this model."""
        from nndsl.weights import load_weights

        # names and shapes checked against the file's header before any tensor is read
        expected = {k: tuple(v.shape) for k, v in self.engine.get_weights().items()}
        tensors, meta = load_weights(path, expected=expected)
        try:
            self.set_weights(tensors)
        except NNDSLError as e:
            e.message = f"{show_path(path)}: {e.message}"
            e.args = (e.message,)
            raise
        self.scaler = meta.get("scaler", self.scaler)
        self.class_names = meta.get("class_names", self.class_names)
        self.class_weights = meta.get("class_weights", self.class_weights)
        self.feature_names = _names_or_none(meta.get("feature_names"), self.feature_names)
        self.target_names = _names_or_none(meta.get("target_names"), self.target_names)
        if meta.get("vocab") is not None:
            self.vocab = Vocabulary.from_dict(meta["vocab"], f"the vocabulary in {show_path(path)}")
        if meta.get("preprocessing") is not None:
            self.preprocessing = Preprocessing.from_dict(meta["preprocessing"])
        return self

    @classmethod
    def from_file(cls, path: str | Path, **build: Any) -> Model:
        """The model a weights file describes (its graph and plan travel with it), built
        and loaded. `nndsl.load` is the public way in."""
        from nndsl.ir.check import graph_from_description
        from nndsl.weights import load_weights_meta

        meta = load_weights_meta(path)  # the description alone; the tensors once it is built
        if "graph" not in meta:
            raise NNDSLError(
                f"{show_path(path)} holds no model description; load it into a model "
                "built from its .nn file: model.load(path)"
            )
        graph, plan = graph_from_description(meta, str(path))
        if meta.get("discriminator") is not None:
            build["discriminator"] = Graph.from_dict(meta["discriminator"])
        try:
            model = cls(graph, plan, **build)
        except (TypeError, ValueError, KeyError, AttributeError) as e:  # a damaged plan
            raise NNDSLError(f"{show_path(path)}: its training plan is corrupt ({e})") from None
        return model.load(path)

    def torch_module(self) -> Any:
        """The model as a plain `torch.nn.Module` (torch backend), output activation
        included, taking one tensor per input; it shares this model's weights."""
        if not hasattr(self.engine, "torch_module"):
            raise NNDSLError(
                f"torch_module() needs the torch backend; this model runs on {self.backend}",
                hint='build it with backend="torch"',
            )
        return self.engine.torch_module()

    # ------------------------------------------------------------------ misc
    def summary(self) -> Summary:
        """The layer table: a string that prints as the table (at a prompt too) and shows
        as an HTML table in a notebook."""
        return summary_table(self.graph)

    def _require_plan(self, what: str) -> TrainPlan:
        if self.plan is None:
            raise NNDSLError(
                f"cannot {what}: the model '{self.graph.name}' has no train block",
                hint=f"add: train {self.graph.name} {{ loss = mse }}",
            )
        return self.plan

    def __repr__(self) -> str:
        return (
            f"Model({self.graph.name!r}, backend={self.backend!r}, "
            f"params={self.graph.param_count:,})"
        )

    def _repr_html_(self) -> str:
        """In a notebook: the layer table, the backend, and how far it has trained."""
        trained = f", trained {len(self.history)} epochs" if self.history is not None else ""
        head = f"<p>backend {self.backend}{trained}</p>"
        return summary_table(self.graph)._repr_html_() + head


def _target_list(target: Any) -> list[str]:
    """A csv target's column names in output order: a list, or a group {output: column}
    (the compiler orders it by the outputs)."""
    return list(target.values()) if isinstance(target, dict) else list(target)


def _names_or_none(value: Any, default: list[str] | None) -> list[str] | None:
    """Column names read from a weights file: a list of strings, else the default."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return default


def _quote_list(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _split_off(x: Any, y: Any, fraction: float) -> tuple[Any, Any, tuple[Any, Any]]:
    """Keras' validation_split: the last `fraction` of the samples, before shuffling.
    y may be a dict {output: targets} (several outputs)."""
    x = np.asarray(x)
    n = len(x)
    cut = n - int(round(n * fraction))
    if cut <= 0 or cut >= n:
        raise NNDSLError(f"validation_split={fraction} leaves an empty split of {n} samples")
    if isinstance(y, dict):
        ys = {k: np.asarray(v) for k, v in y.items()}
        return (
            x[:cut],
            {k: v[:cut] for k, v in ys.items()},
            (x[cut:], {k: v[cut:] for k, v in ys.items()}),
        )
    y = np.asarray(y)
    return x[:cut], y[:cut], (x[cut:], y[cut:])


def _renamed(kinds: dict[str, Any], here: list[str], trained: list[str] | None) -> dict:
    """The training columns' kinds keyed by their names in new data (the same names,
    unless the columns were taken by position)."""
    if trained is None:
        return kinds
    return {h: kinds[t] for h, t in zip(here, trained) if t in kinds}
