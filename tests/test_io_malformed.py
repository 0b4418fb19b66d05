"""load of damaged, malformed and foreign safetensors files: every defect is a CheckpointError
naming the file (never ValueError, RecursionError or MemoryError); files written by other
libraries load, F16 and BF16 included."""

import json
import struct

import numpy as np
import pytest
from dlarray import CheckpointError, dlnetwork, featureInputLayer, fullyConnectedLayer, load, save
from dlarray import _checkpoint_file as container


def safetensors(path, header, data=b"", length=None):
    """A file in safetensors layout: 8-byte LE header length, the header (an object turned
    into JSON, or raw bytes), the data bytes."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def f32(n, start):
    return {"dtype": "F32", "shape": [n], "data_offsets": [start, start + 4 * n]}


EIGHT = bytes(range(8))
CASES = {
    # tensor descriptions
    "negative-shape": ({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, EIGHT, "invalid shape"),
    "negative-shape-pair": ({"t": {"dtype": "F32", "shape": [-1, -2], "data_offsets": [0, 8]}}, EIGHT, "invalid shape"),
    "overflowing-shape": ({"t": {"dtype": "F32", "shape": [2**40, 2**40, 2**40], "data_offsets": [0, 8]}}, EIGHT, "needs"),
    "wrapping-shape": ({"t": {"dtype": "U8", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}, b"", "needs"),
    "float-shape": ({"t": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, EIGHT, "invalid shape"),
    "bool-shape": ({"t": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, EIGHT, "invalid shape"),
    "string-shape": ({"t": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}}, EIGHT, "invalid shape"),
    "too-many-dims": ({"t": {"dtype": "U8", "shape": [1] * 40, "data_offsets": [0, 1]}}, b"x", "invalid shape"),
    "missing-keys": ({"t": {"dtype": "F32", "shape": [2]}}, EIGHT, "invalid description"),
    "info-not-object": ({"t": [1, 2, 3]}, EIGHT, "invalid description"),
    "unknown-dtype": ({"t": {"dtype": "F128", "shape": [2], "data_offsets": [0, 8]}}, EIGHT, "dtype 'F128'"),
    "fp4-dtype": ({"t": {"dtype": "F4", "shape": [16], "data_offsets": [0, 8]}}, EIGHT, "does not fix the order"),
    "fp6-dtype": ({"t": {"dtype": "F6_E2M3", "shape": [4], "data_offsets": [0, 3]}}, b"xyz", "cannot read"),
    "dtype-not-string": ({"t": {"dtype": 7, "shape": [2], "data_offsets": [0, 8]}}, EIGHT, "dtype 7"),
    "byte-length-mismatch": ({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, EIGHT, "needs 12 bytes"),
    "dtype-mismatch": ({"t": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, EIGHT, "needs 16 bytes"),
    # offsets
    "offsets-out-of-range": ({"t": {"dtype": "U8", "shape": [1000], "data_offsets": [0, 1000]}}, EIGHT, "need 1000 data bytes"),
    "offsets-beyond-u64": ({"t": {"dtype": "U8", "shape": [8], "data_offsets": [2**70, 2**70 + 8]}}, EIGHT, "belong to no tensor"),
    "offsets-reversed": ({"t": {"dtype": "U8", "shape": [0], "data_offsets": [8, 0]}}, EIGHT, "invalid data_offsets"),
    "offsets-negative": ({"t": {"dtype": "U8", "shape": [8], "data_offsets": [-8, 0]}}, EIGHT, "invalid data_offsets"),
    "offsets-three": ({"t": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8, 16]}}, EIGHT, "invalid data_offsets"),
    "offsets-float": ({"t": {"dtype": "U8", "shape": [8], "data_offsets": [0.0, 8.0]}}, EIGHT, "invalid data_offsets"),
    "overlapping": ({"a": f32(2, 0), "b": f32(2, 4)}, bytes(12), "overlaps"),
    "same-bytes": ({"a": f32(2, 0), "b": f32(2, 0)}, bytes(8), "overlaps"),
    "hole": ({"a": f32(2, 0), "b": f32(2, 12)}, bytes(20), "belong to no tensor"),
    "trailing-data": ({"a": f32(2, 0)}, bytes(12), "unexpected bytes"),
    "bool-not-0-1": ({"t": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02", "other than 0"),
    # the header itself
    "header-list": ([1, 2, 3], b"", "not an object"),
    "header-string": ("tensor", b"", "not an object"),
    "header-null": (None, b"", "not an object"),
    "metadata-list": ({"__metadata__": ["format", "pt"]}, b"", "__metadata__"),
    "not-utf8": (b'{"\xff\xfe": 1}', b"", "not valid JSON"),
    "duplicate-keys": (
        b'{"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, "a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}',
        b"",
        "duplicate key",
    ),
    "deeply-nested-header": (b"[" * 200_000 + b"]" * 200_000, b"", "nested too deeply"),
    "deeply-nested-tensor": (b'{"t": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", b"", "nested too deeply"),
    "huge-integer": (b'{"t": {"dtype": "U8", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 0]}}', b"", "not valid JSON"),
    # dlarray metadata
    "future-format": ({"__metadata__": {"format": "dlarray-checkpoint-9", "dlarray": "{}"}}, b"", "newer dlarray"),
    "no-checksums": ({"__metadata__": {"format": container.FORMAT, "dlarray": "{}"}}, b"", "missing"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_header(tmp_path, name):
    header, data, why = CASES[name]
    path = safetensors(tmp_path / f"{name}.safetensors", header, data)
    with pytest.raises(CheckpointError, match=f"{name}.safetensors") as e:
        load(path)
    assert why in str(e.value)


@pytest.mark.parametrize(
    "length, why",
    [
        (2**63, "limit"),
        (2**64 - 1, "limit"),
        (200 * 2**20, "limit"),
        (4096, "exceeds the file size"),
    ],
)
def test_header_length_is_checked_before_reading(tmp_path, length, why):
    path = safetensors(tmp_path / "long.safetensors", {"t": f32(2, 0)}, EIGHT, length=length)
    with pytest.raises(CheckpointError, match=why):
        load(path)


def small_checkpoint(path):
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(4, name="fc1"), fullyConnectedLayer(2, name="fc2")])
    save(path, net, epoch=3, extra=np.arange(5.0), note="ok")
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return net, raw, n, json.loads(raw[8 : 8 + n])


def rewrite(path, header, raw, n):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    return path


@pytest.mark.parametrize(
    "name, content, why",
    [
        ("not-json", "{", "not valid JSON"),
        ("json-list", "[1, 2]", "not an object"),
        ("deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("deep-parsable", '{"x": ' + '{"__dict__": {"a": ' * 300 + "1" + "}}" * 300 + "}", "levels deep"),
        ("deep-lists", '{"x": ' + "[" * 500 + "]" * 500 + "}", "levels deep"),
        ("missing-tensor", '{"x": {"__ndarray__": "nope"}}', "missing tensor 'nope'"),
        ("unknown-entry", '{"x": {"__weird__": 1}}', "unknown entry"),
        ("bad-complex", '{"x": {"__complex__": ["1", 2]}}', "invalid complex"),
        ("bad-format", '{"x": {"__dlarray__": "extra", "fmt": 3}}', "not a string"),
        ("bad-dlarray-format", '{"x": {"__dlarray__": "extra", "fmt": "QQ"}}', "corrupt dlarray metadata"),
        ("bad-complex-tensor", '{"x": {"__ndarray__": "extra", "complex": true}}', "trailing dim of 2"),
        ("bad-tuple", '{"x": {"__tuple__": 5}}', "not list"),
        ("bad-table", '{"x": {"__table__": {"layer": ["a"], "parameter": [], "value": []}}}', "corrupt"),
    ],
)
def test_malformed_dlarray_metadata(tmp_path, name, content, why):
    _, raw, n, header = small_checkpoint(tmp_path / "ok.safetensors")
    metadata = {"format": container.FORMAT, "dlarray": content}
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    path = tmp_path / f"{name}.safetensors"
    arrays = {
        k: np.frombuffer(
            raw[8 + n + v["data_offsets"][0] : 8 + n + v["data_offsets"][1]], {"F32": "<f4", "F64": "<f8"}[v["dtype"]]
        ).reshape(v["shape"])
        for k, v in tensors.items()
    }
    with open(path, "wb") as f:
        for chunk in container.encode(arrays, metadata):
            f.write(chunk)
    with pytest.raises(CheckpointError, match=f"{name}.safetensors") as e:
        load(path)
    assert why in str(e.value)


def test_corrupt_network_structure(tmp_path):
    _, raw, n, header = small_checkpoint(tmp_path / "ok.safetensors")
    content = json.loads(header["__metadata__"]["dlarray"])
    spec = content["net"]["__dlnetwork__"]
    cases = {
        "cycle": lambda s: s["edges"].append([["fc2", 0], ["fc1", 0]]),
        "unknown-layer": lambda s: s["edges"].append([["nope", 0], ["fc1", 0]]),
        "bad-port": lambda s: s["edges"].append([["fc1", 5], ["fc2", 0]]),
        "repeated-name": lambda s: s["layers"].append(s["layers"][1]),
        "no-name": lambda s: s["layers"][1]["attrs"]["__dict__"].pop("name"),
        "learnables-not-table": lambda s: s.update(learnables=[1, 2]),
        "initialized-string": lambda s: s.update(initialized="yes"),
    }
    for name, change in cases.items():
        broken = json.loads(json.dumps(spec))
        change(broken)
        metadata = {"format": container.FORMAT, "dlarray": json.dumps({"net": {"__dlnetwork__": broken}})}
        arrays, _ = container.read(str(tmp_path / "ok.safetensors"))
        path = tmp_path / f"{name}.safetensors"
        with open(path, "wb") as f:
            for chunk in container.encode(arrays, metadata):
                f.write(chunk)
        with pytest.raises(CheckpointError, match=f"{name}.safetensors"):
            load(path)


def test_flipped_bit_in_any_tensor_is_detected_and_named(tmp_path):
    path = tmp_path / "ok.safetensors"
    _, raw, n, header = small_checkpoint(path)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    assert len(tensors) == 5
    for key, info in tensors.items():
        start, stop = info["data_offsets"]
        for pos in (start, (start + stop) // 2, stop - 1):
            for bit in (0, 7):
                damaged = bytearray(raw)
                damaged[8 + n + pos] ^= 1 << bit
                path.write_bytes(bytes(damaged))
                with pytest.raises(CheckpointError, match=f"tensor '{key}' is corrupt"):
                    load(path)
    path.write_bytes(raw)
    assert load(path)["epoch"] == 3


def test_changed_metadata_is_detected(tmp_path):
    path = tmp_path / "ok.safetensors"
    _, raw, n, header = small_checkpoint(path)
    text = raw[8 : 8 + n]
    assert text.count(b'\\"epoch\\":3') == 1
    path.write_bytes(raw[:8] + text.replace(b'\\"epoch\\":3', b'\\"epoch\\":7') + raw[8 + n :])
    with pytest.raises(CheckpointError, match="metadata does not match its checksum"):
        load(path)
    # Dropping a tensor's checksum, or the whole entry, is detected too.
    checks = json.loads(header["__metadata__"][container.CHECKSUMS])
    del checks["tensors"]["extra"]
    header["__metadata__"][container.CHECKSUMS] = json.dumps(checks)
    with pytest.raises(CheckpointError, match="checksums do not list the same tensors"):
        load(rewrite(path, header, raw, n))
    del header["__metadata__"][container.CHECKSUMS]
    with pytest.raises(CheckpointError, match="missing"):
        load(rewrite(path, header, raw, n))


def bf16_bytes(values):
    """bfloat16 encodings of float32 values that bfloat16 represents exactly."""
    return (np.asarray(values, np.float32).view("<u4") >> 16).astype("<u2").tobytes()


def test_foreign_file_with_f16_and_bf16_loads(tmp_path):
    half = np.array([[1.5, -0.25, 65504.0], [np.inf, -0.0, 6.1e-5]], np.float16)
    brain = np.array([1.0, -2.5, 3.140625, 1.5 * 2.0**100, -np.inf, 0.0078125], np.float32)
    assert np.array_equal(np.frombuffer(bf16_bytes(brain), "<u2").astype(np.uint32) << 16, brain.view(np.uint32))
    longs = np.array([7, -8, 2**40], np.int64)
    blobs = [half.astype("<f2").tobytes(), bf16_bytes(brain), longs.astype("<i8").tobytes(), b"\x01\x00"]
    # The F16 tensor takes 12 bytes, so the I64 after the BF16 one starts unaligned (24).
    names = [("half", "F16", list(half.shape)), ("brain", "BF16", [2, 3]), ("longs", "I64", [3]), ("mask", "BOOL", [2])]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for (name, code, shape), blob in zip(names, blobs):
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
    path = safetensors(tmp_path / "torch.safetensors", header, b"".join(blobs))
    out = load(path)
    assert list(out) == ["half", "brain", "longs", "mask"]
    assert out["half"].dtype == np.float16
    np.testing.assert_array_equal(out["half"], half)
    assert out["brain"].dtype == np.float32 and out["brain"].shape == (2, 3)
    np.testing.assert_array_equal(out["brain"], brain.reshape(2, 3))
    assert out["longs"].dtype == np.int64 and out["longs"].flags.aligned
    np.testing.assert_array_equal(out["longs"], longs)
    np.testing.assert_array_equal(out["mask"], [True, False])
    # No metadata at all, and an empty file of no tensors, are fine too.
    del header["__metadata__"]
    assert list(load(safetensors(tmp_path / "bare.safetensors", header, b"".join(blobs)))) == list(out)
    assert load(safetensors(tmp_path / "empty.safetensors", {})) == {}


def test_float16_arrays_round_trip_through_save(tmp_path):
    x = np.linspace(-2, 2, 7).astype(np.float16)
    save(tmp_path / "h.safetensors", x=x, big_endian=np.arange(4, dtype=">f8"))
    out = load(tmp_path / "h.safetensors")
    assert out["x"].dtype == np.float16
    np.testing.assert_array_equal(out["x"], x)
    np.testing.assert_array_equal(out["big_endian"], np.arange(4.0))
