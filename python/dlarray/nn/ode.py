"""``dlode45``: the neural ODE operation (MATLAB's ``dlode45``), the Dormand–Prince 5(4) pair
with MATLAB ``ode45``'s adaptive step control, composed from differentiable dlarray ops.

Each stage and each solution update is a weighted sum of dlarrays with plain float weights,
so ``GradientMode="direct"`` is the tape itself: ``dlgradient`` differentiates through every
step (to any order) with respect to the initial state and the parameters. Step sizes, the
accept/reject decisions and the interpolation points are computed from plain float copies of
the values; they are constants of the recorded computation, as in any solver differentiated
by automatic differentiation (the derivative is that of the discrete solution actually taken).
"""

from __future__ import annotations

import math
from typing import Any, Callable, List, Optional

import numpy as np

from .._arguments import as_dlarray, choice, number, show
from .._core import DTypeError, FormatError, OptionError, ShapeError, dlarray, extractdata, stack, stripdims
from .._matlab_names import accept_matlab_names
from ._layout import format_labels
from ._params import numeric

__all__ = ["dlode45"]

# Dormand & Prince (1980), as MATLAB's ode45: stage times, stage weights, the 5th-order
# solution (the last stage is the next step's first, FSAL) and the error weights (5th - 4th).
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
)
_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_E = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])
# ode45's free 4th-order interpolant (ntrp45): y(t + s·h) = y + h · Σ_i k_i · (BI[i] · [s, s², s³, s⁴]).
_BI = np.array(
    [
        [1.0, -183 / 64, 37 / 12, -145 / 128],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 1500 / 371, -1000 / 159, 1000 / 371],
        [0.0, -125 / 32, 125 / 12, -375 / 64],
        [0.0, 9477 / 3392, -729 / 106, 25515 / 6784],
        [0.0, -11 / 7, 11 / 3, -55 / 28],
        [0.0, 3 / 2, -4.0, 5 / 2],
    ]
)
_POW = 1 / 5
_MODES = ("direct", "adjoint")


def _combine(y: dlarray, h: float, weights: Any, ks: List[dlarray]) -> dlarray:
    """``y + h · Σ w_i k_i`` (terms with a zero weight left out)."""
    total = None
    for w, k in zip(weights, ks):
        if w == 0.0:
            continue
        term = k * float(h * w)
        total = term if total is None else total + term
    return y if total is None else y + total


def _tspan(tspan: Any, op: str) -> np.ndarray:
    try:
        t = np.asarray(extractdata(tspan) if isinstance(tspan, dlarray) else tspan)
    except (TypeError, ValueError):
        raise OptionError(f"{op}: tspan must be a vector of at least two times, got {show(tspan)}") from None
    if t.dtype.kind not in "iuf" or t.ndim > 2 or t.size < 2 or (t.ndim == 2 and 1 not in t.shape):
        raise OptionError(f"{op}: tspan must be a real vector of at least two times, got {show(tspan)}")
    t = t.astype(np.float64).reshape(-1)
    if not np.all(np.isfinite(t)):
        raise OptionError(f"{op}: tspan must hold finite times, got {show(tspan)}")
    d = np.diff(t)
    if not (np.all(d > 0) or np.all(d < 0)):
        raise OptionError(f"{op}: the entries of tspan must strictly increase or strictly decrease, got {show(tspan)}")
    return t


def _check_data_format(Y0: dlarray, data_format: Any, op: str) -> None:
    if Y0.fmt:
        if data_format is not None:
            raise FormatError(f"{op}: Y0 is formatted '{Y0.fmt}'; data_format= is only for unformatted input")
        labels = Y0.fmt
    elif data_format is None:
        return
    else:
        labels = format_labels(data_format, op, "data_format")
        if len(labels) < Y0.ndim:
            raise FormatError(f"{op}: data_format '{data_format}' does not label the {Y0.ndim} dims of Y0 (shape {tuple(Y0.shape)})")
    if "T" in labels:
        raise FormatError(
            f"{op}: Y0 (format '{labels}', shape {tuple(Y0.shape)}) must not have a 'T' dimension; "
            f"the solution's time steps become its T dimension"
        )


def _rhs(odefun: Any, theta: Any, op: str) -> Callable[[float, dlarray], Any]:
    from ..network import dlnetwork  # the network package imports nn

    if isinstance(odefun, dlnetwork):
        if theta is not None:
            raise OptionError(f"{op}: with a dlnetwork the parameters are its learnables; theta must not be given")
        if len(odefun.input_names) != 1:
            raise OptionError(f"{op}: the network must have one input (the state), it has {len(odefun.input_names)}")
        net = odefun
        return lambda t, y: net.predict(y)
    if not callable(odefun):
        raise OptionError(f"{op}: odefun must be a function odefun(t, y, theta) or a dlnetwork, got {type(odefun).__name__}")
    return lambda t, y: odefun(t, y, theta)


