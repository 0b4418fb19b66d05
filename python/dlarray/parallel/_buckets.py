"""Leaves laid end to end in one flat buffer per dtype, handed to MPI in large buckets.

A gradient set of hundreds of parameters becomes one contiguous buffer per dtype (a few at
most), copied in with one numpy call per parameter (scaled on the way in, when asked), and
reduced by MPI in place, ``BUCKET_BYTES`` at a time: one ``Allreduce`` per bucket, never one
per parameter. MPI reads and writes the numpy buffer directly (buffer protocol, no pickling)
and mpi4py releases the GIL while it works.

A reduction's results read the buffer they were reduced in (dlarrays through ``from_dlpack``),
so nothing is copied on the way out. Buffers are kept for the next call with the same layout
(a training loop reduces the same gradient set every step, a few layouts at a time), and a
kept buffer is used again once no result reads it any more: reduced in place, a buffer of an
``Allreduce`` is as fast as MPI's own, and reusing it spares the page faults of new memory.

Why in place: for a reduction into another buffer, Open MPI first copies the send buffer
into the receive buffer, which on loopback costs about as much as the reduction itself.
"""

from __future__ import annotations

import collections
import sys
import threading
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

# Tens of MB: large enough that MPI runs at full bandwidth, small enough to bound MPI's own
# temporaries and keep counts far below the 2**31 elements of an MPI int count.
BUCKET_BYTES = 32 << 20
_KEPT_LAYOUTS = 4
# Buffer sets kept per layout: those the results of the last steps still read, and one free.
_KEPT_SETS = 3


Buffers = Dict[np.dtype, np.ndarray]


def _references(buffers: Buffers) -> int:
    return max(sys.getrefcount(b) for b in buffers.values())


# What a buffer nothing else references counts (its dict, the loop, the call), measured the
# same way, so that the count does not depend on the interpreter's own reference habits.
_UNREAD = _references({np.dtype(np.float32): np.empty(1, np.float32)})


def _idle(buffers: Buffers) -> bool:
    """No result reads the set any more (only the set itself references its buffers)."""
    return not buffers or _references(buffers) <= _UNREAD


class Packing:
    """Where each leaf lives: ``places[i] = (dtype, start, stop)`` in the buffer of ``dtype``
    of a buffer set (one flat buffer per dtype)."""

    __slots__ = ("places", "totals", "order", "kept")

    def __init__(self, layout: Sequence[Tuple[np.dtype, int]]):
        totals: Dict[np.dtype, int] = {}
        self.places: List[Tuple[np.dtype, int, int]] = []
        for dtype, size in layout:
            start = totals.get(dtype, 0)
            self.places.append((dtype, start, start + size))
            totals[dtype] = start + size
        # Every process walks the buffers in the same order (sorted by dtype code).
        self.order = sorted(totals, key=lambda d: d.str)
        self.totals = totals
        self.kept: List[Buffers] = []

    def buffers(self) -> Buffers:
        """A buffer set no earlier result reads any more (kept or new)."""
        with _lock:
            for i in range(len(self.kept)):
                found = self.kept[i]
                if _idle(found):
                    return found
            made = {d: np.empty(self.totals[d], dtype=d) for d in self.order}
            self.kept.append(made)
            del self.kept[:-_KEPT_SETS]
            return made

    def pack(self, into: Buffers, arrays: Sequence[np.ndarray], scale: Optional[float] = None) -> None:
        """Copy (converting, and multiplying by ``scale`` if given) each array into place."""
        for a, (dtype, start, stop) in zip(arrays, self.places):
            dst = into[dtype][start:stop].reshape(a.shape)
            if dtype.kind == "b" and a.dtype.kind != "b":
                np.not_equal(a, 0, out=dst)  # MATLAB's logical(): nonzero is true
            elif scale is None:
                np.copyto(dst, a, casting="unsafe")
            else:
                np.multiply(a, scale, out=dst, casting="unsafe")

    def buckets(self, of: Buffers) -> Iterator[np.ndarray]:
        """Contiguous slices of at most ``BUCKET_BYTES``, buffer by buffer."""
        for dtype in self.order:
            buf = of[dtype]
            step = max(1, BUCKET_BYTES // dtype.itemsize)
            for start in range(0, buf.size, step):
                yield buf[start : start + step]

    def view(self, of: Buffers, i: int) -> np.ndarray:
        dtype, start, stop = self.places[i]
        return of[dtype][start:stop]


_lock = threading.Lock()
_kept: "collections.OrderedDict[tuple, Packing]" = collections.OrderedDict()


def packing(layout: Sequence[Tuple[np.dtype, int]]) -> Packing:
    """A packing for ``layout`` (a ``(dtype, size)`` per leaf), reused when seen recently."""
    key = tuple((d.str, n) for d, n in layout)
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    made = Packing(layout)
    with _lock:
        _kept[key] = made
        while len(_kept) > _KEPT_LAYOUTS:
            _kept.popitem(last=False)
    return made


def forget() -> None:
    """Drop the kept buffers (frees their memory)."""
    with _lock:
        _kept.clear()
