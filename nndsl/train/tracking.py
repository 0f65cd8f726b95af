"""Experiment tracking: a run's numbers sent where people already look at them, by the
train block's `log = tensorboard(...)` / `mlflow(...)` (nndsl.ir.catalog, "logger").

Each tracker gets, for one nndsl run (a sweep: each trial is a run of its own): the
resolved settings once, every epoch's metrics, the final metrics, and the run folder's
files (weights, curves, report) once it is written. The libraries are optional extras
(`tensorboard`: tensorboardX, else torch.utils.tensorboard; `mlflow`), imported when a
run starts; a missing one is an error before training, with the pip command.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from pathlib import Path
from typing import Any

from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec
from nndsl.train.callbacks import Callback

MLFLOW_PARAM_CHARS = 6000  # MLflow refuses longer parameter values


class Tracker(Callback):
    """The trackers of one run, as one training callback."""

    def __init__(self, logs: list[Any]) -> None:
        self.logs = logs

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for log in self.logs:
            log.scalars(epoch + 1, logs)

    def finish(self, metrics: dict[str, Any], files: list[Path], status: str) -> None:
        """After the run folder is written: its final metrics and files, and the status."""
        final = {
            f"{split}_{name}": value
            for split, values in metrics.items()
            if isinstance(values, dict)
            for name, value in values.items()
            if isinstance(value, (int, float))
        }
        for log in self.logs:
            log.final(final)
            log.files([f for f in files if f.is_file()])
            log.close(status)

    def abort(self) -> None:
        for log in self.logs:
            log.close("failed")


def make_tracker(
    specs: list[Spec], base_dir: Path, run_name: str, model_name: str, params: dict[str, Any]
) -> Tracker:
    """The trackers `specs` name, opened (their libraries checked first)."""
    for spec in specs:
        need = {"tensorboard": ("tensorboardX", "tensorboard"), "mlflow": ("mlflow",)}[spec.name]
        if not any(importlib.util.find_spec(m) for m in need):
            raise NNDSLError(
                f"log = {spec.name}(...) needs {' or '.join(need)}",
                hint=f"pip install 'nndsl[{spec.name}]'",
            )
    logs: list[Any] = []
    for spec in specs:
        if spec.name == "tensorboard":
            folder = Path(spec.args["dir"])
            folder = folder if folder.is_absolute() else base_dir / folder
            logs.append(TensorBoardLog(folder / run_name, params))
        else:
            experiment = spec.args.get("experiment") or model_name
            logs.append(MlflowLog(spec.args.get("uri"), experiment, run_name, params, base_dir))
    return Tracker(logs)


def flat_params(plan: Any, extra: dict[str, Any]) -> dict[str, str]:
    """A plan's settings as name -> text, the way the file would write them."""
    out = {k: str(v) for k, v in extra.items() if v is not None}
    for key, value in vars(plan).items():
        if key in ("heads", "terms", "base_dir", "log") or value is None:
            continue
        if isinstance(value, list):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        out[key] = str(value)
    return out


class TensorBoardLog:
    def __init__(self, folder: Path, params: dict[str, str]) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            from torch.utils.tensorboard import SummaryWriter
        self.folder = folder
        self.writer = SummaryWriter(str(folder))
        table = "| setting | value |\n|---|---|\n" + "\n".join(
            f"| {k} | `{v}` |" for k, v in params.items()
        )
        self.writer.add_text("settings", table, 0)

    def scalars(self, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.writer.add_scalar(key, value, epoch)
        self.writer.flush()

    def final(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(f"final/{key}", value, 0)

    def files(self, paths: list[Path]) -> None:
        listed = "\n".join(f"- {p}" for p in paths)
        self.writer.add_text("run folder", listed, 0)

    def close(self, status: str) -> None:
        self.writer.add_text("status", status, 0)
        self.writer.close()


class MlflowLog:
    """One MLflow run through the client API (no global active run: trials of a sweep in
    one process stay apart)."""

    def __init__(
        self, uri: str | None, experiment: str, run_name: str, params: dict, base_dir: Path
    ) -> None:
        uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or (base_dir / "mlruns").as_uri()
        if uri.startswith("file:"):  # MLflow 3 asks to opt in to its plain-folder store
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        exp_id = found.experiment_id if found else self.client.create_experiment(experiment)
        self.run_id = self.client.create_run(exp_id, run_name=run_name).info.run_id
        items = [Param(k[:250], v[:MLFLOW_PARAM_CHARS]) for k, v in params.items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 per batch
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def scalars(self, epoch: int, logs: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, epoch) for k, v in logs.items() if math.isfinite(v)]
        self.client.log_batch(self.run_id, metrics=metrics)

    def final(self, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        kept = [Metric(f"final_{k}", v, now, 0) for k, v in metrics.items() if math.isfinite(v)]
        self.client.log_batch(self.run_id, metrics=kept)

    def files(self, paths: list[Path]) -> None:
        for path in paths:
            self.client.log_artifact(self.run_id, str(path))

    def close(self, status: str) -> None:
        # a search's pruned trial ran whole up to the epoch it was stopped at
        state = {"completed": "FINISHED", "stopped early": "FINISHED", "pruned": "FINISHED"}
        state["interrupted"] = "KILLED"
        self.client.set_terminated(self.run_id, status=state.get(status, "FAILED"))
