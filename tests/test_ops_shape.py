"""Shape ops (reshape in C and F order, permute/transpose, squeeze, concatenate, stack,
repmat, flip), indexing and indexed assignment: values against numpy, gradients, formats and
value semantics (an assignment never changes another array that shared storage)."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, extractdata
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(99)


def _x(*shape):
    return RNG.standard_normal(shape)


# ----- reshape -----------------------------------------------------------------------------------

RESHAPES = [((2, 3, 4), (6, 4)), ((2, 3, 4), (4, -1)), ((2, 3, 4), (24,)), ((6,), (3, 2)), ((2, 3), (3, 1, 2)), ((1,), ())]


@pytest.mark.parametrize("src,dst", RESHAPES, ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reshape_value(src, dst, order, dtype):
    x = _x(*src).astype(dtype)
    y = dlarray(x).reshape(dst, order=order)
    expected = np.reshape(x, dst, order=order)
    assert y.shape == expected.shape and y.dtype == dtype
    np.testing.assert_array_equal(extractdata(y), expected)
    y2 = dl.reshape(dlarray(x), *dst, order=order) if dst else dl.reshape(dlarray(x), dst, order=order)
    np.testing.assert_array_equal(extractdata(y2), expected)


@pytest.mark.parametrize("src,dst", RESHAPES[:4], ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
def test_reshape_gradient(src, dst, order):
    x = _x(*src)
    gradcheck(lambda a: a.reshape(dst, order=order), x)
    gradgradcheck(lambda a: (a * a).reshape(dst, order=order), x)


def test_reshape_errors_and_format():
    x = dlarray(_x(2, 3), "CB")
    assert x.reshape(3, 2).fmt == ""
    with pytest.raises(dl.ShapeError, match="reshape"):
        x.reshape(4, 2)
    with pytest.raises(dl.ShapeError):
        x.reshape(-1, -1)
    with pytest.raises(ValueError):
        x.reshape(6, order="K")


# ----- permute / transpose ----------------------------------------------------------------------

PERMS = [(1, 0, 2), (2, 0, 1), (0, 1, 2), (2, 1, 0), (-1, 0, 1)]


@pytest.mark.parametrize("perm", PERMS, ids=str)
def test_permute(perm):
    x = _x(2, 3, 4)
    expected = np.transpose(x, perm)
    for y in (dlarray(x).transpose(perm), dlarray(x).transpose(*perm), dl.permute(dlarray(x), perm), dl.transpose(dlarray(x), perm)):
        assert y.shape == expected.shape
        np.testing.assert_array_equal(extractdata(y), expected)
    gradcheck(lambda a: dl.permute(a, perm), x)
    gradgradcheck(lambda a: dl.permute(a * a, perm), x)


def test_transpose_default_and_T():
    x = _x(2, 3, 4)
    np.testing.assert_array_equal(extractdata(dlarray(x).T), x.T)
    np.testing.assert_array_equal(extractdata(dlarray(x).transpose()), x.T)
    np.testing.assert_array_equal(extractdata(dl.transpose(dlarray(x))), x.T)
    assert dlarray(x, "SCB").T.fmt == ""
    gradcheck(lambda a: a.T, x)


def test_permute_errors():
    x = dlarray(_x(2, 3))
    with pytest.raises(ValueError):
        x.transpose(0, 0)
    with pytest.raises((ValueError, IndexError)):
        x.transpose(0, 2)


# ----- squeeze ------------------------------------------------------------------------------------


def test_squeeze():
    x = _x(1, 3, 1, 2)
    np.testing.assert_array_equal(extractdata(dl.squeeze(dlarray(x))), np.squeeze(x))
    np.testing.assert_array_equal(extractdata(dl.squeeze(dlarray(x), 2)), np.squeeze(x, 2))
    np.testing.assert_array_equal(extractdata(dl.squeeze(dlarray(x), (0, 2))), np.squeeze(x, (0, 2)))
    assert dl.squeeze(dlarray(x), -2).shape == (1, 3, 2)
    with pytest.raises(dl.ShapeError):
        dl.squeeze(dlarray(x), 1)
    gradcheck(lambda a: dl.squeeze(a), x)
    gradgradcheck(lambda a: dl.squeeze(a * a, 0), x)


def test_squeeze_format():
    x = dlarray(_x(4, 1, 3), "SCB")
    y = dl.squeeze(x)
    assert y.shape == (4, 3) and y.fmt == "SB"
    assert dl.squeeze(x, "C").fmt == "SB"


# ----- concatenate / stack ---------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_concatenate(axis, dtype):
    shapes = {0: [(1, 3), (2, 3), (3, 3)], 1: [(2, 1), (2, 2), (2, 3)], -1: [(2, 1), (2, 2), (2, 3)]}[axis]
    xs = [_x(*s).astype(dtype) for s in shapes]
    y = dl.concatenate([dlarray(x) for x in xs], axis=axis)
    np.testing.assert_array_equal(extractdata(y), np.concatenate(xs, axis=axis))
    assert y.dtype == dtype
    gradcheck(lambda a, b, c: dl.concatenate([a, b, c], axis=axis), *xs)
    gradgradcheck(lambda a, b, c: dl.concatenate([a * a, b, c * b.sum()], axis=axis), *xs)


def test_concatenate_mixed_and_formats():
    a, b = _x(2, 3), _x(2, 2)
    y = dl.concatenate([dlarray(a), b], axis=1)  # numpy operands allowed
    np.testing.assert_array_equal(extractdata(y), np.concatenate([a, b], 1))
    f = dl.concatenate([dlarray(a, "CB"), dlarray(b, "CB")], axis="B")
    assert f.fmt == "CB" and f.shape == (2, 5)
    with pytest.raises(dl.FormatError):
        dl.concatenate([dlarray(a, "CB"), dlarray(b, "SB")], axis=1)
    with pytest.raises(dl.ShapeError):
        dl.concatenate([dlarray(a), dlarray(b)], axis=0)
    with pytest.raises(ValueError):
        dl.concatenate([], axis=0)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    xs = [_x(2, 3) for _ in range(3)]
    y = dl.stack([dlarray(x) for x in xs], axis=axis)
    np.testing.assert_array_equal(extractdata(y), np.stack(xs, axis=axis))
    gradcheck(lambda a, b, c: dl.stack([a, b, c], axis=axis), *xs)
    gradgradcheck(lambda a, b, c: dl.stack([a * b, b, c * c], axis=axis), *xs)


# ----- repmat / flip --------------------------------------------------------------------------


@pytest.mark.parametrize("reps", [(2, 3), (1, 1), (2, 1, 2), (3,)], ids=str)
def test_repmat(reps):
    x = _x(2, 3)
    y = dl.repmat(dlarray(x), reps)
    np.testing.assert_array_equal(extractdata(y), np.tile(x, reps))
    np.testing.assert_array_equal(extractdata(dl.repmat(dlarray(x), *reps)), np.tile(x, reps))
    gradcheck(lambda a: dl.repmat(a, reps), x)
    gradgradcheck(lambda a: dl.repmat(a * a, reps), x)


def test_repmat_format():
    x = dlarray(_x(3, 2), "CB")
    assert dl.repmat(x, (1, 2)).fmt == "CB"
    assert dl.repmat(x, (2, 1, 2)).fmt == ""


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1], ids=str)
def test_flip(axis):
    x = _x(3, 4)
    y = dl.flip(dlarray(x), axis)
    np.testing.assert_array_equal(extractdata(y), np.flip(x, axis))
    gradcheck(lambda a: dl.flip(a, axis), x)
    gradgradcheck(lambda a: dl.flip(a * a, axis), x)


def test_flip_format_letter():
    x = dlarray(_x(3, 2, 4), "SCB")
    y = dl.flip(x, "B")
    assert y.fmt == "SCB"
    np.testing.assert_array_equal(extractdata(y), np.flip(extractdata(x), 2))


# ----- indexing ----------------------------------------------------------------------------------

X3 = (3, 4, 2)
KEYS = [
    0,
    -1,
    (1, 2),
    (1, 2, 0),
    slice(1, 3),
    slice(None, None, -1),
    (slice(None), slice(3, 0, -2)),
    (Ellipsis, 1),
    (0, Ellipsis),
    (None, 1),
    (slice(None), None, 0),
    np.array([2, 0, 2]),
    [0, 2],
    (np.array([0, 2]), np.array([1, 3])),
    (slice(None), np.array([[0, 1], [3, 3]])),
    np.array([True, False, True]),
    (slice(None), np.array([True, False, False, True])),
    (1, slice(None), -1),
]


def _mask3():
    return RNG.standard_normal(X3) > 0


@pytest.mark.parametrize("key", KEYS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_getitem_value(key, dtype):
    x = _x(*X3).astype(dtype)
    y = dlarray(x)[key]
    expected = x[key]
    assert isinstance(y, dlarray)
    assert y.shape == np.shape(expected) and y.dtype == dtype
    np.testing.assert_array_equal(extractdata(y), expected)


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_gradient(key):
    x = _x(*X3)
    gradcheck(lambda a: a[key], x)
    gradgradcheck(lambda a: (a * a)[key], x)


def test_getitem_full_mask_and_repeated_indices():
    x = _x(*X3)
    m = _mask3()
    np.testing.assert_array_equal(extractdata(dlarray(x)[m]), x[m])
    gradcheck(lambda a: a[m], x)
    # Repeated integer indices accumulate their gradients.
    g = dlfeval(lambda a: dlgradient(a[np.array([1, 1, 1, 0])].sum(), a), dlarray(np.arange(3.0)))
    np.testing.assert_array_equal(extractdata(g), [1.0, 3.0, 0.0])


def test_getitem_with_dlarray_key_and_comparison_mask():
    x = _x(5)
    X = dlarray(x)
    np.testing.assert_array_equal(extractdata(X[dlarray(np.array([4.0, 0.0]))]), x[[4, 0]])
    np.testing.assert_array_equal(extractdata(X[X > 0]), x[x > 0])


def test_getitem_errors():
    X = dlarray(_x(2, 3))
    with pytest.raises(IndexError, match="index"):
        X[5]
    with pytest.raises(IndexError):
        X[0, 0, 0]
    with pytest.raises(IndexError):
        X[np.array([True, False, True])]


def test_getitem_format():
    X = dlarray(_x(3, 4, 2), "SCB")
    assert X[1:, :, ::-1].fmt == "SCB"
    assert X[..., 0:1].fmt == "SCB"
    assert X[0].fmt == ""


# ----- indexed assignment ----------------------------------------------------------------------

SET_KEYS = [
    (0, 1.5),
    ((1, 2), -3.0),
    (slice(None, None, 2), np.array([7.0, 8.0, 9.0, 10.0])),
    ((slice(None), -1), np.array([1.0, 2.0, 3.0])),
    (np.array([2, 0]), np.arange(8.0).reshape(2, 4)),
    (np.array([[True, False, True, False]] * 3), np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
    ((Ellipsis, slice(1, 3)), np.array([[1.0, 2.0]])),
]


@pytest.mark.parametrize("key,value", SET_KEYS, ids=lambda v: repr(v)[:30])
def test_setitem_value(key, value):
    x = _x(3, 4)
    X = dlarray(x)
    X[key] = value
    ref = x.copy()
    ref[key] = value
    np.testing.assert_array_equal(extractdata(X), ref)
    X2 = dlarray(x)
    X2[key] = dlarray(np.asarray(value))
    np.testing.assert_array_equal(extractdata(X2), ref)


@pytest.mark.parametrize("key,value", SET_KEYS, ids=lambda v: repr(v)[:30])
def test_setitem_gradient(key, value):
    x = _x(3, 4)
    v = np.asarray(value, dtype=float) + 0.3

    def f(a, b):
        y = a * 1.0
        y[key] = b * b
        return y * a

    gradcheck(f, x, v)
    gradgradcheck(f, x, v)


def test_setitem_keeps_format_and_dtype():
    X = dlarray(np.zeros((2, 3), np.float32), "CB")
    X[0, 1] = 5.0
    assert X.fmt == "CB" and X.dtype == np.float32
    with pytest.raises(TypeError):
        X[0, 0] = 1j


def test_setitem_shape_error():
    X = dlarray(np.zeros((2, 3)))
    with pytest.raises(dl.ShapeError):
        X[0] = np.ones(4)


def test_setitem_never_changes_other_arrays_sharing_storage():
    base = np.arange(6.0).reshape(2, 3)
    X = dlarray(base)
    alias = dlarray(X)  # another dlarray on the same data
    reshaped = X.reshape(3, 2)  # shares storage in the core
    relabelled = dlarray(X, "CB")
    exported = extractdata(X)
    as_np = np.asarray(X)
    X[0, 0] = 100.0
    X[1] = -1.0
    assert float(X[0, 0]) == 100.0
    np.testing.assert_array_equal(extractdata(X), [[100, 1, 2], [-1, -1, -1]])
    for other in (alias, reshaped.reshape(2, 3), relabelled):
        np.testing.assert_array_equal(extractdata(other), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(exported, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(as_np, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(base, np.arange(6.0).reshape(2, 3))


def test_setitem_inside_dlfeval_does_not_change_the_callers_array():
    X = dlarray(np.arange(3.0))

    def f(a):
        a[0] = 10.0
        return a.sum()

    assert float(dlfeval(f, X)) == 13.0
    np.testing.assert_array_equal(extractdata(X), [0.0, 1.0, 2.0])


def test_setitem_gradient_of_overwritten_input_is_zero_there():
    def f(a, v):
        y = a * 1.0
        y[1:] = v
        return dlgradient((y * y).sum(), a, v)

    ga, gv = dlfeval(f, dlarray(np.array([1.0, 2.0, 3.0])), dlarray(np.array(4.0)))
    np.testing.assert_array_equal(extractdata(ga), [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(extractdata(gv), 16.0)


def test_setitem_casts_values_to_the_arrays_dtype():
    X = dlarray(np.zeros(3, np.float32))
    X[:2] = np.array([1.0, 2.0])  # float64 values into a float32 array, as numpy allows
    assert X.dtype == np.float32
    np.testing.assert_array_equal(extractdata(X), np.array([1.0, 2.0, 0.0], np.float32))

    def f(a, v):
        y = a * 1.0
        y[:2] = v
        return dlgradient((y * y).sum(), a, v)

    ga, gv = dlfeval(f, dlarray(np.ones(3, np.float32)), dlarray(np.array([3.0, 4.0])))
    assert ga.dtype == np.float32 and gv.dtype == np.float64
    np.testing.assert_array_equal(extractdata(ga), [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(extractdata(gv), [6.0, 8.0])


def test_large_shape_ops_match_numpy():
    x = RNG.standard_normal((40, 50, 30))
    X = dlarray(x)
    np.testing.assert_array_equal(extractdata(dl.permute(X, (2, 0, 1))), np.transpose(x, (2, 0, 1)))
    np.testing.assert_array_equal(extractdata(X.reshape(-1, 40, order="F")), x.reshape(-1, 40, order="F"))
    np.testing.assert_array_equal(extractdata(dl.flip(X, (0, 2))), np.flip(x, (0, 2)))
    np.testing.assert_array_equal(extractdata(X[::3, 5:, ::-2]), x[::3, 5:, ::-2])
    np.testing.assert_array_equal(extractdata(dl.repmat(X, (1, 2, 1))), np.tile(x, (1, 2, 1)))


def test_stack_errors_name_stack():
    with pytest.raises(dl.ShapeError, match="stack.*same shape"):
        dl.stack([dlarray(np.ones(3)), dlarray(np.ones(4))])
    with pytest.raises(ValueError):
        dl.stack([])
    with pytest.raises(IndexError):
        dl.stack([dlarray(np.ones(3))], axis=3)
