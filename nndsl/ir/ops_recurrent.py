"""Declarations of the sequence family: embedding (integer inputs) and the recurrent
layers simple_rnn, lstm and gru over samples (timesteps, features). Imported by
`nndsl.ir.ops`, whose registry they join.

Weights follow Keras' layout and counts: `weight` (features, gates * units) is Keras'
kernel, `recurrent_weight` (units, gates * units) its recurrent kernel, gates side by
side in Keras' order (lstm: input, forget, cell, output; gru: update, reset, candidate).
The gru is Keras' default (reset_after=true): its bias is (2, 3 * units), the input
bias above the recurrent one, and the reset gate multiplies the recurrent candidate
term after its bias is added. Both backends compute exactly this function: each op's
`compute` gives it as a composition of primitives (a Python loop over the steps), which
the hand-written kernels are proven equal to.
"""

from __future__ import annotations

from typing import Any

from nndsl.ir.opdef import OPS, OpDef, Shape, ShapeError, WeightDef, fmt_shape, op
from nndsl.ir.signature import Param, Spec

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}

# ---------------------------------------------------------------- embedding


def _embedding_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    if a["mask_zero"] and len(shapes[0]) != 1:
        raise ShapeError(
            f"embedding's mask_zero masks time steps, so it needs token ids of shape "
            f"(timesteps,), got {fmt_shape(shapes[0])}",
            "feed it a sequence of ids, e.g. input(128), or drop mask_zero",
        )
    return (*shapes[0], a["output_dim"])


op(
    OpDef(
        "embedding",
        "A learned vector per integer: inputs are indices in [0, input_dim) (whole "
        "numbers, e.g. token ids), each replaced by its row of `weight` (input_dim, "
        "output_dim): (timesteps,) -> (timesteps, output_dim). With `mask_zero`, id 0 "
        "is padding, as in Keras: the compiler follows the mask through the layers that "
        "work step by step to the attention and global_avg_pool that use it (see "
        "nndsl.ir.masks).",
        (
            Param("input_dim", "int", doc="number of distinct indices (vocabulary size)", low=1),
            Param("output_dim", "int", doc="length of each vector", low=1),
            Param(
                "init",
                "initializer",
                Spec("uniform"),
                doc="initializer of the vectors (Keras': uniform in [-0.05, 0.05])",
            ),
            Param(
                "mask_zero",
                "bool",
                False,
                doc="id 0 is padding: attention and global_avg_pool below it leave those "
                "steps out (as pad_from=<its input>, pad_id=0)",
            ),
        ),
        shape=_embedding_shape,
        weights=lambda shapes, a: [
            WeightDef(
                "weight",
                (a["input_dim"], a["output_dim"]),
                a["init"],
                0.0,
                a["input_dim"],
                a["output_dim"],
            )
        ],
        family="recurrent",
        compute=lambda P, xs, w, a: P.gather(w["weight"], xs[0]),
        mask="starts",
    )
)

# ---------------------------------------------------------------- recurrent layers


def _recurrent_shape(name: str):
    def rule(shapes: list[Shape], a: dict[str, Any]) -> Shape:
        (s,) = shapes
        if len(s) != 2:
            hint = None
            if len(s) == 1:
                hint = f"reshape({s[0]}, 1) turns {s[0]} values into {s[0]} steps of 1 feature"
            raise ShapeError(
                f"{name} needs samples of shape (timesteps, features), got {fmt_shape(s)}", hint
            )
        return (s[0], a["units"]) if a["return_sequences"] else (a["units"],)

    return rule


def _recurrent_weights(name: str):
    gates = GATES[name]

    def weights(shapes: list[Shape], a: dict[str, Any]) -> list[WeightDef]:
        features, units = shapes[0][-1], a["units"]
        width = gates * units
        out = [
            WeightDef("weight", (features, width), a["init"], 0.0, features, width),
            WeightDef("recurrent_weight", (units, width), a["recurrent_init"], 0.0, units, width),
        ]
        if a["use_bias"]:
            if name == "gru":
                out.append(WeightDef("bias", (2, width), a["bias_init"], 0.0, units, width))
            elif name == "lstm" and a["unit_forget_bias"]:
                # zeros but the forget gate's quarter, which starts at one (Keras)
                out.append(WeightDef("bias", (width,), Spec("unit_forget_bias"), 0.0, units, width))
            else:
                out.append(WeightDef("bias", (width,), a["bias_init"], 0.0, units, width))
        return out

    return weights


def _recurrent_params(name: str) -> tuple[Param, ...]:
    gated = name != "simple_rnn"
    params = [
        Param("units", "int", doc="size of the state (and of each output)", low=1),
        Param(
            "activation",
            "activation",
            Spec("tanh"),
            doc="of the state update" + (" (candidate and cell output)" if gated else ""),
        ),
    ]
    if gated:
        params.append(
            Param("recurrent_activation", "activation", Spec("sigmoid"), doc="of the gates")
        )
    params += [
        Param(
            "return_sequences",
            "bool",
            False,
            doc="output every step (timesteps, units) instead of the last (units,)",
        ),
        Param("use_bias", "bool", True, doc="add learned biases"),
        Param("init", "initializer", Spec("glorot_uniform"), doc="initializer of `weight`"),
        Param(
            "recurrent_init",
            "initializer",
            Spec("orthogonal"),
            doc="initializer of `recurrent_weight`",
        ),
    ]
    if name == "lstm":
        params.append(
            Param(
                "unit_forget_bias",
                "bool",
                True,
                doc="start the forget gate's bias at 1 (the others at 0), as Keras does",
            )
        )
    params.append(Param("bias_init", "initializer", Spec("zeros"), doc="initializer of the bias"))
    return tuple(params)


