"""dlfeval, dlgradient and the derivative helpers built on them (MATLAB's names and semantics).

Tracing is per thread: ``dlfeval`` opens a recording scope on the calling thread only, so
threads may run ``dlfeval`` concurrently.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator, Union

import numpy as np

from . import _core
from ._arguments import flag, show
from ._core import AutodiffError, FormatError, OptionError, dlarray
from ._matlab_names import accept_matlab_names
from ._tree import tree_leaves, tree_map, tree_replace

__all__ = ["dldivergence", "dlfeval", "dlgradient", "dljacobian", "dllaplacian", "dltrace"]

# Set on this thread while dlaccelerate traces a function: `in_dlfeval` says whether the
# accelerated function itself was called inside dlfeval.
_acceleration = threading.local()


@contextlib.contextmanager
def _tracing_for_acceleration(in_dlfeval: bool) -> Iterator[None]:
    """While dlaccelerate traces a function, ``dlgradient`` records its backward pass (so a
    replay recomputes the gradients) and still behaves as it does outside a trace."""
    previous = getattr(_acceleration, "in_dlfeval", None)
    _acceleration.in_dlfeval = in_dlfeval
    try:
        yield
    finally:
        _acceleration.in_dlfeval = previous


def dlfeval(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Evaluate ``fn(*args, **kwargs)`` with automatic differentiation enabled.

    Every dlarray reachable in the arguments (directly or inside dict/list/tuple, a dlnetwork
    or a learnables table) is traced; ``dlgradient`` inside ``fn`` differentiates with respect
    to them. The outputs come back untraced (MATLAB's behaviour). Nested calls work.
    """
    if not callable(fn):
        raise OptionError(f"dlfeval: the first argument must be a function to evaluate, got {show(fn)}")
    if getattr(_acceleration, "in_dlfeval", None) is not None:
        # Its arguments would become new leaves, cut from the accelerated function's inputs.
        raise AutodiffError(
            "dlfeval: cannot be called inside a function that dlaccelerate is tracing; accelerate the function "
            "dlfeval evaluates instead (dlfeval(dlaccelerate(f), ...))"
        )
    accelerated = getattr(fn, "_evaluate_in_dlfeval", None)
    if accelerated is not None and fn.enabled:
        return accelerated(args, kwargs)
    token = _core._trace_enter()
    try:
        traced_args = tree_map(lambda x: x._traced_leaf(), args)
        traced_kwargs = tree_map(lambda x: x._traced_leaf(), kwargs)
        out = fn(*traced_args, **traced_kwargs)
        return tree_map(lambda x: x._detach(), out)
    finally:
        _core._trace_exit(token)


def dlgradient(y: dlarray, *xs: Any, retain_data: bool = False, enable_higher_derivatives: bool = False):
    """Gradients of the real scalar ``y`` with respect to each of ``xs``.

    Each ``x`` is a traced dlarray or any container of them; its gradient has the same
    structure, shapes and formats. Several ``x`` give a tuple. Only valid inside ``dlfeval``.
    ``enable_higher_derivatives=True`` records the backward pass so that the gradients can be
    differentiated again. Without ``retain_data`` (and without higher derivatives) the trace
    is freed, so a second ``dlgradient`` over it raises ``AutodiffError``.
    """
    accelerating = getattr(_acceleration, "in_dlfeval", None)
    if not _core._in_dlfeval() or accelerating is False:
        raise AutodiffError("dlgradient: must be called inside a function evaluated by dlfeval")
    if not isinstance(y, dlarray):
        raise AutodiffError(f"dlgradient: y must be a dlarray, got {type(y).__name__}")
    if not xs:
        raise AutodiffError("dlgradient: give at least one array to differentiate with respect to")
    retain_data = flag(retain_data, "retain_data", "dlgradient")
    enable_higher_derivatives = flag(enable_higher_derivatives, "enable_higher_derivatives", "dlgradient")
    groups = []
    for i, x in enumerate(xs):
        leaves = tree_leaves(x)
        if not leaves:
            raise AutodiffError(f"dlgradient: input {i} ({type(x).__name__}) contains no dlarray")
        groups.append(leaves)
    flat = [leaf for g in groups for leaf in g]
    if accelerating is not None and not enable_higher_derivatives:
        # Recorded so that a replay recomputes them, yet constant to any later dlgradient, as
        # first-order gradients are.
        grads = [g._stop_gradient() for g in _core._gradient(y, flat, True, True, True)]
    else:
        grads = _core._gradient(y, flat, retain_data, enable_higher_derivatives)
    out, pos = [], 0
    for x, leaves in zip(xs, groups):
        out.append(tree_replace(x, grads[pos : pos + len(leaves)]))
        pos += len(leaves)
    return out[0] if len(out) == 1 else tuple(out)


def dltrace(y: dlarray) -> str:
    """The recorded operations that computed ``y``, one a line, in the order they ran.

    A debugging view of the trace inside ``dlfeval``: each line reads
    ``%3 = multiply(%1, %2)  [2, 3] float32`` (the op, its traced inputs by number, its
    attributes, the result's shape and dtype); the traced inputs of ``dlfeval`` show as
    ``leaf`` and arrays that are not traced as ``const[shape]``. Shapes are the core's
    row-major ones, whatever the formats. An untraced ``y`` gives an empty string.
    """
    if not isinstance(y, dlarray):
        raise OptionError(f"dltrace: y must be a dlarray, got {show(y)}")
    return _core._trace_listing(y)


