"""dlfeval / dlgradient / dljacobian / dldivergence / dllaplacian: design.md §4's examples,
structure mirroring, every error case, tracing scopes (nested, per thread), higher orders."""

import collections
import math
import threading

import dlarray as dl
import numpy as np
import pytest
from dlarray import AutodiffError, dlarray, dldivergence, dlfeval, dlgradient, dljacobian, dllaplacian, extractdata, stripdims
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(3)


# ----- design.md §4 examples -----------------------------------------------------------------------


def test_second_derivative_of_cube_matlab_idiom():
    def f(x):
        y = x**3
        dydx = dlgradient(y, x, enable_higher_derivatives=True)
        d2ydx2 = dlgradient(dydx, x)  # the last call need not enable it
        return dydx, d2ydx2

    dydx, d2 = dlfeval(f, dlarray(5.0))
    assert float(dydx) == 75.0
    assert float(d2) == 30.0
    assert not dydx.traced and not d2.traced


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rosenbrock(dtype):
    def rosenbrock(x):
        y = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        return y, dlgradient(y, x)

    y, g = dlfeval(rosenbrock, dlarray(np.array([-1.0, 2.0], dtype)))
    assert float(y) == 104.0
    assert g.dtype == dtype
    np.testing.assert_array_equal(extractdata(g), [396.0, 200.0])

    def two_inputs(x1, x2):
        y = 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
        return dlgradient(y, x1, x2)

    g1, g2 = dlfeval(two_inputs, dlarray(-1.0), dlarray(2.0))
    assert (float(g1), float(g2)) == (396.0, 200.0)


# ----- structure mirroring ----------------------------------------------------------------------------


Pair = collections.namedtuple("Pair", "w b")


class Table:
    """A container exposing its arrays through ``__dlarray_tree__`` (as learnables tables do)."""

    def __init__(self, names, values):
        self.names, self.values = list(names), list(values)

    def __dlarray_tree__(self):
        return self.values, lambda vals: Table(self.names, vals)


def test_structure_mirroring_nested():
    params = {
        "fc": {"W": dlarray(RNG.standard_normal((2, 3))), "b": dlarray(np.zeros((2, 1)), "CB")},
        "layers": [dlarray(np.array([1.0, 2.0])), (dlarray(3.0), Pair(dlarray(np.ones(2)), dlarray(4.0)))],
        "meta": "not an array",
        "count": 7,
    }

    def loss(p):
        total = (p["fc"]["W"] ** 2).sum() + (p["fc"]["b"] * 3).sum()
        total = total + (p["layers"][0] ** 3).sum() + p["layers"][1][0] * 5 + (p["layers"][1][1].w * p["layers"][1][1].b).sum()
        return dlgradient(total, p)

    g = dlfeval(loss, params)
    assert set(g) == set(params)
    assert g["meta"] == "not an array" and g["count"] == 7
    np.testing.assert_allclose(extractdata(g["fc"]["W"]), 2 * extractdata(params["fc"]["W"]))
    assert g["fc"]["b"].fmt == "CB" and g["fc"]["b"].shape == (2, 1)
    np.testing.assert_allclose(extractdata(g["fc"]["b"]), np.full((2, 1), 3.0))
    assert isinstance(g["layers"], list) and isinstance(g["layers"][1], tuple)
    np.testing.assert_allclose(extractdata(g["layers"][0]), [3.0, 12.0])
    assert float(g["layers"][1][0]) == 5.0
    assert isinstance(g["layers"][1][1], Pair)
    np.testing.assert_allclose(extractdata(g["layers"][1][1].w), [4.0, 4.0])
    assert float(g["layers"][1][1].b) == 2.0
    # The caller's container is untouched and untraced.
    assert not params["fc"]["W"].traced


