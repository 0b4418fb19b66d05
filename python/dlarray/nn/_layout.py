"""Where the S, C, B and T dims of a deep-learning op's input are, for the ops composed in
Python. The rules are the core's (``rust/core/src/dl_ops/layout.rs``): ``layout_of`` asks it;
convolution, pooling and fullyconnect take the formatted array in one core call instead.

A formatted input names its own dims; an unformatted one needs ``data_format=`` and keeps its
layout: its output is unformatted and laid out in the order ``data_format`` gave (MATLAB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

from .. import _core
from .._arguments import show
from .._core import DTypeError, FormatError, dlarray, stripdims


@dataclass(frozen=True)
class Layout:
    """The labels of an op input's dims, and whether the result gets a format."""

    labels: str  # one label per dim, in the array's own order
    formatted: bool  # True: x carried the format; outputs are formatted too
    # The input the layout was read from, and its data unformatted with trailing singleton dims
    # up to the layout's length (the core returns both with the labels: one call).
    source: Optional[dlarray] = field(default=None, compare=False, repr=False)
    data: Optional[dlarray] = field(default=None, compare=False, repr=False)

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
    if not value:
        raise FormatError(f"{op}: invalid {name} '': labels are S, C, B, T and U")
    fmt = _core._format_option(value, op, name)
    if ndim is not None and len(fmt) < ndim:
        raise FormatError(f"{op}: {name} '{value}' has {len(fmt)} labels but the input has {ndim} dims")
    return fmt


def dl_input(x: Any, data_format: Any, op: str) -> None:
    """Checks the types the core's deep-learning ops take: a dlarray input, and a format
    option that is None or a string (its labels are checked by the core)."""
    if not isinstance(x, dlarray):
        raise DTypeError(f"{op}: expected a dlarray input, got {type(x).__name__}")
    if data_format is not None and not isinstance(data_format, str):
        raise FormatError(f"{op}: data_format must be a string of the labels S, C, B, T and U, got {show(data_format)}")


def layout_of(x: dlarray, data_format: Optional[str], op: str) -> Layout:
    """The layout of ``x``: its format, or ``data_format`` for an unformatted array (missing
    trailing dims count as singletons, as in MATLAB). The rule is the core's
    (``dl_ops/layout.rs``)."""
    dl_input(x, data_format, op)
    labels, formatted, data = _core._op_layout(x, data_format, op)
    return Layout(labels, formatted, x, data)


def require(layout: Layout, labels: str, op: str, shape: Sequence[int]) -> None:
    """Raise a FormatError unless every label in ``labels`` is present."""
    missing = [c for c in labels if not layout.has(c)]
    if missing:
        raise FormatError(f"{op}: input with format '{layout.labels}' (shape {tuple(shape)}) has no '{''.join(missing)}' dimension")


def plain(x: dlarray, layout: Layout) -> dlarray:
    """``x`` unformatted, padded with trailing singleton dims up to the layout's length."""
    if x is layout.source and layout.data is not None:
        return layout.data
    y = stripdims(x) if x.fmt else x
    if y.ndim < len(layout.labels):
        y = y.reshape(tuple(y.shape) + (1,) * (len(layout.labels) - y.ndim))
    return y


def restore(y: dlarray, layout: Layout) -> dlarray:
    """Give ``y`` (already in the input's dim order) the input's format, if it had one."""
    return dlarray(y, layout.labels) if layout.formatted else y