def _norm(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


def dlode45(
    odefun: Any,
    tspan: Any,
    Y0: Any,
    theta: Any = None,
    *,
    gradient_mode: str = "direct",
    relative_tolerance: Any = 1e-3,
    absolute_tolerance: Any = 1e-6,
    initial_step: Any = None,
    max_step_size: Any = None,
    max_steps: Any = 10_000,
    data_format: Optional[str] = None,
) -> dlarray:
    """Solution of the ODE ``dy/dt = odefun(t, y, theta)`` from ``tspan[0]`` with
    ``y(tspan[0]) = Y0``: MATLAB's ``Y = dlode45(odefun, tspan, Y0, theta, Name=Value)``
    (also ``dlode45(net, tspan, Y0)``: ``dy/dt = net.predict(y)`` for a one-input dlnetwork).

    ``odefun(t, y, theta)`` receives the time as a Python float, the state as a dlarray of
    Y0's shape and format, and ``theta`` as given (a dlarray or any container of them); it
    returns ``dy/dt`` of the state's shape. ``tspan`` is a vector of at least two times, all
    increasing or all decreasing.

    The solver is ode45's: the Dormand–Prince 5(4) pair with FSAL, steps accepted when the
    error estimate ``h·max|Σ E_i k_i| / max(|y|, |y_new|, atol/rtol)`` is at most ``rtol``, and
    ode45's step-size rules (initial step from the slope at ``tspan[0]``, at most
    ``max_step_size``, the last step stretched onto the end point). Values at interior times
    of ``tspan`` come from ode45's 4th-order interpolant within the step that covers them.

    Options (MATLAB's names accepted: ``RelativeTolerance=``...): ``relative_tolerance``
    (1e-3), ``absolute_tolerance`` (1e-6), ``initial_step`` (None: chosen from the slope),
    ``max_step_size`` (None: ``0.1·|tspan[-1] - tspan[0]|``; ``inf``: no bound), ``max_steps``
    (steps tried, accepted or rejected, before the solver gives up with an ``OptionError``:
    a runaway or stiff problem, or a tiny ``max_step_size``, ends instead of running on;
    MATLAB's ode45 has no such bound, diffrax's ``max_steps`` is the model), ``data_format`` (labels of an
    unformatted Y0; it is checked, the output stays unformatted), ``gradient_mode``:
    ``"direct"`` (default; differentiates through the solver's steps, to any order).
    ``"adjoint"`` is not implemented (``OptionError``).

    Returns the solution at ``tspan[1:]``: with two times, an array like Y0 (the solution at
    ``tspan[-1]``); with more, Y0's dims plus a trailing T dim, one step per time (a formatted
    Y0 gains the label ``"T"`` in MATLAB's canonical place; Y0 must not have one).

    Step sizes and accept/reject decisions are taken on plain float copies of the values, so
    they are constants of the recorded computation: ``dlgradient`` gives the derivative of the
    discrete solution the solver computed (which approaches the exact sensitivity as the
    tolerances shrink).
    """
    op = "dlode45"
    mode = choice(gradient_mode, _MODES, "gradient_mode", op)
    if mode == "adjoint":
        raise OptionError(
            f"{op}: gradient_mode='adjoint' is not implemented; use 'direct' (the default), which differentiates through the solver's steps"
        )
    rtol = number(relative_tolerance, "relative_tolerance", op, positive=True)
    atol = number(absolute_tolerance, "absolute_tolerance", op, positive=True)
    tvec = _tspan(tspan, op)
    Y0 = as_dlarray(Y0, op, "Y0")
    if np.dtype(Y0.dtype).kind != "f":
        raise DTypeError(f"{op}: Y0 must be real (float32 or float64), got dtype {Y0.dtype}")
    _check_data_format(Y0, data_format, op)
    f = _rhs(odefun, theta, op)

    t0, tfinal = float(tvec[0]), float(tvec[-1])
    tdir = 1.0 if tfinal > t0 else -1.0
    span = abs(tfinal - t0)
    if max_step_size is None:
        hmax = 0.1 * span
    else:  # inf: no bound but the interval itself
        hmax = number(max_step_size, "max_step_size", op, finite=False)
        if not hmax > 0:
            raise OptionError(f"{op}: max_step_size must be positive, got {show(max_step_size)}")
    hmax = min(span, hmax)
    budget = number(max_steps, "max_steps", op, positive=True)
    if budget != int(budget):
        raise OptionError(f"{op}: max_steps must be a positive whole number, got {show(max_steps)}")
    if span / hmax > budget:
        raise OptionError(
            f"{op}: max_step_size={show(max_step_size) if max_step_size is not None else f'{hmax:g} (the default, a tenth of tspan)'} "
            f"needs at least {span / hmax:.3g} steps over tspan, "
            f"more than max_steps={int(budget)}; raise max_steps or the step bound"
        )
    threshold = atol / rtol
    shape, fmt, dtype = tuple(Y0.shape), Y0.fmt, np.dtype(Y0.dtype)

    def rhs(t: float, y: dlarray) -> dlarray:
        out = f(t, y)
        if not isinstance(out, dlarray):  # numpy or numbers: in the state's dtype, as parameters are
            out = dlarray(numeric(out, op, "the value odefun returned", kinds="biuf").astype(dtype, copy=False))
        if tuple(out.shape) != shape:
            raise ShapeError(
                f"{op}: odefun returned an array of shape {tuple(out.shape)} for a state of shape {shape}; "
                f"dy/dt must have the state's shape"
            )
        if out.fmt and fmt and out.fmt != fmt:
            raise FormatError(f"{op}: odefun returned format '{out.fmt}' for a state of format '{fmt}'")
        if out.fmt and not fmt:
            out = stripdims(out)
        return out

    y = Y0
    k1 = rhs(t0, y)
    ynp = np.asarray(y, dtype=np.float64)
    f0 = np.asarray(k1, dtype=np.float64)
    if not (np.all(np.isfinite(f0)) and np.all(np.isfinite(ynp))):
        raise OptionError(f"{op}: Y0 or odefun(tspan[0], Y0, theta) is not finite")

    # ode45's initial step: bounded by the first output interval and the slope at t0.
    absh = min(hmax, abs(float(tvec[1]) - t0))
    if initial_step is None:
        rh = _norm(f0 / np.maximum(np.abs(ynp), threshold)) / (0.8 * rtol**_POW)
        if absh * rh > 1:
            absh = 1.0 / rh
        absh = max(absh, 16 * np.spacing(abs(t0)))
    else:
        absh = min(hmax, max(16 * np.spacing(abs(t0)), number(initial_step, "initial_step", op, positive=True)))

    outputs: List[dlarray] = []
    next_out = 1
    t = t0
    done = False
    tried = 0
    while not done:
        hmin = 16 * float(np.spacing(abs(t)))
        absh = min(hmax, max(hmin, absh))
        h = tdir * absh
        if 1.1 * absh >= abs(tfinal - t):  # stretch the step onto the end point
            h = tfinal - t
            absh = abs(h)
            done = True
        nofailed = True
        while True:
            tried += 1
            if tried > budget:
                raise OptionError(
                    f"{op}: no solution within max_steps={int(budget)} steps (reached t = {t:.6g} of [{t0:g}, {tfinal:g}], "
                    f"last step {absh:.3g}); the problem may be stiff or its solution may blow up; raise max_steps to go on"
                )
            ks = [k1]
            for i in range(1, 6):
                ks.append(rhs(t + _C[i] * h, _combine(y, h, _A[i], ks)))
            tnew = tfinal if done else t + h
            h = tnew - t  # the step actually taken
            ynew = _combine(y, h, _B, ks)
            ks.append(rhs(tnew, ynew))
            ynew_np = np.asarray(ynew, dtype=np.float64)
            with np.errstate(all="ignore"):  # a non-finite estimate is a failed step below
                est = sum(e * np.asarray(k, dtype=np.float64) for e, k in zip(_E, ks) if e != 0.0)
                scale = np.maximum(np.maximum(np.abs(ynp), np.abs(ynew_np)), threshold)
                err = absh * _norm(est / scale)
            if math.isfinite(err) and err <= rtol:
                break
            # a failed step (or one that left the finite numbers): shrink it, as ode45 does
            if absh <= hmin:
                why = "the solution is not finite there" if not math.isfinite(err) else "the tolerances cannot be met"
                raise OptionError(
                    f"{op}: the step size fell below its minimum ({hmin:.3g}) at t = {t:.6g}: {why} "
                    f"(relative_tolerance={rtol:g}, absolute_tolerance={atol:g})"
                )
            if not math.isfinite(err):  # no estimate to scale by: the largest cut ode45 makes
                absh = max(hmin, 0.1 * absh)
            elif nofailed:
                absh = max(hmin, absh * max(0.1, 0.8 * (rtol / err) ** _POW))
            else:
                absh = max(hmin, 0.5 * absh)
            nofailed = False
            h = tdir * absh
            done = False
        # outputs within (t, tnew]
        while next_out < len(tvec) and (tvec[next_out] - tnew) * tdir <= 0:
            tout = float(tvec[next_out])
            if tout == tnew:
                outputs.append(ynew)
            else:
                s = (tout - t) / h
                powers = np.array([s, s * s, s**3, s**4])
                outputs.append(_combine(y, h, _BI @ powers, ks))
            next_out += 1
        if nofailed:
            temp = 1.25 * (err / rtol) ** _POW
            absh = absh / temp if temp > 0.2 else 5.0 * absh
        t, y, ynp, k1 = tnew, ynew, ynew_np, ks[6]

    if len(outputs) == 1:
        return outputs[0]
    out = stack([stripdims(o) if o.fmt else o for o in outputs], axis=-1)
    return dlarray(out, fmt + "T") if fmt else out


accept_matlab_names(globals())
