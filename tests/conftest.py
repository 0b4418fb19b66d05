"""Shared pytest setup: makes ``tests/`` importable so every test can ``from gradcheck import
gradcheck, gradgradcheck``."""

import pathlib
import sys

_TESTS = str(pathlib.Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
