"""Device placement with MATLAB's names. The wgpu backend is built in its own issue; until it
lands, ``canUseGPU()`` is False and arrays live on the CPU."""

from __future__ import annotations

from typing import Any

from . import _core
from ._matlab_names import accept_matlab_names
from .errors import DeviceError

__all__ = ["canUseGPU", "gather", "gpuArray"]


def canUseGPU() -> bool:
    """Whether a GPU backend is compiled in and a GPU adapter is available."""
    return False


def gpuArray(x: Any) -> Any:
    """Move ``x`` to the GPU (MATLAB's ``gpuArray``). Raises ``DeviceError`` when no GPU can be used."""
    raise DeviceError("gpuArray: no GPU is available (canUseGPU() is False); dlarray runs on the CPU")


def gather(x: Any) -> Any:
    """Bring ``x`` to host memory: the identity for CPU data (MATLAB's ``gather``)."""
    return x if isinstance(x, _core.dlarray) else x

accept_matlab_names(globals())
