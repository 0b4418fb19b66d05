"""The checkpoint container: safetensors files, written and read through the ``safetensors``
library, written atomically and read defensively.

**Why the library.** ``safetensors`` (Hugging Face's reference implementation, in Rust) is
what the rest of the ecosystem reads and writes, so a checkpoint is read exactly as every
safetensors reader reads it, and its reader memory-maps the file and materialises one tensor
at a time: ``load`` turns each tensor into a dlarray before it reads the next, so loading a
checkpoint needs about the file's size in memory, not twice (``benches/checkpoint_memory.py``).
Writing streams the header and each tensor's bytes in the format's layout (see ``encode``):
the library's numpy writer would hold the file in memory twice.

What this module adds to the library:

* **Checksums:** dlarray's checkpoints carry the metadata entry ``"dlarray-checksums"``, a
  CRC-32 of every tensor's bytes and of the other metadata entries, verified on reading.
* **Atomic, durable writes:** the file is written to a temporary file beside the destination (named after it, the host, the
  process id and a per-process token), fsynced, renamed over the destination with
  ``os.replace``, and the directory fsynced. Temporary files left by writers that died
  (``kill -9``, power loss) are removed by the next write to the same destination; a live
  process's temporary file is never touched. (``safetensors.numpy.save_file`` cannot be used:
  it writes a temporary file of its own, private mode and random name, that could be neither
  fsynced here nor cleaned up after a crash.)
* **A header check before the library opens the file,** so every defect is named (the
  library reports "invalid offset" for overlaps, holes and repeated names alike) and the
  defects it accepts are refused: repeated tensor names (its JSON map keeps one), BOOL bytes
  other than 0 and 1, more dims than numpy allows. It gives the byte offsets of tensors the
  library cannot hand to numpy.
* **dtypes numpy lacks** (BF16, the 8-bit floats) are read from the memory-mapped bytes and
  converted to float32 exactly (rule in ``_checkpoint_dtypes``).
* **Typed errors:** a truncated, corrupt or hostile file raises :class:`CheckpointError`,
  never the library's ``SafetensorError``, ``MemoryError``, ``RecursionError`` or a bare
  ``ValueError``.

As with every memory-mapped reader, a file truncated in place by another program while it is
being loaded can end the process (SIGBUS); ``save`` never changes a file in place.
"""

from __future__ import annotations

import errno
import json
import math
import mmap
import os
import re
import secrets
import socket
import stat
import struct
import zlib
from typing import Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Set, Tuple

import numpy as np
import safetensors

from . import _checkpoint_dtypes as dtypes
from .errors import CheckpointError

#: The format tag dlarray writes; "-1" files (before checksums) are still read.
FORMAT = "dlarray-checkpoint-2"
_FORMAT_PREFIX = "dlarray-checkpoint-"
_UNCHECKED_FORMATS = ("dlarray-checkpoint-1",)
CHECKSUMS = "dlarray-checksums"

_READABLE = list(dtypes.NUMPY) + list(dtypes.TO_FLOAT32)
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
_MAX_DIMS = 32  # numpy 1.x's limit


def dtype_code(dtype: np.dtype) -> Optional[str]:
    """The safetensors code of a numpy dtype dlarray can write, or None."""
    return dtypes.code_of(dtype)


# ---- writing ------------------------------------------------------------------------------


