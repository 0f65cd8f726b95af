"""The Python API: compile a `.nn` file or string into a `Program`, build models from it.

program = nndsl.compile_file("will_i_pass.nn")
model = program.build(backend="numpy", seed=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nndsl.blocks import MAX_SOURCE_BYTES
from nndsl.compiler import CompiledFile, compile_with_overrides
from nndsl.errors import NNDSLError, NNDSLWarning, did_you_mean
from nndsl.files import MissingFile, read_regular, show_path
from nndsl.htmlparts import escape, table
from nndsl.ir.graph import Graph
from nndsl.ir.plan import TrainPlan
from nndsl.summary import summary_table
from nndsl.syntax.parser import parse
from nndsl.train.data_plan import input_width

# the weights file in a run folder of `nndsl run` (nndsl.runfolder.RunFolder.WEIGHTS)
RUN_WEIGHTS = "weights.npz"

if TYPE_CHECKING:
    from nndsl.model import Model
    from nndsl.sweep.grid import Sweep
    from nndsl.sweep.trials import Trial


class Program:
    """A checked `.nn` file: its model graphs and its training plan(s)."""

    def __init__(self, compiled: CompiledFile) -> None:
        self._compiled = compiled
        self.models: dict[str, Graph] = compiled.models
        self.plans: list[TrainPlan] = compiled.plans
        self.path: str | None = compiled.module.path
        self.source: str = compiled.module.source
        self.overrides: list[str] = []  # the `--set key=value` texts applied
        self._trials: list[Trial] | None = None

    @property
    def warnings(self) -> list[NNDSLWarning]:
        """What compiles but is probably not meant (nndsl.lint): located, never fatal."""
        if not hasattr(self, "_warnings"):
            from nndsl.lint import check_program

            self._warnings = check_program(self)
        return self._warnings

    @property
    def sweep(self) -> Sweep | None:
        """The grid of the lists written where one value goes; None for a plain file."""
        return self._compiled.sweep

    @property
    def trials(self) -> list[Trial]:
        """A sweep file's trials in grid order, each with `.config` ({axis: value}) and
        `.program` (a plain Program); [] for a plain file. A sweep file's own models and
        plans are those of its first trial. Ranges (`loguniform(...)`, for `search =
        optuna(...)`) are at their low ends here; the search samples its own trials."""
        if self._trials is None:
            from nndsl.sweep.trials import trials_of

            self._trials = trials_of(self)
        return self._trials

    @property
    def train(self) -> TrainPlan | None:
        """The resolved plan of the (first) `train` block, or None when there is none."""
        return self.plans[0] if self.plans else None

    @property
    def graph(self) -> Graph:
        """The graph of the model the file trains (or of its only model)."""
        return self.models[self._default_model()]

    def _default_model(self) -> str:
        if self.train is not None:
            return self.train.model
        return next(iter(self.models))

    def model_graph(self, name: str | None = None) -> Graph:
        if name is None:
            return self.graph
        if name not in self.models:
            raise NNDSLError(
                f"no model named '{name}'",
                hint=did_you_mean(name, self.models) or "models: " + ", ".join(self.models),
            )
        return self.models[name]

    def plan_for(self, model: str | None = None) -> TrainPlan | None:
        name = model or self._default_model()
        return next((p for p in self.plans if p.model == name), None)

    def summary(self, model: str | None = None) -> str:
        return summary_table(self.model_graph(model))

    def build(
        self,
        backend: str = "numpy",
        seed: int | None = None,
        *,
        model: str | None = None,
        dtype: str | None = None,
        device: str | None = None,
        **options: Any,
    ) -> Model:
        """A trainable model on `backend` ("numpy" or "torch"); the seed defaults to the
        file's `seed` setting. Both backends start from identical weights for one seed."""
        from nndsl.model import Model

        graph = self.model_graph(model)
        plan = self.plan_for(graph.name)
        return Model(
            graph,
            plan,
            backend=backend,
            seed=seed,
            dtype=dtype,
            device=device,
            program=self,
            **options,
        )

    def __repr__(self) -> str:
        return f"Program(path={self.path!r}, models={list(self.models)})"

    def _repr_html_(self) -> str:
        """In a notebook: each model's layer table and its train block's main settings."""
        out = [f"<p><b>{escape(self.path or 'nndsl program')}</b></p>"]
        for name, graph in self.models.items():
            out.append(summary_table(graph)._repr_html_())
            plan = self.plan_for(name)
            if plan is not None:
                settings = [
                    ["data", str(plan.data) if plan.data is not None else "(given to fit)"],
                    ["loss", str(plan.loss)],
                    ["optimizer", str(plan.optimizer)],
                    ["epochs", plan.epochs],
                    ["batch_size", plan.batch_size],
                    ["metrics", ", ".join(str(m) for m in plan.metrics) or "-"],
                ]
                out.append(f"<p>train {escape(name)}</p>" + table(["setting", "value"], settings))
        return "".join(out)


def compile_string(
    source: str,
    path: str | None = None,
    overrides: list[str] = (),
    input_widths: dict[str, int] | None = None,
) -> Program:
    """Compile `.nn` source text. `path` is used in messages and to resolve data files;
    `overrides` are `key=value` train settings that replace the file's. `input_widths`
    ({model: width}) answers input(auto) without reading the data (a trained model's)."""
    module = parse(source, path)
    module.input_widths.update(input_widths or {})
    compiled = compile_with_overrides(module, list(overrides))
    if compiled.auto_inputs:  # input(auto): the data's width, then compiled again
        for model, where in compiled.auto_inputs.items():
            module.input_widths[model] = _data_width(compiled, model, where)
        compiled = compile_with_overrides(module, list(overrides))
    program = Program(compiled)
    program.overrides = list(overrides)
    return program


def _data_width(compiled: CompiledFile, model: str, where: tuple[int, int]) -> int:
    """The input width of `model`'s training data: its encoded columns (a category is
    as wide as its one-hot), else its feature count."""
    plan = next((p for p in compiled.plans if p.model == model and p.data is not None), None)
    module = compiled.module
    if plan is None:
        raise NNDSLError(
            f"input(auto) takes its width from the data, and no train block of '{model}' names any",
            path=module.path,
            source=module.source,
            line=where[0],
            column=where[1],
            hint="write the width, e.g. input(8), or add data = csv(...) to its train block",
        )
    try:
        return input_width(plan)
    except NNDSLError as e:
        if e.line is None:  # about the data as a whole: shown at input(auto)
            e.line, e.column = where
            e.located(module.path, module.source)
        raise


def compile_file(path: str | Path, overrides: list[str] = ()) -> Program:
    """Read and compile a `.nn` file."""
    p = Path(path)
    try:  # a regular file only: a FIFO or device named here would hang the read
        data = read_regular(p, ".nn file", limit=MAX_SOURCE_BYTES)
    except MissingFile:
        raise NNDSLError(f"no such file: {show_path(p)}") from None
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NNDSLError(f"{p} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    return compile_string(source, str(p), overrides)


def load(path: str | Path, program: Program | str | Path | None = None, **build: Any) -> Model:
    """Load a model saved with `model.save(path)` (its graph travels with the weights), or
    into the model of `program` (a Program or a .nn path) when given. `path` may be a run
    folder of `nndsl run`: its weights.npz."""
    from nndsl.model import Model

    if Path(path).is_dir() and (Path(path) / RUN_WEIGHTS).is_file():
        path = Path(path) / RUN_WEIGHTS
    if program is None:
        return Model.from_file(path, **build)
    prog = program if isinstance(program, Program) else compile_file(program)
    return prog.build(**build).load(path)
