"""``save`` / ``load``: checkpoints of networks, optimizer state and metadata in the
safetensors format, written atomically.

::

    save("ckpt.safetensors", net, vel=vel, epoch=3, note="after warm-up")
    ckpt = load("ckpt.safetensors")
    net, vel, epoch = ckpt["net"], ckpt["vel"], ckpt["epoch"]

The file is a standard safetensors file (8-byte little-endian header length, a JSON header,
then the raw little-endian tensor bytes), readable by any safetensors reader: tensors are
named after where they live (``net/learnables/conv/Weights``, ``vel/conv/Weights``, ...).
The structure — the network's architecture (layer classes and options, connections), the
nesting of containers, numbers, strings, ``None``, dlarray formats — is JSON in the header's
``__metadata__["dlarray"]`` entry. ``load`` of a plain safetensors file without it returns
a dict of numpy arrays.

Decisions:

* ``save`` writes to a temporary file in the destination's directory, flushes and fsyncs
  it, then renames it over the destination (``os.replace``), so a crash at any point leaves
  either the old checkpoint or the new one, never a half-written file.
* Values that can be saved: dlarray (format kept; complex data stored as real arrays with a
  trailing dim of 2), numpy arrays and scalars, ``None``, bool, int, float, str, list,
  tuple, dict with string keys, learnables/state tables, dlnetworks, and objects of
  dlarray's own classes (optimizer states). Callables inside layers (initialisers,
  ``functionLayer`` functions) are stored by import path, so they must be module-level
  functions; ``load`` imports their modules. Nothing is pickled.
* ``load`` returns a dict: ``"net"`` (when a network was saved) and the keyword names.
  A missing file raises ``FileNotFoundError`` naming the path; a truncated or corrupt file
  raises :class:`CheckpointError` (a ``ValueError``).
"""

from __future__ import annotations

import errno
import importlib
import json
import math
import os
import struct
import tempfile
from typing import Any, Dict, List, Tuple

import numpy as np

from ._core import dlarray
from .layers.base import Layer
from .network.dlnetwork import dlnetwork
from .network.table import Table

__all__ = ["save", "load", "CheckpointError"]

