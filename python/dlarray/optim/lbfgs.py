"""``lbfgsupdate``: one iteration of MATLAB's limited-memory BFGS solver.

Each call computes a quasi-Newton direction from the stored updates (the two-loop
recursion), searches along it for a step size, and returns the updated parameters with a new
``lbfgsState``. The vector algebra runs on the parameters' own dlarrays (Rust ops, one per
parameter array), so it works for any container, dtype and device.
"""

from __future__ import annotations

import math
from typing import Any, Callable, List, Optional, Tuple

from .._core import OptionError, ShapeError, dlarray
from .._matlab_names import accept_matlab_names
from ._params import align, as_dlarray, check_rows, leaf_paths, leaves, rebuild
from .lbfgs_state import lbfgsState

__all__ = ["lbfgsupdate"]

_OP = "lbfgsupdate"
_METHODS = ("weak-wolfe", "strong-wolfe", "backtracking")
# Sufficient-decrease (Armijo) and curvature constants of the Wolfe conditions.
_C1 = 1e-4
_C2 = 0.9

Vec = List[dlarray]


def _dot(a: Vec, b: Vec) -> float:
    return float(sum(float((x * y).sum()) for x, y in zip(a, b)))


def _axpy(alpha: float, x: Vec, y: Vec) -> Vec:
    """alpha·x + y."""
    return [alpha * xi + yi for xi, yi in zip(x, y)]


def _scale(alpha: float, x: Vec) -> Vec:
    return [alpha * xi for xi in x]


class _Evaluation:
    """The loss function's outputs at one point."""

    def __init__(self, x: Vec, loss: Any, value: float, grads: Any, grad_leaves: Vec, extra: Tuple[Any, ...]):
        self.x, self.loss, self.value, self.grads, self.g, self.extra = x, loss, value, grads, grad_leaves, extra


def _evaluate(loss_fcn: Callable, template: Any, x: Vec, n_outputs: int) -> _Evaluation:
    out = loss_fcn(rebuild(template, x))
    if not isinstance(out, tuple) or len(out) < n_outputs:
        got = f"{len(out)} outputs" if isinstance(out, tuple) else f"a single {type(out).__name__}"
        raise OptionError(f"{_OP}: lossFcn must return (loss, gradients, ...) with {n_outputs} outputs, got {got}")
    loss, grads, *extra = out[:n_outputs]
    try:
        value = float(loss)
    except (TypeError, ValueError):
        raise ShapeError(f"{_OP}: lossFcn must return a real scalar loss, got {type(loss).__name__}") from None
    check_rows(_OP, "the gradients returned by lossFcn", template, grads)
    g = align(_OP, "the gradients returned by lossFcn", template, grads)
    paths = None
    for i, (gi, xi) in enumerate(zip(g, x)):
        if gi is None or tuple(gi.shape) != tuple(xi.shape):
            paths = paths or leaf_paths(template)
            got = "None" if gi is None else f"shape {tuple(gi.shape)}"
            raise ShapeError(f"{_OP}: lossFcn's gradient at {paths[i]} is {got} but the parameter has shape {xi.shape}")
    return _Evaluation(x, loss, value, grads, [as_dlarray(gi) for gi in g], tuple(extra))


def _direction(g: Vec, history, factor: float) -> Vec:
    """−H·g by the two-loop recursion, with H₀ = factor·I."""
    q = g
    alphas = []
    for s, y, _ in reversed(history):
        a = _dot(s, q) / _dot(y, s)
        alphas.append(a)
        q = _axpy(-a, y, q)
    r = _scale(factor, q)
    for (s, y, _), a in zip(history, reversed(alphas)):
        b = _dot(y, r) / _dot(y, s)
        r = _axpy(a - b, s, r)
    return _scale(-1.0, r)


def _line_search(
    method: str, max_iter: int, f0: float, slope0: float, x0: Vec, d: Vec, evaluate
) -> Tuple[Optional[_Evaluation], float, bool]:
    """Step size along ``d`` from ``x0``: returns (evaluation at the accepted point or None,
    step, whether the method's conditions were met). Starts from the unit step (the
    quasi-Newton step); bisects a bracket (Wolfe) or halves (backtracking)."""
    lo, hi, alpha = 0.0, math.inf, 1.0
    best: Optional[_Evaluation] = None
    best_alpha = 0.0
    for _ in range(max_iter):
        ev = evaluate(_axpy(alpha, d, x0))
        armijo = math.isfinite(ev.value) and ev.value <= f0 + _C1 * alpha * slope0
        if armijo and (best is None or ev.value < best.value):
            best, best_alpha = ev, alpha
        if method == "backtracking":
            if armijo:
                return ev, alpha, True
            alpha *= 0.5
            continue
        if not armijo:
            hi = alpha
        else:
            slope = _dot(ev.g, d)
            if slope < _C2 * slope0:
                lo = alpha  # still descending steeply: go further
            elif method == "strong-wolfe" and slope > -_C2 * slope0:
                hi = alpha  # overshot the minimum along d
            else:
                return ev, alpha, True
        alpha = 2.0 * lo if math.isinf(hi) else 0.5 * (lo + hi)
    return best, best_alpha, False


