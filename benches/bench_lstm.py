"""LSTM forward + backward timing (issue 3 target: sequence 50, batch 32, input 16, hidden
128, at most PyTorch CPU's time on the same machine). Prints PyTorch's time and the ratio
when PyTorch is installed.

    python benches/bench_lstm.py [--repeat N]
"""

from __future__ import annotations

import argparse

import dlarray as dl
import numpy as np
from compare_training import median_ms  # the same timing loop as the training comparison
from dlarray import dlarray, dlfeval, dlgradient, gru, lstm

T, B, C, H = 50, 32, 16, 128


def ours(repeat, op="lstm"):
    rng = np.random.default_rng(0)
    G = 4 if op == "lstm" else 3
    X = dlarray(rng.standard_normal((C, B, T)).astype(np.float32), "CBT")
    p = {
        "W": dlarray(rng.standard_normal((G * H, C)).astype(np.float32) * 0.1),
        "R": dlarray(rng.standard_normal((G * H, H)).astype(np.float32) * 0.1),
        "b": dlarray(np.zeros(G * H, np.float32)),
    }
    h0 = np.zeros((H, B), np.float32)

    def loss(p, X):
        if op == "lstm":
            Y, _, _ = lstm(X, h0, h0, p["W"], p["R"], p["b"])
        else:
            Y, _ = gru(X, h0, p["W"], p["R"], p["b"])
        y = dl.stripdims(Y).sum()
        return y, dlgradient(y, p)

    return median_ms(lambda: dlfeval(loss, p, X), repeat)


def torch_time(repeat, op="lstm"):
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    m = (torch.nn.LSTM if op == "lstm" else torch.nn.GRU)(C, H)
    x = torch.randn(T, B, C)

    def step():
        m.zero_grad()
        out, _ = m(x)
        out.sum().backward()

    return median_ms(step, repeat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    for op in ("lstm", "gru"):
        t = ours(args.repeat, op)
        ref = torch_time(args.repeat, op)
        line = f"{op} T={T} B={B} C={C} H={H} forward+backward: dlarray {t:.2f} ms"
        if ref is not None:
            line += f", PyTorch {ref:.2f} ms, ratio {t / ref:.2f}"
        print(line)


if __name__ == "__main__":
    main()
