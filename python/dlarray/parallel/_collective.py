"""Reduce and broadcast whole values: check agreement, pack the leaves into buckets, one MPI
call per bucket, unpack into values of the leaves' own kinds."""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from ._agree import agree
from ._buckets import packing
from ._leaves import Flat, fill_slots, flatten, make_leaf, with_slots
from ._ops import Reduction
from .world import World


def _sizes(flat: Flat) -> List[int]:
    return [int(a.size) for a in flat.arrays]


def reduce(
    world: World, flat: Flat, reduction: Reduction, who: str, *, scale: Optional[float] = None, destination: Optional[int] = None
) -> Optional[List[Any]]:
    """The leaves of ``flat`` combined over the pool with ``reduction`` (each multiplied by
    ``scale`` first, if given): a value per leaf, of the leaf's kind; ``None`` on the
    processes other than ``destination`` when one is given."""
    if world.parallel:
        what = who + (f"('{reduction.name}')" if who == "spmdReduce" else "")
        if destination is not None:
            what += f" to destination {destination}"
        agree(world, what, flat.tokens, flat.describe)
    wires = [reduction.wire_dtype(leaf, who) for leaf in flat.leaves]
    pk = packing(list(zip(wires, _sizes(flat))))
    buffers = pk.buffers()
    pk.pack(buffers, flat.arrays, scale)
    if world.parallel:
        MPI, comm = world.MPI, world.comm
        for bucket in pk.buckets(buffers):
            op = reduction.mpi_op(MPI, bucket.dtype)
            if destination is None:
                comm.Allreduce(MPI.IN_PLACE, bucket, op=op)
            elif world.rank == destination:
                comm.Reduce(MPI.IN_PLACE, bucket, op=op, root=destination)
            else:
                comm.Reduce(bucket, None, op=op, root=destination)
    if destination is not None and world.rank != destination:
        return None
    # The results read the buffers they were reduced in; the next call takes other buffers
    # while these are read.
    return [make_leaf(pk.view(buffers, i), leaf, reduction.result_dtype(leaf), owned=True) for i, leaf in enumerate(flat.leaves)]


def _broadcast_leaves(world: World, arrays: Optional[List[np.ndarray]], leaves: List[Any], source: int) -> Optional[List[Any]]:
    """The arrays of process ``source`` (``arrays``, ignored elsewhere) as values of the
    ``leaves``' kinds on every other process; ``None`` on ``source``."""
    pk = packing([(leaf.dtype, int(np.prod(leaf.shape, dtype=np.int64))) for leaf in leaves])
    buffers = pk.buffers()
    if world.rank == source:
        pk.pack(buffers, arrays)
    # A broadcast copies bytes: any dtype travels as MPI.BYTE (float16 included).
    for bucket in pk.buckets(buffers):
        world.comm.Bcast([bucket.view(np.uint8), world.MPI.BYTE], root=source)
    if world.rank == source:
        return None
    return [make_leaf(pk.view(buffers, i), leaf, owned=True) for i, leaf in enumerate(leaves)]


def broadcast_into(world: World, flat: Flat, source: int, who: str) -> Optional[List[Any]]:
    """The leaf values of process ``source`` on every other process, each process giving the
    structure (checked equal); ``None`` on ``source``, whose values are the result."""
    agree(world, f"{who} from source {source}", flat.tokens, flat.describe)
    return _broadcast_leaves(world, flat.arrays, flat.leaves, source)


def broadcast_value(world: World, value: Any, source: int, who: str) -> Any:
    """``value`` of process ``source`` on every process; the others' ``value`` is ignored."""
    agree(world, f"{who} from source {source}", [], str)
    if world.rank == source:
        flat = flatten(value, who, numeric_only=False)
        header = (with_slots(flat), flat.leaves)
    else:
        flat, header = None, None
    skeleton, leaves = world.comm.bcast(header, root=source)
    values = _broadcast_leaves(world, flat.arrays if flat is not None else None, leaves, source)
    if world.rank == source:
        return value
    return fill_slots(skeleton, values)
