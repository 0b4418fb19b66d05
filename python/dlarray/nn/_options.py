"""Parsing MATLAB-style window options shared by convolution and pooling: per-dim values,
padding as a number / per-dim sizes / a (2, d) before-after matrix / "same".

Each check raises ``OptionError`` naming the op and the option and showing the value given,
so a wrong type (a string stride, a ragged padding list) never reaches numpy or the core.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import numpy as np

from .._arguments import int_values, show
from .._core import OptionError


def per_dim(value: Any, d: int, name: str, op: str, minimum: int = 1) -> List[int]:
    """A scalar or a length-d sequence as d ints, each at least ``minimum``."""
    vals = int_values(value, name, op)
    if len(vals) not in (1, d):
        raise OptionError(f"{op}: {name} must be an integer or {d} integers, got {show(value)}")
    if any(v < minimum for v in vals):
        raise OptionError(f"{op}: {name} must be at least {minimum}, got {show(value)}")
    return vals * d if len(vals) == 1 else vals


def same_padding(in_sizes: Sequence[int], eff_kernel: Sequence[int], stride: Sequence[int]) -> Tuple[List[int], List[int]]:
    """MATLAB's "same": output size ceil(I / stride); an odd total puts the extra element
    after (bottom/right)."""
    before, after = [], []
    for i, k, s in zip(in_sizes, eff_kernel, stride):
        total = max((-(-i // s) - 1) * s + k - i, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before, after


def padding_pairs(
    padding: Any, d: int, in_sizes: Sequence[int], eff_kernel: Sequence[int], stride: Sequence[int], op: str, name: str = "padding"
) -> Tuple[List[int], List[int]]:
    """(before, after) per spatial dim from MATLAB's padding forms: a number (all sides), d
    numbers (both sides of each dim), a (2, d) matrix (row 0 before, row 1 after), the layers'
    2·d vector ([t b l r] for 2-D), or "same"."""
    if isinstance(padding, str):
        if padding.lower() != "same":
            raise OptionError(f"{op}: {name} must be a number, per-dim sizes, a (2, {d}) array or 'same', got '{padding}'")
        return same_padding(in_sizes, eff_kernel, stride)
    try:
        arr = np.asarray(padding) if not isinstance(padding, (bytes, dict)) and padding is not None else None
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise OptionError(f"{op}: {name} must be a number, per-dim sizes, a (2, {d}) array or 'same', got {show(padding)}")
    if arr.ndim == 2:
        if arr.shape != (2, d):
            raise OptionError(f"{op}: a {name} matrix must have shape (2, {d}) (before; after), got {arr.shape}")
        before = per_dim(arr[0], d, name, op, minimum=0)
        after = per_dim(arr[1], d, name, op, minimum=0)
        return before, after
    if arr.ndim == 1 and d > 1 and arr.size == 2 * d:
        # The layers' vector form: [t b l r] for 2-D, i.e. (before, after) per dim in turn.
        pairs = per_dim(arr, 2 * d, name, op, minimum=0)
        return pairs[0::2], pairs[1::2]
    vals = per_dim(arr, d, name, op, minimum=0)
    return vals, list(vals)
