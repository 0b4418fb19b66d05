"""maxpool, maxunpool and avgpool (MATLAB's options: stride defaults to 1, padding as a
number / per-dim / (2, d) matrix / "same", ``"global"`` pooling)."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import _core
from .._arguments import MAX_SIZE, flag, int_values, show
from .._core import DlIndexError, OptionError, ShapeError, dlarray
from .._matlab_names import accept_matlab_names
from ._layout import from_kernel_layout, layout_of, restore, to_kernel_layout
from ._options import padding_pairs, per_dim
from .conv import conv_spatial_axes

__all__ = ["maxpool", "maxunpool", "avgpool"]


def _is_global(pool_size: Any) -> bool:
    return isinstance(pool_size, str) and pool_size.lower() == "global"


def _window(X, pool_size, stride, padding, data_format, op):
    layout = layout_of(X, data_format, op)
    spatial = conv_spatial_axes(layout, op)
    d = len(spatial)
    xi, perm = to_kernel_layout(X, layout, op, spatial)
    kernel = per_dim(pool_size, d, "pool_size", op)
    st = per_dim(stride, d, "stride", op)
    before, after = padding_pairs(padding, d, xi.shape[:d], kernel, st, op)
    return layout, spatial, xi, perm, kernel, st, before, after


def maxpool(
    X: dlarray,
    pool_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    return_indices: bool = False,
    data_format: Optional[str] = None,
):
    """Max pooling (MATLAB's ``maxpool``); ``pool_size="global"`` pools all S dims to 1.

    With ``return_indices=True`` returns ``(Y, indices, input_size)``: ``indices`` is a numpy
    int64 array of Y's shape holding, for each output, the flat (row-major) position in X of
    the maximum it took — MATLAB's linear indices, 0-based — and ``input_size`` is X's shape;
    both feed ``maxunpool``. Padding is never selected; ties take the first element.
    """
    op = "maxpool"
    return_indices = flag(return_indices, "return_indices", op)
    if _is_global(pool_size):
        layout = layout_of(X, data_format, op)
        spatial = conv_spatial_axes(layout, op)
        pool_size = [X.shape[a] if a < X.ndim else 1 for a in spatial]
        stride, padding = 1, 0
    layout, spatial, xi, perm, kernel, st, before, after = _window(X, pool_size, stride, padding, data_format, op)
    yi, flat = _core._maxpool(xi, kernel, st, before, after, return_indices)
    Y = from_kernel_layout(yi, perm, layout)
    if not return_indices:
        return Y
    # Internal flat positions -> positions in X's own (row-major) layout.
    internal_shape = tuple(xi.shape)
    multi = np.unravel_index(flat.astype(np.int64), internal_shape)
    ext_shape = [0] * len(perm)
    ext_multi = [None] * len(perm)
    for i, p in enumerate(perm):
        ext_shape[p] = internal_shape[i]
        ext_multi[p] = multi[i]
    user_flat = np.ravel_multi_index(tuple(ext_multi), tuple(ext_shape))
    inv = np.argsort(perm)
    idx = user_flat.reshape(tuple(yi.shape)).transpose(inv)
    idx = idx.reshape(tuple(Y.shape)).astype(np.int64)
    return Y, idx, tuple(X.shape)


def maxunpool(X: dlarray, indices: Any, output_size: Any, data_format: Optional[str] = None) -> dlarray:
    """Places each element of ``X`` at its position in ``indices`` within zeros of
    ``output_size`` (MATLAB's ``maxunpool``, with ``maxpool(..., return_indices=True)``'s
    0-based indices). Positions selected twice add up. Keeps X's format."""
    op = "maxunpool"
    layout = layout_of(X, data_format, op)
    try:
        idx = np.asarray(indices)
    except (ValueError, TypeError):
        idx = np.asarray(None)
    if idx.dtype.kind not in "iu":
        raise DlIndexError(f"{op}: indices must be integer positions (from maxpool(..., return_indices=True)), "
                           f"got {type(indices).__name__} of dtype {idx.dtype}")
    if idx.shape != tuple(X.shape):
        raise ShapeError(f"{op}: indices of shape {idx.shape} do not match the input of shape {tuple(X.shape)}")
    if isinstance(output_size, (str, bytes)):
        raise OptionError(f"{op}: output_size must be a sequence of sizes, got {show(output_size)}")
    size = tuple(int_values(output_size, "output_size", op))
    if len(size) != X.ndim:
        raise ShapeError(f"{op}: output_size {size} must have as many dims as the input of shape {tuple(X.shape)}")
    if any(s < 0 for s in size):
        raise ShapeError(f"{op}: output_size {size} has a negative size")
    numel = math.prod(size)
    if numel > MAX_SIZE:
        raise ShapeError(f"{op}: an output of size {size} has more elements than can be addressed")
    if idx.size and (idx.min() < 0 or idx.max() >= numel):
        raise DlIndexError(f"{op}: indices out of range for an output of size {size}")
    flat = np.ascontiguousarray(idx.reshape(-1), dtype=np.uintp)
    y = _core._maxunpool(_core.stripdims(X) if X.fmt else X, flat, list(size))
    return restore(y, layout)


def avgpool(
    X: dlarray,
    pool_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    padding_value: Any = 0,
    data_format: Optional[str] = None,
) -> dlarray:
    """Average pooling (MATLAB's ``avgpool``); ``pool_size="global"`` averages all S dims.

    ``padding_value=0`` (MATLAB's default) counts padding as zeros: every window is divided by
    the full pool size. ``padding_value="mean"`` averages only the input elements a window
    covers (as if the padding held the window's mean).
    """
    op = "avgpool"
    if _is_global(pool_size):
        layout = layout_of(X, data_format, op)
        spatial = conv_spatial_axes(layout, op)
        axes = tuple(a for a in spatial if a < X.ndim)
        Y = (_core.stripdims(X) if X.fmt else X).mean(axes, True) if axes else X
        return restore(Y, layout)
    if isinstance(padding_value, str) and padding_value.lower() == "mean":
        counts = False
    elif isinstance(padding_value, (int, float, np.integer, np.floating)) and padding_value == 0:
        counts = True
    else:
        raise OptionError(f"{op}: padding_value must be 0 or 'mean', got {show(padding_value)}")
    layout, spatial, xi, perm, kernel, st, before, after = _window(X, pool_size, stride, padding, data_format, op)
    yi = _core._avgpool(xi, kernel, st, before, after, counts)
    return from_kernel_layout(yi, perm, layout)

accept_matlab_names(globals())
