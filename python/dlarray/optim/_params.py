"""The parameter containers the update functions accept, flattened to aligned lists and
rebuilt afterwards.

A parameter set is a dlarray, a numpy array (MATLAB's numeric array), any nesting of dict /
list / tuple, or an object exposing ``__dlarray_params__`` (a dlnetwork: its learnables) or
``__dlarray_tree__`` (a learnables table, any other container object).
Gradients and states are aligned with the parameters by structure: dicts by key (so two dicts
with the same keys in another order still match), lists and tuples by position, and objects
with ``__dlarray_tree__`` by their leaves in visiting order (a network's learnables against
the table ``dlgradient`` returns for them). ``None`` — MATLAB's ``[]`` — stands for zeros
wherever a state is expected.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import numpy as np

from .._core import ShapeError, dlarray

_LEAF_TYPES = (dlarray, np.ndarray)


def is_leaf(x: Any) -> bool:
    return type(x) is dlarray or isinstance(x, _LEAF_TYPES)


def _tree_protocol(x: Any):
    """The method exposing ``x``'s parameters: ``__dlarray_params__`` (a dlnetwork's
    learnables only, its state kept as it is) or else ``__dlarray_tree__``."""
    if is_leaf(x) or isinstance(x, (dict, list, tuple, type)):
        return None
    return getattr(x, "__dlarray_params__", None) or getattr(x, "__dlarray_tree__", None)


def is_tree_object(x: Any) -> bool:
    return _tree_protocol(x) is not None


def map_leaves(fn: Callable[[Any], Any], obj: Any) -> Any:
    """A copy of ``obj`` with every array leaf (dlarray or numpy array) replaced by ``fn(leaf)``,
    visiting in the same order as ``dlarray._tree.tree_map``."""
    if is_leaf(obj):
        return fn(obj)
    if type(obj) is list and all(type(x) is dlarray for x in obj):  # the common flat case
        return [fn(x) for x in obj]
    if isinstance(obj, dict):
        items = [(k, map_leaves(fn, v)) for k, v in obj.items()]
        return dict(items) if type(obj) is dict else type(obj)(items)
    if isinstance(obj, tuple):
        mapped = [map_leaves(fn, v) for v in obj]
        return type(obj)(*mapped) if hasattr(obj, "_fields") else tuple(mapped)
    if isinstance(obj, list):
        return [map_leaves(fn, v) for v in obj]
    protocol = _tree_protocol(obj)
    if protocol is not None:
        # A dlnetwork's optimiser view is its learnables (its full tree adds the state).
        children, rebuild = protocol()
        return rebuild([map_leaves(fn, c) for c in children])
    return obj


def leaves(obj: Any) -> List[Any]:
    out: List[Any] = []
    map_leaves(lambda x: out.append(x) or x, obj)
    return out


def rebuild(template: Any, values: List[Any]) -> Any:
    """``template`` with its leaves replaced, in order, by ``values``. Where the template held a
    numpy array the result holds a numpy array too (MATLAB: numeric in, numeric out)."""
    it = iter(values)

    def put(old: Any) -> Any:
        new = next(it)
        if isinstance(old, np.ndarray) and isinstance(new, dlarray):
            return np.array(new)  # a writable copy, like the caller's own array
        return new

    return map_leaves(put, template)


def _where(path: str) -> str:
    return path if path else "the top level"


def align(op: str, what: str, template: Any, other: Any, path: str = "") -> List[Optional[Any]]:
    """The leaves of ``other`` in the order of ``template``'s leaves; ``None`` (MATLAB's ``[]``)
    anywhere stands for all the leaves below it. Raises ``ShapeError`` naming ``op`` and the
    place where the structures differ."""
    if other is None:
        return [None] * len(leaves(template))
    if (
        type(template) is list
        and type(other) is list
        and len(template) == len(other)
        and all(type(x) is dlarray for x in template)
        and all(type(x) is dlarray for x in other)
    ):  # the common flat case
        return list(other)
    if is_leaf(template):
        if not is_leaf(other):
            raise ShapeError(f"{op}: {what} at {_where(path)} is a {type(other).__name__}, but the parameter there is an array")
        return [other]
    if is_tree_object(template) or is_tree_object(other):
        mine, theirs = leaves(template), leaves(other)
        if len(mine) != len(theirs):
            raise ShapeError(f"{op}: {what} at {_where(path)} holds {len(theirs)} arrays but the parameters there hold {len(mine)}")
        return theirs
    if isinstance(template, dict):
        if not isinstance(other, dict):
            raise ShapeError(f"{op}: {what} at {_where(path)} is a {type(other).__name__}, but the parameters there are a dict")
        missing = [k for k in template if k not in other]
        extra = [k for k in other if k not in template]
        if missing or extra:
            raise ShapeError(
                f"{op}: {what} at {_where(path)} does not match the parameters' keys"
                + (f"; missing {missing}" if missing else "")
                + (f"; unexpected {extra}" if extra else "")
            )
        return [x for k, v in template.items() for x in align(op, what, v, other[k], f"{path}[{k!r}]")]
    if isinstance(template, (list, tuple)):
        if not isinstance(other, (list, tuple)) or len(other) != len(template):
            n = f"{len(other)} entries" if isinstance(other, (list, tuple)) else f"a {type(other).__name__}"
            raise ShapeError(
                f"{op}: {what} at {_where(path)} has {n}, but the parameters there are a {type(template).__name__} of {len(template)}"
            )
        return [x for i, (t, o) in enumerate(zip(template, other)) for x in align(op, what, t, o, f"{path}[{i}]")]
    return []


def leaf_paths(obj: Any, path: str = "") -> List[str]:
    """A readable location for each leaf, for error messages."""
    if is_leaf(obj):
        return [_where(path)]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in leaf_paths(v, f"{path}[{k!r}]")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in leaf_paths(v, f"{path}[{i}]")]
    if is_tree_object(obj):
        rows = _row_names(obj)
        n = len(leaves(obj))
        if rows is not None and len(rows) == n:
            return [f"{path}{r}" for r in rows]
        return [f"{path}<array {i}>" for i in range(n)]
    return []


def _row_names(obj: Any) -> Optional[List[str]]:
    """``layer/parameter`` names of a dlnetwork's learnables or a learnables table, when known."""
    table = getattr(obj, "learnables", obj)
    try:
        layer, parameter = list(table.layer), list(table.parameter)
    except (AttributeError, TypeError):
        return None
    return [f"{a}/{b}" for a, b in zip(layer, parameter)]


