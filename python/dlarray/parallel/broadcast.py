"""Start every process from the same parameters."""

from __future__ import annotations

from typing import Any

from .._matlab_names import accept_matlab_names
from ._collective import broadcast_into
from ._leaves import flatten
from .spmd import _rank
from .world import world

__all__ = ["broadcast"]


def broadcast(net_or_params: Any, source: int = 0) -> Any:
    """Process ``source``'s values of ``net_or_params`` on every process: a dlnetwork
    (learnables and state), a learnables table, a dict of parameters, optimizer state, ...

    Unlike ``spmdBroadcast``, every process passes its own value and keeps its own structure
    (its network object, layers and options): only the arrays travel, as raw bytes in a few
    buckets (``MPI_Bcast``). The structures must match (same rows, shapes, dtypes), which is
    checked first. Call it once after building the network, so that differently seeded
    initialisations cannot make the processes train different models."""
    w = world()
    src = _rank(source, "source", "broadcast", w)
    if not w.parallel:
        return net_or_params
    flat = flatten(net_or_params, "broadcast")
    values = broadcast_into(w, flat, src, "broadcast")
    return net_or_params if values is None else flat.rebuild(values)


accept_matlab_names(globals())
