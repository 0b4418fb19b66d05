"""padsequences, categorical, rescale, imtile and rng (MATLAB's data-preparation helpers)."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray


def _seqs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((2, t)).astype(np.float32) for t in (3, 1, 4)]


def _reference_pad(seqs, n, left, value):
    out = np.full((2, n, len(seqs)), value, np.float32)
    mask = np.zeros(out.shape, bool)
    for i, s in enumerate(seqs):
        k = min(n, s.shape[1])
        part = s[:, -k:] if left else s[:, :k]
        where = slice(n - k, n) if left else slice(0, k)
        out[:, where, i] = part
        mask[:, where, i] = True
    return out, mask


@pytest.mark.parametrize("direction", ["right", "left"])
@pytest.mark.parametrize("length,n", [("longest", 4), ("shortest", 1), (2, 2)])
def test_padsequences_matches_a_loop(direction, length, n):
    seqs = _seqs()
    got, mask = dl.padsequences(seqs, 1, length=length, direction=direction, padding_value=-7, return_mask=True)
    want, want_mask = _reference_pad(seqs, n, direction == "left", -7)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(mask, want_mask)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32


def test_padsequences_formatted_and_matlab_names():
    seqs = [dlarray(s, "CT") for s in _seqs()]
    got, mask = dl.padsequences(seqs, "T", Direction="left", return_mask=True)
    assert got.fmt == "CBT" and got.shape == (2, 3, 4) and mask.shape == (2, 3, 4)
    want, want_mask = _reference_pad(_seqs(), 4, True, 0)
    np.testing.assert_array_equal(np.asarray(got), want.transpose(0, 2, 1))
    np.testing.assert_array_equal(mask, want_mask.transpose(0, 2, 1))
    # The mask drives a masked loss: padding contributes nothing.
    T = dlarray(np.zeros(got.shape, np.float32), "CBT")
    full = dl.l2loss(got, T, mask=dlarray(mask.astype(np.float32), "CBT"), normalization_factor="none")
    np.testing.assert_allclose(float(full), sum(float((s**2).sum()) for s in _seqs()), rtol=1e-5)


def test_padsequences_bad_input():
    with pytest.raises(dl.ShapeError, match="padsequences: the sequences must agree"):
        dl.padsequences([np.ones((2, 3)), np.ones((3, 3))], 1)
    with pytest.raises(dl.DTypeError, match="padsequences: X must be a list"):
        dl.padsequences(np.ones((2, 3)), 1)
    with pytest.raises(dl.OptionError, match="direction"):
        dl.padsequences(_seqs(), 1, direction="up")
    with pytest.raises(dl.OptionError, match="padding_dim 2 is out of range"):
        dl.padsequences(_seqs(), 2)
    with pytest.raises(dl.FormatError, match="'B' dim"):
        dl.padsequences([dlarray(np.ones((2, 3)), "CB")], "C")


def test_categorical_order_and_onehot():
    Y = dl.categorical(["cat", "dog", "cat", "bird", "fish"], ["dog", "cat", "bird"])
    assert dl.categories(Y) == ["dog", "cat", "bird"]
    np.testing.assert_array_equal(Y.codes, [1, 0, 1, 2, -1])
    np.testing.assert_array_equal(Y.isundefined(), [False] * 4 + [True])
    np.testing.assert_array_equal(dl.countcats(Y), [1, 2, 1])
    np.testing.assert_array_equal(Y == "cat", [True, False, True, False, False])
    assert Y[1] == "dog" and Y[4] is None and dl.categories(Y[:2]) == dl.categories(Y)
    T = dl.onehotencode(Y, 0)
    want = np.zeros((3, 5), np.float32)
    want[[1, 0, 1, 2], [0, 1, 2, 3]] = 1
    want[:, 4] = np.nan
    np.testing.assert_array_equal(T, want)
    names = dl.onehotdecode(T[:, :4], dl.categories(Y), 0)
    assert list(names) == ["cat", "dog", "cat", "bird"]
    default = dl.categorical([3, 1, 3])
    assert dl.categories(default) == ["1", "3"] and default.codes.tolist() == [1, 0, 1]
    renamed = dl.categorical([0, 1, 1], [0, 1], ["no", "yes"])
    assert list(renamed) == ["no", "yes", "yes"]
    with pytest.raises(dl.ShapeError, match="catnames"):
        dl.categorical([0, 1], [0, 1], ["a"])


def test_rescale():
    a = np.array([[2.0, 4.0], [6.0, 10.0]])
    np.testing.assert_allclose(dl.rescale(a), (a - 2) / 8)
    np.testing.assert_allclose(dl.rescale(a, -1, 1), (a - 2) / 8 * 2 - 1)
    np.testing.assert_allclose(dl.rescale(a, InputMin=4, InputMax=6), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(dl.rescale(np.full(3, 5.0)), np.zeros(3))
    X = dlarray(a.astype(np.float32), "CB")
    Y = dl.rescale(X)
    assert Y.fmt == "CB" and Y.dtype == np.float32
    np.testing.assert_allclose(np.asarray(Y), (a - 2) / 8, rtol=1e-6)
    assert dl.rescale(np.arange(3, dtype=np.float32)).dtype == np.float32


def test_imtile_grid():
    imgs = np.arange(2 * 3 * 1 * 5, dtype=np.float32).reshape(2, 3, 1, 5)
    out = dl.imtile(imgs)
    assert out.shape == (2 * 2, 3 * 3)  # ceil(sqrt(5)) = 3 columns, 2 rows
    for k in range(5):
        r, c = divmod(k, 3)
        np.testing.assert_array_equal(out[2 * r : 2 * r + 2, 3 * c : 3 * c + 3], imgs[:, :, 0, k])
    np.testing.assert_array_equal(out[2:, 6:], 0)
    framed = dl.imtile(imgs, GridSize=(1, None), BorderSize=1, BackgroundColor=-1, Frames=[4, 0])
    assert framed.shape == (4, 10)
    np.testing.assert_array_equal(framed[1:3, 1:4], imgs[:, :, 0, 4])
    assert framed[0, 0] == -1
    rgb = dl.imtile(dlarray(np.ones((2, 2, 3, 2), np.float32), "SSCB"))
    assert rgb.shape == (2, 4, 3)
    X, _, _ = dl.digitTrain4DArrayData()
    assert dl.imtile(X[..., :16]).shape == (112, 112)


def test_rng_seeds_every_draw():
    def draws():
        net = dl.dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(4), dl.dropoutLayer(0.5)])
        y = net.forward(dlarray(np.ones((3, 6), np.float32), "CB"))
        ds = dl.arrayDatastore(np.arange(10.0)).shuffle()
        return np.asarray(net.learnables.value[0]), np.asarray(y), np.asarray(ds.readall())

    first = dl.rng(42)
    a = draws()
    dl.rng(42)
    b = draws()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    dl.rng(first)  # settings returned before: restore
    dl.rng(0)
    np.testing.assert_allclose(np.random.rand(5), [0.8147, 0.9058, 0.1270, 0.9134, 0.6324], atol=5e-5)  # MATLAB rng(0); rand
    assert dl.rng()["seed"] == 0 and dl.rng("default")["seed"] == 0
    with pytest.raises(dl.OptionError, match="rng: seed"):
        dl.rng(-1)
    with pytest.raises(dl.OptionError, match="rng: generator"):
        dl.rng(1, "philox")
