"""attention: values against a numpy reference written here (heads, scale, causal, custom and
padding masks), formats, weights layout, errors, and first- and second-order gradients."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import FormatError, OptionError, ShapeError, attention, dlarray, extractdata
from gradcheck import gradcheck, gradgradcheck


def np_attention(q, k, v, nh, scale=None, allow=None):
    """q (Cq, B, Tq), k (Cq, B, Tk), v (Cv, B, Tk); allow (B, Tq, Tk) bool or None.
    Returns Y (Cv, B, Tq) and weights (Tk, Tq, nh, B)."""
    Cq, B, Tq = q.shape
    Cv, _, Tk = v.shape
    dq, dv = Cq // nh, Cv // nh
    scale = 1 / np.sqrt(dq) if scale is None else scale
    Y = np.zeros((Cv, B, Tq))
    Wt = np.zeros((Tk, Tq, nh, B))
    for b in range(B):
        for h in range(nh):
            qh = q[h * dq : (h + 1) * dq, b, :]  # (dq, Tq)
            kh = k[h * dq : (h + 1) * dq, b, :]
            vh = v[h * dv : (h + 1) * dv, b, :]
            s = scale * (qh.T @ kh)  # (Tq, Tk)
            if allow is not None:
                s = np.where(allow[b], s, -1e30)
            s = s - s.max(axis=1, keepdims=True)
            p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
            Y[h * dv : (h + 1) * dv, b, :] = vh @ p.T
            Wt[:, :, h, b] = p.T
    return Y, Wt


def data(Cq=4, Cv=6, B=2, Tq=3, Tk=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((Cq, B, Tq)), rng.standard_normal((Cq, B, Tk)), rng.standard_normal((Cv, B, Tk))


@pytest.mark.parametrize("nh", [1, 2])
def test_values_and_weights(nh):
    q, k, v = data()
    Y, W = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), nh, return_weights=True)
    rY, rW = np_attention(q, k, v, nh)
    assert Y.fmt == "CBT" and Y.shape == (6, 2, 3)
    assert W.fmt == "" and W.shape == (5, 3, nh, 2)
    np.testing.assert_allclose(extractdata(Y), rY, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(extractdata(W), rW, rtol=1e-12, atol=1e-12)


def test_numeric_scale():
    q, k, v = data()
    Y = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 2, scale=0.3)
    np.testing.assert_allclose(extractdata(Y), np_attention(q, k, v, 2, scale=0.3)[0], rtol=1e-12)


def test_causal_mask():
    q, k, v = data(Tq=4, Tk=4)
    Y, W = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 2, attention_mask="causal", return_weights=True)
    allow = np.broadcast_to(np.tril(np.ones((4, 4), bool)), (2, 4, 4))
    np.testing.assert_allclose(extractdata(Y), np_attention(q, k, v, 2, allow=allow)[0], rtol=1e-12)
    w = extractdata(W)
    assert np.all(w[np.triu_indices(4, 1)[1], np.triu_indices(4, 1)[0]] == 0)  # key > query: no weight
    # the first query sees only the first key
    np.testing.assert_allclose(w[0, 0], 1.0)


def test_custom_attention_mask_and_padding_mask():
    q, k, v = data()
    rng = np.random.default_rng(3)
    m = rng.random((5, 3)) > 0.4  # (Tk, Tq), MATLAB's layout
    m[0] = True
    pad = np.ones((2, 5), bool)  # (B, Tk)
    pad[1, 3:] = False
    Y = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 2, attention_mask=m, padding_mask=pad)
    allow = m.T[None] & pad[:, None, :]
    np.testing.assert_allclose(extractdata(Y), np_attention(q, k, v, 2, allow=allow)[0], rtol=1e-12)
    # a formatted padding mask the layout of keys, and a (Tk, Tq, B) attention mask
    Y2 = attention(
        dlarray(q, "CBT"),
        dlarray(k, "CBT"),
        dlarray(v, "CBT"),
        2,
        attention_mask=np.repeat(m[:, :, None], 2, axis=2),
        padding_mask=dlarray(pad.astype(float), "BT"),
    )
    np.testing.assert_allclose(extractdata(Y2), extractdata(Y), rtol=1e-12)


def test_fully_masked_query_is_uniform_not_nan():
    q, k, v = data(B=1)
    pad = np.zeros((1, 5), bool)
    Y = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 1, padding_mask=pad)
    np.testing.assert_allclose(extractdata(Y)[:, 0, :], np.repeat(v[:, 0, :].mean(axis=1, keepdims=True), 3, axis=1), rtol=1e-12)


def test_formats():
    q, k, v = data(B=1)
    Y = attention(dlarray(q[:, 0], "CT"), dlarray(k[:, 0], "CT"), dlarray(v[:, 0], "CT"), 2)
    assert Y.fmt == "CT" and Y.shape == (6, 3)
    np.testing.assert_allclose(extractdata(Y), np_attention(q, k, v, 2)[0][:, 0], rtol=1e-12)
    q, k, v = data()
    Yu = attention(q.transpose(2, 0, 1), k.transpose(2, 0, 1), v.transpose(2, 0, 1), 2, data_format="TCB")
    assert Yu.fmt == "" and Yu.shape == (3, 6, 2)
    np.testing.assert_allclose(extractdata(Yu), np_attention(q, k, v, 2)[0].transpose(2, 0, 1), rtol=1e-12)


def test_dropout():
    q, k, v = data()
    args = (dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 2)
    np.random.seed(0)
    _, W = attention(*args, dropout_probability=0.5, return_weights=True)
    _, W0 = attention(*args, return_weights=True)
    w, w0 = extractdata(W), extractdata(W0)
    kept = w != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(w[kept], 2 * w0[kept], rtol=1e-12)


def test_errors():
    q, k, v = data()
    Q, K, V = dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT")
    with pytest.raises(ShapeError, match="attention: num_heads = 3"):
        attention(Q, K, V, 3)
    with pytest.raises(ShapeError, match="attention: keys"):
        attention(Q, dlarray(k[:2], "CBT"), V, 2)
    with pytest.raises(FormatError, match="attention: queries.*'T'"):
        attention(dlarray(q[:, :, 0], "CB"), K, V, 2)
    with pytest.raises(FormatError, match="attention"):
        attention(dlarray(q), K, V, 2)
    with pytest.raises(OptionError, match="attention: scale"):
        attention(Q, K, V, 2, scale="big")
    with pytest.raises(OptionError, match="attention: attention_mask"):
        attention(Q, K, V, 2, attention_mask="future")
    with pytest.raises(ShapeError, match="attention: attention_mask"):
        attention(Q, K, V, 2, attention_mask=np.ones((3, 3)))
    with pytest.raises(OptionError, match="attention: num_heads"):
        attention(Q, K, V, 0)


def _fn(nh, **kw):
    def f(q, k, v):
        return dl.stripdims(attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), nh, **kw))

    return f


@pytest.mark.parametrize("kw", [{}, {"attention_mask": "causal"}, {"padding_mask": np.array([[1, 1, 0], [1, 1, 1]])}])
def test_gradcheck(kw):
    q, k, v = data(Cq=4, Cv=2, B=2, Tq=3, Tk=3, seed=1)
    gradcheck(_fn(2, **kw), q, k, v)
    gradgradcheck(_fn(2, **kw), q, k, v)


def test_weights_gradcheck():
    q, k, v = data(Cq=2, Cv=2, B=1, Tq=2, Tk=3, seed=2)

    def f(q, k, v):
        _, W = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 1, return_weights=True)
        return W

    gradcheck(f, q, k, v)
    gradgradcheck(f, q, k, v)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    q, k, v = data(Cq=4, Cv=4, B=2, Tq=3, Tk=5)
    ref = torch.nn.functional.scaled_dot_product_attention(
        torch.from_numpy(q.reshape(2, 2, 2, 3).transpose(2, 0, 3, 1).copy()),
        torch.from_numpy(k.reshape(2, 2, 2, 5).transpose(2, 0, 3, 1).copy()),
        torch.from_numpy(v.reshape(2, 2, 2, 5).transpose(2, 0, 3, 1).copy()),
    )  # (B, heads, Tq, d)
    Y = attention(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"), 2)
    np.testing.assert_allclose(extractdata(Y), ref.numpy().transpose(1, 3, 0, 2).reshape(4, 2, 3), rtol=1e-10)
