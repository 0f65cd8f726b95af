"""Optimizers for the NumPy backend: torch.optim's update rules over one flat buffer.

All of a model's parameters live in one contiguous 1-D buffer `params` (n,) and their
gradients in another, `grads` (n,), of the same dtype (float32 or float64). A step is
therefore a handful of vectorized in-place passes over the whole model, never a loop over
tensors. Every state and scratch buffer is allocated in `__init__`; `step()` writes with
`out=` and allocates nothing of parameter size. `grads` is only read.

Hyper-parameters come from the optimizer's `Spec`, whose arguments the catalog
(`nndsl.ir.catalog`) has already bound and defaulted: no default is repeated here.
Scalars are kept as Python floats, so float32 buffers are updated in float32 (NEP 50).
"""

from __future__ import annotations

import math

import numpy as np

from nndsl.errors import NNDSLError
from nndsl.ir.signature import Spec

State = dict[str, np.ndarray | float | int]


class Optimizer:
    """Updates `params` in place from the current content of `grads`.

    `lr` may be changed between steps (schedules do, between epochs). `l2` is torch's
    coupled weight decay: the step sees `grads + l2 * params`.
    """

    def __init__(self, params: np.ndarray, grads: np.ndarray, lr: float, l2: float) -> None:
        _check_buffers(params, grads)
        self.params = params
        self.grads = grads
        self.lr = lr
        self.l2 = float(l2)
        self.steps = 0
        self._buffers: dict[str, np.ndarray] = {}  # state saved by state_dict()
        self._tmp = np.empty_like(params)  # scratch
        self._l2 = np.empty_like(params) if self.l2 else None

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = float(value)  # a NumPy float64 scalar would push float32 math to float64

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> State:
        """Step count, learning rate and copies of all state buffers: plain NumPy data."""
        state: State = {"step": self.steps, "lr": self.lr}
        state.update({name: buf.copy() for name, buf in self._buffers.items()})
        return state

    def load_state_dict(self, state: State) -> None:
        """Continue from `state_dict()`'s output (also after np.savez / np.load)."""
        missing = {"step", "lr", *self._buffers} - set(state)
        if missing:
            raise ValueError(f"{type(self).__name__} state lacks {sorted(missing)}")
        for name, buf in self._buffers.items():
            value = np.asarray(state[name])
            if value.shape != buf.shape:
                raise ValueError(f"state '{name}' has shape {value.shape}, expected {buf.shape}")
            np.copyto(buf, value)
        self.steps = int(state["step"])
        self.lr = float(state["lr"])

    def _state(self, name: str, fill: float = 0.0) -> np.ndarray:
        buf = np.full_like(self.params, fill)
        self._buffers[name] = buf
        return buf

    def _grad(self) -> np.ndarray:
        """grads + l2 * params, in a scratch buffer when there is a penalty."""
        if self._l2 is None:
            return self.grads
        np.multiply(self.params, self.l2, out=self._l2)
        np.add(self._l2, self.grads, out=self._l2)
        return self._l2


class SGD(Optimizer):
    """g += wd*p; b = g on the first step, else b = momentum*b + (1-dampening)*g;
    g = g + momentum*b (nesterov) or b; p -= lr*g."""

    def __init__(self, params, grads, lr, momentum, dampening, nesterov, weight_decay):
        super().__init__(params, grads, lr, weight_decay)
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise NNDSLError("sgd: nesterov momentum needs momentum > 0 and dampening = 0")
        self._buf = self._state("momentum_buffer") if self.momentum else None

    def step(self) -> None:
        g, tmp, buf = self._grad(), self._tmp, self._buf
        if buf is not None:
            if self.steps == 0:
                np.copyto(buf, g)
            else:
                buf *= self.momentum
                if self.dampening:
                    np.multiply(g, 1.0 - self.dampening, out=tmp)
                    buf += tmp
                else:
                    buf += g
            if self.nesterov:
                np.multiply(buf, self.momentum, out=tmp)
                tmp += g
                g = tmp
            else:
                g = buf
        np.multiply(g, self.lr, out=tmp)
        self.params -= tmp
        self.steps += 1


