"""fullyconnect (MATLAB's column-major flattening and weight layouts, output formats,
data_format, errors) and dropout (statistics, masks, seeding, gradients)."""

import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, dropout, extractdata, fullyconnect
from dlarray.errors import FormatError, OptionError, ShapeError
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)


def _ref_fc(x_canonical, w, b, n_feature_dims):
    """numpy reference: MATLAB's column-major flattening of the leading feature dims."""
    shape = x_canonical.shape
    n_in = int(np.prod(shape[:n_feature_dims]))
    rest = shape[n_feature_dims:]
    xm = x_canonical.reshape((n_in,) + rest, order="F").reshape(n_in, -1, order="F")
    y = w.reshape(w.shape[0], -1, order="F") @ xm + np.asarray(b).reshape(-1, 1)
    return y.reshape((w.shape[0],) + rest, order="F")


# ----- fullyconnect: values -----------------------------------------------------------------------


def test_fullyconnect_sscb_flattens_column_major():
    H, W, C, N, OUT = 3, 4, 2, 5, 6
    x = RNG.standard_normal((H, W, C, N))
    w = RNG.standard_normal((OUT, H * W * C))
    b = RNG.standard_normal(OUT)
    y = fullyconnect(dlarray(x, "SSCB"), w, b)
    assert y.fmt == "CB" and y.shape == (OUT, N)
    np.testing.assert_allclose(extractdata(y), _ref_fc(x, w, b, 3), rtol=1e-12)
    # The explicit MATLAB index h + H*(w + W*c) for one element.
    h, ww, c, n, o = 2, 1, 1, 3, 4
    only = np.zeros_like(x)
    only[h, ww, c, n] = 1.0
    y1 = fullyconnect(dlarray(only, "SSCB"), w, np.zeros(OUT))
    np.testing.assert_allclose(extractdata(y1)[o, n], w[o, h + H * (ww + W * c)], rtol=1e-15)


def test_fullyconnect_matlab_4d_weights_equal_2d_weights():
    H, W, C, N, OUT = 2, 3, 4, 2, 5
    x = dlarray(RNG.standard_normal((H, W, C, N)), "SSCB")
    w4 = RNG.standard_normal((OUT, H, W, C))
    w2 = w4.reshape(OUT, -1, order="F")  # MATLAB: reshape(w4, OUT, [])
    b = RNG.standard_normal((OUT, 1))
    np.testing.assert_allclose(extractdata(fullyconnect(x, w4, b)), extractdata(fullyconnect(x, w2, b)), rtol=1e-13)


def test_fullyconnect_cb_is_a_matrix_product():
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal((2, 4))
    b = np.array([0.5, -1.0])
    y = fullyconnect(dlarray(x, "CB"), w, b)
    assert y.fmt == "CB"
    np.testing.assert_allclose(extractdata(y), w @ x + b[:, None], rtol=1e-14)


def test_fullyconnect_cbt_keeps_time():
    C, N, T, OUT = 3, 2, 4, 5
    x = RNG.standard_normal((C, N, T))
    w = RNG.standard_normal((OUT, C))
    b = RNG.standard_normal(OUT)
    y = fullyconnect(dlarray(x, "CBT"), w, b)
    assert y.fmt == "CBT" and y.shape == (OUT, N, T)
    np.testing.assert_allclose(extractdata(y), np.einsum("oc,cnt->ont", w, x) + b[:, None, None], rtol=1e-13)


def test_fullyconnect_scbt_flattens_s_and_c_per_time_step():
    S, C, N, T, OUT = 3, 2, 2, 3, 4
    x = RNG.standard_normal((S, C, N, T))
    w = RNG.standard_normal((OUT, S * C))
    y = fullyconnect(dlarray(x, "SCBT"), w, np.zeros(OUT))
    assert y.fmt == "CBT" and y.shape == (OUT, N, T)
    np.testing.assert_allclose(extractdata(y), _ref_fc(x, w, np.zeros(OUT), 2), rtol=1e-13)


