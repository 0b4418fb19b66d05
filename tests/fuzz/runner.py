"""A fuzz run with a time budget, and its figures: how many calls, how each ended, and the
distinct failures with the shortest call that shows each."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .generators import select
from .harness import Case, FuzzJob, Pool, Settings
from .outcome import ALLOWED, FAILURES, signature


@dataclass
class Group:
    """Cases that failed the same way."""

    key: Tuple[str, ...]
    count: int
    case: Case  # the shortest reproducer
    result: Dict[str, Any]

    def describe(self) -> str:
        r = self.result
        where = r.get("rust_at") or r.get("where", "")
        head = f"[{r['cat']}] {r.get('op', '')} x{self.count}  {r.get('exc', '')}  {where}".rstrip()
        msg = " ".join(str(r.get("msg", "")).split())[:300]
        src = "\n".join("      " + line for line in self.case.src.splitlines())
        return f"  {head}\n      {msg}\n{src}"


@dataclass
class Report:
    seconds: float = 0.0
    seed: int = 0
    workers: int = 0
    cases: List[Tuple[Case, Dict[str, Any]]] = field(default_factory=list)
    generator_errors: List[str] = field(default_factory=list)

    def add(self, case: Case, res: Dict[str, Any]) -> None:
        self.cases.append((case, res))

    @property
    def counts(self) -> Counter:
        return Counter(r["cat"] for _, r in self.cases)

    @property
    def distinct_calls(self) -> int:
        return len({c.src for c, _ in self.cases})

    def naming(self) -> Tuple[int, int]:
        """(typed errors whose message names the op, typed errors)."""
        typed = [r for _, r in self.cases if r["cat"] == "typed"]
        return sum(1 for r in typed if r.get("names_op")), len(typed)

    def groups(self, categories: Sequence[str] = FAILURES, unnamed: bool = False) -> List[Group]:
        """Distinct outcomes in ``categories`` (typed errors not naming their op if ``unnamed``)."""
        found: Dict[Tuple[str, ...], Group] = {}
        for case, r in self.cases:
            if unnamed:
                if r["cat"] != "typed" or r.get("names_op"):
                    continue
            elif r["cat"] not in categories:
                continue
            key = signature(r) + ((r.get("rust_at", ""),) if r["cat"] in ("panic", "internal", "abort") else ())
            g = found.get(key)
            if g is None:
                found[key] = Group(key, 1, case, r)
            else:
                g.count += 1
                if len(case.src) < len(g.case.src):
                    g.case, g.result = case, r
        order = {c: i for i, c in enumerate(FAILURES)}
        return sorted(found.values(), key=lambda g: (order.get(g.result["cat"], 99), -g.count))

    def figures(self) -> Dict[str, Any]:
        c = self.counts
        named, typed = self.naming()
        allowed = Counter(r.get("reason", "") for _, r in self.cases if r["cat"] == "allowed")
        return {
            "seconds": round(self.seconds, 1),
            "seed": self.seed,
            "workers": self.workers,
            "calls": len(self.cases),
            "distinct_calls": self.distinct_calls,
            "ok": c["ok"],
            "typed": typed,
            "typed_naming_op": named,
            "typed_naming_op_fraction": round(named / typed, 4) if typed else 1.0,
            "allowed": c["allowed"],
            "allowed_by_reason": {k: allowed[k] for k in ALLOWED},
            "leaks": c["leak"],
            "internal": c["internal"],
            "panics": c["panic"],
            "aborts": c["abort"],
            "hangs": c["hang"],
            "wrong": c["wrong"],
            "badcases": c["badcase"],
            "distinct_failures": len(self.groups()),
            "by_family": dict(Counter(case.family for case, _ in self.cases)),
        }

    def text(self, show: int = 40, show_unnamed: int = 10) -> str:
        f = self.figures()
        reasons = ", ".join(f"{k} {v}" for k, v in f["allowed_by_reason"].items())
        lines = [
            f"dlarray fuzz: {f['seconds']} s, seed {f['seed']}, {f['workers']} workers",
            f"  calls                 {f['calls']:>8}  ({f['distinct_calls']} distinct)",
            f"  ok                    {f['ok']:>8}",
            f"  typed errors          {f['typed']:>8}  (naming the op: {f['typed_naming_op']}, {100 * f['typed_naming_op_fraction']:.1f}%)",
            f"  other allowed errors  {f['allowed']:>8}  ({reasons})",
            f"  untyped leaks         {f['leaks']:>8}",
            f"  internal errors       {f['internal']:>8}  (Rust panics caught as InternalError)",
            f"  panics                {f['panics']:>8}",
            f"  aborts                {f['aborts']:>8}",
            f"  hangs                 {f['hangs']:>8}",
        ]
        if f["wrong"] or f["badcases"]:
            lines.append(f"  wrong results         {f['wrong']:>8}")
            lines.append(f"  bad cases (fuzzer)    {f['badcases']:>8}")
        groups = self.groups()
        lines.append(f"distinct failures: {len(groups)}")
        lines += [g.describe() for g in groups[:show]]
        if len(groups) > show:
            lines.append(f"  ... and {len(groups) - show} more (--show, --json)")
        unnamed = self.groups(unnamed=True)
        if unnamed and show_unnamed:
            lines.append(f"typed errors that do not name their op: {len(unnamed)} distinct")
            lines += [g.describe() for g in unnamed[:show_unnamed]]
        for e in self.generator_errors[:3]:
            lines.append("generator error:\n" + e)
        return "\n".join(lines)

    def to_json(self) -> Dict[str, Any]:
        def dump(groups: List[Group]) -> List[Dict[str, Any]]:
            return [{"count": g.count, "src": g.case.src, "ops": list(g.case.ops), "family": g.case.family, **g.result} for g in groups]

        return {
            "figures": self.figures(),
            "failures": dump(self.groups()),
            "unnamed": dump(self.groups(unnamed=True)),
            "generator_errors": self.generator_errors,
        }


def fuzz(
    seconds: float,
    seed: int = 0,
    workers: int = 2,
    families: Optional[Sequence[str]] = None,
    job_size: int = 60,
    settings: Optional[Settings] = None,
    progress: bool = False,
) -> Report:
    """Fuzzes for ``seconds`` (the jobs under way then still finish) and reports."""
    settings = settings or Settings()
    names = select(families)
    report = Report(seed=seed, workers=workers)
    start = time.monotonic()
    deadline = start + seconds
    last = [start]

    def on_result(case: Case, res: Dict[str, Any]) -> None:
        report.add(case, res)
        now = time.monotonic()
        if progress and now - last[0] >= 10:
            last[0] = now
            c = report.counts
            print(
                f"  {now - start:6.0f} s  {len(report.cases)} calls, failures: " + ", ".join(f"{k} {c[k]}" for k in FAILURES if c[k]),
                file=sys.stderr,
                flush=True,
            )

    pool = Pool(workers, settings, on_result, deadline)
    k, next_id = 0, 0
    try:
        while time.monotonic() < deadline:
            pool.submit(FuzzJob(seed * 1_000_003 + k, job_size, names, next_id))
            k += 1
            next_id += job_size
    finally:
        pool.close()
    report.seconds = time.monotonic() - start
    report.generator_errors = pool.errors
    return report


def write_json(report: Report, path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(report.to_json(), f, indent=1)
    os.replace(tmp, path)
