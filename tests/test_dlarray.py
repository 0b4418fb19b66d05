"""The dlarray class: construction and dtype rules, formats and MATLAB's canonical
permutation, dims/finddim/stripdims/extractdata/isdlarray, numpy interop in both directions,
format propagation, __dlpack__, pickling, repr and scalar conversion."""

import pickle

import dlarray as dl
import numpy as np
import pytest
from dlarray import dims, dlarray, dlfeval, extractdata, finddim, isdlarray, stripdims

RNG = np.random.default_rng(11)


# ----- construction and dtypes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "src,expected",
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.complex64, np.complex64),
        (np.complex128, np.complex128),
        (np.int8, np.float32),
        (np.int32, np.float32),
        (np.int64, np.float32),
        (np.uint8, np.float32),
        (np.bool_, np.float32),
        (np.float16, np.float32),
    ],
)
def test_dtype_rules(src, expected):
    x = (np.arange(6) % 2).astype(src).reshape(2, 3)
    X = dlarray(x)
    assert X.dtype == expected
    assert X.shape == (2, 3)
    np.testing.assert_array_equal(extractdata(X), x.astype(expected))


def test_construction_from_python_objects():
    assert dlarray([[1, 2], [3, 4]]).dtype == np.float32
    assert dlarray([1.0, 2.0]).dtype == np.float64
    assert dlarray(True).dtype == np.float32
    s = dlarray(3.5)
    assert s.shape == () and s.ndim == 0 and s.size == 1 and float(s) == 3.5
    v = dlarray(np.arange(4.0))
    assert v.shape == (4,) and v.fmt == ""
    with pytest.raises(TypeError):
        dlarray(np.array(["a", "b"]))
    with pytest.raises(TypeError):
        dlarray(np.array([object()]))


def test_construction_copies_input():
    x = np.arange(4.0)
    X = dlarray(x)
    x[0] = 100.0
    assert float(X[0]) == 0.0


def test_construction_from_non_contiguous_numpy():
    x = np.arange(24.0).reshape(4, 6)[::2, 1::2].T
    np.testing.assert_array_equal(extractdata(dlarray(x)), x)


def test_construction_from_dlarray():
    X = dlarray(RNG.standard_normal((3, 2)), "CB")
    Y = dlarray(X)
    assert Y.fmt == "CB" and Y.shape == (3, 2)
    np.testing.assert_array_equal(extractdata(Y), extractdata(X))
    Z = dlarray(stripdims(X), "SB")
    assert Z.fmt == "SB"
    U = dlarray(X, "UU")
    assert U.fmt == "UU"


class _DLPackOnly:
    """An object that offers only the DLPack protocol (like a torch or jax array)."""

    def __init__(self, a):
        self._a = a

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_construction_from_dlpack_object():
    a = RNG.standard_normal((2, 3)).astype(np.float32)
    X = dlarray(_DLPackOnly(a), "CB")
    assert X.dtype == np.float32 and X.fmt == "CB"
    np.testing.assert_array_equal(extractdata(X), a)


# ----- formats --------------------------------------------------------------------------------------


def test_canonical_permutation_nhwc():
    x = RNG.standard_normal((2, 5, 4, 3))  # N, H, W, C
    X = dlarray(x, "BSSC")
    assert X.fmt == "SSCB"
    assert X.shape == (5, 4, 3, 2)
    np.testing.assert_array_equal(extractdata(X), np.transpose(x, (1, 2, 3, 0)))


@pytest.mark.parametrize(
    "shape,fmt,out_fmt,perm",
    [
        ((3, 4), "TS", "ST", (1, 0)),
        ((3, 10), "BC", "CB", (1, 0)),
        ((3, 3, 10, 7), "SSBC", "SSCB", (0, 1, 3, 2)),
        ((2, 3, 4), "SBS", "SSB", (0, 2, 1)),  # S dims keep their order
        ((2, 3, 4), "UCU", "CUU", (1, 0, 2)),  # so do U dims
        ((2, 3, 4, 5, 6), "TUBSC", "SCBTU", (3, 4, 2, 0, 1)),
        ((5, 1), "BC", "CB", (1, 0)),
    ],
)
def test_canonical_permutation(shape, fmt, out_fmt, perm):
    x = RNG.standard_normal(shape)
    X = dlarray(x, fmt)
    assert X.fmt == out_fmt
    np.testing.assert_array_equal(extractdata(X), np.transpose(x, perm))


def test_trailing_singleton_labels():
    x = RNG.standard_normal((28, 28))
    X = dlarray(x, "SSCB")
    assert X.shape == (28, 28, 1, 1) and X.fmt == "SSCB"
    np.testing.assert_array_equal(extractdata(X)[:, :, 0, 0], x)
    v = dlarray(np.arange(3.0), "CB")
    assert v.shape == (3, 1)
    b = dlarray(np.arange(3.0), "BC")  # the vector is the batch; C is a trailing singleton
    assert b.fmt == "CB" and b.shape == (1, 3)
    # A format may drop trailing singleton data dims.
    assert dlarray(np.ones((3, 1)), "C").shape == (3,)


