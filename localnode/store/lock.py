"""Exclusive ownership of an embedded data directory.

Two processes writing the same translog and segments would interleave records and overwrite
each other's commit points: silent corruption. The embedded engine therefore takes an exclusive
``flock`` on ``<data dir>/node.lock`` before touching anything, and a second process gets a clear
:class:`DataDirLockedError` instead.

``flock`` (rather than "create a lock file if absent") is used because the kernel drops the lock
when the holding process dies, however it dies: a SIGKILLed or OOM-killed process never leaves a
stale lock that a human has to delete. The lock file itself is never deleted either, since
unlinking a lock file while another process has it open would let two processes lock two
different inodes under the same name.

Caveats: locks are per open file description, so a ``fork()`` without ``exec`` shares the lock
with the child (the descriptor is close-on-exec, so ``subprocess`` children do not inherit it).
``flock`` on network filesystems may not be enforced across hosts.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

__all__ = ["DataDirLock", "DataDirLockedError", "LOCK_FILE_NAME"]

LOCK_FILE_NAME = "node.lock"


class DataDirLockedError(RuntimeError):
    """Another process (or another engine in this process) already owns the data directory."""

    def __init__(self, directory: Path, holder_pid: int | None) -> None:
        self.directory = directory
        self.holder_pid = holder_pid
        super().__init__(self._message(directory, holder_pid))

    @staticmethod
    def _message(directory: Path, holder_pid: int | None) -> str:
        if holder_pid is None:
            holder = "another process (pid unknown)"
        elif holder_pid == os.getpid():
            holder = f"this process (pid {holder_pid}) through another handle; open the engine once and share it"
        else:
            holder = f"process {holder_pid}"
        return (
            f"data directory {str(directory)!r} is locked by {holder}. "
            "Only one process may open an embedded data directory at a time. "
            "To share an index between processes, run `pinsearch serve` on this directory "
            "and connect the other processes to it over HTTP."
        )


class DataDirLock:
    """Non-blocking exclusive lock on ``<directory>/node.lock``, holding the owner's pid.

    Use as a context manager or call :meth:`acquire` / :meth:`release`. Acquiring fails
    immediately (never waits) because waiting for another process to close an index is never
    what an embedded user wants; they need to know it is in use.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lock."""
        return self._fd is not None

    def acquire(self) -> "DataDirLock":
        """Take the lock, creating the directory if needed; raise :class:`DataDirLockedError`."""
        if self._fd is not None:
            raise RuntimeError(f"lock on {self.directory} is already held by this DataDirLock")
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DataDirLockedError(self.directory, _read_pid(self.path)) from None
            raise
        try:
            _write_pid(fd)
        except BaseException:
            os.close(fd)  # closing the descriptor drops the flock
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (idempotent). The pid is cleared so the file no longer names us."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # cosmetic only; the lock itself goes away with the descriptor
        finally:
            os.close(fd)

    def __enter__(self) -> "DataDirLock":
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"DataDirLock({str(self.directory)!r}, held={self.held})"


def _write_pid(fd: int) -> None:
    """Record our pid. Write first, then cut to length, so readers never see an empty file."""
    data = f"{os.getpid()}\n".encode("ascii")
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def _read_pid(path: Path) -> int | None:
    """Best-effort pid of the current holder, for the error message only."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