def test_structure_mirroring_custom_container():
    t = Table(["a", "b"], [dlarray(np.array([1.0, 2.0])), dlarray(np.array([[3.0]]), "CB")])
    g = dlfeval(lambda tab: dlgradient((tab.values[0] * tab.values[1]).sum(), tab), t)
    assert isinstance(g, Table) and g.names == ["a", "b"]
    np.testing.assert_allclose(extractdata(g.values[0]), [3.0, 3.0])
    assert g.values[1].fmt == "CB"
    np.testing.assert_allclose(extractdata(g.values[1]), [[3.0]])


def test_structure_mirroring_dict_subclasses():
    od = collections.OrderedDict([("b", dlarray(2.0)), ("a", dlarray(3.0))])
    dd = collections.defaultdict(list, {"w": dlarray(np.array([1.0, 2.0]))})

    def f(p, q):
        return dlgradient(p["a"] * p["b"] + (q["w"] ** 2).sum(), p, q)

    gp, gq = dlfeval(f, od, dd)
    assert isinstance(gp, collections.OrderedDict) and list(gp) == ["b", "a"]
    assert (float(gp["b"]), float(gp["a"])) == (3.0, 2.0)
    assert isinstance(gq, collections.defaultdict) and gq.default_factory is list
    np.testing.assert_array_equal(extractdata(gq["w"]), [2.0, 4.0])


def test_several_x_give_a_tuple_and_unreached_x_gets_zeros():
    def f(a, b, c):
        return dlgradient((a * b).sum(), a, [b], {"c": c})

    a = dlarray(np.array([1.0, 2.0]))
    b = dlarray(np.array([3.0, 4.0]))
    c = dlarray(np.ones((2, 3), np.float32), "CB")
    out = dlfeval(f, a, b, c)
    assert isinstance(out, tuple) and len(out) == 3
    np.testing.assert_array_equal(extractdata(out[0]), [3.0, 4.0])
    np.testing.assert_array_equal(extractdata(out[1][0]), [1.0, 2.0])
    gc = out[2]["c"]
    assert gc.shape == (2, 3) and gc.fmt == "CB" and gc.dtype == np.float32
    assert not np.any(extractdata(gc))


def test_gradient_has_input_format_dtype_and_shape():
    x = dlarray(RNG.standard_normal((4, 3, 2)).astype(np.float32), "SCB")
    g = dlfeval(lambda t: dlgradient(dl.sigmoid(t).sum(), t), x)
    assert g.fmt == "SCB" and g.dtype == np.float32 and g.shape == (4, 3, 2)


# ----- error cases ----------------------------------------------------------------------------------


def test_dlgradient_outside_dlfeval():
    x = dlarray(1.0)
    with pytest.raises(AutodiffError, match="dlfeval"):
        dlgradient(x * 2, x)
    assert issubclass(AutodiffError, RuntimeError)


def test_non_scalar_y():
    with pytest.raises(AutodiffError, match=r"scalar.*\[3\]|scalar.*\(3,\)"):
        dlfeval(lambda x: dlgradient(x * 2, x), dlarray(np.ones(3)))


def test_complex_y():
    with pytest.raises(AutodiffError, match="real"):
        dlfeval(lambda x: dlgradient((x * 1j).sum(), x), dlarray(np.ones(3)))


def test_x_not_traced():
    def f(x):
        other = dlarray(np.ones(3))  # created inside, never an input of dlfeval
        return dlgradient((x * other).sum(), other)

    with pytest.raises(AutodiffError, match="not traced"):
        dlfeval(f, dlarray(np.ones(3)))


def test_x_not_a_dlarray():
    with pytest.raises(AutodiffError, match="no dlarray"):
        dlfeval(lambda x: dlgradient(x.sum(), np.ones(3)), dlarray(np.ones(3)))
    with pytest.raises(AutodiffError, match="dlarray"):
        dlfeval(lambda x: dlgradient(3.0, x), dlarray(np.ones(3)))


def test_y_not_traced():
    with pytest.raises(AutodiffError, match="not traced"):
        dlfeval(lambda x: dlgradient(dlarray(1.0), x), dlarray(np.ones(3)))


