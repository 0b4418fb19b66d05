"""MATLAB's ``padsequences``: sequences of different lengths as one padded array (and mask)."""

from __future__ import annotations

from typing import Any, List, Sequence, Union

import numpy as np

from .._arguments import choice, flag, integer, number, show
from .._core import DTypeError, FormatError, OptionError, ShapeError, dlarray, extractdata
from .._matlab_names import accept_matlab_names

__all__ = ["padsequences"]


def _axis(padding_dim: Any, fmt: str, ndim: int) -> int:
    op = "padsequences"
    if isinstance(padding_dim, str):
        if not fmt or len(padding_dim) != 1 or fmt.count(padding_dim.upper()) != 1:
            raise OptionError(
                f"{op}: padding_dim '{padding_dim}' must name one dim of the sequences' format '{fmt}'"
                if fmt
                else f"{op}: padding_dim '{padding_dim}' needs formatted sequences"
            )
        return fmt.index(padding_dim.upper())
    if isinstance(padding_dim, (bool, np.bool_)) or not isinstance(padding_dim, (int, np.integer)):
        raise OptionError(f"{op}: padding_dim must be a 0-based int or a format letter, got {show(padding_dim)}")
    if not 0 <= int(padding_dim) < ndim:
        raise OptionError(f"{op}: padding_dim {int(padding_dim)} is out of range for sequences with {ndim} dims")
    return int(padding_dim)


def padsequences(
    X: Sequence[Any],
    padding_dim: Any,
    *,
    length: Union[str, int] = "longest",
    direction: str = "right",
    padding_value: Any = 0,
    return_mask: bool = False,
) -> Any:
    """MATLAB's ``[XPad, mask] = padsequences(X, paddingDim, Name=Value)``: pad (or truncate)
    every sequence of the list ``X`` along ``padding_dim`` to one length and stack them along
    a new last dim (the observations).

    * ``padding_dim``: the time dim of each sequence, a 0-based int (``1`` for ``(C, T)``
      sequences) or, for formatted dlarrays, a format letter (``"T"``).
    * ``length``: ``"longest"`` (default), ``"shortest"`` (longer sequences are truncated) or
      a positive int.
    * ``direction``: ``"right"`` (default) pads or truncates at the end, ``"left"`` at the
      start, so that the sequences end together.
    * ``padding_value``: the value of the padding (MATLAB's ``"auto"`` is 0 for numeric data).
    * ``return_mask=True`` returns ``(XPad, mask)``: a numpy bool array of ``XPad``'s shape,
      True where ``XPad`` holds data, for the losses' ``mask=``.

    numpy (or list) sequences give a numpy array of shape ``(*dims, N)``; dlarrays give a
    dlarray: unformatted ones unformatted, formatted ones (all of one format without ``B``)
    with ``B`` added (``"CT"`` sequences give ``"CBT"``, in MATLAB's canonical order, as
    :func:`dlarray` orders it; the mask is in the same layout).

    >>> import numpy as np
    >>> from dlarray import padsequences
    >>> XPad, mask = padsequences([np.ones((2, 3)), np.ones((2, 1))], 1, return_mask=True)
    >>> XPad.shape, mask[0, :, 1].tolist()
    ((2, 3, 2), [True, False, False])
    """
    op = "padsequences"
    return_mask = flag(return_mask, "return_mask", op)
    direction = choice(direction, ("right", "left"), "direction", op)
    if isinstance(padding_value, str) and padding_value.lower() == "auto":
        padding_value = 0
    pad = number(padding_value, "padding_value", op, finite=False)
    if isinstance(X, (np.ndarray, dlarray, str, bytes)) or not isinstance(X, (list, tuple)):
        raise DTypeError(f"{op}: X must be a list of sequences (MATLAB's cell array), got {type(X).__name__}")
    if not X:
        raise ShapeError(f"{op}: X holds no sequences")
    as_dl = isinstance(X[0], dlarray)
    fmts = {x.fmt if isinstance(x, dlarray) else None for x in X}
    if len(fmts) != 1 or (as_dl and not all(isinstance(x, dlarray) for x in X)):
        raise FormatError(
            f"{op}: the sequences must all be dlarrays of one format or all numeric arrays, got formats {sorted(str(f) for f in fmts)}"
        )
    fmt = X[0].fmt if as_dl else ""
    if "B" in fmt:
        raise FormatError(f"{op}: the sequences (format '{fmt}') must not have a 'B' dim: padsequences adds it")
    arrays: List[np.ndarray] = []
    for i, x in enumerate(X):
        a = extractdata(x) if isinstance(x, dlarray) else np.asarray(x)
        if a.dtype.kind not in "biufc":
            raise DTypeError(f"{op}: sequence {i} is not numeric (dtype {a.dtype})")
        arrays.append(a)
    ndim = arrays[0].ndim
    axis = _axis(padding_dim, fmt, ndim)
    others = [tuple(s for k, s in enumerate(a.shape) if k != axis) for a in arrays]
    if any(a.ndim != ndim for a in arrays) or len(set(others)) != 1:
        raise ShapeError(
            f"{op}: the sequences must agree in every dim but padding_dim {axis}; got shapes {[tuple(a.shape) for a in arrays]}"
        )
    lengths = [a.shape[axis] for a in arrays]
    if isinstance(length, str):
        n = max(lengths) if choice(length, ("longest", "shortest"), "length", op) == "longest" else min(lengths)
    else:
        n = integer(length, "length", op, minimum=1)
    dtype = np.result_type(*arrays, np.float32) if not as_dl else np.result_type(*arrays)
    shape = list(arrays[0].shape)
    shape[axis] = n
    out = np.full((*shape, len(arrays)), pad, dtype=dtype)
    mask = np.zeros(out.shape, dtype=bool)
    for i, a in enumerate(arrays):
        keep = min(a.shape[axis], n)
        src = [slice(None)] * ndim
        dst = [slice(None)] * ndim
        src[axis] = slice(0, keep) if direction == "right" else slice(a.shape[axis] - keep, a.shape[axis])
        dst[axis] = slice(0, keep) if direction == "right" else slice(n - keep, n)
        out[(*dst, i)] = a[tuple(src)]
        mask[(*dst, i)] = True
    if as_dl:
        if fmt:
            result: Any = dlarray(out, fmt + "B")
            mask = extractdata(dlarray(mask.astype(np.float32), fmt + "B")).astype(bool)
        else:
            result = dlarray(out)
    else:
        result = out
    return (result, mask) if return_mask else result


accept_matlab_names(globals())
