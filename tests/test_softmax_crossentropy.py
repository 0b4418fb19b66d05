"""crossentropy / indexcrossentropy of a softmax output take log(Y) from the logits: the loss
and its gradient stay exact where a probability underflows (references: log-softmax in
float64 written here, the closed-form gradient (p - t) / N, PyTorch when installed), every
loss option keeps working through that path, and the link cannot go stale."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(77)


def log_softmax(x, axis=0):
    x = np.asarray(x, np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def gap_logits(gap, dtype):
    """(C=3, B=2) logits: the true class (2) is `gap` below the predicted one (0)."""
    X = np.zeros((3, 2), dtype)
    X[0] = gap
    T = np.zeros((3, 2), dtype)
    T[2] = 1.0
    return X, T


def loss_and_grad(X, T, **opts):
    def f(x):
        loss = dl.crossentropy(dl.softmax(x), T, **opts)
        return loss, dlgradient(loss, x)

    loss, g = dlfeval(f, dlarray(X, "CB"))
    return float(loss), np.asarray(g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_gap_20_gives_the_true_loss_and_p_minus_t(dtype):
    X, T = gap_logits(20.0, dtype)
    loss, g = loss_and_grad(X, T)
    want_loss = -(log_softmax(X) * T).sum() / 2  # ≈ 20, not -log(eps) = 15.9
    p = np.exp(log_softmax(X))
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    assert loss == pytest.approx(want_loss, rel=rtol)
    assert loss == pytest.approx(20.0, rel=1e-6)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, (p - T) / 2, rtol=rtol, atol=0)
    # Far past float underflow (p = exp(-200) is 0 in float32 and float64 alike).
    X, T = gap_logits(200.0, dtype)
    loss, g = loss_and_grad(X, T)
    assert loss == pytest.approx(200.0, rel=1e-6)
    np.testing.assert_allclose(g, ((np.exp(log_softmax(X)) - T) / 2).astype(dtype), rtol=rtol, atol=0)


def test_untraced_call_has_the_true_value_too():
    X, T = gap_logits(20.0, np.float32)
    assert float(dl.crossentropy(dl.softmax(dlarray(X, "CB")), T)) == pytest.approx(20.0, rel=1e-6)
    assert float(dl.indexcrossentropy(dl.softmax(dlarray(X, "CB")), np.array([2, 2]))) == pytest.approx(20.0, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_indexcrossentropy_at_gap_20(dtype):
    X, T = gap_logits(20.0, dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-13

    def f(x):
        loss = dl.indexcrossentropy(dl.softmax(x), np.array([2, 2]))
        return loss, dlgradient(loss, x)

    loss, g = dlfeval(f, dlarray(X, "CB"))
    assert float(loss) == pytest.approx(-(log_softmax(X) * T).sum() / 2, rel=rtol)
    np.testing.assert_allclose(np.asarray(g), (np.exp(log_softmax(X)) - T) / 2, rtol=rtol, atol=0)


def test_against_torch_at_gap_20():
    torch = pytest.importorskip("torch")
    X, T = gap_logits(20.0, np.float64)
    xt = torch.tensor(X.T, requires_grad=True)
    want = torch.nn.functional.cross_entropy(xt, torch.tensor([2, 2]))
    want.backward()
    loss, g = loss_and_grad(X, T)
    assert loss == pytest.approx(want.item(), rel=1e-13)
    np.testing.assert_allclose(g, xt.grad.numpy().T, rtol=1e-12, atol=1e-300)


def test_gradient_asked_for_the_probabilities_themselves():
    # The loss still depends on Y as -T·log(Y)/N: asked for Y, the gradient is -T/(N·Y);
    # asked for X at the same time, X gets p - t once (not also through Y).
    X = RNG.standard_normal((4, 3))
    T = np.eye(4)[:, [0, 3, 1]]

    def f(x):
        y = dl.softmax(x)
        loss = dl.crossentropy(y, T)
        gx, gy = dlgradient(loss, x, y)
        return y, gx, gy

    y, gx, gy = dlfeval(f, dlarray(X, "CB"))
    p = np.exp(log_softmax(X))
    np.testing.assert_allclose(np.asarray(gx), (p - T) / 3, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(np.asarray(gy), -T / (3 * np.asarray(y)), rtol=1e-13)
    assert gy.fmt == "CB"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_output_passed_into_dlfeval(dtype):
    # Y computed outside the trace is a leaf there: same value, gradient w.r.t. Y itself.
    X, T = gap_logits(20.0, dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    Y = dl.softmax(dlarray(X, "CB"))

    def f(y):
        loss = dl.crossentropy(y, T)
        return loss, dlgradient(loss, y)

    loss, g = dlfeval(f, Y)
    assert float(loss) == pytest.approx(-(log_softmax(X) * T).sum() / 2, rel=rtol)
    np.testing.assert_allclose(np.asarray(g), -T / (2 * np.asarray(Y)), rtol=rtol)


# ----- every loss option through the fused path --------------------------------------------------


def ref_loss(X, T, w=1.0, m=None, norm="batch-size"):
    L = -T * log_softmax(X) * w * (1.0 if m is None else m)
    C, B = X.shape
    if norm == "none":
        return L.sum()
    if norm == "batch-size":
        return L.sum() / B
    if norm == "all-elements":
        return L.sum() / (X.size / C)
    mb = np.broadcast_to(m != 0, X.shape)
    return sum(L[:, n].sum() / (np.count_nonzero(mb[:, n]) / C) for n in range(B) if mb[:, n].any()) / B


OPTIONS = [
    dict(),
    dict(weights=np.array([0.5, 2.0, 1.0, 3.0])),
    dict(weights=np.array([1.0, 0.0, 2.0])),
    dict(mask=np.array([[1.0, 0, 1], [1, 0, 1], [1, 0, 1], [1, 0, 1]]), normalization_factor="mask-included"),
    dict(normalization_factor="all-elements"),
    dict(normalization_factor="none", weights=np.array([0.5, 2.0, 1.0, 3.0])),
]


@pytest.mark.parametrize("opts", OPTIONS)
def test_options_values_at_large_gaps(opts):
    X = RNG.standard_normal((4, 3)) * 15  # gaps well past -log(eps)
    T = np.eye(4)[:, [0, 3, 1]]
    w = opts.get("weights", 1.0)
    if np.ndim(w) == 1 and len(w) == 4:
        w = w[:, None]
    want = ref_loss(X, T, w, opts.get("mask"), opts.get("normalization_factor", "batch-size"))
    got = float(dl.crossentropy(dl.softmax(dlarray(X, "CB")), T, **opts))
    assert got == pytest.approx(want, rel=1e-13)


def test_reduction_none_at_large_gaps():
    X = RNG.standard_normal((4, 3)) * 15
    T = np.eye(4)[:, [0, 3, 1]]
    out = dl.crossentropy(dl.softmax(dlarray(X, "CB")), T, reduction="none")
    assert out.fmt == "CB"
    np.testing.assert_allclose(np.asarray(out), -T * log_softmax(X), rtol=1e-13, atol=0)


@pytest.mark.parametrize("opts", OPTIONS + [dict(reduction="none")])
def test_first_and_second_order_gradients_through_the_fused_path(opts):
    T = np.eye(4)[:, [0, 3, 1]]

    def fn(x):
        return dl.crossentropy(dl.softmax(x), T, **opts)

    X = dlarray(RNG.standard_normal((4, 3)) * 3, "CB")
    gradcheck(fn, X)
    gradgradcheck(fn, X)


def test_second_order_gradients_of_indexcrossentropy_and_sstb_layouts():
    def fn(x):
        return dl.indexcrossentropy(dl.softmax(x), np.array([[0, 2], [1, 1]]))

    gradcheck(fn, dlarray(RNG.standard_normal((3, 2, 2)), "CBT"))
    gradgradcheck(fn, dlarray(RNG.standard_normal((3, 2, 2)), "CBT"))
    T = np.moveaxis(np.eye(3)[RNG.integers(0, 3, (2, 2, 2))], -1, 2)  # (S, S, C, B)

    def fn2(x):
        return dl.crossentropy(dl.softmax(x), T)

    gradgradcheck(fn2, dlarray(RNG.standard_normal((2, 2, 3, 2)), "SSCB"))


def test_unformatted_input_with_data_format():
    X = RNG.standard_normal((2, 4)) * 20  # "BC"
    T = np.eye(4)[[1, 3]]
    Y = dl.softmax(dlarray(X), data_format="BC")
    got = float(dl.crossentropy(Y, T, data_format="BC"))
    assert got == pytest.approx(-(T * log_softmax(X, axis=1)).sum() / 2, rel=1e-13)


# ----- the plain path: anything that is not softmax's output over the class dim -----------------


def clamped(Y, T, B):
    return -(T * np.log(np.maximum(Y, np.finfo(Y.dtype).eps))).sum() / B


def test_a_changed_softmax_output_takes_the_plain_path():
    X, T = gap_logits(20.0, np.float32)
    Y = dl.softmax(dlarray(X, "CB"))
    Y[2, 0] = Y[2, 0]  # same values, but a new array: the link is gone
    want = clamped(np.asarray(Y), T, 2)
    assert float(dl.crossentropy(Y, T)) == pytest.approx(want, rel=1e-6)
    assert want < 16.0  # capped at -log(eps): the plain, MATLAB path
    Z = dl.softmax(dlarray(X, "CB")) * 1.0
    assert float(dl.crossentropy(Z, T)) == pytest.approx(want, rel=1e-6)
    # A copy of the object still holds the same data: the link stays.
    assert float(dl.crossentropy(dlarray(dl.softmax(dlarray(X, "CB"))), T)) == pytest.approx(20.0, rel=1e-6)


def test_softmax_over_another_dim_takes_the_plain_path():
    X = RNG.standard_normal((3, 3)) * 20
    T = np.eye(3)
    Y = dl.softmax(dlarray(X), data_format="CB")  # normalised over axis 0
    got = float(dl.crossentropy(Y, T, data_format="BC"))  # classes along axis 1
    assert got == pytest.approx(clamped(np.asarray(Y), T, 3), rel=1e-13)


def test_softmax_layer_output_in_a_network_is_exact():
    net = dl.dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(4), dl.softmaxLayer()])
    X = dlarray(RNG.standard_normal((3, 5)) * 30, "CB")
    T = np.eye(4)[:, RNG.integers(0, 4, 5)]

    def f(net, X):
        Y = net.forward(X)
        loss = dl.crossentropy(Y, T)
        return loss, dlgradient(loss, net.learnables)

    loss, g = dlfeval(f, net, X)
    W = np.asarray(net.learnables["fc", "Weights"])
    b = np.asarray(net.learnables["fc", "Bias"]).reshape(-1, 1)
    Z = W @ np.asarray(X) + b
    assert float(loss) == pytest.approx(-(T * log_softmax(Z)).sum() / 5, rel=1e-5)
    want_gb = ((np.exp(log_softmax(Z)) - T) / 5).sum(axis=1)
    np.testing.assert_allclose(np.asarray(g["fc", "Bias"]).ravel(), want_gb, rtol=1e-4, atol=1e-6)
