"""MATLAB's spellings of option and property names, accepted beside the snake_case ones.

MATLAB code writes name-value options in CamelCase (``MiniBatchSize=128``,
``EnableHigherDerivatives=true``) and reads properties the same way (``net.Learnables``,
``monitor.Stop``); dlarray's names are their snake_case forms. One rule serves every public
function, method and property: a name matches an option or attribute when both are equal
ignoring case and underscores (MATLAB itself matches option names case-insensitively), so
``MiniBatchSize``, ``miniBatchSize`` and ``mini_batch_size`` are one option. A keyword that
matches nothing raises :class:`~dlarray.errors.UnknownOptionError` (an ``OptionError`` and a
``TypeError``) naming the function's options and the closest one.

* :func:`matlab_options` wraps one function; :func:`accept_matlab_names` wraps every public
  function and class (constructor and methods) a module lists in ``__all__`` — each public
  module calls it once at its end; every :class:`~dlarray.layers.Layer` subclass gets it
  through ``Layer.__init_subclass__``.
* :class:`MatlabProperties` gives a class MATLAB's property spellings for reading (and, where
  the class allows it, assigning: ``net.State = state``, ``monitor.Progress = 50``); an
  unknown CamelCase attribute raises ``AttributeError`` naming the snake_case ones.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any, Callable, Dict, Iterable, Optional, TypeVar

from .errors import UnknownOptionError

__all__ = ["MatlabProperties", "accept_matlab_names", "matlab_options", "normalized"]

F = TypeVar("F", bound=Callable[..., Any])


def normalized(name: str) -> str:
    """The key two spellings of one name share: lower case, without underscores."""
    return name.replace("_", "").lower()


def _suggestion(name: str, names: Iterable[str]) -> str:
    names = sorted(names)
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(normalized(name), [normalized(n) for n in names], n=1, cutoff=0.5)
        close = [n for n in names if close and normalized(n) == close[0]]
    return f"; did you mean '{close[0]}'?" if close else ""


def matlab_options(fn: F, who: Optional[str] = None) -> F:
    """``fn`` accepting MATLAB's spelling of each keyword parameter (see the module doc).

    A function taking ``**kwargs`` passes unknown keywords on: only spellings of its named
    parameters are translated, and nothing is refused."""
    if getattr(fn, "__matlab_options__", False):
        return fn
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature
        return fn
    params = sig.parameters
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [n for n, p in params.items() if p.kind in kinds and n not in ("self", "cls")]
    if not names:
        return fn
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = frozenset(names)
    by_key: Dict[str, str] = {normalized(n): n for n in names}
    label = who or getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not known.issuperset(kwargs):
            kwargs = _translate(kwargs)
        return fn(*args, **kwargs)

    def _translate(kwargs: Dict[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        spelled: Dict[str, str] = {}
        for key, value in kwargs.items():
            target = key if key in known else by_key.get(normalized(key))
            if target is None:
                if open_ended:
                    out[key] = value
                    continue
                raise UnknownOptionError(f"{label}: unknown option '{key}'{_suggestion(key, names)} (options: {', '.join(names)})")
            if target in out:
                raise UnknownOptionError(f"{label}: option '{target}' given twice (as '{spelled[target]}' and '{key}')")
            out[target] = value
            spelled[target] = key
        return out

    wrapper.__matlab_options__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _wrap_class(cls: type) -> None:
    """The constructor and the public methods of ``cls`` (those it defines itself)."""
    for attr, value in list(vars(cls).items()):
        if attr == "__init__" or (not attr.startswith("_") and inspect.isfunction(value)):
            setattr(cls, attr, matlab_options(value, f"{cls.__name__}" if attr == "__init__" else f"{cls.__name__}.{attr}"))
        elif isinstance(value, (staticmethod, classmethod)) and not attr.startswith("_"):
            setattr(cls, attr, type(value)(matlab_options(value.__func__, f"{cls.__name__}.{attr}")))


def accept_matlab_names(namespace: Dict[str, Any]) -> None:
    """Wrap every public function and class a module defines and lists in ``__all__``
    (called as ``accept_matlab_names(globals())`` at the end of the module)."""
    module = namespace.get("__name__")
    for name in namespace.get("__all__", ()):
        obj = namespace.get(name)
        if getattr(obj, "__module__", None) != module:
            continue
        if inspect.isclass(obj):
            _wrap_class(obj)
        elif inspect.isfunction(obj):
            namespace[name] = matlab_options(obj, name)


def _attribute_alias(obj: Any, name: str) -> Optional[str]:
    """The attribute of ``obj`` that ``name`` (with an upper-case letter) spells MATLAB's way."""
    if name.startswith("_") or name.islower():
        return None
    key = normalized(name)
    for candidate in _public_names(obj):
        if candidate != name and candidate.islower() and normalized(candidate) == key:
            return candidate
    return None


def _public_names(obj: Any) -> Iterable[str]:
    names = [n for n in dir(type(obj)) if not n.startswith("_")]
    names += [n for n in getattr(obj, "__dict__", {}) if not n.startswith("_")]
    return names


class MatlabProperties:
    """Mixin: MATLAB's spellings of the public attributes (``net.Learnables`` is
    ``net.learnables``). ``_matlab_assignable`` lists the attributes that may be assigned
    through MATLAB's spelling (``net.State = state``)."""

    __slots__ = ()
    _matlab_assignable: frozenset = frozenset()

    def __getattr__(self, name: str) -> Any:
        # Reached only when normal lookup fails.
        target = _attribute_alias(self, name)
        if target is not None:
            return getattr(self, target)
        hint = ""
        if not name.startswith("_") and not name.islower():
            hint = _suggestion(name, [n for n in _public_names(self) if n.islower()])
            hint = hint or "; dlarray's properties are MATLAB's in snake_case (Learnables -> learnables)"
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and not name.islower() and not hasattr(type(self), name):
            target = _attribute_alias(self, name)
            if target is not None and target in self._matlab_assignable:
                name = target
            elif target is not None:
                raise AttributeError(f"'{type(self).__name__}': '{name}' is the read-only property '{target}'")
        object.__setattr__(self, name, value)
