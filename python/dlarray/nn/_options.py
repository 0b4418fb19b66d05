"""Parsing MATLAB-style window options shared by convolution and pooling into plain Python
values the core takes: per-dim values as lists of ints, padding as ``"same"``, a list of
sizes (one, one per dim, or the layers' [before after ...] vector) or a (before, after)
pair of lists (a (2, d) matrix's rows). The core (``dl_ops/window.rs``) checks the counts
against the number of window dims and resolves "same".

Each check raises ``OptionError`` naming the op and the option and showing the value given,
so a wrong type (a string stride, a ragged padding list) never reaches numpy or the core.
"""

from __future__ import annotations

from typing import Any, List, Tuple, Union

import numpy as np

from .._arguments import int_values, show
from .._core import OptionError

PaddingOption = Union[str, List[int], Tuple[List[int], List[int]]]


def window_values(value: Any, name: str, op: str) -> List[int]:
    """A scalar or a sequence of integers (one or one per window dim) as a list of ints."""
    return int_values(value, name, op)


def padding_option(padding: Any, op: str, name: str = "padding") -> PaddingOption:
    """MATLAB's padding forms: a number (all sides), per-dim sizes, a (2, d) matrix (row 0
    before, row 1 after), the layers' 2·d vector ([t b l r] for 2-D), or "same"."""
    forms = "a number, per-dim sizes, a (2, d) array or 'same'"
    if isinstance(padding, str):
        if padding.lower() != "same":
            raise OptionError(f"{op}: {name} must be {forms}, got '{padding}'")
        return "same"
    try:
        arr = np.asarray(padding) if not isinstance(padding, (bytes, dict)) and padding is not None else None
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise OptionError(f"{op}: {name} must be {forms}, got {show(padding)}")
    if arr.ndim == 2:
        if arr.shape[0] != 2:
            raise OptionError(f"{op}: a {name} matrix must have shape (2, d) (before; after), got {arr.shape}")
        return int_values(arr[0], name, op), int_values(arr[1], name, op)
    return int_values(arr, name, op)
