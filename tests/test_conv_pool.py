"""dlconv, dltranspconv, maxpool, maxunpool and avgpool: values against direct numpy loops
written here in MATLAB's layouts, formats, options, errors, and first/second-order gradients."""

import itertools

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, extractdata
from gradcheck import gradcheck, gradgradcheck

rng = np.random.default_rng(7)


def ref_conv(x, w, b, stride, dil, pb, pa, pad_value=0.0):
    """x (S1..Sd, C, N); w (K1..Kd, Cg, Fg, G) -> (O1..Od, G*Fg, N), MATLAB's semantics."""
    d = x.ndim - 2
    if w.ndim == d + 2:
        w = w[..., None]
    kern, (cg, fg, groups) = w.shape[:d], w.shape[d:]
    pad = [(pb[i], pa[i]) for i in range(d)] + [(0, 0), (0, 0)]
    xp = np.pad(x, pad, constant_values=pad_value)
    out_sp = [(xp.shape[i] - dil[i] * (kern[i] - 1) - 1) // stride[i] + 1 for i in range(d)]
    n = x.shape[-1]
    y = np.zeros(out_sp + [groups * fg, n])
    for o in itertools.product(*[range(s) for s in out_sp]):
        for k in itertools.product(*[range(s) for s in kern]):
            pos = tuple(o[i] * stride[i] + k[i] * dil[i] for i in range(d))
            v = xp[pos]  # (C, N)
            for g in range(groups):
                y[o][g * fg : (g + 1) * fg] += np.einsum("cn,cf->fn", v[g * cg : (g + 1) * cg], w[k][:, :, g])
    return y + np.asarray(b).reshape(-1, 1)


def ref_transpconv(x, w, b, stride, dil, cb, ca):
    """x (S..., C, N); w (K..., Fg, Cg, G) -> (O..., G*Fg, N)."""
    d = x.ndim - 2
    if w.ndim == d + 2:
        w = w[..., None]
    kern, (fg, cg, groups) = w.shape[:d], w.shape[d:]
    full = [(x.shape[i] - 1) * stride[i] + dil[i] * (kern[i] - 1) + 1 for i in range(d)]
    n = x.shape[-1]
    y = np.zeros(full + [groups * fg, n])
    for i in itertools.product(*[range(s) for s in x.shape[:d]]):
        for k in itertools.product(*[range(s) for s in kern]):
            o = tuple(i[j] * stride[j] + k[j] * dil[j] for j in range(d))
            for g in range(groups):
                y[o][g * fg : (g + 1) * fg] += np.einsum("cn,fc->fn", x[i][g * cg : (g + 1) * cg], w[k][:, :, g])
    sl = tuple(slice(cb[j], full[j] - ca[j]) for j in range(d))
    return y[sl] + np.asarray(b).reshape(-1, 1)


CASES = [
    # (x shape, w shape, stride, dilation, padding (before, after))
    ((6, 7, 3, 2), (3, 3, 3, 4), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((7, 6, 2, 2), (3, 2, 2, 3), (2, 1), (1, 2), ((1, 0), (2, 1))),
    ((6, 6, 4, 1), (3, 3, 2, 3, 2), (1, 2), (1, 1), ((1, 1), (1, 1))),  # 2 groups
    ((6, 6, 3, 2), (2, 2, 1, 1, 3), (1, 1), (2, 1), ((0, 1), (0, 1))),  # channel-wise
]


@pytest.mark.parametrize("xs,ws,stride,dil,pad", CASES)
def test_dlconv_2d_matches_direct_loops(xs, ws, stride, dil, pad):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    f = ws[3] * (ws[4] if len(ws) == 5 else 1)
    b = rng.standard_normal(f)
    padding = np.array([pad[0], pad[1]]).T  # rows: before, after
    y = dl.dlconv(dlarray(x, "SSCB"), w, b, stride=stride, dilation_factor=dil, padding=padding)
    ref = ref_conv(x, w, b, stride, dil, [p[0] for p in pad], [p[1] for p in pad])
    assert y.fmt == "SSCB"
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-10, atol=1e-10)


def test_dlconv_float32_same_padding_and_padding_value():
    x = rng.standard_normal((5, 6, 2, 3)).astype(np.float32)
    w = rng.standard_normal((3, 4, 2, 2)).astype(np.float32)
    y = dl.dlconv(dlarray(x, "SSCB"), w, 0, padding="same", padding_value=1.5)
    assert y.dtype == np.float32 and y.shape == (5, 6, 2, 3)
    # "same" with an even kernel puts the extra padding after (bottom/right).
    ref = ref_conv(x.astype(np.float64), w.astype(np.float64), 0, (1, 1), (1, 1), [1, 1], [1, 2], pad_value=1.5)
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-4, atol=1e-4)


