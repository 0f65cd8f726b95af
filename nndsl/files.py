"""Files a user names (data, weights, checkpoints), read as hostile: opened only when they
are regular files, never read past their real size, and never trusted for sizes.

- `open_regular(path, what)`: a binary file object, or an NNDSLError that names the path
  (shown safely) and says why not: missing, a folder, a FIFO or device, unreadable, a
  name with a NUL or an unencodable character. A FIFO is refused without blocking.
- `read_regular(path, what)`: the whole file as bytes, at most its size when opened.
- `NpzArchive(path, what)`: an `.npz` whose every member's `.npy` header is read and
  checked against what the member really holds before any array is: `archive.arrays`
  gives each array's shape, dtype and bytes; `archive.read(name)` reads one.
- `check_claim(total, path, what)`: refuse a file whose arrays claim more memory than
  this machine has, or (compressed) inflate far beyond the file's real size.

And files nndsl writes, atomically (a temporary file beside the target, flushed to disk,
renamed over it), with the user's umask: `atomic_write`, `atomic_write_text`,
`atomic_write_by_name`. A failed write is an NNDSLError naming the file and the cause (a
full disk, a read-only folder); SIGINT and SIGTERM wait until the write ends
(`held_signals`).
"""

from __future__ import annotations

import errno
import math
import os
import signal
import stat
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npy

from nndsl.errors import NNDSLError
from nndsl.ir.check import human_bytes, machine_memory

# How far a compressed file may inflate beyond its size on disk. Real data rarely gets
# near it (a one-hot target compresses ~750:1, so 1 MiB of it may become 750 MiB); a zip
# bomb (4 MB of zeros claiming 4 GiB) does. A file saved uncompressed is never refused
# for it, only for memory.
INFLATE_ALLOWANCE = 1 << 30

# DEFLATE emits at most about 1032 bytes per input byte: a member claiming more than
# that from its compressed size is lying, whatever it decompresses to.
_DEFLATE_RATIO = 1032

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class BadArchive(ValueError):
    """Damage in an archive (not a size refusal): the caller says what the file is for."""


class MissingFile(NNDSLError):
    """The named file does not exist (a caller may word this one its own way)."""


def show_path(path: str | os.PathLike[str]) -> str:
    """`path` safe to print and to write to any file: control characters, lone
    surrogates and other unprintables as Python escapes (`a\\x00b.csv`, `\\udc80.csv`)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def open_regular(
    path: str | os.PathLike[str],
    what: str = "file",
    shown: str | None = None,
    *,
    hint: str | None = None,
) -> IO[bytes]:
    """`path` opened for reading in binary, when it names a regular file.

    what: what the file is for, in messages ("data file", "weights file").
    shown: the path as the user wrote it (default: `path`). Every refusal is an
    NNDSLError naming it; a FIFO is refused at once (opened non-blocking, then checked).
    hint: the hint when the file does not exist (a MissingFile error).
    """
    shown = show_path(shown if shown is not None else path)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0) | nonblock
    try:
        fd = os.open(path, flags)
    except UnicodeError:  # before ValueError, its base class
        raise NNDSLError(
            f"the {what} name '{shown}' cannot be a file name on this system "
            "(it holds a character with no encoding, such as a lone surrogate)"
        ) from None
    except ValueError:  # "embedded null byte"
        raise NNDSLError(
            f"the {what} name '{shown}' contains a NUL character, which no file name can hold"
        ) from None
    except FileNotFoundError:
        raise MissingFile(
            f"cannot find {what} '{shown}' (looked for {show_path(os.path.abspath(path))})",
            hint=hint,
        ) from None
    except IsADirectoryError:
        raise NNDSLError(f"{what} '{shown}' is a folder, not a file") from None
    except OSError as e:
        raise NNDSLError(f"cannot read {what} '{shown}': {e.strerror or e}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NNDSLError(
                f"{what} '{shown}' is {kind}, not a regular file",
                hint="name a file saved on disk",
            )
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(
    path: str | os.PathLike[str],
    what: str = "file",
    shown: str | None = None,
    limit: int | None = None,
    *,
    hint: str | None = None,
) -> bytes:
    """The bytes of regular file `path` (see `open_regular`), no more than its size when
    opened: a file that grows while read, or a /proc file that claims more, stops there.
    limit: refuse, before reading, a file larger than this many bytes.
    hint: the hint when the file does not exist (see `open_regular`)."""
    with open_regular(path, what, shown, hint=hint) as f:
        size = os.fstat(f.fileno()).st_size
        if limit is not None and size > limit:
            raise NNDSLError(
                f"{what} '{show_path(shown if shown is not None else path)}' is "
                f"{human_bytes(size)}, more than the {human_bytes(limit)} nndsl reads"
            )
        return f.read(size)


def decode_utf8(data: bytes, path: str | os.PathLike[str], shown: str, hint: str) -> str:
    """`data`, the bytes of file `path`, as UTF-8 text (a byte-order mark dropped), or an
    error located at the first byte that is not UTF-8 (its line and column)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise NNDSLError(
            f"{shown} is not UTF-8 text (line {line}, byte {e.start})",
            path=os.fspath(path),
            line=line,
            column=column,
            source=data.decode("utf-8", "replace"),
            hint=hint,
        ) from None


