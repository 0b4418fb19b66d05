"""Complex dlarrays: values against numpy (complex64 and complex128) and gradients in the
convention of design.md §4 (dy/dRe + i*dy/dIm), first and second order, for every op that
supports complex data; typed errors for those that do not."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, extractdata
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(2024)


def _z(*shape, scale=1.0):
    # Right half-plane, away from 0 and from the branch cuts of log/sqrt/asin/acos/atan.
    re = RNG.uniform(0.3, 1.2, shape)
    im = RNG.uniform(-0.8, 0.8, shape)
    return (re + 1j * im) * scale


def test_abs_squared_at_1_plus_2i_gives_2_plus_4i():
    g = dlfeval(lambda x: dlgradient(abs(x) ** 2, x), dlarray(np.array(1 + 2j)))
    assert g.dtype == np.complex128
    np.testing.assert_allclose(complex(g), 2 + 4j)
    g = dlfeval(lambda x: dlgradient(dl.real(x * dl.conj(x)), x), dlarray(np.array(1 + 2j)))
    np.testing.assert_allclose(complex(g), 2 + 4j)


def test_gradient_is_steepest_ascent():
    # y = Re(z) + 3 Im(z): dy/dRe = 1, dy/dIm = 3.
    g = dlfeval(lambda z: dlgradient((dl.real(z) + 3 * dl.imag(z)).sum(), z), dlarray(_z(3)))
    np.testing.assert_allclose(extractdata(g), np.full(3, 1 + 3j))


UNARY = {
    "neg": (lambda z: -z, np.negative),
    "exp": (dl.exp, np.exp),
    "log": (dl.log, np.log),
    "log1p": (dl.log1p, np.log1p),
    "sqrt": (dl.sqrt, np.sqrt),
    "sin": (dl.sin, np.sin),
    "cos": (dl.cos, np.cos),
    "tan": (dl.tan, np.tan),
    "tanh": (dl.tanh, np.tanh),
    "sinh": (dl.sinh, np.sinh),
    "cosh": (dl.cosh, np.cosh),
    "asin": (lambda z: dl.asin(z * 0.5), lambda z: np.arcsin(z * 0.5)),
    "acos": (lambda z: dl.acos(z * 0.5), lambda z: np.arccos(z * 0.5)),
    "atan": (lambda z: dl.atan(z * 0.5), lambda z: np.arctan(z * 0.5)),
    "abs": (dl.abs, np.abs),
    "real": (dl.real, np.real),
    "imag": (dl.imag, np.imag),
    "conj": (dl.conj, np.conj),
    "angle": (dl.angle, np.angle),
    "square": (lambda z: z * z, lambda z: z * z),
    "pow2": (lambda z: z**2, lambda z: z**2),
    "pow_half": (lambda z: z**0.5, lambda z: z**0.5),
    "pow_complex": (lambda z: z ** (0.5 + 0.3j), lambda z: z ** (0.5 + 0.3j)),
    "rpow": (lambda z: 2.0**z, lambda z: 2.0**z),
    "recip": (lambda z: 1.0 / z, lambda z: 1.0 / z),
    "attr_real": (lambda z: z.real, np.real),
    "attr_imag": (lambda z: z.imag, np.imag),
    "method_conj": (lambda z: z.conj(), np.conj),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_unary_value(name, dtype):
    f, ref = UNARY[name]
    z = _z(2, 3).astype(dtype)
    y = f(dlarray(z))
    expected = ref(z.astype(np.complex128))
    real_out = np.isrealobj(expected)
    assert y.dtype == (np.dtype(dtype).type(0).real.dtype if real_out else dtype)
    tol = 2e-6 if dtype == np.complex64 else 1e-13
    np.testing.assert_allclose(extractdata(y), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_complex_unary_gradient(name):
    f, _ = UNARY[name]
    gradcheck(f, _z(2, 3))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_complex_unary_second_order(name):
    f, _ = UNARY[name]
    gradgradcheck(f, _z(2, 3))


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "complex": None,
}


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), ())], ids=str)
def test_complex_binary(name, shapes):
    f = BINARY[name]
    a, b = _z(*shapes[0]), _z(*shapes[1])
    np.testing.assert_allclose(extractdata(f(dlarray(a), dlarray(b))), f(a, b), rtol=1e-13)
    gradcheck(f, a, b)
    gradgradcheck(f, a, b)


def test_complex_with_real_operand():
    z, r = _z(2, 3), RNG.standard_normal((2, 3))
    y = dlarray(z) * dlarray(r)
    assert y.dtype == np.complex128
    np.testing.assert_allclose(extractdata(y), z * r)
    gz, gr = gradcheck(lambda a, b: a * b + b * b * a, z, r)
    assert gr.dtype == np.float64 and gz.dtype == np.complex128
    gradgradcheck(lambda a, b: a * b + b * b * a, z, r)
    assert (dlarray(np.ones(2, np.float32)) * 1j).dtype == np.complex64


def test_complex_constructor():
    re, im = RNG.standard_normal((2, 3)), RNG.standard_normal((3,))
    y = dl.complex(dlarray(re), dlarray(im))
    np.testing.assert_allclose(extractdata(y), re + 1j * im)
    gradcheck(lambda a, b: dl.complex(a, b), re, im)
    gradgradcheck(lambda a, b: dl.complex(a * b, b * b), re, im)
    assert dl.complex(np.ones(2, np.float32), np.ones(2, np.float32)).dtype == np.complex64
    with pytest.raises(TypeError):
        dl.complex(dlarray(_z(2)), dlarray(re[0, :2]))


def test_angle_of_real_input():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(extractdata(dl.angle(dlarray(x))), np.angle(x))


def test_abs_at_zero_has_zero_gradient():
    g = dlfeval(lambda z: dlgradient(abs(z).sum(), z), dlarray(np.array([0j, 3 + 4j])))
    np.testing.assert_allclose(extractdata(g), [0, 0.6 + 0.8j])


# ----- reductions, products, shape ops -------------------------------------------------------------

OTHER = {
    "sum": lambda z: z.sum(axis=1),
    "mean": lambda z: z.mean(),
    "prod": lambda z: z.prod(axis=0),
    "prod_all": lambda z: z.prod(),
    "cumsum": lambda z: dl.cumsum(z, axis=1),
    "matmul": lambda z: z @ z.T,
    "pagemtimes_ct": lambda z: dl.pagemtimes(z, z, "ctranspose", "none"),
    "reshape_F": lambda z: z.reshape(3, 2, order="F"),
    "permute": lambda z: dl.permute(z, (1, 0)),
    "squeeze": lambda z: dl.squeeze(z[:1]),
    "concatenate": lambda z: dl.concatenate([z, z * z], axis=0),
    "stack": lambda z: dl.stack([z, dl.conj(z)], axis=1),
    "repmat": lambda z: dl.repmat(z, (2, 1)),
    "flip": lambda z: dl.flip(z, 1),
    "index": lambda z: z[1, ::-1],
    "index_array": lambda z: z[:, np.array([2, 0, 2])],
    "where": lambda z: dl.where(np.array([True, False, True]), z, z * z),
    "norm": lambda z: dl.norm(z),
}


@pytest.mark.parametrize("name", sorted(OTHER))
def test_complex_other_ops(name):
    f = OTHER[name]
    z = _z(2, 3)
    gradcheck(f, z)
    gradgradcheck(f, z)


def test_complex_values_of_other_ops():
    z = _z(2, 3)
    Z = dlarray(z)
    np.testing.assert_allclose(extractdata(Z.sum(axis=1)), z.sum(axis=1))
    np.testing.assert_allclose(extractdata(Z.prod()), z.prod())
    np.testing.assert_allclose(extractdata(Z @ Z.T), z @ z.T)
    np.testing.assert_allclose(extractdata(dl.pagemtimes(Z, Z, "ctranspose", "none")), z.conj().T @ z)
    np.testing.assert_allclose(extractdata(dl.norm(Z)), np.linalg.norm(z.ravel()))
    np.testing.assert_array_equal(extractdata(Z[1, ::-1]), z[1, ::-1])
    np.testing.assert_array_equal(Z == z, np.ones((2, 3), bool))
    np.testing.assert_array_equal(Z != z, np.zeros((2, 3), bool))


def test_complex_setitem_and_gradient():
    z = _z(2, 3)

    def f(a, b):
        y = a * 1.0
        y[0, 1:] = b * b
        return y * a

    gradcheck(f, z, _z(2))
    gradgradcheck(f, z, _z(2))
    Z = dlarray(z)
    Z[1] = 5.0
    assert Z.dtype == np.complex128
    np.testing.assert_array_equal(extractdata(Z)[1], np.full(3, 5 + 0j))


@pytest.mark.parametrize(
    "f",
    [
        dl.sigmoid,
        dl.erf,
        dl.sign,
        dl.floor,
        dl.ceil,
        dl.round,
        lambda z: dl.atan2(z, z),
        lambda z: dl.maximum(z, z),
        lambda z: z.max(),
        lambda z: z.min(axis=0),
        lambda z: z < z,
        lambda z: z >= 1.0,
    ],
    ids=["sigmoid", "erf", "sign", "floor", "ceil", "round", "atan2", "maximum", "max", "min", "lt", "ge"],
)
def test_unsupported_complex_ops_raise_dtype_error(f):
    with pytest.raises(dl.DTypeError):
        f(dlarray(_z(2, 3)))


def test_complex_y_is_rejected():
    with pytest.raises(dl.AutodiffError, match="real"):
        dlfeval(lambda z: dlgradient(z.sum(), z), dlarray(_z(3)))


def test_item_of_a_complex_scalar_is_a_python_complex():
    # numpy's item(); found by the fuzzer (it was an untyped TypeError).
    assert dlarray(1j, "S").item() == 1j and isinstance(dlarray(np.complex64(2 - 1j)).item(), complex)
    assert isinstance(dlarray(2.5).item(), float)
