"""``save`` / ``load``: checkpoints of networks, optimizer state and metadata in the
safetensors format, written atomically, read as data only.

::

    save("ckpt.safetensors", net, vel=vel, epoch=3, note="after warm-up")
    ckpt = load("ckpt.safetensors")
    net, vel, epoch = ckpt["net"], ckpt["vel"], ckpt["epoch"]

    # a network with a custom layer or a custom initialiser function
    ckpt = load("ckpt.safetensors", custom_objects={"PReLULayer": PReLULayer})
    # or, once, where the class is defined:  @dlarray.register_custom  class PReLULayer(Layer): ...

The file is a standard safetensors file, written and read through the ``safetensors``
library (the format's reference implementation, so every safetensors reader opens it; its
reader memory-maps the file, and ``load`` turns each tensor into a dlarray before reading the
next, so loading needs about the file's size in memory). Tensors are named after where they
live (``net/learnables/conv/Weights``, ``vel/conv/Weights``, ...). The structure — the
network's architecture (layer classes and options, connections), the nesting of containers,
numbers, strings, ``None``, dlarray formats — is JSON in the header's
``__metadata__["dlarray"]`` entry. ``load`` of a plain safetensors file written by another
library returns a dict of numpy arrays: numpy's dtypes as they are (F16 stays float16, C64 is
complex64), BF16 and the 8-bit floats (F8_E4M3, F8_E5M2, their FNUZ forms, F8_E8M0)
converted to float32 exactly; packed 4- and 6-bit floats raise :class:`CheckpointError`.

Decisions (details in docs/checkpoints.md):

* **A checkpoint is data.** ``load`` never imports a module or calls anything a file names.
  Layer classes and callables (initialisers, ``functionLayer`` functions) are stored by
  name and resolved only from dlarray's own layers and array functions, the
  ``custom_objects`` passed to ``load`` (a dict ``{name: object}`` or a list of objects) and
  the objects registered with :func:`register_custom` — the design of Keras'
  ``custom_objects`` / ``register_keras_serializable``. Anything else raises
  :class:`CheckpointError` naming it and saying how to allow it. Saving needs no
  registration: custom code is written as ``"module:qualname"``. Nothing is pickled.
* **Atomic and durable:** ``save`` writes a temporary file beside the destination
  (``.<name>.<pid>-<token>-<random>.<host>.tmp``), fsyncs it, renames it over the
  destination and fsyncs the directory, so a crash leaves the old checkpoint or the new
  one. Temporary files of the same destination left by dead writers (``kill -9``) are
  removed by the next ``save``; a live process's never are.
* **Permissions as** ``open(path, "w")``: a new file gets 0o666 minus the umask (the kernel
  applies it; the process umask is never touched); a replaced file keeps its permission bits.
* **Integrity:** each tensor's bytes and the metadata carry a CRC-32, checked on loading; a
  damaged tensor raises :class:`CheckpointError` naming it. (Not a signature: it detects
  damage, not tampering.)
* ``load`` returns a dict: ``"net"`` (when a network was saved) and the keyword names.
  A missing file raises ``FileNotFoundError`` naming the path; a truncated, corrupt or
  malformed file raises :class:`CheckpointError` (a ``ValueError``).
"""

from __future__ import annotations

import json
import math
import os
import types
import weakref
from typing import Any, Dict, Iterable, Mapping, Union

import numpy as np

from . import _checkpoint_file as container
from ._checkpoint_names import Resolver, check_attributes, key_of, register_custom, saveable_class
from ._core import dlarray
from ._matlab_names import accept_matlab_names
from ._torch_weights import load_torch_state_dict
from .errors import CheckpointError
from .layers.base import Layer
from .layers.network import NetworkLayer
from .network import graph
from .network.dlnetwork import dlnetwork
from .network.table import Table
from .parallel.world import is_secondary

__all__ = ["save", "load", "register_custom", "load_torch_state_dict", "CheckpointError"]

