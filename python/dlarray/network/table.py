"""The learnables / state table of a dlnetwork (MATLAB's ``net.Learnables`` / ``net.State``).

MATLAB's table has the variables ``Layer``, ``Parameter`` and ``Value``; here they are the
columns ``layer``, ``parameter`` and ``value`` (each readable as a list: ``t.layer``,
``t.parameter``, ``t.value``):

    >>> import numpy as np
    >>> from dlarray import dlnetwork, imageInputLayer, convolution2dLayer
    >>> net = dlnetwork([imageInputLayer((28, 28, 1), normalization="none"),
    ...                  convolution2dLayer(5, 20)])
    >>> t = net.learnables
    >>> t["conv", "Weights"].shape            # lookup by (layer, parameter)
    (5, 5, 1, 20)
    >>> for layer, parameter, value in t:     # iteration over rows
    ...     print(layer, parameter, value.shape)
    conv Weights (5, 5, 1, 20)
    conv Bias (1, 1, 20)
    >>> t["conv", "Bias"] = np.ones((1, 1, 20), np.float32)   # assignment (this table only)
    >>> float(net.learnables["conv", "Bias"].sum())           # the network is unchanged...
    0.0
    >>> net.learnables = t                    # ...until the table is assigned back, as in MATLAB
    >>> float(net.learnables["conv", "Bias"].sum())
    20.0

Tables are values, as in MATLAB: ``net.learnables`` returns a new table each time, so
assigning into it never changes the network until the table is assigned back; the
methods that transform a table return a new one. A table implements ``__dlarray_tree__``,
so ``dlfeval`` traces it and ``dlgradient(loss, net.learnables)`` returns a table with the
same rows.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .._core import DlIndexError, DTypeError, OptionError, ShapeError
from .._matlab_names import MatlabProperties

__all__ = ["Table", "TableRow", "as_table"]


class TableRow(NamedTuple):
    """One row of a learnables/state table."""

    layer: str
    parameter: str
    value: Any


class Table(MatlabProperties):
    """A learnables or state table: rows of (layer, parameter, value). MATLAB's column
    names read the columns too (``t.Value``, ``t.Layer``, ``t.Parameter``)."""

    __slots__ = ("_layer", "_parameter", "_value", "_index")

    def __init__(self, layer: Sequence[str] = (), parameter: Sequence[str] = (), value: Sequence[Any] = ()):
        layer, parameter, value = list(layer), list(parameter), list(value)
        if not len(layer) == len(parameter) == len(value):
            raise ShapeError(
                f"Table: the columns must have the same length, got layer {len(layer)}, parameter {len(parameter)}, value {len(value)}"
            )
        index = {}
        for i, key in enumerate(zip(layer, parameter)):
            if not all(isinstance(k, str) for k in key):
                raise OptionError(f"Table: layer and parameter names must be strings, got {key!r}")
            if key in index:
                raise OptionError(f"Table: duplicate row (layer '{key[0]}', parameter '{key[1]}')")
            index[key] = i
        self._layer, self._parameter, self._value, self._index = layer, parameter, value, index

    @classmethod
    def from_rows(cls, rows: Sequence[Tuple[str, str, Any]]) -> "Table":
        rows = list(rows)
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    # Columns, as lists (copies: a table is a value).
    @property
    def layer(self) -> List[str]:
        return list(self._layer)

    @property
    def parameter(self) -> List[str]:
        return list(self._parameter)

    @property
    def value(self) -> List[Any]:
        return list(self._value)

    @property
    def columns(self) -> Tuple[str, str, str]:
        return ("layer", "parameter", "value")

    def keys(self) -> List[Tuple[str, str]]:
        """The (layer, parameter) pairs, in row order."""
        return list(zip(self._layer, self._parameter))

    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self) -> Iterator[TableRow]:
        for row in zip(self._layer, self._parameter, self._value):
            yield TableRow(*row)

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, tuple) and key in self._index

    def _position(self, key: Any) -> int:
        if isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key):
            if key not in self._index:
                raise KeyError(f"Table: no row with layer '{key[0]}' and parameter '{key[1]}'; rows: {self.keys()}")
            return self._index[key]
        raise DlIndexError(f"Table: index with (layer, parameter) names, an int row number or a layer name, got {key!r}")

    def __getitem__(self, key: Any) -> Any:
        """``t["conv", "Weights"]`` → the value; ``t[i]`` → row i (a ``TableRow``); ``t["conv"]``
        → a table of that layer's rows (MATLAB's ``t(t.Layer == "conv", :)``)."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            n = len(self)
            if not -n <= key < n:
                raise DlIndexError(f"Table: row {key} out of range for a table of {n} rows")
            return TableRow(self._layer[key], self._parameter[key], self._value[key])
        if isinstance(key, str):
            rows = [r for r in self if r.layer == key]
            if not rows:
                raise KeyError(f"Table: no rows for layer '{key}'; layers: {sorted(set(self._layer))}")
            return Table.from_rows(rows)
        return self._value[self._position(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        """``t["conv", "Weights"] = v`` replaces an existing row's value (this table object
        only); a new (layer, parameter) pair appends a row."""
        if isinstance(key, tuple) and len(key) == 2 and key not in self._index and all(isinstance(k, str) for k in key):
            self._index[key] = len(self._value)
            self._layer.append(key[0])
            self._parameter.append(key[1])
            self._value.append(value)
            return
        self._value[self._position(key)] = value

    def get(self, layer: str, parameter: str, default: Any = None) -> Any:
        i = self._index.get((layer, parameter))
        return default if i is None else self._value[i]

    def replace(self, values: Sequence[Any]) -> "Table":
        """A table with the same rows and new values (in row order)."""
        values = list(values)
        if len(values) != len(self):
            raise ShapeError(f"Table.replace: expected {len(self)} values, got {len(values)}")
        return Table(self._layer, self._parameter, values)

    def map(self, fn: Callable[[Any], Any]) -> "Table":
        """A table with ``fn`` applied to every value (MATLAB's ``dlupdate`` on one table)."""
        return self.replace([fn(v) for v in self._value])

    def copy(self) -> "Table":
        return Table(self._layer, self._parameter, self._value)

    # dlfeval / dlgradient / optimizers walk a table through this protocol.
    def __dlarray_tree__(self) -> Tuple[List[Any], Callable[[List[Any]], "Table"]]:
        layer, parameter = list(self._layer), list(self._parameter)
        return list(self._value), lambda children: Table(layer, parameter, children)

    def to_pandas(self):
        """A ``pandas.DataFrame`` with the columns ``layer``, ``parameter``, ``value`` (pandas
        is optional: ImportError with a hint when it is missing)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Table.to_pandas needs pandas: pip install pandas") from e
        return pd.DataFrame({"layer": self._layer, "parameter": self._parameter, "value": self._value})

    def __eq__(self, other: Any) -> bool:  # same rows, identical value objects or equal data
        if not isinstance(other, Table) or self.keys() != other.keys():
            return False
        return all(a is b or _values_equal(a, b) for a, b in zip(self._value, other._value))

    __hash__ = None  # a mutable container

    def __repr__(self) -> str:
        if not len(self):
            return "Table (0 rows): layer | parameter | value"
        cells = [(layer, p, _describe(v)) for layer, p, v in self]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(self.columns)]
        line = lambda c: "  ".join(s.ljust(w) for s, w in zip(c, widths)).rstrip()  # noqa: E731
        out = [f"Table ({len(self)} rows)", line(self.columns), line(["-" * w for w in widths])]
        out += [line(c) for c in cells]
        return "\n".join(out)


def _describe(v: Any) -> str:
    shape = getattr(v, "shape", None)
    if shape is None:
        return repr(v)
    dims = "x".join(str(s) for s in shape) or "scalar"
    fmt = getattr(v, "fmt", "") or ""
    dtype = getattr(v, "dtype", "")
    kind = type(v).__name__
    return f"{dims} {kind}" + (f" ({fmt})" if fmt else "") + (f" {dtype}" if dtype != "" else "")


def _values_equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:  # noqa: BLE001 - unlike objects are simply unequal
        return False


def as_table(obj: Any, what: str) -> Optional[Table]:
    if obj is None or isinstance(obj, Table):
        return obj
    raise DTypeError(f"{what} must be a learnables/state Table, got {type(obj).__name__}")
