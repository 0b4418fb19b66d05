"""Elementwise ops: values against numpy (float32 and float64), first- and second-order
gradients against finite differences (float64), broadcasting, dtype rules, formats."""

import math

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, extractdata
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)

_erf = np.vectorize(math.erf)


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (dlarray function, numpy reference, sampler of valid float64 inputs of a shape)
def _uniform(lo, hi):
    return lambda shape: RNG.uniform(lo, hi, shape)


def _away_from_zero(shape):
    x = RNG.uniform(0.3, 2.0, shape)
    return x * RNG.choice([-1.0, 1.0], shape)


def _away_from_steps(shape):
    # floor/ceil/round are piecewise constant: keep every value 0.2 away from a jump.
    return RNG.integers(-3, 4, shape) + RNG.uniform(0.05, 0.3, shape) * RNG.choice([-1, 1], shape) + 0.0


UNARY = {
    "neg": (lambda x: -x, np.negative, _uniform(-2, 2)),
    "abs": (dl.abs, np.abs, _away_from_zero),
    "abs_builtin": (abs, np.abs, _away_from_zero),
    "exp": (dl.exp, np.exp, _uniform(-2, 2)),
    "log": (dl.log, np.log, _uniform(0.2, 3)),
    "log1p": (dl.log1p, np.log1p, _uniform(-0.7, 3)),
    "sqrt": (dl.sqrt, np.sqrt, _uniform(0.2, 3)),
    "sin": (dl.sin, np.sin, _uniform(-3, 3)),
    "cos": (dl.cos, np.cos, _uniform(-3, 3)),
    "tan": (dl.tan, np.tan, _uniform(-1.2, 1.2)),
    "tanh": (dl.tanh, np.tanh, _uniform(-2, 2)),
    "sinh": (dl.sinh, np.sinh, _uniform(-2, 2)),
    "cosh": (dl.cosh, np.cosh, _uniform(-2, 2)),
    "asin": (dl.asin, np.arcsin, _uniform(-0.9, 0.9)),
    "acos": (dl.acos, np.arccos, _uniform(-0.9, 0.9)),
    "atan": (dl.atan, np.arctan, _uniform(-3, 3)),
    "sigmoid": (dl.sigmoid, _np_sigmoid, _uniform(-4, 4)),
    "erf": (dl.erf, _erf, _uniform(-2, 2)),
    "sign": (dl.sign, np.sign, _away_from_zero),
    "floor": (dl.floor, np.floor, _away_from_steps),
    "ceil": (dl.ceil, np.ceil, _away_from_steps),
    "round": (dl.round, np.round, _away_from_steps),
}

ZERO_GRADIENT = {"sign", "floor", "ceil", "round"}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_value(name, dtype):
    f, ref, sample = UNARY[name]
    x = sample((3, 4)).astype(dtype)
    y = f(dlarray(x))
    assert isinstance(y, dlarray)
    assert y.dtype == dtype and y.shape == x.shape
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(extractdata(y), ref(x.astype(np.float64)).astype(dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient(name):
    f, _, sample = UNARY[name]
    g = gradcheck(f, sample((2, 3)))
    if name in ZERO_GRADIENT:
        assert not np.any(extractdata(g[0]))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_second_order(name):
    f, _, sample = UNARY[name]
    gradgradcheck(f, sample((2, 3)))


def test_sigmoid_is_stable_for_large_inputs():
    x = dlarray(np.array([-800.0, -50.0, 0.0, 50.0, 800.0]))
    y = extractdata(dl.sigmoid(x))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [0.0, _np_sigmoid(-50.0), 0.5, 1.0, 1.0], atol=1e-300)


def test_round_is_half_to_even_like_numpy():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    np.testing.assert_array_equal(extractdata(dl.round(dlarray(x))), np.round(x))


def test_unary_keeps_format():
    x = dlarray(RNG.standard_normal((3, 2)), "CB")
    for f in (dl.exp, dl.tanh, dl.sigmoid, dl.abs, lambda a: -a):
        assert f(x).fmt == "CB"


def test_unary_of_numpy_input_gives_dlarray():
    y = dl.exp(np.array([0.0, 1.0]))
    assert isinstance(y, dlarray) and y.dtype == np.float64
    np.testing.assert_allclose(extractdata(y), np.exp([0.0, 1.0]))


# ----- binary ---------------------------------------------------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a**b, np.power),
    "power_fn": (dl.power, np.power),
    "atan2": (dl.atan2, np.arctan2),
    "maximum": (dl.maximum, np.maximum),
    "minimum": (dl.minimum, np.minimum),
}

SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), ()), ((), (2, 2)), ((2, 1, 3), (4, 1))]