def test_dlconv_same_with_stride_gives_ceil_size():
    x = rng.standard_normal((7, 9, 1, 2))
    y = dl.dlconv(dlarray(x, "SSCB"), rng.standard_normal((3, 3, 1, 2)), 0, stride=2, padding="same")
    assert y.shape == (4, 5, 2, 2)


def test_dlconv_1d_over_time_and_3d():
    x = rng.standard_normal((3, 2, 8))  # C B T
    w = rng.standard_normal((3, 3, 4))  # K, C, F
    y = dl.dlconv(dlarray(x, "CBT"), w, 0)
    assert y.fmt == "CBT" and y.shape == (4, 2, 6)
    ref = ref_conv(x.transpose(2, 0, 1), w, 0, (1,), (1,), [0], [0])  # (T, C, N) layout
    np.testing.assert_allclose(extractdata(y), ref.transpose(1, 2, 0), atol=1e-12)
    x3 = rng.standard_normal((4, 4, 3, 2, 2))
    w3 = rng.standard_normal((2, 2, 2, 2, 3))
    y3 = dl.dlconv(dlarray(x3, "SSSCB"), w3, 0, padding=1)
    np.testing.assert_allclose(extractdata(y3), ref_conv(x3, w3, 0, (1,) * 3, (1,) * 3, [1] * 3, [1] * 3), atol=1e-12)


def test_dlconv_unformatted_with_data_format_keeps_layout():
    x = rng.standard_normal((2, 5, 5, 3))  # B S S C
    w = rng.standard_normal((3, 3, 3, 2))
    y = dl.dlconv(dlarray(x), w, 0, data_format="BSSC")
    assert y.fmt == "" and y.shape == (2, 3, 3, 2)
    ref = ref_conv(x.transpose(1, 2, 3, 0), w, 0, (1, 1), (1, 1), [0, 0], [0, 0])
    np.testing.assert_allclose(extractdata(y), ref.transpose(3, 0, 1, 2), atol=1e-12)


def test_dlconv_errors():
    X = dlarray(rng.standard_normal((5, 5, 3, 2)), "SSCB")
    with pytest.raises(dl.ShapeError, match="dlconv"):
        dl.dlconv(X, rng.standard_normal((3, 3, 2, 4)), 0)  # wrong channel count
    with pytest.raises(dl.ShapeError, match="bias"):
        dl.dlconv(X, rng.standard_normal((3, 3, 3, 4)), np.ones(3))
    with pytest.raises(dl.FormatError, match="dlconv"):
        dl.dlconv(dlarray(rng.standard_normal((5, 5))), rng.standard_normal((3, 3, 1, 1)), 0)
    with pytest.raises(dl.FormatError):
        dl.dlconv(dlarray(rng.standard_normal((5, 3)), "SB"), rng.standard_normal((3, 1, 1)), 0)
    with pytest.raises(dl.OptionError):
        dl.dlconv(X, rng.standard_normal((3, 3, 3, 4)), 0, stride=0)
    with pytest.raises(dl.OptionError):
        dl.dlconv(X, rng.standard_normal((3, 3, 3, 4)), 0, padding="valid")
    with pytest.raises(ValueError):
        dl.dlconv(X, rng.standard_normal((7, 7, 3, 4)), 0)  # kernel larger than the input


