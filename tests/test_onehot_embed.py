"""onehotencode, onehotdecode and embed: values against numpy, formats, 0-based indices,
errors, and embed's first- and second-order gradients (scatter-add into the weights)."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import DlIndexError, FormatError, OptionError, ShapeError, dlarray
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)


# ----- onehotencode ----------------------------------------------------------------------------


def test_onehotencode_vector_to_classes_by_observations():
    out = dl.onehotencode(np.array([2, 0, 1, 2]), 0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (3, 4)
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1, 2]].T)
    np.testing.assert_array_equal(dl.onehotencode([2, 0], 1), np.eye(3)[[2, 0]])


def test_onehotencode_replaces_singleton_feature_dim_like_matlab():
    labels = np.array([[1], [0], [3]])  # (N, 1), featureDim 1 -> (N, K)
    out = dl.onehotencode(labels, 1, num_classes=5)
    assert out.shape == (3, 5)
    np.testing.assert_array_equal(out, np.eye(5)[[1, 0, 3]])
    out = dl.onehotencode(labels.T, 0, "float64")  # (1, N), featureDim 0 -> (K, N)
    assert out.dtype == np.float64 and out.shape == (4, 3)


def test_onehotencode_class_names_and_undefined():
    out = dl.onehotencode(np.array(["dog", "cat", "bird", "dog"]), 0, class_names=["cat", "dog"])
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(out[:, [0, 1, 3]], [[0, 1, 0], [1, 0, 1]])
    assert np.isnan(out[:, 2]).all()  # not a class: NaN, as MATLAB's undefined
    out = dl.onehotencode(np.array(["b", "a", "b"]), 0)  # sorted distinct values
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 1]])
    out = dl.onehotencode(np.array([7, 3, 7]), 0, class_names=[3, 5, 7])
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 0], [1, 0, 1]])
    out = dl.onehotencode(np.array([1.0, np.nan]), 0, num_classes=2)
    np.testing.assert_array_equal(out[:, 0], [0, 1])
    assert np.isnan(out[:, 1]).all()


def test_onehotencode_formatted_dlarray():
    out = dl.onehotencode(dlarray(np.array([2.0, 0.0, 1.0]), "B"), "C")
    assert isinstance(out, dlarray) and out.fmt == "CB" and out.shape == (3, 3)
    np.testing.assert_array_equal(np.asarray(out), np.eye(3)[[2, 0, 1]].T)
    lab = dlarray(np.array([[[1.0, 0.0], [2.0, 2.0]]]), "CBT")  # C of size 1
    out = dl.onehotencode(lab, "C", num_classes=4)
    assert out.fmt == "CBT" and out.shape == (4, 2, 2)
    np.testing.assert_array_equal(np.asarray(out)[:, 1, 0], [0, 0, 1, 0])
    un = dl.onehotencode(dlarray(np.array([1.0, 0.0])), 0)
    assert isinstance(un, dlarray) and un.fmt == "" and un.shape == (2, 2)


def test_onehotencode_errors():
    with pytest.raises(DlIndexError, match="onehotencode.*out of range"):
        dl.onehotencode(np.array([0, 3]), 0, num_classes=3)
    with pytest.raises(DlIndexError, match="negative"):
        dl.onehotencode(np.array([0, -1]), 0)
    with pytest.raises(DlIndexError, match="integer"):
        dl.onehotencode(np.array([0.5, 1.0]), 0)
    with pytest.raises(OptionError, match="feature_dim"):
        dl.onehotencode(np.array([0, 1]), 2)
    with pytest.raises(OptionError, match="feature_dim"):
        dl.onehotencode(np.array([0, 1]), "C")
    with pytest.raises(OptionError, match="dtype"):
        dl.onehotencode(np.array([0, 1]), 0, "int32")
    with pytest.raises(FormatError, match="'B' dim"):
        dl.onehotencode(dlarray(np.array([[0.0, 1.0]]), "CB"), 1)
    with pytest.raises(ShapeError, match="size 2"):
        dl.onehotencode(dlarray(np.zeros((2, 3)), "CB"), "C")
    with pytest.raises(OptionError, match="disagrees"):
        dl.onehotencode(np.array(["a"]), 0, class_names=["a", "b"], num_classes=3)


# ----- onehotdecode ----------------------------------------------------------------------------


def test_onehotdecode_roundtrip_and_ties():
    labels = RNG.integers(0, 4, 10)
    np.testing.assert_array_equal(dl.onehotdecode(dl.onehotencode(labels, 0, num_classes=4), None, 0), labels)
    scores = np.array([[0.2, 0.5], [0.5, 0.5], [0.3, 0.0]])  # second column ties -> first
    np.testing.assert_array_equal(dl.onehotdecode(scores, None, 0), [1, 0])
    np.testing.assert_array_equal(dl.onehotdecode(scores, ["x", "y", "z"], 0), ["y", "x"])
    kept = dl.onehotdecode(scores, None, 0, keepdims=True)
    assert kept.shape == (1, 2)
    np.testing.assert_array_equal(dl.onehotdecode(scores.T, None, 1), [1, 0])


def test_onehotdecode_formatted_and_undefined():
    Y = dlarray(np.array([[0.1, 0.7], [0.9, 0.3]]), "CB")
    np.testing.assert_array_equal(dl.onehotdecode(Y, None, "C"), [1, 0])
    np.testing.assert_array_equal(dl.onehotdecode(Y, ["a", "b"], 0), ["b", "a"])
    enc = dl.onehotencode(np.array(["a", "q", "b"]), 0, class_names=["a", "b"])
    np.testing.assert_array_equal(dl.onehotdecode(enc, None, 0), [0, -1, 1])
    names = dl.onehotdecode(enc, ["a", "b"], 0)
    assert list(names) == ["a", None, "b"]


def test_onehotdecode_errors():
    with pytest.raises(ShapeError, match="onehotdecode.*3 class_names.*2 classes"):
        dl.onehotdecode(np.eye(2), ["a", "b", "c"], 0)
    with pytest.raises(OptionError, match="feature_dim"):
        dl.onehotdecode(np.eye(2), None, 2)
    with pytest.raises(FormatError, match="no 'C'"):
        dl.onehotdecode(dlarray(np.eye(2), "SB"), None, "C")


# ----- embed ---------------------------------------------------------------------------------


def test_embed_bt_gives_cbt_with_zero_based_lookup():
    W = RNG.standard_normal((3, 5))
    idx = np.array([[0, 4, 2], [1, 1, 3]])  # (B, T)
    Y = dl.embed(dlarray(idx, "BT"), W)
    assert Y.fmt == "CBT" and Y.shape == (3, 2, 3)
    np.testing.assert_array_equal(np.asarray(Y), W[:, idx])
    Y2 = dl.embed(dlarray(idx[None], "CBT"), W)  # C of size 1 is replaced
    assert Y2.fmt == "CBT"
    np.testing.assert_array_equal(np.asarray(Y2), W[:, idx])


def test_embed_other_layouts():
    W = RNG.standard_normal((2, 6))
    idx = RNG.integers(0, 6, (3, 4, 2))  # S S B
    Y = dl.embed(dlarray(idx, "SSB"), W)
    assert Y.fmt == "SSCB" and Y.shape == (3, 4, 2, 2)
    np.testing.assert_array_equal(np.asarray(Y), np.moveaxis(W[:, idx], 0, 2))
    tb = idx[0].T  # (T=2, B=4) unformatted: C goes first (no S dims)
    Y = dl.embed(tb, W, data_format="TB")
    assert Y.fmt == "" and Y.shape == (2, 2, 4)
    np.testing.assert_array_equal(np.asarray(Y), W[:, tb])
    Y = dl.embed(idx, W, data_format="SSB")
    assert Y.shape == (3, 4, 2, 2)
    Y = dl.embed(np.array([[2, 1, 0]]), W, data_format="CB")  # C replaced in place
    assert Y.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(Y), W[:, [2, 1, 0]])
    Y = dl.embed(dlarray(idx[:, :, 0], "BT"), W.T.copy(), weights_format="UC")
    np.testing.assert_array_equal(np.asarray(Y), W[:, idx[:, :, 0]])
    assert dl.embed(dlarray(idx[:, :, 0], "BT"), W.astype(np.float32)).dtype == np.float32


def test_embed_errors():
    W = np.zeros((3, 5))
    with pytest.raises(DlIndexError, match="embed.*5.*0-based"):
        dl.embed(dlarray(np.array([[0, 5]]), "BT"), W)
    with pytest.raises(DlIndexError, match="embed.*-1"):
        dl.embed(dlarray(np.array([[0, -1]]), "BT"), W)
    with pytest.raises(DlIndexError, match="integer"):
        dl.embed(dlarray(np.array([[0.5, 1.0]]), "BT"), W)
    with pytest.raises(ShapeError, match="embed.*'C'.*size 1"):
        dl.embed(dlarray(np.zeros((2, 3)), "CB"), W)
    with pytest.raises(ShapeError, match="embed.*2-D"):
        dl.embed(dlarray(np.zeros((2, 3)), "BT"), np.zeros(5))
    with pytest.raises(FormatError, match="embed.*data_format"):
        dl.embed(np.zeros((2, 3)), W)
    with pytest.raises(FormatError, match="embed"):
        dl.embed(dlarray(np.zeros((2, 3))), W)


def test_embed_gradient_accumulates_repeated_indices():
    idx = np.array([[0, 3, 3], [1, 3, 0]])  # 3 used three times, 2 and 4 never
    W = RNG.standard_normal((2, 5))
    V = RNG.standard_normal((2, 2, 3))

    def grad(Wd):
        return dl.dlgradient((dl.stripdims(dl.embed(dlarray(idx, "BT"), Wd)) * V).sum(), Wd)

    g = np.asarray(dl.dlfeval(grad, dlarray(W)))
    want = np.zeros_like(W)
    np.add.at(want.T, idx.ravel(), V.reshape(2, -1).T)
    np.testing.assert_allclose(g, want, rtol=1e-14)
    assert np.all(g[:, [2, 4]] == 0)


def test_embed_first_and_second_order_gradcheck():
    idx = np.array([[0, 3, 3], [1, 3, 0]])

    def fn(Wd):
        Y = dl.embed(dlarray(idx, "BT"), Wd)
        return dl.stripdims(Y) ** 3  # nonlinear, so the second derivative is not trivially 0

    W = RNG.standard_normal((2, 4))
    gradcheck(fn, W)
    gradgradcheck(fn, W)


def test_embed_then_loss_differentiates_twice():
    idx = np.array([[2, 0], [1, 1]])
    targets = np.array([[[0.5, 1.0], [0.0, -1.0]], [[1.0, 0.0], [2.0, 0.5]]])

    def fn(Wd):
        return dl.mse(dl.embed(dlarray(idx, "BT"), Wd), targets)

    gradgradcheck(fn, RNG.standard_normal((2, 3)))
