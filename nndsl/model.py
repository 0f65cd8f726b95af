"""A built model: Keras-like fit / evaluate / predict on one backend.

Arguments given to `fit` override the file's `train` block; everything left out comes
from it (including the data, when the block names a data source).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nndsl.backends import create_engine
from nndsl.errors import NNDSLError, NNDSLWarning
from nndsl.ir.graph import Graph
from nndsl.ir.plan import TrainPlan
from nndsl.summary import summary_table
from nndsl.train.callbacks import Callback, EarlyStopping, LearningRateSchedule
from nndsl.train.history import History
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
        self.history: History | None = None
        self.warnings: list[NNDSLWarning] = []  # found by the last fit (nndsl.lint)
        if plan is not None:  # the file's engine settings, unless build() gives them
            options.setdefault("mixed_precision", plan.mixed_precision)
            options.setdefault("compile", plan.compile)
        self.engine = create_engine(
            backend,
            graph,
            seed=self.seed,
            dtype=self.dtype,
            loss=plan.loss if plan else None,
            optimizer=plan.optimizer if plan else None,
            metrics=plan.metric_names if plan else [],
            clip_norm=plan.clip_norm if plan else None,
            device=device,
            **options,
        )

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
    ) -> History:
        """Train; returns a History (`history.history["val_loss"]`, ...)."""
        plan = self._require_plan("fit")
        if x is None:
            splits = self.load_data(validation_split)
            train, val = splits.train, splits.validation
            tx, ty = train.x, train.y
            if validation_data is None and val is not None:
                validation_data = (val.x, val.y)
        else:
            if y is None:
                raise NNDSLError("fit(x, y) needs targets y")
            tx, ty = self._scale(x), y
            if validation_split:
                tx, ty, validation_data = _split_off(tx, ty, validation_split)
            elif validation_data is not None:
                validation_data = (self._scale(validation_data[0]), validation_data[1])
        train_data = self.engine.prepare(tx, ty)
        val_data = self.engine.prepare(*validation_data) if validation_data is not None else None
        bs = batch_size or plan.batch_size
        self._check_before_training(len(train_data), batch_size, verbose)
        n_epochs = epochs or plan.epochs
        cbs: list[Callback] = []
        if plan.early_stop is not None:
            cbs.append(EarlyStopping(**plan.early_stop))
        if plan.schedule is not None:
            from nndsl.train.schedules import make_schedule

            cbs.append(LearningRateSchedule(make_schedule(plan.schedule, self.engine.lr)))
        if verbose:
            from nndsl.train.progress import Progress

            steps = -(-len(train_data) // bs)
            cbs.append(Progress(n_epochs, steps))
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
        self.warnings = found + ([batch] if batch else [])
        if verbose:
            for warning in self.warnings:
                warnings.warn(warning, stacklevel=3)

    def load_data(self, validation_split: float | None = None) -> Splits:
        """The train block's data, split and scaled as the plan says (the splits hold
        scaled inputs; the model remembers the scaling for raw inputs given later)."""
        from nndsl.train.data_plan import load_splits

        plan = self._require_plan("load data")
        try:
            splits = load_splits(plan, validation_split, check=self._check_targets)
        except NNDSLError as e:  # a missing or bad data file: say which .nn file names it
            raise e.located(self.program.path if self.program else None, None) from None
        self.scaler = splits.scaler
        self.class_names = splits.class_names
        return splits

    def _check_targets(self, dataset: Any) -> None:
        """A target the loss cannot take (a class label out of range for the output), named
        by the data's own row before any split or shuffle: for a CSV, its line and cell."""
        from nndsl.train.targets import first_bad_target

        plan = self.plan
        units = self.graph.output.shape[-1] if self.graph.output.shape else 1
        found = first_bad_target(dataset.y, plan.loss.name, self.graph.output.shape)
        if found is None:
            return
        row, col, problem, hint = found
        names = dataset.class_names
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
            column = target if isinstance(target, str) else list(target)[col]
            raise cell_error(
                resolve_path(spec.args["path"], plan.base_dir),
                row,
                column,
                problem,
                hint,
                delimiter=spec.args.get("delimiter", ","),
                shown=spec.args["path"],
            )
        where = f"{spec.args['path']}: y[{row}]" if spec.name == "npz" else f"sample {row}"
        raise NNDSLError(f"{where}: {problem}", hint=hint)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None) -> dict:
        """{"loss": ..., metric: ...} in evaluation mode (no dropout). Without x, on the
        train block's test split (else validation, else training data)."""
        if x is None:
            splits = self.load_data()
            part = splits.test or splits.validation or splits.train
            return self.evaluate_scaled(part.x, part.y, batch_size)
        return self.evaluate_scaled(self._scale(x), y, batch_size)

    def evaluate_scaled(self, x: Any, y: Any, batch_size: int | None = None) -> dict:
        """evaluate() on inputs already scaled like the training data (e.g. load_data's)."""
        plan = self._require_plan("evaluate")
        data = self.engine.prepare(x, y)
        return self.engine.evaluate(data, batch_size or plan.batch_size)

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Outputs (after the output activation) for raw inputs x; inputs are scaled the way
        the training data was when the train block says `standardize=true`."""
        return self.engine.predict(self._scale(x), batch_size)

    def _scale(self, x: Any) -> Any:
        if self.scaler is None or isinstance(x, (dict, list, tuple)):
            return x
        from nndsl.train.data_plan import apply_scaler

        return apply_scaler(self.scaler, np.asarray(x, dtype=np.float64))

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
            "plan": self.plan.to_dict() if self.plan else None,
            "scaler": self.scaler,
            "class_names": self.class_names,
        }

    def save(self, path: str | Path) -> None:
        """Write weights (and the graph, plan and scaling) to .npz or .safetensors."""
        from nndsl.weights import save_weights

        save_weights(path, self.get_weights(), self.metadata())

    def load(self, path: str | Path) -> Model:
        """Load weights saved by either backend into this model."""
        from nndsl.weights import load_weights

        tensors, meta = load_weights(path)
        try:
            self.set_weights(tensors)
        except NNDSLError as e:
            e.message = f"{path}: {e.message}"
            e.args = (e.message,)
            raise
        self.scaler = meta.get("scaler", self.scaler)
        self.class_names = meta.get("class_names", self.class_names)
        return self

    @classmethod
    def load_file(cls, path: str | Path, program: Any = None, **build: Any) -> Model:
        from nndsl.weights import load_weights

        _, meta = load_weights(path)
        if program is not None:
            from nndsl.api import Program, compile_file

            prog = program if isinstance(program, Program) else compile_file(program)
            model = prog.build(**build)
        else:
            if "graph" not in meta:
                raise NNDSLError(
                    f"{path} holds no model description; load it into a model "
                    "built from its .nn file: model.load(path)"
                )
            from nndsl.ir.check import graph_from_description

            graph, plan = graph_from_description(meta, str(path))
            try:
                model = cls(graph, plan, **build)
            except (TypeError, ValueError, KeyError, AttributeError) as e:  # a damaged plan
                raise NNDSLError(f"{path}: its training plan is corrupt ({e})") from None
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
    def summary(self) -> str:
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


def _split_off(x: Any, y: Any, fraction: float) -> tuple[Any, Any, tuple[Any, Any]]:
    """Keras' validation_split: the last `fraction` of the samples, before shuffling."""
    n = len(y)
    cut = n - int(round(n * fraction))
    if cut <= 0 or cut >= n:
        raise NNDSLError(f"validation_split={fraction} leaves an empty split of {n} samples")
    x = np.asarray(x)
    y = np.asarray(y)
    return x[:cut], y[:cut], (x[cut:], y[cut:])
