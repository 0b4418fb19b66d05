"""``sgdmupdate``: MATLAB's functional SGD-with-momentum update (velocity form)."""

from __future__ import annotations

from typing import Any, Tuple

from .. import _core
from .._matlab_names import accept_matlab_names
from ._fused import fused_update
from ._params import hyper

__all__ = ["sgdmupdate"]

_OP = "sgdmupdate"


def sgdmupdate(net: Any, grad: Any, vel: Any, learn_rate: float = 0.01, momentum: float = 0.9) -> Tuple[Any, Any]:
    """One SGDM step: ``net, vel = sgdmupdate(net, grad, vel)``.

    MATLAB: ``[netUpdated,vel] = sgdmupdate(net,grad,vel,learnRate,momentum)``, defaults 0.01
    and 0.9 (``None`` means the default). Containers, ``None`` initial velocity, value
    semantics and learn-rate factors as in ``adamupdate``.

    MATLAB's velocity form, per element::

        v ← μ·v − lr·g
        θ ← θ + v

    (PyTorch's ``buf ← μ·buf + g; θ ← θ − lr·buf`` agrees only for a constant learning rate.)
    """
    lr = hyper(_OP, "learnRate", learn_rate, 0.01)
    mu = hyper(_OP, "momentum", momentum, 0.9)

    def kernel(ps, gs, ss, lrs):
        return _core._sgdm_step(_OP, ps, gs, ss[0], lrs, mu)

    new, (v,) = fused_update(_OP, net, grad, [("vel", vel)], lr, kernel)
    return new, v


accept_matlab_names(globals())
