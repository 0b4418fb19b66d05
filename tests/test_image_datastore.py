"""imageDatastore, imageDataAugmenter and augmentedImageDatastore: files and labels as MATLAB
lists them, decoding with Pillow, label splits, mini-batches through minibatchqueue, and
augmentation checked against independent references."""

import os
import sys

import dlarray as dl
import numpy as np
import pytest
from dlarray.errors import DatastoreLocationError, ImageReadError, OptionError, ShapeError, UnknownOptionError

Image = pytest.importorskip("PIL.Image", reason="Pillow not installed (pip install 'dlarray[images]')")


def _gray(seed, h=6, w=5):
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    """root/{b,a,c}/img*.png: 3, 4 and 2 grayscale PNGs, written out of order."""
    root = tmp_path / "images"
    pixels = {}
    for label, count in (("b", 3), ("a", 4), ("c", 2)):
        (root / label).mkdir(parents=True)
        for k in reversed(range(count)):
            name = root / label / f"img{(2, 10, 1, 11)[k]}.png"
            pixels[str(name)] = _gray(hash((label, k)) % 1000)
            Image.fromarray(pixels[str(name)]).save(name)
    return root, pixels


def test_files_sorted_and_labels_from_folder_names(folder):
    root, pixels = folder
    imds = dl.imageDatastore(root, include_subfolders=True, label_source="foldernames")
    assert imds.files == sorted(os.path.abspath(p) for p in pixels)  # ASCII order: img10 before img2
    assert all(os.path.isabs(f) for f in imds.files)
    assert imds.labels.categories == ["a", "b", "c"]
    assert list(imds.labels) == [os.path.basename(os.path.dirname(f)) for f in imds.files]
    assert imds.numobservations == len(imds) == 9
    assert imds.countEachLabel() == dl.countEachLabel(imds) == {"a": 4, "b": 3, "c": 2}
    for f in imds.files:
        np.testing.assert_array_equal(imds.read(), pixels[f])
    assert not imds.hasdata()


def test_locations_lists_patterns_and_extensions(folder, tmp_path):
    root, pixels = folder
    with pytest.raises(DatastoreLocationError, match="include_subfolders"):
        dl.imageDatastore(root)  # folders only at the top
    with pytest.raises(DatastoreLocationError, match="names no file or folder"):
        dl.imageDatastore(tmp_path / "missing")
    both = dl.imageDatastore([root / "c", root / "a"])
    assert [os.path.basename(os.path.dirname(f)) for f in both.files] == ["c"] * 2 + ["a"] * 4  # location order kept
    pattern = dl.imageDatastore(str(root / "*" / "img1*.png"))
    assert pattern.files == sorted(f for f in pixels if os.path.basename(f).startswith("img1"))
    single = dl.imageDatastore(sorted(pixels)[0])
    assert single.files == [sorted(pixels)[0]]
    Image.fromarray(_gray(1)).save(root / "a" / "upper.PNG")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "a" / "photo.jpg")
    (root / "a" / "notes.txt").write_text("not an image")
    names = [os.path.basename(f) for f in dl.imageDatastore(root / "a").files]
    assert "upper.PNG" in names and "photo.jpg" in names and "notes.txt" not in names
    only_png = dl.imageDatastore(root / "a", file_extensions=".png")
    assert not any(f.endswith(".jpg") for f in only_png.files) and any(f.endswith(".PNG") for f in only_png.files)


def test_decoded_layouts(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 9, np.uint8)], axis=2)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    smooth = np.stack([*np.meshgrid(np.arange(7) * 30, np.arange(5) * 40), np.full((5, 7), 128)], axis=2).astype(np.uint8)
    Image.fromarray(smooth).save(tmp_path / "photo.jpg", quality=95)
    Image.fromarray(np.arange(35, dtype=np.uint16).reshape(5, 7) * 1000).save(tmp_path / "deep.png")
    imds = dl.imageDatastore(tmp_path)
    by_name = {os.path.basename(f): imds.readimage(i) for i, f in enumerate(imds.files)}
    np.testing.assert_array_equal(by_name["rgb.png"], rgb)
    np.testing.assert_array_equal(by_name["rgba.png"], rgb)  # alpha dropped, as imread's image
    assert by_name["palette.png"].shape == (5, 7, 3) and by_name["palette.png"].dtype == np.uint8
    assert by_name["photo.jpg"].shape == (5, 7, 3) and np.abs(by_name["photo.jpg"].astype(int) - smooth).mean() < 12  # lossy
    assert by_name["deep.png"].dtype == np.uint16 and by_name["deep.png"][4, 6] == 34000


