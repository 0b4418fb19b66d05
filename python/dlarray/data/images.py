"""Image helpers: MATLAB's ``rescale`` and ``imtile``."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .._arguments import int_values, number, show
from .._core import DTypeError, OptionError, ShapeError, dlarray, extractdata
from .._matlab_names import accept_matlab_names

__all__ = ["imtile", "rescale"]


def _data(A: Any, op: str) -> np.ndarray:
    a = extractdata(A) if isinstance(A, dlarray) else np.asarray(A)
    if a.dtype.kind not in "biuf":
        raise DTypeError(f"{op}: expected real numeric data, got dtype {a.dtype}")
    return a


def rescale(A: Any, l: float = 0.0, u: float = 1.0, *, input_min: Any = None, input_max: Any = None) -> Any:  # noqa: E741
    """MATLAB's ``rescale(A, l, u, InputMin=, InputMax=)``: ``A`` mapped linearly so that
    ``input_min`` (default ``min(A)``) becomes ``l`` and ``input_max`` (default ``max(A)``)
    becomes ``u``; values outside [input_min, input_max] are clipped first (MATLAB's rule).
    ``input_min``/``input_max`` may be arrays that broadcast against ``A`` (per-channel
    ranges). A constant ``A`` maps to ``l``. A dlarray gives a dlarray (format kept, traced
    inside ``dlfeval``); anything else a floating numpy array (float32 stays float32).

    >>> from dlarray import rescale
    >>> rescale([0.0, 5.0, 10.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    op = "rescale"
    lo, hi = number(l, "l", op), number(u, "u", op)
    if isinstance(A, dlarray):
        data = extractdata(A)
        mn = np.min(data) if input_min is None else np.asarray(input_min, dtype=data.dtype)
        mx = np.max(data) if input_max is None else np.asarray(input_max, dtype=data.dtype)
        from .. import maximum, minimum

        clipped = minimum(maximum(A, mn), mx)
        span = np.where(mx - mn == 0, 1, mx - mn).astype(data.dtype)
        scale = np.where(mx - mn == 0, 0, (hi - lo) / span).astype(data.dtype)
        return (clipped - mn) * scale + np.asarray(lo, data.dtype)
    a = _data(A, op)
    a = a.astype(a.dtype if a.dtype.kind == "f" else np.float64)
    mn = a.min() if input_min is None else np.asarray(input_min, dtype=a.dtype)
    mx = a.max() if input_max is None else np.asarray(input_max, dtype=a.dtype)
    c = np.clip(a, mn, mx)
    span = mx - mn
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(span == 0, lo, lo + (c - mn) / np.where(span == 0, 1, span) * (hi - lo))
    return out.astype(a.dtype)


def imtile(
    images: Any, *, grid_size: Optional[Sequence[int]] = None, border_size: Any = 0, background_color: Any = 0, frames: Any = None
) -> np.ndarray:
    """MATLAB's ``out = imtile(I)``: the images of an ``(H, W, N)``, ``(H, W, C, N)`` (MATLAB's
    layout, e.g. ``digitTrain4DArrayData``'s ``(28, 28, 1, 5000)``) array, a formatted
    ``"SSCB"`` dlarray, or a list of ``(H, W)``/``(H, W, C)`` images, tiled row by row into
    one ``(rows·H, cols·W)`` image (``(…, C)`` for colour images).

    * ``grid_size``: ``(rows, cols)``; either may be ``None`` (computed from the other).
      Default: MATLAB's near-square grid, ``cols = ceil(sqrt(N))``, ``rows = ceil(N / cols)``.
    * ``border_size``: pixels of background around every image (one int or ``(rows, cols)``).
    * ``background_color``: the value of empty tiles and borders (a number, or one per channel).
    * ``frames``: 0-based indices (or a boolean mask) of the images to show.

    The result is a numpy array of the input's dtype (show it with
    ``matplotlib.pyplot.imshow``).
    """
    op = "imtile"
    if isinstance(images, (list, tuple)):
        arrays = [_data(i, op) for i in images]
        if not arrays or any(a.ndim not in (2, 3) for a in arrays) or len({a.shape for a in arrays}) != 1:
            raise ShapeError(f"{op}: a list must hold images of one shape (H, W) or (H, W, C), got {[tuple(a.shape) for a in arrays]}")
        stack = np.stack([a if a.ndim == 3 else a[..., None] for a in arrays], axis=-1)
    else:
        if isinstance(images, dlarray) and images.fmt and images.fmt not in ("SSCB", "SSC", "SSB", "SS"):
            raise ShapeError(f"{op}: a formatted dlarray must be 'SSCB' (or 'SSC', 'SSB', 'SS'), got '{images.fmt}'")
        fmt = images.fmt if isinstance(images, dlarray) else ""
        a = _data(images, op)
        if fmt in ("SSB",) or (not fmt and a.ndim == 3):
            a = a[:, :, None, :]
        elif fmt in ("SS", "SSC") or a.ndim == 2:
            a = a.reshape(*a.shape[:2], -1 if fmt == "SSC" else 1, 1)
        if a.ndim != 4:
            raise ShapeError(f"{op}: expected images of shape (H, W, N) or (H, W, C, N), got {tuple(a.shape)}")
        stack = a
    if frames is not None:
        idx = np.arange(stack.shape[-1])[np.asarray(frames)]
        stack = stack[..., idx]
    h, w, c, n = stack.shape
    if grid_size is None:
        grid_size = (None, None)
    if isinstance(grid_size, (str, bytes)) or len(grid_size) != 2:
        raise OptionError(f"{op}: grid_size must be (rows, cols), got {show(grid_size)}")
    rows, cols = grid_size
    if rows is None and cols is None:
        cols = int(np.ceil(np.sqrt(n))) if n else 1
    if cols is None:
        rows = int_values(rows, "grid_size", op, max_ndim=0)[0]
        cols = int(np.ceil(n / rows)) if rows > 0 else 0
    if rows is None:
        cols = int_values(cols, "grid_size", op, max_ndim=0)[0]
        rows = int(np.ceil(n / cols)) if cols > 0 else 0
    rows, cols = (int_values(v, "grid_size", op, max_ndim=0)[0] for v in (rows, cols))
    if rows < 1 or cols < 1:
        raise OptionError(f"{op}: grid_size must be positive, got {(rows, cols)}")
    border = int_values(border_size, "border_size", op)
    if len(border) not in (1, 2) or min(border) < 0:
        raise OptionError(f"{op}: border_size must be one or two non-negative ints, got {show(border_size)}")
    by, bx = (border * 2)[:2]
    th, tw = h + 2 * by, w + 2 * bx
    background = np.broadcast_to(np.asarray(background_color, dtype=stack.dtype).reshape(-1), (c,))
    out = np.empty((rows * th, cols * tw, c), dtype=stack.dtype)
    out[...] = background
    for k in range(min(n, rows * cols)):
        r, q = divmod(k, cols)
        out[r * th + by : r * th + by + h, q * tw + bx : q * tw + bx + w, :] = stack[..., k]
    return out[..., 0] if c == 1 else out


accept_matlab_names(globals())
