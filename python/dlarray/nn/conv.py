"""dlconv and dltranspconv: MATLAB's weight layouts and options on the Rust kernels, which
work in MATLAB's own layouts — input (S..., C, B), weights (K..., C/G, F/G, G)."""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Tuple

from .. import _core
from .._arguments import number
from .._core import FormatError, ShapeError, dlarray
from .._matlab_names import accept_matlab_names
from ._layout import Layout, from_kernel_layout, layout_of, require, to_kernel_layout
from ._options import padding_pairs, per_dim
from ._params import as_param

__all__ = ["dlconv", "dltranspconv"]


def conv_spatial_axes(layout: Layout, op: str) -> List[int]:
    """The dims a convolution slides over: the S dims, or T for 1-D convolution over time."""
    s = layout.axes("S")
    if s:
        if layout.has("T"):
            raise FormatError(f"{op}: convolution of data with both S and T dims ('{layout.labels}') is not supported")
        return s
    t = layout.axes("T")
    if t:
        return t
    raise FormatError(f"{op}: input with format '{layout.labels}' has no spatial (S) or time (T) dimension")


def _weights_5d(w: dlarray, d: int, op: str) -> Tuple[dlarray, int, int, int]:
    """MATLAB weights (K1..Kd, A, B[, G]) padded to d+3 dims; returns (w, A, B, G)."""
    shape = tuple(w.shape)
    if len(shape) > d + 3:
        raise ShapeError(f"{op}: weights of shape {shape} have more than {d + 3} dims for {d}-D convolution")
    full = shape + (1,) * (d + 3 - len(shape))
    if full != shape:
        w = w.reshape(full)
    return w, full[d], full[d + 1], full[d + 2]


def _bias_parts(bias: Any, channels: int, like: dlarray, op: str) -> Tuple[Optional[dlarray], Optional[dlarray]]:
    """MATLAB's bias (F elements, 1-D or (F, 1), or a scalar) split into what the kernel adds
    — a length-F vector — and a scalar to add afterwards; a plain zero adds nothing."""
    if bias is None:
        return None, None
    b = as_param(bias, like, op, "bias")
    if not isinstance(bias, dlarray) and b.size == 1 and float(abs(b.reshape(()))) == 0.0:
        return None, None
    if b.size == 1:
        return None, b.reshape(())
    if b.size != channels:
        raise ShapeError(f"{op}: bias has {b.size} elements (shape {tuple(b.shape)}) but the output has {channels} channels")
    return b.reshape((channels,)), None


def _add_bias(y: dlarray, bias: Any, channels: int, op: str) -> dlarray:
    """Adds a per-channel bias to y in (S..., C, B) layout; a scalar bias is allowed."""
    vector, scalar = _bias_parts(bias, channels, y, op)
    if vector is not None:
        y = y + vector.reshape((channels, 1))
    return y if scalar is None else y + scalar


class _ConvSetup(NamedTuple):
    layout: Layout
    perm: List[int]  # to_kernel_layout's permutation, for the way back
    xi: dlarray  # the input in (S..., C, B)
    wi: dlarray  # the weights as (K..., A, B, G)
    groups: int
    out_channels: int
    st: List[int]
    dil: List[int]
    eff: List[int]  # dilated kernel extent per dim


def _conv_setup(X, weights, stride, dilation_factor, data_format, op: str, transposed: bool) -> _ConvSetup:
    """What dlconv and dltranspconv share: the input in (S..., C, B), MATLAB's weights
    (K..., A, B, G) (trailing singleton dims restored) checked against the input channels, and
    the per-dim stride, dilation and dilated kernel size.

    dlconv's weights are (K..., C/G, F/G, G); dltranspconv's swap the two: (K..., F/G, C/G, G).
    The kernels take both as they are (output channel g*F/G + f, as MATLAB).
    """
    layout = layout_of(X, data_format, op)
    require(layout, "C", op, X.shape)
    spatial = conv_spatial_axes(layout, op)
    d = len(spatial)
    if d > 3 and not transposed:
        raise FormatError(f"{op}: at most 3 spatial dims are supported, format '{layout.labels}' has {d}")
    xi, perm = to_kernel_layout(X, layout, op, spatial)
    given = as_param(weights, X, op, "weights")
    w, a, b, groups = _weights_5d(given, d, op)
    cg, fg = (b, a) if transposed else (a, b)
    channels = xi.shape[d]
    if cg * groups != channels:
        raise ShapeError(
            f"{op}: weights of shape {tuple(given.shape)} expect {cg * groups} input channels "
            f"({cg} per group x {groups} groups) but the input (format '{layout.labels}', shape {tuple(X.shape)}) has {channels}"
        )
    st = per_dim(stride, d, "stride", op)
    dil = per_dim(dilation_factor, d, "dilation_factor", op)
    eff = [di * (int(k) - 1) + 1 for di, k in zip(dil, w.shape[:d])]
    return _ConvSetup(layout, perm, xi, w, groups, groups * fg, st, dil, eff)


