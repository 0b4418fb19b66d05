"""A small stand-in for MATLAB's ``categorical`` labels: ``categorical``, ``categories``,
``countcats``; ``onehotencode`` takes one and uses its class order.

A :class:`categorical` holds 0-based codes (``-1`` for an undefined label, MATLAB's
``<undefined>``) and the ordered category names::

    >>> from dlarray import categorical, categories, onehotencode
    >>> Y = categorical(["cat", "dog", "cat", "bird"], ["dog", "cat", "bird"])
    >>> categories(Y)
    ['dog', 'cat', 'bird']
    >>> Y.codes.tolist()
    [1, 0, 1, 2]
    >>> onehotencode(Y, 0).shape       # classes in Y's order along dim 0
    (3, 4)
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from .._arguments import show
from .._core import DlIndexError, DTypeError, OptionError, ShapeError
from .._matlab_names import accept_matlab_names

__all__ = ["categorical", "categories", "countcats"]


class categorical:  # noqa: N801 - MATLAB's name
    """MATLAB's ``categorical(A)``, ``categorical(A, valueset)`` and
    ``categorical(A, valueset, catnames)``.

    ``A`` is any array of labels (strings or numbers). ``valueset`` lists the categories in
    their order (default: the sorted distinct values of ``A``); values of ``A`` not in it are
    undefined (code -1). ``catnames`` renames the categories (one name per value).
    Indexing gives a categorical (or one name for a single element), ``==`` compares with a
    category name elementwise, ``len``, ``shape`` and iteration (over names) work as for an
    array, and ``numpy.asarray`` gives the names (``None`` where undefined).
    """

    __slots__ = ("codes", "_categories")

    def __init__(self, A: Any, valueset: Optional[Sequence[Any]] = None, catnames: Optional[Sequence[Any]] = None):
        op = "categorical"
        if isinstance(A, categorical):
            A = np.asarray(A)
        values = np.asarray(A)
        if values.dtype.kind not in "biufUSO":
            raise DTypeError(f"{op}: labels must be strings or numbers, got dtype {values.dtype}")
        if valueset is None:
            defined = [v for v in values.reshape(-1).tolist() if v is not None and v == v]
            cats = sorted(set(defined))
        else:
            if isinstance(valueset, (str, bytes)):
                raise OptionError(f"{op}: valueset must be a sequence of values, got the string {show(valueset)}")
            cats = list(np.asarray(valueset).reshape(-1).tolist())
            if len(set(cats)) != len(cats):
                raise OptionError(f"{op}: valueset has repeated values: {show(valueset)}")
        codes = np.full(values.shape, -1, dtype=np.int64)
        for k, c in enumerate(cats):
            codes[(values == c) & (codes < 0)] = k
        names = [str(c) for c in cats]
        if catnames is not None:
            names = [str(c) for c in np.asarray(catnames).reshape(-1).tolist()]
            if len(names) != len(cats):
                raise ShapeError(f"{op}: catnames has {len(names)} names for {len(cats)} values in valueset")
            if len(set(names)) != len(names):
                raise OptionError(f"{op}: catnames has repeated names: {names}")
        self.codes = codes
        self._categories = tuple(names)

    @classmethod
    def from_codes(cls, codes: Any, names: Sequence[str]) -> "categorical":
        """A categorical from 0-based codes (-1: undefined) and the category names."""
        codes = np.asarray(codes)
        if codes.dtype.kind not in "iu" or (codes.size and (codes.min() < -1 or codes.max() >= len(names))):
            raise DlIndexError(f"categorical.from_codes: codes must be integers from -1 to {len(names) - 1}")
        out = cls.__new__(cls)
        out.codes = codes.astype(np.int64)
        out._categories = tuple(str(n) for n in names)
        return out

    @property
    def categories(self) -> List[str]:
        return list(self._categories)

    @property
    def shape(self):
        return self.codes.shape

    @property
    def ndim(self) -> int:
        return self.codes.ndim

    @property
    def size(self) -> int:
        return int(self.codes.size)

    def isundefined(self) -> np.ndarray:
        """MATLAB's ``isundefined``: True where a label is not one of the categories."""
        return self.codes < 0

    def __len__(self) -> int:
        return len(self.codes)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        names = np.array([*self._categories, None], dtype=object)
        out = names[np.where(self.codes < 0, len(self._categories), self.codes)]
        return out if dtype is None else out.astype(dtype)

    def __iter__(self):
        return iter(np.asarray(self).tolist())

    def __getitem__(self, key: Any) -> Any:
        codes = self.codes[key]
        if np.ndim(codes) == 0:
            return None if codes < 0 else self._categories[int(codes)]
        return categorical.from_codes(codes, self._categories)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        if isinstance(other, categorical):
            return np.asarray(self) == np.asarray(other)
        if isinstance(other, str):
            k = self._categories.index(other) if other in self._categories else -2
            return self.codes == k
        return NotImplemented

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else ~eq

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"categorical({np.asarray(self).tolist()!r}, categories={list(self._categories)!r})"


def _as_categorical(C: Any, op: str) -> categorical:
    if not isinstance(C, categorical):
        raise DTypeError(f"{op}: expected a categorical, got {type(C).__name__}")
    return C


def categories(C: categorical) -> List[str]:
    """MATLAB's ``categories(C)``: the category names, in order."""
    return _as_categorical(C, "categories").categories


def countcats(C: categorical) -> np.ndarray:
    """MATLAB's ``countcats(C)``: how many labels fall in each category (undefined ones are
    not counted)."""
    C = _as_categorical(C, "countcats")
    codes = C.codes[C.codes >= 0]
    return np.bincount(codes, minlength=len(C.categories))


accept_matlab_names(globals())
