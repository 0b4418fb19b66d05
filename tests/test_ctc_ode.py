"""ctc and dlode45: values against references written here (a float64 numpy CTC forward
algorithm, PyTorch's ctc_loss when installed; matrix exponentials and scipy's solve_ivp),
options, masks and formats, errors, and first- and second-order gradients against finite
differences."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import DlIndexError, DTypeError, FormatError, OptionError, ShapeError, UnknownOptionError, ctc, dlarray, dlode45
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(2024)


# ----- references (independent of the implementation) --------------------------------------


def ref_ctc(P, labels, steps, blank=0):
    """Per-observation CTC negative log-likelihoods, the textbook forward algorithm on
    probabilities in float64. P: (C, B, T); labels: one list per observation; steps: the
    time indices each observation uses, in order."""
    out = []
    for b, lab in enumerate(labels):
        ext = [blank]
        for c in lab:
            ext += [int(c), blank]
        S = len(ext)
        ts = list(steps[b])
        if not ts:
            out.append(0.0 if not lab else np.inf)
            continue
        a = np.zeros(S)
        a[0] = P[ext[0], b, ts[0]]
        if S > 1:
            a[1] = P[ext[1], b, ts[0]]
        for t in ts[1:]:
            n = np.zeros(S)
            for s in range(S):
                v = a[s] + (a[s - 1] if s >= 1 else 0.0)
                if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                    v += a[s - 2]
                n[s] = v * P[ext[s], b, t]
            a = n
        p = a[S - 1] + (a[S - 2] if S > 1 else 0.0)
        out.append(-np.log(p) if p > 0 else np.inf)
    return np.array(out)


def probabilities(C, B, T, rng=RNG):
    z = rng.standard_normal((C, B, T))
    return z, np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)


def padded(labels, L, fill=0):
    tgt = np.full((len(labels), L), fill, dtype=np.int64)
    mask = np.zeros((len(labels), L), dtype=bool)
    for b, lab in enumerate(labels):
        tgt[b, : len(lab)] = lab
        mask[b, : len(lab)] = True
    return tgt, mask


# ----- ctc: values -----------------------------------------------------------------------------


LABELS = [[1, 2, 2, 3], [4, 4], [], [3, 1, 2]]
STEPS = [8, 6, 3, 7]


def _case(C=5, T=8):
    _, P = probabilities(C, len(LABELS), T)
    tgt, tmask = padded(LABELS, 4, fill=1)
    ymask = np.arange(T)[None, :] < np.array(STEPS)[:, None]
    return P, tgt, tmask, ymask


def test_ctc_matches_the_forward_algorithm():
    P, tgt, tmask, ymask = _case()
    want = ref_ctc(P, LABELS, [range(n) for n in STEPS])
    got = ctc(dlarray(P, "CBT"), tgt, ymask, tmask, reduction="none")
    assert got.shape == (4,) and got.fmt == ""
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    mean = ctc(dlarray(P, "CBT"), tgt, ymask, tmask)
    assert mean.shape == () and mean.fmt == ""
    np.testing.assert_allclose(float(mean), want.mean(), rtol=1e-12)
    np.testing.assert_allclose(float(ctc(dlarray(P, "CBT"), tgt, ymask, tmask, reduction="sum")), want.sum(), rtol=1e-12)


def test_ctc_float32_and_softmax_input():
    C, T = 5, 8
    Z, P = probabilities(C, len(LABELS), T)
    tgt, tmask = padded(LABELS, 4)
    ymask = np.arange(T)[None, :] < np.array(STEPS)[:, None]
    want = ref_ctc(P, LABELS, [range(n) for n in STEPS])
    got = ctc(dlarray(P.astype(np.float32), "CBT"), tgt, ymask, tmask, reduction="none")
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    soft = ctc(dl.softmax(dlarray(Z, "CBT")), tgt, ymask, tmask, reduction="none")
    np.testing.assert_allclose(np.asarray(soft), want, rtol=1e-12)


def test_ctc_of_a_softmax_uses_the_logits():
    # A label whose probability underflows float32: only log-softmax keeps the loss exact.
    Z = np.zeros((3, 1, 2), dtype=np.float32)
    Z[0] = 200.0  # blank dominates both steps
    got = float(ctc(dl.softmax(dlarray(Z, "CBT")), np.array([[1]])))
    logp = Z - np.log(np.exp(Z - 200.0).sum(axis=0, keepdims=True)) - 200.0
    want = -np.logaddexp(logp[1, 0, 0] + logp[0, 0, 1], np.logaddexp(logp[0, 0, 0] + logp[1, 0, 1], logp[1, 0, 0] + logp[1, 0, 1]))
    assert np.isfinite(got) and abs(got - want) < 1e-3 * want
    # The same probabilities without the softmax link are bounded by eps: finite, smaller.
    P = np.asarray(dl.softmax(dlarray(Z, "CBT"))).copy()
    assert np.isfinite(float(ctc(dlarray(P, "CBT"), np.array([[1]]))))


def test_ctc_blank_index_options():
    C, T = 5, 6
    _, P = probabilities(C, 2, T)
    labels = [[0, 1, 1], [2, 3]]
    tgt, tmask = padded(labels, 3)
    want_last = ref_ctc(P, labels, [range(T)] * 2, blank=C - 1)
    for blank in ("last", "LAST", C - 1):
        got = ctc(dlarray(P, "CBT"), tgt, None, tmask, blank_index=blank, reduction="none")
        np.testing.assert_allclose(np.asarray(got), want_last, rtol=1e-12)
    labels2 = [[0, 1, 1], [4, 3]]
    tgt2, tmask2 = padded(labels2, 3)
    got = ctc(dlarray(P, "CBT"), tgt2, None, tmask2, blank_index=2, reduction="none")
    np.testing.assert_allclose(np.asarray(got), ref_ctc(P, labels2, [range(T)] * 2, blank=2), rtol=1e-12)


def test_ctc_masks_anywhere_and_mask_forms():
    C, T = 4, 7
    _, P = probabilities(C, 2, T)
    labels = [[1, 2], [3, 3, 1]]
    # left padding of both the steps and the labels
    tgt = np.array([[0, 1, 2], [3, 3, 1]])
    tmask = np.array([[0, 1, 1], [1, 1, 1]])
    ymask = np.array([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]])
    steps = [[t for t in range(T) if ymask[b, t]] for b in range(2)]
    want = ref_ctc(P, labels, steps)
    forms = [ymask, ymask.astype(np.float64)[None], dlarray(ymask.astype(np.float32), "BT"), dlarray(ymask.astype(np.float32)[None], "CBT")]
    for m in forms:
        got = ctc(dlarray(P, "CBT"), tgt, m, tmask, reduction="none")
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    got = ctc(dlarray(P, "CBT"), dlarray(tgt.astype(np.float32), "BT"), ymask, dlarray(tmask.astype(np.float32), "BT"), reduction="none")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)


def test_ctc_unformatted_and_without_batch():
    P, tgt, tmask, ymask = _case()
    want = ref_ctc(P, LABELS, [range(n) for n in STEPS])
    TBC = np.transpose(P, (2, 1, 0))
    got = ctc(dlarray(TBC), tgt, ymask, tmask, data_format="TBC", reduction="none")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    # Y's own layout for the mask: (T, B, 1)
    got = ctc(dlarray(TBC), tgt, ymask.T[:, :, None], tmask, data_format="TBC", reduction="none")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    # one observation as "CT", 1-D targets
    one = ctc(dlarray(P[:, 0, :], "CT"), np.array(LABELS[0]))
    np.testing.assert_allclose(float(one), want[0], rtol=1e-12)


def test_ctc_matlab_option_names():
    P, tgt, tmask, ymask = _case()
    want = ref_ctc(P, LABELS, [range(n) for n in STEPS])
    got = ctc(
        dlarray(np.transpose(P, (2, 1, 0))), tgt, YMask=ymask, TargetsMask=tmask, BlankIndex="first", Reduction="none", DataFormat="TBC"
    )
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    with pytest.raises(UnknownOptionError, match="ctc"):
        ctc(dlarray(P, "CBT"), tgt, Blank="first")


def test_ctc_infeasible_alignment_is_infinite_without_gradient():
    C, T = 4, 3
    _, P = probabilities(C, 2, T)
    tgt = np.array([[1, 1, 2], [1, 2, 3]])  # [1, 1, 2] needs 4 steps (a blank between the 1s)
    loss = ctc(dlarray(P, "CBT"), tgt, reduction="none")
    assert np.isinf(float(loss[0])) and np.isfinite(float(loss[1]))
    assert np.isinf(float(ctc(dlarray(P, "CBT"), tgt)))

    def f(y):
        return dl.dlgradient(ctc(y, tgt, reduction="sum"), y)

    g = np.asarray(dl.dlfeval(f, dlarray(P, "CBT")))
    assert np.all(np.isfinite(g)) and np.all(g[:, 0, :] == 0)


def test_ctc_against_torch():
    torch = pytest.importorskip("torch")
    P, tgt, tmask, ymask = _case()
    lp = torch.tensor(np.log(np.transpose(P, (2, 1, 0))))  # (T, N, C)
    lens = torch.tensor(tmask.sum(1))
    want = torch.nn.functional.ctc_loss(lp, torch.tensor(tgt), torch.tensor(STEPS), lens, blank=0, reduction="none")
    got = ctc(dlarray(P, "CBT"), tgt, ymask, tmask, reduction="none")
    np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-10)


# ----- ctc: gradients --------------------------------------------------------------------------


def test_ctc_gradients_wrt_probabilities():
    C, T = 4, 5
    _, P = probabilities(C, 2, T)
    tgt = np.array([[1, 1], [2, 3]])
    tmask = np.array([[1, 1], [1, 0]])
    ymask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])

    def fn(y):
        return ctc(y, tgt, ymask, tmask, reduction="none")

    gradcheck(fn, dlarray(P, "CBT"), rtol=1e-6)
    gradgradcheck(fn, dlarray(P, "CBT"), rtol=1e-5, atol=1e-6)


def test_ctc_gradients_through_softmax():
    C, T = 3, 4
    Z, _ = probabilities(C, 2, T)
    tgt = np.array([[1, 2], [2, 2]])
    tmask = np.array([[1, 1], [1, 0]])

    def fn(z):
        return ctc(dl.softmax(z), tgt, None, tmask)

    gradcheck(fn, dlarray(Z, "CBT"), rtol=1e-6)
    gradgradcheck(fn, dlarray(Z, "CBT"), rtol=1e-5, atol=1e-6)


# ----- ctc: bad input ----------------------------------------------------------------------------


def test_ctc_errors():
    _, P = probabilities(4, 2, 5)
    Y = dlarray(P, "CBT")
    tgt = np.array([[1, 2], [3, 1]])
    with pytest.raises(DlIndexError, match="blank"):
        ctc(Y, np.array([[0, 2], [3, 1]]))
    with pytest.raises(DlIndexError, match="out of range"):
        ctc(Y, np.array([[1, 4], [3, 1]]))
    with pytest.raises(DlIndexError, match="integer"):
        ctc(Y, np.array([[1, 2.5], [3, 1]]))
    ctc(Y, np.array([[1, -7], [3, 1]]), None, np.array([[1, 0], [1, 1]]))  # masked entries are ignored
    with pytest.raises(ShapeError, match=r"targets.*batch size 2"):
        ctc(Y, np.array([[1, 2]] * 3))
    with pytest.raises(ShapeError, match="targets_mask"):
        ctc(Y, tgt, None, np.ones((2, 3)))
    with pytest.raises(ShapeError, match="y_mask"):
        ctc(Y, tgt, np.ones((2, 4)))
    with pytest.raises(FormatError, match="'S'"):
        ctc(dlarray(P[None], "SCBT"), tgt)
    with pytest.raises(FormatError, match="'T'"):
        ctc(dlarray(P[..., 0], "CB"), tgt)
    with pytest.raises(FormatError, match="data_format"):
        ctc(dlarray(P), tgt)
    with pytest.raises(OptionError, match="reduction"):
        ctc(Y, tgt, reduction="batch")
    with pytest.raises(OptionError, match="blank_index"):
        ctc(Y, tgt, blank_index="middle")
    with pytest.raises(OptionError, match="blank_index"):
        ctc(Y, tgt, blank_index=4)
    with pytest.raises(DTypeError, match="targets"):
        ctc(Y, [["a", "b"], ["c", "d"]])
    with pytest.raises(DTypeError, match="ctc"):
        ctc(dlarray(P + 0j, "CBT"), tgt)
    with pytest.raises(ShapeError, match="no classes"):
        ctc(dlarray(np.ones((0, 2, 5)), "CBT"), np.zeros((2, 0)))


# ----- dlode45: values ---------------------------------------------------------------------------


A = np.array([[-0.5, 2.0], [-2.0, -0.3]])
Y0 = np.array([[1.0, 0.5, -0.2], [0.0, -1.0, 0.7]])


def expm(M):
    w, V = np.linalg.eig(M)
    return np.real(V @ np.diag(np.exp(w)) @ np.linalg.inv(V))


def linear(t, y, theta):
    return dl.matmul(theta, y)


def test_dlode45_linear_ode_against_the_matrix_exponential():
    ts = np.linspace(0.0, 3.0, 7)
    exact = np.stack([expm(A * t) @ Y0 for t in ts[1:]], axis=-1)
    Y = dlode45(linear, ts, dlarray(Y0), dlarray(A), relative_tolerance=1e-10, absolute_tolerance=1e-12)
    assert Y.shape == (2, 3, 6) and Y.fmt == ""
    np.testing.assert_allclose(np.asarray(Y), exact, atol=1e-9)
    # MATLAB's defaults: within the tolerances' reach
    Yd = dlode45(linear, ts, dlarray(Y0), dlarray(A))
    assert np.abs(np.asarray(Yd) - exact).max() < 1e-3
    # backwards in time
    Yb = dlode45(linear, [3.0, 0.0], dlarray(exact[..., -1]), dlarray(A), relative_tolerance=1e-10, absolute_tolerance=1e-12)
    np.testing.assert_allclose(np.asarray(Yb), Y0, atol=1e-8)


def test_dlode45_nonlinear_against_solve_ivp():
    solve_ivp = pytest.importorskip("scipy.integrate").solve_ivp
    y0 = np.array([1.0, 2.0, -0.5])
    ts = [0.0, 0.5, 1.25, 2.0]
    sol = solve_ivp(lambda t, y: -(y**3) + np.sin(3 * t), (0.0, 2.0), y0, t_eval=ts[1:], rtol=1e-12, atol=1e-12)
    Y = dlode45(lambda t, y, th: -(y**3) + np.sin(3 * t), ts, dlarray(y0), None, relative_tolerance=1e-10, absolute_tolerance=1e-12)
    np.testing.assert_allclose(np.asarray(Y), sol.y, atol=1e-9)


def test_dlode45_formats_and_dtypes():
    X = dlarray(Y0.astype(np.float32), "CB")
    two = dlode45(linear, [0, 1], X, dlarray(A.astype(np.float32)))
    assert two.fmt == "CB" and two.shape == (2, 3) and two.dtype == np.float32
    many = dlode45(linear, [0, 0.5, 1], X, dlarray(A.astype(np.float32)))
    assert many.fmt == "CBT" and many.shape == (2, 3, 2)
    np.testing.assert_allclose(np.asarray(many[:, :, 1]), np.asarray(two), rtol=1e-6)
    # S and U dims: T takes its canonical place before U
    Z = dlarray(np.ones((3, 2, 4)), "SCU")
    out = dlode45(lambda t, y, th: -y, [0, 1, 2], Z, None)
    assert out.fmt == "SCTU" and out.shape == (3, 2, 2, 4)
    np.testing.assert_allclose(np.asarray(out[:, :, 1, :]), np.exp(-2.0), rtol=1e-4)
    # unformatted with a data_format: checked, the result stays unformatted
    U = dlode45(linear, [0, 0.5, 1], dlarray(Y0), dlarray(A), DataFormat="CB")
    assert U.fmt == "" and U.shape == (2, 3, 2)


def test_dlode45_options_and_matlab_names():
    times = []

    def f(t, y, th):
        times.append(t)
        return dl.matmul(th, y)

    dlode45(f, [0, 1], dlarray(Y0), dlarray(A), InitialStep=0.01)
    assert abs(times[1] - 0.01 / 5) < 1e-15  # the first step's second stage is at h/5
    times.clear()
    dlode45(f, [0, 1], dlarray(Y0), dlarray(A), RelativeTolerance=1e-2, AbsoluteTolerance=1e-2, MaxStepSize=0.05)
    steps = sorted(set(times))
    assert len(times) >= 6 * 20 and max(np.diff([t for t in steps])) <= 0.05 + 1e-12
    times.clear()
    dlode45(f, [0, 1], dlarray(Y0), dlarray(A), relative_tolerance=1e-8, absolute_tolerance=1e-10, initial_step=0.1)
    tight = len(times)
    times.clear()
    dlode45(f, [0, 1], dlarray(Y0), dlarray(A), initial_step=0.1)
    assert len(times) < tight
    Y = dlode45(f, [0, 1], dlarray(Y0), dlarray(A), GradientMode="direct")
    assert Y.shape == Y0.shape
    times.clear()
    dlode45(f, [0, 1], dlarray(Y0), dlarray(A), initial_step=1.0, max_step_size=np.inf, relative_tolerance=0.5)
    assert times[1] == 0.2  # one step over the whole interval: no bound but the interval


def test_dlode45_with_a_network():
    net = dl.dlnetwork([dl.featureInputLayer(2, normalization="none"), dl.fullyConnectedLayer(2)])
    X = dlarray(Y0, "CB")
    W = np.asarray(net.learnables.value[0], dtype=np.float64)
    b = np.asarray(net.learnables.value[1], dtype=np.float64)
    Y = dlode45(net, [0, 0.5], X, relative_tolerance=1e-6)
    ref = dlode45(lambda t, y, th: dl.matmul(W, dl.stripdims(y)) + b, [0, 0.5], X, None, relative_tolerance=1e-6)
    np.testing.assert_allclose(np.asarray(Y), np.asarray(ref), rtol=1e-5, atol=1e-6)

    def loss(net, x):
        out = dlode45(net, [0, 0.5], x)
        s = out.sum()
        return dl.dlgradient(s, net.learnables)

    g = dl.dlfeval(loss, net, X)
    assert all(np.all(np.isfinite(np.asarray(v))) and np.abs(np.asarray(v)).sum() > 0 for v in g.value)


# ----- dlode45: gradients ------------------------------------------------------------------------


# Fixed steps (the first step and every later one at max_step_size, all accepted): the
# computation is the same for every perturbation, so finite differences see what the tape does.
FIXED = dict(initial_step=0.25, max_step_size=0.25, relative_tolerance=1e-1, absolute_tolerance=1e-1)


def test_dlode45_first_and_second_order_gradients():
    ts = [0.0, 0.3, 0.6, 1.0]  # interior times come from the interpolant

    def fn(y0, theta):
        return dlode45(lambda t, y, th: dl.tanh(dl.matmul(th, y)) + 0.1 * t, ts, y0, theta, **FIXED)

    y0 = Y0[:, :2]
    gradcheck(fn, y0, A, rtol=1e-6, atol=1e-8)
    gradgradcheck(fn, y0, A, rtol=1e-5, atol=1e-7)


def test_dlode45_gradient_formatted_state():
    def fn(y0, theta):
        return dlode45(lambda t, y, th: -(y * y) * th, [0.0, 1.0], y0, theta, **FIXED)

    gradcheck(fn, dlarray(np.array([[0.5, 1.0], [1.5, -0.3]]), "CB"), np.array([0.7]), rtol=1e-6, atol=1e-8)


def test_dlode45_adaptive_gradient_approaches_the_exact_sensitivity():
    # y(1) = expm(A) y0 is linear in y0: d sum(W * y(1)) / d y0 = expm(A)^T W.
    Wt = RNG.standard_normal(Y0.shape)

    def f(y0, theta):
        Y = dlode45(linear, [0.0, 1.0], y0, theta, relative_tolerance=1e-9, absolute_tolerance=1e-11)
        return dl.dlgradient((Y * Wt).sum(), y0, theta)

    gy, gA = dl.dlfeval(f, dlarray(Y0), dlarray(A))
    np.testing.assert_allclose(np.asarray(gy), expm(A).T @ Wt, atol=1e-8)
    # d/dA by central differences of the exact solution
    num = np.zeros_like(A)
    for i in range(2):
        for j in range(2):
            d = np.zeros_like(A)
            d[i, j] = 1e-6
            num[i, j] = ((Wt * (expm(A + d) @ Y0)).sum() - (Wt * (expm(A - d) @ Y0)).sum()) / 2e-6
    np.testing.assert_allclose(np.asarray(gA), num, atol=1e-7)


# ----- dlode45: bad input ------------------------------------------------------------------------


def test_dlode45_errors():
    X = dlarray(Y0)
    th = dlarray(A)
    with pytest.raises(OptionError, match="adjoint"):
        dlode45(linear, [0, 1], X, th, gradient_mode="adjoint")
    with pytest.raises(OptionError, match="gradient_mode"):
        dlode45(linear, [0, 1], X, th, gradient_mode="backprop")
    with pytest.raises(OptionError, match="tspan"):
        dlode45(linear, [0], X, th)
    with pytest.raises(OptionError, match="tspan"):
        dlode45(linear, [0, 1, 0.5], X, th)
    with pytest.raises(OptionError, match="tspan"):
        dlode45(linear, ["a", "b"], X, th)
    with pytest.raises(OptionError, match="relative_tolerance"):
        dlode45(linear, [0, 1], X, th, relative_tolerance=-1)
    with pytest.raises(OptionError, match="max_step_size"):
        dlode45(linear, [0, 1], X, th, MaxStepSize="big")
    with pytest.raises(OptionError, match="max_step_size"):
        dlode45(linear, [0, 1], X, th, max_step_size=0)
    with pytest.raises(OptionError, match="odefun"):
        dlode45("linear", [0, 1], X, th)
    with pytest.raises(ShapeError, match=r"odefun returned .*\(3,\)"):
        dlode45(lambda t, y, p: dlarray(np.ones(3)), [0, 1], X, th)
    with pytest.raises(DTypeError, match="odefun"):
        dlode45(lambda t, y, p: "dy", [0, 1], X, th)
    with pytest.raises(FormatError, match="'T'"):
        dlode45(linear, [0, 1], dlarray(np.ones((2, 3)), "CT"), th)
    with pytest.raises(FormatError, match="'T'"):
        dlode45(linear, [0, 1], X, th, data_format="CT")
    with pytest.raises(FormatError, match="data_format"):
        dlode45(linear, [0, 1], dlarray(Y0, "CB"), th, data_format="CB")
    with pytest.raises(DTypeError, match="Y0"):
        dlode45(linear, [0, 1], dlarray(Y0 + 1j), th)
    with pytest.raises(OptionError, match="not finite"):
        dlode45(lambda t, y, p: y * np.nan, [0, 1], X, th)
    with pytest.raises(OptionError, match="step size fell below"):
        dlode45(lambda t, y, p: y * y * 1e3, [0, 1], dlarray(np.ones(2)), None)
    net = dl.dlnetwork([dl.featureInputLayer(2, normalization="none"), dl.fullyConnectedLayer(2)])
    with pytest.raises(OptionError, match="theta"):
        dlode45(net, [0, 1], dlarray(Y0, "CB"), th)
    with pytest.raises(UnknownOptionError, match="dlode45"):
        dlode45(linear, [0, 1], X, th, RelTol=1e-3)


def test_dlode45_step_budget_ends_runaway_problems():
    X = dlarray(Y0)
    # Exponential growth at rate 1e6 in float32: the steps shrink without end (found by the fuzzer).
    Y32 = np.random.default_rng(0).standard_normal((2, 2)).astype(np.float32)
    with pytest.raises(OptionError, match=r"max_steps=10000 .*reached t = "):
        dlode45(lambda t, y, p: p * y, [0, 1], Y32, 10**6)
    with pytest.raises(OptionError, match=r"max_step_size=0.01 needs at least 100 steps .*max_steps=50"):
        dlode45(linear, [0, 1], X, dlarray(A), max_steps=50, max_step_size=0.01)
    with pytest.raises(OptionError, match=r"no solution within max_steps=3 steps"):
        dlode45(linear, [0, 1], X, dlarray(A), max_steps=3, max_step_size=float("inf"), relative_tolerance=1e-9)
    with pytest.raises(OptionError, match=r"max_step_size=0.1 \(the default, a tenth of tspan\) needs at least 10 steps"):
        dlode45(linear, [0, 1], X, dlarray(A), max_steps=3)
    with pytest.raises(OptionError, match=r"max_step_size=1e-300 needs at least 1e\+300 steps"):
        dlode45(linear, [0, 1], X, dlarray(A), max_step_size=1e-300)
    with pytest.raises(OptionError, match="max_steps"):
        dlode45(linear, [0, 1], X, dlarray(A), max_steps=2.5)
    with pytest.raises(OptionError, match="max_steps"):
        dlode45(linear, [0, 1], X, dlarray(A), MaxSteps=0)
    out = dlode45(linear, [0, 1], X, dlarray(A), max_steps=200, max_step_size=0.01)
    assert out.shape == X.shape
