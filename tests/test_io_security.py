"""load reads data only: a checkpoint cannot make it import or call code it names.

The hostile files are written with dlarray's own encoder, so they are well-formed and carry
valid checksums — what an attacker who knows the format would produce."""

import json
import struct
import sys

import dlarray as dl
import numpy as np
import pytest
from dlarray import (
    CheckpointError,
    _checkpoint_names,
    dlarray,
    dlnetwork,
    extractdata,
    featureInputLayer,
    fullyConnectedLayer,
    load,
    register_custom,
    save,
)
from dlarray import _checkpoint_file as container
from dlarray.layers import Layer


def craft(path, content, tensors=None, fmt=container.FORMAT):
    """A checkpoint whose dlarray metadata is ``content`` (a dict, or raw JSON text)."""
    text = content if isinstance(content, str) else json.dumps(content)
    metadata = {"format": fmt, "dlarray": text}
    if fmt == container.FORMAT:
        chunks = container.encode(tensors or {}, metadata)
    else:  # a format-1 file: no checksums
        header = json.dumps({"__metadata__": metadata}).encode()
        chunks = [struct.pack("<Q", len(header)) + header]
    with open(path, "wb") as f:
        for c in chunks:
            f.write(c)
    return path


def header_content(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    tensors = {}
    for key, info in header.items():
        if key != "__metadata__":
            start, stop = info["data_offsets"]
            dtype = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}[info["dtype"]]
            tensors[key] = np.frombuffer(raw[8 + n + start : 8 + n + stop], dtype).reshape(info["shape"])
    return json.loads(header["__metadata__"]["dlarray"]), tensors


class PReLULayer(Layer):
    learnable_parameters = ("Alpha",)
    description = "PReLU"

    def __init__(self, name=""):
        super().__init__(name)
        self.Alpha = None

    def initialize(self, X):
        if self.Alpha is None:
            self.Alpha = dlarray(np.full((X.shape[X.fmt.index("C")], 1), 0.25, np.float32))

    def predict(self, X):
        return dl.relu(X) - self.Alpha * dl.relu(-X)


def half_init(shape):
    return np.full(shape, 0.5)


class Counter:
    def __init__(self, n):
        self.n = n


@pytest.fixture
def registry(monkeypatch):
    """A private registry, so registrations do not leak between tests."""
    table = {}
    monkeypatch.setattr(_checkpoint_names, "_REGISTRY", table)
    return table


@pytest.mark.parametrize(
    "name",
    [
        "os:system",
        "subprocess:Popen",
        "builtins:eval",
        "posix:system",
        "dlarray:io.os.system",
        "dlarray.io:os.system",
        "dlarray.io:os",
        "dlarray:__class__",
        "dlarray.layers.base:Layer.__subclasses__",
        "dlarray:save",
        "dlarray:load",
        "dlarray:dlfeval",
        "dlarray:trainingProgressMonitor",
        "dlarray:lbfgsState",
        "dlarray.layers:FullyConnectedLayer",
        "",
        ":",
        "relu",
    ],
)
def test_callables_outside_the_allow_list_are_refused(tmp_path, name):
    path = craft(tmp_path / "evil.safetensors", {"x": {"__callable__": name}})
    with pytest.raises(CheckpointError, match="evil.safetensors") as e:
        load(path)
    assert f"'{name}'" in str(e.value)
    assert "custom_objects" in str(e.value) and "register_custom" in str(e.value)


