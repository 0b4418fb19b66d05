"""numpy's array-function protocol (NEP 18): numpy functions on dlarrays run dlarray's own
functions (dlarrays out, traced inside dlfeval), numpy-only keywords raise OptionError, and
an unmapped function runs numpy on the data untraced and raises AutodiffError traced
(docs/decisions.md, "numpy functions on dlarrays")."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, extractdata

RNG = np.random.default_rng(18)


def _data(shape, dtype=np.float64):
    n = int(np.prod(shape))
    v = (RNG.permutation(n) * 0.13 + 0.4) * RNG.choice([-1.0, 1.0], n)
    return v.reshape(shape).astype(dtype)


def _same(got, want, dtype=np.float64):
    assert isinstance(got, dlarray), type(got)
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    np.testing.assert_allclose(extractdata(got), want, rtol=tol, atol=tol)
    assert got.shape == np.shape(want)


# ----- reductions ---------------------------------------------------------------------------

REDUCTIONS = [np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin]


@pytest.mark.parametrize("f", REDUCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("keepdims", [None, False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduction_matches_numpy(f, axis, keepdims, dtype):
    x = _data((2, 3, 4), dtype)
    kw = {} if keepdims is None else {"keepdims": keepdims}
    got = f(dlarray(x), axis=axis, **kw)
    _same(got, f(x, axis=axis, **kw), dtype)
    assert got.dtype == dtype


@pytest.mark.parametrize("f", REDUCTIONS, ids=lambda f: f.__name__)
def test_reduction_positional_axis_and_format(f):
    x = _data((3, 4))
    X = dlarray(x, "SC")
    got = f(X, 0)
    _same(got, f(x, 0))
    own = getattr(dl, {"amax": "max", "amin": "min"}.get(f.__name__, f.__name__))(X, 0)
    assert got.fmt == own.fmt == "C"
    assert f(X, "S", keepdims=True).fmt == "SC"  # a format letter, as dlarray's own functions take


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumsum(axis):
    x = _data((3, 4))
    X = dlarray(x, "SC")
    got = np.cumsum(X, axis=axis)
    _same(got, np.cumsum(x, axis=axis))
    assert got.fmt == dl.cumsum(X, axis).fmt


# ----- joining, shapes ----------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1, None], ids=str)
def test_concatenate(axis):
    a, b = _data((2, 3)), _data((2, 3))
    got = np.concatenate([dlarray(a), dlarray(b)], axis=axis)
    _same(got, np.concatenate([a, b], axis=axis))
    if axis is not None:
        _same(np.concatenate((dlarray(a), b), axis), np.concatenate([a, b], axis))  # an ndarray joins in
    assert np.concatenate([dlarray(a, "SC"), dlarray(b, "SC")], axis=0).fmt == "SC"
    assert np.concat([dlarray(a), dlarray(b)]).shape == (4, 3)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    a, b = _data((2, 3)), _data((2, 3))
    got = np.stack([dlarray(a, "SC"), dlarray(b, "SC")], axis=axis)
    _same(got, np.stack([a, b], axis=axis))
    assert got.fmt == dl.stack([dlarray(a, "SC"), dlarray(b, "SC")], axis).fmt


def test_where_three_arguments():
    x, y = _data((3, 4)), _data((3, 4))
    c = x > 0
    _same(np.where(c, dlarray(x), dlarray(y)), np.where(c, x, y))
    _same(np.where(c, dlarray(x), 0.0), np.where(c, x, 0.0))
    _same(np.where(c, 0.0, dlarray(y)), np.where(c, 0.0, y))
    assert np.where(c, dlarray(x, "SC"), y).fmt == dl.where(c, dlarray(x, "SC"), y).fmt == "SC"
    got32 = np.where(c, dlarray(x.astype(np.float32)), 1.0)
    assert got32.dtype == np.float32


def test_where_one_argument_gives_numpys_indices():
    x = _data((3, 4))
    got = np.where(dlarray(x))
    for g, w in zip(got, np.where(x)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("shape", [(6,), (3, 2), (-1, 3), (2, 1, 3)], ids=str)
@pytest.mark.parametrize("order", ["C", "F"])
def test_reshape_ravel(shape, order):
    x = _data((2, 3))
    _same(np.reshape(dlarray(x, "SC"), shape, order=order), np.reshape(x, shape, order=order))
    _same(np.ravel(dlarray(x), order=order), np.ravel(x, order=order))
    assert np.reshape(dlarray(x, "SC"), shape).fmt == ""


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 2, 0)], ids=str)
def test_transpose(axes):
    x = _data((2, 3, 4))
    _same(np.transpose(dlarray(x), axes), np.transpose(x, axes))
    _same(np.permute_dims(dlarray(x), axes), np.transpose(x, axes))


@pytest.mark.parametrize("axis", [None, 0, 2, (0, 2)], ids=str)
def test_squeeze(axis):
    x = _data((1, 3, 1))
    _same(np.squeeze(dlarray(x), axis=axis), np.squeeze(x, axis=axis))
    X = dlarray(_data((3, 1)), "SC")
    assert np.squeeze(X).fmt == dl.squeeze(X).fmt


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1], ids=str)
def test_flip(axis):
    x = _data((3, 4))
    got = np.flip(dlarray(x, "SC"), axis)
    _same(got, np.flip(x, axis))
    assert got.fmt == "SC"


@pytest.mark.parametrize("reps", [2, (2,), (2, 3), (1, 2, 2), ()], ids=str)
def test_tile(reps):
    x = _data((2, 3))
    got = np.tile(dlarray(x, "SC"), reps)
    _same(got, np.tile(x, reps))
    assert got.fmt == dl.repmat(dlarray(x, "SC"), *np.atleast_1d(reps).astype(int).tolist()).fmt


# ----- norm, complex parts, rounding, metadata -----------------------------------------------


@pytest.mark.parametrize(
    "ord,axis",
    [
        (None, None),
        (2, None),
        (1, None),
        (np.inf, None),
        (3, None),
        (None, 0),
        (1, 1),
        (np.inf, 0),
        (None, (0, 1)),
        ("fro", None),
        ("fro", (0, 1)),
        (1, (0, 1)),
        (-1, (1, 0)),
        (np.inf, (0, 1)),
        (-np.inf, (0, 1)),
    ],
    ids=str,
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_linalg_norm(ord, axis, keepdims):
    x = _data((3, 4))
    if axis is None and ord not in (None, "fro"):  # a vector; a matrix too for the 1 and inf norms
        v = _data((5,))
        _same(np.linalg.norm(dlarray(v), ord, axis, keepdims), np.linalg.norm(v, ord, axis, keepdims))
        if ord not in (1, np.inf):
            return
    _same(np.linalg.norm(dlarray(x), ord, axis, keepdims), np.linalg.norm(x, ord, axis, keepdims))


def test_linalg_norm_unsupported():
    x = _data((3, 4))
    for ord in (2, -2, "nuc"):
        with pytest.raises(dl.OptionError, match="numpy.linalg.norm"):
            np.linalg.norm(dlarray(x), ord)
    with pytest.raises(dl.OptionError, match="numpy.linalg.norm"):
        np.linalg.norm(dlarray(_data((2, 3, 4))), 1)


def test_real_imag_angle():
    z = _data((2, 3)) + 1j * _data((2, 3))
    Z = dlarray(z, "SC")
    for f in (np.real, np.imag, np.angle):
        got = f(Z)
        _same(got, f(z))
        assert got.fmt == "SC"
    _same(np.angle(Z, deg=True), np.angle(z, deg=True))


@pytest.mark.parametrize("decimals", [0, 1, 2, -1])
def test_round(decimals):
    x = _data((3, 4)) * 7.3
    _same(np.round(dlarray(x), decimals), np.round(x, decimals))
    _same(np.around(dlarray(x), decimals=decimals), np.around(x, decimals=decimals))


def test_shape_ndim_size():
    X = dlarray(_data((2, 3, 4)))
    assert np.shape(X) == (2, 3, 4)
    assert np.ndim(X) == 3
    assert np.size(X) == 24 and np.size(X, 1) == 3 and np.size(X, (0, 2)) == 8


# ----- numpy-only keywords --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,keyword",
    [
        (lambda X: np.sum(X, out=np.zeros(())), "out"),
        (lambda X: np.sum(X, dtype=np.float32), "dtype"),
        (lambda X: np.sum(X, initial=1.0), "initial"),
        (lambda X: np.sum(X, where=np.ones(X.shape, bool)), "where"),
        (lambda X: np.mean(X, dtype=np.float64), "dtype"),
        (lambda X: np.prod(X, out=np.zeros(())), "out"),
        (lambda X: np.max(X, initial=0.0), "initial"),
        (lambda X: np.amin(X, where=np.ones(X.shape, bool), initial=5.0), "initial"),
        (lambda X: np.cumsum(X, dtype=np.float64), "dtype"),
        (lambda X: np.concatenate([X, X], dtype=np.float32), "dtype"),
        (lambda X: np.concatenate([X, X], casting="unsafe"), "casting"),
        (lambda X: np.stack([X, X], out=np.zeros((2, 2, 3))), "out"),
        (lambda X: np.round(X, out=np.zeros((2, 3))), "out"),
    ],
)
def test_numpy_only_keywords_raise(call, keyword):
    with pytest.raises(dl.OptionError, match=rf"numpy\.\w+: the keyword {keyword}="):
        call(dlarray(_data((2, 3))))


def test_default_numpy_only_keywords_pass():
    x = _data((2, 3))
    X = dlarray(x)
    _same(np.sum(X, dtype=None, out=None, where=True), np.sum(x))
    _same(np.concatenate([X, X], casting="same_kind"), np.concatenate([x, x]))


# ----- gradients ------------------------------------------------------------------------------


def _grads(f, *xs):
    return dl.dlfeval(lambda *a: dl.dlgradient(f(*a), *a) if len(a) > 1 else dl.dlgradient(f(*a), a[0]), *[dlarray(x) for x in xs])


def _close(g, h):
    g = g if isinstance(g, tuple) else (g,)
    h = h if isinstance(h, tuple) else (h,)
    for a, b in zip(g, h):
        assert isinstance(a, dlarray)
        np.testing.assert_allclose(extractdata(a), extractdata(b), rtol=1e-12, atol=1e-12)


def test_gradient_through_numpy_sum_mean_max():
    x = _data((3, 4))
    _close(_grads(lambda a: np.sum(a * a), x), _grads(lambda a: dl.sum(a * a), x))
    _close(_grads(lambda a: np.sum(np.mean(a, axis=0) ** 3), x), _grads(lambda a: dl.sum(dl.mean(a, 0) ** 3), x))
    _close(_grads(lambda a: np.sum(np.max(a, axis=1)), x), _grads(lambda a: dl.sum(dl.max(a, 1)), x))


def test_gradient_through_numpy_concatenate():
    x, y = _data((2, 3)), _data((4, 3))
    w = _data((6, 3))

    def numpy_version(a, b):
        return np.sum(np.concatenate([a, b * b]) * w)

    def own_version(a, b):
        return dl.sum(dl.concatenate([a, b * b]) * w)

    _close(_grads(numpy_version, x, y), _grads(own_version, x, y))


def test_gradient_through_numpy_where():
    x, y = _data((3, 4)), _data((3, 4))
    c = x > 0
    _close(_grads(lambda a, b: np.sum(np.where(c, a * a, b * 3.0)), x, y), _grads(lambda a, b: dl.sum(dl.where(c, a * a, b * 3.0)), x, y))


def test_traced_results_inside_dlfeval():
    def f(a):
        out = [
            np.sum(a),
            np.concatenate([a, a]),
            np.where(np.asarray(a) > 0, a, 0.0),
            np.reshape(a, -1),
            np.linalg.norm(a),
            np.tile(a, 2),
            np.transpose(a),
        ]
        assert all(isinstance(o, dlarray) and o.traced for o in out)
        return dl.dlgradient(np.sum(np.linalg.norm(a, axis=0)), a)

    x = _data((3, 4))
    _close(dl.dlfeval(f, dlarray(x)), dl.dlfeval(lambda a: dl.dlgradient(dl.sum(dl.norm(a, 2, 0)), a), dlarray(x)))


# ----- unmapped functions ---------------------------------------------------------------------


def test_unmapped_function_untraced_runs_numpy_on_the_data():
    x = _data((3, 4))
    X = dlarray(x)
    v = np.var(X, axis=0)
    assert type(v) is np.ndarray
    np.testing.assert_allclose(v, np.var(x, axis=0))
    v = np.vstack([X, X + 1.0])  # dlarrays inside a list
    assert type(v) is np.ndarray
    np.testing.assert_allclose(v, np.vstack([x, x + 1.0]))
    assert np.allclose(X, x) and np.array_equal(X, x)
    np.testing.assert_array_equal(np.isfinite(np.asarray(X)), np.ones((3, 4), bool))
    np.testing.assert_allclose(np.sort(X, axis=1), np.sort(x, axis=1))


def test_unmapped_function_traced_raises():
    def f(a):
        with pytest.raises(dl.AutodiffError, match=r"numpy\.var would drop the trace.*extractdata"):
            np.var(a)
        with pytest.raises(dl.AutodiffError, match=r"numpy\.sort"):
            np.sort(a)
        with pytest.raises(dl.AutodiffError, match=r"numpy\.vstack"):
            np.vstack([x, a])  # a traced dlarray inside a list
        # Results without a gradient (indices, booleans, metadata) still run on the data.
        assert np.argmax(a) == np.argmax(x)
        assert np.allclose(a, x)
        assert np.shape(a) == x.shape
        return dl.dlgradient(np.sum(a), a)

    x = _data((3, 4))
    dl.dlfeval(f, dlarray(x))


def test_ufuncs_still_refuse():
    with pytest.raises(TypeError):
        np.exp(dlarray(_data((2,))))


def test_testing_assert_allclose_on_dlarrays():
    x = _data((3, 4))
    np.testing.assert_allclose(dlarray(x), x)
    np.testing.assert_allclose(dlarray(x), dlarray(x))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(dlarray(x), x + 1.0)

    def f(a):
        np.testing.assert_allclose(a, x)  # on a traced dlarray too
        return dl.dlgradient(dl.sum(a), a)

    dl.dlfeval(f, dlarray(x))
