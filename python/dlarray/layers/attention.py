"""Attention layers on the functional ``attention`` op: ``selfAttentionLayer(numHeads,
numKeyChannels)`` (learned query, key, value and output projections) and
``attentionLayer(numHeads)`` (no learnables: queries, keys and values are its inputs).

Inputs are sequences ``CBT`` (or ``CT``); the projections are ``fullyconnect`` over C.
Dropout on the attention weights applies in ``forward`` (training) only.
"""

from __future__ import annotations

from typing import List

import numpy as np

from .._arguments import flag, number
from .._core import FormatError, OptionError
from . import initializers
from .base import Layer, as_param, channel_size, check_shape, set_factors

__all__ = ["AttentionLayer", "SelfAttentionLayer", "attentionLayer", "selfAttentionLayer"]


def _nn():
    from .. import nn

    return nn


def _positive(value, option, who):
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise OptionError(f"{who}: {option} must be a positive integer, got {value!r}")
    return int(value)


def _auto_or_positive(value, option, who):
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise OptionError(f"{who}: {option} must be 'auto' or a positive integer, got {value!r}")
    return int(value)


def _attention_mask(mask, who):
    if isinstance(mask, str):
        if mask.lower() not in ("none", "causal"):
            raise OptionError(f"{who}: attention_mask must be 'none' or 'causal', got '{mask}'")
        return mask.lower()
    raise OptionError(f"{who}: attention_mask must be 'none' or 'causal', got {type(mask).__name__}")


def _dropout(p, who):
    p = number(p, "dropout_probability", who, low=0.0, high=1.0)
    if p == 1.0:
        raise OptionError(f"{who}: dropout_probability must be in [0, 1), got 1")
    return p


def _check_sequence(X, who, name="the input"):
    fmt = X.fmt or ""
    if "C" not in fmt or "T" not in fmt or any(c in fmt for c in "SU"):
        raise FormatError(f"{who}: {name} (format '{fmt}', shape {tuple(X.shape)}) must be a sequence formatted 'CBT' or 'CT'")


