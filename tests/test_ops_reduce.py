"""Reductions (sum, mean, prod, max, min, norm) and cumsum: values against numpy for every
axis form, keepdims, formats, and first/second-order gradients in float64."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, extractdata
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)

REDUCTIONS = {
    "sum": (lambda x, **k: x.sum(**k), np.sum),
    "mean": (lambda x, **k: x.mean(**k), np.mean),
    "prod": (lambda x, **k: x.prod(**k), np.prod),
    "max": (lambda x, **k: x.max(**k), np.max),
    "min": (lambda x, **k: x.min(**k), np.min),
    "sum_fn": (lambda x, **k: dl.sum(x, **k), np.sum),
    "mean_fn": (lambda x, **k: dl.mean(x, **k), np.mean),
    "prod_fn": (lambda x, **k: dl.prod(x, **k), np.prod),
    "max_fn": (lambda x, **k: dl.max(x, **k), np.max),
    "min_fn": (lambda x, **k: dl.min(x, **k), np.min),
}

AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)]


def _distinct(shape):
    # Distinct values: max/min are differentiable there, and prod stays away from zero.
    n = int(np.prod(shape))
    v = RNG.permutation(n) * 0.11 + 0.5
    return (v * RNG.choice([-1.0, 1.0], n)).reshape(shape)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduction_value(name, axis, keepdims, dtype):
    f, ref = REDUCTIONS[name]
    x = _distinct((2, 3, 4)).astype(dtype)
    y = f(dlarray(x), axis=axis, keepdims=keepdims)
    expected = ref(x.astype(np.float64), axis=axis, keepdims=keepdims)
    assert isinstance(y, dlarray)
    assert y.shape == expected.shape
    assert y.dtype == dtype
    tol = 3e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(extractdata(y), expected.astype(dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 2, (0, 2), -2], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_gradient(name, axis, keepdims):
    f, _ = REDUCTIONS[name]
    x = _distinct((2, 3, 2))
    gradcheck(lambda a: f(a, axis=axis, keepdims=keepdims), x)
    gradgradcheck(lambda a: f(a, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("zeros", [[3], [0, 4], [1, 2, 5]], ids=str)
@pytest.mark.parametrize("axis", [None, 1, 0], ids=str)
def test_prod_with_zeros(zeros, axis):
    x = _distinct((2, 3))
    x.flat[zeros] = 0.0
    y = dlarray(x).prod(axis=axis)
    np.testing.assert_allclose(extractdata(y), np.prod(x, axis=axis))
    g = gradcheck(lambda a: a.prod(axis=axis), x)
    assert np.all(np.isfinite(extractdata(g[0])))
    gradgradcheck(lambda a: a.prod(axis=axis), x)


def test_prod_gradient_at_single_zero_is_product_of_others():
    x = np.array([2.0, 0.0, 3.0, 5.0])
    g = dl.dlfeval(lambda a: dl.dlgradient(a.prod(), a), dlarray(x))
    np.testing.assert_allclose(extractdata(g), [0.0, 30.0, 0.0, 0.0])


def test_max_ties_share_the_gradient():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    g = dl.dlfeval(lambda a: dl.dlgradient(a.max(), a), dlarray(x))
    np.testing.assert_allclose(extractdata(g), [[0, 0.5, 0.5], [0, 0, 0]])
    g = dl.dlfeval(lambda a: dl.dlgradient(a.min(axis=1).sum(), a), dlarray(x))
    np.testing.assert_allclose(extractdata(g), [[1, 0, 0], [0, 0, 1]])


def test_max_propagates_nan_like_numpy():
    x = np.array([1.0, np.nan, 3.0])
    assert np.isnan(float(dlarray(x).max()))
    assert np.isnan(float(dlarray(x).min()))


def test_reduction_errors():
    x = dlarray(np.ones((2, 3)))
    with pytest.raises(IndexError):
        x.sum(axis=2)
    with pytest.raises(ValueError):
        x.sum(axis=(0, 0))
    with pytest.raises(dl.ShapeError):
        dlarray(np.ones((0, 3))).max(axis=0)


def test_empty_sum_and_prod():
    x = dlarray(np.ones((0, 3)))
    np.testing.assert_array_equal(extractdata(x.sum(axis=0)), np.zeros(3))
    np.testing.assert_array_equal(extractdata(x.prod(axis=0)), np.ones(3))


# ----- norm --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ord", [2, 1, 3, float("inf"), None], ids=str)
@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
def test_norm(ord, axis):
    x = _distinct((3, 4))
    y = dl.norm(dlarray(x), ord=ord, axis=axis)
    if axis is None:
        expected = np.linalg.norm(x.ravel(), ord=ord)
    else:
        expected = np.linalg.norm(x, ord=ord, axis=axis)
    np.testing.assert_allclose(extractdata(y), expected, rtol=1e-12)
    gradcheck(lambda a: dl.norm(a, ord=ord, axis=axis), x)
    gradgradcheck(lambda a: dl.norm(a, ord=ord, axis=axis), x)


def test_norm_keepdims_and_bad_ord():
    x = dlarray(np.ones((2, 3)))
    assert dl.norm(x, axis=1, keepdims=True).shape == (2, 1)
    with pytest.raises(ValueError):
        dl.norm(x, ord=-1)


# ----- cumsum -----------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cumsum_value(axis, reverse, dtype):
    x = RNG.standard_normal((3, 4)).astype(dtype)
    y = dl.cumsum(dlarray(x), axis=axis, reverse=reverse)
    flat = x.ravel() if axis is None else x
    ax = 0 if axis is None else axis
    expected = np.flip(np.cumsum(np.flip(flat, ax), axis=ax), ax) if reverse else np.cumsum(flat, axis=ax)
    assert y.shape == expected.shape and y.dtype == dtype
    np.testing.assert_allclose(extractdata(y), expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_gradient(axis, reverse):
    x = RNG.standard_normal((3, 4))
    gradcheck(lambda a: dl.cumsum(a, axis=axis, reverse=reverse), x)
    gradgradcheck(lambda a: dl.cumsum(a * a, axis=axis, reverse=reverse), x)


# ----- formats ----------------------------------------------------------------------------------


def test_reduction_formats():
    x = dlarray(RNG.standard_normal((4, 5, 3, 2)), "SSCB")
    assert x.sum(axis="S").fmt == "CB"
    assert x.sum(axis="S").shape == (3, 2)
    assert x.mean(axis="S", keepdims=True).fmt == "SSCB"
    assert x.mean(axis="S", keepdims=True).shape == (1, 1, 3, 2)
    assert x.max(axis="C").fmt == "SSB"
    assert x.sum(axis=3).fmt == "SSC"
    assert x.sum().fmt == ""
    assert x.sum().shape == ()
    assert x.sum(keepdims=True).fmt == "SSCB"
    np.testing.assert_allclose(extractdata(x.sum(axis="SC")), extractdata(x).sum(axis=(0, 1, 2)))
    assert dl.cumsum(x, axis="C").fmt == "SSCB"
    with pytest.raises(dl.FormatError):
        x.sum(axis="T")
    with pytest.raises(dl.FormatError):
        dlarray(np.ones((2, 2))).sum(axis="C")


def test_reduction_gradient_keeps_format():
    x = dlarray(RNG.standard_normal((3, 2)), "CB")
    g = dl.dlfeval(lambda a: dl.dlgradient(a.prod(axis="C").sum(), a), x)
    assert g.fmt == "CB"
    np.testing.assert_allclose(extractdata(g), np.prod(extractdata(x), axis=0) / extractdata(x))


# ----- large tensors take the parallel kernel paths ------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, 2, (0, 2)], ids=str)
def test_large_reductions_match_numpy(axis):
    x = RNG.standard_normal((64, 33, 40))  # > the rayon threshold
    X = dlarray(x)
    np.testing.assert_allclose(extractdata(X.sum(axis=axis)), x.sum(axis=axis), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(extractdata(X.max(axis=axis)), x.max(axis=axis))
    np.testing.assert_array_equal(extractdata(X.min(axis=axis)), x.min(axis=axis))
    np.testing.assert_allclose(extractdata(X.mean(axis=axis)), x.mean(axis=axis), rtol=1e-10, atol=1e-12)


def test_large_long_row_and_cumsum():
    x = RNG.standard_normal(200_000)
    np.testing.assert_allclose(float(dlarray(x).sum()), x.sum(), rtol=1e-9)
    assert float(dlarray(x).max()) == x.max()
    y = RNG.standard_normal((300, 200))
    np.testing.assert_allclose(extractdata(dl.cumsum(dlarray(y), axis=1)), np.cumsum(y, axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        extractdata(dl.cumsum(dlarray(y), axis=0, reverse=True)), np.cumsum(y[::-1], axis=0)[::-1], rtol=1e-9, atol=1e-9
    )
    g = dl.dlfeval(lambda a: dl.dlgradient(a.max(axis=0).sum(), a), dlarray(y))
    expected = (y == y.max(axis=0)).astype(float)
    np.testing.assert_array_equal(extractdata(g), expected)
