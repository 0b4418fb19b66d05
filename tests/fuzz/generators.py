"""All case families, and drawing a batch of cases from them with hypothesis.

Hypothesis drives the generation only (no shrinking, no example database): each batch is one
run of a ``@given`` function that collects the cases it is handed, under a seed, so a run is
reproducible from its seed.
"""

from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Sequence

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from .gen_array import ARRAY_FAMILIES
from .gen_autodiff import AUTODIFF_FAMILIES
from .gen_network import NETWORK_FAMILIES
from .gen_nn import NN_FAMILIES
from .harness import Case

FAMILIES: Dict[str, st.SearchStrategy[Case]] = {**ARRAY_FAMILIES, **NN_FAMILIES, **NETWORK_FAMILIES, **AUTODIFF_FAMILIES}
#: Families grouped as the CLI's ``--families`` accepts them.
GROUPS = {
    "array": sorted(ARRAY_FAMILIES),
    "nn": sorted(NN_FAMILIES),
    "network": sorted(NETWORK_FAMILIES),
    "autodiff": sorted(AUTODIFF_FAMILIES),
}
#: Share of the cases each group gets when all are drawn (the groups differ in size).
WEIGHTS = {"array": 30, "nn": 40, "network": 15, "autodiff": 15}


def select(names: Optional[Sequence[str]]) -> List[str]:
    """Family names from a list of family or group names (all when empty)."""
    if not names:
        return sorted(FAMILIES)
    out: List[str] = []
    for n in names:
        if n in GROUPS:
            out += GROUPS[n]
        elif n in FAMILIES:
            out.append(n)
        else:
            raise ValueError(f"unknown family {n!r}; families: {sorted(FAMILIES)}, groups: {sorted(GROUPS)}")
    return sorted(set(out))


def _weighted_one_of(parts) -> st.SearchStrategy[Case]:
    total = sum(w for w, _ in parts)
    bounds, acc = [], 0
    for w, strat in parts:
        acc += w
        bounds.append((acc, strat))

    def pick(k: int) -> st.SearchStrategy[Case]:
        return next(strat for bound, strat in bounds if k < bound)

    return st.integers(0, total - 1).flatmap(pick)


def draw_cases(n: int, seed: int, families: Sequence[str]) -> List[Case]:
    """About ``n`` cases drawn evenly over ``families`` (fewer when hypothesis runs out)."""
    chosen = set(families)
    parts = []
    for group, names in GROUPS.items():
        members = [FAMILIES[f].map(lambda c, f=f: Case(c.src, c.ops, f)) for f in names if f in chosen]
        if members:
            parts.append((WEIGHTS[group], st.one_of(members)))
    strategy = _weighted_one_of(parts)
    out: List[Case] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=n, database=None, phases=[Phase.generate], deadline=None, suppress_health_check=list(HealthCheck), derandomize=False
    )
    @given(strategy)
    def collect(case: Case) -> None:
        out.append(case)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    return out