class Adam(Optimizer):
    """t += 1; g += wd*p; m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g*g;
    v_hat = max(v_hat, v) (amsgrad) or v;
    p -= lr/(1-b1^t) * m / (sqrt(v_hat)/sqrt(1-b2^t) + eps)."""

    decoupled = False  # AdamW: p *= 1 - lr*wd instead of the L2 penalty

    def __init__(self, params, grads, lr, betas, eps, weight_decay, amsgrad):
        if len(betas) != 2:
            raise NNDSLError(
                f"{type(self).__name__.lower()}: betas needs two values, got {len(betas)}"
            )
        super().__init__(params, grads, lr, 0.0 if self.decoupled else weight_decay)
        self.weight_decay = float(weight_decay)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self._m = self._state("exp_avg")
        self._v = self._state("exp_avg_sq")
        self._vmax = self._state("max_exp_avg_sq") if amsgrad else None

    def step(self) -> None:
        self.steps += 1
        if self.decoupled and self.weight_decay:
            self.params *= 1.0 - self.lr * self.weight_decay
        g, tmp, m, v = self._grad(), self._tmp, self._m, self._v
        _lerp(m, g, 1.0 - self.beta1, tmp)
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        if self._vmax is not None:
            v = np.maximum(self._vmax, v, out=self._vmax)
        # step_size is folded into the denominator (as torch's capturable path does),
        # which saves a pass: p -= m / ((sqrt(v) / sqrt(bc2) + eps) / step_size)
        step_size = self.lr / (1.0 - self.beta1**self.steps)
        if step_size == 0:  # lr 0 (e.g. a schedule's floor): moments move, weights do not
            return
        bc2_sqrt = math.sqrt(1.0 - self.beta2**self.steps)
        np.sqrt(v, out=tmp)
        tmp /= bc2_sqrt * step_size
        tmp += self.eps / step_size
        np.divide(m, tmp, out=tmp)
        self.params -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr*wd before the Adam step."""

    decoupled = True


class Adagrad(Optimizer):
    """t += 1; g += wd*p; clr = lr / (1 + (t-1)*lr_decay); s += g*g;
    p -= clr * g / (sqrt(s) + eps); s starts at initial_accumulator_value."""

    def __init__(self, params, grads, lr, lr_decay, weight_decay, initial_accumulator_value, eps):
        super().__init__(params, grads, lr, weight_decay)
        self.lr_decay, self.eps = float(lr_decay), float(eps)
        self._sum = self._state("sum", float(initial_accumulator_value))

    def step(self) -> None:
        self.steps += 1
        g, tmp, s = self._grad(), self._tmp, self._sum
        clr = self.lr / (1.0 + (self.steps - 1) * self.lr_decay)
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= clr
        self.params -= tmp


class Adadelta(Optimizer):
    """g += wd*p; v = rho*v + (1-rho)*g*g; d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho*u + (1-rho)*d*d; p -= lr*d."""

    def __init__(self, params, grads, lr, rho, eps, weight_decay):
        super().__init__(params, grads, lr, weight_decay)
        self.rho, self.eps = float(rho), float(eps)
        self._v = self._state("square_avg")
        self._u = self._state("acc_delta")
        self._delta = np.empty_like(params)

    def step(self) -> None:
        self.steps += 1
        g, tmp, d, v, u = self._grad(), self._tmp, self._delta, self._v, self._u
        rho = self.rho
        v *= rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        v += tmp
        np.add(v, self.eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(u, self.eps, out=d)
        np.sqrt(d, out=d)
        d /= tmp
        d *= g
        u *= rho
        np.multiply(d, d, out=tmp)
        tmp *= 1.0 - rho
        u += tmp
        np.multiply(d, self.lr, out=tmp)
        self.params -= tmp


class RMSprop(Optimizer):
    """g += wd*p; v = alpha*v + (1-alpha)*g*g; a = lerp(a, g, 1-alpha) (centered);
    r = sqrt(v - a*a if centered else v) + eps;
    b = momentum*b + g/r, p -= lr*b (momentum > 0), else p -= lr*g/r."""

    def __init__(self, params, grads, lr, alpha, eps, weight_decay, momentum, centered):
        super().__init__(params, grads, lr, weight_decay)
        self.alpha, self.eps, self.momentum = float(alpha), float(eps), float(momentum)
        self._v = self._state("square_avg")
        self._avg = self._state("grad_avg") if centered else None
        self._buf = self._state("momentum_buffer") if self.momentum > 0 else None

    def step(self) -> None:
        self.steps += 1
        g, tmp, v, buf = self._grad(), self._tmp, self._v, self._buf
        v *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.alpha
        v += tmp
        if self._avg is not None:
            _lerp(self._avg, g, 1.0 - self.alpha, tmp)
            np.multiply(self._avg, self._avg, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        if buf is not None:
            buf *= self.momentum
            buf += tmp
            np.multiply(buf, self.lr, out=tmp)
        else:
            tmp *= self.lr
        self.params -= tmp


# catalog name -> implementation; the arguments are the catalog's, by name
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "rmsprop": RMSprop,
}


def make_optimizer(spec: Spec, params: np.ndarray, grads: np.ndarray) -> Optimizer:
    """The optimizer `spec` names (arguments all bound), over flat buffers (n,)."""
    cls = OPTIMIZERS.get(spec.name)
    if cls is None:
        raise NNDSLError(
            f"the numpy backend has no optimizer '{spec.name}'",
            hint="one of: " + ", ".join(OPTIMIZERS),
        )
    return cls(params, grads, **spec.args)


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale `grads` (n,) in place so its 2-norm is at most about `max_norm`, as
    torch.nn.utils.clip_grad_norm_ does; returns the norm before clipping."""
    norm = math.sqrt(float(np.dot(grads, grads)))
    coef = float(max_norm) / (norm + 1e-6)
    if coef < 1.0:
        grads *= coef
    return norm


def _lerp(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """start += weight * (end - start) in place, with torch.lerp's two roundings."""
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1.0 - weight
        np.subtract(end, tmp, out=start)


def _check_buffers(params: np.ndarray, grads: np.ndarray) -> None:
    for name, buf in (("params", params), ("grads", grads)):
        if not isinstance(buf, np.ndarray) or buf.ndim != 1 or not buf.flags.c_contiguous:
            raise ValueError(f"{name} must be one contiguous 1-D NumPy buffer")
        if buf.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name} must be float32 or float64, got {buf.dtype}")
    if params.shape != grads.shape or params.dtype != grads.dtype:
        raise ValueError(
            f"params {params.shape} {params.dtype} and grads {grads.shape} {grads.dtype} must match"
        )
    if np.may_share_memory(params, grads):
        raise ValueError("params and grads must be separate buffers")
