"""Splitting data between processes: MATLAB's ``partition`` for datastores and mini-batch
queues, with 0-based part indices (``partition(x, spmdSize(), spmdIndex())``).

* ``partition(ds, n, i)`` of an ``arrayDatastore`` or combined datastore is its ``i``-th of
  ``n`` contiguous blocks of observations (block sizes differ by at most one, the first ones
  being larger), as MATLAB's. Each process then builds its own queue, with its own
  mini-batch size, as MATLAB's parallel example does.
* ``partition(mbq, n, i)``, or ``minibatchqueue(..., partition=(n, i))``, splits *every
  mini-batch* of the queue into ``n`` shares and gives this process share ``i``: the queue's
  ``mini_batch_size`` stays the size of the whole (global) mini-batch, and the shares of the
  ``n`` processes together are exactly the mini-batch one process would read (share sizes
  differ by at most one, for the last, partial mini-batch too). So N processes train on the
  same mini-batches as one, and ``mbq.normalization_factor`` (the share's fraction ``n_i /
  N`` of the last mini-batch) weighs its results. MATLAB's ``partition(mbq, ...)`` instead
  keeps the full mini-batch size for each part over a contiguous block of the data; that
  behaviour is the datastore route above. When the last mini-batch has fewer observations
  than there are processes, some get none of it: their ``hasdata()`` is False, and
  ``spmdReduce("and", mbq.hasdata())`` ends the epoch on all.
* A partitioned queue's ``shuffle()`` draws the same order on every process: each shuffle's
  order comes from the queue's ``shuffle_seed`` and the number of shuffles so far. Without a
  ``shuffle_seed`` one is drawn from numpy's global random state by process 0 and broadcast
  to the others when the queue is made, so every process must make it (a collective call);
  the parts of one queue (``partition(mbq, n, i)`` for each ``i``) share the seed of their
  queue.
"""

from __future__ import annotations

import operator
from typing import Optional, Tuple

import numpy as np

from .. import _random
from .._matlab_names import accept_matlab_names

__all__ = ["BatchShare", "agreed_seed", "block", "epoch_rng", "partition"]


def _part(num_parts, index, who: str) -> Tuple[int, int]:
    try:
        n, i = operator.index(num_parts), operator.index(index)
    except TypeError:
        raise TypeError(
            f"{who}: the number of parts and the part index must be integers, got {type(num_parts).__name__} and {type(index).__name__}"
        ) from None
    if n < 1:
        raise ValueError(f"{who}: the number of parts must be at least 1, got {n}")
    if not 0 <= i < n:
        raise ValueError(
            f"{who}: part index {i} is out of range for {n} parts; indices are 0-based "
            f"(0 to {n - 1}; MATLAB's spmdIndex counts from 1, dlarray's spmdIndex() from 0)"
        )
    return n, i


def block(count: int, num_parts: int, index: int) -> Tuple[int, int]:
    """``[start, stop)`` of part ``index`` when ``count`` items are cut into ``num_parts``
    contiguous blocks whose sizes differ by at most one (larger ones first)."""
    q, r = divmod(count, num_parts)
    start = index * q + min(index, r)
    return start, start + q + (1 if index < r else 0)


class BatchShare:
    """Part ``index`` of ``num_parts`` of every mini-batch."""

    __slots__ = ("num_parts", "index")

    def __init__(self, num_parts, index, who: str = "minibatchqueue"):
        self.num_parts, self.index = _part(num_parts, index, who)

    @classmethod
    def of(cls, partition, who: str = "minibatchqueue") -> "BatchShare":
        try:
            n, i = partition
        except (TypeError, ValueError):
            raise TypeError(
                f"{who}: partition must be a pair (number of parts, part index), such as (spmdSize(), spmdIndex()); got {partition!r}"
            ) from None
        return cls(n, i, who)

    def window(self, available: int, batch: int, partial: str) -> Optional[Tuple[int, int, int]]:
        """For the next mini-batch of ``min(batch, available)`` observations: this part's
        ``(start, stop)`` within it and the mini-batch's size; ``None`` when this part has no
        observation of it (or the mini-batch is partial and partial ones are discarded)."""
        count = min(batch, available)
        if count <= 0 or (partial == "discard" and count < batch):
            return None
        start, stop = block(count, self.num_parts, self.index)
        return None if stop == start else (start, stop, count)

    def num_batches(self, total: int, batch: int, partial: str) -> int:
        full, rest = divmod(total, batch)
        if partial == "discard" or rest == 0:
            return full
        start, stop = block(rest, self.num_parts, self.index)
        return full + (1 if stop > start else 0)

    def nominal_factor(self, batch: int) -> float:
        start, stop = block(batch, self.num_parts, self.index)
        return (stop - start) / batch

    def __repr__(self) -> str:
        return f"({self.num_parts}, {self.index})"


def agreed_seed() -> int:
    """A shuffle seed drawn from numpy's global random state, process 0's on every process
    of a pool (a collective in a pool of several)."""
    seed = _random.integer_seed()
    from ..parallel.world import world

    w = world()
    if w.parallel:
        from ..parallel.spmd import spmdBroadcast

        seed = spmdBroadcast(seed)
    return seed


def epoch_rng(seed: int, shuffles: int) -> np.random.Generator:
    """The random generator of shuffle number ``shuffles`` of a queue seeded ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, shuffles]))


def partition(data, num_parts, index):
    """Part ``index`` (0-based) of ``num_parts`` of a datastore or ``minibatchqueue``
    (MATLAB's ``partition``; the module notes tell how each is split)."""
    from .datastore import _RandomAccessDatastore
    from .minibatchqueue import minibatchqueue

    if isinstance(data, minibatchqueue):
        return data.partition(num_parts, index)
    if isinstance(data, _RandomAccessDatastore):
        n, i = _part(num_parts, index, "partition")
        start, stop = block(data.numobservations, n, i)
        return data.subset(np.arange(start, stop))
    method = getattr(data, "partition", None)
    if callable(method):
        return method(num_parts, index)
    raise TypeError(
        f"partition: expected an arrayDatastore, a combined datastore, a minibatchqueue or an object "
        f"with a partition(num_parts, index) method; got {type(data).__name__}"
    )


accept_matlab_names(globals())
