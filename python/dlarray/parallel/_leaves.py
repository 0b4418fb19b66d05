"""The value a collective works on, taken apart into arrays and put back together.

Leaves are dlarrays, numpy arrays, numpy scalars and Python ``bool``/``int``/``float``/
``complex``. Containers are dicts (subclasses keep their type), lists, tuples (named tuples
too) and objects that expose their arrays through ``__dlarray_tree__`` (learnables and state
tables, dlnetwork). Everything else (``None``, strings, layers' options) is static: kept as it
is. Dicts whose keys are all strings are visited in sorted key order, so processes that built
the same dict in different orders still line their arrays up; the rebuilt dict keeps its own
order.

``flatten`` also writes down the structure (container kinds, keys, table rows, each leaf's
kind, dtype, shape and format) as tokens, which the processes compare before moving data.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from .._core import dlarray, from_dlpack
from ..errors import DTypeError

_PYTHON_SCALARS = (bool, int, float, complex)
_PYTHON_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: np.dtype(np.float64), complex: np.dtype(np.complex128)}
NUMERIC_KINDS = "biufc"


class Leaf(NamedTuple):
    """What a leaf was, so that its result can be made the same kind of value."""

    kind: str  # "dlarray", "ndarray", "numpy scalar" or "python scalar"
    dtype: np.dtype  # of its data
    shape: Tuple[int, ...]
    fmt: str = ""  # a dlarray's format
    device: str = "cpu"  # a dlarray's device
    pytype: type = float  # a scalar's type (Python or numpy)

    def token(self) -> tuple:
        return (self.kind, self.dtype.str, self.shape, self.fmt)


class Slot:
    """Stands for leaf ``index`` in a structure sent without its arrays."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __reduce__(self):
        return (Slot, (self.index,))


class Flat:
    """A value taken apart: ``arrays`` (numpy views of the leaves' data, read-only where the
    leaf is a dlarray), their ``leaves`` descriptions, the structure's ``tokens``, and
    ``rebuild(values)``, which puts new leaf values back in the same structure."""

    __slots__ = ("obj", "arrays", "leaves", "tokens")

    def __init__(self, obj: Any, arrays: List[np.ndarray], leaves: List[Leaf], tokens: List[Any]):
        self.obj, self.arrays, self.leaves, self.tokens = obj, arrays, leaves, tokens

    def rebuild(self, values: List[Any]) -> Any:
        it = iter(values)
        return _replace(self.obj, lambda _leaf: next(it))

    def values(self) -> List[Any]:
        """The leaves themselves (dlarrays, arrays, scalars), in order."""
        found: List[Any] = []
        _replace(self.obj, lambda v: found.append(v) or v)
        return found

    def describe(self) -> str:
        """A short account of the value, for error messages."""
        if len(self.leaves) == 1 and self.values()[0] is self.obj:
            leaf = self.leaves[0]
            return f"a {leaf.kind} of shape {leaf.shape}, {leaf.dtype}"
        total = sum(int(np.prod(leaf.shape, dtype=np.int64)) for leaf in self.leaves)
        count = len(self.leaves)
        return (
            f"a {type(self.obj).__name__} of {count} array{'s' if count != 1 else ''} or scalar"
            f"{'s' if count != 1 else ''}, {total} elements"
        )


def _data(x: dlarray) -> np.ndarray:
    device = getattr(x, "device", "cpu")
    if device != "cpu":
        from ..device import gather

        x = gather(x)
    return np.asarray(x)


def _sorted_keys(d: dict) -> list:
    keys = list(d.keys())
    return sorted(keys) if all(isinstance(k, str) for k in keys) else keys