#: How deeply values may nest (containers in containers); deeper is refused on saving and
#: is a CheckpointError on loading, well before Python's recursion limit.
MAX_DEPTH = 100


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

    def array(self, marker: str, data: np.ndarray, name: str, extra: Dict[str, Any]) -> Dict[str, Any]:
        ref = {marker: None, **extra}
        if np.iscomplexobj(data):
            data, ref["complex"] = np.stack([data.real, data.imag], -1), True
        if container.dtype_code(data.dtype) is None:
            raise TypeError(f"save: cannot save an array of dtype {data.dtype} (at '{name}')")
        ref[marker] = self.tensor(name, data)
        return ref

    def encode(self, obj: Any, name: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"save: values nest more than {MAX_DEPTH} levels deep (at '{name}')")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            return float(obj) if math.isfinite(obj) else {"__float__": repr(float(obj))}
        if isinstance(obj, dlarray):
            return self.array("__dlarray__", np.asarray(obj), name, {"fmt": obj.fmt})
        if isinstance(obj, np.ndarray):
            return self.array("__ndarray__", obj, name, {})
        if isinstance(obj, complex):
            return {"__complex__": [obj.real, obj.imag]}
        if isinstance(obj, list):
            return [self.encode(v, f"{name}/{i}", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{name}/{i}", depth + 1) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            bad = [k for k in obj if not isinstance(k, str)]
            if bad:
                raise TypeError(f"save: dict keys must be strings, got {bad[0]!r} (at '{name}')")
            return {"__dict__": {k: self.encode(v, f"{name}/{k}", depth + 1) for k, v in obj.items()}}
        if isinstance(obj, Table):
            return {
                "__table__": {
                    "layer": obj.layer,
                    "parameter": obj.parameter,
                    "value": [self.encode(v, f"{name}/{layer}/{p}", depth + 1) for layer, p, v in obj],
                }
            }
        if isinstance(obj, dlnetwork):
            return {"__dlnetwork__": self.network(obj, name, depth + 1)}
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
            return {"__callable__": _key(obj, name)}
        cls = type(obj)
        if saveable_class(cls) and hasattr(obj, "__dict__"):
            return {"__object__": _key(cls, name), "state": self.encode(_attributes(obj, name), name, depth + 1)}
        raise TypeError(
            f"save: cannot save a value of type {cls.__name__} (at '{name}'); a class of your own "
            f"can be saved once registered with dlarray.register_custom({cls.__name__})"
        )

    def network(self, net: dlnetwork, name: str, depth: int) -> Dict[str, Any]:
        layers = []
        for layer_name, layer in net._layers.items():
            values = set(layer.learnable_parameters) | set(layer.state_parameters)
            attrs = {k: v for k, v in _attributes(layer, f"{name}/{layer_name}").items() if k not in values}
            layers.append(
                {"class": _key(type(layer), f"{name}/{layer_name}"), "attrs": self.encode(attrs, f"{name}/layers/{layer_name}", depth + 1)}
            )
        return {
            "layers": layers,
            "edges": [[list(s), list(d)] for s, d in net._edges],
            "output_names": net._output_names,
            "initialized": net._initialized,
            "learnables": self.encode(_own_rows(net, net.learnables), f"{name}/learnables", depth + 1),
            "state": self.encode(_own_rows(net, net.state), f"{name}/state", depth + 1),
        }


def _own_rows(net: dlnetwork, table: Table) -> Table:
    """The rows of the network's own layers: a network layer's network is saved with the
    layer, values and all, so its rows (``"block/conv"``) are not saved twice."""
    return Table.from_rows([r for r in table if r.layer in net._layers])


def _key(obj: Any, where: str) -> str:
    try:
        return key_of(obj)
    except TypeError as e:
        raise TypeError(f"save: cannot save {obj!r} (at '{where}'): {e}") from None


def _attributes(obj: Any, where: str) -> Dict[str, Any]:
    """An object's instance attributes, refused on saving exactly when ``load`` would refuse
    them (so every checkpoint ``save`` writes can be loaded)."""
    why = check_attributes(type(obj), obj.__dict__, f"'{where}' ({type(obj).__name__})")
    if why:
        raise TypeError(f"save: cannot save {why}")
    return dict(obj.__dict__)


def save(path: Any, net: Any = None, **state: Any) -> None:
    """Save a network and any named values to ``path`` (safetensors), atomically.

    A file at ``path`` is replaced (keeping its permission bits); a new one gets the mode
    ``open(path, "w")`` would give. Values: dlarray, numpy arrays and scalars, ``None``,
    bool, int, float, complex, str, list, tuple, dict with string keys, learnables/state
    tables, dlnetworks, ``lbfgsState`` and instances of registered classes.

    In data-parallel training (a ``dlarray.parallel`` pool of several processes) only
    process 0 writes; on the others ``save`` does nothing."""
    path = os.fspath(path)
    if is_secondary(started_only=True):
        return
    writer = _Writer()
    content = {}
    if net is not None:
        content["net"] = writer.encode(net, "net")
    for key, value in state.items():
        content[key] = writer.encode(value, key)
    metadata = {"format": container.FORMAT, "dlarray": json.dumps(content, separators=(",", ":"))}
    container.write_atomically(path, container.encode(writer.tensors, metadata))


# ---- decoding ----------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class _Reader:
    def __init__(self, path: str, tensors: container.Tensors, resolver: Resolver):
        self.path, self.tensors, self.resolver = path, tensors, resolver
        # Each tensor is read when the structure reaches it and becomes a dlarray (a copy)
        # before the next is read, so loading holds about one file's worth of memory. A
        # numpy array referred to twice is read once while the first is alive.
        self.arrays: "weakref.WeakValueDictionary[str, np.ndarray]" = weakref.WeakValueDictionary()

    def bad(self, why: str) -> CheckpointError:
        return CheckpointError(f"load: '{self.path}' has corrupt dlarray metadata: {why}")

    def array(self, obj: Dict[str, Any], marker: str) -> np.ndarray:
        key = obj[marker]
        if not isinstance(key, str) or key not in self.tensors:
            raise self.bad(f"it refers to a missing tensor {key!r}")
        data = self.arrays.get(key)
        if data is None:
            data = self.arrays[key] = self.tensors[key]
        if obj.get("complex", False) is not True:
            return data
        if data.ndim == 0 or data.shape[-1] != 2 or data.dtype.kind != "f":
            raise self.bad(
                f"the complex tensor '{key}' has dtype {data.dtype} and shape {data.shape} "
                f"(expected real parts and imaginary parts in a trailing dim of 2)"
            )
        return data[..., 0] + 1j * data[..., 1]

    def decode(self, obj: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.bad(f"values nest more than {MAX_DEPTH} levels deep")
        if isinstance(obj, list):
            return [self.decode(v, depth + 1) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__dlarray__" in obj:
            fmt = obj.get("fmt")
            if fmt is not None and not isinstance(fmt, str):
                raise self.bad(f"the format of tensor {obj['__dlarray__']!r} is {fmt!r}, not a string")
            data = self.array(obj, "__dlarray__")
            return dlarray(data, fmt) if fmt else dlarray(data)
        if "__ndarray__" in obj:
            return self.array(obj, "__ndarray__")
        if "__float__" in obj:
            if not isinstance(obj["__float__"], str):
                raise self.bad(f"invalid float {obj['__float__']!r}")
            return float(obj["__float__"])
        if "__complex__" in obj:
            parts = obj["__complex__"]
            if not (
                isinstance(parts, list) and len(parts) == 2 and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in parts)
            ):
                raise self.bad(f"invalid complex number {parts!r}")
            return complex(*parts)
        if "__tuple__" in obj:
            return tuple(self.decode(v, depth + 1) for v in self.typed(obj["__tuple__"], list, "a tuple"))
        if "__dict__" in obj:
            return {k: self.decode(v, depth + 1) for k, v in self.typed(obj["__dict__"], dict, "a dict").items()}
        if "__table__" in obj:
            t = self.typed(obj["__table__"], dict, "a table")
            values = [self.decode(v, depth + 1) for v in self.typed(t["value"], list, "a table")]
            return Table(t["layer"], t["parameter"], values)
        if "__dlnetwork__" in obj:
            return self.network(self.typed(obj["__dlnetwork__"], dict, "a network"), depth + 1)
        if "__callable__" in obj:
            return self.resolver.function(obj["__callable__"])
        if "__object__" in obj:
            cls = self.resolver.object_class(obj["__object__"])
            return self.instance(cls, self.decode(obj.get("state"), depth + 1), f"object of class {cls.__name__}")
        raise self.bad(f"unknown entry with keys {sorted(obj)[:3]}")

    def typed(self, value: Any, kind: type, what: str) -> Any:
        if not isinstance(value, kind):
            raise self.bad(f"{what} is stored as {type(value).__name__}, not {kind.__name__}")
        return value

    def instance(self, cls: type, attrs: Any, who: str) -> Any:
        """An object of ``cls`` with ``attrs`` as its instance attributes: ``__new__`` and a
        dict update, never ``__init__`` or ``__setattr__``."""
        attrs = self.typed(attrs, dict, f"the attributes of the {who}")
        why = check_attributes(cls, attrs, f"the {who}")
        if why:
            raise self.bad(why)
        out = cls.__new__(cls)
        out.__dict__.update(attrs)
        return out

    def network(self, spec: Dict[str, Any], depth: int) -> dlnetwork:
        net = dlnetwork.__new__(dlnetwork)
        net._layers, net._activations = {}, None
        for entry in self.typed(spec["layers"], list, "the layer list"):
            entry = self.typed(entry, dict, "a layer")
            cls = self.resolver.layer_class(entry.get("class"))
            layer = self.instance(cls, self.decode(entry.get("attrs"), depth + 1), f"layer of class {cls.__name__}")
            for p in cls.learnable_parameters + cls.state_parameters:
                layer.__dict__.setdefault(p, None)
            why = layer._problem() if isinstance(layer, NetworkLayer) else None
            if why:
                raise self.bad(why)
            name = layer.__dict__.get("name")
            if not isinstance(name, str) or name in net._layers:
                raise self.bad(f"a layer of class {cls.__name__} has the name {name!r} (missing or repeated)")
            net._layers[name] = layer
        net._edges = [self.edge(e, net._layers) for e in self.typed(spec["edges"], list, "the connections")]
        graph.topological_order(list(net._layers), net._edges)  # rejects cycles
        outputs = spec["output_names"]
        if outputs is not None and not (isinstance(outputs, list) and all(isinstance(o, str) for o in outputs)):
            raise self.bad(f"the output names are {outputs!r}")
        net._output_names = outputs
        net._initialized = self.typed(spec["initialized"], bool, "the initialized flag")
        for kind, entry in (("learnable_parameters", "learnables"), ("state_parameters", "state")):
            table = self.decode(spec[entry], depth + 1)
            if not isinstance(table, Table) or not all(v is None or isinstance(v, dlarray) for v in table.value):
                raise self.bad(f"the network's {entry} are not a table of dlarrays")
            net._assign(table, kind, check=False)
        return net

    def edge(self, e: Any, layers: Dict[str, Layer]) -> tuple:
        ok = (
            isinstance(e, list)
            and len(e) == 2
            and all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[0] in layers and _is_int(p[1]) for p in e)
        )
        if ok:
            (src, i), (dst, j) = e
            ok = 0 <= i < layers[src].num_outputs and 0 <= j < layers[dst].num_inputs
        if not ok:
            raise self.bad(f"invalid connection {e!r}")
        return tuple(e[0]), tuple(e[1])


def load(path: Any, *, custom_objects: Union[None, Mapping[str, Any], Iterable[Any]] = None) -> Dict[str, Any]:
    """Load a checkpoint written by ``save``: a dict with ``"net"`` and the saved names.

    ``custom_objects``: the custom layer classes, functions and classes the file may name,
    as ``{name: object}`` (the name as saved, ``"module:qualname"``, or the bare qualname) or
    a list of objects; in addition to dlarray's own and those registered with
    :func:`register_custom`. A plain safetensors file gives a dict of numpy arrays."""
    path = os.fspath(path)
    resolver = Resolver(path, custom_objects)
    with container.Tensors(path) as tensors:
        fmt = tensors.metadata.get("format")
        if not (isinstance(fmt, str) and fmt.startswith("dlarray-checkpoint-")):
            return dict(tensors.items())  # a plain safetensors file
        reader = _Reader(path, tensors, resolver)
        text = tensors.metadata.get("dlarray")
        if not isinstance(text, str):
            raise reader.bad("the 'dlarray' metadata entry is missing")
        content = container.parse_json(text, "the 'dlarray' metadata entry", reader.bad)
        if not isinstance(content, dict):
            raise reader.bad(f"the 'dlarray' metadata entry is a JSON {type(content).__name__}, not an object")
        try:
            out = {k: reader.decode(v) for k, v in content.items()}
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
            raise reader.bad(f"{type(e).__name__}: {e}") from None
        tensors.verify_unread()
    return out


accept_matlab_names(globals())
