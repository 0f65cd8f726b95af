"""Activation functions and their derivatives, one entry per activation op.

Each entry is `forward(z, out, **args) -> out` and `backward(dy, z, a, out, **args) -> out`,
writing into `out` (no per-step allocation beyond small temporaries). All are stable at
+-1000: no overflow warnings, no NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _erf() -> Callable[[np.ndarray], np.ndarray]:
    try:
        from scipy.special import erf  # exact and vectorized when scipy is present

        return erf
    except ImportError:  # pragma: no cover - scipy comes with the datasets extra
        return np.frompyfunc(math.erf, 1, 1)


_ERF: Callable[[np.ndarray], np.ndarray] | None = None


def erf(x: np.ndarray) -> np.ndarray:
    global _ERF
    if _ERF is None:
        _ERF = _erf()
    return np.asarray(_ERF(x), dtype=x.dtype)


@dataclass(frozen=True)
class Activation:
    forward: Callable[..., np.ndarray]
    backward: Callable[..., np.ndarray]


def _linear_f(z, out):
    np.copyto(out, z)
    return out


def _linear_b(dy, z, a, out):
    np.copyto(out, dy)
    return out


def _relu_f(z, out):
    return np.maximum(z, 0, out=out)


def _relu_b(dy, z, a, out):
    np.sign(a, out=out)  # 1 where z > 0, else 0: no boolean temporary, no casting
    out *= dy
    return out


def _sigmoid_f(z, out):
    # exp(-|z|) never overflows; sigmoid = 1/(1+e) for z >= 0 and e/(1+e) below.
    e = np.exp(-np.abs(z))
    np.add(e, 1, out=out)
    np.reciprocal(out, out=out)
    np.multiply(out, e, out=e)
    np.copyto(out, e, where=z < 0)
    return out


def _sigmoid_b(dy, z, a, out):
    np.subtract(1, a, out=out)
    out *= a
    out *= dy
    return out


def _tanh_f(z, out):
    return np.tanh(z, out=out)


def _tanh_b(dy, z, a, out):
    np.multiply(a, a, out=out)
    np.subtract(1, out, out=out)
    out *= dy
    return out


def _softmax_f(z, out):
    np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def _softmax_b(dy, z, a, out):
    np.multiply(dy, a, out=out)
    s = out.sum(axis=-1, keepdims=True)
    np.subtract(dy, s, out=out)
    out *= a
    return out


def _leaky_f(z, out, alpha=0.01):
    np.multiply(z, alpha, out=out)
    np.copyto(out, z, where=z > 0)
    return out


def _leaky_b(dy, z, a, out, alpha=0.01):
    np.multiply(dy, alpha, out=out)
    np.copyto(out, dy, where=z > 0)
    return out


def _elu_f(z, out, alpha=1.0):
    np.minimum(z, 0, out=out)
    np.expm1(out, out=out)
    out *= alpha
    np.copyto(out, z, where=z > 0)
    return out


def _elu_b(dy, z, a, out, alpha=1.0):
    # d/dz alpha*(e^z - 1) = alpha*e^z below zero (not a + alpha: that cancels far out)
    np.minimum(z, 0, out=out)
    np.exp(out, out=out)
    out *= alpha
    np.copyto(out, 1, where=z > 0)
    out *= dy
    return out


_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu_f(z, out):
    np.multiply(z, _SQRT1_2, out=out)
    out[...] = erf(out)
    out += 1
    out *= 0.5
    out *= z
    return out


def _gelu_b(dy, z, a, out):
    cdf = 0.5 * (1 + erf(z * _SQRT1_2))
    pdf = np.exp(-0.5 * np.square(np.clip(z, -40, 40))) * _INV_SQRT_2PI
    np.multiply(z, pdf, out=out)
    out += cdf
    out *= dy
    return out


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(_linear_f, _linear_b),
    "relu": Activation(_relu_f, _relu_b),
    "sigmoid": Activation(_sigmoid_f, _sigmoid_b),
    "tanh": Activation(_tanh_f, _tanh_b),
    "softmax": Activation(_softmax_f, _softmax_b),
    "leaky_relu": Activation(_leaky_f, _leaky_b),
    "elu": Activation(_elu_f, _elu_b),
    "gelu": Activation(_gelu_f, _gelu_b),
}


def apply(name: str, args: dict, z: np.ndarray) -> np.ndarray:
    """activation(z) into a new array (for predict and tests)."""
    return ACTIVATIONS[name].forward(z, np.empty_like(z), **args)
