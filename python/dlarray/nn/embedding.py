"""``embed``: look up word vectors by 0-based index (MATLAB's ``embed``, 1-based there)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._core import DlIndexError, DTypeError, FormatError, ShapeError, dlarray, extractdata, stripdims
from .._matlab_names import accept_matlab_names
from ._layout import format_given, format_labels, layout_of
from ._params import numeric

__all__ = ["embed"]


def _index_layout(X: Any, data_format: Optional[str]):
    """(integer indices as numpy, their labels, formatted?) for a dlarray or numpy ``X``."""
    op = "embed"
    if isinstance(X, dlarray):
        layout = layout_of(X, data_format, op)
        values = np.asarray(extractdata(X))
        labels, formatted = layout.labels, layout.formatted
    else:
        values = numeric(X, op, "indices")
        if not format_given(data_format):
            raise FormatError(f"{op}: numpy indices (shape {values.shape}) need data_format=")
        labels, formatted = format_labels(data_format, op, ndim=values.ndim), False
    if values.ndim < len(labels):
        values = values.reshape(values.shape + (1,) * (len(labels) - values.ndim))
    if values.dtype.kind not in "biuf":
        raise DTypeError(f"{op}: indices must be integers, got dtype {values.dtype}")
    return values, labels, formatted


def _weights_matrix(weights: Any, weights_format: Optional[str]) -> dlarray:
    """The (EmbeddingDimension, NumWords) matrix as an unformatted dlarray."""
    op = "embed"
    w = weights if isinstance(weights, dlarray) else dlarray(numeric(weights, op, "weights"))
    if format_given(weights_format):
        weights_format = format_labels(weights_format, op, "weights_format")
    fmt = w.fmt or weights_format or "CU"
    if w.fmt and weights_format and weights_format not in (w.fmt, w.fmt[::-1]):
        raise FormatError(f"{op}: weights are formatted '{w.fmt}' but weights_format='{weights_format}' was given")
    if w.ndim != 2 or fmt not in ("CU", "UC"):
        raise ShapeError(
            f"{op}: weights must be a 2-D (EmbeddingDimension, NumWords) matrix (format 'CU', or 'UC' for the transpose), "
            f"got shape {tuple(w.shape)}{f' with format {fmt!r}' if fmt else ''}"
        )
    w = stripdims(w) if w.fmt else w
    return w.T if fmt == "UC" else w


def embed(X: Any, weights: Any, *, data_format: Optional[str] = None, weights_format: Optional[str] = None) -> dlarray:
    """Embed integer indices: MATLAB's ``embed(X, weights)``, with **0-based** indices.

    ``X`` holds word indices in ``0..NumWords-1`` (a formatted dlarray such as ``"BT"``, or
    ``"CBT"`` with C of size 1; or unformatted / numpy with ``data_format=``). ``weights`` is
    MATLAB's ``(EmbeddingDimension, NumWords)`` matrix (``weights_format="UC"`` for the
    transpose). The output has a C dim of size EmbeddingDimension that replaces X's C dim or is
    added to X's dims: ``"BT"`` → ``"CBT"``. Decision: unformatted output puts the new C where
    X's C was, or otherwise after X's leading S dims (the canonical position).

    The lookup is one indexing of the weights, so the gradient is a scatter-add into the
    used columns (repeated indices accumulate) and it differentiates to any order (MATLAB
    cannot differentiate ``embed`` twice). Indices outside ``0..NumWords-1`` or not integer
    raise ``DlIndexError``.
    """
    op = "embed"
    values, labels, formatted = _index_layout(X, data_format)
    W = _weights_matrix(weights, weights_format)
    E, V = (int(s) for s in W.shape)
    c = labels.find("C")
    if c >= 0:
        if values.shape[c] != 1:
            raise ShapeError(f"{op}: the 'C' dim of the indices (format '{labels}', shape {values.shape}) must have size 1")
        values = np.squeeze(values, axis=c)
    rest = labels.replace("C", "")
    if values.size:
        if values.dtype.kind == "f" and not np.all(values == np.round(values)):
            raise DlIndexError(f"{op}: indices must be integers (0-based word indices), got non-integer values")
        lo, hi = values.min(), values.max()
        if lo < 0 or hi >= V:
            bad = lo if lo < 0 else hi
            raise DlIndexError(f"{op}: index {bad:g} is out of range for {V} words (indices are 0-based: 0..{V - 1})")
    flat = values.astype(np.intp).ravel()
    out = W[:, flat].reshape((E,) + tuple(values.shape))
    if formatted:
        return dlarray(out, "C" + rest)
    where = c if c >= 0 else len(labels) - len(labels.lstrip("S"))
    order = list(range(1, where + 1)) + [0] + list(range(where + 1, out.ndim))
    return out.transpose(tuple(order)) if where else out


accept_matlab_names(globals())