@pytest.mark.parametrize("fmt", ["X", "SSCBX", "CC", "BB", "TT", "CBC", "C", "s1"])
def test_invalid_formats(fmt):
    with pytest.raises(dl.FormatError, match="dlarray"):
        dlarray(np.ones((2, 3, 4)), fmt)


def test_format_error_message_names_format_and_shape():
    with pytest.raises(dl.FormatError, match=r"'C'.*\(2, 3\)|'C'.*\[2, 3\]"):
        dlarray(np.ones((2, 3)), "C")


def test_format_errors_are_value_errors():
    assert issubclass(dl.FormatError, ValueError)
    assert issubclass(dl.ShapeError, ValueError)
    assert issubclass(dl.OptionError, ValueError)
    assert issubclass(dl.DTypeError, TypeError)
    assert issubclass(dl.AutodiffError, RuntimeError)


def test_empty_format_is_unformatted():
    X = dlarray(np.ones((2, 3)), "")
    assert X.fmt == "" and X.shape == (2, 3)


# ----- dims, finddim, stripdims, extractdata, isdlarray ---------------------------------------------


def test_dims_and_finddim():
    X = dlarray(RNG.standard_normal((4, 5, 3, 2)), "SSCB")
    assert dims(X) == "SSCB" == X.fmt
    assert dims(dlarray(np.ones(3))) == ""
    assert dims(np.ones(3)) == ""
    assert finddim(X, "S") == [0, 1]
    assert finddim(X, "C") == [2]
    assert finddim(X, "B") == [3]
    assert finddim(X, "T") == []
    assert finddim(dlarray(np.ones(3)), "S") == []
    with pytest.raises(dl.FormatError):
        finddim(X, "Q")


def test_stripdims():
    x = RNG.standard_normal((4, 5, 3, 2))
    X = dlarray(x, "SSCB")
    Y = stripdims(X)
    assert Y.fmt == "" and Y.shape == X.shape
    np.testing.assert_array_equal(extractdata(Y), x)
    Z = stripdims(X, "BSSC")  # MATLAB's stripdims(X, fmt): reorder, then strip
    assert Z.fmt == "" and Z.shape == (2, 4, 5, 3)
    np.testing.assert_array_equal(extractdata(Z), np.transpose(x, (3, 0, 1, 2)))
    assert stripdims(dlarray(np.ones(3))).fmt == ""
    with pytest.raises(dl.FormatError):
        stripdims(dlarray(np.ones(3)), "C")
    with pytest.raises(dl.FormatError):
        stripdims(X, "SCB")


def test_stripdims_is_differentiable():
    def f(x):
        return dl.dlgradient((stripdims(x, "BC") * np.arange(6.0).reshape(2, 3)).sum(), x)

    g = dlfeval(f, dlarray(np.ones((3, 2)), "CB"))
    assert g.fmt == "CB"
    np.testing.assert_array_equal(extractdata(g), np.arange(6.0).reshape(2, 3).T)


def test_extractdata_and_isdlarray():
    x = RNG.standard_normal((3, 2)).astype(np.float32)
    X = dlarray(x, "CB")
    a = extractdata(X)
    assert isinstance(a, np.ndarray) and a.shape == (3, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, x)
    assert isdlarray(X) and not isdlarray(x) and not isdlarray(3.0)
    assert isinstance(extractdata(x), np.ndarray)
    traced = dlfeval(lambda t: (isdlarray(extractdata(t)), t.traced), X)
    assert traced == (False, True)


# ----- numpy interop ----------------------------------------------------------------------------------


def test_numpy_interop_both_directions():
    x = RNG.standard_normal((2, 3))
    n = RNG.standard_normal((2, 3))
    X = dlarray(x)
    a = np.asarray(X)
    assert isinstance(a, np.ndarray) and a.shape == (2, 3)
    np.testing.assert_array_equal(a, x)
    assert np.asarray(X, dtype=np.float32).dtype == np.float32
    for expr, ref in [
        (lambda: X * n, x * n),
        (lambda: n * X, n * x),
        (lambda: n + X, n + x),
        (lambda: n - X, n - x),
        (lambda: n / X, n / x),
        (lambda: np.abs(n) ** X, np.abs(n) ** x),
        (lambda: X - n, x - n),
        (lambda: n @ X.T, n @ x.T),
    ]:
        y = expr()
        assert isinstance(y, dlarray), type(y)
        np.testing.assert_allclose(extractdata(y), ref)


