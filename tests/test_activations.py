"""Activations: relu, leakyrelu, gelu, sigmoid, tanh, softmax — values against numpy
references written here, formats, options, and first/second-order gradients."""

import math

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, extractdata
from dlarray.errors import FormatError, OptionError
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)


def _x(shape=(2, 3, 2), fmt="SCB", avoid_zero=True):
    a = RNG.standard_normal(shape)
    if avoid_zero:  # keep finite differences away from kinks
        a = np.where(np.abs(a) < 0.05, 0.3, a)
    return dlarray(a, fmt) if fmt else dlarray(a)


def _erf(v):
    return np.vectorize(math.erf)(v)


# ----- values and formats ---------------------------------------------------------------------


def test_top_level_exports_are_the_nn_functions():
    from dlarray.nn import activations

    assert dl.relu is activations.relu
    assert dl.sigmoid is activations.sigmoid
    assert dl.tanh is activations.tanh
    assert dl.softmax is activations.softmax


def test_relu_values_and_format():
    x = _x()
    y = dl.relu(x)
    assert y.fmt == "SCB" and y.shape == x.shape
    np.testing.assert_array_equal(extractdata(y), np.maximum(extractdata(x), 0))


def test_relu_accepts_numpy_and_keeps_dtype():
    y = dl.relu(np.array([-1.0, 2.0], dtype=np.float32))
    assert isinstance(y, dlarray) and y.dtype == np.float32
    np.testing.assert_array_equal(extractdata(y), [0.0, 2.0])


def test_leakyrelu_default_scale_is_0_01():
    x = _x()
    a = extractdata(x)
    np.testing.assert_allclose(extractdata(dl.leakyrelu(x)), np.where(a > 0, a, 0.01 * a), rtol=1e-15)
    np.testing.assert_allclose(extractdata(dl.leakyrelu(x, 0.2)), np.where(a > 0, a, 0.2 * a), rtol=1e-15)
    assert dl.leakyrelu(x).fmt == "SCB"


def test_leakyrelu_scale_bigger_than_one_and_negative():
    a = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(extractdata(dl.leakyrelu(dlarray(a), 3.0)), [-6.0, -1.5, 0.5, 2.0])
    np.testing.assert_allclose(extractdata(dl.leakyrelu(dlarray(a), -1.0)), [2.0, 0.5, 0.5, 2.0])


def test_leakyrelu_bad_scale():
    with pytest.raises(OptionError, match="leakyrelu"):
        dl.leakyrelu(_x(), "big")
    with pytest.raises(ValueError, match="leakyrelu"):
        dl.leakyrelu(_x(), float("nan"))


