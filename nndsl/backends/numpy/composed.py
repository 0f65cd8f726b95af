"""Ops declared as compositions of primitives (`OpDef.compute`), run on the NumPy tape:
the forward records each primitive, the backward runs their VJPs (nndsl.backends.numpy.
autodiff). No op-specific code: a new composed op needs none here. The pass's context
comes in on `P` (`training`, `random` from the kernel's generator, the one the hand-written
kernels draw from); new state values a compute returns are written into the state views
after its forward."""

from __future__ import annotations

from typing import Any

import numpy as np

from nndsl.backends.numpy.activations import ACTIVATIONS, Activation
from nndsl.backends.numpy.autodiff import Primitives, Tape, Var
from nndsl.backends.numpy.kernel import Kernel
from nndsl.ir.ops import OPS


class ComposedKernel(Kernel):
    """A graph node whose op gives `compute(P, xs, w, a)`. The answers of each pass are
    kept per input shape and mode and written over by the next such pass (`Tape(kept=)`):
    the forward of a repeated step allocates nothing the primitives can write in place."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compute = OPS[self.node.op].compute
        self.attrs = dict(self.node.attrs)
        self.P = Primitives(rng=self.rng)
        self._kept: dict[tuple, list[np.ndarray]] = {}

    def forward(self, xs, training):
        key = (training, *(x.shape for x in xs))
        tape = self.P.tape = Tape(self._kept.get(key))
        self.P.training = training
        self.ins = [tape.leaf(x, need) for x, need in zip(xs, self.needs_input_grad)]
        self.ws = {name: tape.leaf(value, name in self.g) for name, value in self.w.items()}
        result = self.compute(self.P, self.ins, self.ws, self.attrs)
        out, moved = result if isinstance(result, tuple) else (result, {})
        for name, value in moved.items():  # state (running statistics): after the pass
            np.copyto(self.w[name], value.value if isinstance(value, Var) else value)
        self.out = _as_var(out, tape)
        self._kept[key] = tape.answers
        return self.out.value

    def backward(self, dy):
        grads = self.P.tape.grads(self.out, dy)
        for name, view in self.g.items():
            g = grads.get(id(self.ws[name]))
            if g is None:
                view.fill(0)  # the output does not depend on it
            else:
                np.copyto(view, g)
        # an input the output does not depend on in this pass (sample_normal's log_var
        # out of training) gets zeros, not None: the layers above it would keep the
        # gradients of an earlier pass (torch's autograd gives them zeros too)
        return [
            _or_zeros(grads.get(id(v)), v) if need else None
            for v, need in zip(self.ins, self.needs_input_grad)
        ]


class ComposedActivation:
    """A composed activation op as `activation=` of a layer: forward(z, out, **args) and
    backward(dy, z, a, out, **args), the interface of the hand-written ones.

    A layer calls the backward with the z and a of a forward (a recurrent one for each
    step, in reverse), so each forward's tape is kept under where it wrote its answer;
    the backward differentiates it if z and a are still what that forward saw (compared,
    not assumed), and else records the forward again."""

    KEEP = 4096  # tapes at most (a recurrent layer keeps one per step and activation)

    def __init__(self, name: str) -> None:
        self.compute = OPS[name].compute
        self.P = Primitives()
        self._tapes: dict[tuple, tuple[Tape, Var, Var, dict[str, Any]]] = {}

    def _run(self, z: np.ndarray, args: dict[str, Any]) -> tuple[Tape, Var, Var]:
        tape = self.P.tape = Tape()
        x = tape.leaf(z)
        return tape, x, _as_var(self.compute(self.P, [x], {}, args), tape)

    def forward(self, z: np.ndarray, out: np.ndarray, **args: Any) -> np.ndarray:
        tape, x, y = self._run(z.copy(), args)  # z's values as seen: the backward checks
        np.copyto(out, y.value)
        if len(self._tapes) >= self.KEEP:
            self._tapes.clear()
        self._tapes[_where(out)] = (tape, x, y, args)
        return out

    def backward(
        self, dy: np.ndarray, z: np.ndarray, a: np.ndarray, out: np.ndarray, **args: Any
    ) -> np.ndarray:
        kept = self._tapes.get(_where(a))
        if (
            kept is not None
            and kept[3] == args
            and np.array_equal(kept[1].value, z)
            and np.array_equal(kept[2].value, a)
        ):
            tape, x, y, _ = kept
        else:
            tape, x, y = self._run(z, args)
        g = tape.grads(y, dy).get(id(x))
        if g is None:
            out.fill(0)
        else:
            np.copyto(out, g)
        return out


def activation_of(name: str) -> Activation | ComposedActivation:
    """The NumPy implementation of activation `name`: its hand-written kernel where there is
    one, else its declaration's composition."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if OPS[name].compute is None:
        raise KeyError(f"activation '{name}' has neither a kernel nor a composition")
    return ComposedActivation(name)


def _where(a: np.ndarray) -> tuple:
    """Where an array's values lie: its address, shape and strides."""
    return a.__array_interface__["data"][0], a.shape, a.strides


def _or_zeros(g: np.ndarray | None, v: Var) -> np.ndarray:
    return np.zeros_like(v.value) if g is None else g


def _as_var(value: Any, tape: Tape) -> Var:
    """A compute may return one of its inputs unchanged, or a constant."""
    return value if isinstance(value, Var) else tape.leaf(np.asarray(value), False)
