"""Torch tests run single-threaded: the models here are tiny, and on a busy machine
torch's OpenMP workers spin against each other (steps become a hundred times slower).

The device and precision of the agreement tests (test_torch_agreement, _layers,
_composed, _attention, _primitives) come from two environment variables, read here
once, so that the same tests check the CUDA path (benchmarks/gpu_check.py runs them so):

    NNDSL_TEST_DEVICE=cuda   the torch side runs there (default cpu)
    NNDSL_TEST_DTYPE=float32 the tests written for float64 run in float32, at float32
                             tolerances (the default off the CPU: a GPU's float64 is
                             not what it trains in; on the CPU the default is float64)

Tests take them through the fixtures `device` and `precise`; a test parametrized over
both dtypes takes `dtype` indirectly, and its float64 half is skipped where `precise`
is float32 (the float32 half runs anyway). On a GPU the engine turns TF32 on for speed
(a 10-bit mantissa: errors near 1e-3); here it is turned off again after each engine is
built, because these tests measure the lowering at float32's own precision.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

DEVICE = os.environ.get("NNDSL_TEST_DEVICE", "cpu")
PRECISE = os.environ.get("NNDSL_TEST_DTYPE") or ("float64" if DEVICE == "cpu" else "float32")
if PRECISE not in ("float64", "float32"):
    raise pytest.UsageError(f"NNDSL_TEST_DTYPE={PRECISE}: float64 or float32")


@pytest.fixture(autouse=True, scope="package")
def one_torch_thread():
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="package")
def no_tf32() -> Iterator[None]:
    if not DEVICE.startswith("cuda"):  # TF32 exists on CUDA only: the CPU run is untouched
        yield
        return
    import torch

    from nndsl.backends.torch.engine import TorchEngine

    built = TorchEngine.__init__

    def init(self, *args, **kwargs) -> None:
        built(self, *args, **kwargs)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TorchEngine, "__init__", init)
        yield


@pytest.fixture(scope="session")
def device() -> str:
    """Where the torch side of an agreement test runs (NNDSL_TEST_DEVICE)."""
    return DEVICE


@pytest.fixture(scope="session")
def precise() -> str:
    """The dtype of a test written for float64: float64, or float32 (NNDSL_TEST_DTYPE)."""
    return PRECISE


@pytest.fixture
def dtype(request: pytest.FixtureRequest) -> str:
    """A dtype parameter (indirect=True): float64 runs only where `precise` is float64."""
    if request.param == "float64" and PRECISE != "float64":
        pytest.skip("float64 off: NNDSL_TEST_DTYPE=float32 (its float32 twin runs)")
    return request.param