def _binary_inputs(name, sa, sb):
    a = RNG.uniform(0.5, 2.0, sa)
    b = RNG.uniform(0.5, 2.0, sb)
    if name in ("add", "sub", "mul", "atan2"):
        a = a * RNG.choice([-1.0, 1.0], sa)
        b = b * RNG.choice([-1.0, 1.0], sb)
    if name in ("maximum", "minimum"):
        # Distinct values everywhere: ties are non-differentiable points.
        a = RNG.permutation(np.arange(a.size, dtype=float)).reshape(sa) * 0.37 - 1.0
        b = RNG.permutation(np.arange(b.size, dtype=float)).reshape(sb) * 0.41 - 0.9 + 0.05
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_value(name, shapes, dtype):
    f, ref = BINARY[name]
    a, b = (x.astype(dtype) for x in _binary_inputs(name, *shapes))
    for lhs, rhs in [(dlarray(a), dlarray(b)), (dlarray(a), b), (a, dlarray(b))]:
        y = f(lhs, rhs)
        assert isinstance(y, dlarray), f"{type(lhs)} {name} {type(rhs)} gave {type(y)}"
        expected = ref(a.astype(np.float64), b.astype(np.float64))
        assert y.shape == expected.shape
        assert y.dtype == dtype
        tol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(extractdata(y), expected.astype(dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_gradient(name, shapes):
    f, _ = BINARY[name]
    gradcheck(f, *_binary_inputs(name, *shapes))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES[:3], ids=str)
def test_binary_second_order(name, shapes):
    f, _ = BINARY[name]
    gradgradcheck(f, *_binary_inputs(name, *shapes))


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 0])
def test_power_with_constant_exponent(exponent):
    x = RNG.uniform(0.5, 2.0, (2, 3))
    gradcheck(lambda a: a**exponent, x)
    gradgradcheck(lambda a: a**exponent, x)


def test_power_negative_base_integer_exponent():
    x = np.array([-1.5, -0.5, 0.7])
    gradcheck(lambda a: a**3, x)
    gradgradcheck(lambda a: a**3, x)


def test_power_zero_to_zero_has_finite_gradient():
    def f(a, b):
        return dl.dlgradient((a**b).sum(), a, b)

    ga, gb = dl.dlfeval(f, dlarray(np.array([0.0, 2.0])), dlarray(np.array([0.0, 0.0])))
    assert np.all(np.isfinite(extractdata(ga))) and np.all(np.isfinite(extractdata(gb)))


def test_rpow_with_scalar_base():
    x = RNG.uniform(-1, 1, (4,))
    y = 2.0 ** dlarray(x)
    np.testing.assert_allclose(extractdata(y), 2.0**x)
    gradcheck(lambda a: 2.0**a, x)
    gradgradcheck(lambda a: 2.0**a, x)


def test_reflected_ops_with_scalars():
    x = RNG.uniform(0.5, 2.0, (3,))
    X = dlarray(x)
    np.testing.assert_allclose(extractdata(1.0 - X), 1.0 - x)
    np.testing.assert_allclose(extractdata(2.0 / X), 2.0 / x)
    np.testing.assert_allclose(extractdata(3 * X), 3 * x)
    gradcheck(lambda a: 1.0 - a, x)
    gradcheck(lambda a: 2.0 / a, x)
    gradgradcheck(lambda a: 2.0 / a, x)


def test_binary_shape_mismatch_is_shape_error():
    with pytest.raises(dl.ShapeError, match=r"\(2, 3\)|\[2, 3\]"):
        dlarray(np.ones((2, 3))) + dlarray(np.ones((4,)))


def test_same_value_max_splits_gradient_evenly():
    def f(a, b):
        return dl.dlgradient(dl.maximum(a, b).sum(), a, b)

    ga, gb = dl.dlfeval(f, dlarray(np.array([1.0, 2.0])), dlarray(np.array([1.0, 0.0])))
    np.testing.assert_allclose(extractdata(ga), [0.5, 1.0])
    np.testing.assert_allclose(extractdata(gb), [0.5, 0.0])


# ----- dtype promotion -------------------------------------------------------------------------


def test_dtype_promotion():
    f32 = dlarray(np.ones(2, np.float32))
    f64 = dlarray(np.ones(2, np.float64))
    assert (f32 + f64).dtype == np.float64
    assert (f32 + 1.5).dtype == np.float32
    assert (2 * f32).dtype == np.float32
    assert (f32 + np.ones(2)).dtype == np.float64  # numpy arrays are not weak
    assert (f32 * 1j).dtype == np.complex64
    assert (f64 * 1j).dtype == np.complex128