def test_fullyconnect_input_given_in_another_order_is_canonicalised():
    H, W, C, N, OUT = 2, 3, 2, 4, 3
    x_nhwc = RNG.standard_normal((N, H, W, C))
    w = RNG.standard_normal((OUT, H * W * C))
    b = RNG.standard_normal(OUT)
    ref = _ref_fc(np.transpose(x_nhwc, (1, 2, 3, 0)), w, b, 3)
    formatted = fullyconnect(dlarray(x_nhwc, "BSSC"), w, b)
    np.testing.assert_allclose(extractdata(formatted), ref, rtol=1e-13)
    # Unformatted with data_format: unformatted "CB"-laid-out output, same numbers.
    unformatted = fullyconnect(dlarray(x_nhwc), w, b, data_format="BSSC")
    assert unformatted.fmt == "" and unformatted.shape == (OUT, N)
    np.testing.assert_allclose(extractdata(unformatted), ref, rtol=1e-13)


def test_fullyconnect_without_batch_dim_gets_singleton_batch():
    x = RNG.standard_normal((3, 4))
    w = RNG.standard_normal((2, 12))
    y = fullyconnect(dlarray(x, "SC"), w, np.zeros(2))
    assert y.fmt == "CB" and y.shape == (2, 1)
    np.testing.assert_allclose(extractdata(y)[:, 0], w @ x.reshape(-1, order="F"), rtol=1e-13)


def test_fullyconnect_bias_forms_and_float32():
    x = dlarray(RNG.standard_normal((4, 3)).astype(np.float32), "CB")
    w = RNG.standard_normal((2, 4))  # float64 numpy adopts x's dtype
    y0 = fullyconnect(x, w)
    assert y0.dtype == np.float32
    for b in (0.0, np.zeros(2), np.zeros((2, 1)), dlarray(np.zeros(2, dtype=np.float32))):
        np.testing.assert_allclose(extractdata(fullyconnect(x, w, b)), extractdata(y0))
    np.testing.assert_allclose(extractdata(fullyconnect(x, w, 1.5)), extractdata(y0) + 1.5, rtol=1e-6)


# ----- fullyconnect: errors ---------------------------------------------------------------------------


def test_fullyconnect_errors():
    x = dlarray(np.ones((2, 3, 4, 5)), "SSCB")
    with pytest.raises(ShapeError, match=r"fullyconnect.*\(7, 23\).*SSCB.*\(2, 3, 4, 5\)"):
        fullyconnect(x, np.ones((7, 23)), np.zeros(7))
    with pytest.raises(ShapeError, match="fullyconnect.*weights"):
        fullyconnect(x, np.ones((7, 2, 3, 5)), np.zeros(7))
    with pytest.raises(ShapeError, match="fullyconnect.*bias.*7"):
        fullyconnect(x, np.ones((7, 24)), np.zeros(6))
    with pytest.raises(FormatError, match="fullyconnect.*no 'C'"):
        fullyconnect(dlarray(np.ones((3, 5)), "SB"), np.ones((2, 3)), np.zeros(2))
    with pytest.raises(FormatError, match="fullyconnect.*unformatted"):
        fullyconnect(dlarray(np.ones((3, 5))), np.ones((2, 3)), np.zeros(2))
    with pytest.raises(FormatError, match="fullyconnect"):
        fullyconnect(dlarray(np.ones((3, 5))), np.ones((2, 3)), np.zeros(2), data_format="CC")
    with pytest.raises(FormatError, match="fullyconnect"):
        fullyconnect(x, np.ones((7, 24)), np.zeros(7), data_format="CB")
    for err in (ShapeError, FormatError):
        assert issubclass(err, ValueError)


# ----- fullyconnect: gradients --------------------------------------------------------------------------


def test_fullyconnect_gradients_sscb():
    x = RNG.standard_normal((2, 2, 2, 2))
    w = RNG.standard_normal((3, 8))
    b = RNG.standard_normal(3)
    f = lambda x, w, b: fullyconnect(x, w, b)  # noqa: E731
    gradcheck(f, dlarray(x, "SSCB"), w, b)
    gradgradcheck(f, dlarray(x, "SSCB"), w, b)


def test_fullyconnect_gradients_4d_weights_cbt_and_column_bias():
    x = dlarray(RNG.standard_normal((2, 2, 3)), "CBT")
    w = RNG.standard_normal((3, 2))
    b = RNG.standard_normal((3, 1))
    gradcheck(lambda x, w, b: fullyconnect(x, w, b), x, w, b)
    gradgradcheck(lambda x, w, b: fullyconnect(x, w, b), x, w, b)
    x4 = dlarray(RNG.standard_normal((2, 1, 2, 2)), "SSCB")
    w4 = RNG.standard_normal((2, 2, 1, 2))
    gradcheck(lambda x, w: fullyconnect(x, w, np.zeros(2)), x4, w4)
    gradgradcheck(lambda x, w: fullyconnect(x, w, np.zeros(2)), x4, w4)


