"""Declarations of the convolution family: convolutions, pooling and upsampling over
channels-last samples, as in Keras: `(length, channels)` for 1-d, `(height, width,
channels)` for 2-d. Imported by `nndsl.ir.ops`, whose registry they join.

The window arithmetic (`window`) lives here too, so that both backends pad and stride
exactly as the shape rule says. Each op's `compute` is its composition of primitives:
`windows` (im2col) then a matrix product, a max or a mean; the hand-written kernels are
the fast paths, proven equal to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nndsl.ir.masks import keep
from nndsl.ir.opdef import OPS, OpDef, Shape, ShapeError, WeightDef, fmt_shape, op
from nndsl.ir.signature import Param, Spec

DIMS = {1: ("length",), 2: ("height", "width")}
SAMPLE = {1: "(length, channels)", 2: "(height, width, channels)"}


@dataclass(frozen=True)
class Window:
    """One spatial axis of a sliding window: size, stride, dilation, and the output size
    and zero padding before/after that follow from the input size and `padding`."""

    size: int
    stride: int
    dilation: int
    out: int
    pad_before: int
    pad_after: int

    @property
    def span(self) -> int:
        """How many input positions one window covers."""
        return (self.size - 1) * self.dilation + 1


def per_axis(value: Any, rank: int) -> tuple[int, ...]:
    """An `ints` argument as one int per spatial axis: 3 or [3] -> (3, 3) in 2-d."""
    values = [value] if isinstance(value, int) else list(value)
    return tuple(values * rank) if len(values) == 1 else tuple(values)


def window(n: int, size: int, stride: int, dilation: int, padding: str) -> Window:
    """Keras' (TensorFlow's) rule: `valid` keeps the windows that fit; `same` gives
    ceil(n / stride) outputs, padding with zeros, the odd one after."""
    span = (size - 1) * dilation + 1
    if padding == "valid":
        return Window(size, stride, dilation, (n - span) // stride + 1, 0, 0)
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return Window(size, stride, dilation, out, total // 2, total - total // 2)


def windows(
    shape: Shape, attrs: dict[str, Any], size_key: str, stride_key: str
) -> tuple[Window, ...]:
    """The windows of a conv/pool node over its input `shape` (spatial axes only)."""
    rank = len(shape) - 1
    sizes = per_axis(attrs[size_key], rank)
    strides = sizes if attrs.get(stride_key) is None else per_axis(attrs[stride_key], rank)
    dilations = per_axis(attrs.get("dilation", 1), rank)
    return tuple(
        window(n, k, s, d, attrs["padding"])
        for n, k, s, d in zip(shape[:-1], sizes, strides, dilations)
    )


def _spatial_input(name: str, shape: Shape, rank: int) -> None:
    if len(shape) != rank + 1:
        hint = None
        if len(shape) == 1 and rank == 2:
            side = math.isqrt(shape[0])
            if side * side == shape[0]:
                hint = f"reshape({side}, {side}, 1) turns {shape[0]} features into an image"
        elif len(shape) == 1:
            hint = f"reshape({shape[0]}, 1) turns {shape[0]} features into a sequence"
        raise ShapeError(
            f"{name} needs samples of shape {SAMPLE[rank]}, got {fmt_shape(shape)}", hint
        )


def _check_params(name: str, attrs: dict[str, Any], keys: tuple[str, ...], rank: int) -> None:
    for key in keys:
        value = attrs.get(key)
        if value is None or isinstance(value, int):
            continue
        if len(value) not in (1, rank):
            want = "one number" if rank == 1 else f"one number or {rank} (one per axis)"
            raise ShapeError(f"{name}: '{key}' takes {want}, got {len(value)}")


def _window_shape(name: str, rank: int, size_key: str, stride_key: str, what: str):
    """The shape rule of a conv/pool op: checks the input, the arguments and that the
    window fits, naming the axis that disagrees."""

    def rule(shapes: list[Shape], attrs: dict[str, Any]) -> Shape:
        (s,) = shapes
        _spatial_input(name, s, rank)
        _check_params(name, attrs, (size_key, stride_key, "dilation"), rank)
        wins = windows(s, attrs, size_key, stride_key)
        for axis, n, w in zip(DIMS[rank], s, wins):
            if w.out < 1:
                size = "x".join(str(x.span) for x in wins)
                image = "x".join(map(str, s[:-1]))
                raise ShapeError(
                    f"{name}: a {size} {what} does not fit a {image} input with "
                    f"padding=valid ({axis} {n} < {w.span})",
                    "use padding=same, a smaller window, or a larger input",
                )
        channels = attrs["filters"] if "filters" in attrs else s[-1]
        return (*(w.out for w in wins), channels)

    return rule


# ---------------------------------------------------------------- compositions


def _activate(P: Any, spec: Spec, z: Any) -> Any:
    # nndsl.ir.ops.activate, which this module cannot import (ops imports it: a cycle)
    return OPS[spec.name].compute(P, [z], {}, dict(spec.args))


def _patches(P: Any, x: Any, a: dict[str, Any], size_key: str, stride_key: str, fill: float):
    """x (batch, *spatial, channels) -> its windows (batch, *out, taps, channels), and
    whether padding reaches into them."""
    wins = windows(tuple(x.shape[1:]), a, size_key, stride_key)
    pads = tuple((w.pad_before, w.pad_after) for w in wins)
    cols = P.windows(
        x,
        tuple(w.size for w in wins),
        tuple(w.stride for w in wins),
        tuple(w.dilation for w in wins),
        pads,
        fill,
    )
    taps = math.prod(w.size for w in wins)
    return P.reshape(cols, (x.shape[0], *(w.out for w in wins), taps, x.shape[-1])), any(
        b or e for b, e in pads
    )


def _conv(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    """im2col and one matrix product: (..., taps * channels) @ (taps * channels, filters),
    the kernel (*size, in, filters) flattened in the windows' order."""
    cols, _ = _patches(P, xs[0], a, "kernel_size", "strides", 0.0)
    shape = tuple(cols.shape)
    z = P.matmul(
        P.reshape(cols, (*shape[:-2], shape[-2] * shape[-1])),
        P.reshape(w["weight"], (-1, a["filters"])),
    )
    return _activate(P, a["activation"], z + w["bias"] if "bias" in w else z)


