"""Shared pytest setup: makes ``tests/`` importable so every test can ``from gradcheck import
gradcheck, gradgradcheck``, and keeps the training monitor from opening desktop windows."""

import os
import pathlib
import sys

_TESTS = str(pathlib.Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# trainingProgressMonitor opens a window wherever matplotlib's automatic backend is a desktop
# one (macOS and Windows runners have displays); the suite, and the example scripts it starts
# as subprocesses, draw off-screen instead.
os.environ.setdefault("MPLBACKEND", "Agg")