def lbfgsupdate(
    net: Any,
    loss_fcn: Callable[[Any], Tuple[Any, ...]],
    solver_state: Optional[lbfgsState] = None,
    *,
    line_search_method: str = "weak-wolfe",
    max_num_line_search_iterations: int = 20,
    num_loss_function_outputs: int = 2,
) -> Tuple[Any, lbfgsState]:
    """One L-BFGS iteration: ``net, solver_state = lbfgsupdate(net, loss_fcn, solver_state)``.

    MATLAB: ``[netUpdated,solverState] = lbfgsupdate(net,lossFcn,solverState,Name=Value)``
    (R2023a). ``net`` is a dlnetwork, learnables table, dlarray or any container of them;
    ``loss_fcn(net)`` returns ``(loss, gradients, ...)`` with ``gradients`` shaped like ``net``'s
    learnables — usually ``lambda net: dlfeval(model_loss, net, X, T)``. ``solver_state`` is an
    ``lbfgsState`` (``None`` creates the default one).

    Options: ``line_search_method`` ``"weak-wolfe"`` (default), ``"strong-wolfe"`` or
    ``"backtracking"``; ``max_num_line_search_iterations`` (20): evaluations of ``loss_fcn``
    per line search; ``num_loss_function_outputs`` (2): outputs taken from ``loss_fcn``, those
    after the gradients are kept in ``additional_loss_function_outputs``.

    Algorithm (details MATLAB does not document are our decisions): the direction is
    ``−H·g`` from the two-loop recursion over the last ``history_size`` updates, with
    ``H₀ = λI``, λ the state's ``initial_inverse_hessian_factor`` until the first update is
    stored and ``sᵀy / yᵀy`` of the latest one after. The line search starts from step 1 and
    bisects a bracket until the Wolfe conditions (c₁ = 1e-4, c₂ = 0.9) hold, or halves the step
    until sufficient decrease (backtracking). An update is stored only when ``sᵀy > 0``. When
    the search fails (``line_search_status == "failed"``) the best point found with sufficient
    decrease is taken, or the parameters stay unchanged. The loss and gradients at the
    returned parameters are kept in the state and reused by the next call, so each iteration
    costs only the line search's evaluations (plus one on the very first call). Learn-rate
    factors do not apply (as in MATLAB, L-BFGS has no learning rate).
    """
    state = lbfgsState() if solver_state is None else solver_state
    if not isinstance(state, lbfgsState):
        raise OptionError(f"{_OP}: solver_state must be an lbfgsState or None, got {type(state).__name__}")
    if line_search_method not in _METHODS:
        raise OptionError(f"{_OP}: line_search_method must be one of {list(_METHODS)}, got {line_search_method!r}")
    if (
        isinstance(max_num_line_search_iterations, bool)
        or not isinstance(max_num_line_search_iterations, int)
        or max_num_line_search_iterations < 1
    ):
        raise OptionError(f"{_OP}: max_num_line_search_iterations must be a positive integer, got {max_num_line_search_iterations!r}")
    if isinstance(num_loss_function_outputs, bool) or not isinstance(num_loss_function_outputs, int) or num_loss_function_outputs < 2:
        raise OptionError(f"{_OP}: num_loss_function_outputs must be an integer >= 2, got {num_loss_function_outputs!r}")
    if not callable(loss_fcn):
        raise OptionError(f"{_OP}: lossFcn must be a function, got {type(loss_fcn).__name__}")

    x0 = [as_dlarray(p) for p in leaves(net)]
    if not x0:
        raise ShapeError(f"{_OP}: the parameters ({type(net).__name__}) contain no arrays")

    def evaluate(x: Vec) -> _Evaluation:
        return _evaluate(loss_fcn, net, x, num_loss_function_outputs)

    # The loss and gradients at the current parameters: kept from the previous call when they
    # still fit these parameters, computed otherwise.
    g_prev = state._grad_leaves
    if g_prev is not None and len(g_prev) == len(x0) and all(tuple(g.shape) == tuple(x.shape) for g, x in zip(g_prev, x0)):
        start = _Evaluation(x0, state._loss, state._loss_value, state._gradients, g_prev, state._extra)
    else:
        start = evaluate(x0)

    history = state._history
    factor = state._factor
    d = _direction(start.g, history, factor)
    slope = _dot(start.g, d)
    if not slope < 0:  # not a descent direction (lost curvature information): restart
        history, factor = [], state._initial_factor
        d = _scale(-factor, start.g)
        slope = _dot(start.g, d)

    if slope == 0.0:  # zero gradient: already at a stationary point
        accepted, alpha, ok = None, 0.0, True
    else:
        accepted, alpha, ok = _line_search(line_search_method, max_num_line_search_iterations, start.value, slope, x0, d, evaluate)

    iteration = state._iteration + 1
    if accepted is None:
        end, step_norm = start, 0.0
    else:
        end = accepted
        s = _scale(alpha, d)
        y = _axpy(-1.0, start.g, end.g)
        sy = _dot(s, y)
        step_norm = math.sqrt(max(_dot(s, s), 0.0))
        if sy > 0:
            history = (list(history) + [(s, y, iteration)])[-state._history_size :]
            factor = sy / _dot(y, y)

    new_state = state._evolve(
        iteration=iteration,
        loss=end.loss,
        loss_value=end.value,
        gradients=end.grads,
        grad_leaves=end.g,
        extra=end.extra,
        step_norm=step_norm,
        gradients_norm=math.sqrt(max(_dot(end.g, end.g), 0.0)),
        status="completed" if ok else "failed",
        method=line_search_method,
        max_ls=max_num_line_search_iterations,
        history=history,
        factor=factor,
    )
    # Fresh objects either way, so the result never aliases the caller's arrays.
    return rebuild(net, [x.copy() for x in end.x] if end is start else end.x), new_state


accept_matlab_names(globals())
