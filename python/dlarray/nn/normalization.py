"""Normalisation ops: ``batchnorm``, ``layernorm``, ``groupnorm``, ``instancenorm`` and
``crosschannelnorm`` with MATLAB's signatures, defaults and per-channel parameters.

Each op finds the C (and B, S, T) dims from the input's format or ``data_format=``, keeps the
input's layout, and returns the input's format. Per-channel ``offset`` and ``scale`` are 1-D
of length C or MATLAB's (C, 1). The formulas are written with differentiable core ops, so
every op differentiates to any order; batch normalisation with batch statistics, and the
standardisation inside layer, group and instance normalisation, run as fused Rust ops whose
first-order backward is a fused kernel (see ``_batch_normalize`` and ``_standardize``).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._arguments import MAX_SIZE, choice, flag, number
from .._core import OptionError, ShapeError, dlarray
from .._matlab_names import accept_matlab_names
from ._layout import Layout, layout_of, plain, require
from ._params import along_axis, channel_param, in_shape

__all__ = ["batchnorm", "layernorm", "groupnorm", "instancenorm", "crosschannelnorm"]


# ----- shared pieces ---------------------------------------------------------------------------


def _prepare(X: dlarray, data_format: Optional[str], op: str) -> Tuple[Layout, dlarray, int]:
    layout = layout_of(X, data_format, op)
    require(layout, "C", op, X.shape)
    x = plain(X, layout)
    if np.iscomplexobj(np.zeros(0, x.dtype)):
        raise _core.DTypeError(f"{op}: complex input (shape {tuple(X.shape)}) is not supported")
    return layout, x, layout.axis("C")


def _finish(y: dlarray, X: dlarray, layout: Layout) -> dlarray:
    if layout.formatted:
        return dlarray(y, layout.labels)
    return y.reshape(tuple(X.shape)) if tuple(y.shape) != tuple(X.shape) else y


def _check_epsilon(epsilon: Any, op: str) -> float:
    return number(epsilon, "epsilon", op, positive=True)


def _standardize(x: dlarray, axes: Sequence[int], epsilon: float) -> dlarray:
    """``(x - mean) / sqrt(var + epsilon)`` over ``axes`` (biased variance)."""
    axes = tuple(axes)
    # No axes: each element is its own group. No elements: nothing to normalise, and the
    # statistics (as many as the other dims hold, possibly a huge number) are never needed.
    if not axes or x.size == 0:
        return x - x
    if x.dtype in (np.float32, np.float64):
        # One fused core op: two reads and a write forward, a fused first-order backward.
        return _core._standardize(x, list(axes), float(epsilon))
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    return xc * (var + epsilon) ** -0.5


def _affine(xhat: dlarray, x: dlarray, offset: Any, scale: Any, c: int, op: str) -> dlarray:
    n_c = x.shape[c]
    off, _ = channel_param(offset, x, n_c, op, "offset")
    sc, _ = channel_param(scale, x, n_c, op, "scale")
    return xhat * along_axis(sc, c, x.ndim) + along_axis(off, c, x.ndim)


def _axes_except(ndim: int, keep: Sequence[Optional[int]]) -> List[int]:
    return [a for a in range(ndim) if a not in keep]


# ----- batchnorm -------------------------------------------------------------------------------


def _batch_normalize(x: dlarray, c: int, off: dlarray, sc: dlarray, epsilon: float) -> Tuple[dlarray, dlarray, dlarray]:
    """Normalise with the batch statistics: ``(Y, mean, var)``, mean/var 1-D of length C
    (biased variance). The fused core op computes all three in two passes over ``x``."""
    fused = getattr(_core, "_batchnorm_train", None)
    if fused is not None and off.dtype == x.dtype and sc.dtype == x.dtype:
        return fused(x, off, sc, c, epsilon)
    # Mixed dtypes (e.g. float64 dlarray parameters with float32 data) promote as numpy does.
    axes = tuple(_axes_except(x.ndim, [c]))
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    factor = (var + epsilon) ** -0.5 * along_axis(sc, c, x.ndim)
    y = xc * factor + along_axis(off, c, x.ndim)
    n_c = x.shape[c]
    return y, mu.reshape(n_c), var.reshape(n_c)


def batchnorm(
    X: dlarray,
    offset: Any,
    scale: Any,
    running_mean: Any = None,
    running_var: Any = None,
    *,
    training: bool = False,
    epsilon: float = 1e-5,
    mean_decay: float = 0.1,
    variance_decay: float = 0.1,
    data_format: Optional[str] = None,
) -> Union[dlarray, Tuple[dlarray, dlarray, dlarray]]:
    """MATLAB's ``batchnorm``: normalise each channel over every other dim (S, B, T, U),
    ``Y = scale * (X - mu) / sqrt(sigmaSq + epsilon) + offset``.

    * ``batchnorm(X, offset, scale)`` → ``Y`` with the batch statistics.
    * ``batchnorm(X, offset, scale, training=True)`` → ``(Y, mu, sigmaSq)``: the batch mean
      and (biased) variance (MATLAB's three-output call without statistics), shaped like
      ``offset``.
    * ``batchnorm(X, offset, scale, running_mean, running_var, training=True)`` →
      ``(Y, new_mean, new_var)``: ``Y`` uses the batch statistics and
      ``new = (1 - decay) * old + decay * batch_stat`` (MATLAB's ``MeanDecay`` /
      ``VarianceDecay``, default 0.1: the weight of the new value).
    * ``batchnorm(X, offset, scale, trained_mean, trained_var)`` → ``Y`` normalised with the
      given statistics (inference).

    Decision (MATLAB unconfirmed): the running variance is updated with the **unbiased**
    batch variance ``M/(M-1) * sigmaSq`` (M = elements per channel; as PyTorch, so running
    statistics agree across the two), while ``Y`` and the returned ``sigmaSq`` use the biased
    one (MATLAB's documented formula). With M = 1 the biased value is used.

    Per-channel arguments are 1-D of length C or (C, 1); the statistics are returned in the
    shape the running statistics (or ``offset``) were given in. ``epsilon`` defaults to 1e-5.
    """
    op = "batchnorm"
    layout, x, c = _prepare(X, data_format, op)
    epsilon = _check_epsilon(epsilon, op)
    n_c = x.shape[c]
    off, off_shape = channel_param(offset, x, n_c, op, "offset")
    sc, _ = channel_param(scale, x, n_c, op, "scale")
    if (running_mean is None) != (running_var is None):
        raise OptionError(f"{op}: give both running_mean and running_var, or neither")
    training = flag(training, "training", op)
    mean_decay = number(mean_decay, "mean_decay", op, low=0.0, high=1.0)
    variance_decay = number(variance_decay, "variance_decay", op, low=0.0, high=1.0)

    if running_mean is not None and not training:
        mean, _ = channel_param(running_mean, x, n_c, op, "trained_mean")
        var, _ = channel_param(running_var, x, n_c, op, "trained_var")
        factor = (var + epsilon) ** -0.5 * sc
        y = (x - along_axis(mean, c, x.ndim)) * along_axis(factor, c, x.ndim) + along_axis(off, c, x.ndim)
        return _finish(y, X, layout)

    y, mu, sigma_sq = _batch_normalize(x, c, off, sc, epsilon)
    Y = _finish(y, X, layout)
    if not training:
        return Y
    if running_mean is None:
        return Y, in_shape(mu, off_shape), in_shape(sigma_sq, off_shape)
    old_mean, mean_shape = channel_param(running_mean, x, n_c, op, "running_mean")
    old_var, var_shape = channel_param(running_var, x, n_c, op, "running_var")
    m = x.size // n_c if n_c else 0
    unbiased = sigma_sq * (m / (m - 1)) if m > 1 else sigma_sq
    new_mean = old_mean * (1.0 - mean_decay) + mu * float(mean_decay)
    new_var = old_var * (1.0 - variance_decay) + unbiased * float(variance_decay)
    return Y, in_shape(new_mean, mean_shape), in_shape(new_var, var_shape)


# ----- layernorm, groupnorm, instancenorm --------------------------------------------------------

_LAYERNORM_DIMS = ("auto", "channel-only", "spatial-channel", "batch-excluded")


def layernorm(
    X: dlarray,
    offset: Any,
    scale: Any,
    *,
    epsilon: float = 1e-5,
    operation_dimension: str = "auto",
    data_format: Optional[str] = None,
) -> dlarray:
    """MATLAB's ``layernorm``: normalise each observation (and, without "batch-excluded",
    each time step) over:

    * ``"channel-only"``: C;
    * ``"spatial-channel"``: S and C;
    * ``"batch-excluded"``: every dim except B;
    * ``"auto"`` (default): "spatial-channel" when the input has S dims, otherwise
      "channel-only" (so "CB"/"CBT" data normalise over C, images over S and C).

    ``offset`` and ``scale`` are per channel. Decision (MATLAB's exact "auto" rule and U
    handling unconfirmed): U dims are normalised only by "batch-excluded".
    """
    op = "layernorm"
    layout, x, c = _prepare(X, data_format, op)
    epsilon = _check_epsilon(epsilon, op)
    mode = choice(operation_dimension, _LAYERNORM_DIMS, "operation_dimension", op)
    if mode == "auto":
        mode = "spatial-channel" if layout.has("S") else "channel-only"
    if mode == "channel-only":
        axes = [c]
    elif mode == "spatial-channel":
        axes = sorted(layout.spatial + [c])
    else:
        axes = _axes_except(x.ndim, [layout.axis("B")])
    y = _affine(_standardize(x, axes, epsilon), x, offset, scale, c, op)
    return _finish(y, X, layout)


def groupnorm(
    X: dlarray,
    num_groups: Union[int, str],
    offset: Any,
    scale: Any,
    *,
    epsilon: float = 1e-5,
    data_format: Optional[str] = None,
) -> dlarray:
    """MATLAB's ``groupnorm``: split the C channels into ``num_groups`` groups of consecutive
    channels and normalise each group of each observation over its channels and every S, T
    and U dim. ``num_groups`` is a positive integer dividing C, ``"all-channels"`` (one group)
    or ``"channel-wise"`` (one group per channel). ``offset``/``scale`` are per channel.
    """
    op = "groupnorm"
    layout, x, c = _prepare(X, data_format, op)
    epsilon = _check_epsilon(epsilon, op)
    n_c = x.shape[c]
    if isinstance(num_groups, str):
        key = choice(num_groups, ("all-channels", "channel-wise"), "num_groups", op)
        # Zero channels make one (empty) group either way.
        g = 1 if key == "all-channels" else max(n_c, 1)
    elif isinstance(num_groups, (int, np.integer)) and not isinstance(num_groups, (bool, np.bool_)) and 0 < num_groups <= MAX_SIZE:
        g = int(num_groups)
    else:
        raise OptionError(f"{op}: num_groups must be a positive integer, 'all-channels' or 'channel-wise'; got {num_groups!r}")
    if n_c % g:
        raise ShapeError(f"{op}: {n_c} channels (input shape {tuple(X.shape)}, format '{layout.labels}') cannot be split into {g} groups")
    # Split C into (G, C/G) in place: consecutive channels share a group, no data moves.
    split = list(x.shape[:c]) + [g, n_c // g] + list(x.shape[c + 1 :])
    xs = x.reshape(tuple(split))
    b = layout.axis("B")
    b_split = None if b is None else (b if b < c else b + 1)
    axes = _axes_except(xs.ndim, [b_split, c])
    xhat = _standardize(xs, axes, epsilon).reshape(tuple(x.shape))
    y = _affine(xhat, x, offset, scale, c, op)
    return _finish(y, X, layout)


def instancenorm(
    X: dlarray,
    offset: Any,
    scale: Any,
    *,
    epsilon: float = 1e-5,
    data_format: Optional[str] = None,
) -> dlarray:
    """MATLAB's ``instancenorm``: normalise each channel of each observation over its S, T
    (and U) dims. Input without any such dim normalises single elements, so ``Y = offset``."""
    op = "instancenorm"
    layout, x, c = _prepare(X, data_format, op)
    epsilon = _check_epsilon(epsilon, op)
    axes = _axes_except(x.ndim, [c, layout.axis("B")])
    y = _affine(_standardize(x, axes, epsilon), x, offset, scale, c, op)
    return _finish(y, X, layout)


# ----- crosschannelnorm ------------------------------------------------------------------------


def crosschannelnorm(
    X: dlarray,
    window_channel_size: int,
    *,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 2.0,
    data_format: Optional[str] = None,
) -> dlarray:
    """MATLAB's ``crosschannelnorm`` (local response normalisation across channels):
    ``y = x / (k + alpha * ss / window_channel_size) ** beta`` with ``ss`` the sum of squares
    over the window of channels around each channel (zero beyond the edges).

    Decision (MATLAB unconfirmed for even windows): channel ``c``'s window is
    ``c - n//2 ... c + (n-1)//2`` (centred for odd ``n``; PyTorch's LocalResponseNorm).
    """
    op = "crosschannelnorm"
    layout, x, c = _prepare(X, data_format, op)
    n = window_channel_size
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OptionError(f"{op}: window_channel_size must be a positive integer, got {n!r}")
    n = int(n)
    alpha, beta, k = (number(v, name, op) for name, v in (("alpha", alpha), ("beta", beta), ("k", k)))
    if x.size == 0:
        return _finish(x * 1.0, X, layout)
    n_c = x.shape[c]
    sq = x * x
    # Channel c sums channels c - n//2 ... c + (n-1)//2 that exist: a window reaching past the
    # first or last channel on a side covers at most n_c - 1 channels there.
    before, after = min(n // 2, max(n_c - 1, 0)), min((n - 1) // 2, max(n_c - 1, 0))
    pads = []
    if before:
        pads.append((0, before))
    if after:
        pads.append((1, after))
    parts = []
    for side, width in pads:
        shape = list(x.shape)
        shape[c] = width
        parts.append((side, dlarray(np.zeros(shape, dtype=x.dtype))))
    padded = _core.concatenate([p for s, p in parts if s == 0] + [sq] + [p for s, p in parts if s == 1], axis=c) if parts else sq
    ss = None
    for j in range(before + after + 1):
        idx = tuple(slice(j, j + n_c) if a == c else slice(None) for a in range(x.ndim))
        piece = padded[idx]
        ss = piece if ss is None else ss + piece
    denom = (ss * (alpha / n) + k) ** beta
    return _finish(x / denom, X, layout)


accept_matlab_names(globals())
