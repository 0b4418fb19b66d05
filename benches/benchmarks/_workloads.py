"""Every benchmark workload, by op family, shared by the asv suites and compare_ops.py."""

from __future__ import annotations

from typing import Dict, List

from ._harness import Workload
from ._wl_sequence import ATTENTION, EMBED, RECURRENT
from ._wl_spatial import ACTIVATION, CONV, NORM, POOL
from ._wl_training import DROPOUT, FULLYCONNECT, LOSS, OPTIMIZER

FAMILIES: Dict[str, List[Workload]] = {
    "conv": CONV,
    "pool": POOL,
    "norm": NORM,
    "activation": ACTIVATION,
    "recurrent": RECURRENT,
    "attention": ATTENTION,
    "embed": EMBED,
    "loss": LOSS,
    "fullyconnect": FULLYCONNECT,
    "dropout": DROPOUT,
    "optimizer": OPTIMIZER,
}

WORKLOADS: Dict[str, Workload] = {w.name: w for ws in FAMILIES.values() for w in ws}


def names(family: str) -> List[str]:
    return [w.name for w in FAMILIES[family]]
