"""The one random source of dlarray, and MATLAB's ``rng``.

Every random draw dlarray makes — weight initialisers, ``dropout`` and ``dropoutLayer``,
attention dropout, ``shuffle`` of datastores and mini-batch queues, spatial dropout — goes
through this module, and this module draws from numpy's global random state (the legacy
``numpy.random`` functions, a Mersenne Twister as MATLAB's default generator). So
``rng(seed)`` (or ``numpy.random.seed``) makes a whole training run repeatable, and user code
drawing with ``numpy.random.rand`` shares the stream, as MATLAB code drawing with ``rand``
shares MATLAB's.

``rng(0)`` and ``rng("default")`` seed the twister as MATLAB's ``rng(0)`` does (its seed 0 is
the twister's reference seed 5489), so ``numpy.random.rand`` then gives MATLAB's ``rand``
numbers (0.8147, 0.9058, ...); other draws (normal, permutations) use numpy's algorithms.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Tuple

import numpy as np

from ._arguments import show
from ._core import OptionError

__all__ = ["normal", "permutation", "random", "rng", "uniform"]

#: MATLAB maps ``rng(0)`` to the Mersenne Twister's reference seed.
_MATLAB_ZERO_SEED = 5489


def random(shape: Tuple[int, ...]) -> np.ndarray:
    """Uniform [0, 1) float64 values of ``shape``."""
    return np.random.random_sample(shape)


def uniform(low: float, high: float, shape: Tuple[int, ...]) -> np.ndarray:
    return np.random.uniform(low, high, shape)


def normal(shape: Tuple[int, ...]) -> np.ndarray:
    """Standard-normal float64 values of ``shape``."""
    return np.random.standard_normal(shape)


def permutation(n: int) -> np.ndarray:
    return np.random.permutation(n)


def integer_seed() -> int:
    """A seed drawn from the stream (for generators that must agree across processes)."""
    return int(np.random.randint(0, 2**62, dtype=np.int64))


def _settings() -> Dict[str, Any]:
    return {"type": "twister", "seed": _seed, "state": np.random.get_state()}


_seed: Any = None


def rng(seed: Any = None, generator: str = "twister") -> Dict[str, Any]:
    """MATLAB's ``rng``: seed the generator every dlarray draw (and ``numpy.random``) uses.

    * ``rng(seed)`` with a non-negative int, ``rng("default")`` (seed 0), ``rng("shuffle")``
      (a seed from the clock), or ``rng(settings)`` with a dict an earlier call returned
      (restores that exact state).
    * ``rng()`` changes nothing.

    Returns the settings *before* the call (MATLAB's ``s = rng(...)``; ``rng()`` returns the
    current ones): a dict with ``type``, ``seed`` and ``state``, which ``rng(s)`` restores.
    Only the ``"twister"`` generator exists (MATLAB's default).
    """
    global _seed
    op = "rng"
    if not isinstance(generator, str) or generator.lower() not in ("twister", "default"):
        raise OptionError(f"{op}: generator must be 'twister' (MATLAB's default), got {show(generator)}")
    before = _settings()
    if seed is None:
        return before
    if isinstance(seed, dict):
        if "state" not in seed:
            raise OptionError(f"{op}: settings must be a dict returned by rng(), got keys {sorted(seed)}")
        np.random.set_state(seed["state"])
        _seed = seed.get("seed")
        return before
    if isinstance(seed, str):
        mode = seed.lower()
        if mode == "default":
            seed = 0
        elif mode == "shuffle":
            seed = int(time.time_ns() % 2**32)
        else:
            raise OptionError(f"{op}: seed must be a non-negative int, 'default', 'shuffle' or settings, got {show(seed)}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise OptionError(f"{op}: seed must be an int from 0 to 2**32 - 1, 'default', 'shuffle' or settings, got {show(seed)}")
    np.random.seed(_MATLAB_ZERO_SEED if seed == 0 else int(seed))
    _seed = int(seed)
    return before
