"""The functional optimizers: formulas against hand computation, containers, value semantics,
learn-rate factors, dtypes, L-BFGS convergence and errors."""

import collections
import math

import dlarray as dl
import numpy as np
import pytest
from dlarray import (
    OptionError,
    ShapeError,
    _core,
    adamupdate,
    dlarray,
    dlfeval,
    dlgradient,
    dlupdate,
    extractdata,
    lbfgsState,
    lbfgsupdate,
    rmspropupdate,
    sgdmupdate,
)

RNG = np.random.default_rng(0)


def npx(x):
    return np.asarray(extractdata(x)) if isinstance(x, dlarray) else np.asarray(x)


# ----- hand-computed references (float64 numpy) ---------------------------------------------


def adam_ref(p, g, m, v, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    p = p - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return p, m, v


def rmsprop_ref(p, g, s, lr=0.001, rho=0.9, eps=1e-8):
    s = rho * s + (1 - rho) * g * g
    return p - lr * g / (np.sqrt(s) + eps), s


def sgdm_ref(p, g, v, lr=0.01, mu=0.9):
    v = mu * v - lr * g
    return p + v, v


# ----- formulas ---------------------------------------------------------------------------


def test_adam_matlab_doc_example_first_step_is_learn_rate():
    x = RNG.random((3, 3, 4))
    params = dlarray(x)
    grad = dlarray(np.ones((3, 3, 4)))
    new, avg, avg_sq = adamupdate(params, grad, None, None, 1, 0.05, 0.75, 0.95)
    np.testing.assert_allclose(x - npx(new), 0.05, rtol=1e-6)
    np.testing.assert_allclose(npx(avg), 0.25, rtol=1e-12)
    np.testing.assert_allclose(npx(avg_sq), 0.05, rtol=1e-12)
    # MATLAB's numeric form: numpy in, numpy out.
    new_np, avg_np, _ = adamupdate(x, np.ones((3, 3, 4)), None, None, 1, 0.05, 0.75, 0.95)
    assert isinstance(new_np, np.ndarray) and isinstance(avg_np, np.ndarray)
    np.testing.assert_allclose(new_np, npx(new), rtol=0, atol=0)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_adam_several_steps_match_hand_computation(dtype, rtol):
    p0 = RNG.standard_normal((5, 7))
    grads = [RNG.standard_normal((5, 7)) for _ in range(4)]
    hp = dict(lr=0.01, b1=0.8, b2=0.99, eps=1e-6)
    p, m, v = dlarray(p0.astype(dtype)), None, None
    rp, rm, rv = p0.astype(dtype).astype(np.float64), np.zeros((5, 7)), np.zeros((5, 7))
    for t, g in enumerate(grads, start=1):
        g = g.astype(dtype)
        p, m, v = adamupdate(p, dlarray(g), m, v, t, 0.01, 0.8, 0.99, 1e-6)
        rp, rm, rv = adam_ref(rp, g.astype(np.float64), rm, rv, t, **hp)
        assert p.dtype == dtype and m.dtype == dtype and v.dtype == dtype
    np.testing.assert_allclose(npx(p), rp, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(npx(m), rm, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(npx(v), rv, rtol=rtol, atol=rtol)


def test_adam_defaults_and_none_hyperparameters():
    p0, g = RNG.standard_normal(6), RNG.standard_normal(6)
    a, _, _ = adamupdate(dlarray(p0), dlarray(g), None, None, 3)
    b, _, _ = adamupdate(dlarray(p0), dlarray(g), None, None, 3, None, None, None, None)
    ref, _, _ = adam_ref(p0, g, 0, 0, 3)
    np.testing.assert_allclose(npx(a), ref, rtol=1e-12)
    np.testing.assert_allclose(npx(b), ref, rtol=1e-12)
    c, _, _ = adamupdate(dlarray(p0), dlarray(g), None, None, 3, epsilon=1e-3)
    np.testing.assert_allclose(npx(c), adam_ref(p0, g, 0, 0, 3, eps=1e-3)[0], rtol=1e-12)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_rmsprop_several_steps(dtype, rtol):
    p0 = RNG.standard_normal((4, 3))
    p, s = dlarray(p0.astype(dtype)), None
    rp, rs = p0.astype(dtype).astype(np.float64), np.zeros((4, 3))
    for _ in range(3):
        g = RNG.standard_normal((4, 3)).astype(dtype)
        p, s = rmspropupdate(p, dlarray(g), s, 0.02, 0.8, 1e-7)
        rp, rs = rmsprop_ref(rp, g.astype(np.float64), rs, 0.02, 0.8, 1e-7)
    np.testing.assert_allclose(npx(p), rp, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(npx(s), rs, rtol=rtol, atol=rtol)
    # defaults 0.001, 0.9, 1e-8
    g = RNG.standard_normal((4, 3))
    q, _ = rmspropupdate(dlarray(p0), dlarray(g), None)
    np.testing.assert_allclose(npx(q), rmsprop_ref(p0, g, 0)[0], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgdm_velocity_form_with_changing_learn_rate(dtype):
    p0 = RNG.standard_normal(10)
    p, vel = dlarray(p0.astype(dtype)), None
    rp, rv = p0.astype(dtype).astype(np.float64), np.zeros(10)
    for it in range(1, 5):
        lr = 0.01 / (1 + 0.01 * it)
        g = RNG.standard_normal(10).astype(dtype)
        p, vel = sgdmupdate(p, dlarray(g), vel, lr, 0.9)
        rp, rv = sgdm_ref(rp, g.astype(np.float64), rv, lr, 0.9)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(npx(p), rp, rtol=tol, atol=tol)
    np.testing.assert_allclose(npx(vel), rv, rtol=tol, atol=tol)
    # First step from [] is v = -lr*g, with defaults lr 0.01 and momentum 0.9.
    g = RNG.standard_normal(10)
    q, v = sgdmupdate(dlarray(p0), dlarray(g), None)
    np.testing.assert_allclose(npx(v), -0.01 * g, rtol=1e-14)
    np.testing.assert_allclose(npx(q), p0 - 0.01 * g, rtol=1e-14)


def test_empty_list_initial_state_is_matlabs_empty():
    # MATLAB code starts with trailingAvg = []; the same line in Python gives [].
    params = {"fc": {"Weights": dlarray(np.ones((2, 3))), "Bias": dlarray(np.zeros((2, 1)))}}
    grads = {"fc": {"Weights": dlarray(np.full((2, 3), 0.5)), "Bias": dlarray(np.ones((2, 1)))}}
    a = adamupdate(params, grads, None, None, 1)
    b = adamupdate(params, grads, [], [], 1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(npx(x["fc"]["Weights"]), npx(y["fc"]["Weights"]))
        np.testing.assert_array_equal(npx(x["fc"]["Bias"]), npx(y["fc"]["Bias"]))
    _, vel = sgdmupdate(params, grads, [])
    np.testing.assert_allclose(npx(vel["fc"]["Bias"]), -0.01 * np.ones((2, 1)))
    _, s = rmspropupdate([dlarray(np.ones(3))], [dlarray(np.ones(3))], ())
    assert isinstance(s, list) and npx(s[0]).shape == (3,)
    # A non-empty state must still match the parameters.
    with pytest.raises(ShapeError, match="averageGrad"):
        adamupdate(params, grads, [dlarray(np.ones(3))], None, 1)


def test_large_parameter_sets_use_the_same_formula():
    # Big enough to be chunked and run in parallel, with small tensors in the same call.
    shapes = [(300, 400), (400,), (3,), (70000,)]
    ps = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    gs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    new, m, v = adamupdate([dlarray(p) for p in ps], [dlarray(g) for g in gs], None, None, 1, 0.1)
    for p, g, n in zip(ps, gs, new):
        ref, _, _ = adam_ref(p.astype(np.float64), g.astype(np.float64), 0, 0, 1, lr=0.1)
        np.testing.assert_allclose(npx(n), ref, rtol=2e-6, atol=2e-6)


# ----- containers and value semantics --------------------------------------------------------


def test_inputs_are_never_modified():
    x = RNG.standard_normal((4, 5))
    x_copy = x.copy()
    params = {"w": dlarray(x), "b": dlarray(np.zeros(5))}
    grads = {"w": dlarray(np.ones((4, 5))), "b": dlarray(np.ones(5))}
    m0 = {"w": dlarray(np.full((4, 5), 0.5)), "b": dlarray(np.full(5, 0.5))}
    v0 = {"w": dlarray(np.full((4, 5), 0.25)), "b": dlarray(np.full(5, 0.25))}
    before = {k: (npx(params[k]), npx(grads[k]), npx(m0[k]), npx(v0[k])) for k in params}
    new, m, v = adamupdate(params, grads, m0, v0, 2, 0.1)
    for k in params:
        np.testing.assert_array_equal(npx(params[k]), before[k][0])
        np.testing.assert_array_equal(npx(grads[k]), before[k][1])
        np.testing.assert_array_equal(npx(m0[k]), before[k][2])
        np.testing.assert_array_equal(npx(v0[k]), before[k][3])
        assert new[k] is not params[k] and m[k] is not m0[k]
    np.testing.assert_array_equal(x, x_copy)  # the numpy array params were created from
    assert not np.allclose(npx(new["w"]), x)
    # Assigning into a result does not reach the input either.
    new["w"][0, 0] = 123.0
    np.testing.assert_array_equal(npx(params["w"]), before["w"][0])
    # Numpy parameters: the caller's array is untouched.
    xn = RNG.standard_normal(3)
    xn_copy = xn.copy()
    out, _ = sgdmupdate(xn, np.ones(3), None, 0.5)
    np.testing.assert_array_equal(xn, xn_copy)
    np.testing.assert_allclose(out, xn_copy - 0.5)


def test_nested_containers_keep_their_structure():
    Pair = collections.namedtuple("Pair", "a b")
    params = {"enc": [dlarray(np.ones(2)), (dlarray(np.ones(3)), "tag")], "dec": Pair(dlarray(np.ones(1)), 7)}
    grads = {"dec": Pair(dlarray(np.full(1, 2.0)), 7), "enc": [dlarray(np.full(2, 2.0)), (dlarray(np.full(3, 2.0)), "tag")]}
    new, vel = sgdmupdate(params, grads, None, 0.5, 0.0)
    assert list(new) == ["enc", "dec"] and isinstance(new["dec"], Pair) and new["dec"].b == 7
    assert isinstance(new["enc"][1], tuple) and new["enc"][1][1] == "tag"
    np.testing.assert_allclose(npx(new["enc"][0]), 0.0)
    np.testing.assert_allclose(npx(new["enc"][1][0]), 0.0)
    np.testing.assert_allclose(npx(new["dec"].a), 0.0)
    np.testing.assert_allclose(npx(vel["dec"].a), -1.0)
    # The state comes back with the same structure and feeds the next call.
    new2, vel2 = sgdmupdate(new, grads, vel, 0.5, 1.0)
    np.testing.assert_allclose(npx(vel2["enc"][0]), -2.0)
    np.testing.assert_allclose(npx(new2["enc"][0]), -2.0)


def test_list_and_tuple_parameters_and_formats_kept():
    ps = (dlarray(np.ones((3, 2)), "CB"), dlarray(np.ones(4)))
    gs = [dlarray(np.ones((3, 2)), "CB"), dlarray(np.ones(4))]
    new, s = rmspropupdate(ps, gs, None)
    assert isinstance(new, tuple) and new[0].fmt == "CB" and s[0].fmt == "CB" and new[1].fmt == ""


def test_dict_state_matched_by_key_not_order():
    params = {"a": dlarray(np.zeros(2)), "b": dlarray(np.zeros(2))}
    grads = {"b": dlarray(np.full(2, 2.0)), "a": dlarray(np.ones(2))}
    new, vel = sgdmupdate(params, grads, None, 1.0, 0.0)
    np.testing.assert_allclose(npx(new["a"]), -1.0)
    np.testing.assert_allclose(npx(new["b"]), -2.0)


def test_dlupdate_single_and_several_outputs():
    params = {"w": dlarray(np.full(3, 2.0)), "b": [dlarray(np.ones(2))]}
    halved = dlupdate(lambda p: p * 0.5, params)
    np.testing.assert_allclose(npx(halved["w"]), 1.0)
    np.testing.assert_allclose(npx(halved["b"][0]), 0.5)
    np.testing.assert_allclose(npx(params["w"]), 2.0)  # unchanged

    grads = {"w": dlarray(np.ones(3)), "b": [dlarray(np.full(2, 3.0))]}

    def sgd_with_momentum(p, g, v):
        v = -0.1 * g if v is None else 0.9 * v - 0.1 * g
        return p + v, v

    new, vel = dlupdate(sgd_with_momentum, params, grads, None)
    np.testing.assert_allclose(npx(new["w"]), 1.9)
    np.testing.assert_allclose(npx(vel["b"][0]), -0.3)
    new2, vel2 = dlupdate(sgd_with_momentum, new, grads, vel)
    np.testing.assert_allclose(npx(vel2["w"]), 0.9 * -0.1 - 0.1)
    # Three outputs; numpy leaves are passed through as they are.
    out = dlupdate(lambda p: (p + 1, p * 2, p - 1), {"x": np.ones(2)})
    assert isinstance(out, tuple) and len(out) == 3
    np.testing.assert_allclose(out[2]["x"], 0.0)


def test_dlupdate_errors():
    with pytest.raises(ShapeError, match="dlupdate"):
        dlupdate(lambda p, g: p - g, {"w": dlarray(np.ones(2))}, {"v": dlarray(np.ones(2))})
    with pytest.raises(dl.OptionError, match="dlupdate"):
        dlupdate("not a function", dlarray(np.ones(2)))
    calls = iter([(1, 2), 3])
    with pytest.raises(ShapeError, match="dlupdate"):
        dlupdate(lambda p: next(calls), [dlarray(np.ones(1)), dlarray(np.ones(1))])


# ----- objects with __dlarray_tree__ and learn-rate factors -------------------------------------


class FakeNet:
    """A stand-in for a dlnetwork: exposes its parameters and learn-rate factors."""

    def __init__(self, values, factors):
        self.values, self.factors = list(values), list(factors)

    def __dlarray_tree__(self):
        return list(self.values), lambda children: FakeNet(children, self.factors)

    def _learn_rate_factors(self):
        return list(self.factors)


class FakeTable:
    def __init__(self, values):
        self.values = list(values)

    def __dlarray_tree__(self):
        return list(self.values), lambda children: FakeTable(children)


def test_learn_rate_factors_scale_and_freeze():
    x = [np.ones(3), np.ones(2), np.ones(4)]
    net = FakeNet([dlarray(v) for v in x], [1.0, 2.0, 0.0])
    grads = FakeTable([dlarray(np.ones(3)), dlarray(np.ones(2)), dlarray(np.ones(4))])
    new, vel = sgdmupdate(net, grads, None, 0.1, 0.9)
    assert isinstance(new, FakeNet) and isinstance(vel, FakeTable)  # state shaped like the gradients
    np.testing.assert_allclose(npx(new.values[0]), 0.9)
    np.testing.assert_allclose(npx(new.values[1]), 0.8)
    np.testing.assert_allclose(npx(new.values[2]), 1.0)  # factor 0: frozen
    np.testing.assert_allclose(npx(vel.values[2]), 0.0)
    new2, m, v = adamupdate(net, grads, None, None, 1, 0.01)
    np.testing.assert_allclose(1 - npx(new2.values[1]), 0.02, rtol=1e-6)
    np.testing.assert_allclose(npx(new2.values[2]), 1.0)
    np.testing.assert_allclose(npx(m.values[2]), 0.0)
    # A frozen parameter keeps the state it was given.
    m_in = FakeTable([dlarray(np.full(3, 0.5)), dlarray(np.full(2, 0.5)), dlarray(np.full(4, 0.5))])
    _, m2, _ = adamupdate(net, grads, m_in, None, 2, 0.01)
    np.testing.assert_allclose(npx(m2.values[2]), 0.5)
    np.testing.assert_allclose(npx(m2.values[0]), 0.9 * 0.5 + 0.1)


def test_wrong_number_of_factors_is_an_error():
    net = FakeNet([dlarray(np.ones(2))], [1.0, 1.0])
    with pytest.raises(ShapeError, match="sgdmupdate"):
        sgdmupdate(net, FakeTable([dlarray(np.ones(2))]), None)


# ----- buffer recycling -----------------------------------------------------------------------


def test_dropped_state_buffers_are_recycled():
    _core._optim_pool_clear()
    p = {"w": dlarray(np.zeros((64, 64), np.float32)), "b": dlarray(np.zeros(64, np.float32))}
    g = {"w": dlarray(np.ones((64, 64), np.float32)), "b": dlarray(np.ones(64, np.float32))}
    m = v = None
    for t in range(1, 6):
        p, m, v = adamupdate(p, g, m, v, t)
    parked, idle, idle_bytes, hits, misses = _core._optim_pool_stats()
    assert hits >= 6 * 3  # steady state: every output of the later steps came from the pool
    assert idle >= 1 and idle_bytes > 0
    ref = np.zeros((64, 64))
    rm = rv = 0
    for t in range(1, 6):
        ref, rm, rv = adam_ref(ref, np.ones((64, 64)), rm, rv, t)
    np.testing.assert_allclose(npx(p["w"]), ref, rtol=1e-5)
    _core._optim_pool_clear()
    assert _core._optim_pool_stats()[0] == 0


# ----- errors -------------------------------------------------------------------------------


def test_shape_and_structure_errors_name_the_optimizer():
    p = {"w": dlarray(np.ones((2, 3)))}
    with pytest.raises(ShapeError, match=r"adamupdate.*\['w'\].*\(3, 2\)"):
        adamupdate(p, {"w": dlarray(np.ones((3, 2)))}, None, None, 1)
    with pytest.raises(ShapeError, match="sgdmupdate.*missing"):
        sgdmupdate(p, {"x": dlarray(np.ones((2, 3)))}, None)
    with pytest.raises(ShapeError, match="rmspropupdate.*averageSqGrad"):
        rmspropupdate(p, {"w": dlarray(np.ones((2, 3)))}, {"w": dlarray(np.ones(6))})
    with pytest.raises(ShapeError, match="sgdmupdate"):
        sgdmupdate([dlarray(np.ones(2))], [dlarray(np.ones(2)), dlarray(np.ones(2))], None)
    with pytest.raises(ShapeError, match="adamupdate"):
        adamupdate(dlarray(np.ones(2)), None, None, None, 1)
    with pytest.raises(ShapeError, match="sgdmupdate"):
        sgdmupdate({"w": dlarray(np.ones(2))}, {"w": [dlarray(np.ones(2))]}, None)


def test_option_errors():
    p, g = dlarray(np.ones(2)), dlarray(np.ones(2))
    with pytest.raises(OptionError, match="adamupdate.*iteration"):
        adamupdate(p, g, None, None, 0)
    with pytest.raises(OptionError, match="adamupdate.*gradDecay"):
        adamupdate(p, g, None, None, 1, 0.001, 1.0)
    with pytest.raises(OptionError, match="sgdmupdate.*momentum"):
        sgdmupdate(p, g, None, 0.01, 1.5)
    with pytest.raises(OptionError, match="rmspropupdate.*epsilon"):
        rmspropupdate(p, g, None, 0.01, 0.9, 0.0)
    with pytest.raises(OptionError, match="sgdmupdate.*learn"):
        sgdmupdate(p, g, None, -0.1)
    with pytest.raises(OptionError, match="sgdmupdate.*learnRate"):
        sgdmupdate(p, g, None, "fast")
    with pytest.raises(dl.DTypeError, match="sgdmupdate"):
        sgdmupdate(dlarray(np.ones(2) + 1j), g, None)


# ----- L-BFGS ---------------------------------------------------------------------------------


def _rosenbrock_loss(x):
    a, b = x["a"], x["b"]
    loss = (1 - a) ** 2 + 100 * (b - a**2) ** 2
    return loss.sum(), dlgradient(loss.sum(), x)


@pytest.mark.parametrize("method", ["weak-wolfe", "strong-wolfe"])
def test_lbfgs_minimises_rosenbrock(method):
    params = {"a": dlarray(np.array([-1.2])), "b": dlarray(np.array([1.0]))}
    loss_fcn = lambda p: dlfeval(_rosenbrock_loss, p)  # noqa: E731
    state = lbfgsState()
    for _ in range(60):
        params, state = lbfgsupdate(params, loss_fcn, state, line_search_method=method)
        if state.gradients_norm < 1e-8:
            break
    np.testing.assert_allclose(npx(params["a"]), 1.0, atol=1e-6)
    np.testing.assert_allclose(npx(params["b"]), 1.0, atol=1e-6)
    assert state.iteration < 60
    assert state.line_search_status == "completed"
    assert 0 < len(state.step_history) <= 10 and len(state.history_indices) == len(state.step_history)
    assert float(state.loss) < 1e-12


def test_lbfgs_quadratic_converges_fast_and_state_is_a_value():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((8, 8))
    A = q @ q.T + 8 * np.eye(8)
    bvec = rng.standard_normal(8)
    x_star = np.linalg.solve(A, bvec)
    A_d, b_d = dlarray(A), dlarray(bvec)

    def loss(x):
        y = 0.5 * (x * (A_d @ x)).sum() - (b_d * x).sum()
        return y, dlgradient(y, x), y * 2

    x = dlarray(np.zeros(8))
    s0 = lbfgsState(history_size=5)
    state = s0
    calls = {"n": 0}

    def loss_fcn(p):
        calls["n"] += 1
        return dlfeval(loss, p)

    # MATLAB's loop: stop on a small gradient norm.
    for _ in range(30):
        x, state = lbfgsupdate(x, loss_fcn, state, num_loss_function_outputs=3)
        if state.gradients_norm < 1e-8:
            break
    assert state.gradients_norm < 1e-8 and state.iteration <= 20
    # For a quadratic, |x - x*| <= |g| / smallest eigenvalue of A.
    assert np.linalg.norm(npx(x) - x_star) <= state.gradients_norm / np.linalg.eigvalsh(A)[0]
    assert np.linalg.norm(npx(x) - x_star) < 2e-9
    # One evaluation at the start, then only line-search evaluations (the stored loss and
    # gradients are reused between calls).
    assert calls["n"] <= 1 + 3 * state.iteration
    assert s0.iteration == 0 and s0.loss is None and s0.line_search_status == ""  # unchanged
    assert state.history_size == 5 and len(state.step_history) <= 5
    assert len(state.additional_loss_function_outputs) == 1
    np.testing.assert_allclose(float(state.additional_loss_function_outputs[0]), 2 * float(state.loss))


def test_lbfgs_backtracking_and_defaults():
    x = dlarray(np.array([3.0, -2.0]))

    def loss(x):
        y = (x**2).sum()
        return y, dlgradient(y, x)

    x1, st = lbfgsupdate(x, lambda p: dlfeval(loss, p), None, line_search_method="backtracking")
    assert st.history_size == 10 and st.initial_inverse_hessian_factor == 1.0
    assert st.line_search_method == "backtracking" and st.max_num_line_search_iterations == 20
    # steepest descent with step 1 overshoots to -x; backtracking halves to 0.5: the minimum
    np.testing.assert_allclose(npx(x1), 0.0, atol=1e-12)
    np.testing.assert_array_equal(npx(x), [3.0, -2.0])


def test_lbfgs_errors():
    x = dlarray(np.ones(2))
    good = lambda p: dlfeval(lambda q: ((q**2).sum(), dlgradient((q**2).sum(), q)), p)  # noqa: E731
    with pytest.raises(OptionError, match="lbfgsupdate"):
        lbfgsupdate(x, good, None, line_search_method="exact")
    with pytest.raises(OptionError, match="lbfgsupdate"):
        lbfgsupdate(x, lambda p: (p**2).sum(), None)
    with pytest.raises(ShapeError, match="lbfgsupdate"):
        lbfgsupdate(x, lambda p: ((p**2).sum(), dlarray(np.ones(3))), None)
    with pytest.raises(OptionError, match="lbfgsState"):
        lbfgsState(history_size=0)
    with pytest.raises(OptionError, match="lbfgsState"):
        lbfgsState(initial_inverse_hessian_factor=-1)
    with pytest.raises(AttributeError):
        lbfgsState().history_size = 3


# ----- dlnetwork ------------------------------------------------------------------------------


def test_dlnetwork_updates_with_learn_rate_factors():
    net = dl.dlnetwork([dl.featureInputLayer(4), dl.fullyConnectedLayer(3, name="fc")])
    X = dlarray(RNG.standard_normal((4, 5)).astype(np.float32), "CB")

    def model_loss(net, X):
        Y = net.forward(X)
        loss = (Y * Y).sum()
        return loss, dlgradient(loss, net.learnables)

    _, grads = dlfeval(model_loss, net, X)
    W0, b0 = npx(net.learnables["fc", "Weights"]), npx(net.learnables["fc", "Bias"])
    gW, gb = npx(grads["fc", "Weights"]), npx(grads["fc", "Bias"])
    new, vel = sgdmupdate(net, grads, None, 0.1, 0.9)
    assert isinstance(new, dl.dlnetwork) and type(vel) is type(grads)
    np.testing.assert_allclose(npx(new.learnables["fc", "Weights"]), W0 - 0.1 * gW, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(npx(vel["fc", "Bias"]), -0.1 * gb, rtol=1e-6)
    np.testing.assert_array_equal(npx(net.learnables["fc", "Weights"]), W0)  # input network unchanged
    # The state table feeds the next call.
    new2, vel2 = sgdmupdate(new, grads, vel, 0.1, 0.9)
    np.testing.assert_allclose(npx(vel2["fc", "Bias"]), -0.19 * gb, rtol=1e-6)
    # Learn-rate factors: 2 scales the step, 0 freezes the parameter and its state.
    net.set_learn_rate_factor("fc", "Weights", 2.0)
    net.set_learn_rate_factor("fc", "Bias", 0.0)
    new3, m, v = adamupdate(net, grads, None, None, 1, 0.01)
    step = W0 - npx(new3.learnables["fc", "Weights"])
    np.testing.assert_allclose(step, 0.02 * np.sign(gW), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(npx(new3.learnables["fc", "Bias"]), b0)
    np.testing.assert_array_equal(npx(m["fc", "Bias"]), 0.0)
    # dlupdate on a network: several outputs, the extra ones shaped like the learnables.
    halved, doubled = dlupdate(lambda p: (p * 0.5, p * 2), net)
    assert isinstance(halved, dl.dlnetwork) and type(doubled) is type(net.learnables)
    np.testing.assert_allclose(npx(doubled["fc", "Weights"]), 2 * W0, rtol=1e-6)
