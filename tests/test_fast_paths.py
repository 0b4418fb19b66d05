"""The fast paths behind the elementwise-heavy deep-learning ops: ``where`` on equal and
broadcast shapes, reductions over adjacent axes, single-axis integer indexing (``W[:, idx]``,
a direct gather whose gradient is a scatter-add), ``leakyrelu`` as one op and the fused
standardisation of layer/group/instance normalisation — values against numpy, gradients
against finite differences to second order (float64)."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import DlIndexError, dlarray, extractdata
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)


@pytest.mark.parametrize(
    "sc,sa,sb",
    [
        ((4, 5), (4, 5), (4, 5)),
        ((4, 1), (1, 5), (4, 5)),
        ((1, 5), (4, 5), ()),
        ((3, 1, 5), (1, 4, 1), (3, 4, 5)),
        ((2, 3, 1, 1), (2, 3, 4, 5), (1, 1, 4, 1)),
    ],
)
def test_where_matches_numpy(sc, sa, sb):
    c = RNG.standard_normal(sc) > 0
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    got = extractdata(dl.where(c, dlarray(a), dlarray(b)))
    np.testing.assert_array_equal(got, np.where(c, a, b))


def test_where_nan_condition_is_true():
    c = np.array([np.nan, 0.0, 2.0])
    np.testing.assert_array_equal(extractdata(dl.where(dlarray(c), dlarray(np.ones(3)), dlarray(np.zeros(3)))), [1.0, 0.0, 1.0])


def test_where_gradients_broadcast():
    c = RNG.standard_normal((3, 4)) > 0
    f = lambda a, b: dl.where(c, a * a, b * b * b)  # noqa: E731
    gradcheck(f, RNG.standard_normal((3, 1)), RNG.standard_normal((1, 4)))
    gradgradcheck(f, RNG.standard_normal((3, 1)), RNG.standard_normal((1, 4)))


@pytest.mark.parametrize("axes", [(0, 1), (1, 2), (0, 1, 3), (0, 2), (3,), (0, 1, 2, 3), (2, 3)])
def test_reductions_over_merged_axes(axes):
    a = RNG.standard_normal((4, 5, 6, 7))
    a[1, 2, 3, 4] = np.nan
    x = dlarray(a)
    np.testing.assert_allclose(extractdata(x.sum(axis=axes, keepdims=True)), np.sum(a, axis=axes, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(extractdata(x.max(axis=axes)), np.max(a, axis=axes))
    np.testing.assert_array_equal(extractdata(x.min(axis=axes)), np.min(a, axis=axes))


def test_reduction_large_parallel_paths():
    a = RNG.standard_normal((3, 40000)).astype(np.float32)
    for axis in (0, 1):
        np.testing.assert_allclose(extractdata(dlarray(a).sum(axis=axis)), a.astype(np.float64).sum(axis=axis), rtol=1e-4, atol=1e-3)
        np.testing.assert_array_equal(extractdata(dlarray(a).max(axis=axis)), a.max(axis=axis))
    b = RNG.standard_normal((600, 500))
    np.testing.assert_allclose(extractdata(dlarray(b).mean(axis=0)), b.mean(axis=0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "shape,key",
    [
        ((4, 10), (slice(None), np.array([3, 0, 3, 9]))),
        ((4, 10), (slice(None), np.array([[1, -1], [2, 0]]))),
        ((10, 3), np.array([9, 1, 1])),
        ((10, 3), [2, 5]),
        ((2, 10, 3), (slice(None), np.array([4, 4, 0]))),
        ((2, 3, 10), (slice(None), slice(None), np.arange(10)[::-2])),
    ],
)
def test_single_axis_integer_index_matches_numpy(shape, key):
    a = RNG.standard_normal(shape)
    np.testing.assert_array_equal(extractdata(dlarray(a)[key]), a[key])


def test_single_axis_index_errors_and_format():
    x = dlarray(RNG.standard_normal((4, 10)), "CB")
    with pytest.raises(DlIndexError, match="out of bounds"):
        x[:, np.array([10])]
    with pytest.raises(DlIndexError, match="out of bounds"):
        x[:, [-11]]
    assert x[:, np.array([1, 2])].fmt == ""


def test_single_axis_index_gradients():
    idx = np.array([2, 0, 2, 4])
    f = lambda w: w[:, idx] * w[:, idx]  # noqa: E731  (repeated column: the gradient accumulates)
    w = RNG.standard_normal((3, 5))
    gradcheck(f, w)
    gradgradcheck(f, w)


def test_leakyrelu_single_op_gradients():
    a = RNG.standard_normal((3, 4))
    a[a == 0] = 0.3
    for s in (0.01, 0.3, -0.5):
        gradcheck(lambda x: dl.leakyrelu(x, s) * x, a)
        gradgradcheck(lambda x: dl.leakyrelu(x, s) * x, a)
    y = dl.leakyrelu(dlarray(np.array([-1.0, np.nan, 2.0], dtype=np.float32)), 0.5)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(extractdata(y)[[0, 2]], [-0.5, 2.0])
    assert np.isnan(extractdata(y)[1])


def test_standardize_float32_with_large_offset():
    # Mean 1e3, spread 1: the two-pass variance keeps float32 data accurate.
    a = (1000.0 + RNG.standard_normal((64, 8, 5))).astype(np.float32)
    y = extractdata(dl.layernorm(dlarray(a, "CBT"), np.zeros(64, np.float32), np.ones(64, np.float32)))
    a64 = a.astype(np.float64)
    mu = a64.mean(axis=0, keepdims=True)
    want = (a64 - mu) / np.sqrt(((a64 - mu) ** 2).mean(axis=0, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, want, atol=2e-4)


def test_instancenorm_large_parallel_matches_numpy():
    a = RNG.standard_normal((28, 28, 8, 16)).astype(np.float32)
    y = extractdata(dl.instancenorm(dlarray(a, "SSCB"), np.zeros(8, np.float32), np.ones(8, np.float32)))
    a64 = a.astype(np.float64)
    mu = a64.mean(axis=(0, 1), keepdims=True)
    want = (a64 - mu) / np.sqrt(((a64 - mu) ** 2).mean(axis=(0, 1), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, want, atol=1e-4)
