"""``ctc``: the connectionist temporal classification loss (MATLAB's ``ctc``), composed from
differentiable dlarray ops.

The forward (alpha) recursion of Graves et al. (2006) runs in log space over the extended
label sequence (a blank before, between and after the labels), vectorised over the batch and
the label positions; only the time steps are a Python loop. Each step is a stable
``logsumexp`` of three shifted copies of alpha (``m + log(sum(exp(x - m)))``), so first and
higher derivatives with respect to the probabilities come from the tape. Everything that
depends only on the labels and masks (which shifts are allowed, lengths, where each
sequence ends) is a numpy constant computed once.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._arguments import as_dlarray, choice, int_values, show
from .._core import (
    DlIndexError,
    DTypeError,
    FormatError,
    OptionError,
    ShapeError,
    _softmax_log,
    dlarray,
    exp,
    extractdata,
    log,
    maximum,
    where,
)
from .._matlab_names import accept_matlab_names
from ._layout import layout_of, plain
from ._params import numeric

__all__ = ["ctc"]

_REDUCTIONS = ("mean", "sum", "none")
# log(0) in the recursion: finite, so that sums and differences of impossible paths stay
# finite (no inf - inf) and their exp is exactly 0 next to any possible path.
_LOG_ZERO = -1e30


def _logsumexp(*xs: dlarray) -> dlarray:
    m = xs[0]
    for x in xs[1:]:
        m = maximum(m, x)
    total = exp(xs[0] - m)
    for x in xs[1:]:
        total = total + exp(x - m)
    return m + log(total)


def _plain_data(v: Any, op: str, name: str) -> Tuple[np.ndarray, str]:
    """``v``'s values (a numpy array) and its format ('' when unformatted); a formatted
    dlarray's data is in its canonical order."""
    if isinstance(v, dlarray):
        return numeric(extractdata(v), op, name, kinds="biuf"), v.fmt
    return numeric(v, op, name, kinds="biuf"), ""


def _by_labels(a: np.ndarray, fmt: str, want: str, op: str, name: str) -> np.ndarray:
    """A formatted array's data laid out as the labels ``want`` (dims it lacks become
    singletons; other dims must have size 1)."""
    for i, c in enumerate(fmt):
        if c not in want and a.shape[i] != 1:
            raise FormatError(f"{op}: {name} has format '{fmt}' (shape {a.shape}); expected the labels '{want}'")
    kept = [i for i, c in enumerate(fmt) if c in want]
    a = a.reshape([a.shape[i] for i in kept])
    have = "".join(fmt[i] for i in kept)
    for c in want:
        if c not in have:
            a = a[..., None]
            have += c
    return np.transpose(a, [have.index(c) for c in want])


def _observation_array(v: Any, B: int, op: str, name: str) -> np.ndarray:
    """A (B, n) array, a row of labels (or of their mask) per observation: unformatted (B, n),
    (n,) when B is 1, or a dlarray formatted "BT" (a C of size 1 allowed)."""
    a, fmt = _plain_data(v, op, name)
    if fmt:
        a = _by_labels(a, fmt, "BT", op, name)
    elif a.ndim == 1 and B == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] != B:
        raise ShapeError(f"{op}: {name} of shape {a.shape} does not match the batch size {B}; expected (B, n) = ({B}, n)")
    return a


def _y_mask(v: Any, labels: str, shape: Tuple[int, ...], B: int, T: int, op: str) -> np.ndarray:
    """The prediction mask as a (B, T) bool array. Accepted: a formatted dlarray (labels B, T
    and a C of size 1), an unformatted array of Y's shape with C of size 1 (in Y's own dim
    order), (B, T), or (T,) when B is 1."""
    m, fmt = _plain_data(v, op, "y_mask")
    with_c = tuple(1 if c == "C" else s for c, s in zip(labels, shape))
    if not fmt and m.shape == with_c:
        rest = labels.replace("C", "")
        m = m.reshape(tuple(s for c, s in zip(labels, shape) if c != "C"))
        if "B" not in rest:
            m, rest = m[None, :], "B" + rest
        m = np.transpose(m, (rest.index("B"), rest.index("T")))
    elif fmt:
        m = _by_labels(m, fmt, "BT", op, "y_mask")
    elif m.ndim == 1 and B == 1:
        m = m[None, :]
    if m.shape != (B, T):
        raise ShapeError(
            f"{op}: y_mask of shape {m.shape} does not match Y (format '{labels}', shape {shape}): "
            f"expected (B, T) = ({B}, {T}) or Y's shape with C of size 1, {with_c}"
        )
    return m != 0


