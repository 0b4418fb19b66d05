"""The one gradient checker every test in the project uses.

``gradcheck(fn, *inputs)`` compares the first-order gradient that ``dlfeval``/``dlgradient``
compute for ``fn`` with central finite differences; ``gradgradcheck(fn, *inputs)`` does the
same for the gradient of a function *of the gradient* (computed with
``enable_higher_derivatives=True``), which is what PINN residuals and gradient penalties need.

Conventions
-----------
* ``fn(*xs)`` takes dlarrays and returns one dlarray of any shape. A non-scalar (or complex)
  output ``out`` is reduced to the real scalar ``y = sum(real(out * W))`` with a fixed random
  ``W`` (complex when ``out`` is complex), so every output element contributes.
* Every positional input is differentiated. Constants belong in a closure.
* Inputs are numpy arrays or dlarrays (a dlarray's format is kept); real inputs are used as
  float64, complex ones as complex128, so finite differences are accurate.
* For a complex input the expected gradient is ``dy/dRe(x) + i*dy/dIm(x)`` (design.md §4):
  the real and the imaginary part of each element are perturbed separately.
* Finite differences perturb one element at a time: keep test tensors small (<= ~30
  elements). The checks run outside any user ``dlfeval``.

Both functions raise ``AssertionError`` with the input index, the worst element and both
values when the check fails, and return the analytic gradients otherwise.
"""

from __future__ import annotations

from typing import Any, Callable, List, Sequence

import dlarray as dl
import numpy as np
from dlarray import dlarray, dlfeval, dlgradient, extractdata

__all__ = ["gradcheck", "gradgradcheck", "as_input", "numeric_gradient"]


# ----- inputs --------------------------------------------------------------------------------


def as_input(x: Any) -> dlarray:
    """``x`` as a float64 (or complex128) dlarray, keeping a dlarray's format."""
    fmt = x.fmt if isinstance(x, dlarray) else ""
    a = np.asarray(extractdata(x) if isinstance(x, dlarray) else x)
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    return _wrap(a, fmt)


def _wrap(a: np.ndarray, fmt: str) -> dlarray:
    # The data is already in canonical order when fmt is canonical, so no permutation happens.
    return dlarray(a, fmt) if fmt else dlarray(a)


def _perturbations(a: np.ndarray):
    """Yields (flat index, component, delta array): each real degree of freedom of ``a``."""
    parts = (1.0, 1j) if np.iscomplexobj(a) else (1.0,)
    for i in range(a.size):
        for unit in parts:
            d = np.zeros(a.shape, dtype=a.dtype)
            d.flat[i] = unit
            yield i, unit, d


def numeric_gradient(f: Callable[[List[dlarray]], float], xs: Sequence[dlarray], eps: float) -> List[np.ndarray]:
    """Central differences of the real scalar ``f(xs)`` w.r.t. every input, in the
    ``dy/dRe + i*dy/dIm`` convention for complex inputs."""
    fmts = [x.fmt for x in xs]
    data = [np.asarray(extractdata(x)) for x in xs]
    grads = []
    for k, a in enumerate(data):
        g = np.zeros(a.shape, dtype=a.dtype)
        for i, unit, d in _perturbations(a):

            def at(sign: float) -> float:
                moved = list(xs)
                moved[k] = _wrap(a + sign * eps * d, fmts[k])
                return f(moved)

            slope = (at(1.0) - at(-1.0)) / (2 * eps)
            g.flat[i] += unit * slope
        grads.append(g)
    return grads


# ----- scalarising the function ---------------------------------------------------------------


def _weights(out: dlarray, rng: np.random.Generator) -> Any:
    """The fixed weighting that turns ``out`` into a real scalar (None: use ``out`` as is)."""
    if out.size == 1 and not np.iscomplexobj(np.asarray(extractdata(out))):
        return None
    shape = out.shape
    w = rng.standard_normal(shape)
    if np.iscomplexobj(np.asarray(extractdata(out))):
        w = w + 1j * rng.standard_normal(shape)
    return w