def _activate(P: Any, spec: Spec, z: Any) -> Any:
    # nndsl.ir.ops.activate, which this module cannot import (ops imports it: a cycle)
    return OPS[spec.name].compute(P, [z], {}, dict(spec.args))


def _steps(P: Any, xs: list[Any], w: dict[str, Any], bias: Any) -> list[Any]:
    """The input product of every step at once, x @ weight (+ bias): (batch, timesteps,
    features) -> the steps' (batch, gates * units), in order."""
    (x,) = xs
    _, steps, _ = x.shape
    xw = P.matmul(x, w["weight"])
    if bias is not None:
        xw = xw + bias
    width = xw.shape[-1]
    return [P.reshape(P.slice(xw, 1, t, t + 1), (-1, width)) for t in range(steps)]


def _gate(P: Any, z: Any, k: int, units: int) -> Any:
    """Gate k's (..., units) of z (..., gates * units)."""
    return P.slice(z, -1, k * units, (k + 1) * units)


def _output(P: Any, hs: list[Any], a: dict[str, Any]) -> Any:
    """Every step's state (batch, timesteps, units), or the last one (batch, units)."""
    if not a["return_sequences"]:
        return hs[-1]
    return P.reshape(P.concat(hs, 1), (-1, len(hs), a["units"]))


def _simple_rnn(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    h, hs = None, []
    for z in _steps(P, xs, w, w.get("bias")):
        if h is not None:  # h_0 = 0
            z = z + P.matmul(h, w["recurrent_weight"])
        h = _activate(P, a["activation"], z)
        hs.append(h)
    return _output(P, hs, a)


def _lstm(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    units, act, gate_act = a["units"], a["activation"], a["recurrent_activation"]
    h = c = None
    hs = []
    for z in _steps(P, xs, w, w.get("bias")):
        if h is not None:  # h_0 = c_0 = 0
            z = z + P.matmul(h, w["recurrent_weight"])
        i, f, g, o = (_gate(P, z, k, units) for k in range(4))
        i, f, o = (_activate(P, gate_act, v) for v in (i, f, o))
        c = i * _activate(P, act, g) if c is None else f * c + i * _activate(P, act, g)
        h = o * _activate(P, act, c)
        hs.append(h)
    return _output(P, hs, a)


def _gru(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    units, act, gate_act = a["units"], a["activation"], a["recurrent_activation"]
    b_in = b_rec = None
    if "bias" in w:  # (2, 3 * units): the input bias above the recurrent one
        b_in, b_rec = (P.reshape(P.slice(w["bias"], 0, k, k + 1), (-1,)) for k in (0, 1))
    h, hs = None, []
    for xz in _steps(P, xs, w, b_in):
        # the recurrent term h_(t-1) @ recurrent_weight + b_rec, with h_0 = 0
        hz = None if h is None else P.matmul(h, w["recurrent_weight"])
        if b_rec is not None:
            hz = b_rec if hz is None else hz + b_rec
        x_z, x_r, x_n = (_gate(P, xz, k, units) for k in range(3))
        if hz is None:
            z, n = _activate(P, gate_act, x_z), _activate(P, act, x_n)
        else:
            h_z, h_r, h_n = (_gate(P, hz, k, units) for k in range(3))
            z = _activate(P, gate_act, x_z + h_z)
            n = _activate(P, act, x_n + _activate(P, gate_act, x_r + h_r) * h_n)
        h = (1 - z) * n if h is None else z * h + (1 - z) * n
        hs.append(h)
    return _output(P, hs, a)


_COMPUTE = {"simple_rnn": _simple_rnn, "lstm": _lstm, "gru": _gru}

_DOCS = {
    "simple_rnn": "Fully connected recurrence (Elman): h_t = activation(x_t @ weight + "
    "h_(t-1) @ recurrent_weight + bias), h_0 = 0.",
    "lstm": "Long short-term memory (Keras' LSTM): gates i, f, o = recurrent_activation(...), "
    "candidate g = activation(...), each of x_t @ weight + h_(t-1) @ recurrent_weight + "
    "bias; c_t = f * c_(t-1) + i * g; h_t = o * activation(c_t).",
    "gru": "Gated recurrent unit (Keras' GRU, reset_after=true): z, r = recurrent_activation("
    "x_t W + b_in + h_(t-1) U + b_rec) per gate; candidate n = activation(x_t W_n + b_in,n + "
    "r * (h_(t-1) U_n + b_rec,n)); h_t = z * h_(t-1) + (1 - z) * n.",
}

for _name in GATES:
    op(
        OpDef(
            _name,
            _DOCS[_name] + " Over samples (timesteps, features), with backpropagation through "
            "time.",
            _recurrent_params(_name),
            shape=_recurrent_shape(_name),
            weights=_recurrent_weights(_name),
            family="recurrent",
            compute=_COMPUTE[_name],
            recurrent=True,
        )
    )
