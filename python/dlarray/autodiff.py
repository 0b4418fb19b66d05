"""dlfeval, dlgradient and the derivative helpers built on them (MATLAB's names and semantics).

Tracing is per thread: ``dlfeval`` opens a recording scope on the calling thread only, so
threads may run ``dlfeval`` concurrently.
"""

from __future__ import annotations

from typing import Any, Callable, Union

from . import _core
from ._core import AutodiffError, FormatError, dlarray
from ._tree import tree_leaves, tree_map, tree_replace


def dlfeval(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Evaluate ``fn(*args, **kwargs)`` with automatic differentiation enabled.

    Every dlarray reachable in the arguments (directly or inside dict/list/tuple, a dlnetwork
    or a learnables table) is traced; ``dlgradient`` inside ``fn`` differentiates with respect
    to them. The outputs come back untraced (MATLAB's behaviour). Nested calls work.
    """
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
    if not _core._in_dlfeval():
        raise AutodiffError("dlgradient: must be called inside a function evaluated by dlfeval")
    if not isinstance(y, dlarray):
        raise AutodiffError(f"dlgradient: y must be a dlarray, got {type(y).__name__}")
    if not xs:
        raise AutodiffError("dlgradient: give at least one array to differentiate with respect to")
    groups = []
    for i, x in enumerate(xs):
        leaves = tree_leaves(x)
        if not leaves:
            raise AutodiffError(f"dlgradient: input {i} ({type(x).__name__}) contains no dlarray")
        groups.append(leaves)
    flat = [leaf for g in groups for leaf in g]
    grads = _core._gradient(y, flat, retain_data, enable_higher_derivatives)
    out, pos = [], 0
    for x, leaves in zip(xs, groups):
        out.append(tree_replace(x, grads[pos : pos + len(leaves)]))
        pos += len(leaves)
    return out[0] if len(out) == 1 else tuple(out)


def _operation_axis(u: dlarray, dim: Union[int, str], op: str) -> int:
    if isinstance(dim, str):
        axes = _core.finddim(u, dim)
        if len(axes) != 1:
            raise FormatError(f"{op}: dim '{dim}' must name exactly one dimension of format '{u.fmt}'")
        return axes[0]
    nd = u.ndim
    if not -nd <= dim < nd:
        raise FormatError(f"{op}: dim {dim} is out of range for shape {u.shape}")
    return dim % nd


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
    axis = _operation_axis(u, dim, "dljacobian")
    rows = [
        _core.stripdims(dlgradient(_component(u, axis, i).sum(), x, enable_higher_derivatives=enable_higher_derivatives, retain_data=True))
        for i in range(u.shape[axis])
    ]
    return _core.stack(rows, 0)


def dldivergence(u: dlarray, x: dlarray, dim: Union[int, str], enable_higher_derivatives: bool = True) -> dlarray:
    """Divergence ``sum_i du_i/dx_i`` per observation; the ``dim`` axis is reduced to size 1."""
    axis = _operation_axis(u, dim, "dldivergence")
    if u.shape[axis] != x.shape[axis]:
        raise _core.ShapeError(
            f"dldivergence: u and x must have the same size along dim {dim}, got shapes {u.shape} and {x.shape}"
        )
    total = None
    for i in range(u.shape[axis]):
        g = dlgradient(_component(u, axis, i).sum(), x, enable_higher_derivatives=enable_higher_derivatives, retain_data=True)
        term = _component(g, axis, i)
        total = term if total is None else total + term
    return total


def dllaplacian(u: dlarray, x: dlarray, dim: Union[int, str], enable_higher_derivatives: bool = True) -> dlarray:
    """Laplacian ``sum_i d²u/dx_i²`` per observation of a one-channel ``u``."""
    axis = _operation_axis(u, dim, "dllaplacian")
    if u.shape[axis] != 1:
        raise _core.ShapeError(f"dllaplacian: u must have one component along dim {dim}, got shape {u.shape}")
    g = dlgradient(u.sum(), x, enable_higher_derivatives=True, retain_data=True)
    total = None
    for i in range(x.shape[axis]):
        h = dlgradient(_component(g, axis, i).sum(), x, enable_higher_derivatives=enable_higher_derivatives, retain_data=True)
        term = _component(h, axis, i)
        total = term if total is None else total + term
    return total