def _max_pool(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    # padded with -inf: never a window's max (every window holds an input value)
    cols, _ = _patches(P, xs[0], a, "pool_size", "strides", -math.inf)
    return P.max(cols, -2)


def _avg_pool(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    """The mean per window; where padding reaches in, over the input values only: the
    window sums over the windows' counts of input positions (the windows of ones)."""
    x = xs[0]
    cols, pads = _patches(P, x, a, "pool_size", "strides", 0.0)
    if not pads:
        return P.mean(cols, -2)
    ones, _ = _patches(P, x * 0.0 + 1.0, a, "pool_size", "strides", 0.0)
    return P.sum(cols, -2) / P.sum(ones, -2)


def _global_avg_pool(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    x = xs[0]
    if a["pad_from"] is None:
        return P.mean(P.reshape(x, (x.shape[0], -1, x.shape[-1])), 1)
    # the mean over the steps that are not padding, as Keras' GlobalAveragePooling1D
    # under a mask; a sample of padding alone gives 0 (Keras: 0/0)
    mask = keep(xs[-1], a["pad_id"])
    mask = mask.reshape(mask.shape[0], mask.shape[1], 1)
    # the count from x's ones, so that it has x's dtype on either backend
    count = P.maximum(P.sum(P.where(mask, x * 0.0 + 1.0, 0.0), 1), 1.0)
    return P.sum(P.where(mask, x, 0.0), 1) / count


def _upsample(P: Any, xs: list[Any], w: dict[str, Any], a: dict[str, Any]) -> Any:
    """Nearest neighbour: a new axis of 1 after each spatial axis, `size` copies of x
    joined along it (concat's VJP sums the copies back), then merged into that axis."""
    x = xs[0]
    spatial = tuple(x.shape[1:-1])
    reps = per_axis(a["size"], len(spatial))
    y = P.reshape(x, (x.shape[0], *(m for n in spatial for m in (n, 1)), x.shape[-1]))
    for i, k in enumerate(reps):
        y = P.concat([y] * k, 2 + 2 * i)
    return P.reshape(y, (x.shape[0], *(n * k for n, k in zip(spatial, reps)), x.shape[-1]))


# ---------------------------------------------------------------- convolutions


def _conv_weights(rank: int):
    def weights(shapes: list[Shape], a: dict[str, Any]) -> list[WeightDef]:
        size = math.prod(per_axis(a["kernel_size"], rank))
        cin, filters = shapes[0][-1], a["filters"]
        kernel = (*per_axis(a["kernel_size"], rank), cin, filters)
        # Keras' fans: the receptive field times the channels on each side
        fans = (size * cin, size * filters)
        out = [WeightDef("weight", kernel, a["init"], 0.0, *fans, value=a["weights"])]
        if a["use_bias"]:
            out.append(
                WeightDef("bias", (filters,), a["bias_init"], 0.0, size * cin, filters, a["bias"])
            )
        return out

    return weights


def _conv_params(rank: int) -> tuple[Param, ...]:
    axes = " and ".join(DIMS[rank])
    many = "" if rank == 1 else " (one number: the same on every axis)"
    return (
        Param("filters", "int", doc="number of output channels", low=1),
        Param("kernel_size", "ints", doc=f"window {axes}{many}", low=1),
        Param("strides", "ints", 1, doc=f"step between windows{many}", low=1),
        Param(
            "padding",
            "enum",
            "valid",
            doc="valid: only whole windows; same: zero-pad to ceil(size / stride) outputs",
            choices=("valid", "same"),
        ),
        Param("dilation", "ints", 1, doc=f"spacing between window taps{many}", low=1),
        Param("activation", "activation", Spec("linear"), doc="applied to the output"),
        Param("use_bias", "bool", True, doc="add a learned bias per filter"),
        Param("init", "initializer", Spec("glorot_uniform"), doc="initializer of the kernel"),
        Param("bias_init", "initializer", Spec("zeros"), doc="initializer of the bias"),
        Param(
            "weights",
            "tensor",
            None,
            doc=f"literal kernel values, shape ({', '.join(f'kernel_{d}' for d in DIMS[rank])}, "
            "in_channels, filters)",
        ),
        Param("bias", "tensor", None, doc="literal bias values, shape (filters,)"),
    )


for _rank in (1, 2):
    _name = f"conv{_rank}d"
    op(
        OpDef(
            _name,
            f"{_rank}-d convolution over samples {SAMPLE[_rank]}: y = activation(sum over the "
            f"window and input channels of x * weight + bias); weight has shape "
            f"({', '.join(f'kernel_{d}' for d in DIMS[_rank])}, in_channels, filters) "
            f"as in Keras.",
            _conv_params(_rank),
            shape=_window_shape(_name, _rank, "kernel_size", "strides", "kernel"),
            weights=_conv_weights(_rank),
            family="convolution",
            compute=_conv,
        )
    )

# ---------------------------------------------------------------- pooling


def _pool_params(rank: int) -> tuple[Param, ...]:
    many = "" if rank == 1 else " (one number: the same on every axis)"
    return (
        Param("pool_size", "ints", 2, doc=f"window size{many}", low=1),
        Param(
            "strides",
            "ints",
            None,
            optional=True,
            doc="step between windows (none: the pool size)",
            low=1,
        ),
        Param(
            "padding",
            "enum",
            "valid",
            doc="valid: only whole windows; same: ceil(size / stride) outputs, padding ignored",
            choices=("valid", "same"),
        ),
    )


for _rank in (1, 2):
    for _kind, _what in (("max", "largest value"), ("avg", "mean")):
        _name = f"{_kind}_pool{_rank}d"
        op(
            OpDef(
                _name,
                f"The {_what} of each window, per channel, over samples {SAMPLE[_rank]}.",
                _pool_params(_rank),
                shape=_window_shape(_name, _rank, "pool_size", "strides", "pool window"),
                family="convolution",
                compute=_max_pool if _kind == "max" else _avg_pool,
                smooth=_kind != "max",  # the gradient jumps where a window's max changes
            )
        )


def _global_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    s = shapes[0]
    if len(s) < 2:
        raise ShapeError(
            f"global_avg_pool needs samples with positions and channels, e.g. "
            f"(length, channels) or (height, width, channels); got {fmt_shape(s)}"
        )
    if a["pad_from"] is not None and (len(s) != 2 or shapes[-1] != s[:1]):
        raise ShapeError(
            f"global_avg_pool's pad_from must give one token id per step of a sequence "
            f"(timesteps, channels): the input has shape {fmt_shape(s)}, pad_from "
            f"{fmt_shape(shapes[-1])}",
            "name the input layer of token ids the steps come from (pad_from=tokens)",
        )
    return (s[-1],)


op(
    OpDef(
        "global_avg_pool",
        "The mean over every position, per channel: (..., channels) -> (channels,). "
        "With `pad_from` (filled in from an embedding's mask_zero above it), the mean "
        "over the steps whose token id is not `pad_id`, as Keras' GlobalAveragePooling1D "
        "under a mask (0 for a sample of padding alone).",
        (
            Param(
                "pad_from",
                "ref",
                None,
                doc="the input layer of the steps' token ids: steps with id pad_id are "
                "left out of the mean",
                optional=True,
            ),
            Param("pad_id", "int", 0, doc="the token id of padding (with pad_from)"),
        ),
        shape=_global_shape,
        family="convolution",
        compute=_global_avg_pool,
        mask="uses",
    )
)


def _upsample_shape(shapes: list[Shape], a: dict[str, Any]) -> Shape:
    (s,) = shapes
    rank = len(s) - 1
    if rank not in (1, 2):
        raise ShapeError(
            f"upsample needs samples (length, channels) or (height, width, channels), "
            f"got {fmt_shape(s)}"
        )
    _check_params("upsample", a, ("size",), rank)
    return (*(n * k for n, k in zip(s[:-1], per_axis(a["size"], rank))), s[-1])


op(
    OpDef(
        "upsample",
        "Nearest-neighbour upsampling: repeats each position `size` times along each "
        "spatial axis of (length, channels) or (height, width, channels) samples.",
        (Param("size", "ints", 2, doc="repeats per axis (one number: every axis)", low=1),),
        shape=_upsample_shape,
        family="convolution",
        compute=_upsample,
    )
)
