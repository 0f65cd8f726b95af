"""Optimizers: the catalog's optimizers are torch.optim's, argument for argument.

The catalog (nndsl.ir.catalog) declares them with torch.optim's names and defaults, so a
bound `Spec` passes straight through. Fused implementations are used where torch has
them for the device, multi-tensor (foreach) ones elsewhere.

Optimizer state converts to and from the NumPy backend's layout: `step`, `lr`, and per
state buffer one flat array of all parameters in weight order (torch's state names:
exp_avg, exp_avg_sq, momentum_buffer, ...), so a checkpoint resumes on either backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop,
}

# device type -> optimizers with a fused implementation there
FUSED = {
    "cpu": {"sgd", "adam", "adamw", "adagrad"},
    "cuda": {"sgd", "adam", "adamw"},
}


def make_optimizer(spec: Spec, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The torch.optim optimizer `spec` names (arguments all bound) over `params`."""
    cls = OPTIMIZERS.get(spec.name)
    if cls is None:
        raise NNDSLError(
            f"the torch backend has no optimizer '{spec.name}'",
            hint="one of: " + ", ".join(OPTIMIZERS),
        )
    args = dict(spec.args)
    if "betas" in args:
        if len(args["betas"]) != 2:
            raise NNDSLError(f"{spec.name}: betas needs two values, got {len(args['betas'])}")
        args["betas"] = tuple(args["betas"])
    device = params[0].device.type if params else "cpu"
    if spec.name in FUSED.get(device, ()):
        args["fused"] = True
    else:
        args["foreach"] = True
    try:
        return cls(params, **args)
    except ValueError as e:  # e.g. nesterov without momentum
        raise NNDSLError(f"{spec.name}: {e}") from None


def flat_state(
    optimizer: torch.optim.Optimizer, params: list[torch.Tensor], steps: int
) -> dict[str, Any]:
    """{step, lr, buffer name: (n,) array over all `params` in order}."""
    state: dict[str, Any] = {"step": steps, "lr": optimizer.param_groups[0]["lr"]}
    per_param = [optimizer.state.get(p, {}) for p in params]
    first = per_param[0] if per_param else {}
    for name in [k for k, v in first.items() if k != "step" and torch.is_tensor(v)]:
        state[name] = np.concatenate(
            [s[name].detach().reshape(-1).cpu().numpy() for s in per_param]
        )
    return state


def load_flat_state(
    optimizer: torch.optim.Optimizer, params: list[torch.Tensor], state: dict[str, Any]
) -> int:
    """Continue from `flat_state`'s output (from either backend); returns the step count."""
    steps = int(state["step"])
    for group in optimizer.param_groups:
        group["lr"] = float(state["lr"])
    if steps == 0:
        return 0  # nothing accumulated yet: keep torch's fresh state
    total = sum(p.numel() for p in params)
    buffers = {k: np.asarray(v) for k, v in state.items() if k not in ("step", "lr")}
    for name, flat in buffers.items():
        if flat.shape != (total,):
            raise NNDSLError(
                f"optimizer state '{name}' has shape {flat.shape}, expected ({total},)"
            )
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    offset = 0
    for i, p in enumerate(params):
        n = p.numel()
        per_param[i] = {"step": torch.tensor(float(steps))}
        for name, flat in buffers.items():
            per_param[i][name] = torch.as_tensor(flat[offset : offset + n].reshape(p.shape))
        offset += n
    groups = optimizer.state_dict()["param_groups"]
    optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    return steps
