"""Bad-input fuzzer for dlarray's public API.

Hypothesis draws malformed calls (``gen_*.py``, from the pieces in ``values.py``); worker
subprocesses run them (``worker.py``, ``harness.py``) so that Rust panics, aborts and hangs
are outcomes rather than crashes; ``outcome.py`` classifies each result and ``runner.py``
reports the figures. ``corpus.py`` keeps every distinct failure found, replayed by
``tests/test_fuzz.py``. Run ``python -m tests.fuzz --seconds 120`` from the repository root.
"""
