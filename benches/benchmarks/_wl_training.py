"""Workloads of the training-side op families: losses, fullyconnect, dropout, optimizers.

Losses take MATLAB's definitions (crossentropy of probabilities, half-squared mse, sums
divided by the batch size); the PyTorch side computes the same numbers with its own ops.
Optimizers update ≈1 M float32 parameters held in a dict of four arrays; dlarray returns
new parameters and state (value semantics), PyTorch updates in place (``foreach=True``).
"""

from __future__ import annotations

import dlarray as dl
import numpy as np

from ._harness import Workload, dlarray_phases, f32, nchw, normal, tensor, torch_modules, torch_phases

# ----- losses -------------------------------------------------------------------------------------

CLASSES, N = 1000, 256  # classification: probabilities (C, B)
OUTPUTS = 100  # regression: (C, B)


def _probabilities(rng):
    z = normal(rng, CLASSES, N)
    e = np.exp(z - z.max(axis=0))
    return (e / e.sum(axis=0)).astype(f32)


def _loss(kind):
    classify = kind in ("crossentropy", "indexcrossentropy")

    def data(rng):
        if classify:
            labels = rng.integers(0, CLASSES, size=N)
            return {"Y": _probabilities(rng), "labels": labels, "T": np.eye(CLASSES, dtype=f32)[:, labels]}
        return {"Y": normal(rng, OUTPUTS, N), "T": normal(rng, OUTPUTS, N)}

    def ours(d):
        T = dl.dlarray(d["T"], "CB")
        fns = {
            "crossentropy": lambda p: dl.crossentropy(p["Y"], T),
            "indexcrossentropy": lambda p: dl.indexcrossentropy(p["Y"], d["labels"]),
            "mse": lambda p: dl.mse(p["Y"], T),
            "huber": lambda p: dl.huber(p["Y"], T),
            "l1loss": lambda p: dl.l1loss(p["Y"], T),
            "l2loss": lambda p: dl.l2loss(p["Y"], T),
        }
        return dlarray_phases(fns[kind], {"Y": dl.dlarray(d["Y"], "CB")})

    def theirs(d):
        torch, F = torch_modules()
        T = tensor(d["T"].T)  # (B, C)
        fns = {
            "crossentropy": lambda p: -(T * torch.log(p["Y"])).sum() / N,
            "indexcrossentropy": lambda p: F.nll_loss(torch.log(p["Y"]), labels, reduction="sum") / N,
            "mse": lambda p: F.mse_loss(p["Y"], T, reduction="sum") * 0.5 / N,
            "huber": lambda p: F.huber_loss(p["Y"], T, reduction="sum", delta=1.0) / N,
            "l1loss": lambda p: F.l1_loss(p["Y"], T, reduction="sum") / N,
            "l2loss": lambda p: F.mse_loss(p["Y"], T, reduction="sum") / N,
        }
        labels = torch.from_numpy(d["labels"].astype(np.int64)) if classify else None
        return torch_phases(fns[kind], {"Y": tensor(d["Y"].T)})

    return Workload("loss", f"{kind} C{CLASSES if classify else OUTPUTS} B{N}", data, ours, theirs)


LOSS = [_loss(k) for k in ("crossentropy", "indexcrossentropy", "mse", "huber", "l1loss", "l2loss")]


# ----- fullyconnect -------------------------------------------------------------------------------


def _fc_features(name, shape, out):
    """fullyconnect from "CB" features, or from "SSCB" maps flattened in MATLAB's column-major
    (H, W, C) order — PyTorch's flatten of NCHW is (C, H, W) row-major, so its weight matrix is
    dlarray's with the columns permuted."""
    fmt = "CB" if len(shape) == 2 else "SSCB"

    def data(rng):
        n_in = int(np.prod(shape[:-1]))
        return {"X": normal(rng, *shape), "W": normal(rng, out, n_in, scale=n_in**-0.5), "b": normal(rng, out, scale=0.1)}

    def ours(d):
        leaves = {"X": dl.dlarray(d["X"], fmt), "W": d["W"], "b": d["b"]}
        return dlarray_phases(lambda p: dl.fullyconnect(p["X"], p["W"], p["b"]), leaves)

    def theirs(d):
        _, F = torch_modules()
        if fmt == "CB":
            x, w = d["X"].T, d["W"]
        else:
            h, wd, c, _ = shape  # column (h + H·(w + W·c)) of dlarray's matrix is row-major (c, w, h)
            x = nchw(d["X"])
            w = d["W"].reshape(out, c, wd, h).transpose(0, 1, 3, 2).reshape(out, -1)
        leaves = {"X": tensor(x), "W": tensor(w), "b": tensor(d["b"])}
        return torch_phases(lambda p: F.linear(p["X"].flatten(1), p["W"], p["b"]), leaves)

    return Workload("fullyconnect", name, data, ours, theirs)


