"""float32 sums and means of many elements stay accurate (pairwise summation): 1e7 copies of
0.1 sum to their exact total 1000000.01 within a few float32 ulps along every axis layout, not
the 1000020.8 a running sum gives."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray
from gradcheck import gradcheck, gradgradcheck

EXACT = float(np.float32(0.1)) * 1e7  # the float64 sum of the same float32 values


def test_sum_of_1e7_tenths_is_accurate():
    x = np.full(10_000_000, 0.1, np.float32)
    got = float(dl.sum(dlarray(x)))
    # float32 spacing at 1e6 is 0.0625. (numpy's own float32 sum is not the reference: numpy
    # 2.0 gives 999989.44 here, later versions 1000000.125.)
    assert abs(got - EXACT) <= 0.25, got
    assert float(dl.mean(dlarray(x))) == pytest.approx(EXACT / 1e7, rel=3e-7)


@pytest.mark.parametrize("shape, axis", [((10, 1_000_000), 1), ((1_000_000, 10), 0), ((4, 1_000_000, 3), 1)])
def test_long_axes_in_every_layout(shape, axis):
    x = np.full(shape, 0.1, np.float32)
    n = shape[axis]
    got = np.asarray(dl.sum(dlarray(x), axis))
    np.testing.assert_allclose(got, float(np.float32(0.1)) * n, rtol=0, atol=4 * np.spacing(np.float32(0.1 * n)))


def test_random_data_is_as_accurate_as_numpy():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(3_000_000) + 5).astype(np.float32)
    exact = x.astype(np.float64).sum()
    got = float(dl.sum(dlarray(x)))
    assert abs(got - exact) <= max(2 * abs(float(np.sum(x)) - exact), 4 * float(np.spacing(np.float32(exact))))


def test_gradients_match_finite_differences():
    x = np.random.default_rng(4).standard_normal((3, 5))
    for fn in (lambda t: dl.sum(t * t, 1), lambda t: dl.mean(t * t, 0), lambda t: dl.sum(t * t)):
        gradcheck(fn, x)
        gradgradcheck(fn, x)