class SelfAttentionLayer(Layer):
    """MATLAB's ``selfAttentionLayer(numHeads, numKeyChannels)`` (R2023a): multi-head
    self-attention with learned projections,
    ``Y = W_o · attention(W_q X + b_q, W_k X + b_k, W_v X + b_v, numHeads) + b_o``.

    Learnables (MATLAB's names and shapes, C input channels): ``QueryWeights`` and
    ``KeyWeights`` (num_key_channels, C), ``ValueWeights`` (num_value_channels, C),
    ``OutputWeights`` (output_size, num_value_channels), and ``QueryBias``, ``KeyBias``
    (num_key_channels, 1), ``ValueBias`` (num_value_channels, 1), ``OutputBias``
    (output_size, 1).

    Options: ``num_value_channels`` "auto" (= num_key_channels), ``output_size`` "auto" (= C);
    ``attention_mask`` "none" or "causal"; ``dropout_probability`` 0 (on the attention
    weights, in ``forward`` only); ``has_padding_mask`` False (True adds a second input
    ``mask``: nonzero where the input is data, 0 at padding, formatted with T (and B), as
    ``attention``'s ``padding_mask``); ``query_weights_initializer``,
    ``key_weights_initializer``, ``value_weights_initializer``,
    ``output_weights_initializer`` "glorot", ``bias_initializer`` "zeros"; explicit values
    ``query_weights`` … ``output_bias``; ``weight_learn_rate_factor``,
    ``bias_learn_rate_factor``, ``weight_l2_factor`` (1), ``bias_l2_factor`` (0), applied
    to every weight / bias. ``num_key_channels`` and ``num_value_channels`` must be
    divisible by ``num_heads``. ``has_scores_output`` is not supported.
    """

    learnable_parameters = (
        "QueryWeights",
        "KeyWeights",
        "ValueWeights",
        "OutputWeights",
        "QueryBias",
        "KeyBias",
        "ValueBias",
        "OutputBias",
    )
    default_name = "selfattention"

    @property
    def _replay_safe(self) -> bool:  # a padding mask is read from the input's values
        return not self.has_padding_mask

    description = "Self-Attention"

    def __init__(
        self,
        num_heads: int,
        num_key_channels: int,
        *,
        num_value_channels="auto",
        output_size="auto",
        has_padding_mask=False,
        attention_mask="none",
        dropout_probability=0.0,
        has_scores_output=False,
        query_weights_initializer="glorot",
        key_weights_initializer="glorot",
        value_weights_initializer="glorot",
        output_weights_initializer="glorot",
        bias_initializer="zeros",
        query_weights=None,
        key_weights=None,
        value_weights=None,
        output_weights=None,
        query_bias=None,
        key_bias=None,
        value_bias=None,
        output_bias=None,
        weight_learn_rate_factor=1.0,
        bias_learn_rate_factor=1.0,
        weight_l2_factor=1.0,
        bias_l2_factor=0.0,
        name="",
    ):
        super().__init__(name)
        who = "selfAttentionLayer"
        self.num_heads = _positive(num_heads, "num_heads", who)
        self.num_key_channels = _positive(num_key_channels, "num_key_channels", who)
        self.num_value_channels = _auto_or_positive(num_value_channels, "num_value_channels", who)
        self.output_size = _auto_or_positive(output_size, "output_size", who)
        for option, channels in (("num_key_channels", self.num_key_channels), ("num_value_channels", self._nv())):
            if channels % self.num_heads:
                raise OptionError(f"{who}: {option} ({channels}) must be divisible by num_heads ({self.num_heads})")
        self.has_padding_mask = flag(has_padding_mask, "has_padding_mask", who)
        if flag(has_scores_output, "has_scores_output", who):
            raise OptionError(
                f"{who}: has_scores_output is not supported; call the functional attention with return_weights=True in a custom layer"
            )
        self.attention_mask = _attention_mask(attention_mask, who)
        self.dropout_probability = _dropout(dropout_probability, who)
        init = initializers.check_initializer
        self.query_weights_initializer = init(query_weights_initializer, "query_weights_initializer", who)
        self.key_weights_initializer = init(key_weights_initializer, "key_weights_initializer", who)
        self.value_weights_initializer = init(value_weights_initializer, "value_weights_initializer", who)
        self.output_weights_initializer = init(output_weights_initializer, "output_weights_initializer", who)
        self.bias_initializer = init(bias_initializer, "bias_initializer", who)
        values = (query_weights, key_weights, value_weights, output_weights, query_bias, key_bias, value_bias, output_bias)
        for parameter, value in zip(self.learnable_parameters, values):
            option = "".join("_" + ch.lower() if ch.isupper() else ch for ch in parameter).lstrip("_")
            setattr(self, parameter, as_param(value, who, option))
        weights, biases = self.learnable_parameters[:4], self.learnable_parameters[4:]
        set_factors(self, weights, (weight_learn_rate_factor,) * 4, (weight_l2_factor,) * 4)
        set_factors(self, biases, (bias_learn_rate_factor,) * 4, (bias_l2_factor,) * 4)
        if self.has_padding_mask:
            self.num_inputs = 2

    @property
    def input_names(self) -> List[str]:
        return ["in", "mask"] if self.has_padding_mask else ["in"]

    def _nv(self) -> int:
        return self.num_key_channels if self.num_value_channels == "auto" else self.num_value_channels

    def initialize(self, X, *mask) -> None:
        who = f"selfAttentionLayer '{self.name}'"
        c = channel_size(X, who)
        nk, nv = self.num_key_channels, self._nv()
        no = c if self.output_size == "auto" else self.output_size
        shapes = {
            "QueryWeights": (nk, c),
            "KeyWeights": (nk, c),
            "ValueWeights": (nv, c),
            "OutputWeights": (no, nv),
            "QueryBias": (nk, 1),
            "KeyBias": (nk, 1),
            "ValueBias": (nv, 1),
            "OutputBias": (no, 1),
        }
        inits = {
            "QueryWeights": self.query_weights_initializer,
            "KeyWeights": self.key_weights_initializer,
            "ValueWeights": self.value_weights_initializer,
            "OutputWeights": self.output_weights_initializer,
        }
        for parameter, shape in shapes.items():
            if getattr(self, parameter) is None:
                init = inits.get(parameter, self.bias_initializer)
                fan_in, fan_out = (shape[1], shape[0]) if parameter in inits else (c, shape[0])
                setattr(self, parameter, initializers.initialize(init, shape, fan_in, fan_out, X.dtype, who))
            check_shape(getattr(self, parameter), shape, who, parameter)

    def _run(self, X, mask, p):
        who = f"selfAttentionLayer '{self.name}'"
        _check_sequence(X, who)
        nn = _nn()
        q = nn.fullyconnect(X, self.QueryWeights, self.QueryBias)
        k = nn.fullyconnect(X, self.KeyWeights, self.KeyBias)
        v = nn.fullyconnect(X, self.ValueWeights, self.ValueBias)
        y = nn.attention(q, k, v, self.num_heads, attention_mask=self.attention_mask, padding_mask=mask, dropout_probability=p)
        return nn.fullyconnect(y, self.OutputWeights, self.OutputBias)

    def predict(self, X, mask=None):
        return self._run(X, mask, 0.0)

    def forward(self, X, mask=None):
        return self._run(X, mask, self.dropout_probability)