def _scalarise(fn: Callable, xs: Sequence[dlarray], seed: int) -> Callable[..., dlarray]:
    out = fn(*xs)
    if not isinstance(out, dlarray):
        raise TypeError(f"gradcheck: fn must return a dlarray, got {type(out).__name__}")
    w = _weights(out, np.random.default_rng(seed))

    def y(*args: dlarray) -> dlarray:
        o = fn(*args)
        if w is None:
            return o.sum() if o.ndim else o
        # Weighting with a plain numpy array keeps W untraced; stripdims so a formatted
        # output combines with the unformatted weights.
        return dl.real(dl.stripdims(o) * w).sum()

    return y


def _check(analytic: Sequence[Any], numeric: Sequence[np.ndarray], xs: Sequence[dlarray], rtol: float, atol: float, what: str) -> None:
    for k, (ga, gn, x) in enumerate(zip(analytic, numeric, xs)):
        assert isinstance(ga, dlarray), f"{what}: gradient {k} is a {type(ga).__name__}, not a dlarray"
        assert ga.shape == x.shape, f"{what}: gradient {k} has shape {ga.shape}, input has {x.shape}"
        assert ga.fmt == x.fmt, f"{what}: gradient {k} has format '{ga.fmt}', input has '{x.fmt}'"
        assert ga.dtype == x.dtype, f"{what}: gradient {k} has dtype {ga.dtype}, input has {x.dtype}"
        assert not ga.traced, f"{what}: gradient {k} came back traced from dlfeval"
        a = np.asarray(extractdata(ga))
        bad = ~np.isclose(a, gn, rtol=rtol, atol=atol)
        if bad.any():
            i = int(np.argmax(np.abs(a - gn) * bad))
            raise AssertionError(
                f"{what}: gradient of input {k} (shape {x.shape}) differs from finite differences at "
                f"{np.unravel_index(i, a.shape) if a.ndim else ()}: analytic {a.flat[i]!r} vs numeric {gn.flat[i]!r}; "
                f"{int(bad.sum())}/{a.size} elements off (rtol={rtol}, atol={atol})\n"
                f"analytic:\n{a}\nnumeric:\n{gn}"
            )


# ----- the checks -------------------------------------------------------------------------------


def gradcheck(fn: Callable[..., dlarray], *inputs: Any, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0):
    """First-order check: ``dlgradient`` of ``fn`` vs central finite differences.

    Returns the analytic gradients (a list, one per input).
    """
    xs = [as_input(x) for x in inputs]
    y = _scalarise(fn, xs, seed)

    def grads(*args):
        out = dlgradient(y(*args), *args)
        return list(out) if len(args) > 1 else [out]

    analytic = dlfeval(grads, *xs)
    numeric = numeric_gradient(lambda moved: float(y(*moved)), xs, eps)
    _check(analytic, numeric, xs, rtol, atol, "gradcheck")
    return analytic


def gradgradcheck(fn: Callable[..., dlarray], *inputs: Any, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0):
    """Second-order check: the gradient of ``h(x) = sum(real(dlgradient(y(x), x,
    enable_higher_derivatives=True) * conj(V)))`` (V fixed random, one per input) vs central
    finite differences of ``h``, where ``h`` at a perturbed point uses the first-order
    gradient.

    Returns the analytic second-order gradients (a list, one per input).
    """
    xs = [as_input(x) for x in inputs]
    y = _scalarise(fn, xs, seed)
    rng = np.random.default_rng(seed + 1)
    vs = []
    for x in xs:
        v = rng.standard_normal(x.shape)
        if np.iscomplexobj(np.asarray(extractdata(x))):
            v = v + 1j * rng.standard_normal(x.shape)
        vs.append(v)

    def h(args, higher: bool) -> dlarray:
        g = dlgradient(y(*args), *args, enable_higher_derivatives=higher)
        g = list(g) if len(args) > 1 else [g]
        total = None
        for gk, v in zip(g, vs):
            # real(g * conj(V)) = Re(g)Re(V) + Im(g)Im(V): a real pairing, also for complex g.
            term = dl.real(dl.stripdims(gk) * np.conj(v)).sum()
            total = term if total is None else total + term
        return total

    def second(*args):
        out = dlgradient(h(args, True), *args)
        return list(out) if len(args) > 1 else [out]

    analytic = dlfeval(second, *xs)
    numeric = numeric_gradient(lambda moved: float(dlfeval(lambda *a: h(a, False), *moved)), xs, eps)
    _check(analytic, numeric, xs, rtol, atol, "gradgradcheck")
    return analytic