def _blank(blank_index: Any, C: int, op: str) -> int:
    if isinstance(blank_index, str):
        which = choice(blank_index, ("first", "last"), "blank_index", op)
        return 0 if which == "first" else C - 1
    b = int_values(blank_index, "blank_index", op, max_ndim=0)[0]
    if not 0 <= b < C:
        raise OptionError(f"{op}: blank_index {b} is out of range for {C} classes (0-based: 0..{C - 1}, or 'first'/'last')")
    return b


def ctc(
    Y: Any,
    targets: Any,
    y_mask: Any = None,
    targets_mask: Any = None,
    *,
    blank_index: Any = "first",
    reduction: str = "mean",
    data_format: Optional[str] = None,
) -> dlarray:
    """Connectionist temporal classification loss between predicted **probabilities** ``Y``
    and unaligned label sequences: MATLAB's ``loss = ctc(Y, targets, YMask, targetsMask,
    Name=Value)``.

    ``Y`` holds per-step class probabilities (the output of ``softmax`` over C, blank
    included) with C, T and usually B dims (``"CBT"``; unformatted with ``data_format=``);
    S and U dims are refused. ``targets`` is a ``(B, L)`` array (or a ``"BT"`` dlarray) of
    **0-based** class indices into Y's C dim (the package's index convention; MATLAB's are
    1-based), none equal to the blank.

    ``y_mask`` (``(B, T)``, Y's shape with C of size 1, or a ``"BT"``/``"CBT"`` dlarray) and
    ``targets_mask`` (``targets``' shape) mark the valid time steps and labels (nonzero =
    valid); ``None`` means all valid. Masked time steps are skipped by the recursion and
    masked labels dropped, wherever they are (padding at the end or the start).

    ``blank_index``: ``"first"`` (default, class 0), ``"last"`` (class C - 1) or a 0-based
    int. ``reduction``: ``"mean"`` (default: the per-observation negative log-likelihoods
    averaged over the batch, MATLAB's), ``"sum"``, or ``"none"`` (an unformatted ``(B,)``
    vector). The loss is otherwise an unformatted scalar.

    ``log(Y)`` is taken from the logits when ``Y`` is a ``softmax`` output over C (exact
    however small a probability), otherwise from ``Y`` bounded below by ``eps`` of its dtype,
    as ``crossentropy`` does. An observation whose labels cannot be aligned in its valid time
    steps (fewer steps than labels plus repeated neighbours) has an infinite loss and passes
    no gradient back (its probability is 0).
    """
    op = "ctc"
    reduction = choice(reduction, _REDUCTIONS, "reduction", op)
    Y = as_dlarray(Y, op, "Y")
    lay = layout_of(Y, data_format, op)
    labels = lay.labels
    extra = sorted(set(labels) - set("CBT"))
    if extra:
        raise FormatError(f"{op}: Y (format '{labels}', shape {tuple(Y.shape)}) may only have C, B and T dims, not '{''.join(extra)}'")
    if "C" not in labels or "T" not in labels:
        missing = "".join(c for c in "CT" if c not in labels)
        raise FormatError(f"{op}: Y (format '{labels}', shape {tuple(Y.shape)}) has no '{missing}' dimension; ctc needs C, B and T")
    if np.dtype(Y.dtype).kind != "f":
        raise DTypeError(f"{op}: Y must hold real probabilities, got dtype {Y.dtype}")
    y = plain(Y, lay)
    shape = tuple(int(s) for s in y.shape)
    c_ax, t_ax = labels.index("C"), labels.index("T")
    b_ax = labels.index("B") if "B" in labels else None
    C, T = shape[c_ax], shape[t_ax]
    B = shape[b_ax] if b_ax is not None else 1
    if C == 0:
        raise ShapeError(f"{op}: Y (format '{labels}', shape {shape}) has no classes; its C dim must hold the blank at least")
    blank = _blank(blank_index, C, op)

    # ----- labels and masks (numpy constants) -----
    tgt = _observation_array(targets, B, op, "targets")
    L_all = tgt.shape[1]
    if targets_mask is None:
        tmask = np.ones(tgt.shape, dtype=bool)
    else:
        tmask = _observation_array(targets_mask, B, op, "targets_mask") != 0
        if tmask.shape != tgt.shape:
            raise ShapeError(f"{op}: targets_mask of shape {tmask.shape} does not match targets of shape {tgt.shape}")
    ymask = np.ones((B, T), dtype=bool) if y_mask is None else _y_mask(y_mask, labels, shape, B, T, op)
    valid = tgt[tmask]
    if valid.dtype.kind == "f" and not np.all(np.isfinite(valid) & (valid == np.round(valid))):
        raise DlIndexError(f"{op}: targets must be integer class indices (0-based), got non-integer values")
    valid = valid.astype(np.int64)
    if ((valid < 0) | (valid >= C)).any():
        bad = int(valid[(valid < 0) | (valid >= C)][0])
        raise DlIndexError(f"{op}: target class index {bad} is out of range for {C} classes (indices are 0-based: 0..{C - 1})")
    if (valid == blank).any():
        raise DlIndexError(f"{op}: targets contain the blank class {blank} (blank_index={show(blank_index)})")

    lengths = tmask.sum(axis=1).astype(np.int64)
    Lmax = int(lengths.max()) if B and L_all else 0
    lab = np.full((B, Lmax), blank, dtype=np.int64)
    for_rows = np.arange(Lmax)[None, :] < lengths[:, None]
    lab[for_rows] = valid  # each row's valid labels moved to its front, in order
    S = 2 * Lmax + 1
    ext = np.full((B, S), blank, dtype=np.int64)
    ext[:, 1::2] = lab
    steps = ymask.sum(axis=1)
    repeats = (for_rows[:, 1:] & (lab[:, 1:] == lab[:, :-1])).sum(axis=1) if Lmax > 1 else np.zeros(B, np.int64)
    feasible = steps >= lengths + repeats

    dt = Y.dtype
    s_idx = np.arange(S)
    shift1 = np.maximum(s_idx - 1, 0)
    shift2 = np.maximum(s_idx - 2, 0)
    pen1 = np.where(s_idx >= 1, 0.0, _LOG_ZERO).astype(dt)
    skip = (s_idx[None, :] >= 2) & (ext != blank) & (ext != ext[:, shift2])
    pen2 = np.where(skip, 0.0, _LOG_ZERO).astype(dt)

    # ----- emissions: log-probabilities of each extended label, (B, S, T) -----
    logy = _softmax_log(y, c_ax)
    src = logy if logy is not None else y
    if b_ax is None:
        src = src.transpose((c_ax, t_ax)).reshape((C, 1, T)) if (c_ax, t_ax) != (0, 1) else src.reshape((C, 1, T))
    elif (c_ax, b_ax, t_ax) != (0, 1, 2):
        src = src.transpose((c_ax, b_ax, t_ax))
    emit = src[ext, np.arange(B)[:, None], :]
    if logy is None:
        emit = log(maximum(emit, float(np.finfo(dt).eps)))

    # ----- the alpha recursion. Before its first valid step an observation's alpha is
    # log of [1, 0, 0, ...]: from there the recursion's first step reaches s = 0 and s = 1
    # only, as the CTC initialisation does, so a sequence may start at any step. -----
    alpha = dlarray(np.broadcast_to(np.where(s_idx == 0, 0.0, _LOG_ZERO).astype(dt), (B, S)).copy())
    for t in range(T):
        on = ymask[:, t]
        if not on.any():
            continue
        new = _logsumexp(alpha, alpha[:, shift1] + pen1, alpha[:, shift2] + pen2) + emit[:, :, t]
        alpha = new if on.all() else where(on[:, None], new, alpha)
    rows = np.arange(B)
    end = alpha[rows, 2 * lengths]
    before = alpha[rows, np.maximum(2 * lengths - 1, 0)] + np.where(lengths > 0, 0.0, _LOG_ZERO).astype(dt)
    nll = -_logsumexp(end, before)
    if not feasible.all():
        nll = where(feasible, nll, np.inf)
    if reduction == "none":
        return nll
    total = nll.sum()
    return total / float(B) if reduction == "mean" and B else total


accept_matlab_names(globals())
