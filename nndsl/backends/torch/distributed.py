"""Several processes: `nndsl run --nproc N` relaunches itself under torchrun
(torch.distributed.run); each worker joins the process group and trains its shard.

The engine notices an initialized process group and wraps its module in
DistributedDataParallel (see engine.py); only rank 0 prints and writes the run folder.
The same command works under a user's own torchrun, across machines:

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29400 -m nndsl run model.nn --backend torch

Importing this module does not import torch: the env checks serve the NumPy path too.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys


def under_torchrun() -> bool:
    """This process is one of several started by torchrun (or a launcher setting its env)."""
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch(argv: list[str], nproc: int) -> int:
    """Run `nndsl <argv>` in `nproc` local worker processes; their exit status."""
    from nndsl.errors import NNDSLError

    try:
        found = importlib.util.find_spec("torch") is not None
    except ValueError:  # torch hidden in sys.modules
        found = False
    if not found:
        raise NNDSLError("the torch backend needs PyTorch: pip install 'nndsl[torch]'")
    argv = without_option(argv, "--nproc")  # workers know from torchrun's env; and
    # torchrun's own parser would take --nproc for an abbreviation of --nproc-per-node
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "nndsl",
        *argv,
    ]
    # one CPU thread per worker, as torchrun would set (saying so in a banner)
    env = {"OMP_NUM_THREADS": "1", **os.environ}
    return subprocess.call(command, env=env)


def without_option(argv: list[str], option: str) -> list[str]:
    """`argv` without `option VALUE` / `option=VALUE`."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            out.append(arg)
    return out


def join(device: str | None) -> int:
    """Join torchrun's process group (NCCL for CUDA, gloo on CPU); this process's rank."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        wants_cuda = (device or "auto").startswith("cuda") or (
            device in (None, "auto") and torch.cuda.is_available()
        )
        if wants_cuda:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group("nccl" if wants_cuda else "gloo")
    return dist.get_rank()


def leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def rank_and_world() -> tuple[int, int]:
    """(rank, number of processes) of the current process group; (0, 1) without one."""
    if "torch" not in sys.modules:
        return 0, 1
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
