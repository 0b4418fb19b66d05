"""Running cases in worker subprocesses, so that aborts and hangs are outcomes, not crashes.

Cases go to long-lived workers in batches (one interpreter start serves many calls), one
case at a time. When a worker dies — a signal, an abort such as Rust's ``memory allocation
failed`` — or a case runs past the time limit, the worker is discarded and the case in flight
runs again alone in a fresh subprocess: if it still dies it is the killer (``abort``), if it
still runs too long a ``hang``; if it survives alone, the batch's earlier cases are kept with
it as the reproducer. The rest of the batch goes on in a new worker.
"""

from __future__ import annotations

import json
import os
import queue
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from .worker import rust_location

_TESTS_DIR = str(Path(__file__).resolve().parent.parent)
_BOOT = f"import sys; sys.path.insert(0, {_TESTS_DIR!r}); from fuzz.worker import main; main()"


@dataclass
class Case:
    """One call: Python source run after the worker's preamble, and the op names its errors
    should mention (the first is the op it is reported under)."""

    src: str
    ops: Sequence[str]
    family: str = ""
    id: int = -1

    def message(self) -> Dict[str, Any]:
        return {"id": self.id, "src": self.src, "ops": list(self.ops)}


@dataclass
class Settings:
    timeout: float = 10.0  # seconds one case may take
    memory_gb: float = 4.0  # address-space limit of a worker
    startup_timeout: float = 60.0


def _signal_name(rc: int) -> str:
    if rc < 0:
        try:
            return signal.Signals(-rc).name
        except ValueError:
            return f"signal {-rc}"
    return f"exit status {rc}"


