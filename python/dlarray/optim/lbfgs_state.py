"""``lbfgsState``: the state of MATLAB's L-BFGS solver, as an immutable value."""

from __future__ import annotations

import numbers
from typing import Any, List, Optional, Tuple

from .._core import OptionError, dlarray
from .._matlab_names import MatlabProperties, accept_matlab_names

__all__ = ["lbfgsState"]

# One stored update: the step s = x_{k+1} − x_k, the gradient difference y = g_{k+1} − g_k
# (each a list of arrays aligned with the parameters' leaves), and the iteration it came from.
HistoryEntry = Tuple[List[dlarray], List[dlarray], int]


class lbfgsState(MatlabProperties):
    """State of the L-BFGS solver used by ``lbfgsupdate``.

    MATLAB: ``solverState = lbfgsState`` (history size 10, initial inverse Hessian factor 1) and
    ``lbfgsState(HistorySize=..., InitialInverseHessianFactor=...)``; here
    ``lbfgsState(history_size=10, initial_inverse_hessian_factor=1)``.

    Read-only properties (MATLAB's names in snake_case): ``history_size``,
    ``initial_inverse_hessian_factor``, ``inverse_hessian_factor`` (the current λ of the
    approximation B⁻¹ ≈ λI the two-loop recursion starts from: the initial factor until the
    first stored update, then sᵀy / yᵀy of the latest one), ``iteration`` (updates done),
    ``loss`` and ``gradients`` (as returned by the loss function at the current parameters),
    ``additional_loss_function_outputs``, ``step_norm``, ``gradients_norm``,
    ``line_search_status`` (``""`` before the first update, then ``"completed"`` or
    ``"failed"``), ``line_search_method``, ``max_num_line_search_iterations``,
    ``step_history``, ``gradients_difference_history`` (lists, oldest first, each entry a list
    of arrays in the parameters' leaf order) and ``history_indices`` (the iterations they came
    from). ``lbfgsupdate`` returns a new state and never changes the one it was given.
    """

    def __init__(self, history_size: int = 10, initial_inverse_hessian_factor: float = 1.0):
        integral = isinstance(history_size, numbers.Integral) or (isinstance(history_size, float) and history_size.is_integer())
        if isinstance(history_size, bool) or not integral or history_size < 1:
            raise OptionError(f"lbfgsState: history_size must be a positive integer, got {history_size!r}")
        try:
            factor = float(initial_inverse_hessian_factor)
        except (TypeError, ValueError):
            raise OptionError(
                f"lbfgsState: initial_inverse_hessian_factor must be a positive number, got {initial_inverse_hessian_factor!r}"
            ) from None
        if not factor > 0 or factor == float("inf"):
            raise OptionError(f"lbfgsState: initial_inverse_hessian_factor must be a positive number, got {factor}")
        self._history_size = int(history_size)
        self._initial_factor = factor
        self._factor = factor
        self._iteration = 0
        self._loss: Optional[Any] = None
        self._loss_value: Optional[float] = None
        self._gradients: Optional[Any] = None
        self._grad_leaves: Optional[List[dlarray]] = None
        self._extra: Tuple[Any, ...] = ()
        self._step_norm: Optional[float] = None
        self._gradients_norm: Optional[float] = None
        self._status = ""
        self._method = "weak-wolfe"
        self._max_ls = 20
        self._history: List[HistoryEntry] = []

    def _evolve(self, **changes: Any) -> "lbfgsState":
        new = object.__new__(lbfgsState)
        new.__dict__.update(self.__dict__)
        new._history = list(self._history)
        for k, v in changes.items():
            setattr(new, "_" + k, v)
        return new

    history_size = property(lambda self: self._history_size)
    initial_inverse_hessian_factor = property(lambda self: self._initial_factor)
    inverse_hessian_factor = property(lambda self: self._factor)
    iteration = property(lambda self: self._iteration)
    loss = property(lambda self: self._loss)
    gradients = property(lambda self: self._gradients)
    additional_loss_function_outputs = property(lambda self: self._extra)
    step_norm = property(lambda self: self._step_norm)
    gradients_norm = property(lambda self: self._gradients_norm)
    line_search_status = property(lambda self: self._status)
    line_search_method = property(lambda self: self._method)
    max_num_line_search_iterations = property(lambda self: self._max_ls)
    step_history = property(lambda self: [s for s, _, _ in self._history])
    gradients_difference_history = property(lambda self: [y for _, y, _ in self._history])
    history_indices = property(lambda self: [k for _, _, k in self._history])

    def __repr__(self) -> str:
        loss = "[]" if self._loss_value is None else f"{self._loss_value:.6g}"
        return (
            f"lbfgsState(history_size={self._history_size}, initial_inverse_hessian_factor={self._initial_factor:g}, "
            f"iteration={self._iteration}, loss={loss}, line_search_status={self._status!r}, "
            f"stored_updates={len(self._history)})"
        )


accept_matlab_names(globals())