def test_read_size_info_reset_and_end(folder):
    root, pixels = folder
    imds = dl.imageDatastore(root, IncludeSubfolders=True, LabelSource="foldernames", ReadSize=4)
    assert imds.ReadSize == 4 and imds.Files == imds.files and imds.Labels is imds.labels
    first, info = imds.read(return_info=True)
    assert isinstance(first, list) and len(first) == 4
    assert info["filename"] == imds.files[:4] and list(info["label"]) == list(imds.labels[:4])
    assert info["file_size"] == [os.path.getsize(f) for f in imds.files[:4]]
    assert len(imds.read()) == 4 and len(imds.read()) == 1
    with pytest.raises(dl.data.EndOfDatastoreError, match="reset"):
        imds.read()
    imds.reset()
    np.testing.assert_array_equal(imds.read()[0], first[0])
    imds.read_size = 1
    image, info = imds.read(return_info=True)
    assert isinstance(image, np.ndarray) and info["filename"] == imds.files[4] and info["label"] == imds.labels[4]
    np.testing.assert_array_equal(imds.preview(), first[0])
    assert len(imds.readall()) == 9
    with pytest.raises(OptionError, match="read_size"):
        imds.ReadSize = 0
    with pytest.raises(OptionError, match="readimage: index"):
        imds.readimage(9)


def test_shuffle_subset_partition(folder):
    root, _ = folder
    imds = dl.imageDatastore(root, include_subfolders=True, label_source="foldernames")
    files = imds.files
    dl.rng(3)
    shuffled = imds.shuffle()
    assert imds.files == files  # a copy, as MATLAB's shuffle
    assert sorted(shuffled.files) == files and shuffled.files != files
    assert list(shuffled.labels) == [os.path.basename(os.path.dirname(f)) for f in shuffled.files]
    dl.rng(3)
    assert imds.shuffle().files == shuffled.files
    sub = imds.subset([4, 0])
    assert sub.files == [files[4], files[0]] and list(sub.labels) == [imds.labels[4], imds.labels[0]]
    mask = np.zeros(9, bool)
    mask[[1, 2]] = True
    assert imds.subset(mask).files == files[1:3]
    with pytest.raises(OptionError, match="subset"):
        imds.subset([9])
    parts = [dl.partition(imds, 2, i).files for i in range(2)]
    assert parts == [files[:5], files[5:]]
    assert imds.partition(3, 2).files == files[6:]
    assert dl.numpartitions(imds) == 9 and dl.numpartitions(imds, 4) == 4