class AttentionLayer(Layer):
    """MATLAB's ``attentionLayer(numHeads)`` (R2024a): multi-head scaled dot-product
    attention of its inputs ``query``, ``key`` and ``value`` (the functional ``attention``;
    no learnables). The output has the queries' format and the values' channels.

    Options: ``scale`` "auto" (1/sqrt(head channels)) or a number; ``attention_mask`` "none"
    or "causal"; ``dropout_probability`` 0 (in ``forward`` only); ``has_padding_mask``
    False (True adds a fourth input ``mask``, the keys' padding mask). ``has_scores_output``
    is not supported.
    """

    default_name = "attention"

    @property
    def _replay_safe(self) -> bool:  # a padding mask is read from the input's values
        return not self.has_padding_mask

    description = "Attention"

    def __init__(
        self,
        num_heads: int,
        *,
        scale="auto",
        has_padding_mask=False,
        attention_mask="none",
        dropout_probability=0.0,
        has_scores_output=False,
        name="",
    ):
        super().__init__(name)
        who = "attentionLayer"
        self.num_heads = _positive(num_heads, "num_heads", who)
        if isinstance(scale, str):
            if scale.lower() != "auto":
                raise OptionError(f"{who}: scale must be 'auto' or a number, got '{scale}'")
            self.scale = "auto"
        else:
            self.scale = number(scale, "scale", who)
        self.has_padding_mask = flag(has_padding_mask, "has_padding_mask", who)
        if flag(has_scores_output, "has_scores_output", who):
            raise OptionError(
                f"{who}: has_scores_output is not supported; call the functional attention with return_weights=True in a custom layer"
            )
        self.attention_mask = _attention_mask(attention_mask, who)
        self.dropout_probability = _dropout(dropout_probability, who)
        self.num_inputs = 4 if self.has_padding_mask else 3

    @property
    def input_names(self) -> List[str]:
        return ["query", "key", "value"] + (["mask"] if self.has_padding_mask else [])

    def _run(self, q, k, v, mask, p):
        who = f"attentionLayer '{self.name}'"
        for x, name in ((q, "the query"), (k, "the key"), (v, "the value")):
            _check_sequence(x, who, name)
        return _nn().attention(
            q, k, v, self.num_heads, scale=self.scale, attention_mask=self.attention_mask, padding_mask=mask, dropout_probability=p
        )

    def predict(self, q, k, v, mask=None):
        return self._run(q, k, v, mask, 0.0)

    def forward(self, q, k, v, mask=None):
        return self._run(q, k, v, mask, self.dropout_probability)


selfAttentionLayer = SelfAttentionLayer
attentionLayer = AttentionLayer
