"""Device placement with MATLAB's names: ``gpuArray``, ``gather``, ``canUseGPU``.

An array on the GPU is a dlarray whose ``device`` is ``"gpu"``; every op accepts it, and an op
with any operand on the GPU puts its result there (MATLAB's rule: a host scalar or array
beside a ``gpuArray`` is moved to the GPU). Ops with a GPU kernel run there; the others run
on the CPU on the array's host copy, and their results are placed on the GPU as well (see
``docs/gpu.md`` for the list).
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from . import _core
from ._matlab_names import accept_matlab_names

__all__ = ["canUseGPU", "gather", "gpuArray", "gpu_info"]


def canUseGPU() -> bool:
    """Whether a GPU can be used: this build has the GPU backend and a GPU adapter was found.

    CPU adapters (Mesa's lavapipe) count only when the environment sets
    ``DLARRAY_GPU_ADAPTER=any``, which is how tests run real shaders without a GPU. The first
    call creates the process's GPU device."""
    return _core._gpu_available()


def gpu_info() -> Dict[str, str]:
    """The GPU adapter (name, backend, device type, driver) and its limits, as strings.
    Raises ``DeviceError`` when no GPU can be used."""
    return dict(_core._gpu_info())


def gpuArray(x: Any) -> Any:
    """``x`` on the GPU (MATLAB's ``gpuArray``): a dlarray keeps its format and its trace
    (the gradient goes back to the host array it came from); a numpy array, list or scalar
    becomes an unformatted dlarray. Raises ``DeviceError`` when no GPU can be used, and
    ``DTypeError`` for complex data or float64 on an adapter without ``shader-f64``."""
    if not isinstance(x, _core.dlarray):
        x = _core.dlarray(np.asarray(x))
    return x.to("gpu")


def gather(x: Any) -> Any:
    """``x`` in host memory (MATLAB's ``gather``): a GPU dlarray comes back as a CPU dlarray
    with its format and trace; anything else is returned as it is."""
    return x.to("cpu") if isinstance(x, _core.dlarray) else x


accept_matlab_names(globals())