FULLYCONNECT = [
    _fc_features("fullyconnect 784->512 B256", (784, 256), 512),
    _fc_features("fullyconnect SSCB 14x14x32->128 B32", (14, 14, 32, 32), 128),
]


# ----- dropout ------------------------------------------------------------------------------------


def _dropout_data(rng):
    return {"X": normal(rng, 28, 28, 32, 32)}


def _dropout_ours(d):
    rng = np.random.default_rng(1)  # a fresh mask every call, drawn from a seeded generator
    return dlarray_phases(lambda p: dl.dropout(p["X"], 0.5, seed=rng), {"X": dl.dlarray(d["X"], "SSCB")})


def _dropout_theirs(d):
    torch, F = torch_modules()
    torch.manual_seed(1)
    return torch_phases(lambda p: F.dropout(p["X"], 0.5, training=True), {"X": tensor(nchw(d["X"]))})


DROPOUT = [Workload("dropout", "dropout p0.5 C32 28x28 B32", _dropout_data, _dropout_ours, _dropout_theirs, comparable=False)]


# ----- optimizers ---------------------------------------------------------------------------------

PARAMETER_SHAPES = {"fc1_w": (1024, 784), "fc1_b": (1024,), "fc2_w": (192, 1024), "fc2_b": (192,)}  # 1 000 640


def _optimizer_data(rng):
    data = {}
    for k, shape in PARAMETER_SHAPES.items():
        data[k] = normal(rng, *shape, scale=0.05)
        data["grad_" + k] = normal(rng, *shape, scale=0.01)
    return data


def _split(d):
    params = {k: d[k] for k in PARAMETER_SHAPES}
    grads = {k: d["grad_" + k] for k in PARAMETER_SHAPES}
    return params, grads


def _optimizer(kind):
    def ours(d):
        params, grads = _split(d)
        state = {"p": {k: dl.dlarray(v) for k, v in params.items()}, "s1": None, "s2": None, "it": 0}
        g = {k: dl.dlarray(v) for k, v in grads.items()}

        def step():
            if kind == "adamupdate":
                state["it"] += 1
                state["p"], state["s1"], state["s2"] = dl.adamupdate(state["p"], g, state["s1"], state["s2"], state["it"])
            elif kind == "sgdmupdate":
                state["p"], state["s1"] = dl.sgdmupdate(state["p"], g, state["s1"], 0.01, 0.9)
            else:
                state["p"], state["s1"] = dl.rmspropupdate(state["p"], g, state["s1"], 0.001, 0.9, 1e-8)

        return {"step": step}

    def theirs(d):
        torch, _ = torch_modules()
        params, grads = _split(d)
        leaves = [torch.nn.Parameter(tensor(params[k].copy())) for k in PARAMETER_SHAPES]
        for p, k in zip(leaves, PARAMETER_SHAPES):
            p.grad = tensor(grads[k])
        opt = {
            "adamupdate": lambda: torch.optim.Adam(leaves, lr=0.001, foreach=True),
            "sgdmupdate": lambda: torch.optim.SGD(leaves, lr=0.01, momentum=0.9, foreach=True),
            "rmspropupdate": lambda: torch.optim.RMSprop(leaves, lr=0.001, alpha=0.9, eps=1e-8, foreach=True),
        }[kind]()
        return {"step": opt.step}

    return Workload("optimizer", f"{kind} 1.0M params (4 arrays)", _optimizer_data, ours, theirs, comparable=False)


OPTIMIZER = [_optimizer(k) for k in ("adamupdate", "sgdmupdate", "rmspropupdate")]
