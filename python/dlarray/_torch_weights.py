"""``load_torch_state_dict``: a PyTorch ``state_dict`` into a dlnetwork of dlarray's layers.

The torch parameters are grouped by module (``features.0.weight`` and ``features.0.bias`` are
the module ``features.0``; an RNN's ``weight_ih_l1`` belongs to ``lstm.l1``, its
``_reverse`` parameters to the same unit as the forward ones) and paired with the
network's layers that have learnables or state, in order — ``state_dict`` order is module
order — unless ``mapping`` names the layer. Each pair is converted to MATLAB's layouts (the
table in docs/from-pytorch.md):

* convolution ``(F, C, *K)`` → ``(*K, C, F)``; grouped ``(F, C/G, KH, KW)`` →
  ``(KH, KW, C/G, F/G, G)``; transposed ``(C, F, *K)`` → ``(*K, F, C)``;
* linear ``(out, in)`` as it is, except after a flatten of S and C (a flattenLayer, or a
  fullyConnectedLayer fed an ``S…CB`` array): torch flattens ``(C, S1, …)`` row-major,
  dlarray ``(S1, …, C)`` column-major, so the columns are permuted;
* batch norm ``weight, bias, running_mean, running_var`` → ``Scale, Offset`` and the state
  ``TrainedMean, TrainedVariance``; layer, group and instance norm ``weight, bias`` →
  ``Scale, Offset``;
* LSTM (gates i, f, g, o in both) and GRU (r, z, n in both) weights as they are; an LSTM's two
  biases summed; a GRU's concatenated (``reset_gate_mode="recurrent-bias-after-multiplication"``,
  torch's formula) or summed when its recurrent candidate bias is zero; a bidirectional LSTM's
  forward parameters stacked above the reverse ones (bilstmLayer);
* embedding ``(num_words, dim)`` → ``(dim, num_words)``.

Values take the dtype of the network's current values (the network's precision decides).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._core import dlarray, extractdata
from .errors import OptionError, ShapeError
from .layers import convolution, dense, normalization, recurrent
from .layers.base import Layer
from .network.dlnetwork import dlnetwork
from .network.table import Table

WHO = "load_torch_state_dict"
_RNN = re.compile(r"(weight|bias)_(ih|hh)_l(\d+)(_reverse)?")
#: Buffers torch keeps that carry no weights.
_IGNORED = ("num_batches_tracked",)


def _numpy(value: Any, key: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
        try:
            return value.numpy()
        except TypeError:  # bfloat16, float8: numpy has no such dtype (the values fit float32)
            return value.float().numpy()
    if isinstance(value, dlarray):
        return np.asarray(extractdata(value))
    out = np.asarray(value)
    if out.dtype.kind not in "biuf":
        raise TypeError(f"{WHO}: the value of '{key}' is a {type(value).__name__} of dtype {out.dtype}, not an array of numbers")
    return out


def _read(source: Any) -> Dict[str, np.ndarray]:
    """The state_dict as numpy arrays, in its order."""
    if isinstance(source, Mapping):
        items = source.items()
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        suffix = os.path.splitext(path)[1].lower()
        if suffix == ".safetensors":
            from ._checkpoint_file import read

            return read(path)[0]
        if suffix not in (".pt", ".pth", ".bin"):
            raise OptionError(f"{WHO}: source '{path}' must be a .safetensors, .pt or .pth file (or a dict of arrays)")
        try:
            import torch
        except Exception as e:  # ImportError, or a torch installation that fails to load
            raise ImportError(
                f"{WHO}: reading '{path}' needs PyTorch (torch.load(..., weights_only=True)), which could not be "
                f"imported ({type(e).__name__}: {e}). Without PyTorch, save the weights as safetensors where torch "
                f"runs — safetensors.torch.save_file(model.state_dict(), 'model.safetensors') — and pass that file"
            ) from None
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(loaded, Mapping):
            raise TypeError(f"{WHO}: '{path}' holds a {type(loaded).__name__}, not a state_dict (a dict of tensors)")
        items = loaded.items()
    else:
        raise TypeError(f"{WHO}: source must be a dict of arrays or a path, got {type(source).__name__}")
    out = {}
    for key, value in items:
        if not isinstance(key, str):
            raise TypeError(f"{WHO}: state_dict keys must be strings, got {key!r}")
        out[key] = _numpy(value, key)
    return out


def _units(state: Dict[str, np.ndarray]) -> Dict[str, Dict[str, Tuple[str, np.ndarray]]]:
    """Parameters grouped by torch module (RNN layers split per ``l<k>``), in order:
    unit -> {parameter: (full key, value)}."""
    units: Dict[str, Dict[str, Tuple[str, np.ndarray]]] = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        if param in _IGNORED:
            continue
        m = _RNN.fullmatch(param)
        unit = module
        if m is not None and m.group(3) != "0":
            unit = f"{module}.l{m.group(3)}" if module else f"l{m.group(3)}"
        if m is not None:
            param = f"{m.group(1)}_{m.group(2)}{m.group(4) or ''}"
        units.setdefault(unit, {})[param] = (key, value)
    return units


class _Pair:
    """One torch unit and the dlarray layer it goes into."""

    def __init__(self, net: dlnetwork, unit: str, params: Dict[str, Tuple[str, np.ndarray]], layer: Layer):
        self.net, self.unit, self.params, self.layer = net, unit, params, layer
        self.learnables: List[Tuple[str, str, np.ndarray]] = []
        self.state: List[Tuple[str, str, np.ndarray]] = []

    def need(self, *names: str, optional: Tuple[str, ...] = ()) -> None:
        extra = sorted(set(self.params) - set(names) - set(optional))
        missing = [n for n in names if n not in self.params]
        if extra or missing:
            raise OptionError(
                f"{WHO}: torch module '{self.unit}' (parameters {sorted(self.params)}) does not fit layer "
                f"'{self.layer.name}' ({type(self.layer).__name__}, which takes {list(names) + list(optional)}): "
                f"missing {missing}, unexpected {extra}"
            )

    def key(self, name: str) -> str:
        return self.params[name][0]

    def value(self, name: str) -> np.ndarray:
        return self.params[name][1]

    def put(self, parameter: str, value: np.ndarray, keys: str, kind: str = "learnables") -> None:
        old = getattr(self.layer, parameter, None)
        if old is None:
            raise OptionError(f"{WHO}: layer '{self.layer.name}' has no value for {parameter} yet: initialize the network first")
        old_shape = tuple(old.shape)
        if value.shape != old_shape:
            # Per-channel vectors: torch (F,), MATLAB (F, 1) or (1, 1, F): same values.
            vector = value.ndim == 1 and sum(s != 1 for s in old_shape) <= 1 and value.size == int(np.prod(old_shape))
            if not vector:
                raise ShapeError(
                    f"{WHO}: torch {keys} gives {type(self.layer).__name__} '{self.layer.name}' {parameter} the shape "
                    f"{value.shape} (after conversion), but the layer's is {old_shape}"
                )
            value = value.reshape(old_shape)
        rows = self.learnables if kind == "learnables" else self.state
        rows.append((self.layer.name, parameter, value.astype(np.asarray(extractdata(old)).dtype)))


def _flattened_input(net: dlnetwork, layer: str) -> Optional[Tuple[int, ...]]:
    """The (S1, …, C) sizes a fully connected layer's input flattens, or None when its
    input has no S dims."""
    acts = net._activations or {}
    seen = 0
    while seen < 100:
        seen += 1
        src = next((s for s, d in net._edges if d == (layer, 0)), None)
        if src is None or src[0] not in acts:
            return None
        shape, fmt = acts[src[0]][src[1]]
        if fmt and "S" in fmt and "C" in fmt:
            return tuple(shape[i] for i, c in enumerate(fmt) if c == "S") + (shape[fmt.index("C")],)
        if not isinstance(net._layers[src[0]], dense.FlattenLayer):
            return None
        layer = src[0]  # look through the flatten at what it flattened
    return None


def _convert(pair: _Pair) -> None:
    layer = pair.layer
    if isinstance(layer, convolution._ConvolutionBase):
        pair.need("weight", optional=("bias",))
        w = pair.value("weight")
        d = w.ndim - 2
        if d < 1:
            raise ShapeError(f"{WHO}: torch {pair.key('weight')} has shape {w.shape}, not a convolution weight (F, C, *K)")
        if isinstance(layer, convolution.GroupedConvolution2DLayer):
            g = layer.Weights.shape[-1] if layer.Weights is not None else 1
            f, cg, kh, kw = w.shape
            if f % g:
                raise ShapeError(f"{WHO}: torch {pair.key('weight')} has {f} filters, not a multiple of the {g} groups of '{layer.name}'")
            w = w.reshape(g, f // g, cg, kh, kw).transpose(3, 4, 2, 1, 0)
        else:  # (F, C, *K) -> (*K, C, F); transposed (C, F, *K) -> (*K, F, C): the same axes
            w = w.transpose(*range(2, 2 + d), 1, 0)
        pair.put("Weights", w, pair.key("weight"))
        if "bias" in pair.params:
            pair.put("Bias", pair.value("bias"), pair.key("bias"))
    elif isinstance(layer, dense.FullyConnectedLayer):
        pair.need("weight", optional=("bias",))
        w = pair.value("weight")
        if w.ndim != 2:
            raise ShapeError(f"{WHO}: torch {pair.key('weight')} has shape {w.shape}, not a linear weight (out, in)")
        sizes = _flattened_input(pair.net, layer.name)
        if sizes is not None and len(sizes) > 1:
            if int(np.prod(sizes)) != w.shape[1]:
                raise ShapeError(
                    f"{WHO}: torch {pair.key('weight')} has shape {w.shape}, but layer '{layer.name}' flattens an input of "
                    f"(S..., C) = {sizes}, {int(np.prod(sizes))} features"
                )
            k = len(sizes) - 1
            # torch's row-major (C, S1, ..., Sk) -> MATLAB's column-major (S1, ..., Sk, C)
            w = w.reshape((w.shape[0], sizes[-1]) + sizes[:-1]).transpose((0, 1) + tuple(range(k + 1, 1, -1))).reshape(w.shape[0], -1)
        pair.put("Weights", w, pair.key("weight"))
        if "bias" in pair.params:
            pair.put("Bias", pair.value("bias"), pair.key("bias"))
    elif isinstance(layer, normalization._AffineNormalization):
        batch = isinstance(layer, normalization.BatchNormalizationLayer)
        pair.need(*(("running_mean", "running_var") if batch else ()), optional=("weight", "bias"))
        if "weight" in pair.params:
            pair.put("Scale", pair.value("weight"), pair.key("weight"))
        if "bias" in pair.params:
            pair.put("Offset", pair.value("bias"), pair.key("bias"))
        if batch:
            pair.put("TrainedMean", pair.value("running_mean"), pair.key("running_mean"), "state")
            pair.put("TrainedVariance", pair.value("running_var"), pair.key("running_var"), "state")
    elif isinstance(layer, dense.EmbeddingLayer):
        pair.need("weight")
        pair.put("Weights", pair.value("weight").T, pair.key("weight"))
    elif isinstance(layer, recurrent._Recurrent):
        _recurrent(pair)
    else:
        raise OptionError(
            f"{WHO}: layer '{layer.name}' ({type(layer).__name__}) has no PyTorch counterpart this function converts "
            f"(torch module '{pair.unit}'); set its learnables directly, or pass mapping= to pair the modules"
        )


def _recurrent(pair: _Pair) -> None:
    layer = pair.layer
    names = ["weight_ih", "weight_hh"]
    both = isinstance(layer, recurrent.BiLSTMLayer)
    directions = ["", "_reverse"] if both else [""]
    required = [n + r for r in directions for n in names]
    biases = [n + r for r in directions for n in ("bias_ih", "bias_hh")]
    pair.need(*required, optional=tuple(biases))
    if any(k.startswith("weight_hr") for k in pair.params):
        raise OptionError(f"{WHO}: torch module '{pair.unit}' has a projection (proj_size), which layer '{layer.name}' does not have")
    keys = ", ".join(pair.key(n) for n in required)
    W = np.concatenate([pair.value("weight_ih" + r) for r in directions])
    R = np.concatenate([pair.value("weight_hh" + r) for r in directions])
    pair.put("InputWeights", W, keys)
    pair.put("RecurrentWeights", R, keys)
    if not any(b in pair.params for b in biases):
        return
    h = layer.num_hidden_units
    parts = []
    for r in directions:
        b_ih = pair.value("bias_ih" + r) if "bias_ih" + r in pair.params else np.zeros(pair.value("weight_ih" + r).shape[0])
        b_hh = pair.value("bias_hh" + r) if "bias_hh" + r in pair.params else np.zeros_like(b_ih)
        if b_ih.shape != b_hh.shape or b_ih.ndim != 1:
            raise ShapeError(f"{WHO}: torch module '{pair.unit}' has biases of shapes {b_ih.shape} and {b_hh.shape}")
        if isinstance(layer, recurrent.GRULayer) and layer.reset_gate_mode == "recurrent-bias-after-multiplication":
            parts.append(np.concatenate([b_ih, b_hh]))
        elif isinstance(layer, recurrent.GRULayer):
            # MATLAB's other modes have no recurrent candidate bias: exact only when torch's is zero.
            if layer.reset_gate_mode != "after-multiplication" or np.any(b_hh[2 * h :] != 0):
                raise OptionError(
                    f"{WHO}: torch GRU '{pair.unit}' applies the reset gate after the recurrent bias (bias_hh's candidate "
                    f"part is not zero); build layer '{layer.name}' with reset_gate_mode='recurrent-bias-after-multiplication' "
                    f"(it has '{layer.reset_gate_mode}')"
                )
            parts.append(b_ih + b_hh)
        else:
            parts.append(b_ih + b_hh)
    pair.put("Bias", np.concatenate(parts), ", ".join(pair.key(b) for b in biases if b in pair.params))


def load_torch_state_dict(net: dlnetwork, source: Any, *, strict: bool = True, mapping: Optional[Mapping[str, str]] = None) -> dlnetwork:
    """A copy of ``net`` with its learnables (and batch-norm statistics, into the state)
    taken from a PyTorch ``state_dict``, converted to MATLAB's layouts.

    ``source``: a dict of arrays (numpy arrays or torch tensors: ``model.state_dict()``), a
    ``.safetensors`` file, or a ``.pt``/``.pth`` file (read with
    ``torch.load(path, weights_only=True)``, so PyTorch must be installed). ``net`` must be an
    initialized dlnetwork of dlarray's layers built like the torch model: torch modules with
    parameters are paired, in order, with the layers that have learnables;
    ``mapping={"features.0": "conv1", ...}`` pairs modules by name instead (modules it does
    not name are paired in order with the layers it does not name). An RNN's layer ``k > 0``
    is the module ``"<name>.l<k>"``.

    ``strict=True``: every module and every such layer must be paired; ``False`` leaves
    unpaired layers as they are and ignores unpaired modules. A module whose parameters or
    shapes do not fit its layer raises :class:`~dlarray.errors.ShapeError` (or
    :class:`~dlarray.errors.OptionError`) naming the torch key, the layer and both shapes.

    Example::

        net = load_torch_state_dict(net, torch_model.state_dict())
    """
    if not isinstance(net, dlnetwork):
        raise TypeError(f"{WHO}: net must be a dlnetwork, got {type(net).__name__}")
    if not net.initialized:
        raise OptionError(f"{WHO}: the network is not initialized: call net.initialize() (or build it with its input layers) first")
    units = _units(_read(source))
    layers = [layer for layer in net.layers if layer.learnable_parameters or layer.state_parameters]
    mapping = dict(mapping or {})
    for unit, name in mapping.items():
        if unit not in units:
            raise OptionError(f"{WHO}: mapping names torch module '{unit}', which the state_dict does not have (modules: {list(units)})")
        if name not in {layer.name for layer in layers}:
            raise OptionError(f"{WHO}: mapping names layer '{name}', which is not a layer with learnables of the network")
    pairs = [(unit, net.get_layer(mapping[unit])) for unit in units if unit in mapping]
    rest_units = [u for u in units if u not in mapping]
    rest_layers = [layer for layer in layers if layer.name not in set(mapping.values())]
    if strict and len(rest_units) != len(rest_layers):
        raise OptionError(
            f"{WHO}: the state_dict has {len(rest_units)} modules with parameters {rest_units} to pair with the "
            f"network's {len(rest_layers)} layers with learnables {[layer.name for layer in rest_layers]} "
            f"(pass mapping= or strict=False)"
        )
    pairs += list(zip(rest_units, rest_layers))
    learnables: List[Tuple[str, str, np.ndarray]] = []
    state: List[Tuple[str, str, np.ndarray]] = []
    for unit, layer in pairs:
        pair = _Pair(net, unit, units[unit], layer)
        _convert(pair)
        learnables += pair.learnables
        state += pair.state
    out = net._clone()
    if learnables:
        out.learnables = Table.from_rows([(n, p, dlarray(v)) for n, p, v in learnables])
    if state:
        out.state = Table.from_rows([(n, p, dlarray(v)) for n, p, v in state])
    return out
