"""What the loss functions share: reading the prediction's layout, bringing targets, weights
and masks into that layout, and MATLAB's reduction / normalisation options.

Every loss computes a per-element loss ``L`` on the prediction's *plain* (unformatted) data in
the prediction's own dim order, then ``finish`` multiplies in weights and mask and reduces.
All arithmetic is dlarray arithmetic, so the losses differentiate to any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np

from .._core import DTypeError, FormatError, OptionError, ShapeError, dlarray
from ._layout import format_given, format_labels, layout_of, plain
from ._params import numeric

NORMALIZATIONS = ("batch-size", "all-elements", "mask-included", "none")
REDUCTIONS = ("sum", "none")


@dataclass
class LossInput:
    """The prediction ``Y`` of a loss, ready for elementwise work."""

    y: dlarray  # unformatted, one dim per label (trailing singletons padded)
    labels: str  # a label per dim of ``y``; "U" for the non-class dims in class_dimension mode
    formatted: bool  # Y carried a format: reduction="none" gives that format back
    shape: Tuple[int, ...]  # Y's own shape (reduction="none" returns this shape)
    obs_axes: List[int]  # the observation dims ("batch-size" divides by their total size)

    @property
    def class_axis(self) -> Optional[int]:
        return self.labels.index("C") if "C" in self.labels else None

    @property
    def num_classes(self) -> int:
        c = self.class_axis
        return 1 if c is None else int(self.y.shape[c])

    def describe(self) -> str:
        return f"format '{self.labels}', shape {self.shape}" if self.formatted else f"shape {self.shape} (data_format '{self.labels}')"


def loss_input(op: str, Y: Any, data_format: Optional[str], class_dimension: Any = None) -> LossInput:
    """Read the layout of the prediction ``Y``.

    ``class_dimension`` (crossentropy only) is the Python shortcut for an unformatted ``Y``
    without ``data_format``: that dim holds the classes and every other dim counts as an
    observation dim.
    """
    if not isinstance(Y, dlarray):
        raise DTypeError(f"{op}: the predictions must be a dlarray, got {type(Y).__name__}")
    if class_dimension is not None:
        if Y.fmt or format_given(data_format):
            raise OptionError(
                f"{op}: class_dimension is for unformatted input without data_format; the input has format '{Y.fmt or data_format}'"
            )
        if isinstance(class_dimension, bool) or not isinstance(class_dimension, (int, np.integer)):
            raise OptionError(f"{op}: class_dimension must be a 0-based int, got {class_dimension!r}")
        k = int(class_dimension)
        if not 0 <= k < max(Y.ndim, 1):
            raise OptionError(f"{op}: class_dimension {k} is out of range for an input of shape {tuple(Y.shape)}")
        y = Y if Y.ndim else Y.reshape((1,))
        labels = "".join("C" if i == k else "U" for i in range(y.ndim))
        return LossInput(y, labels, False, tuple(Y.shape), [i for i in range(y.ndim) if i != k])
    layout = layout_of(Y, data_format, op)
    y = plain(Y, layout)
    return LossInput(y, layout.labels, layout.formatted, tuple(Y.shape), layout.axes("B"))


def _as_values(a: Any, dtype: Any, name: str, op: str) -> Any:
    """A dlarray of Y's dtype, or a numpy array of Y's dtype (numpy stays untraced)."""
    if isinstance(a, dlarray):
        if np.iscomplexobj(np.zeros((), a.dtype)):
            raise DTypeError(f"{op}: {name} must be real, got dtype {a.dtype}")
        return a if a.dtype == dtype else a.astype(dtype)
    return np.ascontiguousarray(numeric(a, op, name, kinds="biuf"), dtype=dtype)


def targets_like(op: str, T: Any, inp: LossInput, name: str = "targets") -> Any:
    """``T`` as values of exactly Y's plain shape: same format (when formatted) and same size,
    as MATLAB requires."""
    if isinstance(T, dlarray) and T.fmt:
        if T.fmt != inp.labels:
            raise FormatError(f"{op}: {name} have format '{T.fmt}' but the predictions have {inp.describe()}")
        t = plain(T, layout_of(T, None, op))
    else:
        t = T
    t = _as_values(t, inp.y.dtype, name, op)
    shape = tuple(t.shape)
    want = tuple(inp.y.shape)
    if shape != want:
        # Trailing singleton dims are implicit (MATLAB): (3,) matches a "CB" Y of shape (3, 1).
        padded = shape + (1,) * (len(want) - len(shape))
        if len(shape) > len(want) or padded != want:
            raise ShapeError(f"{op}: {name} of shape {shape} do not match the predictions ({inp.describe()}); they must have the same size")
        t = t.reshape(want)
    return t


def _align_formatted(a: Any, fmt: str, inp: LossInput, name: str, op: str) -> Any:
    """Labelled ``a`` moved onto Y's dims by label (k-th S to k-th S); missing dims become
    singleton."""
    fmt = format_labels(fmt, op, f"{name} format")
    if len(fmt) < a.ndim:
        raise FormatError(f"{op}: {name} format '{fmt}' has {len(fmt)} labels but {name} have shape {tuple(a.shape)}")
    if a.ndim < len(fmt):
        a = a.reshape(tuple(a.shape) + (1,) * (len(fmt) - a.ndim))
    src_axes: List[Optional[int]] = []
    seen = {}
    for lab in inp.labels:
        k = seen.get(lab, 0)
        seen[lab] = k + 1
        hits = [i for i, c in enumerate(fmt) if c == lab]
        src_axes.append(hits[k] if k < len(hits) else None)
    used = {i for i in src_axes if i is not None}
    stray = [fmt[i] for i in range(len(fmt)) if i not in used and a.shape[i] != 1]
    if stray:
        raise FormatError(f"{op}: {name} with format '{fmt}' have '{''.join(stray)}' dims the predictions ({inp.describe()}) do not have")
    keep = [i for i in src_axes if i is not None]
    # Drop the unused (singleton) dims, order the rest like Y, then insert singletons.
    squeeze_shape = [a.shape[i] for i in range(len(fmt)) if i in used]
    order_in_used = sorted(used)
    a = a.reshape(tuple(squeeze_shape))
    a = a.transpose(tuple(order_in_used.index(i) for i in keep))
    out_shape = tuple(a.shape[keep.index(i)] if i is not None else 1 for i in src_axes)
    return _check_broadcast(a.reshape(out_shape), inp, name, op, fmt)


def _check_broadcast(a: Any, inp: LossInput, name: str, op: str, fmt: str = "") -> Any:
    want = tuple(inp.y.shape)
    shape = tuple(a.shape)
    if len(shape) != len(want) or any(s not in (1, w) for s, w in zip(shape, want)):
        what = f"format '{fmt}', shape" if fmt else "shape"
        raise ShapeError(f"{op}: {name} ({what} {shape}) cannot be expanded to the predictions ({inp.describe()})")
    # Row-major numpy data: a permuted view must not reach the core as a strided array.
    return np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a


def aux_like(op: str, A: Any, name: str, inp: LossInput, fmt: Optional[str] = None) -> Any:
    """``weights`` or ``mask`` as values that broadcast against Y's plain data.

    * formatted dlarray, or ``fmt`` given (``weights_format``): aligned by label;
    * unformatted with Y's number of dims: MATLAB's implicit expansion, dim by dim;
    * a vector: per class when its length is the size of C, otherwise per observation when
      it is the size of B (C wins when both sizes are equal; pass a format to choose);
    * otherwise: trailing singleton dims are added (MATLAB) and the sizes must expand.
    """
    vals = _as_values(A, inp.y.dtype, name, op)
    own_fmt = A.fmt if isinstance(A, dlarray) and A.fmt else None
    fmt = format_labels(fmt, op, f"{name}_format") if format_given(fmt) else None
    if own_fmt and fmt and fmt != own_fmt:
        raise FormatError(f"{op}: {name} are formatted '{own_fmt}' but {name}_format='{fmt}' was given")
    fmt = own_fmt or fmt
    if fmt:
        if isinstance(vals, dlarray) and vals.fmt:
            vals = plain(vals, layout_of(vals, None, op))
        return _align_formatted(vals, fmt, inp, name, op)
    want = tuple(inp.y.shape)
    shape = tuple(vals.shape)
    if len(shape) == len(want) and len(shape) >= 2 and all(s in (1, w) for s, w in zip(shape, want)):
        return vals
    big = [s for s in shape if s != 1]
    n = int(np.prod(shape)) if shape else 1
    if n > 1 and len(big) == 1:
        for lab in "CB":
            axes = [i for i in ([inp.class_axis] if lab == "C" else inp.obs_axes) if i is not None]
            if len(axes) == 1 and want[axes[0]] == n:
                target = tuple(n if i == axes[0] else 1 for i in range(len(want)))
                return vals.reshape(target)
    if len(shape) <= len(want):
        return _check_broadcast(vals.reshape(shape + (1,) * (len(want) - len(shape))), inp, name, op)
    raise ShapeError(f"{op}: {name} of shape {shape} do not match the predictions ({inp.describe()}); give {name} a format")


def _count(values: np.ndarray, inp: LossInput, per_class: bool) -> float:
    """The number of loss terms in ``values``'s nonzero entries; a single-label prediction over
    C classes counts once per position, not once per class."""
    n = float(np.count_nonzero(values))
    return n / inp.num_classes if per_class and inp.num_classes else n


def finish(op: str, L: dlarray, inp: LossInput, weights: Any, mask: Any, reduction: str, normalization: str, per_class: bool) -> dlarray:
    """Weight, mask and reduce the per-element loss ``L`` (Y's plain shape).

    ``per_class``: one loss term is spread over the C dim (single-label cross-entropy), so
    element counts are divided by the number of classes.
    """
    if weights is not None:
        L = L * weights
    if mask is not None:
        L = L * mask
    if reduction == "none":
        out = L.reshape(inp.shape) if tuple(L.shape) != inp.shape else L
        return dlarray(out, inp.labels) if inp.formatted else out
    total = L.sum()
    if normalization == "none":
        return total
    if normalization == "batch-size":
        n = float(np.prod([inp.y.shape[i] for i in inp.obs_axes])) if inp.obs_axes else 1.0
    elif normalization == "all-elements":
        n = _count(np.ones(inp.y.shape, dtype=bool), inp, per_class)
    else:  # mask-included: each observation by its own count of included elements
        if mask is None:
            raise OptionError(f"{op}: normalization_factor='mask-included' needs a mask")
        m = np.broadcast_to(np.asarray(mask) != 0, inp.y.shape)
        other = tuple(i for i in range(m.ndim) if i not in inp.obs_axes)
        counts = np.count_nonzero(m, axis=other, keepdims=True).astype(np.float64)
        counts = counts / inp.num_classes if per_class else counts
        n_obs = float(np.prod([inp.y.shape[i] for i in inp.obs_axes])) if inp.obs_axes else 1.0
        # An observation with nothing included contributes 0 (its masked loss is 0).
        scale = (1.0 / (np.where(counts > 0, counts, 1.0) * max(n_obs, 1.0))).astype(inp.y.dtype)
        return (L * scale).sum()
    return total * (1.0 / max(n, 1.0))
