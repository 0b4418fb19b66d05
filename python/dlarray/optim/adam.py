"""``adamupdate``: MATLAB's functional Adam update."""

from __future__ import annotations

from typing import Any, Tuple

from .. import _core
from .._matlab_names import accept_matlab_names
from ._fused import fused_update
from ._params import hyper

__all__ = ["adamupdate"]

_OP = "adamupdate"


def adamupdate(
    net: Any,
    grad: Any,
    average_grad: Any,
    average_sq_grad: Any,
    iteration: int,
    learn_rate: float = 0.001,
    grad_decay: float = 0.9,
    sq_grad_decay: float = 0.999,
    epsilon: float = 1e-8,
) -> Tuple[Any, Any, Any]:
    """One Adam step: ``net, average_grad, average_sq_grad = adamupdate(net, grad,
    average_grad, average_sq_grad, iteration)``.

    MATLAB: ``[netUpdated,averageGrad,averageSqGrad] = adamupdate(net,grad,averageGrad,
    averageSqGrad,iteration,learnRate,gradDecay,sqGradDecay,epsilon)``, with the same
    positional order and defaults (0.001, 0.9, 0.999, 1e-8); ``None`` for a hyper-parameter
    means its default.

    ``net`` is a dlnetwork, a learnables table, a dlarray, a numpy array, or any dict / list /
    tuple nesting of them; ``grad`` has the same structure (for a network: the table returned
    by ``dlgradient(loss, net.learnables)``). Pass ``None`` (or ``[]``, as MATLAB writes it) for
    the averages on the first call (MATLAB's ``[]``: zeros). ``iteration`` counts from 1. Returns new objects; the inputs are
    left unchanged. The averages come back shaped like ``grad`` for a network, like the
    parameters otherwise, and are the uncorrected moving averages.

    Update, per element, in the form of MATLAB's own Adam solver (bias correction folded into
    the step size; ε added to the square root of the uncorrected average)::

        m ← β₁·m + (1−β₁)·g
        v ← β₂·v + (1−β₂)·g²
        θ ← θ − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)

    For a network, each parameter's learn-rate factor scales ``learn_rate``; parameters with
    factor 0 and their averages are left as they are. L2 factors are not applied (add the
    regularisation to the gradients, as in MATLAB). The whole parameter set is updated in one
    fused Rust pass, not recorded for differentiation.
    """
    lr = hyper(_OP, "learnRate", learn_rate, 0.001)
    b1 = hyper(_OP, "gradDecay", grad_decay, 0.9)
    b2 = hyper(_OP, "sqGradDecay", sq_grad_decay, 0.999)
    eps = hyper(_OP, "epsilon", epsilon, 1e-8)
    t = hyper(_OP, "iteration", iteration, float("nan"))

    def kernel(ps, gs, ss, lrs):
        return _core._adam_step(_OP, ps, gs, ss[0], ss[1], lrs, b1, b2, eps, t)

    new, (m, v) = fused_update(_OP, net, grad, [("averageGrad", average_grad), ("averageSqGrad", average_sq_grad)], lr, kernel)
    return new, m, v


accept_matlab_names(globals())
