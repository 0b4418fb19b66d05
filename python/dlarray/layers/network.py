"""``networkLayer(net)``: a network used as one layer of another (MATLAB's ``networkLayer``).

A network layer holds a nested ``dlnetwork`` (without input layers: the outer network's
inputs give the sizes). The outer network lists the nested learnables and state with the
path of the nested layer (``net.learnables["block/conv1", "Weights"]``), traces them in
``dlfeval``, updates them with the optimizers, returns the nested state from ``forward``,
initialises the nested network with its own ``initialize``, saves and loads it, and
``expandLayers(net)`` replaces every network layer by its layers (named ``"block/conv1"``).

The layer's inputs and outputs are the nested network's, named as the nested network names
them (``"conv1"``, ``"add/in2"``); the outer network writes them after the layer's name
(``"block/add/in2"``), or writes the layer's name alone when it has one input or output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .._core import DTypeError, OptionError, dlarray
from .base import Layer

if TYPE_CHECKING:  # the network package imports this one
    from ..network.dlnetwork import dlnetwork

__all__ = ["NetworkLayer", "networkLayer"]


def _network_class():
    from ..network.dlnetwork import dlnetwork

    return dlnetwork


class NetworkLayer(Layer):
    """MATLAB's ``networkLayer``: a nested network used as one layer.

    Parameters
    ----------
    net : dlnetwork, Layer or list of Layer
        The nested network (copied: the layer never changes the network given), or the
        layers of one (connected in series, as ``dlnetwork(layers, initialize=False)``).
        It must not contain input layers (MATLAB's rule); it may be uninitialised, and the
        outer network's ``initialize`` initialises it from the sizes that reach it.
    inputs : str or list of str, optional
        MATLAB's ``Inputs``: the nested network's inputs in the order the layer takes them
        (``["conv1", "add/in2"]``); every unconnected input of the nested network, each
        once. Default: ``net.input_names``.
    outputs : str or list of str, optional
        MATLAB's ``Outputs``: the nested layer outputs that are the layer's outputs
        (``"relu2"``, ``"lstm/out1"``). Default: ``net.output_names``.
    name : str
        MATLAB's ``Name`` (default ``""``: named ``"network"`` in a network).

    Returns
    -------
    NetworkLayer
        The layer. ``layer.network`` (MATLAB's ``Network``) is a copy of the nested network;
        ``layer.input_names`` / ``layer.output_names`` (``InputNames`` / ``OutputNames``),
        ``layer.num_inputs`` / ``layer.num_outputs`` and ``layer.initialized`` read its ports
        and state.

    Raises
    ------
    OptionError
        The network has an input layer or no layers; an ``inputs`` / ``outputs`` name is not
        one of the nested network's, is repeated, or leaves an input out.
    DTypeError
        ``net`` is not a network, a layer or a list of layers.

    Examples
    --------
    A residual block used twice:

    >>> import numpy as np
    >>> from dlarray import (dlarray, dlnetwork, featureInputLayer, fullyConnectedLayer,
    ...                      reluLayer, additionLayer, identityLayer, networkLayer)
    >>> block = dlnetwork([identityLayer(name="in"), fullyConnectedLayer(4, name="fc"),
    ...                    reluLayer(name="relu"), additionLayer(2, name="add")],
    ...                   initialize=False).connect_layers("in", "add/in2")
    >>> net = dlnetwork([featureInputLayer(4), networkLayer(block, name="block1"),
    ...                  networkLayer(block, name="block2")])
    >>> net.learnables.layer
    ['block1/fc', 'block1/fc', 'block2/fc', 'block2/fc']
    >>> net.predict(dlarray(np.ones((4, 2), np.float32), "CB")).shape
    (4, 2)
    """

    default_name = "network"
    description = "Network"

    def __init__(
        self,
        net: Union["dlnetwork", Layer, Sequence[Layer]],
        *,
        inputs: Union[None, str, Sequence[str]] = None,
        outputs: Union[None, str, Sequence[str]] = None,
        name: str = "",
    ):
        super().__init__(name)
        dlnetwork = _network_class()
        who = f"networkLayer{f' {name!r}' if name else ''}"
        if isinstance(net, dlnetwork):
            nested = net._clone()
        elif isinstance(net, Layer) or (isinstance(net, (list, tuple)) and all(isinstance(x, Layer) for x in net)):
            nested = dlnetwork(net, initialize=False)
        else:
            raise DTypeError(f"{who}: net must be a dlnetwork, a layer or a list of layers, got {type(net).__name__}")
        if not nested._layers:
            raise OptionError(f"{who}: the network has no layers")
        found = [n for n, layer in nested._layers.items() if getattr(layer, "is_input", False)]
        if found:
            kind = type(nested._layers[found[0]]).__name__
            raise OptionError(
                f"{who}: the network must not contain input layers (the outer network's inputs give the sizes), "
                f"got '{found[0]}' ({kind}); build it without them, e.g. dlnetwork(layers, initialize=False)"
            )
        if outputs is not None:
            try:
                nested.output_names = _name_list(outputs, "outputs", who)
            except OptionError as e:
                raise OptionError(f"{who}: outputs: {e}") from None
        self._network = nested
        available = nested.input_names
        if inputs is None:
            chosen = available
        else:
            chosen = _name_list(inputs, "inputs", who)
            ports = []
            for text in chosen:
                try:
                    ports.append(nested._parse_input(text))
                except OptionError as e:
                    raise OptionError(f"{who}: inputs: {e}") from None
            inputs_as_ports = nested._input_ports()
            named = [available[inputs_as_ports.index(p)] if p in inputs_as_ports else text for p, text in zip(ports, chosen)]
            unknown = [t for t, p in zip(chosen, ports) if p not in inputs_as_ports]
            if unknown:
                raise OptionError(f"{who}: inputs {unknown} are connected inside the network; its inputs are {available}")
            repeated = sorted({t for t in named if named.count(t) > 1})
            missing = [t for t in available if t not in named]
            if repeated or missing:
                raise OptionError(
                    f"{who}: inputs must name each of the network's inputs {available} once, got {chosen}"
                    + (f" ({repeated} repeated)" if repeated else f" ({missing} missing)")
                )
            chosen = named
        if not chosen:
            raise OptionError(f"{who}: the network has no inputs")
        self._inputs = list(chosen)
        self.num_inputs = len(self._inputs)
        self.num_outputs = len(nested.output_names)

    # ---- ports and properties -----------------------------------------------------------
    @property
    def input_names(self) -> List[str]:
        """MATLAB's ``InputNames``: the nested network's inputs, in the layer's order."""
        return list(self._inputs)

    @property
    def output_names(self) -> List[str]:
        """MATLAB's ``OutputNames``: the nested network's outputs."""
        return self._network.output_names

    @property
    def network(self) -> "dlnetwork":
        """MATLAB's ``Network``: a copy of the nested network, with its current values."""
        return self._network._clone()

    @property
    def initialized(self) -> bool:
        """Whether the nested network is initialised."""
        return self._network.initialized

    @property
    def _replay_safe(self) -> bool:  # type: ignore[override]
        return self._network.__dlarray_replay_safe__()

    def _architecture(self, options_key: Callable[[Any], Any]) -> Any:
        key = getattr(self, "_architecture_key", None)
        if key is None:
            options = {k: v for k, v in vars(self).items() if k != "_network"}
            key = self._architecture_key = (type(self).__name__, options_key(options), self._network.__dlarray_architecture__())
        return key

    def _with_network(self, net: "dlnetwork") -> "NetworkLayer":
        return self._with(_network=net)  # type: ignore[return-value]

    def _problem(self) -> Optional[str]:
        """Why a layer read from a checkpoint is inconsistent (None when it is not)."""
        dlnetwork = _network_class()
        net = self.__dict__.get("_network")
        if not isinstance(net, dlnetwork):
            return f"network layer '{self.name}' holds a {type(net).__name__}, not a dlnetwork"
        inputs = self.__dict__.get("_inputs")
        if not isinstance(inputs, list) or sorted(inputs) != sorted(net.input_names) or len(set(inputs)) != len(inputs):
            return f"network layer '{self.name}' has inputs {inputs!r}; its network's are {net.input_names}"
        if self.num_inputs != len(inputs) or self.num_outputs != len(net.output_names):
            return f"network layer '{self.name}' has {self.num_inputs} inputs and {self.num_outputs} outputs; its network {len(inputs)} and {len(net.output_names)}"
        if any(getattr(layer, "is_input", False) for layer in net._layers.values()):
            return f"network layer '{self.name}' holds a network with an input layer"
        return None

    # ---- evaluation -------------------------------------------------------------------------
    def _ordered(self, xs: Sequence[Any], who: str) -> List[Any]:
        """The layer's inputs in the nested network's input order."""
        if len(xs) != self.num_inputs:
            raise OptionError(f"{who}: network layer '{self.name}' takes {self.num_inputs} inputs {self._inputs}, got {len(xs)}")
        by_name = dict(zip(self._inputs, xs))
        return [by_name[n] for n in self._network.input_names]

    def _evaluate(
        self, xs: Sequence[Any], training: bool, initialize: bool, method: str, prefix: str
    ) -> Tuple["NetworkLayer", List[dlarray], Dict[Tuple[str, str], Any]]:
        """Runs the nested network: (the layer, initialised when asked, its outputs, the new
        state values keyed by (nested layer path, parameter))."""
        ordered = self._ordered(xs, f"dlnetwork.{method}")
        net, layer = self._network, self
        if initialize:
            net = net._clone()
            values, new_state = net._run(ordered, False, initialize=True, method=method, prefix=prefix)
            net._activations = {n: [(tuple(v.shape), v.fmt) for v in outs] for n, outs in values.items()}
            net._initialized = True
            layer = self._with_network(net)
        else:
            if not net._initialized:
                raise OptionError(
                    f"dlnetwork.{method}: the network of network layer '{prefix[:-1]}' is not initialized; initialize the outer network"
                )
            values, new_state = net._run(ordered, training, wanted=net._output_ports(), method=method, prefix=prefix)
        return layer, [values[n][i] for n, i in net._output_ports()], new_state

    def initialize(self, *examples: dlarray) -> None:
        """Initialise the nested network's unset learnables and state from example inputs."""
        self._network = self._evaluate(examples, False, True, "initialize", f"{self.name}/")[0]._network

    def predict(self, *inputs: dlarray):
        """The nested network's ``predict`` (its outputs; one output as such)."""
        outs = self._evaluate(inputs, False, False, "predict", f"{self.name}/")[1]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def forward(self, *inputs: dlarray):
        """The nested network's ``forward`` (its outputs; the state stays as it is: a network
        holding the layer returns the nested state from its own ``forward``)."""
        outs = self._evaluate(inputs, True, False, "forward", f"{self.name}/")[1]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def reset_state(self) -> None:
        self._network = self._network._clone().reset_state()

    def __repr__(self) -> str:
        net = self._network
        n = len(net.learnables)
        return (
            f"NetworkLayer(name={self.name!r}, layers={list(net._layers)}, inputs={self._inputs}, "
            f"outputs={net.output_names}, {n} learnable{'s' * (n != 1)}, initialized={net.initialized})"
        )


def _name_list(names: Any, option: str, who: str) -> List[str]:
    items = [names] if isinstance(names, str) else list(names) if isinstance(names, (list, tuple)) else None
    if not items or not all(isinstance(n, str) and n for n in items):
        raise OptionError(f"{who}: {option} must be a name or a non-empty list of names, got {names!r}")
    return items


networkLayer = NetworkLayer
