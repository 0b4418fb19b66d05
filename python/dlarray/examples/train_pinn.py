"""A physics-informed neural network (PINN) solving Poisson's equation with ``dllaplacian``.

    python -m dlarray.examples.train_pinn [--iterations N] [--points K]

Problem: ``−Δu = 2π² sin(πx) sin(πy)`` on the unit square with ``u = 0`` on its boundary;
the exact solution is ``u = sin(πx) sin(πy)``. The network ``u(x, y)`` (two inputs, format
``CB``; fully connected tanh layers) is trained by ``adamupdate`` to make the PDE residual
vanish at random collocation points and ``u`` vanish on the boundary. The loss contains the
Laplacian of the network output with respect to its input — second derivatives — and its
gradient with respect to the learnables is a third-order computation through the tape.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from dlarray import (
    Layer,
    adamupdate,
    dlarray,
    dlfeval,
    dlgradient,
    dllaplacian,
    dlnetwork,
    extractdata,
    featureInputLayer,
    fullyConnectedLayer,
    tanhLayer,
)

# Several names a line, as the table was written.
# fmt: off
__all__ = ["BOUNDARY_WEIGHT", "boundary_points", "build_network", "exact", "main", "model_loss",
           "relative_error", "source", "train"]
# fmt: on


def source(xy: np.ndarray) -> np.ndarray:
    return 2 * np.pi**2 * np.sin(np.pi * xy[0:1]) * np.sin(np.pi * xy[1:2])


def exact(xy: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * xy[0:1]) * np.sin(np.pi * xy[1:2])


def build_network(width: int = 20, depth: int = 3) -> dlnetwork:
    layers: List[Layer] = [featureInputLayer(2)]
    for _ in range(depth):
        layers += [fullyConnectedLayer(width), tanhLayer()]
    return dlnetwork(layers + [fullyConnectedLayer(1)])


def boundary_points(n: int, rng: np.random.Generator) -> np.ndarray:
    s = rng.uniform(0, 1, n)
    side = rng.integers(0, 4, n)
    x = np.where(side == 0, 0.0, np.where(side == 1, 1.0, s))
    y = np.where(side == 2, 0.0, np.where(side == 3, 1.0, s))
    return np.stack([x, y]).astype(np.float32)


BOUNDARY_WEIGHT = 10.0  # the boundary term is weighted up: the residual's scale (f ~ 20) dwarfs it


def model_loss(net: dlnetwork, X: dlarray, F: dlarray, XB: dlarray):
    """Mean squared PDE residual at the collocation points plus the weighted boundary term."""
    U = net.forward(X)
    residual = dllaplacian(U, X, "C") + F  # Δu + f = 0
    loss_pde = (residual * residual).mean()
    UB = net.forward(XB)
    loss_bc = (UB * UB).mean()
    loss = loss_pde + BOUNDARY_WEIGHT * loss_bc
    return loss, dlgradient(loss, net.learnables)


def relative_error(net: dlnetwork, n: int = 41) -> float:
    g = np.linspace(0, 1, n, dtype=np.float32)
    xy = np.stack([a.ravel() for a in np.meshgrid(g, g)])
    U = extractdata(net.predict(dlarray(xy, "CB")))
    ref = exact(xy)
    return float(np.linalg.norm(U - ref) / np.linalg.norm(ref))


def train(iterations: int = 1500, points: int = 256, learn_rate: float = 0.01, seed: int = 0, verbose: bool = True) -> Dict[str, Any]:
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    net = build_network()
    avg, avg_sq = None, None
    start = time.perf_counter()
    loss = float("nan")
    for iteration in range(1, iterations + 1):
        xy = rng.uniform(0, 1, (2, points)).astype(np.float32)
        X, F = dlarray(xy, "CB"), dlarray(source(xy).astype(np.float32), "CB")
        XB = dlarray(boundary_points(points // 4, rng), "CB")
        loss_value, grads = dlfeval(model_loss, net, X, F, XB)
        net, avg, avg_sq = adamupdate(net, grads, avg, avg_sq, iteration, learn_rate)
        loss = float(loss_value)
        if verbose and (iteration % 100 == 0 or iteration == iterations):
            print(f"iteration {iteration}: loss {loss:.5f}", flush=True)
    err = relative_error(net)
    elapsed = time.perf_counter() - start
    if verbose:
        print(f"relative L2 error against the exact solution: {err:.4f} ({elapsed:.1f} s)")
    return {"net": net, "loss": loss, "relative_error": err, "time": elapsed}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="train_pinn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--points", type=int, default=256)
    parser.add_argument("--learn-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train(args.iterations, args.points, args.learn_rate, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