def test_split_each_label(folder):
    root, _ = folder
    imds = dl.imageDatastore(root, include_subfolders=True, label_source="foldernames")
    first, rest = dl.splitEachLabel(imds, 0.6)
    # floor(0.6 * n): a 2 of 4, b 1 of 3, c 1 of 2; the first files of each label.
    assert dl.countEachLabel(first) == {"a": 2, "b": 1, "c": 1} and dl.countEachLabel(rest) == {"a": 2, "b": 2, "c": 1}
    assert sorted(first.files + rest.files) == imds.files
    a_files = [f for f, lab in zip(imds.files, imds.labels) if lab == "a"]
    assert [f for f in first.files if f in a_files] == a_files[:2]
    one, two, three = imds.splitEachLabel(1, 1)
    assert [dl.countEachLabel(d) for d in (one, two, three)] == [
        {"a": 1, "b": 1, "c": 1},
        {"a": 1, "b": 1, "c": 1},
        {"a": 2, "b": 1, "c": 0},
    ]
    dl.rng(5)
    r1, _ = dl.splitEachLabel(imds, 2, "randomized")
    dl.rng(5)
    r2, _ = dl.splitEachLabel(imds, 2, "randomized")
    assert r1.files == r2.files and dl.countEachLabel(r1) == {"a": 2, "b": 2, "c": 2}
    only, left = dl.splitEachLabel(imds, 0.5, Include=["a", "c"])
    assert dl.countEachLabel(only) == {"a": 2, "b": 0, "c": 1} and dl.countEachLabel(left) == {"a": 2, "b": 0, "c": 1}
    with pytest.raises(OptionError, match="smallest label has 2"):
        dl.splitEachLabel(imds, 3)
    with pytest.raises(OptionError, match="'randomised'"):
        dl.splitEachLabel(imds, 0.5, "randomised")
    with pytest.raises(OptionError, match="include names labels"):
        dl.splitEachLabel(imds, 0.5, include="zebra")
    with pytest.raises(OptionError, match="no labels"):
        dl.splitEachLabel(dl.imageDatastore(root / "a"), 0.5)


def test_corrupt_and_disguised_files_raise_a_typed_error(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(_gray(0)).save(good)
    (tmp_path / "broken.png").write_bytes(good.read_bytes()[:40])  # truncated
    (tmp_path / "text.png").write_text("hello")
    # PostScript named .png: Pillow's EPS decoder would run Ghostscript; it must not be used.
    (tmp_path / "script.png").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    imds = dl.imageDatastore(tmp_path)
    for i, name in enumerate(imds.files):
        if name.endswith("good.png"):
            assert imds.readimage(i).shape == (6, 5)
            continue
        with pytest.raises(ImageReadError, match=os.path.basename(name)) as error:
            imds.readimage(i)
        assert "imageDatastore.read" in str(error.value) and isinstance(error.value, ValueError)


def test_read_function_and_explicit_labels(folder):
    root, pixels = folder
    imds = dl.imageDatastore(root / "a", read_function=lambda f: os.path.basename(f), labels=["x", "y", "x", "y"])
    assert imds.read() == os.path.basename(imds.files[0])
    assert imds.labels.categories == ["x", "y"]
    with pytest.raises(ShapeError, match="4 files"):
        imds.labels = ["x"]
    imds.Labels = dl.categorical(["p", "q", "q", "p"])
    assert list(imds.labels) == ["p", "q", "q", "p"]


def test_bad_options_name_function_option_and_value(folder):
    root, _ = folder
    with pytest.raises(OptionError, match=r"imageDatastore: label_source must be .* got 'folders'"):
        dl.imageDatastore(root, label_source="folders")
    with pytest.raises(OptionError, match=r"imageDatastore: read_size must be a positive integer, got 0"):
        dl.imageDatastore(root / "a", read_size=0)
    with pytest.raises(OptionError, match=r"imageDatastore: file_extensions .* got 'png'"):
        dl.imageDatastore(root / "a", file_extensions="png")
    with pytest.raises(OptionError, match="include_subfolders must be True or False, got 'yes'"):
        dl.imageDatastore(root, include_subfolders="yes")
    with pytest.raises(UnknownOptionError, match="did you mean 'include_subfolders'"):
        dl.imageDatastore(root, IncludeSubfolder=True)
    with pytest.raises(OptionError, match=r"imageDataAugmenter: rand_rotation must be \(low, high\) with low <= high, got \(10, -10\)"):
        dl.imageDataAugmenter(rand_rotation=(10, -10))
    with pytest.raises(OptionError, match="imageDataAugmenter: rand_x_scale must be positive, got"):
        dl.imageDataAugmenter(RandXScale=(0, 2))
    with pytest.raises(OptionError, match="rand_y_shear must lie strictly between -90 and 90"):
        dl.imageDataAugmenter(rand_y_shear=(-90, 0))
    with pytest.raises(OptionError, match="rand_x_reflection must be True or False, got 1"):
        dl.imageDataAugmenter(rand_x_reflection=1)
    with pytest.raises(OptionError, match="rand_x_translation must be two finite numbers"):
        dl.imageDataAugmenter(rand_x_translation=(1, 2, 3))
    X = np.zeros((4, 4, 1, 2), np.float32)
    with pytest.raises(OptionError, match=r"augmentedImageDatastore: output_size must be .* got \(0, 3\)"):
        dl.augmentedImageDatastore((0, 3), X)
    with pytest.raises(OptionError, match="output_size_mode must be one of .* got 'crop'"):
        dl.augmentedImageDatastore((2, 2), X, output_size_mode="crop")
    with pytest.raises(OptionError, match="color_preprocessing must be one of .* got 'gray'"):
        dl.augmentedImageDatastore((2, 2), X, ColorPreprocessing="gray")
    with pytest.raises(OptionError, match="data_augmentation must be 'none', None or an imageDataAugmenter, got 5"):
        dl.augmentedImageDatastore((2, 2), X, data_augmentation=5)
    with pytest.raises(ShapeError, match=r"\(H, W, C, N\).*X\[:, :, None, :\]"):
        dl.augmentedImageDatastore((2, 2), X[:, :, 0, :])
    with pytest.raises(ShapeError, match="one row per image"):
        dl.augmentedImageDatastore((2, 2), X, np.arange(3))
    with pytest.raises(ShapeError, match="needs images of at least 5 x 5"):
        dl.augmentedImageDatastore((5, 5), X, output_size_mode="centercrop").read()
    with pytest.raises(ShapeError, match="gray2rgb"):
        dl.augmentedImageDatastore((4, 4, 3), X).read()


def test_pillow_missing_names_the_extra(folder, monkeypatch):
    root, _ = folder
    imds = dl.imageDatastore(root / "a")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"dlarray\[images\]"):
        imds.read()


