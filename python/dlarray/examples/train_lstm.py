"""Sequence classification with an LSTM: which waveform is hidden in a noisy sequence?

    python -m dlarray.examples.train_lstm [--epochs N] [--num-sequences K] [--seq-length T]

Each sequence has 2 channels and T steps (format ``CBT``): channel 1 is one of four
waveforms (sine, square, rising or falling sawtooth — the last two differ only in the
direction of time) with a random period, phase and amplitude plus
noise; channel 2 is pure noise. The network is MATLAB's sequence-to-label classifier,
``sequenceInputLayer → lstmLayer(output_mode="last") → fullyConnectedLayer →
softmaxLayer``, trained with a custom loop and ``adamupdate``; the script prints the loss
per epoch and the accuracy on held-out sequences.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Dict, Optional, Sequence

import numpy as np

from dlarray import (
    adamupdate,
    crossentropy,
    dlarray,
    dlfeval,
    dlgradient,
    dlnetwork,
    extractdata,
    fullyConnectedLayer,
    lstmLayer,
    sequenceInputLayer,
    softmaxLayer,
)

__all__ = ["CLASSES", "accuracy", "build_network", "main", "make_sequences", "model_loss", "train"]

CLASSES = ("sine", "square", "rising sawtooth", "falling sawtooth")


def make_sequences(n: int, length: int, rng: np.random.Generator):
    """``(X, labels)``: X of shape (2, n, length) for format CBT, labels 0..3."""
    labels = rng.integers(0, len(CLASSES), n)
    t = np.arange(length)[None, :]
    period = rng.uniform(6, 14, (n, 1))
    phase = rng.uniform(0, 1, (n, 1))
    u = (t / period + phase) % 1.0  # position within the period, in [0, 1)
    waves = np.stack([np.sin(2 * np.pi * u), np.where(u < 0.5, 1.0, -1.0), 2 * u - 1, 1 - 2 * u])
    signal = waves[labels, np.arange(n)] * rng.uniform(0.5, 1.5, (n, 1))
    X = np.stack([signal + 0.2 * rng.standard_normal((n, length)), rng.standard_normal((n, length))])
    return X.astype(np.float32), labels


def build_network(num_hidden: int = 32) -> dlnetwork:
    return dlnetwork([sequenceInputLayer(2), lstmLayer(num_hidden, output_mode="last"), fullyConnectedLayer(len(CLASSES)), softmaxLayer()])


def model_loss(net: dlnetwork, X: dlarray, T: dlarray):
    Y = net.forward(X)
    loss = crossentropy(Y, T)
    return loss, dlgradient(loss, net.learnables)


def accuracy(net: dlnetwork, X: np.ndarray, labels: np.ndarray) -> float:
    Y = extractdata(net.predict(dlarray(X, "CBT")))
    return float(np.mean(np.argmax(Y, axis=0) == labels))


def train(
    epochs: int = 8,
    num_sequences: int = 2048,
    seq_length: int = 40,
    batch_size: int = 64,
    learn_rate: float = 0.02,
    seed: int = 0,
    verbose: bool = True,
) -> Dict[str, Any]:
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # the initialisers draw from numpy's global state (MATLAB's rng)
    XTrain, YTrain = make_sequences(num_sequences, seq_length, rng)
    XTest, YTest = make_sequences(max(num_sequences // 4, 16), seq_length, rng)
    net = build_network()
    onehot = np.eye(len(CLASSES), dtype=np.float32)
    avg, avg_sq, iteration = None, None, 0
    start = time.perf_counter()
    losses = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(num_sequences)
        epoch_losses = []
        for s in range(0, num_sequences, batch_size):
            idx = order[s : s + batch_size]
            iteration += 1
            X = dlarray(XTrain[:, idx, :], "CBT")
            T = dlarray(onehot[YTrain[idx]], "BC")
            loss, grads = dlfeval(model_loss, net, X, T)
            net, avg, avg_sq = adamupdate(net, grads, avg, avg_sq, iteration, learn_rate)
            epoch_losses.append(float(loss))
        losses.append(float(np.mean(epoch_losses)))
        if verbose:
            print(f"epoch {epoch}: mean loss {losses[-1]:.4f}", flush=True)
    acc = accuracy(net, XTest, YTest)
    elapsed = time.perf_counter() - start
    if verbose:
        print(f"test accuracy: {100 * acc:.1f}% on {len(YTest)} sequences ({elapsed:.1f} s)")
    return {"net": net, "accuracy": acc, "epoch_losses": losses, "time": elapsed}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="train_lstm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--num-sequences", type=int, default=2048)
    parser.add_argument("--seq-length", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learn-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train(args.epochs, args.num_sequences, args.seq_length, args.batch_size, args.learn_rate, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
