"""lstm and gru: values against numpy loops written here in MATLAB's gate order, every
activation option and reset-gate mode, formats, errors, and first- and second-order gradients
through the recurrence."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import FormatError, OptionError, ShapeError, dlarray, dlfeval, dlgradient, extractdata, gru, lstm
from gradcheck import gradcheck, gradgradcheck

STATE = ["tanh", "softsign", "relu"]
GATE = ["sigmoid", "hard-sigmoid"]
MODES = ["after-multiplication", "before-multiplication", "recurrent-bias-after-multiplication"]


def act(name, x):
    return {
        "tanh": np.tanh,
        "softsign": lambda v: v / (1 + np.abs(v)),
        "relu": lambda v: np.maximum(v, 0),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "hard-sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
    }[name](x)


def np_lstm(X, h0, c0, W, R, b, sa="tanh", ga="sigmoid"):
    """MATLAB's LSTM, gates i, f, g, o stacked in rows; X (C, B, T)."""
    H = R.shape[1]
    h, c = h0.copy(), c0.copy()
    Y = np.zeros((H, X.shape[1], X.shape[2]))
    for t in range(X.shape[2]):
        z = W @ X[:, :, t] + R @ h + b[:, None]
        i, f, g, o = act(ga, z[:H]), act(ga, z[H : 2 * H]), act(sa, z[2 * H : 3 * H]), act(ga, z[3 * H :])
        c = f * c + i * g
        h = o * act(sa, c)
        Y[:, :, t] = h
    return Y, h, c


def np_gru(X, h0, W, R, b, mode="after-multiplication", sa="tanh", ga="sigmoid"):
    """MATLAB's GRU, gates r, z, h~ stacked in rows; X (C, B, T)."""
    H = R.shape[1]
    h = h0.copy()
    bw = b[: 3 * H]
    br = b[3 * H :] if mode == "recurrent-bias-after-multiplication" else np.zeros(3 * H)
    Y = np.zeros((H, X.shape[1], X.shape[2]))
    for t in range(X.shape[2]):
        xw = W @ X[:, :, t] + bw[:, None]
        rh = R @ h + br[:, None]
        r = act(ga, xw[:H] + rh[:H])
        z = act(ga, xw[H : 2 * H] + rh[H : 2 * H])
        if mode == "before-multiplication":
            n = act(sa, xw[2 * H :] + R[2 * H :] @ (r * h))
        else:
            n = act(sa, xw[2 * H :] + r * rh[2 * H :])
        h = (1 - z) * n + z * h
        Y[:, :, t] = h
    return Y, h