# --- minibatchqueue -------------------------------------------------------------------------


def test_minibatchqueue_over_an_image_datastore(folder):
    root, pixels = folder
    imds = dl.imageDatastore(root, include_subfolders=True, label_source="foldernames")
    alone = dl.minibatchqueue(imds, mini_batch_size=4, mini_batch_format="SSB")
    X = alone.next()
    assert alone.num_outputs == 1 and X.fmt == "SSB" and X.shape == (6, 5, 4)
    np.testing.assert_array_equal(dl.extractdata(X)[:, :, 1], pixels[imds.files[1]])

    def preprocess(images, labels):
        X = np.stack(images, axis=-1)[:, :, None, :].astype(np.float32) / 255
        return X, dl.onehotencode(labels, 0)

    ds = dl.combine(imds, dl.arrayDatastore(imds.labels))
    mbq = dl.minibatchqueue(ds, mini_batch_size=4, mini_batch_fcn=preprocess, mini_batch_format=["SSCB", "CB"])
    batches = list(mbq)
    assert [b[0].shape for b in batches] == [(6, 5, 1, 4), (6, 5, 1, 4), (6, 5, 1, 1)]
    X, T = batches[0]
    assert X.fmt == "SSCB" and T.fmt == "CB" and T.shape == (3, 4)
    np.testing.assert_array_equal(dl.extractdata(T).argmax(0), imds.labels.codes[:4])
    np.testing.assert_allclose(dl.extractdata(X)[:, :, 0, 2], pixels[imds.files[2]] / 255, rtol=1e-6)
    collated = dl.minibatchqueue(ds, mini_batch_size=5, mini_batch_format=["SSB", ""])
    X, T = collated.next()
    assert isinstance(T, dl.categorical) and list(T) == list(imds.labels[:5])