def _canonical(metadata: Dict[str, Any]) -> bytes:
    """The bytes the metadata checksum covers (every entry but the checksums)."""
    rest = {k: v for k, v in metadata.items() if k != CHECKSUMS}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def encode(tensors: Dict[str, np.ndarray], metadata: Dict[str, str]) -> List[Any]:
    """The file's contents as a list of buffers to write in turn: the header, then each
    tensor's bytes (no copy of arrays that are already contiguous little-endian);
    ``metadata`` gains the checksums entry.

    Written here rather than by ``safetensors.numpy.save``, which builds the whole file in
    memory twice over (each tensor's ``tobytes`` and then the file): streaming the tensors
    needs no memory beyond the arrays. The layout is the format's (an 8-byte header length,
    JSON padded to 8 bytes, the tensors back to back), and every file is read back through the
    library by ``load``, which the tests exercise on each kind of value."""
    header: Dict[str, Any] = {}
    blobs: List[np.ndarray] = []
    crcs: Dict[str, int] = {}
    offset = 0
    for key, data in tensors.items():
        code = dtype_code(data.dtype)
        if code is None:
            raise TypeError(f"save: unsupported dtype {data.dtype} for tensor '{key}'")
        # Contiguous and little-endian, as in the file, so the checksum covers the file's bytes.
        blob = np.ascontiguousarray(data, dtype=dtypes.NUMPY[code]).reshape(-1).view(np.uint8)
        header[key] = {"dtype": code, "shape": [int(s) for s in data.shape], "data_offsets": [offset, offset + blob.size]}
        crcs[key] = zlib.crc32(blob)
        blobs.append(blob)
        offset += blob.size
    metadata = dict(metadata)
    metadata[CHECKSUMS] = json.dumps(
        {"algorithm": "crc32", "tensors": crcs, "metadata": zlib.crc32(_canonical(metadata))}, separators=(",", ":")
    )
    text = json.dumps({"__metadata__": metadata, **header}, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    return [struct.pack("<Q", len(text)) + text] + blobs


class _Process:
    """Who writes temporary files: host, pid and a random token. The token tells this process
    apart from an earlier (dead) one that had the same pid; it is renewed in a forked child."""

    pid = -1
    token = ""
    host = ""

    @classmethod
    def current(cls) -> "type[_Process]":
        if cls.pid != os.getpid():
            cls.pid, cls.token = os.getpid(), secrets.token_hex(4)
            cls.host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:64] or "localhost"
        return cls


_TEMP_TAIL = re.compile(r"(\d+)-([0-9a-f]{8})-[0-9a-f]{8}\.([A-Za-z0-9_-]+)\.tmp")


def _temp_prefix(base: str) -> str:
    """``.<destination name>.``: long names are shortened (with a hash) to fit NAME_MAX."""
    if len(base) > 120:
        base = f"{base[:100]}~{zlib.crc32(base.encode('utf-8', 'surrogateescape')):08x}"
    return f".{base}."