def test_differentiating_a_first_order_gradient():
    def f(x):
        g = dlgradient((x**3).sum(), x)
        return dlgradient(g.sum(), x)

    with pytest.raises(AutodiffError, match="enable_higher_derivatives"):
        dlfeval(f, dlarray(np.ones(2)))


def test_second_dlgradient_over_a_freed_trace():
    def f(x, retain):
        y = (dl.sin(x) * x).sum()
        g1 = dlgradient(y, x, retain_data=retain)
        g2 = dlgradient(y, x)
        return g1, g2

    with pytest.raises(AutodiffError, match="retain_data"):
        dlfeval(f, dlarray(np.array([0.3, 0.7])), False)
    g1, g2 = dlfeval(f, dlarray(np.array([0.3, 0.7])), True)
    np.testing.assert_array_equal(extractdata(g1), extractdata(g2))
    x = np.array([0.3, 0.7])
    np.testing.assert_allclose(extractdata(g1), np.cos(x) * x + np.sin(x))


def test_error_inside_dlfeval_leaves_no_tracing_behind():
    with pytest.raises(ZeroDivisionError):
        dlfeval(lambda x: 1 / 0, dlarray(1.0))
    assert not (dlarray(1.0) * 2).traced
    with pytest.raises(AutodiffError):
        dlgradient(dlarray(1.0), dlarray(1.0))


# ----- dlfeval scopes ---------------------------------------------------------------------------------


def test_dlfeval_returns_untraced_outputs_and_passes_kwargs():
    def f(x, *, scale):
        y = x * scale
        return {"y": y, "list": [y, (y * 2,)], "text": "ok"}, y.traced

    out, was_traced = dlfeval(f, dlarray(np.ones(2)), scale=dlarray(3.0))
    assert was_traced
    assert not out["y"].traced and not out["list"][0].traced and not out["list"][1][0].traced
    assert out["text"] == "ok"
    np.testing.assert_array_equal(extractdata(out["list"][1][0]), [6.0, 6.0])


def test_no_tracing_outside_dlfeval():
    x = dlarray(np.ones(2))
    assert not x.traced and not (x * 2).traced


def test_nested_dlfeval():
    def inner(z):
        return dlgradient((z**2).sum(), z)

    def outer(x):
        gi = dlfeval(inner, x * 3)  # inner sees a fresh leaf
        assert not gi.traced
        y = (x**3).sum() + (gi * x).sum()  # outer tracing still active after the inner scope
        assert y.traced
        return dlgradient(y, x), gi

    g, gi = dlfeval(outer, dlarray(np.array([1.0, 2.0])))
    np.testing.assert_allclose(extractdata(gi), [6.0, 12.0])
    # d/dx [x^3 + gi*x] with gi constant = 3x^2 + gi
    np.testing.assert_allclose(extractdata(g), [3.0 + 6.0, 12.0 + 12.0])


def test_threads_run_dlfeval_concurrently():
    errors = []
    results = {}

    def worker(k):
        try:
            for i in range(200):
                x0 = np.array([0.1 * k + 0.001 * i, -0.5 + 0.002 * i])

                def f(x):
                    y = (dl.sin(x) * x * (k + 1)).sum()
                    return dlgradient(y, x, enable_higher_derivatives=(i % 2 == 0))

                g = dlfeval(f, dlarray(x0))
                expected = (np.cos(x0) * x0 + np.sin(x0)) * (k + 1)
                if not np.allclose(extractdata(g), expected, rtol=1e-12):
                    errors.append((k, i, extractdata(g), expected))
            results[k] = True
        except Exception as e:  # pragma: no cover - reported below
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert results == {0: True, 1: True}