def test_fullyconnect_gradient_has_input_format():
    x = dlarray(RNG.standard_normal((2, 3, 2)), "SCB")
    g = dlfeval(lambda x: dlgradient(fullyconnect(x, np.ones((2, 6)), np.zeros(2)).sum(), x), x)
    assert g.fmt == "SCB"
    np.testing.assert_allclose(extractdata(g), 2.0)


def test_fullyconnect_against_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((5, 4))  # (C, B)
    w = RNG.standard_normal((3, 5))
    b = RNG.standard_normal(3)
    ref = torch.nn.functional.linear(torch.tensor(x.T), torch.tensor(w), torch.tensor(b)).numpy().T
    np.testing.assert_allclose(extractdata(fullyconnect(dlarray(x, "CB"), w, b)), ref, rtol=1e-12)


# ----- dropout ------------------------------------------------------------------------------------------


def test_dropout_statistics_and_scaling():
    x = dlarray(np.ones((100, 100, 20), dtype=np.float32), "SCB")
    y, keep = dropout(x, 0.3, seed=1, return_mask=True)
    a = extractdata(y)
    assert y.fmt == "SCB" and y.dtype == np.float32 and keep.dtype == bool
    assert abs(keep.mean() - 0.7) < 0.005  # 200k Bernoulli(0.7) draws: sd ~ 0.001
    np.testing.assert_allclose(a[keep], 1 / 0.7, rtol=1e-6)
    assert np.all(a[~keep] == 0)
    assert abs(a.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation


def test_dropout_default_p_is_half():
    _, keep = dropout(dlarray(np.ones(40000)), seed=3, return_mask=True)
    assert abs(keep.mean() - 0.5) < 0.01


def test_dropout_seeding_and_given_mask():
    x = dlarray(RNG.standard_normal((6, 7)), "CB")
    a = extractdata(dropout(x, 0.4, seed=5))
    np.testing.assert_array_equal(a, extractdata(dropout(x, 0.4, seed=5)))
    assert not np.array_equal(a, extractdata(dropout(x, 0.4, seed=6)))
    np.testing.assert_array_equal(a, extractdata(dropout(x, 0.4, seed=np.random.default_rng(5))))
    np.random.seed(9)
    b = extractdata(dropout(x, 0.4))
    np.random.seed(9)
    np.testing.assert_array_equal(b, extractdata(dropout(x, 0.4)))
    keep = np.arange(42).reshape(6, 7) % 3 == 0
    np.testing.assert_allclose(extractdata(dropout(x, 0.4, mask=keep)), np.where(keep, extractdata(x) / 0.6, 0.0), rtol=1e-15)


def test_dropout_edge_probabilities_and_errors():
    x = dlarray(RNG.standard_normal((3, 4)))
    np.testing.assert_array_equal(extractdata(dropout(x, 0.0)), extractdata(x))
    np.testing.assert_array_equal(extractdata(dropout(x, 1.0)), 0.0)
    with pytest.raises(OptionError, match="dropout"):
        dropout(x, 1.5)
    with pytest.raises(OptionError, match="dropout"):
        dropout(x, 0.5, seed="abc")
    with pytest.raises(ShapeError, match=r"dropout.*\(2, 2\).*\(3, 4\)"):
        dropout(x, 0.5, mask=np.ones((2, 2), bool))


def test_dropout_gradient_flows_through_kept_units_only():
    x = dlarray(RNG.standard_normal((4, 5)), "CB")
    _, keep = dropout(x, 0.5, seed=2, return_mask=True)
    g = dlfeval(lambda x: dlgradient(dropout(x, 0.5, seed=2).sum(), x), x)
    np.testing.assert_allclose(extractdata(g), np.where(keep, 2.0, 0.0), rtol=1e-15)
    f = lambda x: dropout(x, 0.5, seed=2) * x  # noqa: E731 - non-linear, so 2nd order is non-trivial
    gradcheck(f, x)
    gradgradcheck(f, x)