_FORMAT = "dlarray-checkpoint-1"
_DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16, "F16": np.float16,
    "U32": np.uint32, "I32": np.int32, "F32": np.float32, "U64": np.uint64, "I64": np.int64, "F64": np.float64,
}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A file given to ``load`` is not a valid checkpoint (truncated, corrupt, or foreign)."""


# ---- encoding ----------------------------------------------------------------------------

class _Writer:
    def __init__(self):
        self.tensors: Dict[str, np.ndarray] = {}

    def tensor(self, name: str, data: np.ndarray) -> str:
        key, k = name, 1
        while key in self.tensors:
            k += 1
            key = f"{name}#{k}"
        self.tensors[key] = data
        return key

    def encode(self, obj: Any, name: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            return float(obj) if math.isfinite(obj) else {"__float__": repr(float(obj))}
        if isinstance(obj, dlarray):
            data = np.asarray(obj)
            ref = {"__dlarray__": None, "fmt": obj.fmt}
            if np.iscomplexobj(data):
                data, ref["complex"] = np.stack([data.real, data.imag], -1), True
            ref["__dlarray__"] = self.tensor(name, data)
            return ref
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"save: cannot save a numpy array of dtype {obj.dtype} (at '{name}')")
            ref = {"__ndarray__": None}
            data = obj
            if np.iscomplexobj(data):
                data, ref["complex"] = np.stack([data.real, data.imag], -1), True
            ref["__ndarray__"] = self.tensor(name, data)
            return ref
        if isinstance(obj, complex):
            return {"__complex__": [obj.real, obj.imag]}
        if isinstance(obj, list):
            return [self.encode(v, f"{name}/{i}") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{name}/{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            bad = [k for k in obj if not isinstance(k, str)]
            if bad:
                raise TypeError(f"save: dict keys must be strings, got {bad[0]!r} (at '{name}')")
            return {"__dict__": {k: self.encode(v, f"{name}/{k}") for k, v in obj.items()}}
        if isinstance(obj, Table):
            return {"__table__": {"layer": obj.layer, "parameter": obj.parameter,
                                  "value": [self.encode(v, f"{name}/{l}/{p}") for l, p, v in obj]}}
        if isinstance(obj, dlnetwork):
            return {"__dlnetwork__": self.network(obj, name)}
        if _is_function(obj):
            return {"__callable__": _import_path(obj, name)}
        cls = type(obj)
        if cls.__module__.split(".")[0] == "dlarray" and hasattr(obj, "__dict__"):
            return {"__object__": _import_path(cls, name), "state": self.encode(dict(obj.__dict__), name)}
        raise TypeError(f"save: cannot save a value of type {cls.__name__} (at '{name}')")

    def network(self, net: dlnetwork, name: str) -> Dict[str, Any]:
        layers = []
        for layer_name, layer in net._layers.items():
            values = set(layer.learnable_parameters) | set(layer.state_parameters)
            attrs = {k: v for k, v in layer.__dict__.items() if k not in values}
            layers.append({"class": _import_path(type(layer), f"{name}/{layer_name}"),
                           "attrs": self.encode(attrs, f"{name}/layers/{layer_name}")})
        return {
            "layers": layers,
            "edges": [[list(s), list(d)] for s, d in net._edges],
            "output_names": net._output_names,
            "initialized": net._initialized,
            "learnables": self.encode(net.learnables, f"{name}/learnables"),
            "state": self.encode(net.state, f"{name}/state"),
        }


def _is_function(obj: Any) -> bool:
    import types

    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)) and not isinstance(obj, Layer)


def _import_path(obj: Any, where: str) -> str:
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise TypeError(f"save: cannot save {obj!r} (at '{where}'): only module-level functions and classes "
                        f"can be saved (by import path); lambdas and local functions cannot")
    return f"{module}:{qualname}"


def _resolve(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# ---- file format ---------------------------------------------------------------------------

def _header_bytes(tensors: Dict[str, np.ndarray], metadata: Dict[str, str]) -> Tuple[bytes, List[bytes]]:
    header: Dict[str, Any] = {"__metadata__": metadata}
    blobs, offset = [], 0
    for key, data in tensors.items():
        dtype = np.dtype(data.dtype)
        if dtype not in _CODES:
            raise TypeError(f"save: unsupported dtype {dtype} for tensor '{key}'")
        blob = np.ascontiguousarray(data, dtype=dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": _CODES[dtype], "shape": [int(s) for s in data.shape],
                       "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text, blobs


def save(path: Any, net: Any = None, **state: Any) -> None:
    """Save a network and any named values to ``path`` (safetensors), atomically."""
    path = os.fspath(path)
    writer = _Writer()
    content = {}
    if net is not None:
        content["net"] = writer.encode(net, "net")
    for key, value in state.items():
        content[key] = writer.encode(value, key)
    header, blobs = _header_bytes(writer.tensors, {"format": _FORMAT, "dlarray": json.dumps(content)})
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---- decoding ----------------------------------------------------------------------------

class _Reader:
    def __init__(self, path: str, arrays: Dict[str, np.ndarray]):
        self.path, self.arrays = path, arrays

    def array(self, key: Any, complex_: bool) -> np.ndarray:
        if key not in self.arrays:
            raise CheckpointError(f"load: '{self.path}' refers to a missing tensor {key!r}")
        data = self.arrays[key]
        return data[..., 0] + 1j * data[..., 1] if complex_ else data

    def decode(self, obj: Any) -> Any:
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__dlarray__" in obj:
            data = self.array(obj["__dlarray__"], obj.get("complex", False))
            return dlarray(data, obj["fmt"]) if obj.get("fmt") else dlarray(data)
        if "__ndarray__" in obj:
            return self.array(obj["__ndarray__"], obj.get("complex", False))
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__complex__" in obj:
            return complex(*obj["__complex__"])
        if "__tuple__" in obj:
            return tuple(self.decode(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: self.decode(v) for k, v in obj["__dict__"].items()}
        if "__table__" in obj:
            t = obj["__table__"]
            return Table(t["layer"], t["parameter"], [self.decode(v) for v in t["value"]])
        if "__dlnetwork__" in obj:
            return self.network(obj["__dlnetwork__"])
        if "__callable__" in obj:
            return _resolve(obj["__callable__"])
        if "__object__" in obj:
            cls = _resolve(obj["__object__"])
            if not isinstance(cls, type) or cls.__module__.split(".")[0] != "dlarray":
                raise CheckpointError(f"load: '{self.path}' names a class outside dlarray: {obj['__object__']}")
            out = cls.__new__(cls)
            out.__dict__.update(self.decode(obj["state"]))
            return out
        raise CheckpointError(f"load: '{self.path}' has an unknown entry {sorted(obj)[:3]}")

    def network(self, spec: Dict[str, Any]) -> dlnetwork:
        net = dlnetwork.__new__(dlnetwork)
        net._layers, net._activations = {}, None
        for entry in spec["layers"]:
            cls = _resolve(entry["class"])
            if not (isinstance(cls, type) and issubclass(cls, Layer)):
                raise CheckpointError(f"load: '{self.path}': {entry['class']} is not a Layer class")
            layer = cls.__new__(cls)
            layer.__dict__.update(self.decode(entry["attrs"]))
            for p in cls.learnable_parameters + cls.state_parameters:
                layer.__dict__.setdefault(p, None)
            net._layers[layer.name] = layer
        net._edges = [(tuple(s), tuple(d)) for s, d in spec["edges"]]
        net._output_names = spec["output_names"]
        net._initialized = bool(spec["initialized"])
        net._assign(self.decode(spec["learnables"]), "learnable_parameters", check=False)
        net._assign(self.decode(spec["state"]), "state_parameters", check=False)
        return net


def _read(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"load: no such checkpoint file: '{path}'", path) from None
    bad = lambda why: CheckpointError(f"load: '{path}' is not a valid checkpoint (safetensors) file: {why}")  # noqa: E731
    if len(raw) < 8:
        raise bad(f"it has only {len(raw)} bytes (truncated?)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > min(len(raw) - 8, _MAX_HEADER):
        raise bad(f"the header length {n} exceeds the file size {len(raw)} (truncated or corrupt)")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n :]
    arrays, end = {}, 0
    for key, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
            shape = tuple(int(s) for s in info["shape"])
            start, stop = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise bad(f"tensor '{key}' has an invalid description {info!r}") from None
        count = int(np.prod(shape)) if shape else 1
        if not 0 <= start <= stop <= len(data) or stop - start != count * dtype.itemsize:
            raise bad(f"tensor '{key}' (bytes {start}..{stop}) does not fit the {len(data)} data bytes "
                      f"(truncated or corrupt)")
        arrays[key] = np.frombuffer(data[start:stop], dtype=dtype, count=count).astype(dtype.newbyteorder("="))\
            .reshape(shape)
        end = max(end, stop)
    if end != len(data):
        raise bad(f"{len(data) - end} unexpected bytes after the tensors")
    return arrays, metadata


def load(path: Any) -> Dict[str, Any]:
    """Load a checkpoint written by ``save``: a dict with ``"net"`` and the saved names."""
    path = os.fspath(path)
    arrays, metadata = _read(path)
    if metadata.get("format") != _FORMAT or "dlarray" not in metadata:
        return dict(arrays)  # a plain safetensors file
    try:
        content = json.loads(metadata["dlarray"])
    except json.JSONDecodeError as e:
        raise CheckpointError(f"load: '{path}' has corrupt dlarray metadata ({e})") from None
    reader = _Reader(path, arrays)
    try:
        return {k: reader.decode(v) for k, v in content.items()}
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ImportError) as e:
        raise CheckpointError(f"load: '{path}' has corrupt dlarray metadata ({type(e).__name__}: {e})") from None