def flatten(obj: Any, who: str, *, numeric_only: bool = True) -> Flat:
    """Take ``obj`` apart. Non-numeric numpy arrays (strings, objects) are a ``DTypeError``
    when ``numeric_only`` (a reduction), else static (sent whole by a broadcast)."""
    arrays: List[np.ndarray] = []
    leaves: List[Leaf] = []
    tokens: List[Any] = []

    def leaf(data: np.ndarray, description: Leaf) -> None:
        arrays.append(data)
        leaves.append(description)
        tokens.append(description.token())

    def visit(x: Any) -> None:
        if isinstance(x, dlarray):
            data = _data(x)
            leaf(data, Leaf("dlarray", data.dtype, tuple(data.shape), x.fmt or "", getattr(x, "device", "cpu")))
        elif isinstance(x, np.ndarray):
            if x.dtype.kind not in NUMERIC_KINDS:
                if numeric_only:
                    raise DTypeError(
                        f"{who}: cannot combine a numpy array of dtype {x.dtype} (shape {x.shape}) "
                        f"across processes; numeric arrays (bool, integer, float, complex) only"
                    )
                tokens.append(("static", "ndarray", x.dtype.str, x.shape))
                return
            leaf(x, Leaf("ndarray", x.dtype, tuple(x.shape)))
        elif isinstance(x, np.generic) and np.dtype(type(x)).kind in NUMERIC_KINDS:
            data = np.asarray(x)
            leaf(data, Leaf("numpy scalar", data.dtype, (), pytype=type(x)))
        elif isinstance(x, _PYTHON_SCALARS):
            kind = next(t for t in _PYTHON_SCALARS if isinstance(x, t))  # bool before int
            try:
                data = np.asarray(x, dtype=_PYTHON_DTYPES[kind])
            except OverflowError:
                raise DTypeError(
                    f"{who}: the Python int {x} does not fit in 64 bits, the widest integer the processes can combine; pass it as a float"
                ) from None
            leaf(data, Leaf("python scalar", data.dtype, (), pytype=kind))
        elif isinstance(x, Slot):
            tokens.append(("slot", x.index))
        elif isinstance(x, dict):
            keys = _sorted_keys(x)
            tokens.append(("dict", type(x).__name__, tuple(repr(k) for k in keys)))
            for k in keys:
                visit(x[k])
        elif isinstance(x, tuple):
            tokens.append(("tuple", type(x).__name__, len(x)))
            for v in x:
                visit(v)
        elif isinstance(x, list):
            tokens.append(("list", len(x)))
            for v in x:
                visit(v)
        else:
            tree = None if isinstance(x, type) else getattr(x, "__dlarray_tree__", None)
            if tree is None:
                tokens.append(("static", type(x).__name__))
                return
            children, _ = tree()
            keys = getattr(x, "keys", None)
            tokens.append(("tree", type(x).__name__, len(children), tuple(keys()) if callable(keys) else ()))
            for c in children:
                visit(c)

    visit(obj)
    return Flat(obj, arrays, leaves, tokens)


def _replace(x: Any, fn: Callable[[Any], Any]) -> Any:
    """``x`` rebuilt with each leaf (and each ``Slot``) replaced by ``fn(leaf)``, visited in
    ``flatten``'s order."""
    if isinstance(x, (dlarray, Slot)) or (isinstance(x, np.ndarray) and x.dtype.kind in NUMERIC_KINDS):
        return fn(x)
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return fn(x) if np.dtype(type(x)).kind in NUMERIC_KINDS else x
    if isinstance(x, _PYTHON_SCALARS):
        return fn(x)
    if isinstance(x, dict):
        new = {k: None for k in x} if type(x) is dict else copy.copy(x)
        for k in _sorted_keys(x):
            new[k] = _replace(x[k], fn)
        return new
    if isinstance(x, tuple):
        mapped = [_replace(v, fn) for v in x]
        return type(x)(*mapped) if hasattr(x, "_fields") else tuple(mapped)
    if isinstance(x, list):
        return [_replace(v, fn) for v in x]
    tree = None if isinstance(x, type) else getattr(x, "__dlarray_tree__", None)
    if tree is None:
        return x
    children, rebuild = tree()
    return rebuild([_replace(c, fn) for c in children])


def fill_slots(skeleton: Any, values: List[Any]) -> Any:
    """A structure received without its arrays, with ``values[slot.index]`` in each slot."""
    return _replace(skeleton, lambda s: values[s.index] if isinstance(s, Slot) else s)


def with_slots(flat: Flat) -> Any:
    """The structure of ``flat`` with a ``Slot`` in place of each leaf (small, picklable)."""
    counter: Iterator[int] = iter(range(len(flat.leaves)))
    return _replace(flat.obj, lambda _leaf: Slot(next(counter)))


def make_leaf(data: np.ndarray, leaf: Leaf, dtype: Optional[np.dtype] = None, *, owned: bool = False) -> Any:
    """A value of ``leaf``'s kind from ``data``: copied, as ``data`` may be a reused buffer,
    unless ``owned`` (``data`` is the result's own: a dlarray then reads it in place).
    ``dtype`` is the result's dtype when the operation changes it (``and`` gives bool)."""
    dtype = leaf.dtype if dtype is None else np.dtype(dtype)
    if leaf.kind == "dlarray":
        host = data.reshape(leaf.shape)
        if host.dtype != leaf.dtype:
            host = host.astype(leaf.dtype)
        out = from_dlpack(host, leaf.fmt or None) if owned else dlarray(host, leaf.fmt or None)
        return out if leaf.device == "cpu" else out.to(leaf.device)
    if leaf.kind == "ndarray":
        if owned and data.dtype == dtype:
            return data.reshape(leaf.shape)
        return np.array(data.reshape(leaf.shape), dtype=dtype, copy=True)
    value = np.asarray(data).reshape(()).astype(dtype)
    if leaf.kind == "numpy scalar":
        return value[()]
    item = value.item()
    # int/float/complex/bool as the operation made it (plus of bools counts: an int).
    return item
