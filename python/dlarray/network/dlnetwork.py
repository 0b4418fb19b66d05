"""``dlnetwork``: a graph of layers with learnables and state (MATLAB's ``dlnetwork``).

::

    net = dlnetwork([imageInputLayer((28, 28, 1), normalization="none"),
                     convolution2dLayer(5, 20, padding="same"), reluLayer(),
                     fullyConnectedLayer(10), softmaxLayer()])
    Y, state = net.forward(X, return_state=True)     # training behaviour
    Y = net.predict(X)                               # inference behaviour
    net.learnables["conv", "Weights"]

Decisions (MATLAB has no Python counterpart for these):

* **Value semantics.** Functions never modify a network: ``forward`` returns the new state
  (assign it back with ``net.state = state``, as in MATLAB), the optimizers return a new
  network, ``net.learnables`` returns a new table. The graph-editing methods
  (``add_layers``, ``connect_layers``, ...), ``initialize`` and ``reset_state`` change the
  network object they are called on **and return it**, so MATLAB's ``net = addLayers(net,
  ...)`` ports as ``net = net.add_layers(...)`` and plain ``net.add_layers(...)`` works too.
  Layers inside a network are never modified: a change copies the layer.
* **Results.** One network output is returned as such, several as a tuple; with
  ``return_state=True`` the state table is appended: ``(Y, state)`` or ``(Y1, Y2, state)``.
* **Inputs.** Network inputs are the input layers (named by the layer) and then any
  unconnected input of another layer (``"layer"`` or ``"layer/in2"``), in layer order.
  Outputs are the unconnected layer outputs unless ``output_names`` is given.
* **Initialisation** propagates a one-observation example through the graph (zeros shaped
  like the input layers, or the example inputs given) so every layer sees its input sizes;
  only parameters that are still unset are initialised.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._arguments import as_dlarray, flag
from .._core import DTypeError, OptionError, ShapeError, dlarray
from .._matlab_names import MatlabProperties, accept_matlab_names
from ..accelerate import AcceleratedFunction
from ..layers.base import Layer
from ..layers.function import FunctionLayer
from ..layers.network import NetworkLayer
from . import graph
from .graph import Connection, Port
from .table import Table

__all__ = ["dlnetwork"]


#: The library's own errors, which a network re-raises with the failing layer's name.
_TYPED = tuple(
    getattr(_core, n)
    for n in (
        "ShapeError",
        "FormatError",
        "OptionError",
        "DTypeError",
        "DlIndexError",
        "AutodiffError",
        "InternalError",
        "OutOfMemoryError",
    )
    if hasattr(_core, n)
)


def _is_input(layer: Layer) -> bool:
    return bool(getattr(layer, "is_input", False))


def _options_key(value: Any) -> Any:
    """A comparable stand-in for a layer's options: numbers, strings and functions as they are,
    containers element by element; arrays are left out (the learnables and state tables
    carry them)."""
    if isinstance(value, dlarray):
        return None
    if isinstance(value, dict):
        return tuple((k, _options_key(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_options_key(v) for v in value)
    if isinstance(value, np.ndarray):
        return (value.shape, str(value.dtype), value.tobytes())
    if value is None or isinstance(value, (bool, int, float, str, np.generic)) or callable(value):
        return value
    return type(value).__name__


class dlnetwork(MatlabProperties):  # noqa: N801 - MATLAB's name
    """A deep-learning network for custom training loops (MATLAB's ``dlnetwork``).

    MATLAB's property spellings read and assign the snake_case ones (``net.Learnables``,
    ``net.State = state``), and the methods take MATLAB's option names (``Outputs=``)."""

    _matlab_assignable = frozenset({"learnables", "state", "output_names"})

    def __init__(
        self,
        layers: Union[None, Layer, Sequence[Layer], "dlnetwork"] = None,
        *example_inputs: Any,
        initialize: bool = True,
        output_names: Optional[Sequence[str]] = None,
    ):
        self._layers: Dict[str, Layer] = {}
        self._edges: List[Tuple[Port, Port]] = []
        self._output_names: Optional[List[str]] = None
        self._initialized = False
        self._activations: Optional[Dict[str, List[Tuple[Tuple[int, ...], str]]]] = None
        if isinstance(layers, dlnetwork):
            self._copy_from(layers)
        elif layers is not None:
            self.add_layers(layers)
        if output_names is not None:
            self.output_names = output_names
        if initialize and (example_inputs or any(_is_input(node) for node in self._layers.values())):
            self.initialize(*example_inputs)

    # ---- structure -----------------------------------------------------------------------
    def _copy_from(self, other: "dlnetwork") -> None:
        self._layers = dict(other._layers)
        self._edges = list(other._edges)
        self._output_names = None if other._output_names is None else list(other._output_names)
        self._initialized = other._initialized
        self._activations = other._activations

    def _clone(self) -> "dlnetwork":
        out = dlnetwork.__new__(dlnetwork)
        out._copy_from(self)
        return out

    def _changed(self) -> None:
        # MATLAB: editing the graph leaves the network uninitialized; initialize() keeps the
        # values already set and fills in the rest.
        self._activations = None
        self._initialized = False

    @property
    def layers(self) -> Tuple[Layer, ...]:
        """The layers (copies: changing them does not change the network)."""
        return tuple(node._with() for node in self._layers.values())

    def get_layer(self, name: str) -> Layer:
        """The layer named ``name`` (a copy); a layer inside a network layer by its path
        (``"block/conv1"``)."""
        where = self._locate(name) if isinstance(name, str) else None
        if where is None:
            raise OptionError(f"dlnetwork: no layer named {name!r}; layers: {list(self._layers)}")
        top, rest = where
        node = self._layers[top]
        return node._network.get_layer(rest) if rest else node._with()

    def _locate(self, path: str) -> Optional[Tuple[str, str]]:
        """(layer, path inside it) for a layer name or a path through network layers
        (``"block/conv1"`` → ``("block", "conv1")``); None when there is no such layer."""
        if path in self._layers:
            return path, ""
        cuts = [i for i, c in enumerate(path) if c == "/"]
        for i in reversed(cuts):
            node = self._layers.get(path[:i])
            if isinstance(node, NetworkLayer) and node._network._locate(path[i + 1 :]) is not None:
                return path[:i], path[i + 1 :]
        return None

    @property
    def connections(self) -> List[Connection]:
        """``(source, destination)`` rows, MATLAB's ``Connections`` table."""
        return [
            Connection(graph.port_text(s, self._layers[s[0]].output_names), graph.port_text(d, self._layers[d[0]].input_names))
            for s, d in self._edges
        ]

    @property
    def initialized(self) -> bool:
        return self._initialized

    @property
    def input_names(self) -> List[str]:
        # Input layers are named by the layer; other inputs by port ("fc" or "add/in2").
        return [p[0] if p[1] < 0 else graph.port_text(p, self._input_port_names(p)) for p in self._input_ports()]

    def _input_port_names(self, port: Port) -> List[str]:
        return self._layers[port[0]].input_names

    def _input_ports(self) -> List[Port]:
        """Input layers as (name, -1), then unconnected inputs of other layers."""
        connected = {d for _, d in self._edges}
        ports: List[Port] = [(n, -1) for n, node in self._layers.items() if _is_input(node)]
        for n, node in self._layers.items():
            if not _is_input(node):
                ports += [(n, i) for i in range(node.num_inputs) if (n, i) not in connected]
        return ports

    def _output_ports(self) -> List[Port]:
        if self._output_names is not None:
            return [self._parse_output(o) for o in self._output_names]
        used = {s for s, _ in self._edges}
        return [(n, i) for n, node in self._layers.items() for i in range(node.num_outputs) if (n, i) not in used]

    @property
    def output_names(self) -> List[str]:
        return [graph.port_text(p, self._layers[p[0]].output_names) for p in self._output_ports()]

    @output_names.setter
    def output_names(self, names: Sequence[str]) -> None:
        names = _names(names, "output_names")
        for n in names:
            self._parse_output(n)
        self._output_names = names

    def _parse_output(self, text: str) -> Port:
        if not isinstance(text, str):
            raise OptionError(f"dlnetwork: a layer output must be named by a string, got {text!r}")
        return graph.parse_port(text, "out", self._layers)

    def _parse_input(self, text: str) -> Port:
        if not isinstance(text, str):
            raise OptionError(f"dlnetwork: a layer input must be named by a string, got {text!r}")
        return graph.parse_port(text, "in", self._layers)

    # ---- graph editing (in place, returns self) -----------------------------------------------
    def add_layers(self, layers: Union[Layer, Sequence[Layer]]) -> "dlnetwork":
        """Add layers, connecting a list of them in series (MATLAB's ``addLayers``)."""
        layers = [layers] if isinstance(layers, Layer) else list(layers)
        for node in layers:
            if not isinstance(node, Layer):
                raise DTypeError(f"dlnetwork: expected Layer objects, got {type(node).__name__}")
        given = [node.name for node in layers if node.name]
        clash = [n for n in given if n in self._layers] + [n for n in set(given) if given.count(n) > 1]
        if clash:
            raise OptionError(f"dlnetwork: duplicate layer names {sorted(set(clash))}")
        unnamed = [node for node in layers if not node.name]
        auto = iter(graph.unique_names([node.default_name for node in unnamed], list(self._layers) + given))
        new = [node._with(name=node.name or next(auto)) for node in layers]
        for node in new:
            self._layers[node.name] = node
        for a, b in zip(new, new[1:]):
            if a.num_outputs < 1 or b.num_inputs < 1:
                raise OptionError(f"dlnetwork: cannot connect '{a.name}' to '{b.name}' in series")
            self._edges.append(((a.name, 0), (b.name, 0)))
        self._changed()
        return self

    def connect_layers(self, source: str, destination: str) -> "dlnetwork":
        """Connect an output to an input: ``net.connect_layers("relu1", "add/in2")``."""
        s, d = self._parse_output(source), self._parse_input(destination)
        for _, existing in self._edges:
            if existing == d:
                raise OptionError(f"dlnetwork: input '{destination}' is already connected; disconnect it first")
        self._edges.append((s, d))
        try:
            graph.topological_order(list(self._layers), self._edges)  # reject cycles now
        except OptionError:
            self._edges.pop()
            raise
        self._changed()
        return self

    def disconnect_layers(self, source: str, destination: str) -> "dlnetwork":
        s, d = self._parse_output(source), self._parse_input(destination)
        if (s, d) not in self._edges:
            raise OptionError(f"dlnetwork: '{source}' is not connected to '{destination}'")
        self._edges.remove((s, d))
        self._changed()
        return self

    def remove_layers(self, names: Union[str, Sequence[str]]) -> "dlnetwork":
        names = list(dict.fromkeys(_names(names, "remove_layers")))
        for n in names:
            if n not in self._layers:
                raise OptionError(f"dlnetwork: no layer named '{n}'; layers: {list(self._layers)}")
        before = dict(self._layers)
        for n in names:
            del self._layers[n]
        self._edges = [(s, d) for s, d in self._edges if s[0] in self._layers and d[0] in self._layers]
        if self._output_names is not None:
            self._output_names = [o for o in self._output_names if graph.split_port(o, before, "out")[0] in self._layers]
        self._changed()
        return self

    def replace_layer(self, name: str, layers: Union[Layer, Sequence[Layer]]) -> "dlnetwork":
        """Replace layer ``name`` by a layer or a series of layers, keeping its connections (the
        old inputs go to the first new layer, its outputs come from the last)."""
        if name not in self._layers:
            raise OptionError(f"dlnetwork: no layer named '{name}'; layers: {list(self._layers)}")
        layers = [layers] if isinstance(layers, Layer) else list(layers) if isinstance(layers, (list, tuple)) else None
        if not layers or not all(isinstance(node, Layer) for node in layers):
            raise OptionError("dlnetwork.replace_layer: the replacement must be a layer or a non-empty list of layers")
        incoming = [(s, d[1]) for s, d in self._edges if d[0] == name]
        outgoing = [(s[1], d) for s, d in self._edges if s[0] == name]
        order = list(self._layers)
        position = order.index(name)
        self.remove_layers(name)
        before = set(self._layers)
        self.add_layers(layers)
        added = [n for n in self._layers if n not in before]
        first, last = added[0], added[-1]
        # Keep the layer order: the new layers take the old layer's place.
        keys = [n for n in self._layers if n not in added]
        keys[position:position] = added
        self._layers = {n: self._layers[n] for n in keys}
        for s, i in incoming:
            if i >= self._layers[first].num_inputs:
                raise OptionError(f"dlnetwork: replacement '{first}' has fewer inputs than '{name}'")
            self._edges.append((s, (first, i)))
        for i, d in outgoing:
            if i >= self._layers[last].num_outputs:
                raise OptionError(f"dlnetwork: replacement '{last}' has fewer outputs than '{name}'")
            self._edges.append(((last, i), d))
        self._initialized = False
        self._changed()
        return self

    # ---- learnables and state --------------------------------------------------------------
    def _rows(self, kind: str) -> List[Tuple[str, Layer, str, Any]]:
        """(layer path, layer, parameter, value) of every parameter of ``kind``, those of
        network layers' networks included, by path (``"block/conv1"``), in layer order."""
        rows: List[Tuple[str, Layer, str, Any]] = []
        for n, node in self._layers.items():
            if isinstance(node, NetworkLayer):
                rows += [(f"{n}/{path}", leaf, p, v) for path, leaf, p, v in node._network._rows(kind)]
            for p in getattr(node, kind):
                rows.append((n, node, p, getattr(node, p, None)))
        return rows

    def _table(self, kind: str) -> Table:
        return Table.from_rows([(path, p, v) for path, _, p, v in self._rows(kind)])

    @property
    def learnables(self) -> Table:
        """MATLAB's ``Learnables``: a table with columns layer, parameter, value."""
        return self._table("learnable_parameters")

    @learnables.setter
    def learnables(self, table: Table) -> None:
        self._assign(table, "learnable_parameters", check=True)

    @property
    def state(self) -> Table:
        """MATLAB's ``State`` (e.g. ``TrainedMean``, ``TrainedVariance``, ``HiddenState``)."""
        return self._table("state_parameters")

    @state.setter
    def state(self, table: Table) -> None:
        self._assign(table, "state_parameters", check=True)

    def _assign(self, table: Table, kind: str, check: bool, prefix: str = "") -> None:
        if not isinstance(table, Table):
            raise DTypeError(f"dlnetwork: expected a learnables/state Table, got {type(table).__name__}")
        updates: Dict[str, Dict[str, Any]] = {}
        nested: Dict[str, List[Tuple[str, str, Any]]] = {}
        for layer, parameter, value in table:
            where = self._locate(layer) if isinstance(layer, str) else None
            if where is not None and where[1]:
                nested.setdefault(where[0], []).append((where[1], parameter, value))
                continue
            node = self._layers.get(layer)
            if node is None or parameter not in getattr(node, kind):
                what = "learnable" if kind == "learnable_parameters" else "state"
                raise OptionError(f"dlnetwork: no {what} parameter '{parameter}' in layer '{prefix}{layer}'")
            old = getattr(node, parameter, None)
            if check and value is None and old is not None:
                raise OptionError(f"dlnetwork: the value for ('{prefix}{layer}', '{parameter}') must be an array, got None")
            if check and value is not None:
                value = as_dlarray(value, "dlnetwork", f"the value for ('{prefix}{layer}', '{parameter}')")
                if old is not None and tuple(old.shape) != tuple(value.shape) and kind == "learnable_parameters":
                    raise ShapeError(
                        f"dlnetwork: value for ('{prefix}{layer}', '{parameter}') has shape {tuple(value.shape)}, "
                        f"expected {tuple(old.shape)}"
                    )
            updates.setdefault(layer, {})[parameter] = value
        for layer, values in updates.items():
            self._layers[layer] = self._layers[layer]._with(**values)
        for layer, rows in nested.items():
            node = self._layers[layer]
            inner = node._network._clone()
            inner._assign(Table.from_rows(rows), kind, check, prefix=f"{prefix}{layer}/")
            self._layers[layer] = node._with_network(inner)

    def _with_tables(self, learnables: Table, state: Table) -> "dlnetwork":
        out = self._clone()
        out._assign(learnables, "learnable_parameters", check=False)
        out._assign(state, "state_parameters", check=False)
        return out

    def __dlarray_tree__(self):
        """Children: the learnables table and the state table (``dlfeval`` traces both)."""
        return [self.learnables, self.state], lambda children: self._with_tables(children[0], children[1])

    def __dlarray_architecture__(self):
        """What, besides its arrays' shapes, decides what a network computes: each layer's
        kind and options, and the connections (dlaccelerate's cache key)."""
        layers = tuple((n, layer._architecture(_options_key)) for n, layer in self._layers.items())
        names = None if self._output_names is None else tuple(self._output_names)
        return layers, tuple(self._edges), names, self._initialized

    def __dlarray_params__(self):
        """The optimisers' view: the learnables table only (the state is kept as it is)."""
        state = self.state
        return [self.learnables], lambda children: self._with_tables(children[0], state)

    def _factor_list(self, method: str) -> List[float]:
        return [getattr(leaf, method)(p) for _, leaf, p, v in self._rows("learnable_parameters") if isinstance(v, dlarray)]

    def _learn_rate_factors(self) -> List[float]:
        """Learn-rate factors of the learnables that hold arrays, in table order."""
        return self._factor_list("learn_rate_factor")

    def _l2_factors(self) -> List[float]:
        return self._factor_list("l2_factor")

    def _set_factor(self, attr: str, layer: str, parameter: str, value: float) -> "dlnetwork":
        where = self._locate(layer) if isinstance(layer, str) else None
        if where is not None and where[1]:
            node = self._layers[where[0]]
            inner = node._network._clone()._set_factor(attr, where[1], parameter, value)
            self._layers[where[0]] = node._with_network(inner)
            return self
        node = self._layers.get(layer)
        if node is None or parameter not in node.learnable_parameters:
            raise OptionError(f"dlnetwork: no learnable parameter '{parameter}' in layer '{layer}'")
        self._layers[layer] = node._with(**{attr: {**getattr(node, attr), parameter: float(value)}})
        return self

    def set_learn_rate_factor(self, layer: str, parameter: str, factor: float) -> "dlnetwork":
        return self._set_factor("learn_rate_factors", layer, parameter, factor)

    def get_learn_rate_factor(self, layer: str, parameter: str) -> float:
        return self.get_layer(layer).learn_rate_factor(parameter)

    def set_l2_factor(self, layer: str, parameter: str, factor: float) -> "dlnetwork":
        return self._set_factor("l2_factors", layer, parameter, factor)

    def get_l2_factor(self, layer: str, parameter: str) -> float:
        return self.get_layer(layer).l2_factor(parameter)

    def reset_state(self) -> "dlnetwork":
        """Reset recurrent states to their initial values (MATLAB's ``resetState``)."""
        for n, node in list(self._layers.items()):
            if node.state_parameters or isinstance(node, NetworkLayer):
                c = node._with()
                c.reset_state()
                self._layers[n] = c
        return self

    # ---- evaluation ------------------------------------------------------------------------
    def initialize(self, *example_inputs: Any) -> "dlnetwork":
        """Initialise unset learnables and state with the layers' initialisers (MATLAB's
        ``initialize``); input sizes come from the input layers or ``example_inputs``."""
        ports = self._input_ports()
        if example_inputs and len(example_inputs) != len(ports):
            raise OptionError(
                f"dlnetwork.initialize: the network has {len(ports)} inputs {self.input_names}, got {len(example_inputs)} example inputs"
            )
        if not example_inputs:
            missing = [graph.port_text(p, self._input_port_names(p)) for p in ports if p[1] >= 0]
            if missing:
                raise OptionError(
                    f"dlnetwork.initialize: inputs {missing} have no input layer: give example "
                    f"inputs, e.g. net.initialize(dlarray(x, 'CB'))"
                )
            examples = [self._layers[p[0]].example() for p in ports]
        else:
            examples = [as_dlarray(x, "dlnetwork.initialize", "an example input") for x in example_inputs]
            for p, x in zip(ports, examples):
                if p[1] >= 0 and not x.fmt:
                    raise OptionError(
                        f"dlnetwork.initialize: the example for input '{p[0]}' must be a formatted dlarray (shape {tuple(x.shape)})"
                    )
        if not self._layers:
            raise OptionError("dlnetwork.initialize: the network has no layers")
        values = self._run(examples, training=False, initialize=True)[0]
        self._activations = {n: [(tuple(v.shape), v.fmt) for v in outs] for n, outs in values.items()}
        self._initialized = True
        return self

    def _run(
        self,
        inputs: Sequence[Any],
        training: bool,
        initialize: bool = False,
        wanted: Optional[List[Port]] = None,
        method: str = "initialize",
        prefix: str = "",
    ):
        """Evaluate the graph; returns (outputs of every evaluated layer, new state values).
        ``prefix`` is the path of the network layer holding this network, for messages."""
        ports = self._input_ports()
        order = graph.topological_order(list(self._layers), self._edges)
        if wanted is not None:
            needed = graph.ancestors({p[0] for p in wanted}, self._edges)
            order = [n for n in order if n in needed]
        feed: Dict[Port, Any] = {}
        layer_inputs: Dict[str, Any] = {}
        for p, x in zip(ports, inputs):
            if p[1] < 0:
                layer_inputs[p[0]] = x
            else:
                feed[p] = as_dlarray(x, f"dlnetwork.{method}", f"input '{p[0]}'")
        sources = {d: s for s, d in self._edges}
        values: Dict[str, List[dlarray]] = {}
        new_state: Dict[Tuple[str, str], Any] = {}
        for n in order:
            layer = self._layers[n]
            if _is_input(layer):
                xs = [layer_inputs[n]]
            else:
                xs = []
                for i in range(layer.num_inputs):
                    if (n, i) in feed:
                        xs.append(feed[(n, i)])
                    else:
                        s = sources[(n, i)]
                        xs.append(values[s[0]][s[1]])
            try:
                if isinstance(layer, NetworkLayer):
                    layer, outs, inner_state = layer._evaluate(xs, training, initialize, method, f"{prefix}{n}/")
                    if initialize:
                        self._layers[n] = layer
                    values[n] = outs
                    new_state.update({(f"{n}/{path}", p): v for (path, p), v in inner_state.items()})
                    continue
                if initialize:
                    layer = layer._with()
                    layer.initialize(*xs)
                    self._layers[n] = layer
                result = layer.forward(*xs) if training else layer.predict(*xs)
            except _TYPED as e:
                if isinstance(layer, NetworkLayer) and str(e).startswith(f"dlnetwork.{method}:"):
                    raise  # the nested network named the layer already, by its path
                # The op's own error, told where in the network it happened.
                where = "" if f"'{prefix}{n}'" in str(e) else f" layer '{prefix}{n}' ({type(layer).__name__}):"
                raise type(e)(f"dlnetwork.{method}:{where} {e}") from e
            outs, states = _split(result, layer)
            values[n] = outs
            if states is not None:
                for p, v in zip(layer.state_parameters, states):
                    old = getattr(layer, p, None)
                    if old is not None and isinstance(v, dlarray) and v.size == old.size and v.shape != old.shape:
                        v = v.reshape(old.shape)  # keep MATLAB's parameter layout
                    new_state[(n, p)] = v
        return values, new_state

    def _evaluate(self, args: Sequence[Any], training: bool, outputs: Any, return_state: bool, method: str):
        if not self._initialized:
            raise OptionError(
                f"dlnetwork.{method}: the network is not initialized; call net.initialize()"
                + (" with example inputs" if any(p[1] >= 0 for p in self._input_ports()) else "")
            )
        ports = self._input_ports()
        if len(args) != len(ports):
            raise OptionError(f"dlnetwork.{method}: the network has {len(ports)} inputs {self.input_names}, got {len(args)}")
        flag(return_state, "return_state", f"dlnetwork.{method}")
        wanted = self._output_ports() if outputs is None else [self._parse_output(o) for o in _names(outputs, method)]
        if not wanted:
            raise OptionError(f"dlnetwork.{method}: no outputs to compute (outputs={outputs!r})")
        values, new_state = self._run(args, training, wanted=wanted, method=method)
        ys = [values[n][i] for n, i in wanted]
        if return_state:
            state = self.state
            for key, v in new_state.items():
                state[key] = v
            return (*ys, state)
        return ys[0] if len(ys) == 1 else tuple(ys)

    def forward(self, *X: Any, return_state: bool = False, outputs: Any = None, acceleration: str = "auto"):
        """Training-mode evaluation (dropout active, batch statistics). ``return_state=True``
        also returns the updated state table; ``outputs`` names layer outputs to return.
        ``acceleration`` (MATLAB's ``Acceleration``) is checked and otherwise has no effect:
        training mode draws random numbers (dropout) that a replay would freeze, so forward
        always evaluates layer by layer (wrap the model-loss function in ``dlaccelerate``)."""
        _acceleration(acceleration, "forward")
        return self._evaluate(X, True, outputs, return_state, "forward")

    def predict(self, *X: Any, return_state: bool = False, outputs: Any = None, acceleration: str = "auto"):
        """Inference-mode evaluation (dropout off, trained statistics).

        ``acceleration`` (MATLAB's ``Acceleration``): ``"auto"`` replays a cached trace of the
        evaluation from the second call with the same network architecture and input
        signature on (see ``dlaccelerate``), when every layer is a built-in one and every
        input a dlarray; ``"none"`` always evaluates layer by layer. MATLAB's ``"mex"`` (a
        compiled MEX file) is taken as ``"auto"``."""
        if _acceleration(acceleration, "predict") and self._replayable(X):
            return _ACCELERATED_PREDICT(self, X, outputs, return_state)
        return self._evaluate(X, False, outputs, return_state, "predict")

    def __dlarray_replay_safe__(self) -> bool:
        """Whether every layer computes only with dlarray ops (dlaccelerate calls a function
        with a network that has other layers directly: a replay could not recompute them)."""
        return all(layer._replay_safe for layer in self._layers.values())

    def _replayable(self, X: Sequence[Any]) -> bool:
        """Whether a replay of ``predict`` computes what evaluating it does: the built-in
        layers' predictions are dlarray ops on their inputs, learnables and state (no random
        draws, no branches on values) except where a layer says otherwise (``_replay_safe``);
        a function or custom layer may do anything."""
        return all(isinstance(x, dlarray) for x in X) and self._built_in_only()

    def _built_in_only(self) -> bool:
        return all(
            layer._network._built_in_only()
            if isinstance(layer, NetworkLayer)
            else type(layer).__module__.startswith(_BUILT_IN) and not isinstance(layer, FunctionLayer) and layer._replay_safe
            for layer in self._layers.values()
        )

    # ---- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        from .summary import summary

        return summary(self)

    def __str__(self) -> str:
        return self.__repr__()


