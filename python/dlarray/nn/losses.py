"""Loss functions with MATLAB's names, formulas and defaults: ``crossentropy`` (probabilities
in), ``indexcrossentropy`` (0-based class indices), ``mse`` (half the summed squared error per
observation), ``l1loss``, ``l2loss`` and ``huber``.

They return an unformatted scalar dlarray (``reduction="none"``: the per-element loss with the
prediction's format). All are composed of differentiable dlarray ops, so they differentiate to
any order with respect to the predictions, the targets and the weights. Decisions taken where
MATLAB's behaviour is unconfirmed are listed in each docstring and in docs/decisions.md.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._arguments import choice
from .._core import DlIndexError, FormatError, OptionError, ShapeError, _compare, _softmax_log, dlarray, log, maximum, stripdims, where
from .._core import abs as _abs
from .._matlab_names import accept_matlab_names
from ._layout import format_given, format_labels, layout_of, plain
from ._loss_terms import NORMALIZATIONS, REDUCTIONS, LossInput, aux_like, finish, loss_input, targets_like
from ._params import numeric

__all__ = ["crossentropy", "indexcrossentropy", "mse", "l1loss", "l2loss", "huber"]

_MODES = {"single-label": "single-label", "multilabel": "multilabel", "multi-label": "multilabel"}
_CATEGORIES = {"exclusive": "single-label", "independent": "multilabel"}


def _safe_log(y: dlarray) -> dlarray:
    """log(Y) with Y bounded below by eps(dtype), as MATLAB bounds probabilities away from 0,
    so a zero probability gives a large finite loss instead of inf."""
    return log(maximum(y, float(np.finfo(y.dtype).eps)))


def _log_probabilities(Y: dlarray, inp: LossInput) -> dlarray:
    """log of the predictions, laid out like ``inp.y``.

    When Y is the output of ``softmax`` over its class dim, the log is taken from the logits
    softmax saw (log-softmax): exact however small a probability is, with the gradient
    ``p - t`` reaching the logits directly. Any other Y is bounded by eps first (MATLAB).
    """
    c = inp.class_axis
    src = stripdims(Y) if Y.fmt else Y
    if c is not None and c < src.ndim:
        logy = _softmax_log(src, c)
        if logy is not None:
            return logy.reshape(inp.y.shape) if tuple(logy.shape) != tuple(inp.y.shape) else logy
    return _safe_log(inp.y)


def _options(op: str, reduction: str, normalization_factor: str):
    return choice(reduction, REDUCTIONS, "reduction", op), choice(normalization_factor, NORMALIZATIONS, "normalization_factor", op)


def _classification_mode(classification_mode: Optional[str], target_categories: Optional[str]) -> str:
    op = "crossentropy"
    mode = None
    if classification_mode is not None:
        if not isinstance(classification_mode, str) or classification_mode.lower() not in _MODES:
            raise OptionError(f"{op}: classification_mode must be 'single-label' or 'multilabel', got {classification_mode!r}")
        mode = _MODES[classification_mode.lower()]
    if target_categories is not None:
        if not isinstance(target_categories, str) or target_categories.lower() not in _CATEGORIES:
            raise OptionError(f"{op}: target_categories must be 'exclusive' or 'independent', got {target_categories!r}")
        old = _CATEGORIES[target_categories.lower()]
        if mode is not None and mode != old:
            raise OptionError(f"{op}: classification_mode={classification_mode!r} contradicts target_categories={target_categories!r}")
        mode = old
    return mode or "single-label"


def crossentropy(
    Y: dlarray,
    targets: Any,
    weights: Any = None,
    *,
    data_format: Optional[str] = None,
    weights_format: Optional[str] = None,
    mask: Any = None,
    reduction: str = "sum",
    normalization_factor: str = "batch-size",
    classification_mode: Optional[str] = None,
    target_categories: Optional[str] = None,
    class_dimension: Optional[int] = None,
) -> dlarray:
    """Cross-entropy between predicted **probabilities** ``Y`` (after softmax or sigmoid, not
    logits) and targets of the same size: MATLAB's ``crossentropy(Y, targets, weights,
    Name=Value)``.

    * single-label (default; ``classification_mode="single-label"`` or the older
      ``target_categories="exclusive"``): per element ``-T·log(Y)``; needs a C dim.
    * multilabel (``"multilabel"`` / ``"independent"``): per element
      ``-(T·log(Y) + (1-T)·log(1-Y))``.

    The per-element losses are multiplied by ``weights`` and ``mask``, summed over every dim
    (C, S, T and B) and divided according to ``normalization_factor``:
    ``"batch-size"`` (default) the size of the B dim (1 without one), ``"all-elements"`` the
    number of predictions, ``"mask-included"`` per observation the number of included
    predictions (then averaged over the batch), ``"none"`` no division.
    ``reduction="none"`` returns the weighted, masked per-element loss with Y's format
    (no normalisation). The result is otherwise an unformatted scalar.

    ``weights``: per class (a vector as long as C), per observation (as long as B), or any
    array that expands to Y; a formatted dlarray or ``weights_format`` aligns it by label.
    ``mask``: same rules, nonzero entries are included. ``class_dimension`` (0-based) marks the
    class dim of an unformatted Y given without ``data_format``; its other dims then all count
    as observations.

    When ``Y`` is the output of ``softmax`` over the class dim, ``log(Y)`` is computed from
    the logits softmax was given (log-softmax), so a confidently wrong prediction keeps its
    true loss and the gradient ``p - t`` w.r.t. the logits, as in PyTorch's cross-entropy on
    logits; the link is dropped by any change to Y (``Y[idx] = v`` makes a new array).

    Decisions (MATLAB unconfirmed): any other Y is bounded below by ``eps`` of its dtype
    before the log (as are ``1 - Y`` in multilabel mode), so the loss stays finite and the
    gradient there is 0; in single-label mode ``"all-elements"`` divides by ``numel(Y) / C`` (one prediction per
    position), in multilabel mode by ``numel(Y)``; weights do not change the divisor; with no
    B dim ``"batch-size"`` divides by 1; an unformatted weight vector whose length equals both
    the C and the B size is taken per class.
    """
    op = "crossentropy"
    reduction, normalization = _options(op, reduction, normalization_factor)
    mode = _classification_mode(classification_mode, target_categories)
    inp = loss_input(op, Y, data_format, class_dimension)
    if mode == "single-label" and inp.class_axis is None:
        raise FormatError(f"{op}: single-label cross-entropy needs a 'C' (class) dimension; the predictions have {inp.describe()}")
    T = targets_like(op, targets, inp)
    y = inp.y
    # -T is formed first: for numpy targets that is numpy work, one dlarray op fewer.
    if mode == "single-label":
        L = (-T) * _log_probabilities(Y, inp)
    else:
        L = (-T) * _log_probabilities(Y, inp) - (1.0 - T) * _safe_log(1.0 - y)
    w = None if weights is None else aux_like(op, weights, "weights", inp, weights_format)
    m = None if mask is None else aux_like(op, mask, "mask", inp)
    return finish(op, L, inp, w, m, reduction, normalization, per_class=(mode == "single-label"))


def _class_indices(op: str, targets: Any, inp: LossInput) -> np.ndarray:
    """0-based class indices shaped like Y with its C dim of size 1."""
    c = inp.class_axis
    pos_shape = tuple(1 if i == c else s for i, s in enumerate(inp.y.shape))
    no_c_labels = inp.labels.replace("C", "")
    if isinstance(targets, dlarray) and targets.fmt:
        if targets.fmt not in (inp.labels, no_c_labels):
            raise FormatError(
                f"{op}: targets have format '{targets.fmt}'; the predictions have {inp.describe()}, so the targets need format '{no_c_labels}'"
            )
        t = np.asarray(plain(targets, layout_of(targets, None, op)))
        if targets.fmt == no_c_labels:
            t = np.expand_dims(t, c)
    else:
        t = numeric(targets, op, "targets (integer class indices)", kinds="biuf")
        no_c = tuple(s for i, s in enumerate(inp.y.shape) if i != c)
        for want in (pos_shape, no_c):
            if t.shape + (1,) * (len(want) - t.ndim) == want and t.ndim <= len(want):
                t = t.reshape(want)
                break
        else:
            raise ShapeError(
                f"{op}: targets of shape {t.shape} do not match the predictions ({inp.describe()}): expected {no_c} "
                f"(the prediction's shape without C) or {pos_shape}"
            )
        if t.shape != pos_shape:
            t = np.expand_dims(t, c)
    if t.shape != pos_shape:
        raise ShapeError(f"{op}: targets of shape {t.shape} do not match the predictions ({inp.describe()}); expected {pos_shape}")
    if t.dtype.kind == "f" and not np.all(np.isfinite(t) & (t == np.round(t))):
        raise DlIndexError(f"{op}: targets must be integer class indices (0-based), got non-integer values")
    t = t.astype(np.int64)
    C = inp.num_classes
    bad = (t < 0) | (t >= C)
    if bad.any():
        raise DlIndexError(
            f"{op}: target class index {int(t[bad].flat[0])} is out of range for {C} classes (indices are 0-based: 0..{C - 1})"
        )
    return t


def indexcrossentropy(
    Y: dlarray,
    targets: Any,
    weights: Any = None,
    *,
    data_format: Optional[str] = None,
    weights_format: Optional[str] = None,
    mask: Any = None,
    reduction: str = "sum",
    normalization_factor: str = "batch-size",
) -> dlarray:
    """Cross-entropy with targets given as **0-based** integer class indices (sparse
    cross-entropy): MATLAB's ``indexcrossentropy`` (R2024b), whose indices are 1-based.

    ``Y`` holds probabilities with a C dim; ``targets`` has Y's shape without C (or with a C of
    size 1), as an integer numpy array or a dlarray formatted like Y without C. The loss of a
    position is ``-log(Y[target])``: it picks one element per position (no one-hot array), so
    the gradient reaches only the picked probabilities (for the output of ``softmax``, the
    log is taken from its logits, as in ``crossentropy``).

    ``weights``: a vector as long as C gives per-class weights (looked up by each target);
    anything else is aligned like the targets (per observation, per position; a formatted
    dlarray or ``weights_format`` aligns by label). ``mask`` is aligned the same way.
    ``normalization_factor``: ``"batch-size"`` (default), ``"all-elements"`` (number of
    positions), ``"mask-included"`` (per observation, the included positions) or ``"none"``.
    ``reduction="none"`` returns the per-position loss shaped like Y with C of size 1, in Y's
    format (decision: MATLAB's exact output size is unconfirmed).

    Out-of-range or non-integer indices raise ``DlIndexError``. Any other Y is bounded below
    by eps of its dtype before the log, as in ``crossentropy``.
    """
    op = "indexcrossentropy"
    reduction, normalization = _options(op, reduction, normalization_factor)
    inp = loss_input(op, Y, data_format)
    c = inp.class_axis
    if c is None:
        raise FormatError(f"{op}: the predictions need a 'C' (class) dimension; they have {inp.describe()}")
    t = _class_indices(op, targets, inp)
    pos_shape = t.shape
    if t.size == 0:  # no positions: nothing to pick (Y is empty too)
        L = -_log_probabilities(Y, inp).reshape(pos_shape)
    else:
        # Gather log Y at (..., target, ...) for every position: one differentiable indexing op.
        index = []
        for i, s in enumerate(inp.y.shape):
            if i == c:
                index.append(t)
            else:
                index.append(np.arange(s).reshape(tuple(s if j == i else 1 for j in range(len(pos_shape)))))
        L = -_log_probabilities(Y, inp)[tuple(index)]
    pos_inp = LossInput(L, inp.labels, inp.formatted, pos_shape, inp.obs_axes)
    w = None
    if weights is not None:
        w = _class_weights(op, weights, weights_format, inp, t)
        if w is None:
            w = aux_like(op, _with_class_dim(weights, weights_format, c, pos_shape), "weights", pos_inp, weights_format)
    m = None if mask is None else aux_like(op, _with_class_dim(mask, None, c, pos_shape), "mask", pos_inp)
    return finish(op, L, pos_inp, w, m, reduction, normalization, per_class=False)


def _with_class_dim(a: Any, fmt: Optional[str], c: int, pos_shape) -> Any:
    """An unformatted weights/mask array laid out like the targets without C (2 dims or more)
    gets the size-1 C dim back, so it lines up with the per-position loss."""
    if fmt or (isinstance(a, dlarray) and a.fmt):
        return a
    a = a if isinstance(a, dlarray) else numeric(a, "indexcrossentropy", "weights or mask", kinds="biuf")
    no_c = tuple(s for i, s in enumerate(pos_shape) if i != c)
    if a.ndim == len(no_c) >= 2 and all(s in (1, w) for s, w in zip(a.shape, no_c)):
        return a.reshape(tuple(a.shape[:c]) + (1,) + tuple(a.shape[c:]))
    return a


def _class_weights(op: str, weights: Any, weights_format: Optional[str], inp: LossInput, t: np.ndarray) -> Any:
    """Per-class weights looked up at each target, or None when ``weights`` is not a class
    vector."""
    if isinstance(weights, dlarray) and weights.fmt:
        fmt = weights.fmt
    else:
        fmt = format_labels(weights_format, op, "weights_format") if format_given(weights_format) else ""
    C = inp.num_classes
    if fmt and fmt.replace("U", "") != "C":
        return None
    w = weights if isinstance(weights, dlarray) else numeric(weights, op, "weights", kinds="biuf")
    shape = tuple(w.shape)
    if int(np.prod(shape)) != C or sum(1 for s in shape if s != 1) > 1 or (not fmt and C == 1):
        return None
    if isinstance(w, dlarray):
        w = plain(w, layout_of(w, None, op)) if w.fmt else w
        w = w.reshape((C,))
        return w.astype(inp.y.dtype)[t] if w.dtype != inp.y.dtype else w[t]
    return w.reshape(C).astype(inp.y.dtype)[t]


def mse(Y: dlarray, targets: Any, *, data_format: Optional[str] = None) -> dlarray:
    """Half mean squared error: MATLAB's ``mse(Y, targets)``,
    ``sum((Y - T)**2) / (2 * N)`` with N the number of observations (size of the B dim).

    Not PyTorch's ``MSELoss`` (mean over all elements, no one half): a single observation gives
    half the *sum* of squared errors. Targets must have Y's size (and format, if formatted).
    Decision (MATLAB unconfirmed): without a B dim, N is 1.
    """
    op = "mse"
    inp = loss_input(op, Y, data_format)
    T = targets_like(op, targets, inp)
    e = inp.y - T
    return finish(op, (e * e) * 0.5, inp, None, None, "sum", "batch-size", per_class=False)


def _regression(op: str, fn, Y, targets, weights, data_format, weights_format, mask, reduction, normalization_factor):
    reduction, normalization = _options(op, reduction, normalization_factor)
    inp = loss_input(op, Y, data_format)
    T = targets_like(op, targets, inp)
    L = fn(inp.y - T)
    w = None if weights is None else aux_like(op, weights, "weights", inp, weights_format)
    m = None if mask is None else aux_like(op, mask, "mask", inp)
    return finish(op, L, inp, w, m, reduction, normalization, per_class=False)


_REGRESSION_DOC = """

    ``weights``: per channel (a vector as long as C), per observation (as long as B), or any
    array that expands to Y; a formatted dlarray or ``weights_format`` aligns it by label.
    ``mask``: same rules; nonzero entries are included. ``reduction``: ``"sum"`` (default) or
    ``"none"`` (the weighted, masked per-element loss with Y's format). ``normalization_factor``:
    ``"batch-size"`` (default; the size of B, 1 without one), ``"all-elements"`` (``numel(Y)``),
    ``"mask-included"`` (per observation, its number of included elements, then averaged over
    the batch) or ``"none"``. Weights do not change the divisor."""


def l1loss(
    Y: dlarray,
    targets: Any,
    weights: Any = None,
    *,
    data_format: Optional[str] = None,
    weights_format: Optional[str] = None,
    mask: Any = None,
    reduction: str = "sum",
    normalization_factor: str = "batch-size",
) -> dlarray:
    return _regression("l1loss", _abs, Y, targets, weights, data_format, weights_format, mask, reduction, normalization_factor)


def l2loss(
    Y: dlarray,
    targets: Any,
    weights: Any = None,
    *,
    data_format: Optional[str] = None,
    weights_format: Optional[str] = None,
    mask: Any = None,
    reduction: str = "sum",
    normalization_factor: str = "batch-size",
) -> dlarray:
    return _regression("l2loss", lambda e: e * e, Y, targets, weights, data_format, weights_format, mask, reduction, normalization_factor)


def huber(
    Y: dlarray,
    targets: Any,
    weights: Any = None,
    *,
    transition_point: float = 1.0,
    data_format: Optional[str] = None,
    weights_format: Optional[str] = None,
    mask: Any = None,
    reduction: str = "sum",
    normalization_factor: str = "batch-size",
) -> dlarray:
    op = "huber"
    try:
        delta = float(transition_point)
    except (TypeError, ValueError):
        raise OptionError(f"{op}: transition_point must be a positive number, got {transition_point!r}") from None
    if not np.isfinite(delta) or delta <= 0:
        raise OptionError(f"{op}: transition_point must be a positive number, got {transition_point!r}")

    def per_element(e: dlarray) -> dlarray:
        a = _abs(e)
        # The branch is chosen by a comparison, which has no gradient: higher derivatives
        # follow each branch, and the mask stays on e's device.
        return where(_compare(a, delta, "le"), (e * e) * 0.5, (a - 0.5 * delta) * delta)

    return _regression(op, per_element, Y, targets, weights, data_format, weights_format, mask, reduction, normalization_factor)


l1loss.__doc__ = (
    """Mean absolute error: MATLAB's ``l1loss(Y, targets, weights, Name=Value)`` (R2021b),
    the sum of ``abs(Y - T)`` divided by the normalisation factor. Targets must have Y's size
    (and format, if formatted)."""
    + _REGRESSION_DOC
)
l2loss.__doc__ = (
    """Squared error: MATLAB's ``l2loss(Y, targets, weights, Name=Value)`` (R2021b), the sum
    of ``(Y - T)**2`` divided by the normalisation factor. Decision (MATLAB unconfirmed): no
    one half, unlike ``mse``, so ``l2loss`` with ``"batch-size"`` is twice ``mse``."""
    + _REGRESSION_DOC
)
huber.__doc__ = (
    """Huber loss: MATLAB's ``huber(Y, targets, weights, Name=Value)`` (R2021a). Per element
    with ``e = Y - T`` and ``d = transition_point`` (default 1, "smooth L1"):
    ``0.5*e**2`` where ``abs(e) <= d``, otherwise ``d*(abs(e) - 0.5*d)``; summed and divided by
    the normalisation factor. At ``abs(e) == d`` the quadratic branch is taken (both agree in
    value and slope there)."""
    + _REGRESSION_DOC
)

accept_matlab_names(globals())