def test_module_beside_the_checkpoint_is_never_imported(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evil_plugin.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "def run(*a):\n    return 0\n"
        "class EvilLayer:\n    pass\n"
        "class Obj:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "evil_plugin", raising=False)
    net = {
        "layers": [{"class": "evil_plugin:EvilLayer", "attrs": {"__dict__": {"name": "x"}}}],
        "edges": [],
        "output_names": None,
        "initialized": False,
        "learnables": {"__table__": {"layer": [], "parameter": [], "value": []}},
        "state": {"__table__": {"layer": [], "parameter": [], "value": []}},
    }
    cases = {
        "callable": {"x": {"__callable__": "evil_plugin:run"}},
        "layer": {"net": {"__dlnetwork__": net}},
        "object": {"x": {"__object__": "evil_plugin:Obj", "state": {"__dict__": {}}}},
        "legacy": {"x": {"__callable__": "evil_plugin:run"}},
    }
    for case, content in cases.items():
        path = craft(tmp_path / f"{case}.safetensors", content, fmt="dlarray-checkpoint-1" if case == "legacy" else container.FORMAT)
        with pytest.raises(CheckpointError, match="evil_plugin"):
            load(path)
    assert not marker.exists(), "load imported a module named by the file"
    assert "evil_plugin" not in sys.modules


def test_names_resolve_only_to_their_own_kind(tmp_path):
    # A function is not a layer class, a layer class is not a saveable object class.
    net = {
        "layers": [{"class": "dlarray:relu", "attrs": {"__dict__": {"name": "x"}}}],
        "edges": [],
        "output_names": None,
        "initialized": False,
        "learnables": {"__table__": {"layer": [], "parameter": [], "value": []}},
        "state": {"__table__": {"layer": [], "parameter": [], "value": []}},
    }
    with pytest.raises(CheckpointError, match="dlarray:relu"):
        load(craft(tmp_path / "a.safetensors", {"net": {"__dlnetwork__": net}}))
    with pytest.raises(CheckpointError, match="FullyConnectedLayer"):
        load(craft(tmp_path / "b.safetensors", {"x": {"__object__": "dlarray.layers:FullyConnectedLayer", "state": {"__dict__": {}}}}))


@pytest.mark.parametrize(
    "attr, value, why",
    [
        ("predict", {"__callable__": "dlarray:relu"}, "hide a method"),
        ("initialize", {"__callable__": "dlarray:exp"}, "hide a method"),
        ("input_names", ["in"], "hide a method or property"),
        ("__class__", {"__callable__": "dlarray:relu"}, "special attribute"),
        ("__dict__", {"__dict__": {}}, "special attribute"),
        ("__reduce_ex__", 1, "special attribute"),
        ("not an identifier", 1, "not an identifier"),
    ],
)
def test_layer_attributes_cannot_replace_methods(tmp_path, attr, value, why):
    path = tmp_path / "net.safetensors"
    save(path, dlnetwork([featureInputLayer(3), fullyConnectedLayer(2, name="fc")]))
    content, tensors = header_content(path)
    fc = next(layer for layer in content["net"]["__dlnetwork__"]["layers"] if "FullyConnected" in layer["class"])
    fc["attrs"]["__dict__"][attr] = value
    with pytest.raises(CheckpointError, match=why):
        load(craft(tmp_path / "evil.safetensors", content, tensors))


def test_object_attributes_cannot_replace_methods(tmp_path):
    save(tmp_path / "s.safetensors", s=dl.lbfgsState(history_size=3))
    content, tensors = header_content(tmp_path / "s.safetensors")
    content["s"]["state"]["__dict__"]["__class__"] = {"__callable__": "dlarray:relu"}
    with pytest.raises(CheckpointError, match="special attribute"):
        load(craft(tmp_path / "evil.safetensors", content, tensors))


def test_builtin_layers_functions_and_lbfgs_state_need_no_registration(tmp_path):
    np.random.seed(0)
    net = dlnetwork(
        [
            featureInputLayer(2),
            fullyConnectedLayer(3, weights_initializer="he"),
            dl.functionLayer(dl.tanh),
            dl.functionLayer(dl.sum, formattable=True),
        ]
    )
    state = dl.lbfgsState(history_size=4, initial_inverse_hessian_factor=0.5)
    save(tmp_path / "ok.safetensors", net, state=state, fn=dl.softmax)
    ckpt = load(tmp_path / "ok.safetensors")
    x = np.array([[0.5], [-1.0]], np.float32)
    np.testing.assert_array_equal(extractdata(ckpt["net"].predict(x)), extractdata(net.predict(x)))
    assert ckpt["fn"] is dl.softmax
    assert isinstance(ckpt["state"], dl.lbfgsState)
    assert ckpt["state"].history_size == 4 and ckpt["state"].initial_inverse_hessian_factor == 0.5
    # Stable public names are written, not internal module paths.
    content, _ = header_content(tmp_path / "ok.safetensors")
    classes = [layer["class"] for layer in content["net"]["__dlnetwork__"]["layers"]]
    assert classes == [
        "dlarray.layers:FeatureInputLayer",
        "dlarray.layers:FullyConnectedLayer",
        "dlarray.layers:FunctionLayer",
        "dlarray.layers:FunctionLayer",
    ]
    assert content["fn"] == {"__callable__": "dlarray:softmax"}


def test_old_module_paths_of_dlarray_objects_still_load(tmp_path):
    content = {"f": {"__callable__": "dlarray.nn.activations:relu"}}
    assert load(craft(tmp_path / "old.safetensors", content, fmt="dlarray-checkpoint-1"))["f"] is dl.relu


def test_custom_layer_loads_only_when_passed_or_registered(tmp_path, registry):
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(3), PReLULayer(name="prelu"), fullyConnectedLayer(2)])
    path = tmp_path / "custom.safetensors"
    save(path, net)  # saving needs no registration
    x = np.array([[1.0], [-2.0], [3.0]], np.float32)
    expected = extractdata(net.predict(x))
    with pytest.raises(CheckpointError, match="test_io_security:PReLULayer") as e:
        load(path)
    assert "custom_objects={'PReLULayer': PReLULayer}" in str(e.value)
    for custom in ({"PReLULayer": PReLULayer}, {"test_io_security:PReLULayer": PReLULayer}, [PReLULayer]):
        loaded = load(path, custom_objects=custom)["net"]
        assert type(loaded.get_layer("prelu")) is PReLULayer
        np.testing.assert_array_equal(extractdata(loaded.predict(x)), expected)
    assert register_custom(PReLULayer) is PReLULayer
    np.testing.assert_array_equal(extractdata(load(path)["net"].predict(x)), expected)


