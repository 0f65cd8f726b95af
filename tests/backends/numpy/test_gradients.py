"""Finite-difference checks of the NumPy interpreter's backprop, in float64.

Every op of `nndsl.ir.ops.OPS` and every loss of the loss catalog has at least one case
here; a new op or loss without one fails `test_op_gradients` / `test_loss_gradients`.

Each case's model starts with a *probe*: `dense(d, weights=identity)` right after each
input, so the probe's output equals its input plus its bias. The gradient of the loss
with respect to the probe's bias is then the gradient with respect to the input, summed
over the batch, which lets every case also check d(loss)/d(input) against central
differences taken on the input itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import nndsl
import nndsl.ir.catalog  # noqa: F401  (fills CATALOGS)
from nndsl.ir.ops import OPS, activation_names
from nndsl.ir.signature import CATALOGS

EPS = 1e-6
TOLERANCE = 1e-6


def identity(d: int) -> str:
    rows = ", ".join(
        "[" + ", ".join("1.0" if i == j else "0.0" for j in range(d)) + "]" for i in range(d)
    )
    return f"[{rows}]"


@dataclass
class Case:
    """A model body (after `input(shape)` and its probe) and how to feed it."""

    id: str
    body: str
    loss: str = "mse"
    shape: tuple[int, ...] = (3,)
    batch: int = 4
    training: bool = False  # run in training mode (dropout active, with a fixed mask)
    targets: str = "values"  # values | binary | soft_binary | one_hot | soft | labels
    source: str | None = None  # a whole program instead of `body` (several inputs)
    inputs: int | None = None  # whole numbers in [0, inputs) instead of normal values
    probes: dict[str, str] = field(default_factory=lambda: {"input_1": "probe"})
    # weights (by name) whose gradient is zero by design: attention's key bias adds one
    # constant to each query's logits, which the softmax ignores
    flat: tuple[str, ...] = ()


def program_source(case: Case) -> str:
    if case.source is not None:
        return case.source
    d = case.shape[-1]
    dims = ", ".join(map(str, case.shape))
    return (
        f"model m {{\n  input({dims})\n  probe = dense({d}, weights={identity(d)})\n"
        f"{case.body}\n}}\ntrain m {{ loss = {case.loss} }}\n"
    )


def make_data(model, case: Case, rng: np.random.Generator):
    xs = {
        n.name: rng.normal(size=(case.batch, *n.shape))
        if case.inputs is None
        else rng.integers(0, case.inputs, (case.batch, *n.shape)).astype(float)
        for n in model.graph.inputs
    }
    x = xs if len(xs) > 1 else next(iter(xs.values()))
    out_shape = (case.batch, *model.graph.output.shape)
    units = out_shape[-1]
    if case.targets == "values":
        y = rng.normal(size=out_shape)
    elif case.targets == "binary":
        y = rng.integers(0, 2, size=out_shape).astype(float)
    elif case.targets == "soft_binary":
        y = rng.uniform(0.05, 0.95, size=out_shape)
    elif case.targets == "one_hot":
        y = np.eye(units)[rng.integers(0, units, case.batch)]
    elif case.targets == "soft":
        y = rng.dirichlet(np.ones(units), size=case.batch)
    elif case.targets == "labels":
        y = rng.integers(0, units, case.batch)
    elif case.targets.startswith("residuals"):
        # targets = current outputs + chosen residuals, away from the loss's kinks
        choices = np.array([float(v) for v in case.targets.split(":")[1].split(",")])
        y = model.predict(x) + rng.choice(choices, size=out_shape)
    else:  # pragma: no cover - a typo in a case
        raise ValueError(case.targets)
    return x, y


def state_keys(model) -> set[str]:
    """Keys of non-trainable state (running statistics): no gradient, never perturbed."""
    return {n.weight_key(w) for n in model.graph.nodes for w in n.weights if not w.trainable}


def randomize_weights(model, case: Case, rng: np.random.Generator) -> None:
    """Random weights and biases everywhere, except the probes' identity matrices; state
    (running means and variances) random but positive."""
    fixed, state = {f"{p}.weight" for p in case.probes.values()}, state_keys(model)
    model.set_weights(
        {
            k: v
            if k in fixed
            else rng.uniform(0.5, 1.5, v.shape)
            if k in state
            else rng.normal(scale=0.6, size=v.shape)
            for k, v in model.get_weights().items()
        }
    )


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale else 0.0


def check_case(case: Case, seed: int = 0) -> None:
    model = nndsl.compile_string(program_source(case)).build(seed=seed, dtype="float64")
    engine = model.engine
    assert engine.dtype == "float64"
    rng = np.random.default_rng(seed)
    randomize_weights(model, case, rng)
    x, y = make_data(model, case, rng)
    rng_state = engine.rng.bit_generator.state  # the same dropout mask for every evaluation

    def loss_at(weights=None, inputs=x) -> tuple[float, dict]:
        if weights is not None:
            engine.set_weights(weights)
        engine.rng.bit_generator.state = rng_state
        return engine.loss_and_grads(inputs, y, training=case.training)

    w0 = engine.get_weights()
    loss, grads = loss_at()
    assert np.isfinite(loss)
    assert set(grads) == set(w0) - state_keys(model)

    # every trainable weight, every entry
    for key in grads:
        w = w0[key]
        numeric = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            shifted = {k: v.copy() for k, v in w0.items()}
            shifted[key][idx] += EPS
            up, _ = loss_at(shifted)
            shifted[key][idx] -= 2 * EPS
            down, _ = loss_at(shifted)
            numeric[idx] = (up - down) / (2 * EPS)
        if key.rsplit(".", 1)[-1] in case.flat:
            assert np.abs(grads[key]).max() < 1e-8 and np.abs(numeric).max() < 1e-6, key
            continue
        err = relative_error(grads[key], numeric)
        assert err < TOLERANCE, f"{case.id}: d loss / d {key}: relative error {err:.2e}"
        assert np.linalg.norm(numeric) > 0 or not w.size, f"{case.id}: {key} has no gradient"
    engine.set_weights(w0)

    # the inputs, through the probes: d loss / d probe.bias = sum over rows of d loss / d x
    inputs = x if isinstance(x, dict) else {model.graph.inputs[0].name: x}
    for name, probe in case.probes.items():
        numeric = np.zeros_like(inputs[name])
        for idx in np.ndindex(numeric.shape):
            shifted = {k: v.copy() for k, v in inputs.items()}
            shifted[name][idx] += EPS
            feed = shifted if isinstance(x, dict) else shifted[name]
            up, _ = loss_at(inputs=feed)
            shifted[name][idx] -= 2 * EPS
            feed = shifted if isinstance(x, dict) else shifted[name]
            down, _ = loss_at(inputs=feed)
            numeric[idx] = (up - down) / (2 * EPS)
        summed = numeric.reshape(-1, numeric.shape[-1]).sum(axis=0)
        err = relative_error(grads[f"{probe}.bias"], summed)
        assert err < TOLERANCE, f"{case.id}: d loss / d input '{name}': relative error {err:.2e}"
        assert np.linalg.norm(summed) > 0, f"{case.id}: input '{name}' has no gradient"


# ---------------------------------------------------------------- ops

ACTIVATION_ARGS = {"leaky_relu": "(alpha=0.2)", "elu": "(alpha=0.7)"}


def _dense_cases() -> list[Case]:
    cases = []
    for act in activation_names():
        spec = act + ACTIVATION_ARGS.get(act, "")
        cases.append(Case(f"dense-{act}", f"  dense(4, activation={spec})\n  dense(2)"))
    cases += [
        Case("dense-no-bias", "  dense(4, activation=tanh, use_bias=false)\n  dense(2)"),
        Case("dense-l2", "  dense(4, activation=sigmoid, l2=0.3)\n  dense(2, l2=0.05)"),
        # a softmax output under mse is not fused: its own backward is used
        Case("dense-softmax-output-mse", "  dense(3, activation=softmax)"),
        # dense on the last axis of a 3-d sample
        Case("dense-3d", "  dense(2, activation=tanh)\n  flatten()\n  dense(2)", shape=(2, 3)),
    ]
    return cases


def _activation_cases(name: str) -> list[Case]:
    layer = name + ACTIVATION_ARGS.get(name, "()")
    cases = [Case(f"{name}-layer", f"  dense(4)\n  {layer}\n  dense(2)")]
    if name in ACTIVATION_ARGS:  # the default argument too
        cases.append(Case(f"{name}-layer-default", f"  dense(4)\n  {name}()\n  dense(2)"))
    return cases


TWO_INPUTS = f"""
model m {{
  a = input(3)
  pa = dense(3, weights={identity(3)})
  b = input(2)
  pb = dense(2, weights={identity(2)})
  ha = dense(4, activation=tanh, from=pa)
  hb = dense(4, activation=elu, from=pb)
  add(ha, hb)
  concat(pb)
  dense(2)
}}
train m {{ loss = mse }}
"""


def _image_cases(op: str, rows: list[tuple[str, str, tuple[int, ...]]]) -> list[Case]:
    """Cases of a layer on images or sequences: `tanh` first (no ties for max pooling),
    then the layer, then flatten and a dense output."""
    return [
        Case(f"{op}-{tag}", f"  tanh()\n  {layer}\n  flatten()\n  dense(2)", shape=shape, batch=3)
        for tag, layer, shape in rows
    ]


CONV_CASES: dict[str, list[Case]] = {
    "conv2d": _image_cases(
        "conv2d",
        [
            ("valid", "conv2d(3, 3, activation=tanh)", (5, 5, 2)),
            ("same-stride2-even", "conv2d(2, [2, 3], strides=2, padding=same)", (6, 5, 2)),
            (
                "dilated-no-bias",
                "conv2d(2, 2, dilation=[2, 1], use_bias=false, activation=elu)",
                (5, 4, 1),
            ),
            (
                "same-stride-1x2",
                "conv2d(2, 3, strides=[1, 2], padding=same, activation=relu)",
                (4, 5, 2),
            ),
        ],
    ),
    "conv1d": _image_cases(
        "conv1d",
        [
            ("valid", "conv1d(3, 3, activation=sigmoid)", (6, 2)),
            ("same-stride2-dilated", "conv1d(2, 2, strides=2, dilation=2, padding=same)", (7, 2)),
        ],
    ),
    "max_pool2d": _image_cases(
        "max_pool2d",
        [
            ("valid", "max_pool2d(2)", (5, 4, 2)),
            ("same-overlapping", "max_pool2d(3, strides=2, padding=same)", (5, 4, 2)),
            ("rect-stride1", "max_pool2d([2, 1], strides=1)", (3, 3, 2)),
        ],
    ),
    "max_pool1d": _image_cases(
        "max_pool1d",
        [
            ("valid", "max_pool1d(2)", (5, 2)),
            ("same", "max_pool1d(3, strides=2, padding=same)", (6, 2)),
        ],
    ),
    "avg_pool2d": _image_cases(
        "avg_pool2d",
        [
            ("valid", "avg_pool2d(2)", (5, 4, 2)),
            ("same-overlapping", "avg_pool2d(3, strides=2, padding=same)", (5, 4, 2)),
        ],
    ),
    "avg_pool1d": _image_cases(
        "avg_pool1d",
        [
            ("valid", "avg_pool1d(3, strides=1)", (5, 2)),
            ("same", "avg_pool1d(2, padding=same)", (5, 2)),
        ],
    ),
    "global_avg_pool": _image_cases(
        "global_avg_pool",
        [("image", "global_avg_pool()", (3, 4, 2)), ("sequence", "global_avg_pool()", (5, 3))],
    ),
    "upsample": _image_cases(
        "upsample",
        [("image", "upsample([2, 3])", (2, 3, 2)), ("sequence", "upsample(3)", (3, 2))],
    ),
    "reshape": _image_cases(
        "reshape",
        [
            ("to-image", "reshape(2, 3, 1)", (6,)),
            ("inferred", "reshape(-1, 3)\n  dense(2, activation=tanh)", (2, 6)),
        ],
    ),
}

# batch_norm in training mode uses the batch's statistics (their gradient included)
NORM_CASES: dict[str, list[Case]] = {
    "batch_norm": [
        Case(
            "batch_norm-training",
            "  dense(4, activation=tanh)\n  batch_norm()\n  dense(2)",
            training=True,
            batch=5,
        ),
        Case(
            "batch_norm-training-images",
            "  tanh()\n  batch_norm(momentum=0.3)\n  flatten()\n  dense(2)",
            shape=(3, 2, 2),
            batch=3,
            training=True,
        ),
        Case(
            "batch_norm-evaluation",
            "  dense(4, activation=tanh)\n  batch_norm(epsilon=0.01)\n  dense(2)",
        ),
    ],
    "layer_norm": [
        Case("layer_norm-vectors", "  dense(4, activation=tanh)\n  layer_norm()\n  dense(2)"),
        Case(
            "layer_norm-sequence",
            "  layer_norm(epsilon=0.1)\n  flatten()\n  dense(2)",
            shape=(3, 4),
        ),
    ],
}

EMBEDDING = """
model m {
  input(5)
  embedding(6, 3)
  flatten()
  dense(2)
}
train m { loss = mse }
"""


def _recurrent_cases(op: str, layers: list[tuple[str, str]]) -> list[Case]:
    """Each layer on 4 steps of 3 features, its output (the last step, or every step)
    into a dense output."""
    return [
        Case(f"{op}-{tag}", f"  {layer}\n  flatten()\n  dense(2)", shape=(4, 3), batch=3)
        for tag, layer in layers
    ]


RECURRENT_CASES: dict[str, list[Case]] = {
    "embedding": [
        # indices repeat across the batch: their gradients add up
        Case("embedding-lookup", "", source=EMBEDDING, probes={}, inputs=6, batch=4),
        Case(
            "embedding-into-lstm",
            "",
            source=EMBEDDING.replace("flatten()", "lstm(2)"),
            probes={},
            inputs=6,
        ),
    ],
    "simple_rnn": _recurrent_cases(
        "simple_rnn",
        [
            ("last", "simple_rnn(3)"),
            ("sequences-relu", "simple_rnn(2, activation=relu, return_sequences=true)"),
            ("no-bias", "simple_rnn(2, use_bias=false, activation=sigmoid)"),
        ],
    ),
    "lstm": _recurrent_cases(
        "lstm",
        [
            ("last", "lstm(3)"),
            ("sequences", "lstm(2, return_sequences=true, unit_forget_bias=false)"),
            ("activations", "lstm(2, activation=elu, recurrent_activation=tanh, use_bias=false)"),
        ],
    ),
    "gru": _recurrent_cases(
        "gru",
        [
            ("last", "gru(3)"),
            ("sequences", "gru(2, return_sequences=true, activation=relu)"),
            ("no-bias", "gru(2, use_bias=false, recurrent_activation=tanh)"),
        ],
    ),
}

OP_CASES: dict[str, list[Case]] = {
    "input": [
        Case("input-vector", "  dense(2)"),
        Case("input-two-fed-as-dict", "", source=TWO_INPUTS, probes={"a": "pa", "b": "pb"}),
    ],
    "dense": _dense_cases(),
    "dropout": [
        Case(
            "dropout-fixed-mask",
            "  dense(6, activation=tanh)\n  dropout(0.4)\n  dense(2)",
            training=True,
            batch=6,
        ),
        Case("dropout-evaluation", "  dense(6, activation=tanh)\n  dropout(0.4)\n  dense(2)"),
    ],
    "flatten": [
        Case(
            "flatten-3d",
            "  dense(2, activation=tanh)\n  flatten()\n  dense(2)",
            shape=(2, 3, 2),
            batch=3,
        ),
    ],
    "add": [
        Case(
            "add-skip",
            "  h = dense(3, activation=tanh)\n  dense(3, activation=sigmoid)\n  add(h)\n  dense(2)",
        ),
        Case(
            "add-three-branches-from",
            "  a = dense(3, activation=tanh)\n  b = dense(3, activation=relu, from=probe)\n"
            "  c = dense(3, from=probe)\n  add(a, b, c)\n  dense(2)",
        ),
        Case("add-input-to-itself", "  h = dense(3, activation=tanh)\n  add(h, h)\n  dense(2)"),
    ],
    "multiply": [
        Case(
            "multiply-gate",
            "  h = dense(3, activation=tanh)\n  g = dense(3, activation=sigmoid, from=probe)\n"
            "  multiply(h, g)\n  dense(2)",
        ),
        Case(
            "multiply-previous-by-named",
            "  h = dense(3, activation=tanh)\n  dense(3)\n  multiply(h)\n  dense(2)",
        ),
        Case(
            "multiply-by-itself", "  h = dense(3, activation=tanh)\n  multiply(h, h, h)\n  dense(2)"
        ),
    ],
    "concat": [
        Case(
            "concat-last-axis",
            "  h = dense(3, activation=tanh)\n  dense(2, activation=gelu)\n  concat(h)\n  dense(2)",
        ),
        Case(
            "concat-first-axis",
            "  a = dense(3, activation=tanh)\n  b = dense(3, activation=sigmoid, from=probe)\n"
            "  concat(a, b, axis=0)\n  flatten()\n  dense(2)",
            shape=(2, 3),
        ),
        Case(
            "concat-with-raw-probe",
            "  h = dense(3, activation=relu)\n  concat(h, probe)\n  dense(2)",
        ),
    ],
    **{name: _activation_cases(name) for name in activation_names()},
    **CONV_CASES,
    **NORM_CASES,
    **RECURRENT_CASES,
    # ops composed of primitives: their gradients come from the primitives' VJPs
    "glu": [
        Case("glu-vectors", "  dense(6, activation=tanh)\n  glu()\n  dense(2)"),
        Case("glu-images", "  tanh()\n  glu()\n  flatten()\n  dense(2)", shape=(2, 2, 4)),
    ],
    "rms_norm": [
        Case("rms_norm-vectors", "  dense(4, activation=tanh)\n  rms_norm()\n  dense(2)"),
        Case(
            "rms_norm-images",
            "  tanh()\n  rms_norm(epsilon=0.1)\n  flatten()\n  dense(2)",
            shape=(3, 2, 2),
        ),
    ],
}
# a composed activation as the built-in activation of layers with fused kernels
OP_CASES["silu"] += [
    Case("silu-in-lstm", "  lstm(3, activation=silu)\n  dense(2)", shape=(4, 3)),
    Case("silu-in-gru-recurrent", "  gru(3, recurrent_activation=silu)\n  dense(2)", shape=(4, 3)),
]
OP_CASES["mish"] += [
    Case(
        "mish-in-conv2d",
        "  conv2d(2, 2, activation=mish)\n  flatten()\n  dense(2)",
        shape=(3, 3, 1),
    ),
]

# attention: self, causal, cross (a memory of another length and size), padding masks
# from token ids (id 0 is padding; the draws include it), dropout on the weights
CROSS = f"""
model m {{
  a = input(4, 3)
  pa = dense(3, weights={identity(3)})
  b = input(5, 2)
  pb = dense(2, weights={identity(2)})
  multi_head_attention(2, 3, value_dim=2, memory=pb, from=pa)
  flatten()
  dense(2)
}}
train m {{ loss = mse }}
"""
PADDED = """
model m {{
  tokens = input(5)
  embedding(4, 6)
  multi_head_attention(2, 3, pad_from=tokens{more})
  flatten()
  dense(2)
}}
train m {{ loss = mse }}
"""
OP_CASES["multi_head_attention"] = [
    Case(
        "attention-self",
        "  multi_head_attention(2, 3)\n  flatten()\n  dense(2)",
        shape=(4, 6),
        flat=("key_bias",),
    ),
    Case(
        "attention-causal-no-bias",
        "  multi_head_attention(3, 2, value_dim=3, causal=true, use_bias=false)\n"
        "  flatten()\n  dense(2)",
        shape=(4, 5),
        batch=3,
    ),
    Case(
        "attention-cross",
        "",
        source=CROSS,
        probes={"a": "pa", "b": "pb"},
        batch=3,
        flat=("key_bias",),
    ),
    Case(
        "attention-padded",
        "",
        source=PADDED.format(more=""),
        probes={},
        inputs=4,
        batch=4,
        flat=("key_bias",),
    ),
    Case(
        "attention-padded-causal",
        "",
        source=PADDED.format(more=", causal=true, pad_id=2"),
        probes={},
        inputs=4,
        batch=4,
        flat=("key_bias",),
    ),
    Case(
        "attention-dropout-fixed-mask",
        "  multi_head_attention(2, 3, dropout=0.3)\n  flatten()\n  dense(2)",
        shape=(4, 6),
        training=True,
        flat=("key_bias",),
    ),
]
# the standard library's transformer blocks, whole: a causal encoder over a probe, then a
# decoder reading it as memory (causal self-attention, cross-attention, feed-forward)
TRANSFORMER = f"""
use std

