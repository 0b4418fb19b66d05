"""Peak memory of ``load`` and ``save`` on a checkpoint of about 200 MB (a network's
learnables).

A child process loads the checkpoint and keeps the result (or, for ``save``, saves a network
it loaded before measuring); this process samples the child's
``/proc/<pid>/status`` every millisecond (independent of the child's GIL) and reports the
growth of its anonymous memory (``RssAnon``: the process's own allocations) and of its whole
resident set (``VmRSS``, which also counts pages of a memory-mapped file while they are
mapped; those are the page cache's, shared and reclaimable). Linux only.

    python benches/checkpoint_memory.py [--mb 200]
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile

CHILD = r"""
import sys, time
import dlarray
from dlarray import load, save
path, mode = sys.argv[1:]
net = load(path)["net"] if mode == "save" else None
time.sleep(0.2)
print("ready", flush=True)
sys.stdin.readline()
if mode == "save":
    save(path + ".copy", net)
else:
    ckpt = load(path)
print("done", flush=True)
sys.stdin.readline()
"""


def status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


def make_checkpoint(path: str, mb: int) -> int:
    import numpy as np
    from dlarray import dlnetwork, featureInputLayer, fullyConnectedLayer, save

    width = 1000
    n_layers = 5
    out = mb * 2**20 // (8 * width * n_layers)  # float32 weights (out, width) and (width, out) per pair
    layers = [featureInputLayer(width)]
    for i in range(n_layers):
        layers += [fullyConnectedLayer(out, name=f"fc{i}"), fullyConnectedLayer(width, name=f"back{i}")]
    np.random.seed(0)
    net = dlnetwork(layers)
    save(path, net)
    return os.path.getsize(path)


def measure(path: str, mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", CHILD, path, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "ready"
        base = status(child.pid)
        peak = dict(base)
        child.stdin.write("go\n")
        child.stdin.flush()
        while not select.select([child.stdout], [], [], 0.001)[0]:
            for k, v in status(child.pid).items():
                peak[k] = max(peak[k], v)
        assert child.stdout.readline().strip() == "done"
        after = status(child.pid)
        child.stdin.write("exit\n")
        child.stdin.flush()
    finally:
        if child.poll() is None:
            child.stdin.close()
        child.wait(timeout=60)
    return {
        "peak_anon_growth": peak["RssAnon"] - base["RssAnon"],
        "kept_anon_growth": after["RssAnon"] - base["RssAnon"],
        "peak_rss_growth": peak["VmRSS"] - base["VmRSS"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ckpt.safetensors")
        size = make_checkpoint(path, args.mb)
        print(f"checkpoint: {size / 2**20:.1f} MiB")
        for mode in ("load", "save"):
            runs = [measure(path, mode) for _ in range(args.repeat)]
            for key in runs[0]:
                value = min(r[key] for r in runs)
                print(f"{mode} {key:>18}: {value / 2**20:7.1f} MiB  ({value / size:.2f}x the file)")


if __name__ == "__main__":
    main()