def test_custom_layer_saved_from_a_script_loads_by_qualname(tmp_path, registry):
    save(tmp_path / "a.safetensors", dlnetwork([featureInputLayer(3), PReLULayer(name="p")]))
    content, tensors = header_content(tmp_path / "a.safetensors")
    layers = content["net"]["__dlnetwork__"]["layers"]
    layers[1]["class"] = "__main__:PReLULayer"
    path = craft(tmp_path / "b.safetensors", content, tensors)
    register_custom(PReLULayer)
    assert type(load(path)["net"].get_layer("p")) is PReLULayer
    # Two registered objects of the same qualname: ambiguous, so a full key is needed.
    other = type("PReLULayer", (PReLULayer,), {"__module__": "elsewhere"})
    register_custom(other)
    with pytest.raises(CheckpointError, match="several"):
        load(path)
    assert type(load(path, custom_objects={"__main__:PReLULayer": other})["net"].get_layer("p")) is other


def test_registered_name_is_the_one_saved(tmp_path, registry):
    @register_custom(name="mypkg.PReLU")
    class Renamed(PReLULayer):
        pass

    save(tmp_path / "r.safetensors", dlnetwork([featureInputLayer(3), Renamed(name="p")]))
    content, _ = header_content(tmp_path / "r.safetensors")
    assert content["net"]["__dlnetwork__"]["layers"][1]["class"] == "mypkg.PReLU"
    assert type(load(tmp_path / "r.safetensors")["net"].get_layer("p")) is Renamed
    registry.clear()
    with pytest.raises(CheckpointError, match="mypkg.PReLU"):
        load(tmp_path / "r.safetensors")


def test_custom_initializer_functions(tmp_path):
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(2), fullyConnectedLayer(2, weights_initializer=half_init, bias_initializer=np.ones)])
    save(tmp_path / "i.safetensors", net)
    with pytest.raises(CheckpointError, match="test_io_security:half_init"):
        load(tmp_path / "i.safetensors")
    with pytest.raises(CheckpointError, match="numpy:ones"):
        load(tmp_path / "i.safetensors", custom_objects=[half_init])
    loaded = load(tmp_path / "i.safetensors", custom_objects={"half_init": half_init, "numpy:ones": np.ones})["net"]
    fc = loaded.get_layer("fc")
    assert fc.weights_initializer is half_init and fc.bias_initializer is np.ones
    np.testing.assert_array_equal(extractdata(loaded.learnables["fc", "Weights"]), np.full((2, 2), 0.5))


def test_custom_objects_need_registration_to_be_saved(tmp_path, registry):
    with pytest.raises(TypeError, match="register_custom"):
        save(tmp_path / "c.safetensors", counter=Counter(3))
    register_custom(Counter)
    save(tmp_path / "c.safetensors", counter=Counter(3))
    out = load(tmp_path / "c.safetensors")["counter"]
    assert type(out) is Counter and out.n == 3
    registry.clear()
    with pytest.raises(CheckpointError, match="test_io_security:Counter"):
        load(tmp_path / "c.safetensors")
    assert load(tmp_path / "c.safetensors", custom_objects=[Counter])["counter"].n == 3


def test_register_custom_and_custom_objects_check_their_arguments(registry):
    with pytest.raises(ValueError, match="dlarray's own"):
        register_custom(PReLULayer, name="dlarray:relu")
    with pytest.raises(TypeError, match="class or a function"):
        register_custom(3)
    with pytest.raises(TypeError, match="lambdas"):
        register_custom(lambda x: x)
    with pytest.raises(TypeError, match="custom_objects"):
        load("unused.safetensors", custom_objects="PReLULayer")
    with pytest.raises(TypeError, match="class or a function"):
        load("unused.safetensors", custom_objects={"x": 3})
    assert registry == {}
