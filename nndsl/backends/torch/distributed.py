"""Several processes: `nndsl run --nproc N` relaunches itself under torchrun
(torch.distributed.run); each worker joins the process group and trains its shard.
`--nnodes M --node-rank K --master HOST:PORT` makes this machine node K of M, the same
command run on each (a static rendezvous at node 0's HOST:PORT, see `Launch`).

The engine notices an initialized process group and wraps its module in
DistributedDataParallel (see engine.py); only global rank 0 prints and writes the run
folder. The same command works under a user's own torchrun:

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29400 -m nndsl run model.nn --backend torch

Importing this module does not import torch: the env checks serve the NumPy path too.
"""

from __future__ import annotations

import importlib.util
import os
import random
import socket
import subprocess
import sys
from dataclasses import dataclass


def under_torchrun() -> bool:
    """This process is one of several started by torchrun (or a launcher setting its env)."""
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class Launch:
    """How `nndsl run` starts torchrun: `nproc` workers on this machine, the `node`-th of
    `nodes` machines meeting at `master` (HOST, PORT), None for one machine alone."""

    nproc: int = 1
    nodes: int = 1
    node: int = 0
    master: tuple[str, int] | None = None

    @property
    def starts_torchrun(self) -> bool:
        return self.nproc > 1 or self.nodes > 1 or self.master is not None

    def torchrun_options(self) -> list[str]:
        """One machine: --standalone (torchrun picks a free port). Several: a static
        rendezvous at the master. Static, not c10d: the global ranks then follow
        --node-rank (node K's workers are ranks K*N .. K*N+N-1), so global rank 0, the
        one that writes the run folder, runs on node 0, the machine --master names; c10d
        would give the node ranks out in order of arrival."""
        options = [f"--nproc-per-node={self.nproc}"]
        if self.master is None:
            return ["--standalone", *options]
        host, port = self.master
        return [
            *options,
            f"--nnodes={self.nodes}",
            f"--node-rank={self.node}",
            f"--master-addr={host}",
            f"--master-port={port}",
        ]


# nndsl run's options that start torchrun; its workers are started without them
LAUNCH_OPTIONS = ("--nproc", "--nnodes", "--node-rank", "--master")


def launch_plan(nproc: int, nnodes: int, node_rank: int | None, master: str | None) -> Launch:
    """The checked `--nproc`, `--nnodes`, `--node-rank` and `--master` of `nndsl run`."""
    from nndsl.errors import NNDSLError

    if nproc < 1:
        raise NNDSLError(f"--nproc must be at least 1, got {nproc}")
    if nnodes < 1:
        raise NNDSLError(f"--nnodes must be at least 1, got {nnodes}")
    example = "e.g. --nnodes 2 --node-rank 0 --master 10.0.0.1:29500 on the first machine"
    if nnodes > 1 and master is None:
        raise NNDSLError(
            f"--nnodes {nnodes} needs --master HOST:PORT, where the machines meet",
            hint="the address of node 0 (the one with --node-rank 0) and a free port on it; "
            + example,
        )
    if nnodes > 1 and node_rank is None:
        raise NNDSLError(
            f"--nnodes {nnodes} needs --node-rank K: which machine this is, 0 to {nnodes - 1}",
            hint=example,
        )
    node = node_rank or 0
    if not 0 <= node < nnodes:
        raise NNDSLError(
            f"--node-rank {node} is out of range for --nnodes {nnodes}",
            hint=f"number the machines 0 to {nnodes - 1}; node 0 hosts --master",
        )
    return Launch(nproc, nnodes, node, parse_master(master) if master is not None else None)


def parse_master(text: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets, [::1]:29500) as (host, port)."""
    from nndsl.errors import NNDSLError

    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or ":" in port:
        raise NNDSLError(
            f"--master must be HOST:PORT, got '{text}'",
            hint="node 0's address and a free port on it, e.g. 10.0.0.1:29500 or "
            "[fe80::1]:29500; the same on every machine",
        )
    return host, int(port)


def launch(argv: list[str], plan: Launch) -> int:
    """Run `nndsl <argv>` in this machine's `plan.nproc` worker processes (of
    `plan.nodes` machines'); their exit status."""
    from nndsl.errors import NNDSLError

    try:
        found = importlib.util.find_spec("torch") is not None
    except ValueError:  # torch hidden in sys.modules
        found = False
    if not found:
        raise NNDSLError("the torch backend needs PyTorch: pip install 'nndsl[torch]'")
    # the workers know from torchrun's env; and torchrun's own parser would take
    # --nproc for an abbreviation of --nproc-per-node, --master of --master-addr
    for option in LAUNCH_OPTIONS:
        argv = without_option(argv, option)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *plan.torchrun_options(),
        "-m",
        "nndsl",
        *argv,
    ]
    # one CPU thread per worker, as torchrun would set (saying so in a banner)
    env = {"OMP_NUM_THREADS": "1", **os.environ}
    return subprocess.call(command, env=env)


def without_option(argv: list[str], option: str) -> list[str]:
    """`argv` without `option VALUE` / `option=VALUE`, or an abbreviation of `option`
    that argparse took for it (`--node 1` for `--node-rank 1`)."""
    out, skip = [], False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if skip:
            skip = False
        elif len(name) > 3 and option.startswith(name):
            skip = "=" not in arg
        else:
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


def free_local_port() -> int:
    """A free port on 127.0.0.1 for "nodes" meeting on one machine (tests, benchmarks),
    below the ephemeral range (32768 and up on Linux) where the OS's own port-0 picks
    lie: a node connecting to a port there before the master listens may be given that
    very port as its own end and connect to itself (TCP's simultaneous open); its worker
    then aborts, and the other waits out the store's timeout."""
    rng = random.Random()
    while True:
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
