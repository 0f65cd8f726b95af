"""Torch tests run single-threaded: the models here are tiny, and on a busy machine
torch's OpenMP workers spin against each other (steps become a hundred times slower)."""

from __future__ import annotations

import pytest


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
