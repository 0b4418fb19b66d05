"""One-hot encoding and decoding of class labels: MATLAB's ``onehotencode`` and
``onehotdecode`` with 0-based class indices (design.md §2).

Labels are data, not learnables, so both work on numpy values and return numpy arrays
(``onehotencode`` returns a dlarray when given one, so its result can be a target directly).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .._arguments import MAX_SIZE, flag, integer, show
from .._core import DlIndexError, DTypeError, FormatError, OptionError, OutOfMemoryError, ShapeError, dlarray, extractdata
from .._matlab_names import accept_matlab_names
from ._params import numeric

__all__ = ["onehotencode", "onehotdecode"]


def _feature_axis(op: str, feature_dim: Any, fmt: str, ndim: int, extra: int) -> int:
    """``feature_dim`` as a 0-based position; ``"C"`` names the C dim of a formatted array
    (``extra`` = 1 when the axis may be one past the last dim: a new dim)."""
    if isinstance(feature_dim, str):
        if feature_dim.upper() != "C" or not fmt:
            allowed = "a 0-based int or 'C'" if fmt else "a 0-based int ('C' needs a formatted dlarray)"
            raise OptionError(f"{op}: feature_dim must be {allowed}, got {feature_dim!r}")
        return fmt.index("C") if "C" in fmt else -1
    if isinstance(feature_dim, bool) or not isinstance(feature_dim, (int, np.integer)):
        raise OptionError(f"{op}: feature_dim must be a 0-based int, got {feature_dim!r}")
    k = int(feature_dim)
    if not 0 <= k < ndim + extra:
        raise OptionError(f"{op}: feature_dim {k} is out of range for an array with {ndim} dims")
    if fmt and k < len(fmt) and fmt[k] != "C":
        raise FormatError(f"{op}: feature_dim {k} is the '{fmt[k]}' dim of format '{fmt}'; the classes of a formatted array lie along 'C'")
    return k


def _class_names(op: str, class_names: Any) -> np.ndarray:
    """``class_names`` as a 1-D numpy array (strings or numbers)."""
    if isinstance(class_names, (str, bytes)):
        raise OptionError(f"{op}: class_names must be a sequence of names, got the string {show(class_names)}")
    try:
        names = np.asarray(class_names)
    except (ValueError, TypeError):
        names = np.asarray(None)
    if names.ndim != 1:
        raise OptionError(f"{op}: class_names must be a 1-D sequence, got {show(class_names)}")
    return names


def _class_positions(op: str, values: np.ndarray, class_names: Optional[Sequence[Any]], num_classes: Optional[int]):
    """(0-based class index per label with -1 for undefined, number of classes)."""
    if num_classes is not None:
        num_classes = integer(num_classes, "num_classes", op)
    if class_names is not None:
        names = _class_names(op, class_names)
        if names.size == 0:
            raise OptionError(f"{op}: class_names must be a non-empty 1-D sequence, got {show(class_names)}")
        if num_classes is not None and num_classes != names.size:
            raise OptionError(f"{op}: num_classes={num_classes} disagrees with {names.size} class_names")
        idx = np.full(values.shape, -1, dtype=np.int64)
        for k, name in enumerate(names):
            idx[(values == name) & (idx < 0)] = k
        return idx, names.size
    if values.dtype.kind in "US":  # strings without class names: the sorted distinct labels
        names = np.unique(values)
        return np.searchsorted(names, values).astype(np.int64), names.size
    if values.dtype.kind not in "biuf":
        raise DTypeError(f"{op}: labels must be integer class indices or strings, got dtype {values.dtype}")
    undefined = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
    defined = values[~undefined]
    if defined.size and not np.all(defined == np.round(defined)):
        raise DlIndexError(f"{op}: labels must be integer class indices (0-based), got non-integer values")
    if defined.size and defined.min() < 0:
        raise DlIndexError(f"{op}: label {defined.min():g} is negative; class indices are 0-based")
    if num_classes is None:
        num_classes = int(defined.max()) + 1 if defined.size else 0
    if num_classes < 1:
        raise OptionError(f"{op}: num_classes must be at least 1 (pass num_classes= for empty or all-undefined labels)")
    if defined.size and defined.max() >= num_classes:
        raise DlIndexError(f"{op}: label {defined.max():g} is out of range for {num_classes} classes (0-based: 0..{num_classes - 1})")
    idx = np.where(undefined, -1, np.nan_to_num(values)).astype(np.int64)
    return idx, num_classes


def onehotencode(
    labels: Any,
    feature_dim: Any,
    dtype: Any = "float32",
    *,
    class_names: Optional[Sequence[Any]] = None,
    num_classes: Optional[int] = None,
) -> Any:
    """One-hot encode ``labels`` along ``feature_dim``: MATLAB's
    ``onehotencode(A, featureDim, typename, ClassNames=...)``.

    ``labels`` are 0-based integer class indices (numpy, list or dlarray), any values
    matched against ``class_names`` (strings, numbers), or a :class:`~dlarray.categorical`
    (its categories are the classes, in their order). ``num_classes`` defaults to
    ``len(class_names)``, else to the largest index + 1; strings without ``class_names`` use
    their sorted distinct values as the classes.

    ``feature_dim`` (0-based) is where the classes go: a size-1 dim there is replaced (as in
    MATLAB, where ``size(A, featureDim)`` is 1), otherwise a new dim is inserted there, so
    ``onehotencode(labels_N, 0)`` gives the ``(K, N)`` targets of a ``"CB"`` network. For a
    formatted dlarray (e.g. ``"B"`` or ``"CB"`` with C of size 1) use ``"C"``: the result is a
    dlarray with a C dim of size K (formats stay canonical).

    Labels not among the classes (or NaN) encode as a slice of NaN, as MATLAB's undefined
    categories do. Decisions: the default ``dtype`` is float32 (MATLAB: "double"), the dtype
    of deep-learning data here; MATLAB's typename is the third positional argument.
    """
    op = "onehotencode"
    from ..data.categorical import categorical

    if isinstance(labels, categorical):
        # The categories' order is the class order; undefined labels encode as NaN.
        if class_names is None:
            class_names, num_classes = labels.categories, None
        labels = np.asarray(labels)
    fmt = labels.fmt if isinstance(labels, dlarray) else ""
    values = np.asarray(extractdata(labels)) if isinstance(labels, dlarray) else numeric(labels, op, "labels", "biufUSO")
    try:
        out_dtype = np.dtype(dtype)
    except (TypeError, ValueError):
        raise OptionError(f"{op}: dtype must be a numpy floating dtype, got {dtype!r}") from None
    if out_dtype.kind != "f":
        raise OptionError(f"{op}: dtype must be a floating dtype (undefined labels encode as NaN), got {out_dtype}")
    k = _feature_axis(op, feature_dim, fmt, values.ndim, 0 if fmt else 1)
    idx, K = _class_positions(op, values, class_names, num_classes)
    try:
        if values.size * K * out_dtype.itemsize > MAX_SIZE:  # more bytes than numpy can address
            raise MemoryError
        encoded = (idx[..., None] == np.arange(K)).astype(out_dtype)
    except MemoryError:
        raise OutOfMemoryError(f"{op}: cannot allocate the encoding of {values.size} labels into {K} classes") from None
    encoded[idx < 0] = np.nan
    if fmt:
        if "C" in fmt:
            if values.shape[k] != 1:
                raise ShapeError(f"{op}: the 'C' dim of labels with format '{fmt}' has size {values.shape[k]}; it must be 1")
            encoded = np.squeeze(encoded, axis=k)
            return dlarray(encoded, fmt.replace("C", "") + "C")
        return dlarray(encoded, fmt + "C")
    if k < values.ndim and values.shape[k] == 1:
        encoded = np.squeeze(encoded, axis=k)
    out = np.moveaxis(encoded, -1, k)
    return dlarray(out) if isinstance(labels, dlarray) else out


def onehotdecode(B: Any, class_names: Optional[Sequence[Any]], feature_dim: Any, *, keepdims: bool = False) -> np.ndarray:
    """Decode one-hot (or score) data ``B`` along ``feature_dim``: MATLAB's
    ``onehotdecode(B, classes, featureDim)``.

    Returns the 0-based index of the largest entry of each slice (``class_names=None``), or
    the matching element of ``class_names``; ties go to the first class, as in MATLAB. A slice
    containing NaN (an undefined label from ``onehotencode``) decodes to -1, or None among
    class names. ``B`` is a numpy array or a dlarray (formatted: ``feature_dim="C"``).

    Decision: the decoded dim is removed, numpy style (MATLAB keeps it with size 1);
    ``keepdims=True`` keeps it. The result is a numpy array (labels carry no gradient).
    """
    op = "onehotdecode"
    fmt = B.fmt if isinstance(B, dlarray) else ""
    keepdims = flag(keepdims, "keepdims", op)
    values = np.asarray(extractdata(B)) if isinstance(B, dlarray) else numeric(B, op, "B", "biuf")
    if values.dtype.kind not in "biuf":
        raise DTypeError(f"{op}: B must be real, got dtype {values.dtype}")
    if values.ndim == 0:
        raise ShapeError(f"{op}: B must have at least one dim, got a scalar")
    k = _feature_axis(op, feature_dim, fmt, values.ndim, 0)
    if k < 0:
        raise FormatError(f"{op}: B with format '{fmt}' has no 'C' dim to decode")
    K = values.shape[k]
    if K == 0:
        raise ShapeError(f"{op}: B of shape {values.shape} has no classes along dim {k}")
    names = None if class_names is None else _class_names(op, class_names)
    if names is not None and names.size != K:
        raise ShapeError(f"{op}: {names.size} class_names given but B has {K} classes along dim {k} (shape {values.shape})")
    undefined = np.isnan(values).any(axis=k, keepdims=keepdims) if values.dtype.kind == "f" else None
    idx = np.argmax(np.nan_to_num(values, nan=-np.inf) if undefined is not None else values, axis=k, keepdims=keepdims)
    if undefined is not None:
        idx = np.where(undefined, -1, idx)
    if names is None:
        return idx
    if undefined is not None and undefined.any():
        out = names.astype(object)[np.maximum(idx, 0)]
        out[idx < 0] = None
        return out
    return names[idx]


accept_matlab_names(globals())