def dlconv(
    X: dlarray,
    weights: Any,
    bias: Any = 0,
    stride: Any = 1,
    dilation_factor: Any = 1,
    padding: Any = 0,
    padding_value: float = 0.0,
    data_format: Optional[str] = None,
) -> dlarray:
    """Deep-learning convolution (MATLAB's ``dlconv``), 1-D, 2-D or 3-D.

    ``weights`` has MATLAB's layout ``(FH, FW, C/G, F/G, G)`` for 2-D (one more or fewer
    leading filter dims for 3-D / 1-D; ``G`` may be omitted for one group); channel-wise
    (depthwise) convolution has ``C/G = 1``. ``bias`` has ``F`` elements (1-D or (F, 1)) or
    is a scalar. ``padding`` is a number, per-dim sizes, a (2, d) before/after matrix or
    ``"same"``; ``padding_value`` a number. The output keeps the input's format (C = F). An
    input without S dims but with a T dim is convolved over time (1-D).
    """
    op = "dlconv"
    g = _conv_setup(X, weights, stride, dilation_factor, data_format, op, transposed=False)
    before, after = padding_pairs(padding, len(g.st), g.xi.shape[: len(g.st)], g.eff, g.st, op)
    vector, scalar = _bias_parts(bias, g.out_channels, g.xi, op)
    pad_value = number(padding_value, "padding_value", op, finite=False)
    y = _core._conv(g.xi, g.wi, vector, g.st, g.dil, before, after, g.groups, pad_value)
    if scalar is not None:
        y = y + scalar
    return from_kernel_layout(y, g.perm, g.layout)


def dltranspconv(
    X: dlarray,
    weights: Any,
    bias: Any = 0,
    stride: Any = 1,
    dilation_factor: Any = 1,
    cropping: Any = 0,
    data_format: Optional[str] = None,
) -> dlarray:
    """Transposed convolution (MATLAB's ``dltranspconv``).

    ``weights`` has MATLAB's layout ``(FH, FW, F/G, C/G, G)`` for 2-D — filters and channels
    swapped relative to ``dlconv``. Output size per dim is
    ``(I − 1)·stride + dilation·(K − 1) + 1 − crop_before − crop_after``. ``cropping`` takes
    the same forms as dlconv's padding; ``"same"`` gives output size ``I·stride`` (an odd
    total crop removes the extra element at the end — decision recorded in docs/decisions.md).
    """
    op = "dltranspconv"
    g = _conv_setup(X, weights, stride, dilation_factor, data_format, op, transposed=True)
    eff, st, d = g.eff, g.st, len(g.st)
    output_padding = [0] * d
    if isinstance(cropping, str) and cropping.lower() == "same":
        before, after = [], []
        for i, (e, s) in enumerate(zip(eff, st)):
            total = e - s
            if total < 0:  # the full output is shorter than I·stride: pad at the end instead
                output_padding[i] = -total
                total = 0
            before.append(total // 2)
            after.append(total - total // 2)
    else:
        before, after = padding_pairs(cropping, d, g.xi.shape[:d], eff, st, op, name="cropping")
    y = _core._transposed_conv(g.xi, g.wi, st, g.dil, before, after, g.groups, output_padding)
    y = _add_bias(y, bias, g.out_channels, op)
    return from_kernel_layout(y, g.perm, g.layout)

accept_matlab_names(globals())