def test_python_scalars_keep_float32():
    X = dlarray(np.ones(3, np.float32))
    for y in (X * 2.0, 2.0 * X, X + 1, 1 - X, X / 3.0, X**2, 2**X, X * True):
        assert y.dtype == np.float32
    assert (X * np.float64(2.0)).dtype == np.float64  # numpy scalars are not weak (NEP 50)
    assert dl.exp(np.float64(0.5)).dtype == np.float64


def test_attributes():
    X = dlarray(np.arange(6.0, dtype=np.float32).reshape(2, 3), "CB")
    assert X.shape == (2, 3) and isinstance(X.shape, tuple)
    assert X.ndim == 2 and X.size == 6 and len(X) == 2
    assert X.dtype == np.float32 and X.device == "cpu"
    assert X.astype(np.float64).dtype == np.float64 and X.astype("float64").fmt == "CB"
    assert X.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(TypeError):
        X.astype(np.int32)
    with pytest.raises(TypeError):
        len(dlarray(1.0))


# ----- format propagation ------------------------------------------------------------------------------


def test_format_propagation():
    X = dlarray(RNG.standard_normal((3, 4, 2)), "SCB")
    assert (X * 2).fmt == "SCB"
    assert dl.exp(X).fmt == "SCB"
    assert (X + np.ones((3, 4, 1))).fmt == "SCB"
    assert (X + dlarray(np.ones((4, 1)))).fmt == "SCB"
    assert (X - X).fmt == "SCB"
    with pytest.raises(dl.FormatError, match="SCB"):
        X + dlarray(np.ones((3, 4, 2)), "SCT")
    with pytest.raises(dl.FormatError):
        X + dlarray(np.ones((2, 3, 4, 2)))  # broadcasting would add an unlabelled dim
    assert X.sum(axis=0).fmt == "CB"
    assert X.sum(axis="C").fmt == "SB"
    assert X.sum(axis="C", keepdims=True).fmt == "SCB"
    assert X.sum(axis="C", keepdims=True).shape == (3, 1, 2)
    assert X.mean().fmt == ""
    assert X.max(axis=(0, 1)).fmt == "B"
    np.testing.assert_allclose(extractdata(X.mean(axis="B")), extractdata(X).mean(axis=2))


# ----- dlpack, pickle, repr, conversions ------------------------------------------------------------------


def test_dlpack_export():
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    X = dlarray(x, "CB")
    y = np.from_dlpack(X)
    assert y.shape == (2, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    assert X.__dlpack_device__() == (1, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("fmt", ["", "SCB"])
def test_pickle_round_trip(dtype, fmt):
    x = (
        (RNG.standard_normal((3, 2, 2)) + 1j * RNG.standard_normal((3, 2, 2))).astype(dtype)
        if np.dtype(dtype).kind == "c"
        else RNG.standard_normal((3, 2, 2)).astype(dtype)
    )
    X = dlarray(x, fmt) if fmt else dlarray(x)
    Y = pickle.loads(pickle.dumps(X))
    assert isinstance(Y, dlarray)
    assert Y.fmt == X.fmt and Y.shape == X.shape and Y.dtype == X.dtype
    np.testing.assert_array_equal(extractdata(Y), extractdata(X))


def test_repr():
    X = dlarray(np.ones((2, 3), np.float32), "CB")
    r = repr(X)
    assert "shape=(2, 3)" in r
    assert "shape=(3,)" in repr(dlarray(np.ones(3)))
    assert "shape=()" in repr(dlarray(1.0))
    assert "CB" in r and "float32" in r and "traced" not in r
    inside = dlfeval(lambda t: repr(t * 2), X)
    assert "traced" in inside
    assert "complex128" in repr(dlarray(np.ones(2, np.complex128)))
    big = repr(dlarray(np.zeros((100, 100))))
    assert len(big) < 2000 and "..." in big


def test_scalar_conversions():
    assert float(dlarray(2.5)) == 2.5
    assert float(dlarray(np.array([[2.5]]))) == 2.5
    assert int(dlarray(3.7)) == 3
    assert complex(dlarray(1 + 2j)) == 1 + 2j
    assert dlarray(2.0).item() == 2.0
    assert bool(dlarray(1.0)) is True and bool(dlarray(0.0)) is False
    with pytest.raises(ValueError, match="ambiguous"):
        bool(dlarray(np.ones(3)))
    with pytest.raises(ValueError):
        float(dlarray(np.ones(3)))
    with pytest.raises(TypeError):
        float(dlarray(1 + 2j))


def test_unhashable():
    with pytest.raises(TypeError):
        hash(dlarray(1.0))


def test_copy_is_independent():
    X = dlarray(np.zeros(3))
    Y = X.copy()
    Y[0] = 1.0
    assert float(X[0]) == 0.0 and float(Y[0]) == 1.0