def test_other_thread_is_not_traced_during_dlfeval():
    seen = {}
    started, done = threading.Event(), threading.Event()

    def other():
        started.wait()
        seen["traced"] = (dlarray(1.0) * 2).traced
        try:
            dlgradient(dlarray(1.0), dlarray(1.0))
        except AutodiffError:
            seen["error"] = True
        done.set()

    t = threading.Thread(target=other)
    t.start()

    def f(x):
        started.set()
        done.wait(10)
        return (x * 2).traced

    assert dlfeval(f, dlarray(1.0))
    t.join()
    assert seen == {"traced": False, "error": True}


# ----- higher order -------------------------------------------------------------------------------------


def test_third_derivative_of_sin():
    x0 = np.array([0.3, 1.1, -2.0])

    def f(x):
        g1 = dlgradient(dl.sin(x).sum(), x, enable_higher_derivatives=True)
        g2 = dlgradient(g1.sum(), x, enable_higher_derivatives=True)
        g3 = dlgradient(g2.sum(), x)
        return g1, g2, g3

    g1, g2, g3 = dlfeval(f, dlarray(x0))
    np.testing.assert_allclose(extractdata(g1), np.cos(x0), rtol=1e-14)
    np.testing.assert_allclose(extractdata(g2), -np.sin(x0), rtol=1e-14)
    np.testing.assert_allclose(extractdata(g3), -np.cos(x0), rtol=1e-14)


def test_fourth_derivative_of_exp_of_square():
    # d^4/dx^4 exp(x^2) = (16x^4 + 48x^2 + 12) exp(x^2)
    x0 = np.array([0.2, -0.7])

    def f(x):
        g = dl.exp(x * x).sum()
        for _ in range(3):
            g = dlgradient(g, x, enable_higher_derivatives=True).sum()
        return dlgradient(g, x)

    g4 = dlfeval(f, dlarray(x0))
    np.testing.assert_allclose(extractdata(g4), (16 * x0**4 + 48 * x0**2 + 12) * np.exp(x0**2), rtol=1e-12)


def test_gradient_penalty():
    # D(x; w) = sum(tanh(w x)); penalty P = sum((dD/dx)^2) = sum(w^2 (1 - t^2)^2), t = tanh(w x).
    x0 = RNG.standard_normal(4)
    w0 = np.array(0.8)

    def f(x, w):
        d = dl.tanh(w * x).sum()
        gx = dlgradient(d, x, enable_higher_derivatives=True)
        penalty = (gx**2).sum()
        return penalty, dlgradient(penalty, w)

    p, gw = dlfeval(f, dlarray(x0), dlarray(w0))
    t = np.tanh(w0 * x0)
    s = 1 - t**2
    np.testing.assert_allclose(float(p), np.sum(w0**2 * s**2), rtol=1e-13)
    expected = np.sum(2 * w0 * s**2 + w0**2 * 2 * s * (-2 * t * s * x0))
    np.testing.assert_allclose(float(gw), expected, rtol=1e-12)


def test_gradgradcheck_through_a_composite_model():
    W = RNG.standard_normal((3, 2))

    def model(x, w):
        return dl.sigmoid(w @ x).prod() + (dl.log1p(x * x) * w.sum()).sum()

    gradcheck(model, RNG.standard_normal((2, 2)), W)
    gradgradcheck(model, RNG.standard_normal((2, 2)), W)


# ----- dljacobian / dldivergence / dllaplacian ----------------------------------------------------------


def test_dljacobian_shape_and_values():
    x0 = RNG.standard_normal((3, 4))  # C = 3 channels, B = 4 observations

    def f(x):
        u = x**2  # u_i = x_i^2 per observation
        return dljacobian(u, x, 0)

    J = dlfeval(f, dlarray(x0))
    assert J.shape == (3, 3, 4)
    expected = np.zeros((3, 3, 4))
    for i in range(3):
        expected[i, i] = 2 * x0[i]
    np.testing.assert_allclose(extractdata(J), expected)


