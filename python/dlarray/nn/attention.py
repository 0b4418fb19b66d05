"""``attention``: MATLAB's multi-head scaled dot-product attention (R2022b), composed from
differentiable primitives (batched matmul, exp, sums), so it differentiates to any order.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from .. import _core, _random
from .._arguments import as_dlarray, flag, number
from .._core import FormatError, OptionError, ShapeError, dlarray, stripdims
from .._matlab_names import accept_matlab_names
from ._layout import layout_of, plain
from ._params import numeric

__all__ = ["attention"]

# Masked scores are replaced by this (not -inf), so a query whose every key is masked gets
# uniform weights instead of NaN; exp(-1e30 - max) is exactly 0 in float32 and float64.
_MASKED = -1e30


def _as_cbt(x: Any, data_format: Optional[str], name: str) -> Tuple[dlarray, bool]:
    """``x`` as unformatted (C, B, T) and whether it was formatted."""
    x = as_dlarray(x, "attention", name)
    layout = layout_of(x, data_format, "attention")
    bad = [c for c in layout.labels if c in "SU"]
    if bad:
        raise FormatError(
            f"attention: {name} with format '{layout.labels}' (shape {tuple(x.shape)}) has '{''.join(bad)}' dims; it takes C, B and T"
        )
    for c in "CT":
        if not layout.has(c):
            raise FormatError(f"attention: {name} with format '{layout.labels}' (shape {tuple(x.shape)}) has no '{c}' dimension")
    y = plain(x, layout)
    labels = layout.labels
    if "B" not in labels:
        y = y.reshape(tuple(y.shape) + (1,))
        labels += "B"
    perm = [labels.index(c) for c in "CBT"]
    return (y.transpose(perm) if perm != [0, 1, 2] else y), layout.formatted


def _mask_array(m: Any, name: str) -> np.ndarray:
    a = _core.extractdata(stripdims(m)) if isinstance(m, dlarray) else numeric(m, "attention", name, "biuf")
    return a != 0


def _attention_mask(mask: Any, Tk: int, Tq: int, B: int) -> Optional[np.ndarray]:
    """MATLAB's AttentionMask as a boolean (B|1, 1, Tq, Tk) "may attend" array."""
    if isinstance(mask, str):
        m = mask.lower()
        if m == "none":
            return None
        if m == "causal":
            # query j attends to keys i <= j (keys and queries aligned at the start)
            return (np.arange(Tk)[None, :] <= np.arange(Tq)[:, None])[None, None]
        raise OptionError(f"attention: attention_mask must be 'none', 'causal' or an array, got '{mask}'")
    a = _mask_array(mask, "attention_mask")
    if a.shape == (Tk, Tq):
        return a.T[None, None]
    if a.shape == (Tk, Tq, B):
        return a.transpose(2, 1, 0)[:, None]
    raise ShapeError(f"attention: attention_mask must have shape (numKeys, numQueries) = ({Tk}, {Tq}) or ({Tk}, {Tq}, {B}), got {a.shape}")


def _padding_mask(mask: Any, Tk: int, B: int) -> np.ndarray:
    """MATLAB's PaddingMask (nonzero = data, 0 = padding) as a boolean (B, 1, 1, Tk) array.
    Unformatted masks are in canonical order: (B, Tk), or (C or 1, B, Tk) like ``keys``."""
    if isinstance(mask, dlarray) and mask.fmt:
        f = mask.fmt
        a = _mask_array(mask, "padding_mask")
        if "T" not in f:
            raise FormatError(f"attention: padding_mask with format '{f}' has no 'T' dimension")
        labels = f
        for c in "CB":
            if c not in labels:
                a = a[..., None]
                labels += c
        a = a.transpose([labels.index(c) for c in "CBT"])
        if a.shape[0] != 1:  # a mask the size of keys: a key position is data if any channel is
            a = a.any(axis=0, keepdims=True)
        a = a[0]
    else:
        a = _mask_array(mask, "padding_mask")
        if a.ndim == 3:  # (C or 1, B, Tk), the layout of keys
            a = a.any(axis=0)
    if a.shape != (B, Tk):
        raise ShapeError(
            f"attention: padding_mask must cover (numObservations, numKeys) = ({B}, {Tk}) key positions, got shape {np.shape(a)}"
        )
    return a[:, None, None, :]


