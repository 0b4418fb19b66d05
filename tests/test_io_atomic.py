"""save is atomic under kill -9, cleans up after dead writers (never live ones), and gives the
file the permissions open(path, "w") would.

Run by hand for a longer kill test: ``python tests/test_io_atomic.py 100``."""

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from dlarray import _checkpoint_file as container
from dlarray import dlnetwork, featureInputLayer, fullyConnectedLayer, load, save

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX processes and permissions")

# A server that imports dlarray once, then per request forks a writer that saves a large
# checkpoint in a loop (until killed), and reports the writer's pid and its reaping.
SERVER = r"""
import os, sys
import numpy as np
from dlarray import save
path = sys.argv[1]
big = np.random.default_rng(0).standard_normal(int(sys.argv[2])).astype(np.float32)
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            epoch = 0
            while True:
                epoch += 1
                save(path, epoch=epoch, w=big + epoch, tag=np.full(1000, epoch))
        finally:
            os._exit(1)
    print(pid, flush=True)
    os.waitpid(pid, 0)
    print("reaped", flush=True)
"""


def temp_files(directory, name="ckpt.safetensors"):
    return sorted(p.name for p in Path(directory).iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".tmp"))


def kill_trials(directory, trials, size=4_000_000, seed=0):
    """kill -9 a writer at random times, ``trials`` times; check the checkpoint after each.
    Returns the counts for the report."""
    rng = random.Random(seed)
    path = Path(directory) / "ckpt.safetensors"
    big = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    save(path, epoch=0, w=big, tag=np.full(1000, 0))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(path), str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    stats = {"trials": trials, "intact": 0, "kills_leaving_orphan": 0, "max_orphans_at_once": 0, "epochs": []}
    try:
        assert server.stdout.readline().strip() == "ready"
        for _ in range(trials):
            server.stdin.write("go\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(rng.uniform(0.02, 0.3))
            os.kill(pid, signal.SIGKILL)
            assert server.stdout.readline().strip() == "reaped"
            ckpt = load(path)  # verifies every tensor's checksum
            epoch = ckpt["epoch"]
            if np.array_equal(ckpt["w"][:1000], big[:1000] + epoch) and np.all(ckpt["tag"] == epoch) and ckpt["w"].shape == big.shape:
                stats["intact"] += 1
            stats["epochs"].append(epoch)
            orphans = [n for n in temp_files(directory) if f".{pid}-" in n]
            stats["kills_leaving_orphan"] += bool(orphans)
            stats["max_orphans_at_once"] = max(stats["max_orphans_at_once"], len(temp_files(directory)))
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    stats["orphans_before_cleanup"] = len(temp_files(directory))
    save(path, epoch=-1, w=big[:10], tag=np.full(1000, -1))  # a later save by another process
    stats["orphans_after_cleanup"] = len(temp_files(directory))
    stats["bytes_left_after_cleanup"] = sum(p.stat().st_size for p in Path(directory).iterdir() if p.name != "ckpt.safetensors")
    return stats


@posix
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_during_save_never_damages_the_checkpoint_and_orphans_are_removed(tmp_path):
    stats = kill_trials(tmp_path, 20)
    assert stats["intact"] == 20
    assert max(stats["epochs"]) > 0, "the writer never finished a save: the test did not exercise anything"
    assert stats["kills_leaving_orphan"] > 0, "no kill landed inside a save: the test did not exercise anything"
    # A new writer removes its dead predecessors' temporary files, so they never pile up.
    assert stats["max_orphans_at_once"] <= 1
    assert stats["orphans_after_cleanup"] == 0 and stats["bytes_left_after_cleanup"] == 0


def fake_temp(directory, pid, token="0badc0de", host=None, name="ckpt.safetensors"):
    host = host or container._Process.current().host
    p = Path(directory) / f".{name}.{pid}-{token}-12345678.{host}.tmp"
    p.write_bytes(b"partial")
    return p.name


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@posix
def test_only_temporary_files_of_dead_writers_of_the_same_destination_are_removed(tmp_path):
    me = container._Process.current()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = dead_pid()
        removed = {
            fake_temp(tmp_path, dead),
            fake_temp(tmp_path, me.pid, token="0badc0de"),  # this pid, earlier process
        }
        kept = {
            fake_temp(tmp_path, sleeper.pid),  # a live writer
            fake_temp(tmp_path, me.pid, token=me.token),  # another thread of this process
            fake_temp(tmp_path, dead, host="otherhost"),  # another machine (shared filesystem)
            fake_temp(tmp_path, dead, name="other.safetensors"),  # another destination
            fake_temp(tmp_path, dead, name="ckpt.safetensors.5"),  # a longer name sharing the prefix
        }
        others = {
            f".ckpt.safetensors.{dead}.tmp",  # not our naming
            ".ckpt.safetensors.abcdefgh.tmp",  # the old mkstemp naming: its writer is unknown
            "ckpt.safetensors.bak",
        }
        for name in others:
            (tmp_path / name).write_bytes(b"x")
        kept |= others
        locked = fake_temp(tmp_path, dead, token="10c4ed00")
        import fcntl

        fd = os.open(tmp_path / locked, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer in another pid namespace holds its lock
        try:
            save(tmp_path / "ckpt.safetensors", x=np.arange(3))
        finally:
            os.close(fd)
        left = {p.name for p in tmp_path.iterdir()}
        assert not removed & left
        assert kept | {locked, "ckpt.safetensors"} == left
    finally:
        sleeper.kill()
        sleeper.wait()


def test_temporary_file_names_the_destination_host_and_pid(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.basename(src), os.fspath(dst)))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save(tmp_path / "ckpt.safetensors", x=np.arange(3))
    ((src, dst),) = seen
    me = container._Process.current()
    assert re.fullmatch(rf"\.ckpt\.safetensors\.{os.getpid()}-{me.token}-[0-9a-f]{{8}}\.{re.escape(me.host)}\.tmp", src)
    assert dst == str(tmp_path / "ckpt.safetensors")
    assert me.host == re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:64]
    # A name too long for a temporary name of its own is shortened with a hash.
    long = "x" * 240 + ".safetensors"
    save(tmp_path / long, x=np.arange(3))
    assert len(seen[1][0]) < 200 and seen[1][0].startswith("." + "x" * 100 + "~")
    assert (tmp_path / long).exists()