@pytest.mark.parametrize("stride,crop", [((1, 1), 0), ((2, 2), "same"), ((2, 1), np.array([[1, 0], [0, 1]]))])
def test_dltranspconv_matches_direct_loops(stride, crop):
    x = rng.standard_normal((3, 4, 2, 2))
    w = rng.standard_normal((3, 2, 3, 2))  # K K Fg Cg
    b = rng.standard_normal(3)
    y = dl.dltranspconv(dlarray(x, "SSCB"), w, b, stride=stride, cropping=crop)
    if isinstance(crop, str):
        eff = np.array([3, 2])
        total = eff - np.array(stride)
        cb, ca = list(total // 2), list(total - total // 2)
        assert y.shape[:2] == (3 * stride[0], 4 * stride[1])
    elif np.ndim(crop) == 2:
        cb, ca = list(crop[0]), list(crop[1])
    else:
        cb, ca = [0, 0], [0, 0]
    np.testing.assert_allclose(extractdata(y), ref_transpconv(x, w, b, stride, (1, 1), cb, ca), atol=1e-12)


def test_dltranspconv_is_the_adjoint_of_dlconv():
    x = rng.standard_normal((5, 6, 2, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    g = rng.standard_normal((3, 3, 3, 2))  # dlconv output with stride 2
    y = extractdata(dl.dlconv(dlarray(x, "SSCB"), w, 0, stride=2, padding=1))
    # <conv(x), g> == <x, convT(g)> with the same weights; cropping (before 1,1; after 1,0)
    # gives back x's 5 x 6 size (the last column's window ends in the padding).
    xt = extractdata(dl.dltranspconv(dlarray(g, "SSCB"), w, 0, stride=2, cropping=np.array([[1, 1], [1, 0]])))
    assert xt.shape == x.shape
    np.testing.assert_allclose(np.sum(y * g), np.sum(x * xt), rtol=1e-10)


def ref_pool(x, k, s, pb, pa, kind, counts=True):
    d = x.ndim - 2
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, [(pb[i], pa[i]) for i in range(d)] + [(0, 0), (0, 0)], constant_values=fill)
    ones = np.pad(np.ones(x.shape[:d]), [(pb[i], pa[i]) for i in range(d)])
    out = [(xp.shape[i] - k[i]) // s[i] + 1 for i in range(d)]
    y = np.zeros(out + list(x.shape[d:]))
    for o in itertools.product(*[range(n) for n in out]):
        sl = tuple(slice(o[i] * s[i], o[i] * s[i] + k[i]) for i in range(d))
        win = xp[sl].reshape(-1, *x.shape[d:])
        if kind == "max":
            y[o] = win.max(0)
        else:
            y[o] = win.sum(0) / (np.prod(k) if counts else ones[sl].sum())
    return y


@pytest.mark.parametrize("k,s,pad", [((2, 2), (2, 2), 0), ((3, 2), (1, 1), 0), ((3, 3), (2, 2), 1), ((2, 2), (1, 1), "same")])
def test_pooling_matches_direct_loops(k, s, pad):
    x = rng.standard_normal((6, 5, 2, 2))
    X = dlarray(x, "SSCB")
    if pad == "same":
        pb, pa = [0, 0], [1, 1]
    else:
        pb = pa = [pad, pad]
    np.testing.assert_allclose(extractdata(dl.maxpool(X, k, stride=s, padding=pad)), ref_pool(x, k, s, pb, pa, "max"))
    np.testing.assert_allclose(extractdata(dl.avgpool(X, k, stride=s, padding=pad)), ref_pool(x, k, s, pb, pa, "avg"), atol=1e-12)
    np.testing.assert_allclose(
        extractdata(dl.avgpool(X, k, stride=s, padding=pad, padding_value="mean")),
        ref_pool(x, k, s, pb, pa, "avg", counts=False),
        atol=1e-12,
    )


def test_a_mean_padded_average_window_wholly_in_the_padding_is_zero():
    # Padding after the input at least a pool size wide: the last windows cover no element.
    X = dlarray(rng.standard_normal((3, 3, 1, 1)), "SSCB")
    Y = dl.avgpool(X, 2, stride=2, padding=([0, 0], [3, 3]), padding_value="mean")
    y = extractdata(Y)
    assert y.shape == (3, 3, 1, 1)
    np.testing.assert_array_equal(y[2, :], 0.0)
    np.testing.assert_array_equal(y[:, 2], 0.0)
    np.testing.assert_allclose(y[0, 0, 0, 0], extractdata(X)[:2, :2].mean())

    def loss(x):
        return dlgradient(dl.avgpool(x, 2, stride=2, padding=([0, 0], [3, 3]), padding_value="mean").sum(), x)

    g = extractdata(dlfeval(loss, X))
    assert np.all(np.isfinite(g))


def test_pool_stride_defaults_to_one_and_global():
    X = dlarray(rng.standard_normal((5, 5, 2, 3)), "SSCB")
    assert dl.maxpool(X, 2).shape == (4, 4, 2, 3)  # MATLAB: stride 1, not the pool size
    g = dl.avgpool(X, "global")
    assert g.shape == (1, 1, 2, 3) and g.fmt == "SSCB"
    np.testing.assert_allclose(extractdata(g)[0, 0], extractdata(X).mean((0, 1)))
    m = dl.maxpool(X, "global")
    np.testing.assert_allclose(extractdata(m)[0, 0], extractdata(X).max((0, 1)))


def test_maxpool_indices_and_maxunpool():
    x = rng.standard_normal((4, 6, 2, 3))
    X = dlarray(x, "SSCB")
    Y, idx, size = dl.maxpool(X, 2, stride=2, return_indices=True)
    assert idx.shape == Y.shape and size == X.shape
    np.testing.assert_array_equal(x.reshape(-1)[idx], extractdata(Y))
    U = dl.maxunpool(Y, idx, size)
    assert U.fmt == "SSCB" and U.shape == X.shape
    u = extractdata(U)
    assert np.count_nonzero(u) == Y.size
    np.testing.assert_allclose(u.reshape(-1)[idx], extractdata(Y))
    with pytest.raises(dl.ShapeError):
        dl.maxunpool(Y, idx[:1], size)


def test_pooling_errors():
    X = dlarray(rng.standard_normal((3, 3, 2, 1)), "SSCB")
    with pytest.raises(ValueError, match="maxpool"):
        dl.maxpool(X, 4)
    with pytest.raises(dl.OptionError):
        dl.avgpool(X, 2, padding_value=3)
    with pytest.raises(dl.FormatError):
        dl.maxpool(dlarray(np.ones((3, 3))), 2)


# ----- gradients (float64, first and second order) -------------------------------------------


def test_dlconv_gradients():
    x = rng.standard_normal((4, 4, 2, 2))
    w = rng.standard_normal((2, 2, 2, 2))
    b = rng.standard_normal(2)
    fn = lambda x, w, b: dl.dlconv(x, w, b, stride=(2, 1), padding=((1, 0), (0, 1)))
    X = dlarray(x, "SSCB")
    gradcheck(fn, X, w, b)
    gradgradcheck(fn, X, w, b)


def test_grouped_dilated_conv_gradients():
    x = rng.standard_normal((5, 4, 2, 1))
    w = rng.standard_normal((2, 2, 1, 1, 2))
    fn = lambda x, w: dl.dlconv(x, w, 0, dilation_factor=2, padding=1, padding_value=0.5)
    gradcheck(fn, dlarray(x, "SSCB"), w)
    gradgradcheck(fn, dlarray(x, "SSCB"), w)


def test_dltranspconv_gradients():
    x = rng.standard_normal((2, 3, 2, 2))
    w = rng.standard_normal((2, 2, 2, 2))
    fn = lambda x, w: dl.dltranspconv(x, w, 0, stride=2, cropping=((0, 1), (1, 0)))
    gradcheck(fn, dlarray(x, "SSCB"), w)
    gradgradcheck(fn, dlarray(x, "SSCB"), w)


def test_pooling_gradients():
    # Distinct values so the max is unique and finite differences do not cross a tie.
    x = rng.permutation(36).reshape(3, 3, 2, 2) / 7.0
    X = dlarray(x, "SSCB")
    for fn in (
        lambda x: dl.maxpool(x, 2, stride=1, padding=1),
        lambda x: dl.avgpool(x, 2, stride=1, padding=1),
        lambda x: dl.avgpool(x, 2, stride=1, padding=1, padding_value="mean"),
        lambda x: dl.avgpool(x, "global"),
    ):
        gradcheck(fn, X)
        gradgradcheck(lambda x: fn(x) * fn(x), X)


def test_maxunpool_gradient():
    x = rng.permutation(16).reshape(4, 4, 1, 1) / 3.0
    Y, idx, size = dl.maxpool(dlarray(x, "SSCB"), 2, stride=2, return_indices=True)
    gradcheck(lambda y: dl.maxunpool(y, idx, size), dlarray(extractdata(Y), "SSCB"))
    gradgradcheck(lambda y: dl.maxunpool(y * y, idx, size), dlarray(extractdata(Y), "SSCB"))


def test_conv_matches_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 5))  # N C H W
    w = rng.standard_normal((4, 3, 3, 3))  # F C KH KW
    yt = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1).numpy()
    X = dlarray(x.transpose(2, 3, 1, 0), "SSCB")
    y = dl.dlconv(X, w.transpose(2, 3, 1, 0), 0, stride=2, padding=1)
    np.testing.assert_allclose(extractdata(y).transpose(3, 2, 0, 1), yt, atol=1e-10)