model m {{
  a = input(4, 4)
  pa = dense(4, weights={identity(4)})
  enc = transformer_encoder(2, 2, 6, causal=true)
  b = input(3, 4)
  pb = dense(4, weights={identity(4)})
  transformer_decoder(2, 2, 5, from=pb, memory=enc)
  flatten()
  dense(2)
}}
train m {{ loss = mse }}
"""
OP_CASES["multi_head_attention"].append(
    Case(
        "transformer-encoder-decoder-blocks",
        "",
        source=TRANSFORMER,
        probes={"a": "pa", "b": "pb"},
        batch=3,
        flat=("key_bias",),
    )
)
OP_CASES["global_avg_pool"] = [
    *OP_CASES["global_avg_pool"],
    Case(  # mask_zero fills in both pad_from: padded steps out of the keys and the mean
        "global_avg_pool-masked-by-mask_zero",
        "",
        source="model m {\n  tokens = input(5)\n  embedding(3, 4, mask_zero=true)\n"
        "  multi_head_attention(2, 2)\n  tanh()\n  global_avg_pool()\n  dense(2)\n}\n"
        "train m { loss = mse }\n",
        probes={},
        inputs=3,
        batch=4,
        flat=("key_bias",),
    ),
]
OP_CASES["positional_embedding"] = [
    Case(
        "positional_embedding-shorter",
        "  positional_embedding(6)\n  multi_head_attention(1, 2)\n  flatten()\n  dense(2)",
        shape=(4, 3),
        flat=("key_bias",),
    ),
]
OP_CASES["sinusoidal_position"] = [
    Case(
        "sinusoidal_position",
        "  sinusoidal_position()\n  dense(3, activation=tanh)\n  flatten()\n  dense(2)",
        shape=(5, 4),
    ),
]

# a variational autoencoder's latent: in training with the same noise for every
# evaluation (check_case resets the engine's generator); in evaluation it is the mean,
# and the kl_normal term gives log_var its gradient
_LATENT = (
    "  h = dense(4, activation=tanh)\n  mean = dense(2, from=h)\n  log_var = dense(2, from=h)\n"
    "  sample_normal(mean, log_var)\n  dense(2)"
)
OP_CASES["sample_normal"] = [
    Case("sample_normal-fixed-noise", _LATENT, training=True, batch=5),
    Case(
        "sample_normal-evaluation-with-kl",
        "",
        source=program_source(Case("", _LATENT)).replace(
            "loss = mse", "loss = mse  terms = (kl = 0.5 * kl_normal(mean, log_var))"
        ),
    ),
]


@pytest.mark.parametrize("op", list(OPS))
def test_op_gradients(op: str) -> None:
    cases = OP_CASES.get(op)
    assert cases, f"op '{op}' has no finite-difference gradient case: add one to OP_CASES"
    for case in cases:
        check_case(case)


def test_dropout_case_really_drops() -> None:
    """The fixed-mask case is not vacuous: training mode changes the loss."""
    case = OP_CASES["dropout"][0]
    model = nndsl.compile_string(program_source(case)).build(seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    x, y = make_data(model, case, rng)
    state = model.engine.rng.bit_generator.state
    train_loss, _ = model.engine.loss_and_grads(x, y, training=True)
    model.engine.rng.bit_generator.state = state
    again, _ = model.engine.loss_and_grads(x, y, training=True)
    eval_loss, _ = model.engine.loss_and_grads(x, y, training=False)
    assert train_loss == again
    assert train_loss != eval_loss


# ---------------------------------------------------------------- losses

LOSS_CASES: dict[str, list[Case]] = {
    "mse": [
        Case("mse", "  dense(3, activation=tanh)\n  dense(2)"),
        Case("mse-sigmoid-output", "  dense(3, activation=sigmoid)", targets="soft_binary"),
    ],
    "mae": [
        # residuals of at least 0.4: far from the kink at zero
        Case(
            "mae",
            "  dense(3, activation=tanh)\n  dense(2)",
            loss="mae",
            targets="residuals:-1.3,-0.4,0.5,2.0",
        ),
    ],
    "huber": [
        # residuals on both sides of delta, none near it
        Case(
            "huber",
            "  dense(3, activation=tanh)\n  dense(2)",
            loss="huber",
            batch=6,
            targets="residuals:-2.5,-0.3,0.2,0.6,1.7",
        ),
        Case(
            "huber-delta",
            "  dense(3, activation=tanh)\n  dense(2)",
            loss="huber(delta=0.5)",
            batch=6,
            targets="residuals:-1.5,-0.2,0.3,0.9",
        ),
    ],
    "binary_crossentropy": [
        Case(
            "bce-sigmoid",
            "  dense(3, activation=tanh)\n  dense(1, activation=sigmoid)",
            loss="binary_crossentropy",
            targets="binary",
            batch=6,
        ),
        Case(
            "bce-sigmoid-multilabel-soft",
            "  dense(3, activation=sigmoid)",
            loss="binary_crossentropy",
            targets="soft_binary",
        ),
        Case(
            "bce-sigmoid-layer",
            "  dense(2)\n  sigmoid()",
            loss="binary_crossentropy",
            targets="binary",
        ),
        Case(
            "bce-linear-logits",
            "  dense(3, activation=relu)\n  dense(1)",
            loss="binary_crossentropy",
            targets="binary",
            batch=6,
        ),
    ],
    "categorical_crossentropy": [
        Case(
            "cce-dense-softmax",
            "  dense(4, activation=tanh)\n  dense(3, activation=softmax)",
            loss="categorical_crossentropy",
            targets="one_hot",
            batch=5,
        ),
        Case(
            "cce-softmax-layer",
            "  dense(4, activation=tanh)\n  dense(3)\n  softmax()",
            loss="categorical_crossentropy",
            targets="soft",
            batch=5,
        ),
        Case("cce-linear-logits", "  dense(3)", loss="categorical_crossentropy", targets="soft"),
    ],
    "sparse_categorical_crossentropy": [
        Case(
            "scce-dense-softmax",
            "  dense(4, activation=relu)\n  dense(3, activation=softmax)",
            loss="sparse_categorical_crossentropy",
            targets="labels",
            batch=6,
        ),
        Case(
            "scce-softmax-layer",
            "  dense(4)\n  softmax()",
            loss="sparse_categorical_crossentropy",
            targets="labels",
            batch=6,
        ),
    ],
}


@pytest.mark.parametrize("loss", list(CATALOGS["loss"]))
def test_loss_gradients(loss: str) -> None:
    cases = LOSS_CASES.get(loss)
    assert cases, f"loss '{loss}' has no finite-difference gradient case: add one to LOSS_CASES"
    for case in cases:
        check_case(case)


@pytest.mark.parametrize(
    "case",
    [
        LOSS_CASES["binary_crossentropy"][0],
        LOSS_CASES["categorical_crossentropy"][1],
        LOSS_CASES["sparse_categorical_crossentropy"][0],
    ],
    ids=lambda c: c.id,
)
def test_cross_entropies_are_fused(case: Case) -> None:
    """The cross-entropy cases above really run the fused (from-logits) path."""
    model = nndsl.compile_string(program_source(case)).build(dtype="float64")
    assert model.engine.from_logits
    assert model.engine.out_act.name in ("sigmoid", "softmax")
