"""The shared driver of the fused update functions: flatten the parameters, gradients and
state, check that they match, apply learn-rate factors, run one Rust step over the whole set,
and rebuild the containers."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._core import ShapeError, dlarray
from ._params import align, as_dlarray, check_rows, leaf_paths, learn_rate_factors, leaves, rebuild, state_template

# kernel(params, grads, states, lrs) -> (new params, [new state k for each state])
Kernel = Callable[[List[dlarray], List[dlarray], List[List[Optional[dlarray]]], List[float]], Tuple[list, list]]


def _zeros_like(p: dlarray) -> dlarray:
    return dlarray(np.zeros(p.shape, dtype=p.dtype), p.fmt or None)


def fused_update(
    op: str,
    params: Any,
    grads: Any,
    states: Sequence[Tuple[str, Any]],
    learn_rate: float,
    kernel: Kernel,
) -> Tuple[Any, List[Any]]:
    """Runs ``kernel`` over every parameter at once; returns the new parameters (same container
    as ``params``) and each new state (container of the gradients for a network, otherwise of
    the parameters). ``states`` is ``[(name, container_or_None), ...]`` in kernel order."""
    if grads is None:
        raise ShapeError(f"{op}: the gradients are required (got None)")
    p_leaves = leaves(params)
    if not p_leaves:
        raise ShapeError(f"{op}: the parameters ({type(params).__name__}) contain no arrays")
    check_rows(op, "the gradients", params, grads)
    g_leaves = align(op, "the gradients", params, grads)
    s_leaves = []
    for name, s in states:
        # MATLAB's [] (None, or an empty list or tuple as MATLAB code writes it): zeros for
        # every parameter. The parameters hold arrays, so an empty container is no real state.
        if s is None or (type(s) in (list, tuple) and not s):
            s_leaves.append([None] * len(p_leaves))
            continue
        check_rows(op, name, params, s)
        s_leaves.append(align(op, name, params, s))

    paths = None
    ps = [as_dlarray(p) for p in p_leaves]
    gs, ss = [], [[] for _ in states]
    for i, p in enumerate(ps):
        g = g_leaves[i]
        if g is None:
            paths = paths or leaf_paths(params)
            raise ShapeError(f"{op}: no gradient for the parameter at {paths[i]}")
        g = as_dlarray(g)
        if g.shape != p.shape:
            paths = paths or leaf_paths(params)
            raise ShapeError(f"{op}: the gradient at {paths[i]} has shape {g.shape} but the parameter has shape {p.shape}")
        gs.append(g)
        for k, (name, _) in enumerate(states):
            s = s_leaves[k][i]
            if s is not None:
                s = as_dlarray(s)
                if s.shape != p.shape:
                    paths = paths or leaf_paths(params)
                    raise ShapeError(f"{op}: {name} at {paths[i]} has shape {s.shape} but the parameter has shape {p.shape}")
            ss[k].append(s)

    # Parameters whose learn-rate factor is 0 do not learn: like MATLAB's solvers, neither they
    # nor their state change.
    factors = learn_rate_factors(op, params, len(ps))
    active = [i for i, f in enumerate(factors) if f != 0.0]
    if len(active) == len(ps):
        new_p, new_s = kernel(ps, gs, ss, [learn_rate * f for f in factors])
    else:
        new_p = [p.copy() for p in ps]
        new_s = [[s.copy() if s is not None else _zeros_like(ps[i]) for i, s in enumerate(col)] for col in ss]
        if active:
            out_p, out_s = kernel(
                [ps[i] for i in active],
                [gs[i] for i in active],
                [[col[i] for i in active] for col in ss],
                [learn_rate * factors[i] for i in active],
            )
            for j, i in enumerate(active):
                new_p[i] = out_p[j]
                for k in range(len(states)):
                    new_s[k][i] = out_s[k][j]

    template = state_template(params, grads)
    return rebuild(params, new_p), [rebuild(template, col) for col in new_s]
