"""One Adam / SGDM step over the parameters of an MLP 784-512-512-10 (≈ 670k float32
parameters): dlarray's fused Rust step side by side with a numpy implementation (in-place
numpy ops, no temporaries beyond numpy's own) and, when installed, PyTorch's
``torch.optim.Adam(foreach=True)`` on the same data.

    python benches/optim_step.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from dlarray import adamupdate, dlarray, sgdmupdate

SIZES = [784, 512, 512, 10]


def mlp_params(rng, dtype=np.float32):
    params = {}
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
        params[f"fc{i}"] = {"Weights": rng.standard_normal((b, a)).astype(dtype) * 0.05, "Bias": np.zeros(b, dtype)}
    return params


def flat(d):
    return [v for layer in d.values() for v in layer.values()]


def per_step_us(fns, repeat, rounds=15):
    """Best time per call of each function, measured in interleaved rounds so that a busy
    machine disturbs every contender alike."""
    for fn in fns:
        fn()  # warm up (allocations, thread pool)
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(repeat):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t0) / repeat)
    return [b * 1e6 for b in best]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    p_np = mlp_params(rng)
    g_np = {k: {n: rng.standard_normal(v.shape).astype(np.float32) for n, v in layer.items()} for k, layer in p_np.items()}
    n = sum(v.size for v in flat(p_np))
    print(f"MLP 784-512-512-10: {n} float32 parameters in {len(flat(p_np))} arrays")

    # dlarray: value semantics, every step returns new params and state.
    to_dl = lambda d: {k: {n: dlarray(v) for n, v in layer.items()} for k, layer in d.items()}  # noqa: E731
    state = {"p": to_dl(p_np), "m": None, "v": None, "t": 0, "vel": None}
    g_dl = to_dl(g_np)

    def dl_adam():
        state["t"] += 1
        state["p"], state["m"], state["v"] = adamupdate(state["p"], g_dl, state["m"], state["v"], state["t"])

    def dl_sgdm():
        state["p"], state["vel"] = sgdmupdate(state["p"], g_dl, state["vel"], 0.01, 0.9)

    # numpy: in place (the fastest numpy can do; no value semantics).
    ps, gs = [v.copy() for v in flat(p_np)], flat(g_np)
    ms, vs = [np.zeros_like(p) for p in ps], [np.zeros_like(p) for p in ps]
    vels = [np.zeros_like(p) for p in ps]
    tmp = [np.empty_like(p) for p in ps]
    np_t = [0]

    def np_adam(lr=0.001, b1=0.9, b2=0.999, eps=1e-8):
        np_t[0] += 1
        t = np_t[0]
        step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        for p, g, m, v, w in zip(ps, gs, ms, vs, tmp):
            m *= b1
            m += (1 - b1) * g
            np.multiply(g, g, out=w)
            v *= b2
            w *= 1 - b2
            v += w
            np.sqrt(v, out=w)
            w += eps
            np.divide(m, w, out=w)
            w *= step
            p -= w

    def np_sgdm(lr=0.01, mu=0.9):
        for p, g, v in zip(ps, gs, vels):
            v *= mu
            v -= lr * g
            p += v

    names = [
        "adam  dlarray (fused Rust, new arrays)",
        "adam  numpy (in place)",
        "sgdm  dlarray (fused Rust, new arrays)",
        "sgdm  numpy (in place)",
    ]
    fns = [dl_adam, np_adam, dl_sgdm, np_sgdm]
    try:
        import torch

        tp = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in flat(p_np)]
        for p, g in zip(tp, gs):
            p.grad = torch.from_numpy(g)
        opt = torch.optim.Adam(tp, lr=0.001, foreach=True)
        names.append("adam  torch.optim.Adam(foreach=True)")
        fns.append(opt.step)
    except ImportError:
        pass
    rows = list(zip(names, per_step_us(fns, args.repeat)))
    for name, us in rows:
        print(f"{name:42s} {us:9.1f} µs/step")


if __name__ == "__main__":
    main()
