"""Model-loss functions of custom training loops, for timing eager ``dlfeval`` against
``dlfeval`` of their ``dlaccelerate`` wrapper (asv: ``bench_accelerate.py``; side by side
with PyTorch and JAX: ``benches/compare_accelerate.py``).

Each workload is a function and its arguments (fixed seed), and its size in ops where a
per-op cost is what is compared:

- ``chain``: 5 × (sin, scaled) on 64 floats and its gradient: the cost of an op itself.
- ``hvp``: a Hessian-vector product of an MLP 64-256-256-1 tanh at batch 128 (the gradient
  of the gradient's inner product with a direction): a second-order graph.
- ``pinn``: an MLP 2-32-32-1 tanh on 1000 points, u and du/dx, loss = mean(du/dx²) +
  mean(u²) and its gradient w.r.t. the weights (float64, as PINNs are trained).
- ``mlp``: MLP 784-512-512-10 relu + softmax + crossentropy at batch 256, loss and gradients.
- ``cnn32``, ``cnn128``: the seed's digit classifier as a model function (5×5 conv, 20
  filters, "same"; batchnorm with batch statistics; relu; 2×2 maxpool; fullyconnect to 10;
  softmax; crossentropy) on 28×28 images, loss and gradients, at batch 32 and 128.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Tuple

import dlarray as dl
import numpy as np


@dataclass(frozen=True)
class AcceleratedWorkload:
    name: str
    fn: Callable[..., Any]
    make_args: Callable[[np.random.Generator], Tuple[Any, ...]]
    ops: int = 1  # the per-op cost is the call's time divided by this

    def args(self) -> Tuple[Any, ...]:
        return self.make_args(np.random.default_rng(0))


def mlp(params: Dict[str, Any], x: Any, act: Callable[[Any], Any]) -> Any:
    h = x
    layers = len(params) // 2
    for k in range(layers):
        h = dl.fullyconnect(h, params[f"w{k}"], params[f"b{k}"])
        if k < layers - 1:
            h = act(h)
    return h


def params_of(rng: np.random.Generator, sizes, dtype=np.float32) -> Dict[str, Any]:
    p = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        p[f"w{k}"] = dl.dlarray((rng.standard_normal((b, a)) / np.sqrt(a)).astype(dtype))
        p[f"b{k}"] = dl.dlarray(np.zeros(b, dtype))
    return p


CHAIN_LINKS = 5


def chain_loss(x):
    y = x
    for _ in range(CHAIN_LINKS):
        y = dl.sin(y) * 1.01
    return dl.dlgradient(y.sum(), x)


def hvp_loss(params, x, v):
    """H v for the loss sum(mlp(x)²)/2 w.r.t. the weights, through the gradient's inner
    product with v."""
    u = mlp(params, x, dl.tanh)
    loss = 0.5 * (u * u).sum()
    g = dl.dlgradient(loss, params, enable_higher_derivatives=True)
    inner = sum((g[k] * v[k]).sum() for k in g)
    return dl.dlgradient(inner, params)


def pinn_loss(params, x):
    u = mlp(params, x, dl.tanh)
    ux = dl.dlgradient(u.sum(), x, enable_higher_derivatives=True)
    loss = (ux * ux).mean() + (u * u).mean()
    return loss, dl.dlgradient(loss, params)


def classifier_loss(params, x, t):
    loss = dl.crossentropy(dl.softmax(mlp(params, x, dl.relu)), t)
    return loss, dl.dlgradient(loss, params)


def cnn_loss(p, X, T):
    Y = dl.dlconv(X, p["w"], p["b"], padding="same")
    Y, _, _ = dl.batchnorm(Y, p["off"], p["sc"], np.zeros(20, np.float32), np.ones(20, np.float32), training=True)
    Y = dl.maxpool(dl.relu(Y), 2, stride=2)
    loss = dl.crossentropy(dl.softmax(dl.fullyconnect(Y, p["fw"], p["fb"])), T)
    return loss, dl.dlgradient(loss, p)


def _cnn_args(batch):
    def make(rng):
        X = dl.dlarray(rng.random((28, 28, 1, batch), dtype=np.float32), "SSCB")
        T = dl.dlarray(np.eye(10, dtype=np.float32)[:, rng.integers(0, 10, batch)], "CB")
        p = {
            "w": rng.standard_normal((5, 5, 1, 20)).astype(np.float32) * 0.1,
            "b": np.zeros(20, np.float32),
            "off": np.zeros(20, np.float32),
            "sc": np.ones(20, np.float32),
            "fw": rng.standard_normal((10, 3920)).astype(np.float32) * 0.01,
            "fb": np.zeros(10, np.float32),
        }
        return {k: dl.dlarray(v) for k, v in p.items()}, X, T

    return make


def _chain_args(rng):
    return (dl.dlarray(rng.standard_normal(64).astype(np.float32)),)


HVP_SIZES = [64, 256, 256, 1]
HVP_BATCH = 128


def _hvp_args(rng):
    params = params_of(rng, HVP_SIZES)
    x = dl.dlarray(rng.standard_normal((HVP_SIZES[0], HVP_BATCH)).astype(np.float32), "CB")
    v = {k: dl.dlarray(rng.standard_normal(p.shape).astype(np.float32)) for k, p in params.items()}
    return params, x, v


def _pinn_args(rng):
    return params_of(rng, [2, 32, 32, 1], np.float64), dl.dlarray(rng.standard_normal((2, 1000)), "CB")


def _mlp_args(rng):
    params = params_of(rng, [784, 512, 512, 10])
    x = dl.dlarray(rng.standard_normal((784, 256)).astype(np.float32), "CB")
    t = dl.dlarray(np.eye(10, dtype=np.float32)[:, rng.integers(0, 10, 256)], "CB")
    return params, x, t


ACCELERATED = {
    w.name: w
    for w in [
        # The chain's forward ops (sin and the scaling, per link): its per-op cost.
        AcceleratedWorkload("chain", chain_loss, _chain_args, ops=2 * CHAIN_LINKS),
        AcceleratedWorkload("hvp", hvp_loss, _hvp_args),
        AcceleratedWorkload("pinn", pinn_loss, _pinn_args),
        AcceleratedWorkload("mlp", classifier_loss, _mlp_args),
        AcceleratedWorkload("cnn32", cnn_loss, _cnn_args(32)),
        AcceleratedWorkload("cnn128", cnn_loss, _cnn_args(128)),
    ]
}
