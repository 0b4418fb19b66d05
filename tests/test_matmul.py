"""Matrix products: ``@``, ``matmul`` and ``pagemtimes`` (with MATLAB's transpose options),
numpy's 1-D promotion and batch broadcasting; values and first/second-order gradients."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, extractdata
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)

SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 2, 3), (3, 4)),
    ((2, 3), (4, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((1, 3), (3, 1)),
    ((2, 0), (0, 3)),
]


@pytest.mark.parametrize("sa,sb", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_value(sa, sb, dtype):
    a = RNG.standard_normal(sa).astype(dtype)
    b = RNG.standard_normal(sb).astype(dtype)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for y in (dlarray(a) @ dlarray(b), dl.matmul(a, dlarray(b)), dlarray(a) @ b, a @ dlarray(b), dl.matmul(dlarray(a), b)):
        assert isinstance(y, dlarray)
        assert y.shape == expected.shape and y.dtype == dtype
        np.testing.assert_allclose(extractdata(y), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("sa,sb", SHAPES[:-1], ids=str)
def test_matmul_gradient(sa, sb):
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    gradcheck(lambda x, y: x @ y, a, b)
    gradgradcheck(lambda x, y: x @ y, a, b)
    gradgradcheck(lambda x, y: (x * x) @ (y * y), a, b)


def test_matmul_errors():
    with pytest.raises(dl.ShapeError, match=r"matmul.*\[2, 3\].*\[4, 2\]|matmul.*\(2, 3\)"):
        dlarray(np.ones((2, 3))) @ dlarray(np.ones((4, 2)))
    with pytest.raises(dl.ShapeError):
        dlarray(np.ones((2, 3, 4))) @ dlarray(np.ones((3, 4, 2)))
    with pytest.raises(dl.ShapeError):
        dlarray(np.ones(())) @ dlarray(np.ones((2,)))


def test_matmul_mixed_dtypes_promote():
    y = dlarray(np.ones((2, 2), np.float32)) @ dlarray(np.ones((2, 2)))
    assert y.dtype == np.float64


def test_matmul_output_unformatted():
    y = dlarray(np.ones((3, 2)), "CB").T @ dlarray(np.ones((3, 4)))
    assert y.fmt == ""


def test_large_matmul_parallel_path():
    a = RNG.standard_normal((130, 257)).astype(np.float32)
    b = RNG.standard_normal((257, 190)).astype(np.float32)
    np.testing.assert_allclose(extractdata(dlarray(a) @ dlarray(b)), a @ b, rtol=1e-4, atol=1e-4)
    a3 = RNG.standard_normal((8, 40, 50))
    b3 = RNG.standard_normal((8, 50, 30))
    np.testing.assert_allclose(extractdata(dlarray(a3) @ dlarray(b3)), a3 @ b3, rtol=1e-12, atol=1e-12)


# ----- pagemtimes -------------------------------------------------------------------------------

OPTS = ["none", "transpose", "ctranspose"]


def _op(x, opt):
    if opt == "none":
        return x
    xt = np.swapaxes(x, -1, -2)
    return np.conj(xt) if opt == "ctranspose" else xt


@pytest.mark.parametrize("ta", OPTS)
@pytest.mark.parametrize("tb", OPTS)
@pytest.mark.parametrize("complex_", [False, True])
def test_pagemtimes(ta, tb, complex_):
    sa = (2, 3, 4) if ta == "none" else (2, 4, 3)
    sb = (1, 4, 2) if tb == "none" else (1, 2, 4)
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    if complex_:
        a = a + 1j * RNG.standard_normal(sa)
        b = b + 1j * RNG.standard_normal(sb)
    y = dl.pagemtimes(dlarray(a), dlarray(b), ta, tb)
    expected = np.matmul(_op(a, ta), _op(b, tb))
    assert y.shape == expected.shape == (2, 3, 2)
    np.testing.assert_allclose(extractdata(y), expected, rtol=1e-12, atol=1e-12)
    gradcheck(lambda x, z: dl.pagemtimes(x, z, ta, tb), a, b)
    gradgradcheck(lambda x, z: dl.pagemtimes(x, z, ta, tb), a, b)


def test_pagemtimes_keyword_options_and_errors():
    a, b = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 4))
    y = dl.pagemtimes(dlarray(a), dlarray(b), transp_a="transpose")
    np.testing.assert_allclose(extractdata(y), a.T @ b)
    with pytest.raises(ValueError, match="pagemtimes"):
        dl.pagemtimes(dlarray(a), dlarray(b), "T")
    with pytest.raises(dl.ShapeError):
        dl.pagemtimes(dlarray(a), dlarray(b))