def _operation_axis(u: dlarray, x: dlarray, dim: Union[int, str], enable_higher_derivatives: bool, op: str, x_has_axis: bool = True) -> int:
    """The 0-based axis ``dim`` names in ``u`` (and, if ``x_has_axis``, in ``x``), after
    checking the arguments every derivative helper takes."""
    if not isinstance(u, dlarray) or not isinstance(x, dlarray):
        bad = u if not isinstance(u, dlarray) else x
        raise AutodiffError(f"{op}: u and x must be dlarrays, got {type(bad).__name__}")
    flag(enable_higher_derivatives, "enable_higher_derivatives", op)
    if isinstance(dim, str):
        if len(dim) != 1 or dim.upper() not in "SCBTU":
            raise FormatError(f"{op}: dim must be one format label (S, C, B, T or U) or a 0-based int, got {dim!r}")
        axes = [i for i, c in enumerate(u.fmt) if c == dim.upper()]
        if len(axes) != 1:
            raise FormatError(f"{op}: dim '{dim}' must name exactly one dimension of format '{u.fmt}' (shape {tuple(u.shape)})")
        axis = axes[0]
    else:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
            raise OptionError(f"{op}: dim must be a format label or a 0-based int, got {show(dim)}")
        nd = u.ndim
        if not -nd <= dim < nd:
            raise FormatError(f"{op}: dim {dim} is out of range for shape {tuple(u.shape)}")
        axis = int(dim) % nd
    if x_has_axis and axis >= x.ndim:
        raise _core.ShapeError(f"{op}: x of shape {tuple(x.shape)} has no dim {axis} (u has shape {tuple(u.shape)})")
    return axis


def _component(u: dlarray, axis: int, i: int) -> dlarray:
    index = [slice(None)] * u.ndim
    index[axis] = slice(i, i + 1)
    return u[tuple(index)]


def dljacobian(u: dlarray, x: dlarray, dim: Union[int, str], enable_higher_derivatives: bool = True) -> dlarray:
    """Jacobian of ``u`` with respect to ``x``, observation by observation.

    ``dim`` is the operation dimension of ``u`` (0-based, or a format letter). The result has
    shape ``(u.shape[dim], *x.shape)``: ``J[i, ...]`` is the gradient of component ``i`` of
    ``u`` (summed over observations, which are independent) with respect to ``x``.
    """
    axis = _operation_axis(u, x, dim, enable_higher_derivatives, "dljacobian", x_has_axis=False)
    if u.shape[axis] == 0:
        return dlarray(np.zeros((0,) + tuple(x.shape), dtype=x.dtype))
    rows = [
        _core.stripdims(dlgradient(_component(u, axis, i).sum(), x, enable_higher_derivatives=enable_higher_derivatives, retain_data=True))
        for i in range(u.shape[axis])
    ]
    return _core.stack(rows, 0)


def dldivergence(u: dlarray, x: dlarray, dim: Union[int, str], enable_higher_derivatives: bool = True) -> dlarray:
    """Divergence ``sum_i du_i/dx_i`` per observation; the ``dim`` axis is reduced to size 1."""
    axis = _operation_axis(u, x, dim, enable_higher_derivatives, "dldivergence")
    if u.shape[axis] != x.shape[axis]:
        raise _core.ShapeError(f"dldivergence: u and x must have the same size along dim {dim}, got shapes {u.shape} and {x.shape}")
    total = None
    for i in range(u.shape[axis]):
        g = dlgradient(_component(u, axis, i).sum(), x, enable_higher_derivatives=enable_higher_derivatives, retain_data=True)
        term = _component(g, axis, i)
        total = term if total is None else total + term
    return _empty_sum(x, axis) if total is None else total


def dllaplacian(u: dlarray, x: dlarray, dim: Union[int, str], enable_higher_derivatives: bool = True) -> dlarray:
    """Laplacian ``sum_i d²u/dx_i²`` per observation of a one-channel ``u``."""
    axis = _operation_axis(u, x, dim, enable_higher_derivatives, "dllaplacian")
    if u.shape[axis] != 1:
        raise _core.ShapeError(f"dllaplacian: u must have one component along dim {dim}, got shape {u.shape}")
    g = dlgradient(u.sum(), x, enable_higher_derivatives=True, retain_data=True)
    total = None
    for i in range(x.shape[axis]):
        h = dlgradient(_component(g, axis, i).sum(), x, enable_higher_derivatives=enable_higher_derivatives, retain_data=True)
        term = _component(h, axis, i)
        total = term if total is None else total + term
    return _empty_sum(x, axis) if total is None else total


def _empty_sum(x: dlarray, axis: int) -> dlarray:
    """The sum of no components: zeros shaped like one component of ``x`` along ``axis``."""
    shape = tuple(1 if a == axis else s for a, s in enumerate(x.shape))
    z = np.zeros(shape, dtype=x.dtype)
    return dlarray(z, x.fmt) if x.fmt else dlarray(z)


accept_matlab_names(globals())
