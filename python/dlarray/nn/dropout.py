"""``dropout``: inverted dropout, as MATLAB's model-function idiom
``mask = rand(size(X)) > p; Y = X .* mask / (1 - p)``."""

from __future__ import annotations

from typing import Any, Tuple, Union

import numpy as np

from .. import _random
from .._arguments import as_dlarray, flag, number, show
from .._core import OptionError, ShapeError, dlarray
from .._matlab_names import accept_matlab_names
from ._params import numeric

__all__ = ["dropout"]


def dropout(
    X: Any,
    p: float = 0.5,
    *,
    mask: Any = None,
    seed: Union[None, int, np.random.Generator] = None,
    return_mask: bool = False,
) -> Union[dlarray, Tuple[dlarray, np.ndarray]]:
    """Zero each element of ``X`` with probability ``p`` and scale the kept ones by
    ``1 / (1 - p)``, so the expected value is unchanged. The format is kept.

    MATLAB documents no functional ``dropout`` (only ``dropoutLayer``); this is the inverted
    dropout of its model-function examples (an element is kept where ``rand > p``).

    * ``mask``: a given keep-mask (bool or 0/1, shape of ``X``) instead of a random one, so a
      forward pass can be repeated exactly (e.g. for gradient checks).
    * ``seed``: an int or a ``numpy.random.Generator`` for the random draw. Decision: with
      ``seed=None`` the draw uses numpy's global generator, so ``numpy.random.seed(s)``
      reproduces it (as ``rng(s)`` does in MATLAB).
    * ``return_mask=True`` returns ``(Y, mask)`` with the boolean keep-mask.

    ``p = 1`` drops everything (``Y`` is zeros); the gradient flows through kept elements
    only, scaled by ``1 / (1 - p)``.
    """
    op = "dropout"
    X = as_dlarray(X, op, "X")
    p = number(p, "probability p", op, low=0.0, high=1.0)
    return_mask = flag(return_mask, "return_mask", op)
    shape = tuple(X.shape)
    if mask is not None:
        keep = np.asarray(mask) if isinstance(mask, dlarray) else numeric(mask, op, "mask", "biuf")
        if keep.shape != shape:
            raise ShapeError(f"{op}: mask of shape {keep.shape} does not match input of shape {shape}")
        keep = keep.astype(bool)
    else:
        if isinstance(seed, np.random.Generator):
            u = seed.random(shape)
        elif seed is None:
            u = _random.random(shape)
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
            u = np.random.default_rng(int(seed)).random(shape)
        else:
            raise OptionError(f"{op}: seed must be None, a non-negative int or a numpy.random.Generator, got {show(seed)}")
        keep = u > p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    weights = keep.astype(np.float64) * scale
    real_dtype = np.zeros(0, X.dtype).real.dtype
    Y = X * weights.astype(real_dtype)
    return (Y, keep) if return_mask else Y


accept_matlab_names(globals())
