"""The reductions ``spmdReduce`` knows by name, as MPI operations on numpy buffers.

MATLAB names them by function handle (``@plus``, ``@max``, ``@and``, ...); here a string
(``"plus"``, with or without MATLAB's ``@``), the matching Python or numpy function
(``operator.add``, ``np.add``, ``max``, ``np.maximum``, ``operator.and_``,
``np.logical_and``, ...) picks the same one. Each is elementwise across processes, as
MATLAB's ``fcn(A1, A2)`` is on arrays, and its result has a fixed type whatever the number
of processes, so a pool of one gives what a pool of many does:

* ``plus``/``times``: the leaf's dtype; bools are counted (Python ``int``, numpy int64), as
  MATLAB's ``plus`` of logicals gives numbers;
* ``max``/``min``: the leaf's dtype (for bools, ``or``/``and``); complex values have no order
  (``DTypeError``);
* ``and``/``or``: bool (nonzero is true, as MATLAB's); a dlarray keeps its dtype and
  format, holding 1 and 0.

float16 data is combined in float32 (MPI has no half type) and rounded back.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple, Optional

import numpy as np

from ..errors import DTypeError
from ._leaves import Leaf


class Reduction(NamedTuple):
    name: str  # MATLAB's function name
    mpi: str  # the mpi4py MPI.Op attribute
    combine: Any  # the numpy ufunc doing the same to two values

    def wire_dtype(self, leaf: Leaf, who: str) -> np.dtype:
        """The dtype the leaf's data travels in."""
        kind = leaf.dtype.kind
        if self.name in ("and", "or"):
            return np.dtype(np.bool_)
        if kind == "c" and self.name in ("max", "min"):
            raise DTypeError(
                f"{who}: '{self.name}' of complex values is undefined (complex numbers have no "
                f"order); got a {leaf.kind} of dtype {leaf.dtype}, shape {leaf.shape}"
            )
        if kind == "b" and self.name in ("plus", "times"):
            return np.dtype(np.int64)
        if leaf.dtype == np.float16:
            return np.dtype(np.float32)
        return leaf.dtype

    def result_dtype(self, leaf: Leaf) -> np.dtype:
        if self.name in ("and", "or"):
            return leaf.dtype if leaf.kind == "dlarray" else np.dtype(np.bool_)
        if leaf.dtype.kind == "b" and self.name in ("plus", "times"):
            return np.dtype(np.int64)
        return leaf.dtype

    def mpi_op(self, MPI: Any, wire: np.dtype) -> Any:
        if wire.kind == "b" and self.name in ("max", "min"):
            return MPI.LOR if self.name == "max" else MPI.LAND
        return getattr(MPI, self.mpi)


PLUS = Reduction("plus", "SUM", np.add)
TIMES = Reduction("times", "PROD", np.multiply)
MAX = Reduction("max", "MAX", np.maximum)
MIN = Reduction("min", "MIN", np.minimum)
AND = Reduction("and", "LAND", np.logical_and)
OR = Reduction("or", "LOR", np.logical_or)

BY_NAME = {r.name: r for r in (PLUS, TIMES, MAX, MIN, AND, OR)}
BY_NAME.update({"sum": PLUS, "+": PLUS, "prod": TIMES, "*": TIMES, "&": AND, "|": OR})
BY_FUNCTION = {
    operator.add: PLUS,
    np.add: PLUS,
    operator.mul: TIMES,
    np.multiply: TIMES,
    max: MAX,
    np.maximum: MAX,
    min: MIN,
    np.minimum: MIN,
    operator.and_: AND,
    np.logical_and: AND,
    operator.or_: OR,
    np.logical_or: OR,
}


def resolve(fn: Any, who: str) -> Optional[Reduction]:
    """The named reduction ``fn`` stands for; ``None`` for another callable (applied leaf by
    leaf, in rank order)."""
    if isinstance(fn, str):
        key = fn.strip().lstrip("@").lower()
        if key in BY_NAME:
            return BY_NAME[key]
        from ..errors import OptionError

        raise OptionError(
            f"{who}: unknown reduction {fn!r}; use one of 'plus', 'times', 'max', 'min', "
            f"'and', 'or' (MATLAB's @plus, ...), a matching function (operator.add, np.maximum, "
            f"...) or any function of two values"
        )
    try:
        named = BY_FUNCTION.get(fn)
    except TypeError:  # an unhashable callable
        named = None
    if named is not None:
        return named
    if not callable(fn):
        raise DTypeError(
            f"{who}: the reduction must be a name ('plus', 'max', 'and', ...) or a function of two values, got {type(fn).__name__}"
        )
    return None
