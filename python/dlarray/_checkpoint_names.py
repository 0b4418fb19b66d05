"""Which code a checkpoint may name, and how names are found on loading.

A checkpoint names a layer class, a callable (an initialiser, a ``functionLayer`` function)
or the class of a saved object by a string key. ``load`` looks keys up in three tables and
nothing else — it never imports a module or follows attributes named by the file:

1. dlarray's own: the layer classes of ``dlarray.layers`` (``"dlarray.layers:FullyConnectedLayer"``),
   the array functions exported at the top level (``dlarray._core``'s math, ``dlarray.nn``'s
   deep-learning ops, ``dlarray.array_functions``: ``"dlarray:relu"``) and ``lbfgsState``;
2. the ``custom_objects`` passed to ``load``;
3. the objects registered with :func:`register_custom`.

A custom object is saved under ``"module:qualname"`` (or the name it was registered with)
and found under that key or, when it is unique, under its bare qualname — so a layer class
saved from a script (``"__main__:PReLULayer"``) loads where it is imported from a module.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

from .errors import CheckpointError

#: User registrations: key -> object.
_REGISTRY: Dict[str, Any] = {}


class _Builtins:
    """dlarray's own allow-list, built on first use from the package's namespaces (so the
    package is fully imported). ``names`` maps each key to its object (also the
    ``module:qualname`` keys older checkpoints used); ``keys`` maps ``id(obj)`` to the key
    ``save`` writes."""

    layers: Dict[str, Any] = {}
    functions: Dict[str, Any] = {}
    classes: Dict[str, Any] = {}
    keys: Dict[int, str] = {}

    @classmethod
    def load(cls) -> "type[_Builtins]":
        if cls.keys:
            return cls
        import dlarray

        from . import layers
        from .layers.base import Layer
        from .optim.lbfgs_state import lbfgsState

        def add(table: Dict[str, Any], key: str, obj: Any) -> None:
            table[key] = obj
            table.setdefault(f"{obj.__module__}:{obj.__qualname__}", obj)
            cls.keys.setdefault(id(obj), key)

        for name, obj in vars(layers).items():
            if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer and name == obj.__name__:
                add(cls.layers, f"dlarray.layers:{name}", obj)
        for name, obj in vars(dlarray).items():
            if not name.startswith("_") and _is_array_function(obj):
                add(cls.functions, f"dlarray:{name}", obj)
        add(cls.classes, "dlarray:lbfgsState", lbfgsState)
        return cls


def _is_array_function(obj: Any) -> bool:
    """An op on arrays: nothing that reads or writes files, runs other code (dlfeval) or holds
    state (optimisers, data, monitors)."""
    if not isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return False
    module = getattr(obj, "__module__", "") or ""
    if module in ("dlarray._core", "dlarray.array_functions"):
        return True
    return module.startswith("dlarray.nn.") and not module.rsplit(".", 1)[1].startswith("_")


def default_key(obj: Any) -> str:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise TypeError(
            f"{obj!r} has no importable name (module-level functions and classes only; lambdas and local functions cannot be saved)"
        )
    return f"{module}:{qualname}"


def register_custom(obj: Any = None, *, name: Optional[str] = None) -> Any:
    """Allow :func:`dlarray.load` to rebuild ``obj``: a custom ``Layer`` subclass, a class
    whose instances are saved, or a module-level function used as an initialiser or by
    ``functionLayer``. Returns ``obj``, so it works as a decorator (``@register_custom`` or
    ``@register_custom(name="mypkg.PReLU")``).

    ``name`` (default ``"module:qualname"``) is the key checkpoints store; registering a
    key again replaces the earlier object (a class redefined in a notebook). Register only
    code you trust: a checkpoint may name any registered object."""

    def add(o: Any) -> Any:
        if not callable(o):
            raise TypeError(f"register_custom: expected a class or a function, got {type(o).__name__}")
        key = default_key(o) if name is None else name
        if not isinstance(key, str) or not key:
            raise TypeError(f"register_custom: name must be a non-empty string, got {key!r}")
        b = _Builtins.load()
        if key in b.layers or key in b.functions or key in b.classes:
            raise ValueError(f"register_custom: '{key}' is the name of one of dlarray's own objects")
        _REGISTRY[key] = o
        return o

    return add if obj is None else add(obj)


def key_of(obj: Any) -> str:
    """The key ``save`` writes for a class or callable."""
    b = _Builtins.load()
    key = b.keys.get(id(obj))
    if key is not None:
        return key
    for k, o in _REGISTRY.items():
        if o is obj:
            return k
    return default_key(obj)


def saveable_class(cls: type) -> bool:
    """Whether instances of ``cls`` may be saved as objects (their ``__dict__``)."""
    b = _Builtins.load()
    return any(c is cls for c in b.classes.values()) or any(o is cls for o in _REGISTRY.values())


def _qualname(key: str) -> str:
    return key.rpartition(":")[2]


def _normalise(custom_objects: Union[None, Mapping[str, Any], Iterable[Any]]) -> Dict[str, Any]:
    if custom_objects is None:
        return {}
    if isinstance(custom_objects, Mapping):
        out = dict(custom_objects)
        bad = [k for k in out if not isinstance(k, str)]
        if bad:
            raise TypeError(f"load: custom_objects keys must be strings, got {bad[0]!r}")
    elif isinstance(custom_objects, (str, bytes)) or not isinstance(custom_objects, Iterable):
        raise TypeError(f"load: custom_objects must be a dict {{name: object}} or a list of objects, got {type(custom_objects).__name__}")
    else:
        out = {default_key(o): o for o in custom_objects}
    for k, o in out.items():
        if not callable(o):
            raise TypeError(f"load: custom_objects['{k}'] must be a class or a function, got {type(o).__name__}")
    return out


class Resolver:
    """Looks up the keys a checkpoint names; anything not allowed is a CheckpointError."""

    def __init__(self, path: str, custom_objects: Union[None, Mapping[str, Any], Iterable[Any]]):
        self.path = path
        self.custom = _normalise(custom_objects)
        self.builtins = _Builtins.load()

    def _find(self, key: str, own: Dict[str, Any]) -> Any:
        if key in own:
            return own[key]
        for table in (self.custom, _REGISTRY):
            if key in table:
                return table[key]
        qual = _qualname(key)
        for table in (self.custom, _REGISTRY):
            found: List[Any] = []
            for k, o in table.items():
                if _qualname(k) == qual and not any(o is f for f in found):
                    found.append(o)
            if len(found) > 1:
                raise CheckpointError(
                    f"load: '{self.path}' names '{key}', and several custom objects are "
                    f"called '{qual}': {found}; pass custom_objects={{'{key}': ...}}"
                )
            if found:
                return found[0]
        return None

    def _resolve(self, key: Any, kind: str, own: Dict[str, Any], check: Callable[[Any], bool]) -> Any:
        if not isinstance(key, str):
            raise CheckpointError(f"load: '{self.path}' names a {kind} by {key!r}, not by a string")
        obj = self._find(key, own)
        if obj is None:
            qual = _qualname(key)
            raise CheckpointError(
                f"load: '{self.path}' names the {kind} '{key}', which is not part of dlarray and was not "
                f"registered; load never imports code a file names. If you trust this checkpoint, pass "
                f"load(path, custom_objects={{'{qual}': {qual}}}) or call dlarray.register_custom({qual}) "
                f"first, with {qual} imported from your own code"
            )
        if not check(obj):
            raise CheckpointError(f"load: '{self.path}' names '{key}' as a {kind}, but it is {obj!r}")
        return obj

    def layer_class(self, key: Any) -> type:
        from .layers.base import Layer

        return self._resolve(key, "layer class", self.builtins.layers, lambda o: isinstance(o, type) and issubclass(o, Layer))

    def function(self, key: Any) -> Callable:
        return self._resolve(key, "function", self.builtins.functions, callable)

    def object_class(self, key: Any) -> type:
        from .layers.base import Layer

        return self._resolve(key, "class", self.builtins.classes, lambda o: isinstance(o, type) and not issubclass(o, Layer))


def check_attributes(cls: type, names: Iterable[Any], who: str) -> Optional[str]:
    """Why instance attributes ``names`` cannot be set on an object of ``cls`` from a file
    (None when they can): a name must be an identifier, not a dunder (``__class__``,
    ``__dict__``), and must not hide a method, property or other descriptor of the class."""
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            return f"{who} has an attribute named {name!r}, which is not an identifier"
        if name.startswith("__") and name.endswith("__"):
            return f"{who} sets the special attribute '{name}'"
        static = inspect.getattr_static(cls, name, None)
        if static is not None and (callable(static) or hasattr(type(static), "__get__")):
            return f"{who} sets '{name}', which would hide a method or property of {cls.__name__}"
    return None
