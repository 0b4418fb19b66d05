"""``expandLayers(net)``: a network with every network layer replaced by its layers
(MATLAB's ``expandLayers``)."""

from __future__ import annotations

from typing import Dict, List, Tuple

from .._core import DTypeError
from .._matlab_names import accept_matlab_names
from ..layers.base import Layer
from ..layers.network import NetworkLayer
from . import graph
from .dlnetwork import dlnetwork
from .graph import Port

__all__ = ["expandLayers"]


def expandLayers(net: dlnetwork) -> dlnetwork:  # noqa: N802 - MATLAB's name
    """MATLAB's ``expandLayers``: the network with its network layers flattened into one graph.

    Every ``networkLayer`` (at any depth) is replaced by the layers of its network, named
    ``"<network layer>/<layer>"`` (``"block/conv1"``, ``"outer/inner/fc"``), with the
    connections into and out of the network layer joined to the nested layers they reach.
    Values are kept: the expanded network computes what ``net`` does, and its learnables and
    state tables have the same rows (the same layer paths, in the same order).

    Parameters
    ----------
    net : dlnetwork
        The network; it is not changed.

    Returns
    -------
    dlnetwork
        A new network without network layers, initialised when ``net`` is. Its outputs are
        ``net``'s (set as ``output_names`` when the expanded graph would list them in another
        order); its inputs are the unconnected inputs in layer order, as for any network.

    Raises
    ------
    DTypeError
        ``net`` is not a dlnetwork.

    Examples
    --------
    >>> from dlarray import (dlnetwork, featureInputLayer, fullyConnectedLayer, reluLayer,
    ...                      networkLayer, expandLayers)
    >>> block = networkLayer([fullyConnectedLayer(3, name="fc"), reluLayer(name="relu")], name="block")
    >>> net = dlnetwork([featureInputLayer(2, name="in"), block])
    >>> tuple(layer.name for layer in expandLayers(net).layers)
    ('in', 'block/fc', 'block/relu')
    """
    if not isinstance(net, dlnetwork):
        raise DTypeError(f"expandLayers: the argument must be a dlnetwork, got {type(net).__name__}")
    outputs = net.output_names
    layers, edges, inputs, outs = _flatten(net, "")
    out = dlnetwork.__new__(dlnetwork)
    out._layers = layers
    out._edges = edges
    out._initialized = net._initialized
    out._activations = None
    out._output_names = None
    wanted = [_port_text(p, layers) for p in (_resolve(graph.parse_port(o, "out", net._layers), outs) for o in outputs)]
    if out.output_names != wanted:
        out._output_names = wanted
    return out


def _port_text(port: Port, layers: Dict[str, Layer]) -> str:
    return graph.port_text(port, layers[port[0]].output_names)


def _resolve(port: Port, outs: Dict[Port, Port]) -> Port:
    return outs.get(port, port)


def _flatten(net: dlnetwork, prefix: str) -> Tuple[Dict[str, Layer], List[Tuple[Port, Port]], Dict[Port, Port], Dict[Port, Port]]:
    """The layers and connections of ``net`` without network layers, names prefixed by
    ``prefix``; and where the ports of its network layers went: ``inputs`` maps (network
    layer, input index), the layer by its prefixed name, to the input of a layer of the
    result, ``outs`` the outputs alike."""
    layers: Dict[str, Layer] = {}
    edges: List[Tuple[Port, Port]] = []
    inputs: Dict[Port, Port] = {}
    outs: Dict[Port, Port] = {}
    for n, node in net._layers.items():
        name = f"{prefix}{n}"
        if not isinstance(node, NetworkLayer):
            layers[name] = node._with(name=name)
            continue
        inner = node._network
        sub_layers, sub_edges, sub_inputs, sub_outs = _flatten(inner, f"{name}/")
        layers.update(sub_layers)
        edges += sub_edges
        ports = inner._input_ports()
        for i, input_name in enumerate(node.input_names):
            p = ports[inner.input_names.index(input_name)]
            inputs[(name, i)] = _resolve_in((f"{name}/{p[0]}", p[1]), sub_inputs)
        for j, p in enumerate(inner._output_ports()):
            outs[(name, j)] = _resolve((f"{name}/{p[0]}", p[1]), sub_outs)
    for s, d in net._edges:
        src = _resolve((f"{prefix}{s[0]}", s[1]), outs)
        dst = _resolve_in((f"{prefix}{d[0]}", d[1]), inputs)
        edges.append((src, dst))
    return layers, edges, inputs, outs


def _resolve_in(port: Port, inputs: Dict[Port, Port]) -> Port:
    return inputs.get(port, port)


accept_matlab_names(globals())
