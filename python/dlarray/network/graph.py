"""The layer graph behind a dlnetwork: port names, automatic layer names, topological order.

Ports are written as MATLAB writes them: a layer's only input or output is the layer's name
(``"fc"``; ``"fc/in"`` and ``"fc/out"`` are accepted too); a multi-input layer's inputs are
``"add/in1"``, ``"add/in2"``...; a multi-output layer's outputs ``"lstm/out1"``...
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Sequence, Set, Tuple

from .._core import OptionError

__all__ = ["Connection", "Port"]

Port = Tuple[str, int]  # (layer name, 0-based port index)


class Connection(NamedTuple):
    """One row of ``net.connections`` (MATLAB's ``Source`` / ``Destination``)."""

    source: str
    destination: str


def unique_names(bases: Sequence[str], taken: Iterable[str]) -> List[str]:
    """Automatic names for unnamed layers (``bases``: their default names), MATLAB style: a
    default name used by a single new layer stays as it is (``"conv"``); used by several, they
    are numbered from 1 (``"relu_1"``, ``"relu_2"``); a name already taken gets the next free
    number."""
    taken = set(taken)
    counts: Dict[str, int] = {}
    for b in bases:
        counts[b] = counts.get(b, 0) + 1
    out, next_k = [], {}
    for b in bases:
        if counts[b] == 1 and b not in taken:
            name = b
        else:
            k = next_k.get(b, 1)
            while f"{b}_{k}" in taken:
                k += 1
            name = f"{b}_{k}"
            next_k[b] = k + 1
        taken.add(name)
        out.append(name)
    return out


def split_port(text: str, layers: Mapping[str, Any], kind: str) -> Tuple[str, str]:
    """``text`` as (layer name, port name; "" for none). Layer names may hold "/" (the layers
    ``expandLayers`` takes out of a network layer, ``"block/conv"``) and so may a network
    layer's port names (``"block/add/in2"``): the whole text is a layer name if there is one,
    else the longest layer name before a "/" whose layer has the rest as a port."""
    if text in layers:
        return text, ""
    cuts = [i for i, c in enumerate(text) if c == "/"]
    candidates = [(text[:i], text[i + 1 :]) for i in reversed(cuts) if text[:i] in layers]
    for layer, port in candidates:
        if port in getattr(layers[layer], f"{kind}put_names"):
            return layer, port
    if candidates:
        return candidates[0]
    return text.partition("/")[0], text.partition("/")[2]


def parse_port(text: str, kind: str, layers: Mapping[str, Any]) -> Port:
    """``"layer"`` / ``"layer/port"`` → (layer, index); ``kind`` is "in" or "out"."""
    if not isinstance(text, str):
        raise OptionError(f"dlnetwork: a layer port must be a string, got {text!r}")
    layer, port = split_port(text, layers, kind)
    if layer not in layers:
        raise OptionError(f"dlnetwork: no layer named '{layer}' (in '{text}'); layers: {list(layers)}")
    names = getattr(layers[layer], f"{kind}put_names")
    if not names:
        raise OptionError(f"dlnetwork: layer '{layer}' has no {'inputs' if kind == 'in' else 'outputs'}")
    if not port:
        if len(names) > 1:
            raise OptionError(f"dlnetwork: layer '{layer}' has several {kind}puts {names}: name one, e.g. '{layer}/{names[1]}'")
        return layer, 0
    if port not in names:
        raise OptionError(f"dlnetwork: layer '{layer}' has no {kind}put '{port}'; its {kind}puts are {names}")
    return layer, names.index(port)


def port_text(port: Port, names: List[str]) -> str:
    layer, i = port
    return layer if len(names) == 1 else f"{layer}/{names[i]}"


def topological_order(layers: Sequence[str], edges: Sequence[Tuple[Port, Port]]) -> List[str]:
    """Layers sorted so every source precedes its destinations; ties keep insertion order.
    A cycle raises OptionError naming the layers on it."""
    # Every evaluation of a network asks again: the graphs seen last are remembered.
    return list(_sorted_layers(tuple(layers), tuple(edges)))


@functools.lru_cache(maxsize=64)
def _sorted_layers(layers: Tuple[str, ...], edges: Tuple[Tuple[Port, Port], ...]) -> Tuple[str, ...]:
    deps: Dict[str, Set[str]] = {n: set() for n in layers}
    users: Dict[str, List[str]] = {n: [] for n in layers}
    for (src, _), (dst, _) in edges:
        if src not in deps[dst]:
            deps[dst].add(src)
            users[src].append(dst)
    position = {n: i for i, n in enumerate(layers)}
    remaining = {n: len(d) for n, d in deps.items()}
    ready = sorted((n for n in layers if remaining[n] == 0), key=position.__getitem__)
    order: List[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        newly = []
        for u in users[n]:
            remaining[u] -= 1
            if remaining[u] == 0:
                newly.append(u)
        if newly:
            ready = sorted(ready + newly, key=position.__getitem__)
    if len(order) != len(layers):
        cycle = [n for n in layers if remaining[n] > 0]
        raise OptionError(f"dlnetwork: the layer graph has a cycle through {cycle}")
    return tuple(order)


def ancestors(targets: Iterable[str], edges: Sequence[Tuple[Port, Port]]) -> Set[str]:
    """The layers whose outputs the ``targets`` depend on (targets included)."""
    sources: Dict[str, List[str]] = {}
    for (src, _), (dst, _) in edges:
        sources.setdefault(dst, []).append(src)
    seen: Set[str] = set()
    stack = list(targets)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(sources.get(n, ()))
    return seen