def test_minibatchqueue_over_an_augmented_image_datastore(folder):
    root, pixels = folder
    imds = dl.imageDatastore(root, include_subfolders=True, label_source="foldernames")
    auimds = dl.augmentedImageDatastore((8, 8), imds, ColorPreprocessing="gray2rgb")
    assert auimds.numobservations == 9 and auimds.files == imds.files and auimds.mini_batch_size == 128
    rows = auimds.read()
    assert len(rows) == 9 and rows[0][0].shape == (8, 8, 3) and rows[0][0].dtype == np.uint8 and rows[0][1] == "a"
    mbq = dl.minibatchqueue(
        auimds,
        mini_batch_size=4,
        mini_batch_fcn=lambda xs, ts: (np.stack(xs, -1), dl.onehotencode(ts, 0)),
        mini_batch_format=["SSCB", "CB"],
    )
    X, T = mbq.next()
    assert X.fmt == "SSCB" and X.shape == (8, 8, 3, 4) and X.dtype == np.float32 and T.fmt == "CB" and T.shape == (3, 4)
    np.testing.assert_array_equal(dl.extractdata(T).argmax(0), imds.labels.codes[:4])
    collate = dl.minibatchqueue(auimds, mini_batch_size=4, MiniBatchFormat=["SSCB", ""])
    X, T = collate.next()
    assert X.shape == (8, 8, 3, 4) and isinstance(T, dl.categorical)
    # Grayscale replicated to three equal channels.
    x = dl.extractdata(X)
    np.testing.assert_array_equal(x[:, :, 0], x[:, :, 2])
    unlabelled = dl.augmentedImageDatastore((6, 5), dl.imageDatastore(root / "a"))
    X = dl.minibatchqueue(unlabelled, mini_batch_size=4, mini_batch_format="SSCB").next()
    assert X.shape == (6, 5, 1, 4)
    np.testing.assert_array_equal(dl.extractdata(X)[:, :, 0, 0], dl.imageDatastore(root / "a").read())  # same size: untouched


def test_in_memory_arrays_with_labels_and_partition():
    X, Y, _ = dl.digitTrain4DArrayData()
    X, Y = X[..., :50], Y[:50]
    auimds = dl.augmentedImageDatastore((28, 28), X, Y)
    x, t = auimds.read()[3]
    np.testing.assert_array_equal(x, X[..., 3])
    assert t == Y[3]
    names = np.array([f"d{v}" for v in Y])
    labelled = dl.augmentedImageDatastore((14, 14), X, names)
    cols = labelled._columns_at(np.arange(5))
    assert cols[0].shape == (14, 14, 1, 5) and cols[0].dtype == np.float32 and list(cols[1]) == list(names[:5])
    shuffled = labelled.shuffle(seed=1)
    order = np.random.default_rng(1).permutation(50)
    assert [r[1] for r in shuffled.readByIndex([0, 1])] == list(names[order[:2]])
    part = dl.partition(labelled, 5, 4)
    assert part.numobservations == 10 and [r[1] for r in part.readByIndex([0])] == [names[40]]
    mbq = dl.minibatchqueue(auimds, mini_batch_size=16, partition=(2, 1), shuffle_seed=0, mini_batch_format=["SSCB", ""])
    Xb, Tb = mbq.next()
    assert Xb.shape == (28, 28, 1, 8) and Tb.shape == (8,)
    auimds.reset()
    auimds.MiniBatchSize = 20
    assert len(auimds.read()) == 20 and len(auimds.read()) == 20 and len(auimds.read()) == 10 and not auimds.hasdata()


