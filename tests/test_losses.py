"""crossentropy, indexcrossentropy, mse, l1loss, l2loss, huber: values against numpy
references written here, every option, format rules, errors, and first- and second-order
gradients against finite differences."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import DlIndexError, FormatError, OptionError, ShapeError, dlarray
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)
EPS64 = np.finfo(np.float64).eps


def probs(shape, c_axis=0, rng=RNG):
    p = rng.random(shape) + 0.05
    return p / p.sum(axis=c_axis, keepdims=True)


def onehot(idx, C, c_axis=0):
    return np.moveaxis(np.eye(C)[idx], -1, c_axis)


# ----- numpy references (independent of the implementation) ------------------------------------


def ref_ce(Y, T, c_axis, b_axis, w=1.0, m=None, mode="single-label", norm="batch-size"):
    Yc = np.maximum(Y, EPS64)
    if mode == "single-label":
        L = -T * np.log(Yc)
    else:
        L = -(T * np.log(Yc) + (1 - T) * np.log(np.maximum(1 - Y, EPS64)))
    return _reduce(L * w * (1.0 if m is None else m), m, Y, c_axis if mode == "single-label" else None, b_axis, norm)


def _reduce(L, m, Y, c_axis, b_axis, norm):
    C = Y.shape[c_axis] if c_axis is not None else 1
    if norm == "none":
        return L.sum()
    if norm == "batch-size":
        return L.sum() / (Y.shape[b_axis] if b_axis is not None else 1)
    if norm == "all-elements":
        return L.sum() / (Y.size / C)
    # mask-included: per observation, by its own count of included predictions
    mb = np.broadcast_to(m != 0, Y.shape)
    B = Y.shape[b_axis] if b_axis is not None else 1
    total = 0.0
    for n in range(B):
        Ln = np.take(L, n, axis=b_axis) if b_axis is not None else L
        cnt = np.count_nonzero(np.take(mb, n, axis=b_axis) if b_axis is not None else mb) / C
        total += Ln.sum() / cnt if cnt else 0.0
    return total / B


# ----- crossentropy: values ----------------------------------------------------------------------


def test_crossentropy_hand_value():
    Y = dlarray(np.array([[0.25], [0.75]]), "CB")
    loss = dl.crossentropy(Y, np.array([[0.0], [1.0]]))
    assert loss.fmt == "" and loss.ndim == 0
    assert float(loss) == pytest.approx(-np.log(0.75), rel=1e-14)


def test_crossentropy_divides_by_batch_size_only():
    p = probs((5, 8))
    T = onehot(RNG.integers(0, 5, 8), 5)
    loss = float(dl.crossentropy(dlarray(p, "CB"), T))
    assert loss == pytest.approx(-(T * np.log(p)).sum() / 8, rel=1e-12)


@pytest.mark.parametrize("fmt,c_axis,b_axis", [("SSCB", 2, 3), ("CBT", 0, 1), ("SCBT", 1, 2), ("CT", 0, None)])
def test_crossentropy_sums_over_s_and_t(fmt, c_axis, b_axis):
    shape = {"SSCB": (2, 3, 4, 2), "CBT": (3, 2, 4), "SCBT": (2, 3, 2, 3), "CT": (4, 5)}[fmt]
    p = probs(shape, c_axis)
    T = onehot(RNG.integers(0, shape[c_axis], tuple(s for i, s in enumerate(shape) if i != c_axis)), shape[c_axis], c_axis)
    got = float(dl.crossentropy(dlarray(p, fmt), T))
    assert got == pytest.approx(ref_ce(p, T, c_axis, b_axis), rel=1e-12)


def test_crossentropy_unformatted_with_data_format_and_class_dimension():
    p = probs((6, 4), c_axis=1)  # (B, C)
    T = onehot(RNG.integers(0, 4, 6), 4, c_axis=1)
    want = ref_ce(p, T, 1, 0)
    assert float(dl.crossentropy(dlarray(p), T, data_format="BC")) == pytest.approx(want, rel=1e-12)
    assert float(dl.crossentropy(dlarray(p), T, class_dimension=1)) == pytest.approx(want, rel=1e-12)


def test_class_dimension_counts_all_other_dims_as_observations():
    p = probs((3, 2, 4), c_axis=0)
    T = onehot(RNG.integers(0, 3, (2, 4)), 3)
    got = float(dl.crossentropy(dlarray(p), T, class_dimension=0))
    assert got == pytest.approx(-(T * np.log(p)).sum() / 8, rel=1e-12)


def test_crossentropy_float32_stays_float32():
    p = probs((4, 3)).astype(np.float32)
    loss = dl.crossentropy(dlarray(p, "CB"), onehot([0, 1, 2], 4))
    assert loss.dtype == np.float32


def test_crossentropy_targets_as_formatted_dlarray_and_fortran_order():
    p = probs((4, 3))
    T = np.asfortranarray(onehot([3, 1, 0], 4))
    want = ref_ce(p, T, 0, 1)
    assert float(dl.crossentropy(dlarray(p, "CB"), T)) == pytest.approx(want, rel=1e-12)
    assert float(dl.crossentropy(dlarray(p, "CB"), dlarray(T.T.copy(), "BC"))) == pytest.approx(want, rel=1e-12)


def test_crossentropy_multilabel_both_option_names():
    p = RNG.random((3, 4)) * 0.9 + 0.05
    T = (RNG.random((3, 4)) > 0.5).astype(float)
    want = ref_ce(p, T, 0, 1, mode="multilabel")
    Y = dlarray(p, "CB")
    assert float(dl.crossentropy(Y, T, classification_mode="multilabel")) == pytest.approx(want, rel=1e-12)
    assert float(dl.crossentropy(Y, T, target_categories="independent")) == pytest.approx(want, rel=1e-12)
    assert float(dl.crossentropy(Y, T, target_categories="exclusive")) == pytest.approx(ref_ce(p, T, 0, 1), rel=1e-12)


def test_crossentropy_clamps_zero_probability_to_eps():
    p = np.array([[0.0, 0.5], [1.0, 0.5]])
    T = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss = float(dl.crossentropy(dlarray(p, "CB"), T))
    assert np.isfinite(loss)
    assert loss == pytest.approx((-np.log(EPS64) - np.log(0.5)) / 2, rel=1e-12)
    ml = float(dl.crossentropy(dlarray(p, "CB"), T, classification_mode="multilabel"))
    assert np.isfinite(ml)

    def grad(Y):
        return dl.dlgradient(dl.crossentropy(Y, T), Y)

    g = np.asarray(dl.dlfeval(grad, dlarray(p, "CB")))
    assert np.all(np.isfinite(g)) and g[0, 0] == 0.0  # below eps the clamp has no slope


@pytest.mark.parametrize(
    "weights,wfmt,expand",
    [
        (np.array([1.0, 2.0, 3.0, 0.5]), None, lambda w: w[:, None]),  # per class (C = 4)
        (np.array([1.0, 2.0, 3.0]), None, lambda w: w[None, :]),  # per observation (B = 3)
        (np.array([[1.0, 2.0, 3.0]]), None, lambda w: w),  # (1, B) expands
        (np.array([1.0, 2.0, 3.0]), "B", lambda w: w[None, :]),  # weights_format
        (np.arange(12.0).reshape(4, 3), None, lambda w: w),  # full array
    ],
)
def test_crossentropy_weights(weights, wfmt, expand):
    p = probs((4, 3))
    T = onehot([0, 3, 2], 4)
    got = float(dl.crossentropy(dlarray(p, "CB"), T, weights, weights_format=wfmt))
    assert got == pytest.approx(ref_ce(p, T, 0, 1, w=expand(weights)), rel=1e-12)


def test_crossentropy_formatted_weights_align_by_label():
    p = probs((4, 3, 2), 0)  # CBT
    T = onehot(RNG.integers(0, 4, (3, 2)), 4)
    wB = np.array([0.5, 1.0, 2.0])
    got = float(dl.crossentropy(dlarray(p, "CBT"), T, dlarray(wB, "B")))
    assert got == pytest.approx(ref_ce(p, T, 0, 1, w=wB[None, :, None]), rel=1e-12)
    wTB = RNG.random((2, 3))  # given as (T, B): permuted into place by its labels
    got = float(dl.crossentropy(dlarray(p, "CBT"), T, wTB, weights_format="TB"))
    assert got == pytest.approx(ref_ce(p, T, 0, 1, w=wTB.T[None]), rel=1e-12)


def test_weight_vector_equal_to_c_and_b_sizes_is_per_class():
    p = probs((3, 3))
    T = onehot([0, 1, 2], 3)
    w = np.array([1.0, 2.0, 4.0])
    got = float(dl.crossentropy(dlarray(p, "CB"), T, w))
    assert got == pytest.approx(ref_ce(p, T, 0, 1, w=w[:, None]), rel=1e-12)


@pytest.mark.parametrize("norm", ["batch-size", "all-elements", "mask-included", "none"])
@pytest.mark.parametrize("mode", ["single-label", "multilabel"])
def test_crossentropy_mask_and_normalization(norm, mode):
    p = probs((3, 4, 2), 0)  # CBT
    T = onehot(RNG.integers(0, 3, (4, 2)), 3)
    m = np.array([[1, 1], [1, 0], [0, 0], [1, 0]], dtype=bool)[None]  # per (B, T) position
    got = float(dl.crossentropy(dlarray(p, "CBT"), T, mask=m, normalization_factor=norm, classification_mode=mode))
    assert got == pytest.approx(ref_ce(p, T, 0, 1, m=m.astype(float), mode=mode, norm=norm), rel=1e-12)


def test_crossentropy_normalization_without_mask():
    p = probs((3, 4))
    T = onehot([0, 1, 2, 0], 3)
    Y = dlarray(p, "CB")
    raw = -(T * np.log(p)).sum()
    assert float(dl.crossentropy(Y, T, normalization_factor="all-elements")) == pytest.approx(raw / 4, rel=1e-12)
    assert float(dl.crossentropy(Y, T, normalization_factor="none")) == pytest.approx(raw, rel=1e-12)
    assert float(dl.crossentropy(Y, T, normalization_factor="ALL-ELEMENTS")) == pytest.approx(raw / 4, rel=1e-12)


def test_crossentropy_reduction_none_keeps_format():
    p = probs((3, 2, 2), 0)
    T = onehot(RNG.integers(0, 3, (2, 2)), 3)
    w = np.array([1.0, 2.0, 3.0])
    out = dl.crossentropy(dlarray(p, "CBT"), T, w, reduction="none")
    assert out.fmt == "CBT" and out.shape == (3, 2, 2)
    np.testing.assert_allclose(np.asarray(out), -T * np.log(p) * w[:, None, None], rtol=1e-13)
    un = dl.crossentropy(dlarray(p), T, reduction="none", data_format="CBT")
    assert un.fmt == "" and un.shape == (3, 2, 2)


# ----- crossentropy: errors ----------------------------------------------------------------------


def test_crossentropy_errors():
    Y = dlarray(probs((4, 3)), "CB")
    with pytest.raises(ShapeError, match=r"crossentropy.*\(3, 4\).*'CB'"):
        dl.crossentropy(Y, np.zeros((3, 4)))
    with pytest.raises(FormatError, match="crossentropy.*'SB'"):
        dl.crossentropy(Y, dlarray(np.zeros((4, 3)), "SB"))
    with pytest.raises(FormatError, match="crossentropy.*'C'"):
        dl.crossentropy(dlarray(probs((4, 3)), "SB"), np.zeros((4, 3)))
    with pytest.raises(FormatError, match="crossentropy.*unformatted"):
        dl.crossentropy(dlarray(probs((4, 3))), np.zeros((4, 3)))
    with pytest.raises(OptionError, match="reduction"):
        dl.crossentropy(Y, np.zeros((4, 3)), reduction="mean")
    with pytest.raises(OptionError, match="normalization_factor"):
        dl.crossentropy(Y, np.zeros((4, 3)), normalization_factor="batch")
    with pytest.raises(OptionError, match="needs a mask"):
        dl.crossentropy(Y, np.zeros((4, 3)), normalization_factor="mask-included")
    with pytest.raises(OptionError, match="contradicts"):
        dl.crossentropy(Y, np.zeros((4, 3)), classification_mode="multilabel", target_categories="exclusive")
    with pytest.raises(OptionError, match="classification_mode"):
        dl.crossentropy(Y, np.zeros((4, 3)), classification_mode="binary")
    with pytest.raises(ShapeError, match="weights"):
        dl.crossentropy(Y, np.zeros((4, 3)), np.ones(5))
    with pytest.raises(ShapeError, match="mask"):
        dl.crossentropy(Y, np.zeros((4, 3)), mask=np.ones((2, 3)))
    with pytest.raises(FormatError, match="weights.*'T'"):
        dl.crossentropy(Y, np.zeros((4, 3)), dlarray(np.ones(2), "T"))
    with pytest.raises(OptionError, match="class_dimension"):
        dl.crossentropy(Y, np.zeros((4, 3)), class_dimension=0)
    with pytest.raises(TypeError, match="crossentropy"):
        dl.crossentropy(probs((4, 3)), np.zeros((4, 3)), data_format="CB")
    for err in (ShapeError, FormatError, OptionError):
        assert issubclass(err, ValueError)


# ----- crossentropy: gradients -----------------------------------------------------------------


CE_CASES = [
    dict(),
    dict(classification_mode="multilabel"),
    dict(normalization_factor="all-elements"),
    dict(normalization_factor="none"),
    dict(mask=np.array([[1.0, 0.0, 1.0]]), normalization_factor="mask-included"),
    dict(weights=np.array([1.0, 2.0, 0.5, 3.0])),
    dict(reduction="none"),
]


@pytest.mark.parametrize("opts", CE_CASES, ids=lambda o: ",".join(o) or "default")
def test_crossentropy_gradients(opts):
    p = probs((4, 3))
    T = onehot([0, 3, 2], 4) if opts.get("classification_mode") is None else (RNG.random((4, 3)) > 0.5) * 1.0
    if opts.get("classification_mode"):
        p = RNG.random((4, 3)) * 0.8 + 0.1
    opts = dict(opts)
    w = opts.pop("weights", None)
    fn = lambda Y: dl.crossentropy(Y, T, w, **opts)  # noqa: E731
    gradcheck(fn, dlarray(p, "CB"))
    gradgradcheck(fn, dlarray(p, "CB"))


def test_crossentropy_gradients_wrt_targets_and_weights():
    p = probs((3, 2))
    T = probs((3, 2))  # soft targets
    w = np.array([0.5, 2.0])

    def fn(Y, Tt, W):
        return dl.crossentropy(Y, Tt, W, weights_format="B", classification_mode="multilabel")

    gradcheck(fn, dlarray(p, "CB"), T, w)
    gradgradcheck(fn, dlarray(p, "CB"), T, w)


def test_crossentropy_gradient_value():
    p = probs((4, 3))
    T = onehot([1, 2, 0], 4)
    g = dl.dlfeval(lambda Y: dl.dlgradient(dl.crossentropy(Y, T), Y), dlarray(p, "CB"))
    assert g.fmt == "CB"
    np.testing.assert_allclose(np.asarray(g), -T / p / 3, rtol=1e-13)


# ----- indexcrossentropy -------------------------------------------------------------------------


def test_indexcrossentropy_equals_crossentropy_with_onehot():
    p = probs((5, 4, 3), 0)  # CBT
    idx = RNG.integers(0, 5, (4, 3))
    Y = dlarray(p, "CBT")
    want = float(dl.crossentropy(Y, onehot(idx, 5)))
    assert float(dl.indexcrossentropy(Y, idx)) == pytest.approx(want, rel=1e-13)
    assert float(dl.indexcrossentropy(Y, idx[None])) == pytest.approx(want, rel=1e-13)  # C of size 1
    assert float(dl.indexcrossentropy(Y, dlarray(idx.T.copy(), "TB"))) == pytest.approx(want, rel=1e-13)
    assert float(dl.indexcrossentropy(Y, dlarray(idx[None].astype(float), "CBT"))) == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("norm", ["batch-size", "all-elements", "mask-included", "none"])
def test_indexcrossentropy_options(norm):
    p = probs((4, 3, 2), 0)
    idx = RNG.integers(0, 4, (3, 2))
    m = np.array([[1, 0], [1, 1], [0, 0]], dtype=float)
    wc = np.array([1.0, 2.0, 0.5, 4.0])
    Y = dlarray(p, "CBT")
    got = float(dl.indexcrossentropy(Y, idx, wc, mask=m, normalization_factor=norm))
    want = float(dl.crossentropy(Y, onehot(idx, 4), wc, mask=m[None], normalization_factor=norm))
    assert got == pytest.approx(want, rel=1e-12)
    # per-observation weights
    wb = np.array([1.0, 3.0, 0.25])
    got = float(dl.indexcrossentropy(Y, idx, wb, normalization_factor=norm if norm != "mask-included" else "none"))
    want = float(
        dl.crossentropy(Y, onehot(idx, 4), wb, weights_format="B", normalization_factor=norm if norm != "mask-included" else "none")
    )
    assert got == pytest.approx(want, rel=1e-12)


def test_indexcrossentropy_reduction_none_and_data_format():
    p = probs((3, 4), 1)  # BC
    idx = np.array([0, 3, 1])
    out = dl.indexcrossentropy(dlarray(p), idx, data_format="BC", reduction="none")
    assert out.shape == (3, 1) and out.fmt == ""
    np.testing.assert_allclose(np.asarray(out)[:, 0], -np.log(p[np.arange(3), idx]), rtol=1e-13)
    f = dl.indexcrossentropy(dlarray(p.T.copy(), "CB"), idx, reduction="none")
    assert f.fmt == "CB" and f.shape == (1, 3)


def test_indexcrossentropy_errors():
    Y = dlarray(probs((4, 3)), "CB")
    with pytest.raises(DlIndexError, match="indexcrossentropy.*4.*0-based"):
        dl.indexcrossentropy(Y, np.array([0, 4, 1]))
    with pytest.raises(DlIndexError, match="indexcrossentropy"):
        dl.indexcrossentropy(Y, np.array([0, -1, 1]))
    with pytest.raises(DlIndexError, match="integer"):
        dl.indexcrossentropy(Y, np.array([0.5, 1, 1]))
    with pytest.raises(ShapeError, match=r"indexcrossentropy.*\(4,\)"):
        dl.indexcrossentropy(Y, np.array([0, 1, 1, 2]))
    with pytest.raises(FormatError, match="indexcrossentropy.*'T'"):
        dl.indexcrossentropy(Y, dlarray(np.zeros(3), "T"))
    with pytest.raises(FormatError, match="'C'"):
        dl.indexcrossentropy(dlarray(probs((4, 3)), "SB"), np.zeros(3))
    assert issubclass(DlIndexError, IndexError)


def test_indexcrossentropy_gradients():
    p = probs((4, 3, 2), 0)
    idx = np.array([[0, 0], [3, 1], [2, 2]])
    wc = np.array([1.0, 2.0, 0.5, 4.0])
    for opts in (dict(), dict(normalization_factor="all-elements"), dict(reduction="none")):
        fn = lambda Y: dl.indexcrossentropy(Y, idx, wc, **opts)  # noqa: E731
        gradcheck(fn, dlarray(p, "CBT"))
        gradgradcheck(fn, dlarray(p, "CBT"))
    # class weights as a traced input
    gradgradcheck(lambda Y, W: dl.indexcrossentropy(Y, idx, W), dlarray(p, "CBT"), wc)


# ----- mse -----------------------------------------------------------------------------------


def test_mse_is_half_sum_over_observations():
    y = RNG.random((6, 6, 1, 1))
    loss = float(dl.mse(dlarray(y, "SSCB"), np.ones((6, 6, 1, 1))))
    assert loss == pytest.approx(((y - 1) ** 2).sum() / 2, rel=1e-13)  # one observation: half the sum
    y = RNG.random((3, 5, 4))
    t = RNG.random((3, 5, 4))
    assert float(dl.mse(dlarray(y, "CBT"), t)) == pytest.approx(((y - t) ** 2).sum() / (2 * 5), rel=1e-13)
    assert float(dl.mse(dlarray(y), t, data_format="CBT")) == pytest.approx(((y - t) ** 2).sum() / 10, rel=1e-13)
    assert float(dl.mse(dlarray(y, "SCT"), t)) == pytest.approx(((y - t) ** 2).sum() / 2, rel=1e-13)  # no B: N = 1


def test_mse_errors_and_gradients():
    y = RNG.random((3, 4))
    with pytest.raises(ShapeError, match="mse"):
        dl.mse(dlarray(y, "CB"), np.zeros((4, 3)))
    with pytest.raises(FormatError, match="mse"):
        dl.mse(dlarray(y), np.zeros((3, 4)))
    t = RNG.random((3, 4))
    gradcheck(lambda Y, T: dl.mse(Y, T), dlarray(y, "CB"), t)
    gradgradcheck(lambda Y, T: dl.mse(Y, T), dlarray(y, "CB"), t)


# ----- l1loss, l2loss, huber ------------------------------------------------------------------


def ref_huber(e, d):
    a = np.abs(e)
    return np.where(a <= d, 0.5 * e**2, d * (a - 0.5 * d))


REGRESSION = {
    "l1loss": (dl.l1loss, np.abs),
    "l2loss": (dl.l2loss, np.square),
    "huber": (dl.huber, lambda e: ref_huber(e, 1.0)),
}


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("norm", ["batch-size", "all-elements", "mask-included", "none"])
def test_regression_losses_values(name, norm):
    fn, per = REGRESSION[name]
    y = RNG.standard_normal((3, 4, 2)) * 2  # CBT
    t = RNG.standard_normal((3, 4, 2))
    w = np.array([1.0, 0.5, 2.0])
    m = (RNG.random((1, 4, 2)) > 0.3).astype(float)
    m[0, 0, 0] = 1.0
    got = float(fn(dlarray(y, "CBT"), t, w, mask=m, normalization_factor=norm))
    want = _reduce(per(y - t) * w[:, None, None] * m, m, y, None, 1, norm)
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_losses_defaults_and_none(name):
    fn, per = REGRESSION[name]
    y = RNG.standard_normal((2, 5))
    t = RNG.standard_normal((2, 5))
    assert float(fn(dlarray(y, "CB"), t)) == pytest.approx(per(y - t).sum() / 5, rel=1e-12)
    out = fn(dlarray(y, "CB"), t, reduction="none")
    assert out.fmt == "CB"
    np.testing.assert_allclose(np.asarray(out), per(y - t), rtol=1e-13)


def test_l2loss_is_twice_mse():
    y, t = RNG.random((3, 4)), RNG.random((3, 4))
    assert float(dl.l2loss(dlarray(y, "CB"), t)) == pytest.approx(2 * float(dl.mse(dlarray(y, "CB"), t)), rel=1e-13)


def test_huber_transition_point():
    e = np.array([[-3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 2.0, 3.0]])
    for d in (0.5, 1.0, 2.0):
        out = dl.huber(dlarray(e, "BC"), np.zeros_like(e.T), transition_point=d, reduction="none")
        np.testing.assert_allclose(np.asarray(out), ref_huber(e, d).T, rtol=1e-14)
    with pytest.raises(OptionError, match="transition_point"):
        dl.huber(dlarray(e, "BC"), np.zeros_like(e.T), transition_point=0)
    with pytest.raises(OptionError, match="transition_point"):
        dl.huber(dlarray(e, "BC"), np.zeros_like(e.T), transition_point="big")


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_losses_gradients(name):
    fn, _ = REGRESSION[name]
    # Keep |e| away from 0 (l1 kink) and from the huber transition point for finite differences.
    e = np.array([[0.4, -0.7, 1.6], [-2.3, 0.3, -1.4]])
    t = RNG.standard_normal((2, 3))
    y = t + e
    w = np.array([1.0, 2.0, 0.5])
    m = np.array([[1.0, 0.0, 1.0]])
    for opts in (
        dict(),
        dict(mask=m, normalization_factor="mask-included"),
        dict(reduction="none"),
        dict(normalization_factor="all-elements"),
    ):
        f = lambda Y, T, W: fn(Y, T, W, weights_format="B", **opts)  # noqa: E731
        gradcheck(f, dlarray(y, "CB"), t, w)
        gradgradcheck(f, dlarray(y, "CB"), t, w)


def test_regression_errors():
    y = dlarray(RNG.random((2, 3)), "CB")
    with pytest.raises(ShapeError, match=r"l1loss.*\(3, 2\)"):
        dl.l1loss(y, np.zeros((3, 2)))
    with pytest.raises(OptionError, match="l2loss.*reduction"):
        dl.l2loss(y, np.zeros((2, 3)), reduction="mean")
    with pytest.raises(OptionError, match="huber.*mask"):
        dl.huber(y, np.zeros((2, 3)), normalization_factor="mask-included")
    with pytest.raises(FormatError, match="l2loss.*'SB'"):
        dl.l2loss(y, dlarray(np.zeros((2, 3)), "SB"))


# ----- PyTorch as a second reference -------------------------------------------------------------


def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    p = probs((5, 7))  # CB
    idx = RNG.integers(0, 5, 7)
    pt = torch.tensor(p.T)  # (N, C)
    Y = dlarray(p, "CB")
    want = F.nll_loss(torch.log(pt), torch.tensor(idx), reduction="sum").item() / 7
    assert float(dl.crossentropy(Y, onehot(idx, 5))) == pytest.approx(want, rel=1e-12)
    assert float(dl.indexcrossentropy(Y, idx)) == pytest.approx(want, rel=1e-12)
    T = (RNG.random((5, 7)) > 0.5) * 1.0
    want = F.binary_cross_entropy(pt, torch.tensor(T.T), reduction="sum").item() / 7
    assert float(dl.crossentropy(Y, T, classification_mode="multilabel")) == pytest.approx(want, rel=1e-12)
    y, t = RNG.standard_normal((5, 7)), RNG.standard_normal((5, 7))
    yt, tt = torch.tensor(y), torch.tensor(t)
    assert float(dl.mse(dlarray(y, "CB"), t)) == pytest.approx(F.mse_loss(yt, tt, reduction="sum").item() / 14, rel=1e-12)
    assert float(dl.l1loss(dlarray(y, "CB"), t)) == pytest.approx(F.l1_loss(yt, tt, reduction="sum").item() / 7, rel=1e-12)
    for d in (0.5, 1.0):
        want = F.huber_loss(yt, tt, reduction="sum", delta=d).item() / 7
        assert float(dl.huber(dlarray(y, "CB"), t, transition_point=d)) == pytest.approx(want, rel=1e-12)
