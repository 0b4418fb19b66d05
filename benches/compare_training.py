"""Training steps side by side with PyTorch (when importable), on this machine, in one run.

(a) The seed network of design.md §7 (conv 5x5x20 same -> batchnorm -> relu -> maxpool 2/2 ->
    fullyconnect 10 -> softmax -> crossentropy), batch 128, forward + backward (ms/step).
(b) LSTM, sequence 50, batch 32, input 16, hidden 128, forward + backward (ms).
(c) MLP 784-512-512-10 with relu, softmax + crossentropy, batch 256: forward + backward +
    adamupdate (ms/step).

    python benches/compare_training.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

import dlarray as dl
import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the comparison is optional
    torch = None


def median_ms(fn, repeat):
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


rng = np.random.default_rng(0)
f32 = np.float32


def seed_ours():
    X = dl.dlarray(rng.random((28, 28, 1, 128), dtype=f32), "SSCB")
    T = dl.dlarray(np.eye(10, dtype=f32)[rng.integers(0, 10, 128)], "BC")
    p = {
        "w": rng.standard_normal((5, 5, 1, 20)).astype(f32) * 0.1,
        "b": np.zeros(20, f32),
        "off": np.zeros(20, f32),
        "sc": np.ones(20, f32),
        "fw": rng.standard_normal((10, 3920)).astype(f32) * 0.01,
        "fb": np.zeros(10, f32),
    }
    p = {k: dl.dlarray(v) for k, v in p.items()}

    def loss(p, X, T):
        Y = dl.dlconv(X, p["w"], p["b"], padding="same")
        Y, _, _ = dl.batchnorm(Y, p["off"], p["sc"], np.zeros(20, f32), np.ones(20, f32), training=True)
        Y = dl.maxpool(dl.relu(Y), 2, stride=2)
        L = dl.crossentropy(dl.softmax(dl.fullyconnect(Y, p["fw"], p["fb"])), T)
        return dl.dlgradient(L, p)

    return lambda: dl.dlfeval(loss, p, X, T)


def seed_torch():
    x = torch.rand(128, 1, 28, 28)
    t = torch.randint(0, 10, (128,))
    conv, bn, fc = torch.nn.Conv2d(1, 20, 5, padding=2), torch.nn.BatchNorm2d(20), torch.nn.Linear(3920, 10)
    params = list(conv.parameters()) + list(bn.parameters()) + list(fc.parameters())

    def step():
        y = F.max_pool2d(F.relu(bn(conv(x))), 2)
        loss = F.cross_entropy(fc(y.flatten(1)), t)
        torch.autograd.grad(loss, params)

    return step


def lstm_ours():
    X = dl.dlarray(rng.standard_normal((16, 32, 50)).astype(f32), "CBT")
    p = {
        "W": dl.dlarray(rng.standard_normal((512, 16)).astype(f32) * 0.1),
        "R": dl.dlarray(rng.standard_normal((512, 128)).astype(f32) * 0.1),
        "b": dl.dlarray(np.zeros(512, f32)),
    }
    h0 = np.zeros((128, 32), f32)

    def loss(p, X):
        Y, _, _ = dl.lstm(X, h0, h0, p["W"], p["R"], p["b"])
        y = dl.stripdims(Y).sum()
        return dl.dlgradient(y, p)

    return lambda: dl.dlfeval(loss, p, X)


def lstm_torch():
    m = torch.nn.LSTM(16, 128)
    x = torch.randn(50, 32, 16)

    def step():
        y, _ = m(x)
        torch.autograd.grad(y.sum(), list(m.parameters()))

    return step


def mlp_ours():
    sizes = [784, 512, 512, 10]
    p = {}
    for i in range(3):
        p[f"w{i}"] = dl.dlarray(rng.standard_normal((sizes[i + 1], sizes[i])).astype(f32) * 0.05)
        p[f"b{i}"] = dl.dlarray(np.zeros(sizes[i + 1], f32))
    X = dl.dlarray(rng.random((784, 256), dtype=f32), "CB")
    T = dl.dlarray(np.eye(10, dtype=f32)[rng.integers(0, 10, 256)], "BC")
    state = {"p": p, "m": None, "v": None, "it": 0}

    def loss(p, X, T):
        y = dl.relu(dl.fullyconnect(X, p["w0"], p["b0"]))
        y = dl.relu(dl.fullyconnect(y, p["w1"], p["b1"]))
        L = dl.crossentropy(dl.softmax(dl.fullyconnect(y, p["w2"], p["b2"])), T)
        return dl.dlgradient(L, p)

    def step():
        g = dl.dlfeval(loss, state["p"], X, T)
        state["it"] += 1
        state["p"], state["m"], state["v"] = dl.adamupdate(state["p"], g, state["m"], state["v"], state["it"])

    return step


def mlp_torch():
    m = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )
    opt = torch.optim.Adam(m.parameters())
    x, t = torch.rand(256, 784), torch.randint(0, 10, (256,))

    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), t).backward()
        opt.step()

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    if torch is not None:
        torch.manual_seed(0)
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'workload':34s} {'dlarray ms':>11s} {'torch ms':>9s} {'ratio':>6s}")
    for name, ours, theirs in [
        ("seed network step (batch 128)", seed_ours, seed_torch),
        ("lstm T50 B32 C16 H128 fwd+bwd", lstm_ours, lstm_torch),
        ("MLP 784-512-512-10 adam (b 256)", mlp_ours, mlp_torch),
    ]:
        a = median_ms(ours(), args.repeat)
        if torch is None:
            print(f"{name:34s} {a:11.2f} {'-':>9s} {'-':>6s}")
        else:
            b = median_ms(theirs(), args.repeat)
            print(f"{name:34s} {a:11.2f} {b:9.2f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