@posix
def test_concurrent_writers_never_remove_each_others_temporary_files(tmp_path):
    script = (
        "import sys, numpy as np; from dlarray import save\nfor i in range(25): save(sys.argv[1], w=np.full(200_000, i, np.float32), i=i)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    path = tmp_path / "ckpt.safetensors"
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path)], env=env, stderr=subprocess.PIPE) for _ in range(2)]
    errors = []

    def in_thread():  # and a thread of this process (same pid, same token)
        try:
            for i in range(25):
                save(path, w=np.full(200_000, -i, np.float32), i=-i)
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    t = threading.Thread(target=in_thread)
    t.start()
    for i in range(25):
        save(path, w=np.full(200_000, 100 + i, np.float32), i=100 + i)
    t.join()
    for w in writers:
        _, err = w.communicate(timeout=60)
        assert w.returncode == 0, err.decode()
    assert not errors
    ckpt = load(path)
    assert np.all(ckpt["w"] == ckpt["i"])
    assert temp_files(tmp_path) == []


def current_umask():
    # Tests may read the umask this way (single-threaded); the library never calls os.umask.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@posix
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002, 0o027])
def test_new_file_gets_the_mode_open_would_give(tmp_path, umask):
    old = os.umask(umask)
    try:
        save(tmp_path / "new.safetensors", x=np.arange(3))
        with open(tmp_path / "reference", "w"):
            pass
    finally:
        os.umask(old)
    mode = (tmp_path / "new.safetensors").stat().st_mode & 0o777
    assert mode == 0o666 & ~umask == (tmp_path / "reference").stat().st_mode & 0o777


@posix
@pytest.mark.parametrize("existing, umask", [(0o600, 0o022), (0o640, 0o077), (0o664, 0o022), (0o444, 0o022)])
def test_replaced_file_keeps_its_mode(tmp_path, existing, umask):
    path = tmp_path / "ckpt.safetensors"
    save(path, x=np.arange(3))
    os.chmod(path, existing)
    old = os.umask(umask)
    try:
        save(path, x=np.arange(4))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == existing
    assert load(path)["x"].shape == (4,)
    assert current_umask() == old


def test_atomic_write_keeps_old_file_when_the_writer_fails(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save(path, dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)]), epoch=1)
    before = path.read_bytes()

    def fail(fd):
        raise OSError("simulated: fsync failed")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="fsync failed"):
        save(path, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before and temp_files(tmp_path) == []


if __name__ == "__main__":
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        stats = kill_trials(d, n, seed=int(time.time()))
        stats["seconds"] = round(time.perf_counter() - start, 1)
        stats["epochs"] = f"{min(stats['epochs'])}..{max(stats['epochs'])}"
        print(stats)