def test_dljacobian_matlab_shapes():
    # matlab-reference §2.4: u 5x128 (C, B), x 16x16x3x128 -> jac 5x16x16x3x128 (scaled down).
    x0 = RNG.standard_normal((4, 4, 3, 6))
    W = RNG.standard_normal((5, 48))

    def f(x):
        flat = stripdims(x).reshape(48, 6, order="F")
        u = dlarray(W) @ flat
        return dljacobian(u, x, 0)

    J = dlfeval(f, dlarray(x0, "SSCB"))
    assert J.shape == (5, 4, 4, 3, 6)
    np.testing.assert_allclose(extractdata(J)[..., 0], W.reshape(5, 4, 4, 3, order="F"))


def test_dldivergence():
    x0 = RNG.standard_normal((3, 4))

    def f(x):
        u = dl.sin(x) * x[0:1]  # u_i = sin(x_i) * x_0
        return dldivergence(u, x, 0)

    div = dlfeval(f, dlarray(x0))
    assert div.shape == (1, 4)
    expected = np.cos(x0).sum(axis=0) * x0[0] + np.sin(x0[0])
    np.testing.assert_allclose(extractdata(div)[0], expected, rtol=1e-13)


def test_dllaplacian_and_its_gradient():
    x0 = RNG.standard_normal((3, 4))

    def f(x, w):
        u = w * (x**3).sum(axis=0, keepdims=True)  # one channel, 4 observations
        lap = dllaplacian(u, x, 0)
        loss = (lap * lap).sum()
        return lap, dlgradient(loss, w)

    lap, gw = dlfeval(f, dlarray(x0), dlarray(0.5))
    assert lap.shape == (1, 4)
    np.testing.assert_allclose(extractdata(lap)[0], 0.5 * 6 * x0.sum(axis=0), rtol=1e-13)
    # loss = sum((6 w s)^2), s = sum_i x_i  ->  d/dw = 72 w sum(s^2)
    np.testing.assert_allclose(float(gw), 72 * 0.5 * np.sum(x0.sum(axis=0) ** 2), rtol=1e-12)


def test_derivative_helpers_with_format_letters():
    x0 = RNG.standard_normal((2, 5))

    def f(x):
        u = x * x
        return dljacobian(u, x, "C"), dldivergence(u, x, "C"), dllaplacian(u.sum(axis="C", keepdims=True), x, "C")

    J, div, lap = dlfeval(f, dlarray(x0, "CB"))
    assert J.shape == (2, 2, 5)
    np.testing.assert_allclose(extractdata(div)[0], 2 * x0.sum(axis=0))
    np.testing.assert_allclose(extractdata(lap)[0], np.full(5, 4.0))


def test_derivative_helper_errors():
    def f(x):
        return dllaplacian(x * 2, x, 0)

    with pytest.raises(dl.ShapeError):
        dlfeval(f, dlarray(np.ones((3, 2))))
    with pytest.raises(dl.FormatError):
        dlfeval(lambda x: dljacobian(x, x, 5), dlarray(np.ones((3, 2))))
    with pytest.raises(AutodiffError):
        dljacobian(dlarray(np.ones(2)), dlarray(np.ones(2)), 0)


def test_retain_data_keeps_trace_for_reuse():
    def f(x):
        y = (dl.exp(x) * x).sum()
        a = dlgradient(y, x, retain_data=True)
        b = dlgradient(y, x, retain_data=True)
        c = dlgradient(y, x)
        return a, b, c

    a, b, c = dlfeval(f, dlarray(np.array([0.1, 0.2])))
    np.testing.assert_array_equal(extractdata(a), extractdata(b))
    np.testing.assert_array_equal(extractdata(a), extractdata(c))


def test_math_sanity_of_erf_gradient():
    g = dlfeval(lambda x: dlgradient(dl.erf(x), x), dlarray(0.5))
    assert math.isclose(float(g), 2 / math.sqrt(math.pi) * math.exp(-0.25), rel_tol=1e-14)