def check_rows(op: str, what: str, params: Any, other: Any) -> None:
    """A network's learnables and a table of gradients or state must list the same
    (layer, parameter) rows in the same order; checked when both name their rows."""
    if other is None or not (is_tree_object(params) and is_tree_object(other)):
        return
    mine, theirs = _row_names(params), _row_names(other)
    if mine is not None and theirs is not None and mine != theirs:
        raise ShapeError(f"{op}: the rows of {what} ({theirs}) do not match the parameters' learnables ({mine})")


def as_dlarray(x: Any) -> dlarray:
    return x if isinstance(x, dlarray) else dlarray(x)


def state_template(params: Any, grads: Any) -> Any:
    """The container shape of returned state: the gradients' (a table) when the parameters are
    a network, otherwise the parameters' own (MATLAB returns state like the gradients)."""
    return grads if is_tree_object(params) and grads is not None else params


def learn_rate_factors(op: str, params: Any, n: int) -> List[float]:
    """Per-parameter learn-rate factors of a network (``_learn_rate_factors()``), else ones."""
    get = getattr(params, "_learn_rate_factors", None) if is_tree_object(params) else None
    if get is None:
        return [1.0] * n
    factors = [float(f) for f in get()]
    if len(factors) != n:
        raise ShapeError(f"{op}: the network reports {len(factors)} learn-rate factors for {n} learnable parameters")
    return factors


def hyper(op: str, name: str, value: Any, default: float) -> float:
    """A positional hyper-parameter as a float; ``None`` (MATLAB's ``[]``) gives the default."""
    if value is None:
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError):
        from .._core import OptionError

        raise OptionError(f"{op}: {name} must be a real scalar, got {type(value).__name__}") from None
