"""Walking the containers that hold dlarrays: dict, list, tuple (named tuples too), and any
object that exposes its arrays through ``__dlarray_tree__``.

``__dlarray_tree__(self) -> (children, rebuild)`` returns a list of child values and a
function that builds a new object of the same kind from new children. dlnetwork and the
learnables/state tables implement it, so ``dlfeval`` traces them and ``dlgradient`` mirrors
them without knowing their types.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, List, Optional

from ._core import dlarray


def tree_map(fn: Callable[[dlarray], Any], obj: Any) -> Any:
    """A copy of ``obj`` with every dlarray ``x`` replaced by ``fn(x)``."""
    if isinstance(obj, dlarray):
        return fn(obj)
    if isinstance(obj, dict):
        if type(obj) is dict:
            return {k: tree_map(fn, v) for k, v in obj.items()}
        # Dict subclasses (OrderedDict, defaultdict, ...) keep their type and extra state
        # (a defaultdict's factory) by copying, then replacing the values.
        new = copy.copy(obj)
        for k, v in obj.items():
            new[k] = tree_map(fn, v)
        return new
    if isinstance(obj, tuple):
        mapped = [tree_map(fn, v) for v in obj]
        return type(obj)(*mapped) if hasattr(obj, "_fields") else tuple(mapped)
    if isinstance(obj, list):
        return [tree_map(fn, v) for v in obj]
    tree = getattr(obj, "__dlarray_tree__", None)
    if tree is not None and not isinstance(obj, type):
        children, rebuild = tree()
        return rebuild([tree_map(fn, c) for c in children])
    return obj


def tree_leaves(obj: Any, out: Optional[List[dlarray]] = None) -> List[dlarray]:
    """Every dlarray in ``obj``, in the order ``tree_map`` visits them (appended to ``out``
    when given). Walks without building the copies ``tree_map`` would."""
    if out is None:
        out = []
    if isinstance(obj, dlarray):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            tree_leaves(v, out)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            tree_leaves(v, out)
    else:
        tree = getattr(obj, "__dlarray_tree__", None)
        if tree is not None and not isinstance(obj, type):
            for c in tree()[0]:
                tree_leaves(c, out)
    return out


def tree_replace(obj: Any, values: List[Any]) -> Any:
    """``obj`` with its dlarrays replaced, in visiting order, by ``values``."""
    it = iter(values)
    return tree_map(lambda _x: next(it), obj)
