"""load reads every dtype of the safetensors format: numpy's own as they are, BF16 and the
8-bit floats converted to float32 exactly, packed 4- and 6-bit floats refused; files go both
ways between dlarray and the safetensors library; checksums of tensors the structure does
not use are verified too."""

import json
import struct

import numpy as np
import pytest
import safetensors.numpy
from dlarray import CheckpointError, dlnetwork, extractdata, featureInputLayer, fullyConnectedLayer, load, save
from dlarray import _checkpoint_file as container


def write_file(path, tensors, metadata=None):
    """A safetensors file of ``{name: (code, shape, bytes)}``, in that order."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (code, shape, blob) in tensors.items():
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return path


ALL_BYTES = np.arange(256, dtype=np.uint8)

# Known values of the 8-bit floats, byte -> float32, from the formats' definitions.
KNOWN = {
    "F8_E4M3": {0x00: 0.0, 0x80: -0.0, 0x38: 1.0, 0xB8: -1.0, 0x01: 2.0**-9, 0x07: 7 * 2.0**-9, 0x08: 2.0**-6, 0x7E: 448.0, 0x77: 240.0},
    "F8_E5M2": {0x00: 0.0, 0x80: -0.0, 0x3C: 1.0, 0x01: 2.0**-16, 0x7B: 57344.0, 0x7C: np.inf, 0xFC: -np.inf, 0x3E: 1.5},
    "F8_E4M3FNUZ": {0x00: 0.0, 0x40: 1.0, 0xC0: -1.0, 0x01: 2.0**-10, 0x7F: 240.0, 0xFF: -240.0},
    "F8_E5M2FNUZ": {0x00: 0.0, 0x40: 1.0, 0x01: 2.0**-17, 0x7F: 57344.0, 0xFF: -57344.0},
    "F8_E8M0": {0x7F: 1.0, 0x80: 2.0, 0x7E: 0.5, 0x00: 2.0**-127, 0xFE: 2.0**127},
}
NANS = {
    "F8_E4M3": {0x7F, 0xFF},
    "F8_E5M2": {0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF},
    "F8_E4M3FNUZ": {0x80},
    "F8_E5M2FNUZ": {0x80},
    "F8_E8M0": {0xFF},
}


@pytest.mark.parametrize("library", ["installed", "older"])
def test_every_numpy_dtype_is_read_as_itself(tmp_path, monkeypatch, library):
    if library == "older":
        # A safetensors that predates one of the file's dtypes (Python 3.9 gets 0.7, without
        # the FNUZ floats) refuses the whole header: every tensor is then read from the bytes.
        def refuse(*args, **kwargs):
            raise safetensors.SafetensorError("Error while deserializing header: unknown variant `F8_E4M3FNUZ`")

        monkeypatch.setattr(container.safetensors, "safe_open", refuse)
    rng = np.random.default_rng(0)
    arrays = {
        "BOOL": np.array([[True, False, True]]),
        "U8": rng.integers(0, 2**8, 5, dtype=np.uint8),
        "I8": rng.integers(-(2**7), 2**7, 5, dtype=np.int8),
        "U16": rng.integers(0, 2**16, 5, dtype=np.uint16),
        "I16": rng.integers(-(2**15), 2**15, 5, dtype=np.int16),
        "U32": rng.integers(0, 2**32, 5, dtype=np.uint32),
        "I32": rng.integers(-(2**31), 2**31, 5, dtype=np.int32),
        "U64": np.array([0, 2**64 - 1, 12345], np.uint64),
        "I64": np.array([-(2**63), 2**63 - 1, 7], np.int64),
        "F16": np.array([1.5, -0.0, 65504.0, np.inf, 6e-8], np.float16),
        "F32": rng.standard_normal((2, 3)).astype(np.float32),
        "F64": rng.standard_normal(4),
        "C64": (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(np.complex64),
        "scalar": np.float64(2.5).reshape(()),
        "empty": np.zeros((0, 4), np.float32),
    }
    codes = {name: name if name in container.dtypes.NUMPY else "F64" if name == "scalar" else "F32" for name in arrays}
    tensors = {n: (codes[n], a.shape, a.astype(a.dtype.newbyteorder("<")).tobytes()) for n, a in arrays.items()}
    out = load(write_file(tmp_path / "all.safetensors", tensors, {"format": "pt"}))
    assert list(out) == list(arrays)
    for name, a in arrays.items():
        assert out[name].dtype == a.dtype and out[name].shape == a.shape, name
        np.testing.assert_array_equal(out[name], a)


@pytest.mark.parametrize("code", sorted(KNOWN))
def test_8_bit_floats_become_float32_exactly(tmp_path, code):
    out = load(write_file(tmp_path / "f8.safetensors", {"t": (code, (16, 16), ALL_BYTES.tobytes())}))["t"]
    assert out.dtype == np.float32 and out.shape == (16, 16)
    flat = out.reshape(-1)
    for byte, value in KNOWN[code].items():
        assert flat[byte] == value and np.signbit(flat[byte]) == np.signbit(value), (code, hex(byte), flat[byte])
    assert {int(b) for b in np.flatnonzero(np.isnan(flat))} == NANS[code]
    if code != "F8_E8M0":  # a sign bit: the negative half mirrors the positive one
        np.testing.assert_array_equal(flat[128:][~np.isnan(flat[128:])], -flat[:128][~np.isnan(flat[128:])])
    if code.endswith("FNUZ"):
        assert not np.any(np.signbit(flat[flat == 0]))  # no negative zero
    finite = flat[np.isfinite(flat)]
    if code != "F8_E8M0":  # values increase with the byte, within each sign
        pos = flat[:128][np.isfinite(flat[:128])]
        assert np.all(np.diff(pos) > 0)
    assert finite.size == 256 - len(NANS[code]) - (2 if code == "F8_E5M2" else 0)


def test_8_bit_floats_match_torch(tmp_path):
    torch = pytest.importorskip("torch")
    kinds = {
        "F8_E4M3": "float8_e4m3fn",
        "F8_E5M2": "float8_e5m2",
        "F8_E4M3FNUZ": "float8_e4m3fnuz",
        "F8_E5M2FNUZ": "float8_e5m2fnuz",
        "F8_E8M0": "float8_e8m0fnu",
    }
    for code, kind in kinds.items():
        if not hasattr(torch, kind):
            continue
        out = load(write_file(tmp_path / f"{code}.safetensors", {"t": (code, (256,), ALL_BYTES.tobytes())}))["t"]
        ref = torch.from_numpy(ALL_BYTES.copy()).view(getattr(torch, kind)).float().numpy()
        nan = np.isnan(ref)
        assert np.array_equal(np.isnan(out), nan), code
        assert np.array_equal(out[~nan].view(np.uint32), ref[~nan].view(np.uint32)), code  # bit for bit: signed zeros too


def test_bf16_becomes_float32_exactly_at_any_offset(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 2.0**-133, -np.inf, np.nan, -0.0, 1.5 * 2.0**100], np.float32)
    bf16 = (values.view("<u4") >> 16).astype("<u2").tobytes()
    # One byte first, so the BF16 tensor starts at an odd offset.
    out = load(write_file(tmp_path / "bf.safetensors", {"pad": ("U8", (1,), b"\x07"), "b": ("BF16", (2, 4), bf16)}))
    assert out["b"].dtype == np.float32 and out["b"].shape == (2, 4)
    assert np.array_equal(out["b"].reshape(-1).view(np.uint32), values.view(np.uint32))


def test_files_go_both_ways_with_the_safetensors_library(tmp_path):
    rng = np.random.default_rng(1)
    theirs = {"w": rng.standard_normal((3, 4)).astype(np.float32), "h": np.arange(5, dtype=np.float16), "i": np.arange(3)}
    safetensors.numpy.save_file(theirs, tmp_path / "theirs.safetensors", metadata={"format": "np"})
    out = load(tmp_path / "theirs.safetensors")
    assert sorted(out) == sorted(theirs)
    for k, v in theirs.items():
        assert out[k].dtype == v.dtype
        np.testing.assert_array_equal(out[k], v)
    net = dlnetwork([featureInputLayer(4), fullyConnectedLayer(3, name="fc")])
    save(tmp_path / "ours.safetensors", net, extra=np.arange(4.0))
    read = safetensors.numpy.load_file(tmp_path / "ours.safetensors")
    np.testing.assert_array_equal(read["net/learnables/fc/Weights"], extractdata(net.learnables["fc", "Weights"]))
    np.testing.assert_array_equal(read["extra"], np.arange(4.0))
    with safetensors.safe_open(tmp_path / "ours.safetensors", framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == container.FORMAT and set(meta) == {"format", "dlarray", container.CHECKSUMS}


def test_damage_to_a_tensor_the_structure_does_not_use_is_detected(tmp_path):
    metadata = {"format": container.FORMAT, "dlarray": json.dumps({"x": {"__ndarray__": "used"}})}
    arrays = {"used": np.arange(4.0), "unused": np.arange(6.0)}
    path = tmp_path / "extra.safetensors"
    path.write_bytes(b"".join(container.encode(arrays, metadata)))
    np.testing.assert_array_equal(load(path)["x"], np.arange(4.0))
    raw = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    start, _ = json.loads(raw[8 : 8 + n])["unused"]["data_offsets"]
    raw[8 + n + start] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="tensor 'unused' is corrupt"):
        load(path)


def test_a_numpy_array_saved_twice_loads_as_equal_arrays(tmp_path):
    x = np.arange(6.0).reshape(2, 3)
    save(tmp_path / "twice.safetensors", a=x, b=[x, x])
    out = load(tmp_path / "twice.safetensors")
    for v in (out["a"], *out["b"]):
        np.testing.assert_array_equal(v, x)


def test_tensors_are_read_one_at_a_time(tmp_path, monkeypatch):
    """The structure decides when each tensor is read: none before it is reached, each once."""
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(4, name="fc1"), fullyConnectedLayer(2, name="fc2")])
    save(tmp_path / "net.safetensors", net, extra=np.arange(3.0))
    reads = []
    real = container.Tensors.__getitem__

    def spy(self, key):
        reads.append(key)
        return real(self, key)

    monkeypatch.setattr(container.Tensors, "__getitem__", spy)
    out = load(tmp_path / "net.safetensors")
    assert sorted(reads) == sorted(
        ["net/learnables/fc1/Weights", "net/learnables/fc1/Bias", "net/learnables/fc2/Weights", "net/learnables/fc2/Bias", "extra"]
    )
    np.testing.assert_array_equal(extractdata(out["net"].learnables["fc2", "Weights"]), extractdata(net.learnables["fc2", "Weights"]))


def test_a_corrupt_file_never_leaks_a_library_error(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save(path, x=np.arange(3.0))

    def broken(self, key):
        raise safetensors.SafetensorError("simulated: the library failed")

    monkeypatch.setattr(
        container.safetensors, "safe_open", lambda *a, **k: type("Handle", (), {"get_tensor": broken, "__exit__": lambda *a: None})()
    )
    with pytest.raises(CheckpointError, match="simulated: the library failed"):
        load(path)