def params(C, H, B, T, gates, bias_rows=None, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    bias_rows = bias_rows or gates
    return dict(
        X=rng.standard_normal((C, B, T)) * scale * 2,
        h0=rng.standard_normal((H, B)) * scale,
        c0=rng.standard_normal((H, B)) * scale,
        W=rng.standard_normal((gates * H, C)) * scale,
        R=rng.standard_normal((gates * H, H)) * scale,
        b=rng.standard_normal(bias_rows * H) * scale,
    )


# ----- values ------------------------------------------------------------------------------


@pytest.mark.parametrize("sa", STATE)
@pytest.mark.parametrize("ga", GATE)
def test_lstm_values(sa, ga):
    p = params(3, 4, 2, 5, 4)
    Y, h, c = lstm(
        dlarray(p["X"], "CBT"), p["h0"], p["c0"], p["W"], p["R"], p["b"], state_activation_function=sa, gate_activation_function=ga
    )
    rY, rh, rc = np_lstm(p["X"], p["h0"], p["c0"], p["W"], p["R"], p["b"], sa, ga)
    assert (Y.fmt, h.fmt, c.fmt) == ("CBT", "CB", "CB")
    np.testing.assert_allclose(extractdata(Y), rY, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(extractdata(h), rh, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(extractdata(c), rc, rtol=1e-12, atol=1e-12)


def test_lstm_large_step_split_over_threads():
    """H=128, B=32: large enough that each step's product and the backward's recurrent
    product run as two halves of the units on two threads. Values against the numpy loop;
    the fused first-order gradients against the differentiable composite's (the path taken
    with higher derivatives on), two independent implementations."""
    p = params(16, 128, 32, 4, 4, scale=0.2)
    X = dlarray(p["X"], "CBT")
    Y, h, c = lstm(X, p["h0"], p["c0"], p["W"], p["R"], p["b"])
    rY, rh, rc = np_lstm(p["X"], p["h0"], p["c0"], p["W"], p["R"], p["b"])
    for got, ref in ((Y, rY), (h, rh), (c, rc)):
        np.testing.assert_allclose(extractdata(got), ref, rtol=1e-11, atol=1e-12)

    weights = [dlarray(p[k]) for k in ("W", "R", "b")]

    def grads(higher):
        def f(X, W, R, b):
            Y, h, c = lstm(X, p["h0"], p["c0"], W, R, b)
            loss = (Y * Y).sum() + (h * c).sum()
            return dlgradient(loss, [X, W, R, b], enable_higher_derivatives=higher)

        return [extractdata(g) for g in dlfeval(f, X, *weights)]

    for fused, composite in zip(grads(False), grads(True)):
        np.testing.assert_allclose(fused, composite, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sa,ga", [("tanh", "sigmoid"), ("softsign", "hard-sigmoid"), ("relu", "sigmoid")])
def test_gru_values(mode, sa, ga):
    p = params(3, 4, 2, 5, 3, 6 if mode.startswith("recurrent") else 3)
    Y, h = gru(
        dlarray(p["X"], "CBT"),
        p["h0"],
        p["W"],
        p["R"],
        p["b"],
        reset_gate_mode=mode,
        state_activation_function=sa,
        gate_activation_function=ga,
    )
    rY, rh = np_gru(p["X"], p["h0"], p["W"], p["R"], p["b"], mode, sa, ga)
    assert (Y.fmt, h.fmt) == ("CBT", "CB")
    np.testing.assert_allclose(extractdata(Y), rY, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(extractdata(h), rh, rtol=1e-12, atol=1e-12)


def test_gru_default_mode_is_after_multiplication():
    p = params(2, 3, 2, 4, 3)
    Y, _ = gru(dlarray(p["X"], "CBT"), p["h0"], p["W"], p["R"], p["b"])
    np.testing.assert_allclose(extractdata(Y), np_gru(p["X"], p["h0"], p["W"], p["R"], p["b"])[0], rtol=1e-12)
    other = np_gru(p["X"], p["h0"], p["W"], p["R"], p["b"], "before-multiplication")[0]
    assert not np.allclose(extractdata(Y), other)


def test_float32_stays_float32_and_matches():
    p = params(16, 32, 4, 7, 4)
    f = {k: v.astype(np.float32) for k, v in p.items()}
    Y, h, c = lstm(dlarray(f["X"], "CBT"), f["h0"], f["c0"], f["W"], f["R"], f["b"])
    assert Y.dtype == np.float32 and h.dtype == np.float32
    np.testing.assert_allclose(extractdata(Y), np_lstm(*[p[k] for k in ("X", "h0", "c0", "W", "R", "b")])[0], rtol=1e-4, atol=1e-5)


# ----- formats and parameter shapes ------------------------------------------------------------


def test_formats_cb_ct_and_permuted_input():
    p = params(3, 2, 4, 5, 4)
    ref = np_lstm(p["X"], p["h0"], p["c0"], p["W"], p["R"], p["b"])[0]
    # "CB": one time step
    Y, h, c = lstm(dlarray(p["X"][:, :, 0], "CB"), p["h0"], p["c0"], p["W"], p["R"], p["b"])
    assert Y.fmt == "CB" and Y.shape == (2, 4)
    np.testing.assert_allclose(extractdata(Y), np_lstm(p["X"][:, :, :1], p["h0"], p["c0"], p["W"], p["R"], p["b"])[0][:, :, 0], rtol=1e-12)
    # "CT": one observation, states given as (H,)
    Y, h, c = lstm(dlarray(p["X"][:, 1, :], "CT"), p["h0"][:, 1], p["c0"][:, 1], p["W"], p["R"], p["b"])
    assert Y.fmt == "CT" and Y.shape == (2, 5) and h.fmt == "CB" and h.shape == (2, 1)
    np.testing.assert_allclose(extractdata(Y), ref[:, 1, :], rtol=1e-12)
    # "TBC" data is permuted into "CBT" by dlarray itself
    Y, _, _ = lstm(dlarray(p["X"].transpose(2, 1, 0), "TBC"), p["h0"], p["c0"], p["W"], p["R"], p["b"])
    assert Y.fmt == "CBT"
    np.testing.assert_allclose(extractdata(Y), ref, rtol=1e-12)


def test_unformatted_with_data_format_keeps_layout():
    p = params(3, 2, 4, 5, 4)
    ref, rh, _ = np_lstm(p["X"], p["h0"], p["c0"], p["W"], p["R"], p["b"])
    Y, h, c = lstm(dlarray(p["X"].transpose(2, 0, 1)), p["h0"], p["c0"], p["W"], p["R"], p["b"], data_format="TCB")
    assert Y.fmt == "" and Y.shape == (5, 2, 4) and h.fmt == "" and h.shape == (2, 4)
    np.testing.assert_allclose(extractdata(Y), ref.transpose(2, 0, 1), rtol=1e-12)
    np.testing.assert_allclose(extractdata(h), rh, rtol=1e-12)


def test_state_and_bias_shapes():
    p = params(2, 3, 4, 3, 4)
    h0 = np.tile(p["h0"][:, :1], (1, 4))
    ref = np_lstm(p["X"], h0, h0, p["W"], p["R"], p["b"])[0]
    for s in (p["h0"][:, 0], p["h0"][:, :1], dlarray(p["h0"][:, :1], "CB")):
        Y, _, _ = lstm(dlarray(p["X"], "CBT"), s, s, p["W"], p["R"], p["b"].reshape(-1, 1))
        np.testing.assert_allclose(extractdata(Y), ref, rtol=1e-12)


def test_errors():
    p = params(2, 3, 2, 3, 4)
    X = dlarray(p["X"], "CBT")
    args = [p["h0"], p["c0"], p["W"], p["R"], p["b"]]
    with pytest.raises(ShapeError, match=r"lstm: weights .*\(12, 2\).*\(12, 3\)"):
        lstm(X, p["h0"], p["c0"], np.zeros((12, 3)), p["R"], p["b"])
    with pytest.raises(ShapeError, match=r"lstm: recurrent_weights"):
        lstm(X, p["h0"], p["c0"], p["W"], np.zeros((12, 4)), p["b"])
    with pytest.raises(ShapeError, match=r"lstm: bias"):
        lstm(X, p["h0"], p["c0"], p["W"], p["R"], np.zeros(9))
    with pytest.raises(ShapeError, match=r"lstm: H0 .*\(3, 2\)"):
        lstm(X, np.zeros((3, 5)), p["c0"], p["W"], p["R"], p["b"])
    with pytest.raises(FormatError, match="lstm.*'C'"):
        lstm(dlarray(p["X"][0], "BT"), *args)
    with pytest.raises(FormatError, match="lstm"):
        lstm(dlarray(p["X"]), *args)
    with pytest.raises(FormatError, match="lstm.*'S'"):
        lstm(dlarray(p["X"][..., None], "CBTS"), *args)
    with pytest.raises(OptionError, match="lstm: state_activation_function"):
        lstm(X, *args, state_activation_function="sigmoid")
    with pytest.raises(OptionError, match="lstm: gate_activation_function"):
        lstm(X, *args, gate_activation_function="tanh")
    g = params(2, 3, 2, 3, 3)
    with pytest.raises(OptionError, match="gru: reset_gate_mode"):
        gru(X, g["h0"], g["W"], g["R"], g["b"], reset_gate_mode="after")
    with pytest.raises(ShapeError, match=r"gru: bias .*\(18,\)"):
        gru(X, g["h0"], g["W"], g["R"], g["b"], reset_gate_mode="recurrent-bias-after-multiplication")
    with pytest.raises(ShapeError, match=r"gru: weights"):
        gru(X, g["h0"], p["W"], g["R"], g["b"])
    assert issubclass(ShapeError, ValueError) and issubclass(FormatError, ValueError)


# ----- gradients ---------------------------------------------------------------------------------

SMALL = dict(C=2, H=3, B=2, T=3)


def lstm_fn(sa, ga):
    def f(X, h0, c0, W, R, b):
        Y, h, c = lstm(dlarray(X, "CBT"), h0, c0, W, R, b, state_activation_function=sa, gate_activation_function=ga)
        # every output contributes, with different weights
        return dl.concatenate([dl.stripdims(Y).reshape((-1,)), dl.stripdims(h).reshape((-1,)) * 0.7, dl.stripdims(c).reshape((-1,)) * 1.3])

    return f


def gru_fn(mode, sa, ga):
    def f(X, h0, W, R, b):
        Y, h = gru(dlarray(X, "CBT"), h0, W, R, b, reset_gate_mode=mode, state_activation_function=sa, gate_activation_function=ga)
        return dl.concatenate([dl.stripdims(Y).reshape((-1,)), dl.stripdims(h).reshape((-1,)) * 0.7])

    return f


def lstm_inputs(seed=1):
    p = params(SMALL["C"], SMALL["H"], SMALL["B"], SMALL["T"], 4, seed=seed)
    return [p[k] for k in ("X", "h0", "c0", "W", "R", "b")]


def gru_inputs(mode, seed=2):
    p = params(SMALL["C"], SMALL["H"], SMALL["B"], SMALL["T"], 3, 6 if mode.startswith("recurrent") else 3, seed=seed)
    return [p[k] for k in ("X", "h0", "W", "R", "b")]


@pytest.mark.parametrize("sa,ga", [("tanh", "sigmoid"), ("softsign", "hard-sigmoid"), ("relu", "sigmoid"), ("tanh", "hard-sigmoid")])
def test_lstm_gradcheck(sa, ga):
    gradcheck(lstm_fn(sa, ga), *lstm_inputs())


@pytest.mark.parametrize("sa,ga", [("tanh", "sigmoid"), ("softsign", "hard-sigmoid"), ("relu", "sigmoid")])
def test_lstm_gradgradcheck(sa, ga):
    gradgradcheck(lstm_fn(sa, ga), *lstm_inputs())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sa,ga", [("tanh", "sigmoid"), ("softsign", "hard-sigmoid")])
def test_gru_gradcheck(mode, sa, ga):
    gradcheck(gru_fn(mode, sa, ga), *gru_inputs(mode))


@pytest.mark.parametrize("mode", MODES)
def test_gru_gradgradcheck(mode):
    gradgradcheck(gru_fn(mode, "tanh", "sigmoid"), *gru_inputs(mode))


def test_third_order_through_lstm():
    """d/dx of d/dx of d/dx through the recurrence, against finite differences of the
    analytic second derivative."""
    p = params(1, 2, 1, 3, 4, seed=5)
    W, R, b, h0, c0 = p["W"], p["R"], p["b"], p["h0"], p["c0"]

    def y(x):
        Y, _, _ = lstm(dlarray(x.reshape(1, 1, 3) if not isinstance(x, dlarray) else x.reshape((1, 1, 3)), "CBT"), h0, c0, W, R, b)
        return dl.stripdims(Y).sum()

    def d2(x):
        g = dlgradient(y(x), x, enable_higher_derivatives=True)
        g2 = dlgradient(g.sum(), x, enable_higher_derivatives=True)
        return g2.sum(), dlgradient(g2.sum(), x)

    x0 = np.array([0.3, -0.2, 0.5])
    s, g3 = dlfeval(d2, dlarray(x0))
    eps = 1e-5
    num = np.zeros(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        num[i] = (float(dlfeval(d2, dlarray(x0 + e))[0]) - float(dlfeval(d2, dlarray(x0 - e))[0])) / (2 * eps)
    np.testing.assert_allclose(extractdata(g3), num, rtol=1e-5, atol=1e-7)


def test_same_array_as_h0_and_c0():
    """One array passed as both initial states gets both gradients (fused and composite)."""
    X, h0, c0, W, R, b = lstm_inputs()

    def f(s):
        Y, h, c = lstm(dlarray(X, "CBT"), s, s, W, R, b)
        return dl.concatenate([dl.stripdims(Y).reshape((-1,)), dl.stripdims(c).reshape((-1,))])

    gradcheck(f, h0)
    gradgradcheck(f, h0)


def test_gradient_of_untraced_weights_inside_dlfeval():
    X, h0, c0, W, R, b = lstm_inputs()

    def f(x):
        Y, _, _ = lstm(x, h0, c0, W, R, b)
        return dlgradient(dl.stripdims(Y).sum(), x)

    g = dlfeval(f, dlarray(X, "CBT"))
    assert g.fmt == "CBT" and g.shape == X.shape


# ----- PyTorch ------------------------------------------------------------------------------------


def test_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    p = params(5, 4, 3, 6, 4)
    m = torch.nn.LSTM(5, 4).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["W"]))  # PyTorch's gate order is i, f, g, o too
        m.weight_hh_l0.copy_(torch.from_numpy(p["R"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        m.bias_hh_l0.zero_()
        out, (hn, cn) = m(
            torch.from_numpy(p["X"].transpose(2, 1, 0).copy()),
            (torch.from_numpy(p["h0"].T.copy())[None], torch.from_numpy(p["c0"].T.copy())[None]),
        )
    Y, h, c = lstm(dlarray(p["X"], "CBT"), p["h0"], p["c0"], p["W"], p["R"], p["b"])
    np.testing.assert_allclose(extractdata(Y), out.numpy().transpose(2, 1, 0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(extractdata(c), cn[0].numpy().T, rtol=1e-10, atol=1e-12)


def test_gru_matches_torch():
    torch = pytest.importorskip("torch")
    p = params(5, 4, 3, 6, 3, 6)
    m = torch.nn.GRU(5, 4).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["W"]))  # r, z, n: the same order as MATLAB's r, z, h~
        m.weight_hh_l0.copy_(torch.from_numpy(p["R"]))
        m.bias_ih_l0.copy_(torch.from_numpy(p["b"][:12]))
        m.bias_hh_l0.copy_(torch.from_numpy(p["b"][12:]))
        out, hn = m(torch.from_numpy(p["X"].transpose(2, 1, 0).copy()), torch.from_numpy(p["h0"].T.copy())[None])
    Y, h = gru(dlarray(p["X"], "CBT"), p["h0"], p["W"], p["R"], p["b"], reset_gate_mode="recurrent-bias-after-multiplication")
    np.testing.assert_allclose(extractdata(Y), out.numpy().transpose(2, 1, 0), rtol=1e-10, atol=1e-12)
