"""``dlupdate``: apply a function to every learnable parameter (MATLAB's custom update)."""

from __future__ import annotations

from typing import Any, Callable

from .._arguments import show
from .._core import OptionError, ShapeError
from .._matlab_names import accept_matlab_names
from ._params import align, check_rows, is_tree_object, leaves, rebuild

__all__ = ["dlupdate"]

_OP = "dlupdate"


def dlupdate(fun: Callable[..., Any], net: Any, *more: Any) -> Any:
    """``net = dlupdate(fun, net, A1, ..., An)``: ``fun(p, a1, ..., an)`` for each parameter
    ``p`` of ``net`` with the entries ``ai`` of the containers ``A1..An`` at the same place.

    MATLAB: ``[netUpdated,X1,...,Xm] = dlupdate(fun,net,A1,...,An)``. MATLAB picks the number
    of outputs from the call; here ``fun`` decides: when it returns a tuple of ``k`` values,
    ``dlupdate`` returns a tuple of ``k`` containers (the first is the updated ``net``), so
    ``net, vel = dlupdate(lambda p, g, v: (p + v, v), net, grads, vel)`` works. Otherwise it
    returns the updated ``net`` alone.

    ``net`` is a dlnetwork, a learnables table, a dlarray or any dict / list / tuple nesting of
    arrays; each ``A`` has the same structure (dicts are matched by key, ``None`` passes
    ``None`` for every parameter). The first output has ``net``'s type; further outputs are
    shaped like ``net.learnables`` for a network, else like ``net``. The leaves are passed as
    they are (numpy arrays stay numpy arrays). Learn-rate and L2 factors are not applied:
    ``fun`` sees the raw values, as in MATLAB. Inputs are never modified.
    """
    if not callable(fun):
        raise OptionError(f"{_OP}: the first argument must be a function, got {show(fun)}")
    params = leaves(net)
    others = []
    for j, a in enumerate(more):
        what = f"argument {j + 3}"
        check_rows(_OP, what, net, a)
        others.append(align(_OP, what, net, a))

    results = []
    n_out = None
    for i, p in enumerate(params):
        r = fun(p, *(o[i] for o in others))
        outs = r if isinstance(r, tuple) else (r,)
        if n_out is None:
            n_out = len(outs)
            is_multi = isinstance(r, tuple)
        elif len(outs) != n_out or isinstance(r, tuple) != is_multi:
            raise ShapeError(f"{_OP}: the function returned {len(outs)} outputs for parameter {i} but {n_out} before")
        if n_out == 0:
            raise ShapeError(f"{_OP}: the function returned an empty tuple; it must return the updated parameter")
        results.append(outs)

    if n_out is None:  # a container without arrays: nothing to update
        return net
    first = rebuild(net, [r[0] for r in results])
    if not is_multi:
        return first
    template = net.learnables if is_tree_object(net) and hasattr(net, "learnables") else net
    extra = [rebuild(template, [r[k] for r in results]) for k in range(1, n_out)]
    return (first, *extra)


accept_matlab_names(globals())