def test_training_the_digits_cnn_from_an_augmented_datastore():
    X, Y, _ = dl.digitTrain4DArrayData()
    aug = dl.imageDataAugmenter(RandRotation=(-10, 10), RandXTranslation=(-2, 2), RandYTranslation=(-2, 2))
    auimds = dl.augmentedImageDatastore((28, 28), X[..., :1024], Y[:1024], DataAugmentation=aug)
    dl.rng(0)
    net = dl.dlnetwork(
        [
            dl.imageInputLayer((28, 28, 1), normalization="none"),
            dl.convolution2dLayer(5, 8, padding="same"),
            dl.batchNormalizationLayer(),
            dl.reluLayer(),
            dl.maxPooling2dLayer(2, stride=2),
            dl.fullyConnectedLayer(10),
            dl.softmaxLayer(),
        ]
    )
    onehot = lambda xs, ys: (np.stack(xs, -1), np.eye(10, dtype=np.float32)[np.array(ys)].T)
    mbq = dl.minibatchqueue(auimds, mini_batch_size=64, mini_batch_fcn=onehot, mini_batch_format=["SSCB", "CB"])

    def model_loss(net, X, T):
        Y, state = net.forward(X, return_state=True)
        loss = dl.crossentropy(Y, T)
        return loss, dl.dlgradient(loss, net.learnables), state

    losses, avg, avg_sq, iteration = [], None, None, 0
    for _ in range(2):
        mbq.shuffle()
        while mbq.hasdata():
            Xb, Tb = mbq.next()
            iteration += 1
            loss, grads, state = dl.dlfeval(model_loss, net, Xb, Tb)
            net.state = state
            net, avg, avg_sq = dl.adamupdate(net, grads, avg, avg_sq, iteration, 0.01)
            losses.append(float(loss))
    assert iteration == 32 and np.all(np.isfinite(losses))
    assert np.mean(losses[-4:]) < 0.5 * losses[0], losses


# --- augmentation against independent references ----------------------------------------------


def _only(**options):
    """An augmenter with one transform, drawn from a degenerate range."""
    return dl.imageDataAugmenter(**options)


def test_reflections_are_exact_flips():
    img = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    flips = set()
    aug = _only(rand_x_reflection=True)
    for _ in range(20):
        out = aug.augment(img)
        if np.array_equal(out, img[:, ::-1]):
            flips.add("x")
        else:
            np.testing.assert_array_equal(out, img)
            flips.add("none")
    assert flips == {"x", "none"}
    aug = _only(rand_y_reflection=True)
    outs = [aug.augment(img) for _ in range(20)]
    assert all(np.array_equal(o, img[::-1]) or np.array_equal(o, img) for o in outs)
    assert any(np.array_equal(o, img[::-1]) for o in outs)


def test_quarter_turns_equal_rot90():
    img = np.random.default_rng(1).integers(0, 256, (9, 9), dtype=np.uint8)
    np.testing.assert_array_equal(_only(rand_rotation=(90, 90)).augment(img), np.rot90(img, 1))  # counterclockwise
    np.testing.assert_array_equal(_only(rand_rotation=(-90, -90)).augment(img), np.rot90(img, -1))
    np.testing.assert_array_equal(_only(rand_rotation=(180, 180)).augment(img), np.rot90(img, 2))
    f = np.random.default_rng(2).random((8, 8, 2))
    np.testing.assert_allclose(_only(rand_rotation=(90, 90)).augment(f), np.rot90(f, 1), atol=1e-12)


def test_integer_translation_is_a_shift_with_fill():
    img = np.random.default_rng(3).integers(1, 256, (6, 8, 3), dtype=np.uint8)
    out = _only(rand_x_translation=(2, 2), rand_y_translation=(-1, -1), fill_value=(7, 8, 9)).augment(img)
    expected = np.empty_like(img)
    expected[...] = np.array([7, 8, 9], np.uint8)
    expected[0:5, 2:8] = img[1:6, 0:6]  # right by 2, up by 1
    np.testing.assert_array_equal(out, expected)


