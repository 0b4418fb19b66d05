"""What a benchmark workload is, and the pieces every family of workloads shares.

A :class:`Workload` makes its numpy data once (fixed seed, float32, MATLAB's layouts) and
builds, from that same data, the dlarray timing functions and — when PyTorch is installed —
the PyTorch ones (NCHW / TBC layouts, ``torch.nn.functional``). The asv suites
(``bench_nn_*.py``) time the dlarray side; ``benches/compare_ops.py`` times both and prints
ratios. Keeping one definition is what makes the ratios honest: same shapes, same values.

Phases: ``forward`` (dlarray untraced, PyTorch under ``no_grad``) and ``forward_backward``
(dlarray inside ``dlfeval`` with ``dlgradient`` of the summed output on every input and
parameter; PyTorch ``autograd.grad`` of the summed output on the same leaves). Optimizers
have the single phase ``step``.

Nothing here is named ``time_*``: asv imports every module of this package and would take
such a method for a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping

import dlarray as dl
import numpy as np

f32 = np.float32

Phases = Dict[str, Callable[[], Any]]


@dataclass(frozen=True)
class Workload:
    """One op at one realistic size.

    ``data(rng)`` returns a dict of numpy arrays; ``dlarray(data)`` and ``torch(data)`` return
    the phases. ``comparable``: the forward outputs of both libraries hold the same values
    (up to layout), so compare_ops.py checks them before timing; False for random ops.
    """

    family: str
    name: str
    data: Callable[[np.random.Generator], Dict[str, np.ndarray]]
    dlarray: Callable[[Dict[str, np.ndarray]], Phases]
    torch: Callable[[Dict[str, np.ndarray]], Phases]
    comparable: bool = True

    def make_data(self) -> Dict[str, np.ndarray]:
        return self.data(np.random.default_rng(0))

    def dlarray_phases(self, data=None) -> Phases:
        return self.dlarray(self.make_data() if data is None else data)

    def torch_phases(self, data=None) -> Phases:
        return self.torch(self.make_data() if data is None else data)


def normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape, dtype=f32) * f32(scale)).astype(f32)


# ----- dlarray side ---------------------------------------------------------------------------


def dlarray_phases(fn: Callable[[Mapping[str, Any]], Any], leaves: Mapping[str, Any]) -> Phases:
    """``forward``: ``fn(leaves)`` untraced. ``forward_backward``: inside ``dlfeval``, the
    gradient of ``sum(fn(leaves))`` with respect to every leaf (input and parameters)."""
    leaves = {k: v if isinstance(v, dl.dlarray) else dl.dlarray(v) for k, v in leaves.items()}

    def forward():
        return fn(leaves)

    def loss_and_gradients(d):
        return dl.dlgradient(fn(d).sum(), d)

    return {"forward": forward, "forward_backward": lambda: dl.dlfeval(loss_and_gradients, leaves)}


# ----- PyTorch side (imported only when a PyTorch workload is built) ----------------------------


def torch_modules():
    import torch
    import torch.nn.functional as F

    return torch, F


def tensor(a: np.ndarray, grad: bool = False):
    torch, _ = torch_modules()
    t = torch.from_numpy(np.ascontiguousarray(a))
    return t.requires_grad_(grad)


def torch_phases(fn: Callable[[Mapping[str, Any]], Any], leaves: Mapping[str, Any]) -> Phases:
    """As :func:`dlarray_phases`: ``forward`` under ``no_grad``; ``forward_backward`` the
    gradient of ``sum(fn(leaves))`` with respect to every leaf."""
    torch, _ = torch_modules()
    leaves = dict(leaves)
    for t in leaves.values():
        t.requires_grad_(True)
    ordered = list(leaves.values())

    def forward():
        with torch.no_grad():
            return fn(leaves)

    def forward_backward():
        return torch.autograd.grad(fn(leaves).sum(), ordered)

    return {"forward": forward, "forward_backward": forward_backward}


# ----- layouts: dlarray keeps MATLAB's canonical S..., C, B, T; PyTorch wants N, C, S... or T, B, C


def nchw(x: np.ndarray) -> np.ndarray:
    """(S1, ..., Sd, C, B) → (B, C, S1, ..., Sd)."""
    n = x.ndim
    return np.ascontiguousarray(x.transpose(n - 1, n - 2, *range(n - 2)))


def tbc(x: np.ndarray) -> np.ndarray:
    """(C, B, T) → (T, B, C)."""
    return np.ascontiguousarray(x.transpose(2, 1, 0))


def torch_filters(w: np.ndarray) -> np.ndarray:
    """MATLAB's grouped filter layout to PyTorch's.

    dlconv ``(K..., C/G, F/G, G)`` → conv ``(F, C/G, K...)``; dltranspconv ``(K..., F/G, C/G, G)``
    → conv_transpose ``(C, F/G, K...)``: in both the last three dims reverse and the first two
    of them merge."""
    n = w.ndim
    k = w.shape[: n - 3]
    t = w.transpose(n - 1, n - 2, n - 3, *range(n - 3))
    return np.ascontiguousarray(t.reshape(w.shape[n - 1] * w.shape[n - 2], w.shape[n - 3], *k))
