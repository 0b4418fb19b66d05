"""dlaccelerate against eager dlfeval, side by side in one run (PyTorch eager alongside when
importable). Medians of repeated calls, after warm-up (the first accelerated call traces;
its cost is reported separately).

(a) A chain of 10 elementwise ops on 64 floats, forward + backward (per op).
(b) PINN-style loss: an MLP 2-32-32-1 tanh on 1000 points, u, du/dx by dlgradient with
    higher derivatives, loss = mean(du/dx²) + mean(u²), and its gradient w.r.t. the weights.
(c) MLP 784-512-512-10 relu + softmax + crossentropy, batch 256, loss and gradients.

    python benches/compare_accelerate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

import dlarray as dl
import numpy as np
from compare_training import median_ms  # the same timing loop as the training comparison

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None


def first_call_s(fn, *args):
    """The first call of a fresh accelerated ``fn`` through dlfeval: tracing and compiling."""
    acc = dl.dlaccelerate(fn)
    t0 = time.perf_counter()
    dl.dlfeval(acc, *args)
    return time.perf_counter() - t0


def eager_and_accelerated(fn, args, repeat):
    """(eager ms, accelerated ms, first accelerated call ms) for ``dlfeval(fn, *args)``."""
    acc = dl.dlaccelerate(fn)
    eager = median_ms(lambda: dl.dlfeval(fn, *args), repeat)
    fast = median_ms(lambda: dl.dlfeval(acc, *args), repeat)
    return eager, fast, 1e3 * first_call_s(fn, *args)


rng = np.random.default_rng(0)


def chain_loss(x):
    y = x
    for _ in range(5):
        y = dl.sin(y) * 1.01
    return dl.dlgradient(y.sum(), x)


def mlp(params, x, act):
    h = x
    for k in range(len(params) // 2):
        h = dl.fullyconnect(h, params[f"w{k}"], params[f"b{k}"])
        if k < len(params) // 2 - 1:
            h = act(h)
    return h


def pinn_loss(params, x):
    u = mlp(params, x, dl.tanh)
    ux = dl.dlgradient(u.sum(), x, enable_higher_derivatives=True)
    loss = (ux * ux).mean() + (u * u).mean()
    return loss, dl.dlgradient(loss, params)


def classifier_loss(params, x, t):
    loss = dl.crossentropy(dl.softmax(mlp(params, x, dl.relu)), t)
    return loss, dl.dlgradient(loss, params)


def params_of(sizes, dtype=np.float32):
    p = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        p[f"w{k}"] = dl.dlarray((rng.standard_normal((b, a)) / np.sqrt(a)).astype(dtype))
        p[f"b{k}"] = dl.dlarray(np.zeros(b, dtype))
    return p


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rows = []

    x = dl.dlarray(rng.standard_normal(64).astype(np.float32))
    ops = 10
    eager, fast, first = eager_and_accelerated(chain_loss, (x,), args.repeat * 10)
    row = ["tiny chain fwd+bwd, per op (µs)", 1e3 * eager / ops, 1e3 * fast / ops, first]
    if torch is not None:
        tx = torch.tensor(np.asarray(dl.extractdata(x)), requires_grad=True)

        def torch_chain():
            y = tx
            for _ in range(5):
                y = torch.sin(y) * 1.01
            return torch.autograd.grad(y.sum(), tx)

        row.append(1e3 * median_ms(torch_chain, args.repeat * 10) / ops)
    rows.append(row)

    params = params_of([2, 32, 32, 1], np.float64)
    pts = dl.dlarray(rng.standard_normal((2, 1000)), "CB")
    rows.append(["PINN loss + grad, 1000 pts (ms)", *eager_and_accelerated(pinn_loss, (params, pts), args.repeat)])

    params = params_of([784, 512, 512, 10])
    xb = dl.dlarray(rng.standard_normal((784, 256)).astype(np.float32), "CB")
    tb = dl.dlarray(np.eye(10, dtype=np.float32)[:, rng.integers(0, 10, 256)], "CB")
    rows.append(["MLP 784-512-512-10 loss + grad, b256 (ms)", *eager_and_accelerated(classifier_loss, (params, xb, tb), args.repeat)])

    header = ["workload", "eager", "accelerated", "first accelerated call (ms)"] + (["torch eager"] if torch is not None else [])
    print(" | ".join(header))
    for r in rows:
        print(" | ".join([r[0]] + [f"{v:.3g}" for v in r[1:]]) + f" | accelerated/eager {r[2] / r[1]:.2f}")


if __name__ == "__main__":
    main()