def attention(
    queries: Any,
    keys: Any,
    values: Any,
    num_heads: int,
    *,
    scale: Union[str, float] = "auto",
    padding_mask: Any = None,
    attention_mask: Any = "none",
    dropout_probability: float = 0.0,
    data_format: Optional[str] = None,
    return_weights: bool = False,
):
    """Multi-head scaled dot-product attention: MATLAB's
    ``[Y, weights] = attention(queries, keys, values, numHeads)``.

    ``queries`` (Cq, B, Tq), ``keys`` (Cq, B, Tk) and ``values`` (Cv, B, Tk) are formatted
    "CBT" (B optional), or unformatted with ``data_format=``. The channels split into
    ``num_heads`` contiguous blocks (head k uses channels k·d … (k+1)·d − 1). For each head,
    observation and query: ``softmax_keys(scale · q·k) · v``; the heads' outputs are stacked
    back along C, so ``Y`` is (Cv, B, Tq) with the queries' format. There is no projection.

    Options: ``scale`` "auto" (1/sqrt(Cq/num_heads)) or a number; ``attention_mask`` "none",
    "causal" (query j sees keys 0..j) or a (Tk, Tq) / (Tk, Tq, B) array, nonzero = may attend;
    ``padding_mask``: which key positions are data (nonzero) or padding (0), as a (B, Tk)
    array, an array the size of ``keys`` (C, B, Tk), or a formatted dlarray with T (and B) dims;
    ``dropout_probability``: inverted dropout on the attention weights (always applied when
    > 0, as MATLAB's functional op has no training switch).

    ``return_weights=True`` returns ``(Y, weights)``, the weights unformatted
    (Tk, Tq, num_heads, B) as MATLAB's.

    Decisions where MATLAB is unconfirmed: masked scores are set to −1e30 before the softmax,
    so a query with every key masked averages all values uniformly instead of giving NaN;
    the returned weights are those applied (after dropout).
    """
    op = "attention"
    if isinstance(num_heads, bool) or not isinstance(num_heads, (int, np.integer)) or num_heads < 1:
        raise OptionError(f"{op}: num_heads must be a positive integer, got {num_heads!r}")
    q, formatted = _as_cbt(queries, data_format, "queries")
    k, _ = _as_cbt(keys, data_format, "keys")
    v, _ = _as_cbt(values, data_format, "values")
    (Cq, B, Tq), (Ck, Bk, Tk), (Cv, Bv, Tv) = q.shape, k.shape, v.shape
    if Ck != Cq or Bk != B or Bv != B or Tv != Tk:
        raise ShapeError(
            f"{op}: keys must be (Cq, B, Tk) and values (Cv, B, Tk) for queries (Cq, B, Tq) = {tuple(q.shape)}; "
            f"got keys {tuple(k.shape)} and values {tuple(v.shape)} (in C, B, T order)"
        )
    if Cq % num_heads or Cv % num_heads:
        raise ShapeError(f"{op}: num_heads = {num_heads} must divide the channels of queries ({Cq}) and values ({Cv})")
    dq, dv = Cq // num_heads, Cv // num_heads
    if isinstance(scale, str):
        if scale.lower() != "auto":
            raise OptionError(f"{op}: scale must be 'auto' or a number, got '{scale}'")
        scale = 1.0 / np.sqrt(dq) if dq else 1.0
    scale = number(scale, "scale", op)
    p = number(dropout_probability, "dropout_probability", op, low=0.0, high=1.0)
    if p == 1.0:
        raise OptionError(f"{op}: dropout_probability must be in [0, 1), got {dropout_probability!r}")
    return_weights = flag(return_weights, "return_weights", op)

    # (C, B, T) -> (B, heads, T, d): head-major channel blocks.
    qh = q.reshape((num_heads, dq, B, Tq)).transpose((2, 0, 3, 1))
    kh = k.reshape((num_heads, dq, B, Tk)).transpose((2, 0, 3, 1))
    vh = v.reshape((num_heads, dv, B, Tk)).transpose((2, 0, 3, 1))
    scores = _core.pagemtimes(qh, kh, "none", "transpose") * float(scale)  # (B, heads, Tq, Tk)

    allow = _attention_mask(attention_mask, Tk, Tq, B)
    if padding_mask is not None:
        pad = _padding_mask(padding_mask, Tk, B)
        allow = pad if allow is None else (allow & pad)
    if allow is not None:
        allow = np.broadcast_to(allow, tuple(scores.shape))
        scores = _core.where(allow, scores, _MASKED)

    if scores.size == 0:
        # No keys (or no queries): no weights, and each query's output is an empty sum, 0.
        weights = scores * 0.0
    else:
        shifted = scores - scores.max(axis=3, keepdims=True)._detach()
        e = _core.exp(shifted)
        weights = e / e.sum(axis=3, keepdims=True)
    if p > 0:
        keep = _random.random(tuple(weights.shape)) >= p
        weights = weights * (keep.astype(weights.dtype) / (1.0 - p))

    out = weights @ vh  # (B, heads, Tq, dv)
    y = out.transpose((1, 3, 0, 2)).reshape((Cv, B, Tq))
    if formatted:
        y = dlarray(y, "CBT") if queries.fmt and "B" in queries.fmt else dlarray(y.reshape((Cv, Tq)), "CT")
    elif data_format is not None and "B" not in data_format.upper():
        y = y.reshape((Cv, Tq))
    if data_format is not None and not formatted:
        # back into data_format's dim order
        labels = "".join(c for c in data_format.upper() if c in "CBT")
        order = "CBT" if "B" in labels else "CT"
        perm = [order.index(c) for c in labels]
        if perm != list(range(len(perm))):
            y = y.transpose(perm)
    if return_weights:
        return y, weights.transpose((3, 2, 1, 0))
    return y


accept_matlab_names(globals())