def check_claim(
    total: int,
    path: str | os.PathLike[str],
    what: str,
    real_size: int,
    need: int | None = None,
) -> None:
    """Refuse a file whose arrays claim `total` bytes when read: more than its
    `real_size` on disk plus INFLATE_ALLOWANCE, or (with what the caller then makes of
    them, `need`, default `total`) more than this machine's memory."""
    shown = show_path(path)
    memory = machine_memory()
    need = total if need is None else need
    if need > memory:
        raise NNDSLError(
            f"{what} '{shown}' claims {human_bytes(total)} of arrays"
            + (f" (loading needs {human_bytes(need)})" if need != total else "")
            + f"; this machine has {human_bytes(memory)}"
        )
    if total > real_size + INFLATE_ALLOWANCE:
        raise NNDSLError(
            f"{what} '{shown}' claims {human_bytes(total)} of arrays, inflated from "
            f"{human_bytes(real_size)} on disk; nndsl refuses to inflate a file by more "
            f"than {human_bytes(INFLATE_ALLOWANCE)}",
            hint="a genuine file loads when saved uncompressed (np.savez, not savez_compressed)",
        )


# ------------------------------------------------------------------ .npz archives


@dataclass(frozen=True)
class ArrayInfo:
    """What an `.npy` member's header says, already checked against the member."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int  # what reading it allocates (0 for object arrays: never read)
    member: zipfile.ZipInfo

    @property
    def pickled(self) -> bool:
        return self.dtype.hasobject


class NpzArchive:
    """An `.npz` file opened for checked reading (a context manager).

    arrays: name -> ArrayInfo for each `.npy` member (name without `.npy`), from headers.
    foreign: names of members that are not `.npy` files (a torch.save zip's `data.pkl`).
    size: the file's size on disk.
    Damage raises BadArchive; a header that claims more than its member holds, an
    NNDSLError naming the file, the array and the size it claims.
    """

    def __init__(self, path: str | os.PathLike[str], what: str, shown: str | None = None):
        self.shown = show_path(shown if shown is not None else path)
        self.what = what
        self.file = open_regular(path, what, shown)
        try:
            self.size = os.fstat(self.file.fileno()).st_size
            try:
                self.zip = zipfile.ZipFile(self.file)
            except Exception as e:  # BadZipFile, OSError, struct.error...: not a zip
                raise BadArchive(_why(e)) from None
            self.arrays: dict[str, ArrayInfo] = {}
            self.foreign: list[str] = []
            for info in self.zip.infolist():
                self._add(info)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        zip_ = getattr(self, "zip", None)
        if zip_ is not None:
            zip_.close()
        self.file.close()

    @property
    def claimed(self) -> int:
        """Bytes that reading every array would allocate."""
        return sum(a.nbytes for a in self.arrays.values())

    def check_claim(self, names: list[str] | None = None, need: int | None = None) -> None:
        """Refuse (see `check_claim`) before reading `names` (default: every array)."""
        chosen = self.arrays.values() if names is None else [self.arrays[n] for n in names]
        check_claim(sum(a.nbytes for a in chosen), self.shown, self.what, self.size, need)

    def _add(self, info: zipfile.ZipInfo) -> None:
        if info.header_offset + info.compress_size > self.size:
            raise BadArchive(f"member '{info.filename}' lies past the end of the file")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise BadArchive(f"member '{info.filename}' is stored but sizes disagree")
        if (
            info.compress_type == zipfile.ZIP_DEFLATED
            and info.file_size > info.compress_size * _DEFLATE_RATIO + 1024
        ):
            raise NNDSLError(
                f"{self.what} '{self.shown}': member '{show_path(info.filename)}' claims "
                f"{human_bytes(info.file_size)} from {human_bytes(info.compress_size)} "
                "compressed, more than compression can produce (a damaged or hostile file)"
            )
        if not info.filename.endswith(".npy"):
            self.foreign.append(info.filename)
            return
        name = info.filename[: -len(".npy")]
        try:
            with self.zip.open(info) as fp:
                shape, dtype, start = _header(fp)
        except BadArchive:
            raise
        except Exception as e:  # zipfile, zlib and numpy raise many kinds for damage
            raise BadArchive(f"array '{show_path(name)}': {_why(e)}") from None
        # at least a byte per element: a zero-width dtype (V0, S0) holding 10**18 of
        # them must not pass as free
        nbytes = 0 if dtype.hasobject else math.prod(shape) * max(dtype.itemsize, 1)
        held = info.file_size - start
        if nbytes > held:
            raise NNDSLError(
                f"{self.what} '{self.shown}': array '{show_path(name)}' claims shape "
                f"{shape} of {dtype} ({human_bytes(nbytes)}), but the file holds "
                f"{human_bytes(held)} for it (a damaged or hostile file)"
            )
        self.arrays[name] = ArrayInfo(name, shape, dtype, nbytes, info)

    def read(self, name: str) -> np.ndarray:
        """Array `name`, read (never unpickled) after its header was checked: it
        allocates `arrays[name].nbytes` and decompresses no more than that."""
        info = self.arrays[name]
        if info.pickled:
            raise BadArchive(f"array '{show_path(name)}' holds Python objects (pickled)")
        try:
            with self.zip.open(info.member) as fp:
                return npy.read_array(fp, allow_pickle=False)
        except MemoryError:
            raise NNDSLError(
                f"not enough memory to read {self.what} '{self.shown}': array "
                f"'{show_path(name)}' needs {human_bytes(info.nbytes)}"
            ) from None
        except Exception as e:
            raise BadArchive(f"array '{show_path(name)}': {_why(e)}") from None


def _header(fp: IO[bytes]) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, offset of the data) from an `.npy` header; nothing more is read."""
    version = npy.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = npy.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = npy.read_array_header_2_0(fp)
    else:
        raise BadArchive(f"unknown .npy format version {version}")
    if any(not isinstance(n, int) or not 0 <= n <= sys.maxsize for n in shape):
        raise BadArchive(f"invalid shape {shape}")
    return tuple(shape), dtype, fp.tell()


def _why(e: BaseException) -> str:
    return str(e) or type(e).__name__


# ------------------------------------------------------------------ writing


def atomic_write(path: str | Path, write: Any) -> None:
    """Call `write(fileobj)` on a temporary file beside `path`, fsync, then rename. An
    OSError (a full disk, a read-only folder) is an NNDSLError naming the file and the
    cause; the previous file, if any, is left as it was."""
    path = Path(path)
    with held_signals(), _write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            # mkstemp makes the file private (0600); a file written the ordinary way gets
            # the user's umask (0644 for most), and so does this one
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: put it straight back
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_by_name(path: str | Path, write: Callable[[str], None], suffix: str = "") -> None:
    """`write(temporary path)` beside `path`, then rename it into place: for writers that
    want a file name, not a file object (matplotlib's savefig, ONNX export). `suffix`
    ends the temporary name, for writers that choose a format by it ('.png')."""
    path = Path(path)
    with held_signals(), _write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            os.close(fd)
            write(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def is_temporary(name: str) -> bool:
    """Whether `name` is one of the writers' temporary files (`.NAME.RANDOM.tmp[.SUFFIX]`):
    left behind only by a process killed while writing, never a finished file."""
    return name.startswith(".") and ".tmp" in name


# Why a write failed, as the user can act on it.
_FREE = "free some space, or write elsewhere"
_WRITE_CAUSES = {
    # first: where EDQUOT is missing, ENOSPC's entry below replaces this one
    getattr(errno, "EDQUOT", errno.ENOSPC): ("the disk quota is used up", _FREE),
    errno.ENOSPC: ("the disk is full", _FREE),
    errno.EROFS: ("the file system is read-only", "write elsewhere"),
    errno.EACCES: ("permission denied", "write elsewhere, or make the folder writable"),
    errno.EPERM: ("permission denied", "write elsewhere, or make the folder writable"),
    errno.EBUSY: ("the file or device is busy", "try again, or write elsewhere"),
}


def write_error(path: str | Path, e: OSError, doing: str = "write") -> NNDSLError:
    """`e`, met trying to `doing` `path`, as one message: the file and the cause."""
    cause, hint = _WRITE_CAUSES.get(e.errno, (e.strerror or type(e).__name__, None))
    return NNDSLError(f"cannot {doing} {show_path(path)}: {cause}", hint=hint)


@contextmanager
def _write_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise write_error(path, e) from None
    except Exception as e:
        # a signal held off would not land inside the writer; but one the writer met
        # (closing a half-written zip after a KeyboardInterrupt raises ValueError) must
        # stay the interruption it was, not become an error about a closed file
        interrupt = _interruption_in(e)
        if interrupt is not None:
            raise interrupt from None
        raise


def _interruption_in(e: BaseException) -> KeyboardInterrupt | None:
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None


@contextmanager
def held_signals() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends, then act as they would have: a file
    is written whole or not at all, never abandoned halfway with its writer's buffers
    (zipfile's, numpy's) in a state that raises on the way out. Main thread only (the one
    signals reach); elsewhere the block just runs."""
    signals = (signal.SIGINT, signal.SIGTERM)
    # a handler set outside Python (getsignal gives None) could not be put back
    if threading.current_thread() is not threading.main_thread() or any(
        signal.getsignal(s) is None for s in signals
    ):
        yield
        return
    held: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(held):  # each once, in the order they came
            signal.raise_signal(signum)
