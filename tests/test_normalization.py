"""batchnorm, layernorm, groupnorm, instancenorm, crosschannelnorm: values against numpy
references written here, MATLAB's call forms and defaults, formats, errors, and first- and
second-order gradients for every option."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import batchnorm, crosschannelnorm, dlarray, dlfeval, dlgradient, extractdata, groupnorm, instancenorm, layernorm
from dlarray.errors import FormatError, OptionError, ShapeError
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(3)
EPS = 1e-5


def _std(a, axes, eps=EPS):
    mu = a.mean(axis=axes, keepdims=True)
    var = ((a - mu) ** 2).mean(axis=axes, keepdims=True)
    return (a - mu) / np.sqrt(var + eps)


def _bcast(p, axis, ndim):
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(p).reshape(shape)


def _params(c):
    return RNG.standard_normal(c), RNG.uniform(0.5, 1.5, c)


# ----- batchnorm ---------------------------------------------------------------------------------


def test_batchnorm_batch_statistics_sscb():
    a = RNG.standard_normal((3, 4, 5, 6)) * 2 + 1
    off, sc = _params(5)
    y = batchnorm(dlarray(a, "SSCB"), off, sc)
    assert y.fmt == "SSCB" and y.shape == a.shape
    ref = _std(a, (0, 1, 3)) * _bcast(sc, 2, 4) + _bcast(off, 2, 4)
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-12, atol=1e-12)


def test_batchnorm_float32_fused_matches_float64():
    a = RNG.standard_normal((7, 6, 4, 9))
    off, sc = _params(4)
    y32 = batchnorm(dlarray(a.astype(np.float32), "SSCB"), off, sc)
    y64 = batchnorm(dlarray(a, "SSCB"), off, sc)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(extractdata(y32), extractdata(y64), rtol=1e-5, atol=1e-5)


def test_batchnorm_cbt_normalises_over_batch_and_time():
    a = RNG.standard_normal((3, 4, 5))
    off, sc = _params(3)
    y = batchnorm(dlarray(a, "CBT"), off.reshape(3, 1), sc.reshape(3, 1))
    ref = _std(a, (1, 2)) * _bcast(sc, 0, 3) + _bcast(off, 0, 3)
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-12, atol=1e-12)


def test_batchnorm_training_returns_updated_running_statistics():
    a = RNG.standard_normal((2, 3, 4, 5))
    off, sc = _params(4)
    rm, rv = RNG.standard_normal(4), RNG.uniform(0.5, 2.0, 4)
    y, m, v = batchnorm(dlarray(a, "SSCB"), off, sc, rm, rv, training=True)
    mu = a.mean(axis=(0, 1, 3))
    var_unbiased = a.var(axis=(0, 1, 3), ddof=1)
    np.testing.assert_allclose(extractdata(m), 0.9 * rm + 0.1 * mu, rtol=1e-13)
    np.testing.assert_allclose(extractdata(v), 0.9 * rv + 0.1 * var_unbiased, rtol=1e-13)
    assert m.shape == (4,) and v.shape == (4,)
    np.testing.assert_allclose(extractdata(y), extractdata(batchnorm(dlarray(a, "SSCB"), off, sc)), rtol=1e-14)
    # Decays and (C, 1) statistics come back in the shape they were given.
    _, m2, v2 = batchnorm(
        dlarray(a, "SSCB"), off, sc, rm.reshape(4, 1), rv.reshape(4, 1), training=True, mean_decay=0.3, variance_decay=0.6
    )
    assert m2.shape == (4, 1) and v2.shape == (4, 1)
    np.testing.assert_allclose(extractdata(m2)[:, 0], 0.7 * rm + 0.3 * mu, rtol=1e-13)
    np.testing.assert_allclose(extractdata(v2)[:, 0], 0.4 * rv + 0.6 * var_unbiased, rtol=1e-13)


def test_batchnorm_training_without_statistics_returns_batch_moments():
    a = RNG.standard_normal((3, 5, 4))
    off, sc = _params(3)
    y, mu, sigma_sq = batchnorm(dlarray(a, "CBT"), off.reshape(3, 1), sc, training=True)
    assert mu.shape == (3, 1) and sigma_sq.shape == (3, 1)  # shaped like offset
    np.testing.assert_allclose(extractdata(mu)[:, 0], a.mean(axis=(1, 2)), rtol=1e-13)
    np.testing.assert_allclose(extractdata(sigma_sq)[:, 0], a.var(axis=(1, 2)), rtol=1e-13)  # biased


def test_batchnorm_inference_uses_given_statistics():
    a = RNG.standard_normal((3, 4, 2))
    off, sc = _params(4)
    tm, tv = RNG.standard_normal(4), RNG.uniform(0.5, 2.0, 4)
    y = batchnorm(dlarray(a, "SCB"), off, sc, tm, tv, epsilon=1e-3)
    ref = (a - _bcast(tm, 1, 3)) / np.sqrt(_bcast(tv, 1, 3) + 1e-3) * _bcast(sc, 1, 3) + _bcast(off, 1, 3)
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-13)
    assert y.fmt == "SCB"


def test_batchnorm_unformatted_with_data_format():
    a = RNG.standard_normal((6, 3))  # (B, C)
    off, sc = _params(3)
    y = batchnorm(dlarray(a), off, sc, data_format="BC")
    assert y.fmt == "" and y.shape == (6, 3)
    np.testing.assert_allclose(extractdata(y), _std(a, (0,)) * sc + off, rtol=1e-12, atol=1e-12)


def test_batchnorm_single_element_per_channel_uses_biased_variance_for_update():
    a = RNG.standard_normal((3, 1))
    _, m, v = batchnorm(dlarray(a, "CB"), np.zeros(3), np.ones(3), np.zeros(3), np.ones(3), training=True)
    np.testing.assert_allclose(extractdata(v), 0.9, rtol=1e-14)
    np.testing.assert_allclose(extractdata(m), 0.1 * a[:, 0], rtol=1e-14)


def test_batchnorm_errors():
    x = dlarray(np.ones((2, 3, 4)), "SCB")
    with pytest.raises(ShapeError, match=r"batchnorm.*offset.*3.*\(4,\)"):
        batchnorm(x, np.zeros(4), np.ones(3))
    with pytest.raises(ShapeError, match="batchnorm.*scale"):
        batchnorm(x, np.zeros(3), np.ones((1, 3)))
    with pytest.raises(FormatError, match="batchnorm.*no 'C'"):
        batchnorm(dlarray(np.ones((2, 3)), "SB"), np.zeros(3), np.ones(3))
    with pytest.raises(FormatError, match="batchnorm.*unformatted"):
        batchnorm(dlarray(np.ones((2, 3))), np.zeros(3), np.ones(3))
    with pytest.raises(OptionError, match="batchnorm.*epsilon"):
        batchnorm(x, np.zeros(3), np.ones(3), epsilon=0)
    with pytest.raises(OptionError, match="batchnorm.*mean_decay"):
        batchnorm(x, np.zeros(3), np.ones(3), np.zeros(3), np.ones(3), training=True, mean_decay=1.5)
    with pytest.raises(OptionError, match="batchnorm.*running_var"):
        batchnorm(x, np.zeros(3), np.ones(3), np.zeros(3))


BN_X = RNG.standard_normal((2, 3, 3)) * 1.5 + 0.5  # "SCB", C = 3


def test_batchnorm_gradients_batch_statistics():
    off, sc = _params(3)
    f = lambda x, o, s: batchnorm(x, o, s)  # noqa: E731
    gradcheck(f, dlarray(BN_X, "SCB"), off, sc)
    gradgradcheck(f, dlarray(BN_X, "SCB"), off, sc)


def test_batchnorm_gradients_training_outputs():
    off, sc = _params(3)
    rm, rv = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)
    for k in range(3):
        f = lambda x, o, s, m, v: batchnorm(x, o, s, m, v, training=True)[k]  # noqa: E731
        gradcheck(f, dlarray(BN_X, "SCB"), off, sc, rm, rv)
        gradgradcheck(f, dlarray(BN_X, "SCB"), off, sc, rm, rv)
    for k in (1, 2):  # batch moments without running statistics
        f = lambda x, o, s: batchnorm(x, o, s, training=True)[k]  # noqa: E731
        gradcheck(f, dlarray(BN_X, "SCB"), off, sc)
        gradgradcheck(f, dlarray(BN_X, "SCB"), off, sc)


def test_batchnorm_gradients_inference():
    off, sc = _params(3)
    tm, tv = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)
    f = lambda x, o, s, m, v: batchnorm(x, o, s, m, v)  # noqa: E731
    gradcheck(f, dlarray(BN_X, "SCB"), off, sc, tm, tv)
    gradgradcheck(f, dlarray(BN_X, "SCB"), off, sc, tm, tv)


def test_batchnorm_gradients_unformatted_and_column_params():
    off, sc = _params(3)
    f = lambda x, o, s: batchnorm(x, o, s, data_format="BC")  # noqa: E731
    x = RNG.standard_normal((4, 3))
    gradcheck(f, x, off.reshape(3, 1), sc.reshape(3, 1))
    gradgradcheck(f, x, off.reshape(3, 1), sc.reshape(3, 1))


def test_batchnorm_fused_gradient_float32_matches_float64():
    a = RNG.standard_normal((5, 4, 3, 6))
    w = RNG.standard_normal(a.shape)
    off, sc = _params(3)

    def grads(x, o, s):
        return dlgradient((dl.stripdims(batchnorm(x, o, s)) * w).sum(), x, o, s)

    g32 = dlfeval(grads, dlarray(a.astype(np.float32), "SSCB"), dlarray(off.astype(np.float32)), dlarray(sc.astype(np.float32)))
    g64 = dlfeval(grads, dlarray(a, "SSCB"), dlarray(off), dlarray(sc))
    for u, v in zip(g32, g64):
        assert u.dtype == np.float32
        np.testing.assert_allclose(extractdata(u), extractdata(v), rtol=2e-4, atol=2e-4)


# ----- layernorm ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,shape,mode,axes",
    [
        ("SSCB", (2, 3, 4, 2), "auto", (0, 1, 2)),
        ("SSCB", (2, 3, 4, 2), "spatial-channel", (0, 1, 2)),
        ("SSCB", (2, 3, 4, 2), "channel-only", (2,)),
        ("SSCB", (2, 3, 4, 2), "batch-excluded", (0, 1, 2)),
        ("CB", (4, 3), "auto", (0,)),
        ("CBT", (4, 2, 3), "auto", (0,)),
        ("CBT", (4, 2, 3), "batch-excluded", (0, 2)),
        ("SCBT", (2, 4, 2, 3), "auto", (0, 1)),
        ("SCBT", (2, 4, 2, 3), "batch-excluded", (0, 1, 3)),
    ],
)
def test_layernorm_operation_dimensions(fmt, shape, mode, axes):
    a = RNG.standard_normal(shape)
    c = fmt.index("C")
    off, sc = _params(shape[c])
    y = layernorm(dlarray(a, fmt), off, sc, operation_dimension=mode)
    assert y.fmt == fmt
    ref = _std(a, axes) * _bcast(sc, c, len(shape)) + _bcast(off, c, len(shape))
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-12, atol=1e-12)


def test_layernorm_epsilon_data_format_and_errors():
    a = RNG.standard_normal((3, 4))  # (B, C)
    off, sc = _params(4)
    y = layernorm(dlarray(a), off, sc, epsilon=0.5, data_format="BC")
    assert y.fmt == ""
    np.testing.assert_allclose(extractdata(y), _std(a, (1,), 0.5) * sc + off, rtol=1e-13)
    with pytest.raises(OptionError, match="layernorm.*operation_dimension"):
        layernorm(dlarray(a, "BC"), off, sc, operation_dimension="time")
    with pytest.raises(ShapeError, match="layernorm.*offset"):
        layernorm(dlarray(a, "BC"), np.zeros(3), sc)


@pytest.mark.parametrize("mode", ["auto", "channel-only", "spatial-channel", "batch-excluded"])
def test_layernorm_gradients(mode):
    x = dlarray(RNG.standard_normal((2, 3, 2, 2)), "SCBT")
    off, sc = _params(3)
    f = lambda x, o, s: layernorm(x, o, s, operation_dimension=mode)  # noqa: E731
    gradcheck(f, x, off, sc)
    gradgradcheck(f, x, off, sc)


# ----- groupnorm ---------------------------------------------------------------------------------


def _groupnorm_ref(a, g, off, sc):  # a: (H, W, C, N)
    H, W, C, N = a.shape
    s = a.reshape(H, W, g, C // g, N)
    z = _std(s, (0, 1, 3)).reshape(a.shape)
    return z * _bcast(sc, 2, 4) + _bcast(off, 2, 4)


@pytest.mark.parametrize("groups,g", [(2, 2), (3, 3), ("all-channels", 1), ("channel-wise", 6), (1, 1), (6, 6)])
def test_groupnorm_values(groups, g):
    a = RNG.standard_normal((2, 3, 6, 2))
    off, sc = _params(6)
    y = groupnorm(dlarray(a, "SSCB"), groups, off, sc)
    assert y.fmt == "SSCB"
    np.testing.assert_allclose(extractdata(y), _groupnorm_ref(a, g, off, sc), rtol=1e-12, atol=1e-12)


def test_groupnorm_special_groups_equal_layernorm_and_instancenorm():
    x = dlarray(RNG.standard_normal((2, 2, 4, 3)), "SSCB")
    off, sc = _params(4)
    np.testing.assert_allclose(extractdata(groupnorm(x, "all-channels", off, sc)), extractdata(layernorm(x, off, sc)), rtol=1e-12)
    np.testing.assert_allclose(extractdata(groupnorm(x, "channel-wise", off, sc)), extractdata(instancenorm(x, off, sc)), rtol=1e-12)


def test_groupnorm_channels_first_unformatted_and_errors():
    a = RNG.standard_normal((2, 4, 5))  # (N, C, L)
    off, sc = _params(4)
    y = groupnorm(dlarray(a), 2, off, sc, data_format="BCS")
    s = a.reshape(2, 2, 2, 5)
    ref = _std(s, (2, 3)).reshape(a.shape) * _bcast(sc, 1, 3) + _bcast(off, 1, 3)
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-12, atol=1e-12)
    x = dlarray(a, "BCS")
    with pytest.raises(ShapeError, match="groupnorm.*4 channels.*3 groups"):
        groupnorm(x, 3, off, sc)
    for bad in (0, -2, 1.5, "some", True):
        with pytest.raises(OptionError, match="groupnorm.*num_groups"):
            groupnorm(x, bad, off, sc)


@pytest.mark.parametrize("groups", [2, "all-channels", "channel-wise"])
def test_groupnorm_gradients(groups):
    x = dlarray(RNG.standard_normal((2, 2, 4, 2)), "SSCB")
    off, sc = _params(4)
    f = lambda x, o, s: groupnorm(x, groups, o, s)  # noqa: E731
    gradcheck(f, x, off, sc)
    gradgradcheck(f, x, off, sc)


# ----- instancenorm --------------------------------------------------------------------------------


def test_instancenorm_values():
    a = RNG.standard_normal((3, 2, 4, 2))
    off, sc = _params(4)
    y = instancenorm(dlarray(a, "SSCB"), off, sc, epsilon=1e-4)
    ref = _std(a, (0, 1), 1e-4) * _bcast(sc, 2, 4) + _bcast(off, 2, 4)
    np.testing.assert_allclose(extractdata(y), ref, rtol=1e-12, atol=1e-12)
    a = RNG.standard_normal((3, 2, 5))
    off, sc = _params(3)
    y = instancenorm(dlarray(a, "CBT"), off, sc)
    np.testing.assert_allclose(extractdata(y), _std(a, (2,)) * _bcast(sc, 0, 3) + _bcast(off, 0, 3), rtol=1e-12, atol=1e-12)


def test_instancenorm_without_spatial_or_time_gives_offset():
    off, sc = _params(3)
    y = instancenorm(dlarray(RNG.standard_normal((3, 4)), "CB"), off, sc)
    np.testing.assert_allclose(extractdata(y), np.repeat(off[:, None], 4, axis=1), rtol=1e-15)


def test_instancenorm_gradients():
    x = dlarray(RNG.standard_normal((3, 2, 2, 2)), "SSCB")
    off, sc = _params(2)
    f = lambda x, o, s: instancenorm(x, o, s)  # noqa: E731
    gradcheck(f, x, off, sc)
    gradgradcheck(f, x, off, sc)


# ----- crosschannelnorm ------------------------------------------------------------------------------


def _lrn_ref(a, c_axis, n, alpha, beta, k):
    sq = np.moveaxis(a, c_axis, 0) ** 2
    C = sq.shape[0]
    ss = np.zeros_like(sq)
    for ch in range(C):
        lo, hi = max(0, ch - n // 2), min(C, ch + (n - 1) // 2 + 1)
        ss[ch] = sq[lo:hi].sum(axis=0)
    return a / np.moveaxis(k + alpha * ss / n, 0, c_axis) ** beta


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9])
def test_crosschannelnorm_values(n):
    a = RNG.standard_normal((2, 3, 6, 2)) * 3
    y = crosschannelnorm(dlarray(a, "SSCB"), n)
    assert y.fmt == "SSCB"
    np.testing.assert_allclose(extractdata(y), _lrn_ref(a, 2, n, 1e-4, 0.75, 2.0), rtol=1e-13)


def test_crosschannelnorm_options_and_unformatted():
    a = RNG.standard_normal((3, 5)) * 3  # (B, C)
    y = crosschannelnorm(dlarray(a), 3, alpha=0.5, beta=0.6, k=1.5, data_format="BC")
    assert y.fmt == ""
    np.testing.assert_allclose(extractdata(y), _lrn_ref(a, 1, 3, 0.5, 0.6, 1.5), rtol=1e-13)
    for bad in (0, 2.5, "3"):
        with pytest.raises(OptionError, match="crosschannelnorm.*window"):
            crosschannelnorm(dlarray(a, "BC"), bad)
    with pytest.raises(OptionError, match="crosschannelnorm.*beta"):
        crosschannelnorm(dlarray(a, "BC"), 3, beta=float("inf"))


@pytest.mark.parametrize("n", [2, 3])
def test_crosschannelnorm_gradients(n):
    x = dlarray(RNG.standard_normal((2, 4, 2)) * 3, "SCB")
    f = lambda x: crosschannelnorm(x, n, alpha=0.3, beta=0.75, k=1.0)  # noqa: E731
    gradcheck(f, x)
    gradgradcheck(f, x)


# ----- PyTorch, when installed -----------------------------------------------------------------------


def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    a = RNG.standard_normal((3, 4, 6, 2))  # "SSCB" -> torch NCHW
    t = torch.tensor(np.transpose(a, (3, 2, 0, 1)))
    x = dlarray(a, "SSCB")
    off, sc = _params(6)
    back = lambda r: np.transpose(r.numpy(), (2, 3, 1, 0))  # noqa: E731
    rm, rv = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    ref = F.batch_norm(t, rm, rv, torch.tensor(sc), torch.tensor(off), training=True, momentum=0.1, eps=EPS)
    y, m, v = batchnorm(x, off, sc, np.zeros(6), np.ones(6), training=True)
    np.testing.assert_allclose(extractdata(y), back(ref), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(extractdata(m), rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(extractdata(v), rv.numpy(), rtol=1e-12)
    ref = F.group_norm(t, 3, torch.tensor(sc), torch.tensor(off), eps=EPS)
    np.testing.assert_allclose(extractdata(groupnorm(x, 3, off, sc)), back(ref), rtol=1e-10, atol=1e-12)
    ref = F.instance_norm(t, weight=torch.tensor(sc), bias=torch.tensor(off), eps=EPS)
    np.testing.assert_allclose(extractdata(instancenorm(x, off, sc)), back(ref), rtol=1e-10, atol=1e-12)
    for n in (3, 4):
        ref = F.local_response_norm(t, n, alpha=1e-4, beta=0.75, k=2.0)
        np.testing.assert_allclose(extractdata(crosschannelnorm(x, n)), back(ref), rtol=1e-12)
    a2 = RNG.standard_normal((5, 3))  # "CB"
    ref = F.layer_norm(torch.tensor(a2.T), (5,), torch.tensor(sc[:5] if len(sc) >= 5 else None), None, eps=EPS)
    ours = layernorm(dlarray(a2, "CB"), np.zeros(5), sc[:5])
    np.testing.assert_allclose(extractdata(ours), ref.numpy().T, rtol=1e-10, atol=1e-12)
