"""maxpool, maxunpool and avgpool (MATLAB's options: stride defaults to 1, padding as a
number / per-dim / (2, d) matrix / "same", ``"global"`` pooling). The options are parsed here;
the window dims, "same" padding and the layout are the core's (``dl_ops/pool.rs``)."""

from __future__ import annotations

import math
from typing import Any, List, Optional

import numpy as np

from .. import _core
from .._arguments import MAX_SIZE, flag, int_values, show
from .._core import DlIndexError, OptionError, ShapeError, dlarray
from .._matlab_names import accept_matlab_names
from ._layout import dl_input, layout_of, restore
from ._options import padding_option, window_values

__all__ = ["maxpool", "maxunpool", "avgpool"]


def _pool_size(pool_size: Any, op: str) -> Optional[List[int]]:
    """MATLAB's pool size: integers, or None for ``"global"``."""
    if isinstance(pool_size, str) and pool_size.lower() == "global":
        return None
    return window_values(pool_size, "pool_size", op)


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
    dl_input(X, data_format, op)
    Y, idx = _core._maxpool(
        X,
        _pool_size(pool_size, op),
        window_values(stride, "stride", op),
        padding_option(padding, op),
        data_format,
        return_indices,
    )
    return (Y, idx, tuple(X.shape)) if return_indices else Y


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
        raise DlIndexError(
            f"{op}: indices must be integer positions (from maxpool(..., return_indices=True)), "
            f"got {type(indices).__name__} of dtype {idx.dtype}"
        )
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
    if isinstance(padding_value, str) and padding_value.lower() == "mean":
        counts = False
    elif isinstance(padding_value, (int, float, np.integer, np.floating)) and padding_value == 0:
        counts = True
    else:
        raise OptionError(f"{op}: padding_value must be 0 or 'mean', got {show(padding_value)}")
    dl_input(X, data_format, op)
    return _core._avgpool(
        X,
        _pool_size(pool_size, op),
        window_values(stride, "stride", op),
        padding_option(padding, op),
        data_format,
        counts,
    )


accept_matlab_names(globals())
