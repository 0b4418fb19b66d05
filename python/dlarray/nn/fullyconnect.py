"""``fullyconnect``: the weighted sum of every S, C (and U) element of an observation, plus a
bias, with MATLAB's weight layout so weights exported from MATLAB give identical outputs."""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from .._core import ShapeError, dlarray, pagemtimes
from .._matlab_names import accept_matlab_names
from ._layout import layout_of, plain, require
from ._params import as_param

__all__ = ["fullyconnect"]

_CANONICAL_RANK = {"S": 0, "C": 1, "B": 2, "T": 3, "U": 4}


def fullyconnect(X: dlarray, weights: Any, bias: Any = None, data_format: Optional[str] = None) -> dlarray:
    """MATLAB's ``Y = fullyconnect(X, weights, bias)``.

    The S, C and U dims of each observation are flattened in MATLAB's **column-major** order
    of the canonical layout (S1, S2, ..., C, U...): for ``X`` formatted "SSCB" with shape
    ``(H, W, C, N)`` the feature index of ``X[h, w, c, n]`` is ``h + H*(w + W*c)``.

    ``weights`` is ``(output_size, input_size)``, or MATLAB's ``(output_size, *feature_shape)``
    such as ``(output_size, H, W, C)``; ``bias`` has ``output_size`` elements (1-D or
    ``(output_size, 1)``; a scalar broadcasts; ``None`` means no bias — a convenience MATLAB
    does not have).

    The output is formatted "CB" (``(output_size, N)``), or "CBT" when ``X`` has a T dim; an
    input without a B dim gets a size-1 B. Unformatted input needs ``data_format`` and gives an
    unformatted output laid out as "CB"/"CBT". A C dim is required (decision: MATLAB's
    fullyconnect documents C-carrying formats only).
    """
    op = "fullyconnect"
    layout = layout_of(X, data_format, op)
    require(layout, "C", op, X.shape)
    x = plain(X, layout)
    labels = layout.labels
    # MATLAB applies a format by permuting into canonical order; an unformatted input given
    # in another order is permuted the same way so the flattening order is MATLAB's.
    order = sorted(range(len(labels)), key=lambda i: _CANONICAL_RANK[labels[i]])
    feature_axes = [i for i in order if labels[i] in "SCU"]
    b_axis, t_axis = layout.axis("B"), layout.axis("T")
    rest = [a for a in (b_axis, t_axis) if a is not None]
    perm = feature_axes + rest
    if perm != list(range(len(labels))):
        x = x.transpose(tuple(perm))
    feature_shape = [x.shape[i] for i in range(len(feature_axes))]
    n_in = int(np.prod(feature_shape))
    n_b = _dim_size(x, labels, b_axis, perm)
    n_t = _dim_size(x, labels, t_axis, perm)

    w = as_param(weights, x, op, "weights")
    w2 = _weights_matrix(w, feature_shape, n_in, op, labels, tuple(X.shape))
    n_out = w2.shape[0]
    # Row-major flattening of X's features is column-major reversed; permuting the (small)
    # weight matrix to the row-major feature order avoids transposing X.
    xm = x.reshape(n_in, n_b * n_t)
    y = pagemtimes(w2, xm)  # (O, B*T)
    if bias is not None:
        y = y + _bias_column(as_param(bias, x, op, "bias"), n_out, op)
    out_fmt = "CBT" if t_axis is not None else "CB"
    y = y.reshape(n_out, n_b, n_t) if t_axis is not None else y
    return dlarray(y, out_fmt) if layout.formatted else y


def _dim_size(x: dlarray, labels: str, axis: Optional[int], perm: List[int]) -> int:
    """The size of the dim that was at ``axis`` before ``perm`` (1 when absent)."""
    return 1 if axis is None else x.shape[perm.index(axis)]


def _weights_matrix(w: dlarray, feature_shape: List[int], n_in: int, op: str, labels: str, x_shape: tuple) -> dlarray:
    """Weights as ``(O, n_in)`` with columns in row-major feature order."""
    if w.ndim == 2 and w.shape[1] == n_in:
        if len(feature_shape) == 1:
            return w
        # Column j of MATLAB's matrix is the column-major feature index.
        return w.reshape(w.shape[0], *feature_shape, order="F").reshape(w.shape[0], n_in)
    trimmed = list(w.shape[1:])
    full = list(feature_shape)
    # MATLAB drops trailing singleton dims: (O, H, W) is (O, H, W, 1).
    while len(trimmed) < len(full) and full[len(trimmed)] == 1 and all(d == 1 for d in full[len(trimmed):]):
        trimmed.append(1)
    if w.ndim >= 2 and trimmed == full:
        return w.reshape(w.shape[0], n_in)
    raise ShapeError(
        f"{op}: weights of shape {tuple(w.shape)} do not match input of format '{labels}' and shape {x_shape}: "
        f"expected (output_size, {n_in}) or (output_size, {', '.join(map(str, feature_shape))})"
    )


def _bias_column(b: dlarray, n_out: int, op: str) -> dlarray:
    if b.ndim == 0 or (b.size == 1 and n_out != 1):
        return b.reshape(1, 1)
    if tuple(b.shape) not in ((n_out,), (n_out, 1)):
        raise ShapeError(f"{op}: bias must have {n_out} elements, shape ({n_out},) or ({n_out}, 1), got shape {tuple(b.shape)}")
    return b.reshape(n_out, 1)

accept_matlab_names(globals())