class _Worker:
    """One worker subprocess and its stderr file."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.err = tempfile.NamedTemporaryFile(prefix="dlarray-fuzz-", suffix=".stderr", delete=False)
        env = dict(os.environ)
        env.update(
            DLARRAY_FUZZ_STDERR=self.err.name,
            DLARRAY_FUZZ_CASE_TIMEOUT=str(max(settings.timeout * 0.8, 0.5)),
            DLARRAY_FUZZ_MEMORY_GB=str(settings.memory_gb),
            RUST_BACKTRACE="0",
        )
        self.proc = subprocess.Popen([sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, env=env)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.ready = self._readline(time.monotonic() + settings.startup_timeout) is not None

    def _readline(self, deadline: float) -> Optional[Dict[str, Any]]:
        """The next JSON line, or None when the worker died or the deadline passed."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                return None
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send(self, cases: Sequence[Case]) -> bool:
        try:
            self.proc.stdin.write(b"".join(json.dumps(c.message()).encode() + b"\n" for c in cases))
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def send_raw(self, message: Dict[str, Any]) -> bool:
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def next_result(self) -> Optional[Dict[str, Any]]:
        return self._readline(time.monotonic() + self.settings.timeout)

    def next_message(self, timeout: float) -> Optional[Dict[str, Any]]:
        return self._readline(time.monotonic() + timeout)

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            with open(self.err.name, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self) -> Optional[int]:
        """Stop the worker; returns its exit status if it had already died."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        else:
            self.proc.wait()
        self.sel.close()
        for s in (self.proc.stdin, self.proc.stdout):
            try:
                s.close()
            except OSError:
                pass
        return rc

    def close(self) -> None:
        try:
            self.send_exit()
            self.proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self.kill()
        self.remove_files()

    def send_exit(self) -> None:
        try:
            self.proc.stdin.write(b'{"cmd": "exit"}\n')
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def remove_files(self) -> None:
        self.err.close()
        try:
            os.unlink(self.err.name)
        except OSError:
            pass


_ABORTED = re.compile(r"memory allocation of \d+ bytes failed|Fatal Python error|panicked at .*\n.*cannot unwind|SIGABRT")


def _tail_lines(text: str, n: int = 6) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("  ")]
    return "\n".join(lines[-n:])


def run_alone(case: Case, settings: Settings) -> Dict[str, Any]:
    """Runs one case in a fresh worker; a death is an ``abort``, running too long a ``hang``."""
    w = _Worker(settings)
    try:
        if not w.ready:
            return {"id": case.id, "cat": "abort", "op": case.ops[0], "exc": "worker did not start", "msg": _tail_lines(w.stderr_tail())}
        w.send([case])
        res = w.next_result()
        if res is not None:
            return res
        alive = w.proc.poll() is None
        rc = w.kill()
        tail = w.stderr_tail()
        # A process that aborted may hang in its fatal-error handler: its stderr tells.
        if alive and not _ABORTED.search(tail):
            stack = "\n".join(tail.splitlines()[-16:])  # faulthandler's dump: where it was running
            return {"id": case.id, "cat": "hang", "op": case.ops[0], "exc": f"no result after {settings.timeout:g} s", "msg": stack}
        died = _signal_name(rc) if rc is not None else "aborted (stuck in its fatal-error handler, killed)"
        return {"id": case.id, "cat": "abort", "op": case.ops[0], "exc": died, "msg": _tail_lines(tail), "rust_at": rust_location(tail)}
    finally:
        w.kill()
        w.remove_files()


@dataclass
class FuzzJob:
    """``n`` cases for a worker to draw itself (seeded) and run; ids start at ``first_id``."""

    seed: int
    n: int
    families: Sequence[str]
    first_id: int

    def message(self) -> Dict[str, Any]:
        return {"cmd": "fuzz", "seed": self.seed, "n": self.n, "families": list(self.families), "first_id": self.first_id}


class Pool:
    """``n`` threads, each driving one worker subprocess through jobs: lists of cases to
    replay, or ``FuzzJob``s the worker draws itself."""

    def __init__(self, n: int, settings: Settings, on_result: Callable[[Case, Dict[str, Any]], None], deadline: Optional[float] = None):
        self.settings = settings
        self.on_result = on_result
        self.deadline = deadline  # fuzz jobs taken after this (time.monotonic()) are dropped
        self.jobs: "queue.Queue[Any]" = queue.Queue(maxsize=n)
        self.lock = threading.Lock()
        self.errors: List[str] = []
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()

    def submit(self, job: Any) -> None:
        self.jobs.put(job)

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for t in self.threads:
            t.join()

    def _report(self, case: Case, res: Dict[str, Any]) -> None:
        with self.lock:
            self.on_result(case, res)

    def _pin(self, case: Case, done: List[Case]) -> Dict[str, Any]:
        """The result of a case whose worker died or ran too long: run it alone."""
        res = run_alone(case, self.settings)
        if res["cat"] not in ("abort", "hang"):
            # It survives alone: the earlier cases of its batch set the stage.
            res = {**res, "cat": "abort", "exc": "died only after the earlier cases of its batch", "context": [c.src for c in done[-20:]]}
        return res

    def _loop(self) -> None:
        worker: Optional[_Worker] = None
        while True:
            job = self.jobs.get()
            if job is None:
                break
            if isinstance(job, FuzzJob) and self.deadline is not None and time.monotonic() > self.deadline:
                continue
            if worker is not None and worker.proc.poll() is not None:
                self._discard(worker)
                worker = None
            if worker is None:
                worker = self._start()
            if isinstance(job, FuzzJob):
                worker = self._run_fuzz(worker, job)
            else:
                worker = self._run_list(worker, list(job))
        if worker is not None:
            worker.close()

    def _start(self) -> _Worker:
        worker = _Worker(self.settings)
        if not worker.ready:
            tail = _tail_lines(worker.stderr_tail(), 20)
            worker.kill()
            worker.remove_files()
            raise RuntimeError(f"the fuzz worker did not start:\n{tail}")
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        worker.remove_files()

    def _run_list(self, worker: _Worker, pending: List[Case]) -> Optional[_Worker]:
        done: List[Case] = []
        while pending:
            if worker is None:
                worker = self._start()
            # One case at a time: a hanging case never leaves the harness blocked on a full
            # pipe, and the case in flight when the worker dies is known.
            case = pending.pop(0)
            res = worker.next_result() if worker.send([case]) else None
            if res is None:
                self._discard(worker)
                worker = None
                res = self._pin(case, done)
            done.append(case)
            self._report(case, res)
        return worker

    def _run_fuzz(self, worker: _Worker, job: FuzzJob) -> Optional[_Worker]:
        if not worker.send_raw(job.message()):
            self._discard(worker)
            return None
        done: List[Case] = []
        first = True
        while True:
            msg = worker.next_message(self.settings.startup_timeout if first else self.settings.timeout)
            first = False
            if msg is None:
                self._discard(worker)
                return None
            if msg.get("done"):
                return worker
            if "gen_error" in msg:
                with self.lock:
                    self.errors.append(msg["gen_error"])
                return worker
            c = msg["case"]
            case = Case(c["src"], c["ops"], c.get("family", ""), c["id"])
            res = worker.next_result()
            if res is None:
                self._discard(worker)
                res = self._pin(case, done)
                done.append(case)
                self._report(case, res)
                return None
            done.append(case)
            self._report(case, res)


def run_cases(cases: Sequence[Case], workers: int = 2, batch: int = 50, settings: Optional[Settings] = None) -> List[Dict[str, Any]]:
    """Runs ``cases`` and returns their results in order."""
    settings = settings or Settings()
    results: Dict[int, Dict[str, Any]] = {}
    for i, c in enumerate(cases):
        c.id = i
    pool = Pool(workers, settings, lambda c, r: results.__setitem__(c.id, r))
    try:
        for i in range(0, len(cases), batch):
            pool.submit(list(cases[i : i + batch]))
    finally:
        pool.close()
    return [results[i] for i in range(len(cases))]
