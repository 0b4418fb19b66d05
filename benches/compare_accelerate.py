"""dlaccelerate against eager dlfeval, side by side in one run, with PyTorch eager and JAX
jit alongside when they are importable (neither is needed). The workloads are those of the
asv suite (benchmarks/_wl_accelerate.py), on the same values: before timing, each other
library's result is checked against dlarray's. Medians of repeated calls after warm-up; the
first accelerated call (tracing and compiling) is reported separately, as is JAX's first
(jit-compiling) call.

    python benches/compare_accelerate.py [--repeat N] [--runs K]

With ``--runs K`` each workload is timed K times in turn and the range of the ratios shown.
"""

from __future__ import annotations

import argparse
import time

import dlarray as dl
import numpy as np
from benchmarks._wl_accelerate import ACCELERATED
from compare_training import median_ms  # the same timing loop as the training comparison

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # the PINN workload is float64
except ImportError:
    jax = None


def host(x):
    return np.asarray(dl.extractdata(x))


def host_tree(args):
    if isinstance(args, dict):
        return {k: host(v) for k, v in args.items()}
    return host(args)


# ----- the same functions in PyTorch (eager) and JAX (jit); (C, B) layouts, as dlarray's ------


def _torch_mlp(p, x, act):
    h, layers = x, len(p) // 2
    for k in range(layers):
        h = p[f"w{k}"] @ h + p[f"b{k}"][:, None]
        if k < layers - 1:
            h = act(h)
    return h


