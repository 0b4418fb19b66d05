"""dlaccelerate: trace a function once per input signature and replay the recorded trace in
the core on later calls (MATLAB's ``dlaccelerate`` and ``AcceleratedFunction``).

A call with a new signature runs the function once while recording every op it performs —
the backward pass of any ``dlgradient`` inside it included — and caches the trace. A call
with a cached signature skips the Python function: the core runs the recorded ops again on
the new input values, in one call. What the function does besides computing its dlarray
outputs (printing, appending to a list, drawing random numbers outside dlarray ops) happens
only while it is traced; non-dlarray outputs are the traced call's.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable, Hashable, List, NamedTuple

import numpy as np

from . import _core
from ._arguments import flag, number, show
from ._core import OptionError, dlarray
from ._matlab_names import MatlabProperties, accept_matlab_names
from ._tree import tree_leaves, tree_map, tree_replace
from .autodiff import _tracing_for_acceleration

__all__ = ["AcceleratedFunction", "dlaccelerate", "clearCache"]

_CHECK_MODES = ("none", "tolerance")


class _Trace(NamedTuple):
    plan: _core._Plan  # the recorded ops from the inputs' leaves to the dlarray outputs
    structure: Any  # the return value, its dlarrays standing in for the replayed ones


# What stands for a dlarray output in a cached return value: the trace's own values are not
# kept (the plan holds what it needs), so the cache holds no activations.
_PLACEHOLDER = dlarray(0.0)


def _signature(obj: Any, leaves: List[dlarray]) -> Hashable:
    """What selects a trace: for a dlarray its shape, format, dtype and device (not its values); for
    containers their kind and keys; for a network its layers and connections; for any other
    value the value itself (its identity where it cannot be compared). The dlarrays met are
    appended to ``leaves``, in ``tree_leaves``'s order (one walk gives the key and the inputs)."""
    if isinstance(obj, dlarray):
        leaves.append(obj)
        return obj._signature
    if isinstance(obj, dict):
        return (type(obj), tuple((k, _signature(v, leaves)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return (type(obj), tuple([_signature(v, leaves) for v in obj]))
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.shape, str(obj.dtype), obj.tobytes())
    tree = getattr(obj, "__dlarray_tree__", None)
    if tree is not None and not isinstance(obj, type):
        children, _ = tree()
        architecture = getattr(obj, "__dlarray_architecture__", None)
        return (type(obj), architecture() if architecture else None, tuple([_signature(c, leaves) for c in children]))
    try:
        hash(obj)
    except TypeError:
        return ("object", type(obj), id(obj))
    return (type(obj), obj)


def _replay_safe(obj: Any) -> bool:
    """Whether no network among the arguments holds a layer that reads input values into
    numpy (a trace would freeze what it read)."""
    if isinstance(obj, dict):
        return all(_replay_safe(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_replay_safe(v) for v in obj)
    safe = getattr(obj, "__dlarray_replay_safe__", None)
    return safe() if safe is not None and not isinstance(obj, type) else True


class AcceleratedFunction(MatlabProperties):
    """A function whose traces are cached per input signature and replayed in the core
    (MATLAB's ``AcceleratedFunction``; make one with :func:`dlaccelerate`). MATLAB's
    property spellings work too (``accfun.HitRate``, ``accfun.Enabled = False``).

    ``trace_from_call`` (not MATLAB's; 1) is which call with a signature traces it: the
    earlier ones call the function (so a signature used once is never traced).

    Properties, as MATLAB's: ``function``, ``enabled`` (False: call the function directly),
    ``cache_size`` (traces kept, least recently used dropped first; 50), ``hit_rate`` and
    ``occupancy`` (percentages), ``check_mode`` (``"none"``, or ``"tolerance"``: every cached
    call is also evaluated directly and a warning is issued when the results differ by more
    than ``check_tolerance``, 1e-4, relative to their size).
    """

    _matlab_assignable = frozenset({"enabled", "cache_size", "check_mode", "check_tolerance"})

    def __init__(
        self,
        fn: Callable,
        cache_size: int = 50,
        enabled: bool = True,
        check_mode: str = "none",
        check_tolerance: float = 1e-4,
        trace_from_call: int = 1,
    ):
        op = "dlaccelerate"
        if not callable(fn):
            raise OptionError(f"{op}: the argument must be a function, got {show(fn)}")
        self.function = fn
        self._lock = threading.Lock()
        self._cache: "OrderedDict[Hashable, _Trace]" = OrderedDict()
        # Which call with a signature traces it (the earlier ones call the function), and how
        # often each signature not yet traced has been seen (as many as the cache holds).
        if isinstance(trace_from_call, bool) or not isinstance(trace_from_call, (int, np.integer)) or trace_from_call < 1:
            raise OptionError(f"{op}: trace_from_call must be a positive integer, got {show(trace_from_call)}")
        self._trace_from_call = int(trace_from_call)
        self._seen: "OrderedDict[Hashable, int]" = OrderedDict()
        self._hits = 0
        self._calls = 0
        self.enabled = enabled
        self.cache_size = cache_size
        self.check_mode = check_mode
        self.check_tolerance = check_tolerance

    # ----- options, checked as MATLAB's name-value arguments are -----------------------------

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: Any) -> None:
        self._enabled = flag(value, "enabled", "AcceleratedFunction")

    @property
    def cache_size(self) -> int:
        return self._cache_size

    @cache_size.setter
    def cache_size(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise OptionError(f"AcceleratedFunction: cache_size must be a positive integer, got {show(value)}")
        self._cache_size = int(value)
        with self._lock:
            self._evict()

    @property
    def check_mode(self) -> str:
        return self._check_mode

    @check_mode.setter
    def check_mode(self, value: Any) -> None:
        if not isinstance(value, str) or value.lower() not in _CHECK_MODES:
            raise OptionError(f"AcceleratedFunction: check_mode must be 'none' or 'tolerance', got {show(value)}")
        self._check_mode = value.lower()

    @property
    def check_tolerance(self) -> float:
        return self._check_tolerance

    @check_tolerance.setter
    def check_tolerance(self, value: Any) -> None:
        tol = number(value, "check_tolerance", "AcceleratedFunction")
        if not tol > 0:
            raise OptionError(f"AcceleratedFunction: check_tolerance must be positive, got {show(value)}")
        self._check_tolerance = tol

    @property
    def hit_rate(self) -> float:
        """Percentage of calls that replayed a cached trace."""
        return 100.0 * self._hits / self._calls if self._calls else 0.0

    @property
    def occupancy(self) -> float:
        """Percentage of ``cache_size`` in use."""
        return 100.0 * len(self._cache) / self._cache_size

    def clear_cache(self) -> None:
        """Drop every cached trace (MATLAB's ``clearCache``); the statistics restart."""
        with self._lock:
            self._cache.clear()
            self._seen.clear()
            self._hits = self._calls = 0

    clearCache = clear_cache

    # ----- calls -------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._enabled:
            return self.function(*args, **kwargs)
        return self._call(args, kwargs, _core._in_dlfeval(), evaluated_by_dlfeval=False)

    def _evaluate_in_dlfeval(self, args: Any, kwargs: Any) -> Any:
        """``dlfeval(accfun, ...)``: the outputs leave dlfeval untraced, so nothing can
        differentiate them and the replay records nothing (as dlfeval's own backward pass
        would not)."""
        return self._call(args, kwargs, True, evaluated_by_dlfeval=True)

    def _call(self, args: Any, kwargs: Any, in_dlfeval: bool, evaluated_by_dlfeval: bool) -> Any:
        inputs: List[dlarray] = []
        key = _signature((args, kwargs), inputs)
        with self._lock:
            self._calls += 1
            trace = self._cache.get(key)
            if trace is not None:
                self._hits += 1
                self._cache.move_to_end(key)
        hit = trace is not None
        if trace is None and not _replay_safe((args, kwargs)):
            return self._direct(args, kwargs, evaluated_by_dlfeval)
        if trace is None and self._trace_from_call > 1 and not self._due(key):
            return self._direct(args, kwargs, evaluated_by_dlfeval)
        if trace is None:
            trace = self._trace(args, kwargs, in_dlfeval)
            with self._lock:
                self._cache[key] = trace
                self._evict()
        if evaluated_by_dlfeval:
            inputs = [x._detach() for x in inputs]
        out = tree_replace(trace.structure, trace.plan.run(inputs))
        if hit and self._check_mode == "tolerance":
            self._check(out, args, kwargs, evaluated_by_dlfeval)
        return out

    def _trace(self, args: Any, kwargs: Any, in_dlfeval: bool) -> _Trace:
        """Runs the function on fresh traced copies of the inputs, recording every op (the
        backward pass of its ``dlgradient`` calls too); ``in_dlfeval`` says whether the call
        itself is inside dlfeval (where ``dlgradient`` may be called)."""
        token = _core._trace_enter()
        try:
            inputs = tree_map(lambda x: x._traced_leaf(), (args, kwargs))
            with _tracing_for_acceleration(in_dlfeval):
                out = self.function(*inputs[0], **inputs[1])
        finally:
            _core._trace_exit(token)
        plan = _core._Plan(tree_leaves(out), tree_leaves(inputs))
        return _Trace(plan, tree_map(lambda _x: _PLACEHOLDER, out))

    def _direct(self, args: Any, kwargs: Any, evaluated_by_dlfeval: bool) -> Any:
        """The function's own result, as the call would give it without acceleration."""
        if evaluated_by_dlfeval:
            from .autodiff import dlfeval

            return dlfeval(self.function, *args, **kwargs)
        return self.function(*args, **kwargs)

    def _check(self, accelerated: Any, args: Any, kwargs: Any, evaluated_by_dlfeval: bool) -> None:
        direct = tree_leaves(self._direct(args, kwargs, evaluated_by_dlfeval))
        for i, (a, d) in enumerate(zip(tree_leaves(accelerated), direct)):
            a_, d_ = np.asarray(_core.extractdata(a)), np.asarray(_core.extractdata(d))
            scale = max(1.0, float(np.max(np.abs(d_)))) if d_.size else 1.0
            if a_.shape != d_.shape or (d_.size and float(np.max(np.abs(a_ - d_))) > self._check_tolerance * scale):
                warnings.warn(
                    f"dlaccelerate: output {i} of the cached trace of {getattr(self.function, '__name__', 'the function')} "
                    f"differs from a direct evaluation by more than check_tolerance={self._check_tolerance}: the function "
                    "depends on something its inputs do not determine (a value it reads from outside, a branch on data)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                return

    def _due(self, key: Hashable) -> bool:
        """Counts a call with the untraced signature ``key``: whether it is the one to trace."""
        with self._lock:
            seen = self._seen.pop(key, 0) + 1
            if seen >= self._trace_from_call:
                return True
            self._seen[key] = seen
            while len(self._seen) > self._cache_size:
                self._seen.popitem(last=False)
            return False

    def _evict(self) -> None:
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def __repr__(self) -> str:
        name = getattr(self.function, "__name__", repr(self.function))
        return (
            f"AcceleratedFunction({name}, enabled={self._enabled}, cache_size={self._cache_size}, "
            f"hit_rate={self.hit_rate:.1f}, occupancy={self.occupancy:.1f}, check_mode='{self._check_mode}')"
        )


def dlaccelerate(fn: Callable, **options: Any) -> AcceleratedFunction:
    """MATLAB's ``dlaccelerate``: an :class:`AcceleratedFunction` that traces ``fn`` once per
    input signature and replays the trace in the core afterwards.

    Call it as ``fn`` would be called, directly or through ``dlfeval`` (``[loss, grads] =
    dlfeval(accfun, net, X, T)``); ``dlgradient`` inside ``fn`` is traced too, so a cached call
    replays the backward pass as well. The signature is the shape, format and dtype of every
    dlarray argument (also inside lists, dicts and networks), a network's layers, and the
    value of every other argument. Options: ``cache_size``, ``enabled``, ``check_mode``,
    ``check_tolerance`` (see :class:`AcceleratedFunction`).

    As in MATLAB, only what the inputs determine is recomputed: values ``fn`` reads from
    elsewhere (globals, closures), random numbers drawn outside dlarray ops, Python control
    flow on values and numpy arrays made from dlarrays (comparisons such as ``X > 0`` give
    numpy masks) are those of the traced call. ``check_mode="tolerance"`` finds such cases.
    A call with a network whose layers read input values into numpy (``embeddingLayer``,
    attention with a padding mask) is not traced:
    the function runs directly.
    """
    return AcceleratedFunction(fn, **options)


def clearCache(accfun: AcceleratedFunction) -> None:
    """MATLAB's ``clearCache(accfun)``."""
    if not isinstance(accfun, AcceleratedFunction):
        raise OptionError(f"clearCache: expected an AcceleratedFunction, got {show(accfun)}")
    accfun.clear_cache()


accept_matlab_names(globals())
