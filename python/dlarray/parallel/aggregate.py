"""Combining what each process computed on its share of a mini-batch: MATLAB's
``aggregateGradients`` and ``aggregateState`` (from its example "Train Network in Parallel
with Custom Training Loop").

Process ``i`` evaluates the loss on ``n_i`` of the mini-batch's ``N`` observations and weighs
its results by ``factor = n_i / N`` (``mbq.normalization_factor`` of a partitioned
``minibatchqueue``). Since a loss averaged over the mini-batch is the ``factor``-weighted
sum of the shares' averages, so is its gradient:

    g = spmdPlus(factor * g_i)

Batch normalisation's statistics are merged as MATLAB does, per channel, mean first:

    mean     = spmdPlus(factor * mean_i)
    variance = spmdPlus(factor * (variance_i + (mean_i - mean)**2))

which is the law of total variance: for the shares' batch means and (biased) variances it
gives exactly the mean and variance of the whole mini-batch, for shares of any sizes. On the
running statistics ``TrainedMean``/``TrainedVariance`` (what ``net.forward`` returns as
state) the mean is exact and the variance is MATLAB's merge.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Dict, List, Tuple

import numpy as np

from .._matlab_names import accept_matlab_names
from ..errors import DTypeError, OptionError
from ._collective import reduce
from ._leaves import Flat, flatten, make_leaf
from ._ops import PLUS
from .world import world

__all__ = ["aggregate_gradients", "aggregate_state"]


def _factor(factor: Any, who: str) -> float:
    try:
        value = float(factor)
    except (TypeError, ValueError):
        raise DTypeError(
            f"{who}: factor must be a real number (this process's share of the mini-batch, n_i / N), got {type(factor).__name__}"
        ) from None
    if not math.isfinite(value):
        raise OptionError(f"{who}: factor must be finite, got {value}")
    return value


def _check_floating(flat: Flat, who: str, what: str) -> None:
    for leaf in flat.leaves:
        if leaf.dtype.kind not in "fc":
            raise DTypeError(f"{who}: {what} must be floating-point arrays; found a {leaf.kind} of dtype {leaf.dtype}, shape {leaf.shape}")


def aggregate_gradients(grads: Any, factor: Any = 1.0) -> Any:
    """``spmdPlus(factor * grads)`` for the whole gradient set at once: the gradients of
    every process, weighted by their ``factor``, summed, on every process, in the structure
    of ``grads`` (a learnables table, a dict, ...).

    The gradients are scaled while being copied into one flat buffer per dtype and reduced
    in place with one ``MPI_Allreduce`` per bucket (tens of MB); the new dlarrays read that
    buffer without a copy. In a pool of one, ``grads`` is returned as it is when ``factor``
    is 1."""
    f = _factor(factor, "aggregate_gradients")
    w = world()
    if not w.parallel and f == 1.0:
        return grads
    flat = flatten(grads, "aggregate_gradients")
    _check_floating(flat, "aggregate_gradients", "gradients")
    return flat.rebuild(reduce(w, flat, PLUS, "aggregate_gradients", scale=f))


def _statistics(state: Any, mean: str, variance: str, who: str) -> List[Tuple[Any, Any]]:
    """Where the (mean, variance) pairs are: ``(mean key, variance key)`` rows of a state
    table (layers with both parameters), or ``(path, None)`` for each dict (at any depth)
    holding both keys."""
    from ..network.table import Table

    if isinstance(state, Table):
        rows = set(state.keys())
        return [((layer, mean), (layer, variance)) for layer, parameter in state.keys() if parameter == mean and (layer, variance) in rows]
    if isinstance(state, dict):
        found: List[Tuple[Any, Any]] = []

        def visit(d: Dict[Any, Any], path: Tuple[Any, ...]) -> None:
            if mean in d and variance in d:
                found.append((path, None))
            for k, v in d.items():
                if isinstance(v, dict):
                    visit(v, path + (k,))

        visit(state, ())
        return found
    raise DTypeError(f"{who}: expected a state table (net.state, or the state that dlfeval returns) or a dict; got {type(state).__name__}")


def _node(state: Dict[Any, Any], path: Tuple[Any, ...]) -> Dict[Any, Any]:
    for k in path:
        state = state[k]
    return state


def aggregate_state(state: Any, factor: Any = 1.0, *, mean: str = "TrainedMean", variance: str = "TrainedVariance") -> Any:
    """The network state with batch normalisation's statistics merged over the processes
    (MATLAB's ``aggregateState``; formulas in the module notes), the same on every process.

    ``state``: a state table (the state ``net.forward(..., return_state=True)`` gives), whose
    layers with both a ``mean`` and a ``variance`` row are merged; or a dict in which every
    (nested) dict holding both keys is merged. Other state (an LSTM's hidden state, ...)
    stays each process's own, as in MATLAB's example. ``factor`` is this process's share of
    the mini-batch, ``n_i / N``. Two collectives in all (the means, then the variances)."""
    who = "aggregate_state"
    f = _factor(factor, who)
    w = world()
    if not w.parallel and f == 1.0:
        return state
    places = _statistics(state, mean, variance, who)
    if isinstance(state, dict):
        pairs = [(_node(state, path)[mean], _node(state, path)[variance]) for path, _ in places]
    else:
        pairs = [(state[mk], state[vk]) for mk, vk in places]
    means, variances = flatten([m for m, _ in pairs], who), flatten([v for _, v in pairs], who)
    _check_floating(means, who, f"the '{mean}' values")
    _check_floating(variances, who, f"the '{variance}' values")
    for m, v, (mk, _) in zip(means.leaves, variances.leaves, places):
        if m.shape != v.shape or m.dtype != v.dtype:
            raise OptionError(f"{who}: '{mean}' and '{variance}' of {mk!r} differ: {m.shape} {m.dtype} against {v.shape} {v.dtype}")
    merged = reduce(w, flatten(means.arrays, who), PLUS, who, scale=f)
    terms = [np.square(mu - mbar) + var for mu, var, mbar in zip(means.arrays, variances.arrays, merged)]
    merged_var = reduce(w, flatten(terms, who), PLUS, who, scale=f)
    new_means = [make_leaf(m, leaf) for m, leaf in zip(merged, means.leaves)]
    new_vars = [make_leaf(v, leaf) for v, leaf in zip(merged_var, variances.leaves)]
    if isinstance(state, dict):
        out = copy.copy(state)
        for (path, _), m, v in zip(places, new_means, new_vars):
            node = out
            for k in path:  # copy the dicts on the way, leaving ``state`` unchanged
                node[k] = copy.copy(node[k])
                node = node[k]
            node[mean], node[variance] = m, v
        return out
    out = state.copy()
    for (mk, vk), m, v in zip(places, new_means, new_vars):
        out[mk], out[vk] = m, v
    return out


accept_matlab_names(globals())