def test_gradient_flows_back_in_each_operand_dtype():
    def f(a, b):
        return dl.dlgradient((a * b).sum(), a, b)

    ga, gb = dl.dlfeval(f, dlarray(np.array([1.0, 2.0], np.float32)), dlarray(np.array([3.0, 4.0])))
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_allclose(extractdata(ga), [3.0, 4.0])
    np.testing.assert_allclose(extractdata(gb), [1.0, 2.0])


# ----- comparisons and where -------------------------------------------------------------------

COMPARE = {
    "lt": (lambda a, b: a < b, np.less),
    "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater),
    "ge": (lambda a, b: a >= b, np.greater_equal),
    "eq": (lambda a, b: a == b, np.equal),
    "ne": (lambda a, b: a != b, np.not_equal),
}


@pytest.mark.parametrize("name", sorted(COMPARE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_comparisons(name, dtype):
    f, ref = COMPARE[name]
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype)
    b = np.array([2.0, 2.0, 2.0], dtype)
    for lhs, rhs in [(dlarray(a), dlarray(b)), (dlarray(a), b), (dlarray(a), 2.0)]:
        r = f(lhs, rhs)
        assert isinstance(r, np.ndarray) and r.dtype == bool
        np.testing.assert_array_equal(r, ref(a, b))
    np.testing.assert_array_equal(f(a, dlarray(b)), ref(a, b))


def test_where_values_and_gradient():
    cond = np.array([[True, False, True], [False, False, True]])
    a = RNG.standard_normal((2, 3))
    b = RNG.standard_normal((3,))
    y = dl.where(cond, dlarray(a), dlarray(b))
    np.testing.assert_allclose(extractdata(y), np.where(cond, a, b))
    gradcheck(lambda x, z: dl.where(cond, x, z), a, b)
    gradgradcheck(lambda x, z: dl.where(cond, x * x, z * z * z), a, b)


def test_where_with_dlarray_mask_from_comparison():
    x = RNG.standard_normal((5,))
    X = dlarray(x)
    y = dl.where(X > 0, X, 0.1 * X)  # leaky relu
    np.testing.assert_allclose(extractdata(y), np.where(x > 0, x, 0.1 * x))
    gradcheck(lambda a: dl.where(np.asarray(extractdata(a)) > 0, a, 0.1 * a), x)


# ----- formats --------------------------------------------------------------------------------


def test_binary_format_rules():
    x = dlarray(RNG.standard_normal((3, 2)), "CB")
    assert (x + 1.0).fmt == "CB"
    assert (x * np.ones((3, 1))).fmt == "CB"
    assert (np.ones((3, 1)) * x).fmt == "CB"
    assert (x + dlarray(np.ones((3, 1)))).fmt == "CB"
    assert (x + x).fmt == "CB"
    z = dlarray(RNG.standard_normal((3, 2)), "SB")
    with pytest.raises(dl.FormatError):
        x + z
    with pytest.raises(dl.FormatError):
        dl.maximum(x, z)


# ----- the checker itself can fail ---------------------------------------------------------------


def test_gradcheck_detects_a_wrong_gradient():
    # round() has zero gradient by definition, but at this scale its finite difference is 1.
    with pytest.raises(AssertionError, match="finite differences"):
        gradcheck(lambda a: dl.round(a * 1e6) / 1e6, np.array([0.123456789, 0.2]), eps=1e-6)


def test_gradgradcheck_detects_a_wrong_second_derivative():
    with pytest.raises(AssertionError, match="finite differences"):
        gradgradcheck(lambda a: a * dl.round(a * 1e6) / 1e6, np.array([0.123456789, 0.2]))


# ----- large tensors take the parallel kernel paths ------------------------------------------------


def test_large_broadcasting_and_unary_match_numpy():
    a = RNG.standard_normal((200, 1, 300))
    b = RNG.standard_normal((7, 300))
    y = dlarray(a) * dlarray(b) + dlarray(b)
    np.testing.assert_allclose(extractdata(y), a * b + b, rtol=1e-14)
    np.testing.assert_allclose(extractdata(dl.tanh(dlarray(a))), np.tanh(a), rtol=1e-14)
    cond = a > 0
    np.testing.assert_array_equal(extractdata(dl.where(cond, dlarray(a), dlarray(b[0]))), np.where(cond, a, b[0]))
    big = RNG.standard_normal(100_000).astype(np.float32)
    np.testing.assert_allclose(extractdata(dl.exp(dlarray(big))), np.exp(big), rtol=1e-6)
    np.testing.assert_array_equal(dlarray(big) > 0, big > 0)
    ga, gb = dl.dlfeval(lambda p, q: dl.dlgradient((p * q).sum(), p, q), dlarray(a), dlarray(b))
    np.testing.assert_allclose(extractdata(ga), np.broadcast_to(b, (200, 7, 300)).sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(extractdata(gb), np.broadcast_to(a, (200, 7, 300)).sum(axis=0), rtol=1e-12)