def test_general_affine_matches_scipy_bilinear():
    ndimage = pytest.importorskip("scipy.ndimage")
    img = np.random.default_rng(4).random((11, 13))
    aug = _only(
        rand_rotation=(23, 23),
        rand_x_scale=(1.3, 1.3),
        rand_y_scale=(0.8, 0.8),
        rand_x_shear=(10, 10),
        rand_y_translation=(1.5, 1.5),
        fill_value=0.25,
    )
    out = aug.augment(img)
    # The same transform written out independently: about the centre, rotate, shear, scale, then shift.
    a, sh = np.radians(23), np.tan(np.radians(10))
    c = np.array([(13 - 1) / 2, (11 - 1) / 2])
    R = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    A = np.diag([1.3, 0.8]) @ np.array([[1, sh], [0, 1]]) @ R
    ys, xs = np.mgrid[0:11, 0:13]
    p = np.stack([xs.ravel(), ys.ravel()]).astype(float) - np.array([[0.0], [1.5]]) - c[:, None]
    src = np.linalg.solve(A, p) + c[:, None]
    ref = ndimage.map_coordinates(img, [src[1], src[0]], order=1, mode="grid-constant", cval=0.25).reshape(11, 13)
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_augmentation_is_reproducible_under_rng():
    X, Y, _ = dl.digitTrain4DArrayData()
    aug = dl.imageDataAugmenter(rand_rotation=(-30, 30), rand_x_reflection=True, rand_scale=(0.8, 1.2), rand_x_translation=(-3, 3))
    auimds = dl.augmentedImageDatastore((20, 20), X[..., :16], Y[:16], data_augmentation=aug, output_size_mode="randcrop")
    dl.rng(11)
    first = auimds._columns_at(np.arange(16))[0]
    second = auimds._columns_at(np.arange(16))[0]
    dl.rng(11)
    again = auimds._columns_at(np.arange(16))[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    assert first.shape == (20, 20, 1, 16) and first.dtype == np.float32


def test_random_draws_follow_matlabs_rand_order():
    # rng(0) makes numpy's uniform stream MATLAB's rand stream; the augmenter spends one draw per
    # value in MATLAB's order (reflections, rotation, scales, shears, translations).
    dl.rng(0)
    draws = np.random.rand(7)
    dl.rng(0)
    got = _only(rand_rotation=(-10, 30), rand_x_translation=(0, 4)).random_matrix(5, 5)
    angle = np.radians(-10 + 40 * draws[0])
    tx = 4 * draws[5]
    expected = dl.data.augmentation.affine_matrix(5, 5, rotation=np.degrees(angle), x_translation=tx)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_resize_is_matlabs_imresize_and_crops_are_windows():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])[:, :, None, None]
    up = dl.augmentedImageDatastore((4, 4), X).read()[0][:, :, 0]
    # MATLAB: imresize([1 2; 3 4], [4 4]) (bilinear, edges mirrored).
    np.testing.assert_allclose(up, [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]], atol=1e-12)
    row = np.array([[1.0, 2.0, 3.0, 4.0]])[:, :, None, None]
    down = dl.augmentedImageDatastore((1, 2), row).read()[0][:, :, 0]
    np.testing.assert_allclose(down, [[1.625, 3.375]], atol=1e-12)  # imresize([1 2 3 4], [1 2]), antialiased
    img = np.arange(7 * 9, dtype=np.uint8).reshape(7, 9, 1, 1)
    center = dl.augmentedImageDatastore((3, 4), img, output_size_mode="centercrop").read()[0]
    np.testing.assert_array_equal(center, img[2:5, 2:6, :, 0])
    dl.rng(2)
    for patch in dl.augmentedImageDatastore((3, 4), np.repeat(img, 6, axis=3), output_size_mode="randcrop").read():
        top, left = divmod(int(patch[0, 0, 0]), 9)
        np.testing.assert_array_equal(patch, img[top : top + 3, left : left + 4, :, 0])
    rgb = np.random.default_rng(0).integers(0, 256, (4, 4, 3, 1), dtype=np.uint8)
    gray = dl.augmentedImageDatastore((4, 4), rgb, color_preprocessing="rgb2gray").read()[0]
    weights = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    np.testing.assert_array_equal(gray[:, :, 0], np.floor(rgb[..., 0].astype(float) @ weights + 0.5).astype(np.uint8))


def test_array_datastore_of_categorical_labels():
    labels = dl.categorical(["b", "a", "b", "c"])
    ds = dl.arrayDatastore(labels)
    assert ds.read() == ["b"] and ds.numobservations == 4
    assert isinstance(ds._columns_at(np.array([0, 2]))[0], dl.categorical)
    shuffled = ds.shuffle(seed=0)
    assert isinstance(shuffled.data, dl.categorical) and sorted(shuffled.data) == sorted(labels)
