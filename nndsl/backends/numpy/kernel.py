"""The base of every NumPy kernel (see kernels.py): a graph node's forward and
vector-Jacobian product, with its weights and gradients as views of the engine's flat
buffers, and output buffers kept per shape."""

from __future__ import annotations

import numpy as np

from nndsl.ir.graph import Node


class Kernel:
    def __init__(
        self,
        node: Node,
        weights: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        needs_input_grad: list[bool],
        dtype: np.dtype,
        rng: np.random.Generator,
    ) -> None:
        self.node = node
        self.w = weights  # weight name -> view into the flat parameter buffer
        self.g = grads  # weight name -> view into the flat gradient buffer
        self.needs_input_grad = needs_input_grad
        self.dtype = dtype
        self.rng = rng
        self._buffers: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def buffer(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._buffers.get((key, shape))
        if buf is None:
            buf = self._buffers[(key, shape)] = np.empty(shape, self.dtype)
        return buf

    def forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> list[np.ndarray | None]:
        raise NotImplementedError
