"""Workloads of the image-shaped op families: convolution, pooling, normalisation, activations.

Sizes are those of a small image network: batch 32, 28×28 maps with 16–32 channels
(about 0.8 M elements per activation), data formatted "SSCB" (H, W, C, B) for dlarray and
NCHW for PyTorch.
"""

from __future__ import annotations

import dlarray as dl
import numpy as np

from ._harness import Workload, dlarray_phases, f32, nchw, normal, tbc, tensor, torch_filters, torch_modules, torch_phases

B, H, W = 32, 28, 28


# ----- convolution ------------------------------------------------------------------------------


def _conv(name, spatial, c_in, c_out, k, groups=1, fmt="SSCB", padding="same"):
    """dlconv at stride 1 with ``groups`` groups: MATLAB filters (K..., C/G, F/G, G)."""
    pad = (k - 1) // 2

    def data(rng):
        return {
            "X": normal(rng, *spatial, c_in, B),
            "W": normal(rng, *([k] * len(spatial)), c_in // groups, c_out // groups, groups, scale=0.1),
            "b": normal(rng, c_out, scale=0.1),
        }

    def ours(d):
        leaves = {"X": dl.dlarray(d["X"], fmt), "W": d["W"], "b": d["b"]}
        return dlarray_phases(lambda p: dl.dlconv(p["X"], p["W"], p["b"], padding=padding), leaves)

    def theirs(d):
        _, F = torch_modules()
        conv = F.conv1d if len(spatial) == 1 else F.conv2d
        leaves = {"X": tensor(nchw(d["X"])), "W": tensor(torch_filters(d["W"])), "b": tensor(d["b"])}
        return torch_phases(lambda p: conv(p["X"], p["W"], p["b"], padding=pad, groups=groups), leaves)

    return Workload("conv", name, data, ours, theirs)


def _transpconv(name, size, c_in, c_out, k, stride, crop):
    """dltranspconv upsampling ``size`` → ``(size - 1)·stride + k - 2·crop``."""

    def data(rng):
        return {
            "X": normal(rng, size, size, c_in, B),
            "W": normal(rng, k, k, c_out, c_in, 1, scale=0.1),
            "b": normal(rng, c_out, scale=0.1),
        }

    def ours(d):
        leaves = {"X": dl.dlarray(d["X"], "SSCB"), "W": d["W"], "b": d["b"]}
        return dlarray_phases(lambda p: dl.dltranspconv(p["X"], p["W"], p["b"], stride=stride, cropping=crop), leaves)

    def theirs(d):
        _, F = torch_modules()
        leaves = {"X": tensor(nchw(d["X"])), "W": tensor(torch_filters(d["W"])), "b": tensor(d["b"])}
        return torch_phases(lambda p: F.conv_transpose2d(p["X"], p["W"], p["b"], stride=stride, padding=crop), leaves)

    return Workload("conv", name, data, ours, theirs)


CONV = [
    _conv("conv2d 3x3 C16->32 28x28 B32", (H, W), 16, 32, 3),
    _conv("conv1d k5 C16->32 L256 B32", (256,), 16, 32, 5, fmt="SCB"),
    _conv("conv2d grouped G4 3x3 C32->32", (H, W), 32, 32, 3, groups=4),
    _conv("conv2d depthwise 3x3 C32", (H, W), 32, 32, 3, groups=32),
    _transpconv("transpconv2d 4x4/2 C32->16 14->28", 14, 32, 16, 4, 2, 1),
]


# ----- pooling ----------------------------------------------------------------------------------


def _pool(kind):
    def data(rng):
        return {"X": normal(rng, H, W, 32, B)}

    def ours(d):
        pool = dl.maxpool if kind == "max" else dl.avgpool
        return dlarray_phases(lambda p: pool(p["X"], 2, stride=2), {"X": dl.dlarray(d["X"], "SSCB")})

    def theirs(d):
        _, F = torch_modules()
        pool = F.max_pool2d if kind == "max" else F.avg_pool2d
        return torch_phases(lambda p: pool(p["X"], 2, 2), {"X": tensor(nchw(d["X"]))})

    return Workload("pool", f"{kind}pool 2x2/2 C32 28x28 B32", data, ours, theirs)


POOL = [_pool("max"), _pool("avg")]


# ----- normalisation ----------------------------------------------------------------------------


def _norm(kind):
    """Per-channel offset and scale; batchnorm in training mode (batch statistics, running
    statistics updated); layernorm on a sequence ("CBT", over C, as in a transformer)."""
    seq = kind == "layernorm"
    C = 256 if seq else 32

    def data(rng):
        x = normal(rng, C, B, 50) if seq else normal(rng, H, W, C, B)
        return {"X": x, "offset": normal(rng, C, scale=0.1), "scale": 1 + normal(rng, C, scale=0.1)}

    def ours(d):
        mean, var = np.zeros(C, f32), np.ones(C, f32)
        fns = {
            "batchnorm": lambda p: dl.batchnorm(p["X"], p["offset"], p["scale"], mean, var, training=True)[0],
            "layernorm": lambda p: dl.layernorm(p["X"], p["offset"], p["scale"]),
            "groupnorm": lambda p: dl.groupnorm(p["X"], 8, p["offset"], p["scale"]),
            "instancenorm": lambda p: dl.instancenorm(p["X"], p["offset"], p["scale"]),
        }
        leaves = {"X": dl.dlarray(d["X"], "CBT" if seq else "SSCB"), "offset": d["offset"], "scale": d["scale"]}
        return dlarray_phases(fns[kind], leaves)

    def theirs(d):
        torch, F = torch_modules()
        mean, var = torch.zeros(C), torch.ones(C)
        fns = {
            "batchnorm": lambda p: F.batch_norm(p["X"], mean, var, p["scale"], p["offset"], training=True),
            "layernorm": lambda p: F.layer_norm(p["X"], (C,), p["scale"], p["offset"]),
            "groupnorm": lambda p: F.group_norm(p["X"], 8, p["scale"], p["offset"]),
            "instancenorm": lambda p: F.instance_norm(p["X"], weight=p["scale"], bias=p["offset"]),
        }
        x = tbc(d["X"]) if seq else nchw(d["X"])
        return torch_phases(fns[kind], {"X": tensor(x), "offset": tensor(d["offset"]), "scale": tensor(d["scale"])})

    shape = f"C{C} B{B} T50" if seq else f"C{C} {H}x{W} B{B}"
    return Workload("norm", f"{kind}{' (groups 8)' if kind == 'groupnorm' else ''} {shape}", data, ours, theirs)


NORM = [_norm(k) for k in ("batchnorm", "layernorm", "groupnorm", "instancenorm")]


# ----- activations ------------------------------------------------------------------------------


def _activation(kind):
    softmax = kind == "softmax"

    def data(rng):
        return {"X": normal(rng, 1000, 256) if softmax else normal(rng, H, W, 32, B)}

    def ours(d):
        fns = {"relu": dl.relu, "leakyrelu": dl.leakyrelu, "gelu": dl.gelu, "sigmoid": dl.sigmoid, "tanh": dl.tanh, "softmax": dl.softmax}
        fn = fns[kind]
        return dlarray_phases(lambda p: fn(p["X"]), {"X": dl.dlarray(d["X"], "CB" if softmax else "SSCB")})

    def theirs(d):
        torch, F = torch_modules()
        fns = {
            "relu": F.relu,
            "leakyrelu": lambda x: F.leaky_relu(x, 0.01),
            "gelu": F.gelu,
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
            "softmax": lambda x: F.softmax(x, dim=1),
        }
        fn = fns[kind]
        x = d["X"].T if softmax else nchw(d["X"])  # softmax: (B, C) rows
        return torch_phases(lambda p: fn(p["X"]), {"X": tensor(x)})

    shape = "C1000 B256" if softmax else f"C32 {H}x{W} B{B}"
    return Workload("activation", f"{kind} {shape}", data, ours, theirs)


ACTIVATION = [_activation(k) for k in ("relu", "leakyrelu", "gelu", "sigmoid", "tanh", "softmax")]