def test_gelu_exact_and_tanh():
    x = _x()
    a = extractdata(x)
    exact = 0.5 * a * (1 + _erf(a / math.sqrt(2)))
    approx = 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3)))
    np.testing.assert_allclose(extractdata(dl.gelu(x)), exact, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(extractdata(dl.gelu(x, "none")), exact, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(extractdata(dl.gelu(x, approximation="tanh")), approx, rtol=1e-13, atol=1e-15)
    assert not np.allclose(exact, approx, rtol=1e-6, atol=0)  # the two modes really differ
    assert dl.gelu(x).fmt == "SCB"


def test_gelu_bad_approximation():
    with pytest.raises(OptionError, match="gelu.*approximation"):
        dl.gelu(_x(), approximation="erf")


def test_sigmoid_and_tanh_values():
    x = _x((5,), "")
    a = extractdata(x)
    np.testing.assert_allclose(extractdata(dl.sigmoid(x)), 1 / (1 + np.exp(-a)), rtol=1e-14)
    np.testing.assert_allclose(extractdata(dl.tanh(x)), np.tanh(a), rtol=1e-14)
    big = dl.sigmoid(dlarray(np.array([-800.0, 800.0])))
    np.testing.assert_array_equal(extractdata(big), [0.0, 1.0])
    assert dl.sigmoid(_x()).fmt == "SCB" and dl.tanh(_x()).fmt == "SCB"


def _softmax_ref(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_over_channels_of_formatted_input():
    x = _x((2, 3, 4, 2), "SSCB")
    y = dl.softmax(x)
    assert y.fmt == "SSCB"
    np.testing.assert_allclose(extractdata(y), _softmax_ref(extractdata(x), 2), rtol=1e-14)
    np.testing.assert_allclose(extractdata(y).sum(axis=2), 1.0, rtol=1e-14)


def test_softmax_cb_and_cbt():
    x = _x((4, 3), "CB")
    np.testing.assert_allclose(extractdata(dl.softmax(x)), _softmax_ref(extractdata(x), 0), rtol=1e-14)
    x = _x((4, 3, 5), "CBT")
    y = dl.softmax(x)
    assert y.fmt == "CBT"
    np.testing.assert_allclose(extractdata(y), _softmax_ref(extractdata(x), 0), rtol=1e-14)


def test_softmax_data_format_on_unformatted_input_keeps_layout():
    a = RNG.standard_normal((3, 5))  # (B, C)
    y = dl.softmax(dlarray(a), data_format="BC")
    assert y.fmt == "" and y.shape == (3, 5)
    np.testing.assert_allclose(extractdata(y), _softmax_ref(a, 1), rtol=1e-14)


def test_softmax_large_inputs_do_not_overflow():
    y = dl.softmax(dlarray(np.array([[1000.0], [1001.0]], dtype=np.float32), "CB"))
    np.testing.assert_allclose(extractdata(y)[:, 0], _softmax_ref(np.array([1000.0, 1001.0]), 0), rtol=1e-6)


def test_softmax_needs_a_channel_dim():
    with pytest.raises(FormatError, match="softmax.*'C'"):
        dl.softmax(_x((3, 4), "SB"))
    with pytest.raises(FormatError, match="softmax.*unformatted"):
        dl.softmax(dlarray(np.ones((3, 4))))
    with pytest.raises(ValueError, match="softmax"):
        dl.softmax(dlarray(np.ones((3, 4))), data_format="CX")


def test_float32_stays_float32():
    x = dlarray(RNG.standard_normal((3, 2)).astype(np.float32), "CB")
    for f in (dl.relu, dl.leakyrelu, dl.gelu, dl.sigmoid, dl.tanh, dl.softmax):
        assert f(x).dtype == np.float32, f.__name__


# ----- gradients (first and second order, float64) ---------------------------------------------

ELEMENTWISE = [
    ("relu", lambda x: dl.relu(x)),
    ("leakyrelu", lambda x: dl.leakyrelu(x)),
    ("leakyrelu_0.3", lambda x: dl.leakyrelu(x, 0.3)),
    ("gelu", lambda x: dl.gelu(x)),
    ("gelu_tanh", lambda x: dl.gelu(x, approximation="tanh")),
    ("sigmoid", lambda x: dl.sigmoid(x)),
    ("tanh", lambda x: dl.tanh(x)),
]


@pytest.mark.parametrize("name,fn", ELEMENTWISE, ids=[n for n, _ in ELEMENTWISE])
def test_elementwise_gradients(name, fn):
    x = _x((2, 3, 2), "SCB")
    gradcheck(fn, x)
    gradgradcheck(fn, x)


def test_relu_and_leakyrelu_first_derivatives_are_exact_steps():
    a = np.array([-1.5, -0.2, 0.4, 2.0])
    g = dl.dlfeval(lambda x: dl.dlgradient(dl.leakyrelu(x, 0.25).sum(), x), dlarray(a))
    np.testing.assert_array_equal(extractdata(g), [0.25, 0.25, 1.0, 1.0])
    g = dl.dlfeval(lambda x: dl.dlgradient(dl.relu(x).sum(), x), dlarray(a))
    np.testing.assert_array_equal(extractdata(g), [0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("fmt,shape", [("SSCB", (2, 2, 3, 2)), ("CBT", (3, 2, 2))])
def test_softmax_gradients(fmt, shape):
    x = _x(shape, fmt)
    gradcheck(dl.softmax, x)
    gradgradcheck(dl.softmax, x)


def test_softmax_gradients_unformatted():
    x = _x((2, 4), "")
    f = lambda x: dl.softmax(x, data_format="BC")  # noqa: E731
    gradcheck(f, x)
    gradgradcheck(f, x)


# ----- PyTorch, when installed -------------------------------------------------------------------


def test_against_torch():
    torch = pytest.importorskip("torch")
    a = RNG.standard_normal((4, 3))  # (C, B)
    t = torch.tensor(a)
    x = dlarray(a, "CB")
    pairs = [
        (dl.relu(x), torch.relu(t)),
        (dl.leakyrelu(x), torch.nn.functional.leaky_relu(t, 0.01)),
        (dl.gelu(x), torch.nn.functional.gelu(t)),
        (dl.gelu(x, approximation="tanh"), torch.nn.functional.gelu(t, approximate="tanh")),
        (dl.sigmoid(x), torch.sigmoid(t)),
        (dl.tanh(x), torch.tanh(t)),
        (dl.softmax(x), torch.softmax(t, dim=0)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(extractdata(ours), theirs.numpy(), rtol=1e-12, atol=1e-14)
