"""Gradients where a function is not differentiable: ``norm`` at the zero vector and
``atan2(0, 0)`` take the gradient 0 (PyTorch's choice for norm) and finite higher derivatives,
so a NaN never reaches a sum of gradients; everywhere else they match finite differences to
second order."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


def first_and_second(fn, x, v):
    """fn(x), its gradient, and the gradient of sum(gradient * v)."""

    def f(x):
        y = fn(x)
        g = dlgradient(y, x, enable_higher_derivatives=True)
        h = dlgradient(dl.real(dl.stripdims(g) * v).sum(), x)
        return g, h

    g, h = dlfeval(f, x)
    return np.asarray(g), np.asarray(h)


@pytest.mark.parametrize("ord", [2, None, 3, 1, float("inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_gradient_at_zero_is_zero(ord, dtype):
    x = dlarray(np.zeros(4, dtype))
    g, h = first_and_second(lambda x: dl.norm(x, ord), x, np.arange(4.0))
    assert g.dtype == dtype
    np.testing.assert_array_equal(g, np.zeros(4))
    np.testing.assert_array_equal(h, np.zeros(4))


def test_norm_between_1_and_2_has_a_zero_gradient_at_zero():
    # Its second derivative is infinite at a zero element (|x|^p, p < 2), as the formula says.
    def f(x):
        return dlgradient(dl.norm(x, 1.5), x)

    np.testing.assert_array_equal(np.asarray(dlfeval(f, dlarray(np.zeros(3)))), np.zeros(3))
    gradcheck(lambda x: dl.norm(x, 1.5), RNG.standard_normal(4))


def test_zero_norm_does_not_poison_other_gradients():
    # A zero vector's norm multiplied by 0 must leave the rest of the gradient alone.
    def f(x):
        y = dl.norm(x * 0.0) * 0.0 + (x * x).sum() + dl.norm(x[0:2] * 0.0)
        return dlgradient(y, x)

    X = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(np.asarray(dlfeval(f, dlarray(X))), 2 * X)


def test_norm_per_column_with_a_zero_column():
    X = np.array([[0.0, 3.0], [0.0, 4.0]])

    def f(x):
        n = dl.norm(x, axis=0)
        return n, dlgradient(n.sum(), x)

    n, g = dlfeval(f, dlarray(X))
    np.testing.assert_array_equal(np.asarray(n), [0.0, 5.0])
    np.testing.assert_allclose(np.asarray(g), [[0.0, 0.6], [0.0, 0.8]], rtol=1e-15)


@pytest.mark.parametrize("ord", [2, 3])
def test_norm_matches_finite_differences_away_from_zero(ord):
    x = RNG.standard_normal((3, 2))
    x[0, 0] = 0.0  # a zero element of a nonzero vector is a smooth point
    gradcheck(lambda x: dl.norm(x, ord), x)
    gradgradcheck(lambda x: dl.norm(x, ord), x)
    gradcheck(lambda x: dl.norm(x, ord, axis=1), x)
    gradgradcheck(lambda x: dl.norm(x, ord, axis=1), x)


def test_complex_norm_gradient_at_zero_is_zero():
    x = dlarray(np.zeros(3, np.complex128))
    g, h = first_and_second(lambda x: dl.norm(x), x, np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    assert np.all(np.isfinite(h))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_atan2_gradient_at_origin_is_zero(dtype):
    def f(a, b):
        y = dl.atan2(a, b).sum()
        ga, gb = dlgradient(y, a, b, enable_higher_derivatives=True)
        return (ga, gb) + dlgradient((ga * 2.0 + gb * 3.0).sum(), a, b)

    z = np.zeros(3, dtype)
    out = [np.asarray(t) for t in dlfeval(f, dlarray(z), dlarray(z.copy()))]
    for t in out:
        assert t.dtype == dtype
        np.testing.assert_array_equal(t, np.zeros(3))


def test_atan2_origin_does_not_poison_other_gradients():
    def f(a, b):
        y = (dl.atan2(a, b) * 0.0).sum() + (a * b).sum()
        return dlgradient(y, a, b)

    a, b = np.array([0.0, 1.0]), np.array([0.0, 2.0])
    ga, gb = dlfeval(f, dlarray(a), dlarray(b))
    np.testing.assert_array_equal(np.asarray(ga), b)
    np.testing.assert_array_equal(np.asarray(gb), a)


def test_atan2_matches_finite_differences_elsewhere():
    a = np.array([0.0, 1.5, -0.7, 2.0, 0.3])
    b = np.array([1.0, 0.0, -0.4, -3.0, 0.2])
    gradcheck(dl.atan2, a, b)
    gradgradcheck(dl.atan2, a, b)
    # Broadcasting: a scalar against a vector.
    gradcheck(dl.atan2, np.array(0.5), b)
    gradgradcheck(dl.atan2, np.array(0.5), b)


def test_atan2_gradient_of_tiny_and_huge_arguments():
    # r² = a² + b² under- or overflows here; the gradient ±1/r is still representable.
    def f(a, b):
        return dlgradient(dl.atan2(a, b).sum(), a, b)

    a = np.array([1e-200, 0.0, 3e-170, 1e200])
    b = np.array([0.0, 1e-200, 4e-170, 0.0])
    ga, gb = (np.asarray(t) for t in dlfeval(f, dlarray(a), dlarray(b)))
    # b/r² and -a/r²; for (3e-170, 4e-170), r = 5e-170.
    np.testing.assert_allclose(ga, [0.0, 1e200, 0.16e170, 0.0], rtol=1e-14)
    np.testing.assert_allclose(gb, [-1e200, 0.0, -0.12e170, -1e-200], rtol=1e-14)