def temp_name(base: str) -> str:
    """``.<dest>.<pid>-<token>-<random>.<host>.tmp``."""
    p = _Process.current()
    return f"{_temp_prefix(base)}{p.pid}-{p.token}-{secrets.token_hex(4)}.{p.host}.tmp"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` (on this host) may still run. Unknown counts as alive."""
    if pid <= 0 or os.name != "posix":
        return True  # kill(0 or -n) would address process groups; Windows has no signal 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: it exists, owned by someone else
    return True


def _locked(path: str) -> bool:
    """Whether a writer still holds its lock on ``path`` (POSIX ``flock``). A second guard
    beside the pid: it also sees writers in other pid namespaces on this machine."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False  # no flock on this filesystem (ENOLCK): the pid check decides alone
    finally:
        os.close(fd)


def remove_orphans(directory: str, base: str) -> List[str]:
    """Remove temporary files of destination ``base`` whose writer is dead: written on this
    host by a pid that no longer runs, or by this pid under an earlier process's token.
    Returns the names removed."""
    me = _Process.current()
    prefix = _temp_prefix(base)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix):
            continue
        m = _TEMP_TAIL.fullmatch(name[len(prefix) :])
        if m is None or m.group(3) != me.host:
            continue
        pid, token = int(m.group(1)), m.group(2)
        if pid == me.pid:
            if token == me.token:
                continue  # another thread of this process is writing it
        elif _alive(pid):
            continue
        if _locked(entry.path):
            continue
        try:
            os.unlink(entry.path)
            removed.append(name)
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def _existing_mode(path: str) -> Optional[int]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) & 0o777 if stat.S_ISREG(st.st_mode) else None


def _fsync_directory(directory: str) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory; NTFS journals the rename
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return  # a directory we may write but not read
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EACCES):
            raise  # some filesystems cannot fsync a directory; that is not an error
    finally:
        os.close(fd)


def write_atomically(path: str, chunks: Iterable[Any]) -> None:
    """Write ``chunks`` to ``path`` so that a crash at any point leaves the old file or the
    new one. The new file gets the old file's permission bits when it replaces one, else
    what ``open(path, "w")`` gives (0o666 minus the umask, applied by the kernel)."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    remove_orphans(directory, base)
    mode = _existing_mode(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(directory, temp_name(base))
        try:
            fd = os.open(tmp, flags, 0o666 if mode is None else mode)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, f"save: cannot create a temporary file beside '{path}'", path)
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                import fcntl

                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (ImportError, OSError):
                pass  # the pid in the name still protects the file
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)  # undo the umask: keep the mode of the file replaced
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


# ---- reading ------------------------------------------------------------------------------


class _Spec(NamedTuple):
    key: str
    code: str
    shape: Tuple[int, ...]
    start: int
    stop: int


def _unique_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {dup!r}")
    return out


def parse_json(text: Any, what: str, bad: Callable[[str], CheckpointError]) -> Any:
    """JSON from a checkpoint; every failure (deep nesting included) is a CheckpointError."""
    try:
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise bad(f"{what} is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, duplicate keys, huge ints
        raise bad(f"{what} is not valid JSON ({e})") from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _spec(key: str, info: Any, bad: Callable[[str], CheckpointError]) -> _Spec:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise bad(f"tensor '{key}' has an invalid description {_short(info)} (expected dtype, shape and data_offsets)")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if isinstance(code, str) and code in dtypes.REFUSED:
        raise bad(f"tensor '{key}' has dtype {code}, which dlarray cannot read: {dtypes.REFUSED[code]}")
    if not isinstance(code, str) or (code not in dtypes.NUMPY and code not in dtypes.TO_FLOAT32):
        raise bad(f"tensor '{key}' has dtype {_short(code)}, which dlarray cannot read (readable: {', '.join(_READABLE)})")
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(_is_int(s) and s >= 0 for s in shape):
        raise bad(f"tensor '{key}' has an invalid shape {_short(shape)} (expected at most {_MAX_DIMS} non-negative integers)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets) or not 0 <= offsets[0] <= offsets[1]:
        raise bad(f"tensor '{key}' has invalid data_offsets {_short(offsets)} (expected [start, stop], 0 <= start <= stop)")
    needed = math.prod(shape) * dtypes.itemsize(code)  # Python ints: no overflow
    if offsets[1] - offsets[0] != needed:
        raise bad(
            f"tensor '{key}' of dtype {code} and shape {shape} needs {needed} bytes, but its data_offsets "
            f"{offsets} span {offsets[1] - offsets[0]}"
        )
    return _Spec(key, code, tuple(shape), offsets[0], offsets[1])


def _check_layout(specs: List[_Spec], size: int, bad: Callable[[str], CheckpointError]) -> List[_Spec]:
    """The tensors in file order, after checking they tile the data bytes exactly."""
    ordered = sorted(specs, key=lambda s: (s.start, s.stop))
    end, last = 0, None
    for s in ordered:
        if s.start < end:
            raise bad(f"tensor '{s.key}' (bytes {s.start}..{s.stop}) overlaps tensor '{last.key}' (bytes {last.start}..{last.stop})")
        if s.start > end:
            raise bad(f"the data bytes {end}..{s.start} belong to no tensor (before '{s.key}')")
        end, last = s.stop, s
    if end > size:
        raise bad(f"the tensors need {end} data bytes but the file holds {size} after the header (truncated?)")
    if end < size:
        raise bad(f"{size - end} unexpected bytes after the tensors")
    return ordered


def _checksums(metadata: Dict[str, Any], specs: List[_Spec], bad: Callable[[str], CheckpointError]) -> Optional[Dict[str, int]]:
    """The per-tensor CRC-32s recorded in a dlarray checkpoint (after checking the metadata's
    own), or None for files that have none (other writers, dlarray-checkpoint-1)."""
    fmt = metadata.get("format")
    ours = isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX)
    if ours and fmt != FORMAT and fmt not in _UNCHECKED_FORMATS:
        raise bad(f"it was written in format '{fmt}' by a newer dlarray; this one reads {FORMAT} and older")
    if CHECKSUMS not in metadata:
        if ours and fmt == FORMAT:
            raise bad(f"its '{CHECKSUMS}' metadata entry is missing")
        return None
    entry = metadata[CHECKSUMS]
    table = parse_json(entry, f"the '{CHECKSUMS}' metadata entry", bad) if isinstance(entry, str) else None
    if (
        not isinstance(table, dict)
        or table.get("algorithm") != "crc32"
        or not _is_int(table.get("metadata"))
        or not isinstance(table.get("tensors"), dict)
        or not all(_is_int(v) for v in table["tensors"].values())
    ):
        raise bad(f"its '{CHECKSUMS}' metadata entry is corrupt")
    if zlib.crc32(_canonical(metadata)) != table["metadata"]:
        raise bad("the metadata does not match its checksum (the header was damaged after it was written)")
    crcs = table["tensors"]
    names = {s.key for s in specs}
    if set(crcs) != names:
        missing, extra = sorted(names - set(crcs)), sorted(set(crcs) - names)
        raise bad(f"the checksums do not list the same tensors as the header (no checksum for {missing[:3]}, no tensor for {extra[:3]})")
    return crcs


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _bad(path: str) -> Callable[[str], CheckpointError]:
    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"load: '{path}' is not a valid checkpoint (safetensors) file: {why}")

    return bad


def _header(f: BinaryIO, bad: Callable[[str], CheckpointError]) -> Tuple[int, Dict[str, Any], Dict[str, _Spec]]:
    """The header's length, metadata and tensor descriptions (in header order), after
    checking them against the file size."""
    size = os.fstat(f.fileno()).st_size
    head = f.read(8)
    if len(head) < 8:
        raise bad(f"it has only {len(head)} bytes (truncated?)")
    n = int.from_bytes(head, "little")
    if n > _MAX_HEADER:
        raise bad(f"the header length {n} exceeds the {_MAX_HEADER}-byte limit (corrupt)")
    if n > size - 8:
        raise bad(f"the header length {n} exceeds the file size {size} (truncated or corrupt)")
    text = f.read(n)
    if len(text) != n:
        raise bad("it ended inside the header (changed while reading?)")
    header = parse_json(text, "the header", bad)
    if not isinstance(header, dict):
        raise bad(f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise bad(f"__metadata__ is a JSON {type(metadata).__name__}, not an object")
    specs = {key: _spec(key, info, bad) for key, info in header.items()}
    _check_layout(list(specs.values()), size - 8 - n, bad)
    return n, metadata, specs


class Tensors(Mapping[str, np.ndarray]):
    """The tensors of a safetensors file, open for reading (use as a context manager, or
    ``close()``): ``metadata``, the tensor names in header order, and each tensor read from the
    memory-mapped file when it is asked for — its checksum verified, numpy-less dtypes
    converted — as a new array that does not refer to the file."""

    def __init__(self, path: str):
        self.path = path
        self.bad = _bad(path)
        self._map: Optional[mmap.mmap] = None
        self._verified: Set[str] = set()
        for _ in range(10):
            self._open()
            # The library opens the path again: make sure it opened the file checked here.
            if self._same_file():
                return
            self.close()
        raise self.bad("it was replaced again and again while being opened")

    def _open(self) -> None:
        try:
            self._file: BinaryIO = open(self.path, "rb")
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"load: no such checkpoint file: '{self.path}'", self.path) from None
        try:
            self._offset, self.metadata, self.specs = _header(self._file, self.bad)
            self._offset += 8
            self.crcs = _checksums(self.metadata, list(self.specs.values()), self.bad)
            try:
                self._lib = safetensors.safe_open(self.path, framework="numpy")
            except safetensors.SafetensorError as e:
                if "unknown variant" not in str(e):
                    raise self.bad(f"the safetensors library cannot read it ({e})") from None
                # A safetensors older than the file's dtypes (Python 3.9 has 0.7, without the
                # FNUZ floats): the header was checked above, so every tensor is read from the
                # mapped bytes, as the dtypes numpy lacks always are.
                self._lib = None
        except BaseException:
            self._file.close()
            raise

    def _same_file(self) -> bool:
        try:
            return os.path.samestat(os.fstat(self._file.fileno()), os.stat(self.path))
        except OSError:
            return False

    def close(self) -> None:
        lib, self._lib = getattr(self, "_lib", None), None
        if lib is not None:
            lib.__exit__(None, None, None)
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # a view is still alive (in a traceback): the map closes when it goes
            self._map = None
        self._file.close()

    def __enter__(self) -> "Tensors":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.specs)

    def __contains__(self, key: object) -> bool:
        return key in self.specs

    def _raw(self, s: _Spec) -> np.ndarray:
        """The tensor's bytes in the file, a read-only view of the mapped file."""
        if s.stop == s.start:
            return np.zeros(0, np.uint8)
        if self._map is None:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return np.frombuffer(self._map, np.uint8, s.stop - s.start, self._offset + s.start)

    def _verify(self, s: _Spec, raw: np.ndarray) -> None:
        if self.crcs is not None and zlib.crc32(raw) != self.crcs[s.key]:
            raise self.bad(
                f"tensor '{s.key}' is corrupt: its bytes have CRC-32 {zlib.crc32(raw):08x}, the file "
                f"recorded {self.crcs[s.key]:08x} (damaged after it was written)"
            )
        self._verified.add(s.key)

    def __getitem__(self, key: str) -> np.ndarray:
        s = self.specs[key]
        if s.code in dtypes.TO_FLOAT32 or self._lib is None:
            raw = self._raw(s)
            self._verify(s, raw)
            if s.code in dtypes.TO_FLOAT32:
                out = dtypes.to_float32(s.code, raw).reshape(s.shape)
            else:
                stored = dtypes.NUMPY[s.code]
                out = np.frombuffer(raw, stored).astype(stored.newbyteorder("="), copy=True).reshape(s.shape)
                if s.code == "BOOL" and raw.size and raw.max() > 1:
                    raise self.bad(f"tensor '{s.key}' (BOOL) holds bytes other than 0 and 1")
            del raw  # the map can close only when no view of it is left
            return out
        try:
            out = self._lib.get_tensor(key)
        except Exception as e:  # the library's errors have no common base but SafetensorError
            raise self.bad(f"the safetensors library cannot read tensor '{key}' ({type(e).__name__}: {e})") from None
        if out.shape != s.shape or out.dtype != dtypes.NUMPY[s.code].newbyteorder("="):
            raise self.bad(f"tensor '{key}' changed while being read (its header says {s.code} {list(s.shape)})")
        raw = out.astype(out.dtype.newbyteorder("<"), copy=False).reshape(-1).view(np.uint8)
        self._verify(s, raw)
        if s.code == "BOOL" and raw.size and raw.max() > 1:
            raise self.bad(f"tensor '{s.key}' (BOOL) holds bytes other than 0 and 1")
        return out

    def verify_unread(self) -> None:
        """Check the checksums of the tensors not read yet (without materialising them)."""
        if self.crcs is not None:
            for key in [k for k in self.specs if k not in self._verified]:
                raw = self._raw(self.specs[key])
                self._verify(self.specs[key], raw)
                del raw


def read(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """All the tensors (numpy arrays, in header order) and the metadata of a safetensors
    file, checksums verified when the file has them."""
    with Tensors(path) as tensors:
        return dict(tensors.items()), tensors.metadata
