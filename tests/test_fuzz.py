"""The bad-input fuzzer as tests: every corpus entry (each distinct failure found so far)
replayed in a subprocess, and a time-boxed fuzz run that must find no untyped error, Rust
panic, abort or hang.

``DLARRAY_FUZZ_SECONDS`` sets the fuzz budget (default 60; 0 skips the run),
``DLARRAY_FUZZ_SEED`` its seed and ``DLARRAY_FUZZ_WORKERS`` its subprocesses (default: up to
2). Corpus entries whose fix is still pending elsewhere have ids starting with ``pending-``:
``-k "not pending"`` leaves them out.
"""

import os

import pytest
from fuzz.corpus import CORPUS, verdict
from fuzz.harness import Case, Settings, run_cases
from fuzz.outcome import FAILURES
from fuzz.runner import fuzz

_WORKERS = int(os.environ.get("DLARRAY_FUZZ_WORKERS", str(min(2, os.cpu_count() or 1))))


@pytest.fixture(scope="module")
def corpus_results():
    cases = [Case(e.src, e.ops, "corpus") for e in CORPUS]
    results = run_cases(cases, workers=_WORKERS, batch=40, settings=Settings(timeout=30))
    return {e.name: r for e, r in zip(CORPUS, results)}


@pytest.mark.parametrize("entry", [pytest.param(e, id=("pending-" if e.pending else "") + e.name) for e in CORPUS])
def test_corpus_entry(entry, corpus_results):
    problem = verdict(entry, corpus_results[entry.name])
    owner = f" (pending: {entry.pending})" if entry.pending else ""
    assert not problem, f"{entry.name}{owner}: {problem}\n--- call ---\n{entry.src}\n--- was: {entry.was}"


def test_fuzz_finds_no_crash_or_untyped_error():
    seconds = float(os.environ.get("DLARRAY_FUZZ_SECONDS", "60"))
    if seconds <= 0:
        pytest.skip("DLARRAY_FUZZ_SECONDS=0")
    report = fuzz(seconds, seed=int(os.environ.get("DLARRAY_FUZZ_SEED", "0")), workers=_WORKERS)
    counts = report.counts
    assert len(report.cases) > 0 and not report.generator_errors, report.text()
    bad = {c: counts[c] for c in FAILURES if counts[c]}
    assert not bad, f"{bad}\n{report.text(show=25, show_unnamed=0)}"