accept_matlab_names(globals())

_BUILT_IN = "dlarray.layers."
_ACCELERATION = ("auto", "mex", "none")


def _acceleration(value: Any, method: str) -> bool:
    if not isinstance(value, str) or value.lower() not in _ACCELERATION:
        raise OptionError(f"dlnetwork.{method}: acceleration must be one of {_ACCELERATION}, got {value!r}")
    return value.lower() != "none"


def _predict_traced(net: dlnetwork, X: Sequence[Any], outputs: Any, return_state: bool) -> Any:
    return net._evaluate(X, False, outputs, return_state, "predict")


# Shared by every network: the key holds the architecture, so networks built alike (and the
# copies an optimizer step makes) share their traces. One call with a signature runs as it
# is; the second traces, so a one-off prediction pays no tracing.
_ACCELERATED_PREDICT = AcceleratedFunction(_predict_traced, trace_from_call=2)


def _names(names: Any, method: str) -> List[str]:
    """A layer or port name, or a sequence of them, as a list of strings."""
    items = [names] if isinstance(names, str) else list(names) if isinstance(names, (list, tuple)) else None
    if items is None or not all(isinstance(n, str) for n in items):
        raise OptionError(f"dlnetwork.{method}: expected a name or a list of names, got {names!r}")
    return items


def _split(result: Any, layer: Layer):
    n_out, n_state = layer.num_outputs, len(layer.state_parameters)
    items = list(result) if isinstance(result, tuple) else [result]
    if len(items) == n_out + n_state and n_state:
        return items[:n_out], items[n_out:]
    if len(items) == n_out:
        return items, None
    raise ShapeError(
        f"layer '{layer.name}' ({type(layer).__name__}) returned {len(items)} values; expected "
        f"{n_out} outputs" + (f" (plus {n_state} states)" if n_state else "")
    )
