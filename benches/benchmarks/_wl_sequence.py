"""Workloads of the sequence op families: lstm, gru, attention, embed.

dlarray data is formatted "CBT" (C, B, T); PyTorch's is (T, B, C). MATLAB's gate orders
(lstm i, f, g, o; gru r, z, h̃) are PyTorch's, so the same weight matrices serve both; the
gru runs in "recurrent-bias-after-multiplication" mode, which is PyTorch's GRU.
"""

from __future__ import annotations

import dlarray as dl
import numpy as np

from ._harness import Workload, dlarray_phases, f32, normal, tbc, tensor, torch_modules, torch_phases

T, B, C, HIDDEN = 50, 32, 16, 128


def _recurrent(kind):
    gates = 4 if kind == "lstm" else 3
    n_bias = 4 if kind == "lstm" else 6  # gru: input biases then recurrent biases (PyTorch's b_ih, b_hh)

    def data(rng):
        return {
            "X": normal(rng, C, B, T),
            "W": normal(rng, gates * HIDDEN, C, scale=0.1),
            "R": normal(rng, gates * HIDDEN, HIDDEN, scale=0.1),
            "b": normal(rng, n_bias * HIDDEN, scale=0.1),
        }

    def ours(d):
        h0 = np.zeros((HIDDEN, B), f32)
        if kind == "lstm":
            fn = lambda p: dl.lstm(p["X"], h0, h0, p["W"], p["R"], p["b"])[0]  # noqa: E731
        else:
            fn = lambda p: dl.gru(
                p["X"],
                h0,
                p["W"],
                p["R"],
                p["b"],  # noqa: E731
                reset_gate_mode="recurrent-bias-after-multiplication",
            )[0]
        return dlarray_phases(fn, {"X": dl.dlarray(d["X"], "CBT"), "W": d["W"], "R": d["R"], "b": d["b"]})

    def theirs(d):
        torch, _ = torch_modules()
        module = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(C, HIDDEN)
        b = d["b"]
        with torch.no_grad():
            module.weight_ih_l0.copy_(tensor(d["W"]))
            module.weight_hh_l0.copy_(tensor(d["R"]))
            if kind == "lstm":  # MATLAB has one bias; PyTorch adds two
                module.bias_ih_l0.copy_(tensor(b))
                module.bias_hh_l0.zero_()
            else:
                module.bias_ih_l0.copy_(tensor(b[: 3 * HIDDEN]))
                module.bias_hh_l0.copy_(tensor(b[3 * HIDDEN :]))
        leaves = {"X": tensor(tbc(d["X"])), **dict(module.named_parameters())}
        return torch_phases(lambda p: module(p["X"])[0], leaves)

    return Workload("recurrent", f"{kind} T{T} B{B} C{C} H{HIDDEN}", data, ours, theirs)


RECURRENT = [_recurrent("lstm"), _recurrent("gru")]


# ----- attention ---------------------------------------------------------------------------------

A_C, A_T, HEADS = 256, 64, 4


def _attention_data(rng):
    return {k: normal(rng, A_C, B, A_T) for k in ("Q", "K", "V")}


def _attention_ours(d):
    leaves = {k: dl.dlarray(v, "CBT") for k, v in d.items()}
    return dlarray_phases(lambda p: dl.attention(p["Q"], p["K"], p["V"], HEADS), leaves)


def _attention_theirs(d):
    _, F = torch_modules()
    head = A_C // HEADS

    def split(x):  # (T, B, C) → (B, heads, T, d): head k holds channels k·d … (k+1)·d − 1
        return x.reshape(A_T, B, HEADS, head).permute(1, 2, 0, 3)

    def fn(p):
        y = F.scaled_dot_product_attention(split(p["Q"]), split(p["K"]), split(p["V"]))
        return y.permute(2, 0, 1, 3).reshape(A_T, B, A_C)

    return torch_phases(fn, {k: tensor(tbc(v)) for k, v in d.items()})


ATTENTION = [Workload("attention", f"attention heads {HEADS} C{A_C} B{B} T{A_T}", _attention_data, _attention_ours, _attention_theirs)]


# ----- embed -------------------------------------------------------------------------------------

WORDS, DIM = 10_000, 128


def _embed_data(rng):
    return {"idx": rng.integers(0, WORDS, size=(B, T)).astype(f32), "W": normal(rng, DIM, WORDS, scale=0.1)}


def _embed_ours(d):
    X = dl.dlarray(d["idx"], "BT")
    return dlarray_phases(lambda p: dl.embed(X, p["W"]), {"W": d["W"]})


def _embed_theirs(d):
    torch, F = torch_modules()
    idx = torch.from_numpy(d["idx"].T.astype(np.int64))  # (T, B)
    return torch_phases(lambda p: F.embedding(idx, p["W"]), {"W": tensor(d["W"].T)})


EMBED = [Workload("embed", f"embed {WORDS} words dim {DIM} B{B} T{T}", _embed_data, _embed_ours, _embed_theirs)]
