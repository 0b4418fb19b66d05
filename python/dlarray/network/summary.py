"""The text summary ``print(net)`` shows (MATLAB's ``summary``/``analyzeNetwork`` table):
one row per layer with its name, type, activation sizes and learnable sizes."""

from __future__ import annotations

from typing import List

from .._core import dlarray

__all__ = ["summary"]


def _size(shape, fmt: str) -> str:
    # Activations of one observation: drop the batch dim (always 1 in the example pass).
    dims = [str(s) for s, c in zip(shape, fmt) if c != "B"] if fmt else [str(s) for s in shape]
    kept = "".join(c for c in fmt if c != "B")
    return "x".join(dims) + (f" ({kept})" if kept else "")


def summary(net) -> str:
    learn = net.learnables
    total = sum(int(v.size) for v in learn.value if isinstance(v, dlarray))
    status = "initialized" if net.initialized else "not initialized"
    n_in, n_out = len(net.input_names), len(net.output_names)
    head = (
        f"dlnetwork with {len(net._layers)} layers, {n_in} input{'s' * (n_in != 1)}, "
        f"{n_out} output{'s' * (n_out != 1)}, {total:,} learnables ({status})"
    )
    acts = net._activations
    if acts is None and net.initialized and not any(p[1] >= 0 for p in net._input_ports()):
        try:
            values, _ = net._clone()._run([net._layers[p[0]].example() for p in net._input_ports()], training=False)
            acts = net._activations = {n: [(tuple(v.shape), v.fmt) for v in outs] for n, outs in values.items()}
        except Exception:  # noqa: BLE001 - a summary never fails because a layer cannot run
            acts = None
    rows: List[List[str]] = []
    for i, (name, layer) in enumerate(net._layers.items(), start=1):
        act = ", ".join(_size(s, f) for s, f in acts.get(name, [])) if acts else ""
        params = []
        inner = getattr(layer, "_network", None)
        if inner is not None and len(inner.learnables):  # a network layer: its network's learnables, counted
            values = [v for v in inner.learnables.value if isinstance(v, dlarray)]
            params.append(f"{len(values)} nested ({sum(int(v.size) for v in values):,} values)" if values else "nested (unset)")
        for p in layer.learnable_parameters:
            v = getattr(layer, p, None)
            if v is None:
                params.append(f"{p} (unset)")
            elif hasattr(v, "shape"):
                params.append(f"{p} {'x'.join(map(str, v.shape))}")
            else:  # a value the user assigned that is not an array; the summary still shows it
                params.append(f"{p} {type(v).__name__}")
        rows.append([str(i), name, layer.description, act or "-", ", ".join(params) or "-"])
    header = ["#", "Name", "Type", "Activations", "Learnables"]
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]
    fmt_row = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    lines = [head, "", fmt_row(header), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in rows]
    if net.connections and any(layer.num_inputs > 1 for layer in net._layers.values()):
        lines += ["", "Connections: " + ", ".join(f"{c.source} -> {c.destination}" for c in net.connections)]
    lines += ["", f"Inputs: {net.input_names}   Outputs: {net.output_names}"]
    return "\n".join(lines)
