"""Before moving data, the processes check that they are in the same collective with values
of the same structure.

Each hashes what it is about to do (the function, its options, the structure of its value:
container kinds, keys, table rows, each leaf's kind, dtype and shape) and one ``Allreduce``
of two integers, ``max(h)`` and ``max(-h)``, tells every process whether all hashes are
equal. When they differ, every process learns it at the same moment, gathers the others'
accounts and raises the same ``SpmdMismatchError``, instead of handing MPI buffers of
different sizes (undefined behaviour, usually a hang) or adding unrelated arrays. The check
costs one tiny collective per call.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, List, Sequence, Tuple

import numpy as np

from ..errors import ShapeError


class SpmdMismatchError(ShapeError):
    """The processes of a pool called different collectives, or the same one with values of
    different structure (keys, table rows, shapes, dtypes). Raised on every process."""


def _hash(token: bytes) -> int:
    # 62 bits: h and -h both fit in int64, and neither is its minimum.
    return int.from_bytes(hashlib.blake2b(token, digest_size=8).digest(), "little") >> 2


def agree(world: Any, what: str, tokens: Sequence[Any], summary: Callable[[], str]) -> None:
    """Raise ``SpmdMismatchError`` on every process unless all are calling ``what`` with the
    same structure ``tokens``. ``summary()`` describes this process's value for the message
    (asked only when they differ)."""
    h = _hash(repr((what, tokens)).encode())
    both = np.array([h, -h], dtype=np.int64)
    world.comm.Allreduce(world.MPI.IN_PLACE, both, op=world.MPI.MAX)
    if both[0] == h and both[1] == -h:
        return
    accounts: List[Tuple[str, List[Any], str]] = world.comm.allgather((what, list(tokens), summary()))
    raise SpmdMismatchError(_explain(accounts))


def _explain(accounts: List[Tuple[str, List[Any], str]]) -> str:
    what0, tokens0, summary0 = accounts[0]
    lines = []
    for rank, (what, tokens, summary) in enumerate(accounts[1:], start=1):
        if what != what0:
            lines.append(f"process 0 called {what0} but process {rank} called {what}")
        elif tokens != tokens0:
            at = next((i for i, (a, b) in enumerate(zip(tokens0, tokens)) if a != b), min(len(tokens0), len(tokens)))
            mine = tokens0[at] if at < len(tokens0) else "(nothing more)"
            theirs = tokens[at] if at < len(tokens) else "(nothing more)"
            lines.append(
                f"{what0}: the values of process 0 ({summary0}) and process {rank} ({summary}) differ "
                f"in structure at item {at}: {mine} against {theirs}"
            )
    return (
        "dlarray.parallel: the processes disagree, so no data was exchanged: "
        + "; ".join(lines)
        + ". Every process must call the same collectives in the same order, with values of the same "
        "structure (dict keys, table rows, shapes, dtypes)."
    )
