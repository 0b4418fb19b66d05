"""The checkpoint container: safetensors files written atomically and read defensively.

Layout (the safetensors format): an 8-byte little-endian header length ``n``, ``n`` bytes of
UTF-8 JSON (``{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}, ...}``,
padded with spaces to a multiple of 8), then the tensors' raw little-endian bytes, back to
back with no holes. ``data_offsets`` count from the first byte after the header.

dlarray's checkpoints add the metadata entry ``"dlarray-checksums"``: a CRC-32 of every
tensor's bytes and of the other metadata entries, verified on reading.

Writing: a temporary file beside the destination (named after it, the host, the process id
and a per-process token), fsync, ``os.replace``, fsync of the directory. Temporary files left
by writers that died (``kill -9``, power loss) are removed by the next write to the same
destination; a live process's temporary file is never touched.

Reading validates the whole header against the file size before allocating anything, so a
corrupt or hostile file raises :class:`CheckpointError`, never ``MemoryError``,
``RecursionError`` or a bare ``ValueError``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
import socket
import stat
import struct
import zlib
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

import numpy as np

from .errors import CheckpointError

#: The format tag dlarray writes; "-1" files (before checksums) are still read.
FORMAT = "dlarray-checkpoint-2"
_FORMAT_PREFIX = "dlarray-checkpoint-"
_UNCHECKED_FORMATS = ("dlarray-checkpoint-1",)
CHECKSUMS = "dlarray-checksums"

#: safetensors dtype codes read and written, as little-endian numpy dtypes.
_DTYPES = {
    "BOOL": np.dtype("|b1"),
    "U8": np.dtype("|u1"),
    "I8": np.dtype("|i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}
#: Read only: numpy has no bfloat16, so BF16 tensors become float32 (exactly: a bfloat16 is
#: the upper half of a float32).
_BF16 = "BF16"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
_MAX_DIMS = 32  # numpy 1.x's limit


def dtype_code(dtype: np.dtype) -> Optional[str]:
    """The safetensors code of a numpy dtype dlarray can write, or None."""
    return _CODES.get(np.dtype(dtype).newbyteorder("="))


# ---- writing ------------------------------------------------------------------------------


def _canonical(metadata: Dict[str, Any]) -> bytes:
    """The bytes the metadata checksum covers (every entry but the checksums)."""
    rest = {k: v for k, v in metadata.items() if k != CHECKSUMS}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def encode(tensors: Dict[str, np.ndarray], metadata: Dict[str, str]) -> List[Any]:
    """The file's contents as a list of buffers: the header, then each tensor's bytes (no
    copy of arrays that are already contiguous little-endian)."""
    header: Dict[str, Any] = {}
    blobs: List[np.ndarray] = []
    crcs: Dict[str, int] = {}
    offset = 0
    for key, data in tensors.items():
        code = dtype_code(data.dtype)
        if code is None:
            raise TypeError(f"save: unsupported dtype {data.dtype} for tensor '{key}'")
        blob = np.ascontiguousarray(data, dtype=_DTYPES[code]).reshape(-1).view(np.uint8)
        header[key] = {"dtype": code, "shape": [int(s) for s in data.shape], "data_offsets": [offset, offset + blob.size]}
        crcs[key] = zlib.crc32(blob)
        blobs.append(blob)
        offset += blob.size
    metadata = dict(metadata)
    metadata[CHECKSUMS] = json.dumps(
        {"algorithm": "crc32", "tensors": crcs, "metadata": zlib.crc32(_canonical(metadata))}, separators=(",", ":")
    )
    text = json.dumps({"__metadata__": metadata, **header}, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # safetensors pads the header to 8 bytes
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
    if not isinstance(code, str) or (code not in _DTYPES and code != _BF16):
        raise bad(f"tensor '{key}' has dtype {_short(code)}, which dlarray cannot read (readable: {', '.join(list(_DTYPES) + [_BF16])})")
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(_is_int(s) and s >= 0 for s in shape):
        raise bad(f"tensor '{key}' has an invalid shape {_short(shape)} (expected at most {_MAX_DIMS} non-negative integers)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets) or not 0 <= offsets[0] <= offsets[1]:
        raise bad(f"tensor '{key}' has invalid data_offsets {_short(offsets)} (expected [start, stop], 0 <= start <= stop)")
    itemsize = 2 if code == _BF16 else _DTYPES[code].itemsize
    needed = math.prod(shape) * itemsize  # Python ints: no overflow
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


def _read_exact(f: Any, buf: np.ndarray) -> int:
    view, got = memoryview(buf), 0
    while got < buf.size:
        k = f.readinto(view[got:])
        if not k:
            break
        got += k
    return got


def _array(raw: np.ndarray, s: _Spec, bad: Callable[[str], CheckpointError]) -> np.ndarray:
    if s.code == _BF16:
        return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(s.shape)
    dtype = _DTYPES[s.code]
    if s.code == "BOOL" and raw.size and raw.max() > 1:
        raise bad(f"tensor '{s.key}' (BOOL) holds bytes other than 0 and 1")
    out = raw.view(dtype).reshape(s.shape)
    return out if dtype.isnative else out.astype(dtype.newbyteorder("="))


def read(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """The tensors (numpy arrays, in header order) and the metadata of a safetensors file,
    checksums verified when the file has them."""

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"load: '{path}' is not a valid checkpoint (safetensors) file: {why}")

    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"load: no such checkpoint file: '{path}'", path) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) < 8:
            raise bad(f"it has only {len(head)} bytes (truncated?)")
        (n,) = struct.unpack("<Q", head)
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
        specs = [_spec(key, info, bad) for key, info in header.items()]
        ordered = _check_layout(specs, size - 8 - n, bad)
        crcs = _checksums(metadata, specs, bad)
        arrays: Dict[str, np.ndarray] = {}
        for s in ordered:
            raw = np.empty(s.stop - s.start, np.uint8)
            f.seek(8 + n + s.start)
            if _read_exact(f, raw) != raw.size:
                raise bad(f"it ended inside tensor '{s.key}' (changed while reading?)")
            if crcs is not None and zlib.crc32(raw) != crcs[s.key]:
                raise bad(
                    f"tensor '{s.key}' is corrupt: its bytes have CRC-32 {zlib.crc32(raw):08x}, the file "
                    f"recorded {crcs[s.key]:08x} (damaged after it was written)"
                )
            arrays[s.key] = _array(raw, s, bad)
    return {s.key: arrays[s.key] for s in specs}, metadata
