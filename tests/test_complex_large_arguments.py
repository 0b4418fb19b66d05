"""Complex division, tanh/tan and asin/acos agree with numpy where the textbook formulas
overflow or cancel: large magnitudes, tanh's large real parts, and the sign of a zero
imaginary part on asin/acos's branch cuts. Gradients there are checked by finite differences."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray
from gradcheck import gradcheck, gradgradcheck

DTYPES = [np.complex64, np.complex128]
NZ = -0.0


def close(got, want, dtype):
    got = np.asarray(got)
    assert np.isfinite(got).all() == np.isfinite(want).all()
    tol = 2e-6 if dtype == np.complex64 else 1e-14
    # Relative to each part's own size, with an absolute floor for parts that are tiny there.
    for g, w in ((got.real, want.real), (got.imag, want.imag)):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * 1e-30)
    # The sign of every zero part is numpy's too.
    np.testing.assert_array_equal(np.signbit(got.real[want.real == 0]), np.signbit(want.real[want.real == 0]))
    np.testing.assert_array_equal(np.signbit(got.imag[want.imag == 0]), np.signbit(want.imag[want.imag == 0]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_division_is_scaled(dtype):
    a = np.array([1e30 + 1e30j, 3 - 4j, 1e-30 + 2e-30j, 1e20 - 1e20j], dtype)
    b = np.array([1e30 + 0j, 1e30 + 1e-30j, 1e-30 - 1e-30j, 2e20 + 1e20j], dtype)
    close(dlarray(a) / dlarray(b), a / b, dtype)
    close(dlarray(a[:1]) / 1e30, a[:1] / dtype(1e30), dtype)
    assert np.asarray(dlarray(a[:1]) / 1e30)[0] == 1 + 1j


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_and_tan_of_large_arguments(dtype):
    z = np.array([50 + 1j, -50 + 1j, 50 - 2j, 1e3 + 0.5j, 8 + 3j, 25 - 1j, 0.5 + 0.25j, 20 + 0j], dtype)
    with np.errstate(all="ignore"):
        want = np.tanh(z)
    got = np.asarray(dl.tanh(dlarray(z)))
    # The imaginary part is subnormal for some of these in float32: compare it absolutely there.
    np.testing.assert_allclose(got.real, want.real, rtol=2e-6 if dtype == np.complex64 else 1e-14)
    np.testing.assert_allclose(got.imag, want.imag, rtol=2e-6 if dtype == np.complex64 else 1e-13, atol=1e-40)
    iz = (1j * z).astype(dtype)
    got = np.asarray(dl.tan(dlarray(iz)))
    with np.errstate(all="ignore"):
        want = np.tan(iz)
    np.testing.assert_allclose(got.imag, want.imag, rtol=2e-6 if dtype == np.complex64 else 1e-14)
    np.testing.assert_allclose(got.real, want.real, rtol=2e-6 if dtype == np.complex64 else 1e-13, atol=1e-40)


ASIN_POINTS = [
    1e5 + 1e5j,
    -1e5 + 1e5j,
    1e5 - 1e5j,
    1e30 + 1e30j,
    3 + 0j,
    complex(3, NZ),
    -3 + 0j,
    complex(-3, NZ),
    0.5 + 0j,
    complex(0.5, NZ),
    -0.5 + 0j,
    1 + 0j,
    1e-10 + 1e-10j,
    0.999 + 1e-8j,
    1.001 + 1e-8j,
    2j,
    -2j,
    0.3 + 0.7j,
    1.5 - 0.2j,
    0.7 + 0.7j,
    1e-20 + 1e5j,
    1e5 + 1e-20j,
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["asin", "acos"])
def test_asin_acos_match_numpy(dtype, name):
    z = np.array(ASIN_POINTS, dtype)
    ours, theirs = {"asin": (dl.asin, np.arcsin), "acos": (dl.acos, np.arccos)}[name]
    got, want = np.asarray(ours(dlarray(z))), theirs(z)
    tol = 4e-6 if dtype == np.complex64 else 4e-15
    np.testing.assert_allclose(got, want, rtol=tol, atol=0)
    for part in ("real", "imag"):
        g, w = getattr(got, part), getattr(want, part)
        np.testing.assert_array_equal(np.signbit(g[w == 0]), np.signbit(w[w == 0]), err_msg=part)
    # On the cut: asin(3 + 0j) has a positive imaginary part, asin(3 - 0j) a negative one.
    if name == "asin":
        assert got[4].imag > 0 and got[5].imag < 0


@pytest.mark.parametrize("fn", [dl.asin, dl.acos, dl.tanh, dl.tan])
def test_gradients_match_finite_differences(fn):
    z = np.array([[0.3 + 0.7j, 1.5 - 0.2j, -2.0 + 0.4j], [0.1 - 1.3j, 4.0 + 3.0j, -0.6 - 0.5j]])
    gradcheck(fn, z)
    gradgradcheck(fn, z)


def test_division_gradients_match_finite_differences():
    a = np.array([[1.0 + 2.0j, -3.0 + 0.5j], [0.25 - 1.0j, 2.0 + 2.0j]])
    b = np.array([[0.5 - 1.5j, 2.0 + 0.1j], [-1.0 + 3.0j, 0.2 - 0.3j]])
    gradcheck(lambda x, y: x / y, a, b)
    gradgradcheck(lambda x, y: x / y, a, b)
