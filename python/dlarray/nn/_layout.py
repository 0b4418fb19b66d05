"""Where the S, C, B and T dims of a deep-learning op's input are, and moving them into the
layout the Rust kernels use — MATLAB's own (S1, ..., Sd, C, B) for convolution-like ops, so a
formatted input needs no copy — and back.

A formatted input names its own dims; an unformatted one needs ``data_format=`` and keeps its
layout: its output is unformatted and laid out in the order ``data_format`` gave (MATLAB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from .._arguments import show
from .._core import DTypeError, FormatError, dlarray, stripdims

_LABELS = set("SCBTU")
_MAX_DIMS = 32  # the core's limit on the number of dims


@dataclass(frozen=True)
class Layout:
    """The labels of an op input's dims, and whether the result gets a format."""

    labels: str  # one label per dim, in the array's own order
    formatted: bool  # True: x carried the format; outputs are formatted too

    def axes(self, label: str) -> List[int]:
        return [i for i, c in enumerate(self.labels) if c == label]

    def axis(self, label: str) -> Optional[int]:
        a = self.axes(label)
        return a[0] if a else None

    def has(self, label: str) -> bool:
        return label in self.labels

    @property
    def spatial(self) -> List[int]:
        return self.axes("S")


def format_given(value: Any) -> bool:
    """Whether a format option was given: None and "" mean "not given" (any other value,
    even a wrong one, is checked by ``format_labels``)."""
    return value is not None and not (isinstance(value, str) and value == "")


def format_labels(value: Any, op: str, name: str = "data_format", ndim: Optional[int] = None) -> str:
    """A format string given as an option (``data_format=``, ``weights_format=``...): labels
    S, C, B, T, U (any case; C, B and T at most once), at least ``ndim`` of them. Upper case."""
    if not isinstance(value, str):
        raise FormatError(f"{op}: {name} must be a string of the labels S, C, B, T and U, got {show(value)}")
    fmt = value.upper()
    bad = sorted({c for c in fmt if c not in _LABELS})
    if bad or not fmt:
        raise FormatError(f"{op}: invalid {name} '{value}': labels are S, C, B, T and U")
    for c in "CBT":
        if fmt.count(c) > 1:
            raise FormatError(f"{op}: {name} '{value}' has more than one '{c}' dimension")
    if len(fmt) > _MAX_DIMS:
        raise FormatError(f"{op}: {name} has {len(fmt)} labels; arrays have at most {_MAX_DIMS} dims")
    if ndim is not None and len(fmt) < ndim:
        raise FormatError(f"{op}: {name} '{value}' has {len(fmt)} labels but the input has {ndim} dims")
    return fmt


def layout_of(x: dlarray, data_format: Optional[str], op: str) -> Layout:
    """The layout of ``x``: its format, or ``data_format`` for an unformatted array (missing
    trailing dims count as singletons, as in MATLAB)."""
    if not isinstance(x, dlarray):
        raise DTypeError(f"{op}: expected a dlarray input, got {type(x).__name__}")
    if x.fmt:
        if format_given(data_format) and format_labels(data_format, op) != x.fmt:
            raise FormatError(f"{op}: data_format='{data_format}' given for an input already formatted '{x.fmt}'")
        return Layout(x.fmt, True)
    if not format_given(data_format):
        raise FormatError(f"{op}: the input (shape {x.shape}) is unformatted: give it a format or pass data_format=")
    fmt = format_labels(data_format, op)
    if len(fmt) < x.ndim:
        raise FormatError(f"{op}: data_format '{data_format}' has {len(fmt)} labels but the input has shape {x.shape}")
    return Layout(fmt, False)


def require(layout: Layout, labels: str, op: str, shape: Sequence[int]) -> None:
    """Raise a FormatError unless every label in ``labels`` is present."""
    missing = [c for c in labels if not layout.has(c)]
    if missing:
        raise FormatError(
            f"{op}: input with format '{layout.labels}' (shape {tuple(shape)}) has no '{''.join(missing)}' dimension"
        )


def plain(x: dlarray, layout: Layout) -> dlarray:
    """``x`` unformatted, padded with trailing singleton dims up to the layout's length."""
    y = stripdims(x) if x.fmt else x
    if y.ndim < len(layout.labels):
        y = y.reshape(tuple(y.shape) + (1,) * (len(layout.labels) - y.ndim))
    return y


def to_kernel_layout(
    x: dlarray, layout: Layout, op: str, spatial_axes: Optional[List[int]] = None
) -> Tuple[dlarray, List[int]]:
    """``x`` as (S1..Sd, C, B) — size-1 C or B inserted when absent — and the permutation
    used (for ``from_kernel_layout``). ``spatial_axes`` defaults to the S dims (a 1-D op over
    time passes the T dim); any other labelled dim is an error. A formatted input (S dims,
    then C, then B) is already in this layout and is not copied."""
    spatial = layout.axes("S") if spatial_axes is None else list(spatial_axes)
    extra = [c for i, c in enumerate(layout.labels) if c not in "CB" and i not in spatial]
    if extra:
        raise FormatError(f"{op}: unsupported '{''.join(extra)}' dimension in format '{layout.labels}'")
    y = plain(x, layout)
    labels = layout.labels
    if "C" not in labels:
        y = y.reshape(tuple(y.shape) + (1,))
        labels += "C"
    if not layout.has("B"):
        y = y.reshape(tuple(y.shape) + (1,))
        labels += "B"
    perm = spatial + [labels.index("C"), labels.index("B")]
    return (y if perm == sorted(perm) else y.transpose(perm)), perm


def from_kernel_layout(y: dlarray, perm: List[int], layout: Layout) -> dlarray:
    """Inverse of ``to_kernel_layout``: back to the input's layout (and format)."""
    if perm != sorted(perm):
        inv = [0] * len(perm)
        for i, p in enumerate(perm):
            inv[p] = i
        y = y.transpose(inv)
    n = len(layout.labels)
    if y.ndim > n:  # drop the inserted C / B
        y = y.reshape(tuple(y.shape[:n]))
    return dlarray(y, layout.labels) if layout.formatted else y


def restore(y: dlarray, layout: Layout) -> dlarray:
    """Give ``y`` (already in the input's dim order) the input's format, if it had one."""
    return dlarray(y, layout.labels) if layout.formatted else y
