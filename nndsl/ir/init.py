"""Initial weights as a function of (graph, seed), computed with NumPy so that every
backend starts from the same numbers."""

from __future__ import annotations

import zlib

import numpy as np

from nndsl.ir.graph import Graph
from nndsl.ir.ops import WeightDef


def _draw(w: WeightDef, rng: np.random.Generator) -> np.ndarray:
    name, args = w.init.name, w.init.args
    fan_in, fan_out = max(w.fan_in, 1), max(w.fan_out, 1)
    if name == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, w.shape)
    if name == "glorot_normal":
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), w.shape)
    if name == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, w.shape)
    if name == "he_normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), w.shape)
    if name == "lecun_normal":
        return rng.normal(0.0, np.sqrt(1.0 / fan_in), w.shape)
    if name == "normal":
        return rng.normal(args["mean"], args["std"], w.shape)
    if name == "uniform":
        return rng.uniform(args["low"], args["high"], w.shape)
    if name == "orthogonal":
        return args["gain"] * _orthogonal(w.shape, rng)
    if name == "unit_forget_bias":  # lstm: the forget gate's quarter of the bias at 1
        out = np.zeros(w.shape)
        quarter = w.shape[-1] // 4
        out[..., quarter : 2 * quarter] = 1.0
        return out
    if name == "sinusoidal":  # sinusoidal_position's table: not drawn, and not a choice
        return sinusoids(*w.shape)
    if name == "zeros":
        return np.zeros(w.shape)
    if name == "ones":
        return np.ones(w.shape)
    if name == "constant":
        return np.full(w.shape, args["value"])
    raise ValueError(f"unknown initializer {name!r}")  # the checker rejects these earlier


def sinusoids(length: int, features: int) -> np.ndarray:
    """The "Attention is all you need" encoding, (length, features): position p gives
    sin(p / 10000^(2i/features)) at feature 2i and the cosine at 2i + 1."""
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(0, features, 2) / features)
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(length, features)


def _orthogonal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Q of the QR decomposition of a normal matrix, signs fixed so Q is uniformly
    distributed (Keras' Orthogonal, on the last axis against all others)."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    return (q.T if rows < cols else q).reshape(shape)


def initial_weights(graph: Graph, seed: int, dtype: str = "float64") -> dict[str, np.ndarray]:
    """{`node.weight`: array} for every weight of `graph`.

    Each tensor draws from its own stream, keyed by (seed, op, the node's place among
    the nodes of its op, tensor name): `dense_3.weight` for the third dense layer's. So
    adding a layer leaves the layers of other ops and the earlier ones of its op
    unchanged, and the names a file gives do not matter: a layer that is named for reuse,
    or moved into a block (`enc.unit_1.dense_1`), starts from the weights it had
    written inline. Literal values written in the file win over the initializer.
    """
    out: dict[str, np.ndarray] = {}
    places: dict[str, int] = {}
    for node in graph.nodes:
        place = places[node.op] = places.get(node.op, 0) + 1
        for w in node.weights:
            key = node.weight_key(w)
            if w.value is not None:
                out[key] = np.asarray(w.value, dtype=np.float64).reshape(w.shape).astype(dtype)
                continue
            # spelled as the automatic name (`dense_3.weight`): a file with no names keeps
            # the starting weights it had when streams were keyed by the node's name
            stream = zlib.crc32(f"{node.op}_{place}.{w.name}".encode())
            rng = np.random.default_rng([seed & 0xFFFFFFFF, stream])
            out[key] = _draw(w, rng).astype(dtype)
    return out
