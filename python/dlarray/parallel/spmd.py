"""MATLAB's spmd functions: who am I, how many are we, and collectives on whole values.

Every function takes a dlarray, a numpy array, a Python or numpy scalar, or any container of
them (dict, list, tuple, a learnables/state table, a dlnetwork), and returns the same
structure with new values. All processes of the pool must call the same collectives in the
same order, with values of the same structure; when they do not, every process raises
``SpmdMismatchError`` (no data is exchanged). In a pool of one (no ``mpirun``) each function
returns what a pool of many would, computed from this process's value alone.

Ranks are **0-based** (MATLAB's ``spmdIndex`` is 1-based): ``spmdIndex()`` runs from 0 to
``spmdSize() - 1``, and so do ``source`` and ``destination``.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from .._matlab_names import accept_matlab_names
from ..errors import OptionError
from ._agree import agree
from ._collective import broadcast_value, reduce
from ._leaves import flatten
from ._ops import PLUS, resolve
from .world import World, world

__all__ = ["spmdBarrier", "spmdBroadcast", "spmdIndex", "spmdPlus", "spmdReduce", "spmdSize"]


def spmdIndex() -> int:
    """This process's rank in the pool, **0-based**: ``0 <= spmdIndex() < spmdSize()``
    (MATLAB's ``spmdIndex`` counts from 1). 0 in a pool of one."""
    return world().rank


def spmdSize() -> int:
    """The number of processes in the pool (MATLAB's ``spmdSize``); 1 without ``mpirun``."""
    return world().size


def _rank(value: Any, name: str, who: str, w: World) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise OptionError(f"{who}: {name} must be a process rank (an int), got {type(value).__name__}")
    rank = int(value.__index__())
    if not 0 <= rank < w.size:
        raise OptionError(
            f"{who}: {name}={rank} is not a rank of this pool of {w.size} process"
            f"{'es' if w.size != 1 else ''}; ranks are 0-based, 0 to {w.size - 1}"
        )
    return rank


def spmdPlus(x: Any, destination: Optional[int] = None) -> Any:
    """The sum of ``x`` over all processes, on every process (MATLAB's ``spmdPlus``); with
    ``destination``, only that process gets it and the others get ``None``.

    ``x`` is any value of the supported kinds (see the module notes): a dict of gradients, a
    learnables table, a loss. Leaves are packed into one buffer per dtype and summed with
    one ``MPI_Allreduce`` per bucket of tens of MB. Bools are counted (the sum of ``True`` on
    every process is the number of processes)."""
    w = world()
    dest = _rank(destination, "destination", "spmdPlus", w)
    flat = flatten(x, "spmdPlus")
    values = reduce(w, flat, PLUS, "spmdPlus", destination=dest)
    return None if values is None else flat.rebuild(values)


def spmdReduce(fn: Any, x: Any, destination: Optional[int] = None) -> Any:
    """``fn`` applied across the processes' values of ``x`` (MATLAB's ``spmdReduce``).

    ``fn``: ``"plus"``, ``"times"``, ``"max"``, ``"min"``, ``"and"``, ``"or"`` (MATLAB's
    ``@plus``, ... — the ``@`` may be written), or the matching function (``operator.add``,
    ``np.maximum``, ``max``, ``operator.and_`` as MATLAB's logical ``@and``, ...): one
    ``MPI_Allreduce`` per bucket, elementwise. Any other function of two values is applied
    leaf by leaf in rank order, ``fn(fn(x0, x1), x2)...``, after gathering every process's
    leaves (slower: for small values). ``while spmdReduce("and", mbq.hasdata()):`` ends an
    epoch on every process as soon as one has no data left. With ``destination`` only that
    process gets the result; the others get ``None``."""
    w = world()
    reduction = resolve(fn, "spmdReduce")
    dest = _rank(destination, "destination", "spmdReduce", w)
    flat = flatten(x, "spmdReduce", numeric_only=reduction is not None)
    if reduction is not None:
        values = reduce(w, flat, reduction, "spmdReduce", destination=dest)
        return None if values is None else flat.rebuild(values)
    mine = flat.values()
    if w.parallel:
        agree(w, f"spmdReduce(function {getattr(fn, '__qualname__', type(fn).__name__)})", flat.tokens, flat.describe)
        everyone = w.comm.allgather(mine)
    else:
        everyone = [mine]
    if dest is not None and w.rank != dest:
        return None
    return flat.rebuild([functools.reduce(fn, [values[k] for values in everyone]) for k in range(len(mine))])


def spmdBroadcast(x: Any = None, source: int = 0) -> Any:
    """Process ``source``'s ``x`` on every process (MATLAB's ``spmdBroadcast(source, x)``,
    with ``x`` first); the other processes' ``x`` is ignored (pass ``None``). The structure
    travels pickled, the arrays as raw bytes in buckets (``MPI_Bcast``). ``source`` gets its
    own ``x`` back."""
    w = world()
    src = _rank(source, "source", "spmdBroadcast", w)
    if not w.parallel:
        return x
    return broadcast_value(w, x, src, "spmdBroadcast")


def spmdBarrier() -> None:
    """Wait until every process of the pool has reached this call (MATLAB's
    ``spmdBarrier``); a process calling another collective instead is reported on all."""
    w = world()
    if w.parallel:
        # The agreement's Allreduce completes only once every process has contributed.
        agree(w, "spmdBarrier", [], str)


accept_matlab_names(globals())