def _torch_fns(name, args):
    """A function of no arguments computing what the dlarray workload computes, and its
    result as numpy arrays (for the check)."""
    t = lambda a, grad=False: torch.tensor(a, requires_grad=grad)  # noqa: E731
    if name == "chain":
        x = t(host(args[0]), True)

        def run():
            y = x
            for _ in range(5):
                y = torch.sin(y) * 1.01
            return torch.autograd.grad(y.sum(), x)

        return run, lambda out: [out[0].numpy()]
    if name == "hvp":
        p = {k: t(v, True) for k, v in host_tree(args[0]).items()}
        x, v = t(host(args[1])), {k: t(a) for k, a in host_tree(args[2]).items()}
        keys = list(p)

        def run():
            u = _torch_mlp(p, x, torch.tanh)
            g = torch.autograd.grad(0.5 * (u * u).sum(), [p[k] for k in keys], create_graph=True)
            inner = sum((gk * v[k]).sum() for gk, k in zip(g, keys))
            return torch.autograd.grad(inner, [p[k] for k in keys])

        return run, lambda out: [o.numpy() for o in out]
    if name == "pinn":
        p = {k: t(v, True) for k, v in host_tree(args[0]).items()}
        x = t(host(args[1]), True)
        keys = list(p)

        def run():
            u = _torch_mlp(p, x, torch.tanh)
            (ux,) = torch.autograd.grad(u.sum(), x, create_graph=True)
            loss = (ux * ux).mean() + (u * u).mean()
            return (loss, *torch.autograd.grad(loss, [p[k] for k in keys]))

        return run, lambda out: [o.detach().numpy() for o in out]
    if name == "mlp":
        p = {k: t(v, True) for k, v in host_tree(args[0]).items()}
        x, target = t(host(args[1])), t(host(args[2]))
        keys = list(p)

        def run():
            prob = torch.softmax(_torch_mlp(p, x, torch.relu), dim=0)
            loss = -(target * torch.log(prob)).sum() / x.shape[1]
            return (loss, *torch.autograd.grad(loss, [p[k] for k in keys]))

        return run, lambda out: [o.detach().numpy() for o in out]
    if name.startswith("cnn"):
        F = torch.nn.functional
        p = {k: t(v, True) for k, v in host_tree(args[0]).items()}
        # (H, W, C, B) → NCHW; (KH, KW, C, F) → (F, C, KH, KW).
        x, target = t(host(args[1]).transpose(3, 2, 0, 1).copy()), t(host(args[2]))
        keys = list(p)

        def run():
            w = p["w"].permute(3, 2, 0, 1)
            y = F.conv2d(x, w, p["b"], padding=2)
            mean = y.mean(dim=(0, 2, 3), keepdim=True)
            var = ((y - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            y = (y - mean) / torch.sqrt(var + 1e-5) * p["sc"][None, :, None, None] + p["off"][None, :, None, None]
            y = F.max_pool2d(torch.relu(y), 2, 2)
            # MATLAB's flattening order (H fastest, then W, then C).
            features = y.permute(0, 1, 3, 2).reshape(y.shape[0], -1)
            prob = torch.softmax(features @ p["fw"].T + p["fb"], dim=1).T
            loss = -(target * torch.log(prob)).sum() / x.shape[0]
            return (loss, *torch.autograd.grad(loss, [p[k] for k in keys]))

        return run, lambda out: [o.detach().numpy() for o in out]
    raise KeyError(name)


def _jax_mlp(p, x, act):
    h, layers = x, len(p) // 2
    for k in range(layers):
        h = p[f"w{k}"] @ h + p[f"b{k}"][:, None]
        if k < layers - 1:
            h = act(h)
    return h


def _jax_fns(name, args):
    if name == "chain":

        def f(x):
            y = x
            for _ in range(5):
                y = jnp.sin(y) * 1.01
            return y.sum()

        fn, call_args = jax.jit(jax.grad(f)), (jnp.asarray(host(args[0])),)
        return (lambda: fn(*call_args).block_until_ready()), lambda out: [np.asarray(out)]
    p = {k: jnp.asarray(v) for k, v in host_tree(args[0]).items()}
    keys = list(p)
    if name == "hvp":
        x, v = jnp.asarray(host(args[1])), {k: jnp.asarray(a) for k, a in host_tree(args[2]).items()}

        def loss(p):
            u = _jax_mlp(p, x, jnp.tanh)
            return 0.5 * (u * u).sum()

        def inner(p):
            g = jax.grad(loss)(p)
            return sum((g[k] * v[k]).sum() for k in keys)

        fn = jax.jit(jax.grad(inner))
    elif name == "pinn":
        x = jnp.asarray(host(args[1]))

        def loss(p):
            u = _jax_mlp(p, x, jnp.tanh)
            ux = jax.grad(lambda y: _jax_mlp(p, y, jnp.tanh).sum())(x)
            return (ux * ux).mean() + (u * u).mean()

        fn = jax.jit(jax.value_and_grad(loss))
    elif name == "mlp":
        x, target = jnp.asarray(host(args[1])), jnp.asarray(host(args[2]))

        def loss(p):
            prob = jax.nn.softmax(_jax_mlp(p, x, jax.nn.relu), axis=0)
            return -(target * jnp.log(prob)).sum() / x.shape[1]

        fn = jax.jit(jax.value_and_grad(loss))
    elif name.startswith("cnn"):
        # (H, W, C, B) → NHWC; the weights (KH, KW, C, F) are HWIO already.
        x, target = jnp.asarray(host(args[1]).transpose(3, 0, 1, 2)), jnp.asarray(host(args[2]))

        def loss(p):
            y = jax.lax.conv_general_dilated(x, p["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["b"]
            mean = y.mean(axis=(0, 1, 2))
            var = ((y - mean) ** 2).mean(axis=(0, 1, 2))
            y = (y - mean) / jnp.sqrt(var + 1e-5) * p["sc"] + p["off"]
            y = jax.lax.reduce_window(jax.nn.relu(y), -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            # MATLAB's flattening order (H fastest, then W, then C).
            features = y.transpose(0, 3, 2, 1).reshape(y.shape[0], -1)
            prob = jax.nn.softmax(features @ p["fw"].T + p["fb"], axis=1).T
            return -(target * jnp.log(prob)).sum() / x.shape[0]

        fn = jax.jit(jax.value_and_grad(loss))
    else:
        raise KeyError(name)

    def run():
        return jax.block_until_ready(fn(p))

    def values(out):
        if isinstance(out, tuple):  # (loss, grads)
            return [np.asarray(out[0])] + [np.asarray(out[1][k]) for k in keys]
        return [np.asarray(out[k]) for k in keys]

    return run, values


def _dlarray_values(out):
    if isinstance(out, dict):
        return [host(out[k]) for k in out]
    if isinstance(out, (tuple, list)):
        return [v for o in out for v in _dlarray_values(o)]
    return [host(out)]


def _check(name, lib, got, want):
    assert len(got) == len(want), f"{name}: {lib} returns {len(got)} arrays, dlarray {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        err = float(np.max(np.abs(g.reshape(w.shape) - w))) if w.size else 0.0
        tol = 1e-8 if w.dtype == np.float64 else 2e-3
        assert err <= tol * scale, f"{name}: {lib}'s output {k} differs from dlarray's by {err:.3g}"


def measure(name, repeat):
    """{column: ms per call (or per op)} for one workload."""
    w = ACCELERATED[name]
    args = w.args()
    acc = dl.dlaccelerate(w.fn)
    t0 = time.perf_counter()
    want = _dlarray_values(dl.dlfeval(acc, *args))
    first = 1e3 * (time.perf_counter() - t0)
    row = {
        "eager": median_ms(lambda: dl.dlfeval(w.fn, *args), repeat) / w.ops,
        "accelerated": median_ms(lambda: dl.dlfeval(acc, *args), repeat) / w.ops,
        "first accelerated call (ms)": first,
    }
    if torch is not None:
        run, values = _torch_fns(name, args)
        _check(name, "PyTorch", values(run()), want)
        row["torch eager"] = median_ms(run, repeat) / w.ops
    if jax is not None:
        run, values = _jax_fns(name, args)
        t0 = time.perf_counter()
        _check(name, "JAX", values(run()), want)
        row["jax first call (ms)"] = 1e3 * (time.perf_counter() - t0)
        row["jax jit"] = median_ms(run, repeat) / w.ops
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=None, help="workload names (default: all)")
    args = parser.parse_args()
    units = {"chain": "µs per op"}
    results = {name: [] for name in (args.only or ACCELERATED)}
    for _ in range(args.runs):
        for name in results:
            # The tiny chain is timed 10× as often: its calls take microseconds.
            repeat = args.repeat * (10 if name == "chain" else 1)
            row = measure(name, repeat)
            if name == "chain":
                row = {k: (v * 1e3 if k in ("eager", "accelerated", "torch eager", "jax jit") else v) for k, v in row.items()}
            results[name].append(row)
    columns = list(next(iter(results.values()))[0])
    print(
        "workload | "
        + " | ".join(columns)
        + " | accelerated/eager"
        + (" | accelerated/jax" if jax else "")
        + (" | eager/torch" if torch else "")
    )
    for name, rows in results.items():
        med = {c: float(np.median([r[c] for r in rows])) for c in columns}
        cells = [f"{name} ({units.get(name, 'ms')})"] + [f"{med[c]:.3g}" for c in columns]

        def ratio(a, b):
            rs = [r[a] / r[b] for r in rows]
            return f"{np.median(rs):.2f}" + (f" ({min(rs):.2f}–{max(rs):.2f})" if len(rs) > 1 else "")

        cells.append(ratio("accelerated", "eager"))
        if jax:
            cells.append(ratio("accelerated", "jax jit"))
        if torch:
            cells.append(ratio("eager", "torch eager"))
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
