"""``rmspropupdate``: MATLAB's functional RMSProp update."""

from __future__ import annotations

from typing import Any, Tuple

from .. import _core
from .._matlab_names import accept_matlab_names
from ._fused import fused_update
from ._params import hyper

__all__ = ["rmspropupdate"]

_OP = "rmspropupdate"


def rmspropupdate(
    net: Any,
    grad: Any,
    average_sq_grad: Any,
    learn_rate: float = 0.001,
    sq_grad_decay: float = 0.9,
    epsilon: float = 1e-8,
) -> Tuple[Any, Any]:
    """One RMSProp step: ``net, average_sq_grad = rmspropupdate(net, grad, average_sq_grad)``.

    MATLAB: ``[netUpdated,averageSqGrad] = rmspropupdate(net,grad,averageSqGrad,learnRate,
    sqGradDecay,epsilon)``, defaults 0.001, 0.9, 1e-8 (``None`` means the default). Containers,
    ``None`` initial state, value semantics and learn-rate factors as in ``adamupdate``.

    Update, per element (no bias correction, no momentum; ε outside the square root)::

        s ← ρ·s + (1−ρ)·g²
        θ ← θ − lr · g / (√s + ε)
    """
    lr = hyper(_OP, "learnRate", learn_rate, 0.001)
    rho = hyper(_OP, "sqGradDecay", sq_grad_decay, 0.9)
    eps = hyper(_OP, "epsilon", epsilon, 1e-8)

    def kernel(ps, gs, ss, lrs):
        return _core._rmsprop_step(_OP, ps, gs, ss[0], lrs, rho, eps)

    new, (s,) = fused_update(_OP, net, grad, [("averageSqGrad", average_sq_grad)], lr, kernel)
    return new, s


accept_matlab_names(globals())
