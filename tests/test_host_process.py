"""Importing and using dlarray leaves the host process as it was: the allocator's behaviour
(memory freed by numpy goes back to the system), signal handlers, and the environment."""

import subprocess
import sys
import textwrap

import pytest


def run_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_numpy_frees_returns_to_the_system_with_dlarray_imported():
    rss = run_python(
        """
        import os
        import numpy as np
        import dlarray

        def rss_mib():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

        # Use dlarray first, as a training script would.
        x = dlarray.dlarray(np.ones((512, 512), np.float32))
        float(dlarray.sum(x * x))
        before = rss_mib()
        a = np.ones(256 * 2**20 // 8)   # 256 MiB, touched
        del a
        print(rss_mib() - before)
        """
    )
    assert float(rss) < 32, f"{rss} MiB stayed resident after freeing a 256 MiB numpy array"


def test_import_changes_no_signal_handler():
    changed = run_python(
        """
        import signal
        names = [s for s in signal.Signals if s not in (signal.SIGKILL, signal.SIGSTOP)]
        before = {s: signal.getsignal(s) for s in names}
        import dlarray
        dlarray.dlarray([1.0, 2.0]) * 2
        print([s.name for s in names if signal.getsignal(s) != before[s]])
        """
    )
    assert changed == "[]"


def test_large_dlarray_buffers_are_reused_not_leaked():
    # A long loop of large temporaries stays bounded: the buffer cache has a ceiling.
    grown = (
        run_python(
            """
        import os
        import numpy as np
        import dlarray

        def rss_mib():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

        x = dlarray.dlarray(np.ones((1024, 1024), np.float32))
        for _ in range(5):
            y = (x * 2 + 1) * x
        first = rss_mib()
        for _ in range(200):
            y = (x * 2 + 1) * x
        print(rss_mib() - first)
        """
        )
        if sys.platform.startswith("linux")
        else "0"
    )
    assert float(grown) < 16, f"RSS grew by {grown} MiB over 200 identical steps"
