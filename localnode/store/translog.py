"""Write-ahead log (translog) of an embedded index.

Why it exists: segments are immutable and expensive to write, so they are written only on flush.
Between flushes every acknowledged write lives only in the translog; with
``index.translog.durability: request`` semantics a bulk request is acknowledged only after its
operations are fsynced here. On open, the engine loads the last commit point and replays the
translog from the generation recorded in that commit.

Layout of the translog directory::

    translog.ckp            JSON checkpoint: current generation and oldest generation still needed
    translog-<gen>.tlog     one file per generation; appends go to the current (highest) one

Each record is framed as ``[u32 length LE][u32 CRC32(payload) LE][payload]``. One
:meth:`Translog.append` call (one bulk request) is encoded into a single buffer, written with one
``write`` and made durable with one ``fsync``; amortising the fsync over the batch is what makes
durable indexing fast.

Crash model: a crash can only damage the *unacknowledged* end of the current generation (the
record(s) whose write had not been fsynced). Replay therefore ends silently at a torn or
checksum-failing tail, and the next append or roll cuts the garbage off so that it can never end
up between good records. Damage anywhere else (a bad record followed by valid data, a bad record in
an older, sealed generation, a missing generation file) means acknowledged data was lost and
raises :class:`TranslogCorruptedError` instead of silently dropping it.

Empty payloads are rejected: a zero-filled region (which some filesystems expose after a power
loss) would otherwise parse as an endless run of valid zero-length records, since CRC32(b"") == 0.

Known limitation: unlike OpenSearch, the checkpoint does not record the synced offset (that would
cost extra fsyncs per request). If a power loss persists the pages of the last, unacknowledged
write out of order (a hole followed by intact records of that same write), the hole cannot be told
apart from mid-file corruption and opening raises rather than guessing.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Generator

from .fsutil import TEMP_SUFFIX, atomic_write_json, ensure_dir, fsync_dir, read_json

__all__ = [
    "Translog",
    "TranslogError",
    "TranslogCorruptedError",
    "TranslogClosedError",
    "CHECKPOINT_FILE_NAME",
    "MAX_RECORD_SIZE",
]

CHECKPOINT_FILE_NAME = "translog.ckp"
_CHECKPOINT_FORMAT = "pinsearch-translog"
_CHECKPOINT_VERSION = 1
_GENERATION_FILE_RE = re.compile(r"^translog-(\d+)\.tlog$")

_HEADER = struct.Struct("<II")
#: A single record may not exceed this (the length field is 32 bits; keep a margin).
MAX_RECORD_SIZE = 0xFFFF_FFFF - _HEADER.size
_READ_BUFFER = 1 << 20
_NON_ZERO = re.compile(rb"[^\x00]")
#: CRC work allowed when searching for valid records behind a bad one (see _find_valid_frame).
_SCAN_BUDGET_BASE = 1 << 30  # about half a second of CRC32
_SCAN_BUDGET_FACTOR = 4


class TranslogError(Exception):
    """Base class of translog failures."""


class TranslogClosedError(TranslogError):
    """The translog was closed, or closed itself after a failed write (see :meth:`Translog.append`)."""


class TranslogCorruptedError(TranslogError):
    """Acknowledged data is damaged or missing; carries the file and byte offset for operators."""

    def __init__(self, path: Path, offset: int | None, reason: str) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        where = f"{path}" if offset is None else f"{path} at byte offset {offset}"
        super().__init__(f"translog corrupted: {where}: {reason}")


@dataclass
class _Generation:
    """What we know about one generation file: intact records and where they end."""

    operations: int
    size: int


class Translog:
    """Append-only, fsynced, checksummed operation log split into generations.

    Thread-safe: mutations hold one lock. :meth:`replay` reads without the lock and is meant to run
    before appending (as the engine does on open); records appended while a replay of the same
    generation is running may or may not be part of it.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        ensure_dir(self.directory)
        self._lock = threading.Lock()
        self._closed = False
        self._failure: BaseException | None = None
        # Scans of retained generations, filled lazily by replay/_scanned and kept up to date by append.
        self._generations: dict[int, _Generation] = {}
        self._tail_clean = False
        self._min_generation, self._generation = self._load_or_create_checkpoint()
        self._remove_leftovers()
        self._check_generations_present()
        self._fd = os.open(self._path(self._generation), os.O_WRONLY | os.O_CLOEXEC)

    # ------------------------------------------------------------------ public API

    @property
    def generation(self) -> int:
        """The generation appends currently go to."""
        return self._generation

    @property
    def min_generation(self) -> int:
        """The oldest generation still retained (everything below was trimmed)."""
        return self._min_generation

    def append(self, records: Iterable[bytes | bytearray | memoryview]) -> None:
        """Durably append ``records``: one write and one fsync for the whole batch.

        When this returns, every record survives a crash or power loss. If the write or fsync
        fails the translog closes itself (like OpenSearch's "tragic event"): after a failed fsync
        the kernel may have dropped the dirty pages, so nothing written since can be trusted.
        Reopening scans the file and cuts off whatever was not fully written.
        """
        frames, count = _encode(records)
        if count == 0:
            return
        with self._lock:
            self._check_open()
            current = self._prepare_current_for_write()
            try:
                _pwrite_all(self._fd, frames, current.size)
                os.fsync(self._fd)
            except OSError as exc:
                self._fail(exc)
                raise TranslogError(f"translog append to {self._path(self._generation)} failed; "
                                    f"the translog is closed and must be reopened: {exc}") from exc
            current.size += len(frames)
            current.operations += count

    def replay(self, from_generation: int | None = None) -> Iterator[bytes]:
        """Yield every intact record of generations ``>= from_generation`` in write order.

        ``from_generation`` is the generation stored in the last commit point (``None`` = all
        retained generations). Asking for a generation that was already trimmed, or one that does
        not exist yet, raises :class:`TranslogError` right away: either would silently lose
        operations. A torn tail of the current generation ends the iteration quietly; damage
        anywhere else raises :class:`TranslogCorruptedError` when the iteration reaches it.
        """
        with self._lock:
            self._check_open()
            first = self._min_generation if from_generation is None else from_generation
            if first < self._min_generation:
                raise TranslogError(
                    f"cannot replay from generation {first}: generations below "
                    f"{self._min_generation} were already trimmed from {self.directory}")
            if first > self._generation:
                raise TranslogError(
                    f"cannot replay from generation {first}: the translog in {self.directory} "
                    f"only reaches generation {self._generation}")
            last = self._generation
        return self._replay_range(first, last)

    def roll_generation(self) -> int:
        """Seal the current generation and start a new, empty one; return its number.

        Used by flush: the commit point stores the returned generation, so everything written
        before the roll is covered by the commit and everything after it is replayed.
        """
        with self._lock:
            self._check_open()
            sealed = self._prepare_current_for_write()  # never leave a torn tail in a sealed file
            new_generation = self._generation + 1
            new_fd = _create_empty_file(self._path(new_generation))
            try:
                self._write_checkpoint(new_generation, self._min_generation)
            except BaseException:
                os.close(new_fd)
                raise
            os.close(self._fd)
            self._generations[self._generation] = sealed
            self._fd = new_fd
            self._generation = new_generation
            self._generations[new_generation] = _Generation(operations=0, size=0)
            self._tail_clean = True
            return new_generation

    def trim_below(self, generation: int) -> None:
        """Forget generations below ``generation`` (they are covered by a commit point).

        The checkpoint is updated first and the files deleted afterwards, so a crash in between
        only leaves unneeded files, which the next open removes.
        """
        with self._lock:
            self._check_open()
            if generation > self._generation:
                raise ValueError(f"cannot trim below generation {generation}: current generation "
                                 f"is {self._generation}")
            if generation <= self._min_generation:
                return
            old_min = self._min_generation
            self._write_checkpoint(self._generation, generation)
            self._min_generation = generation
            for gen in range(old_min, generation):
                self._generations.pop(gen, None)
                self._path(gen).unlink(missing_ok=True)
            fsync_dir(self.directory)

    def size_in_bytes(self) -> int:
        """Bytes on disk of all retained generation files."""
        with self._lock:
            self._check_open()
            return sum(self._file_size(gen) for gen in self._retained())

    def stats(self) -> dict[str, Any]:
        """The ``translog`` section of OpenSearch's ``_stats`` for this translog.

        "Uncommitted" means what a restart would replay: generations from the last trim point on.
        The engine trims right after each commit (no retention), so it equals the totals.
        May read not-yet-scanned generations once to count their records.
        """
        with self._lock:
            self._check_open()
            retained = self._retained()
            operations = sum(self._scanned(gen).operations for gen in retained)
            size = sum(self._file_size(gen) for gen in retained)
            oldest_mtime = os.stat(self._path(retained[0])).st_mtime
        age_ms = max(0, int((time.time() - oldest_mtime) * 1000))
        return {
            "operations": operations,
            "size_in_bytes": size,
            "uncommitted_operations": operations,
            "uncommitted_size_in_bytes": size,
            "earliest_last_modified_age": age_ms,
        }

    def close(self) -> None:
        """Close the write handle (idempotent). Appended data is already durable."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._fd)

    def __enter__(self) -> "Translog":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Translog({str(self.directory)!r}, generation={self._generation}, "
                f"min_generation={self._min_generation}, closed={self._closed})")

    # ------------------------------------------------------------------ open / checkpoint

    def _path(self, generation: int) -> Path:
        return self.directory / f"translog-{generation}.tlog"

    def _generation_files(self) -> dict[int, Path]:
        found: dict[int, Path] = {}
        for entry in self.directory.iterdir():
            match = _GENERATION_FILE_RE.match(entry.name)
            if match:
                found[int(match.group(1))] = entry
        return found

    def _load_or_create_checkpoint(self) -> tuple[int, int]:
        """Return ``(min_generation, generation)``, creating a fresh translog if there is none.

        Without a checkpoint but with generation files (a crash while creating the translog, or
        a deleted checkpoint) the range is rebuilt from the files so no data is ignored.
        """
        checkpoint_path = self.directory / CHECKPOINT_FILE_NAME
        try:
            data = read_json(checkpoint_path, default=None)
        except ValueError as exc:
            raise TranslogCorruptedError(checkpoint_path, None, f"unreadable checkpoint: {exc}") from exc
        if data is not None:
            return _parse_checkpoint(checkpoint_path, data)
        files = self._generation_files()
        if files:
            low, high = min(files), max(files)
        else:
            low = high = 1
            os.close(_create_empty_file(self._path(1)))
        self._write_checkpoint(high, low)
        return low, high

    def _write_checkpoint(self, generation: int, min_generation: int) -> None:
        atomic_write_json(self.directory / CHECKPOINT_FILE_NAME, {
            "format": _CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "generation": generation,
            "min_generation": min_generation,
        })

    def _remove_leftovers(self) -> None:
        """Delete what interrupted operations leave behind.

        Below ``min_generation``: files a crash during :meth:`trim_below` did not delete yet.
        Above ``generation``: a file created by an interrupted :meth:`roll_generation` before its
        checkpoint was written; nothing is ever appended there, so it must be empty.
        """
        changed = False
        for gen, path in self._generation_files().items():
            if gen > self._generation and path.stat().st_size > 0:
                raise TranslogCorruptedError(path, None, f"generation {gen} is newer than the "
                                             f"checkpoint's generation {self._generation} but not empty")
            if gen < self._min_generation or gen > self._generation:
                path.unlink()
                changed = True
        for path in self.directory.glob(f".{CHECKPOINT_FILE_NAME}.*{TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)
            changed = True
        if changed:
            fsync_dir(self.directory)

    def _check_generations_present(self) -> None:
        for gen in self._retained():
            if not self._path(gen).exists():
                raise TranslogCorruptedError(self._path(gen), None,
                                             f"generation file is missing (checkpoint retains "
                                             f"{self._min_generation}..{self._generation})")

    # ------------------------------------------------------------------ state helpers

    def _retained(self) -> list[int]:
        return list(range(self._min_generation, self._generation + 1))

    def _file_size(self, generation: int) -> int:
        return os.stat(self._path(generation)).st_size

    def _check_open(self) -> None:
        if self._closed:
            raise TranslogClosedError(f"translog {self.directory} is closed") from self._failure

    def _fail(self, exc: BaseException) -> None:
        """Close after a failed write; callers holding the lock only."""
        self._failure = exc
        self._closed = True
        try:
            os.close(self._fd)
        except OSError:
            pass

    def _scanned(self, generation: int) -> _Generation:
        """Record count and intact length of a generation, reading the file once if unknown."""
        known = self._generations.get(generation)
        if known is None:
            operations, size = _drain(self._read_generation(generation, limit=None))
            known = self._generations[generation] = _Generation(operations, size)
        return known

    def _prepare_current_for_write(self) -> _Generation:
        """Make the current generation safe to append to; lock held.

        The first time, the file is scanned to find the end of the intact records; a torn tail
        found there is truncated (and the truncation fsynced) before anything is written after it.
        """
        current = self._scanned(self._generation)
        if not self._tail_clean:
            if os.fstat(self._fd).st_size > current.size:
                os.ftruncate(self._fd, current.size)
                os.fsync(self._fd)
            self._tail_clean = True
        return current

    # ------------------------------------------------------------------ reading

    def _replay_range(self, first: int, last: int) -> Iterator[bytes]:
        for gen in range(first, last + 1):
            with self._lock:
                known = self._generations.get(gen)
                # Known generations are read up to their intact end, which also hides a write
                # that is in flight right now.
                limit = known.size if known is not None else None
            result = yield from self._read_generation(gen, limit)
            with self._lock:
                retained = self._min_generation <= gen <= self._generation
                if retained and gen not in self._generations and not self._closed:
                    self._generations[gen] = _Generation(*result)

    def _read_generation(self, generation: int, limit: int | None
                         ) -> Generator[bytes, None, tuple[int, int]]:
        """Yield a generation's intact records; return ``(operations, intact_size)``."""
        path = self._path(generation)
        with open(path, "rb", buffering=_READ_BUFFER) as file:
            end = os.fstat(file.fileno()).st_size if limit is None else limit
            tail_allowed = generation == self._generation
            return (yield from _read_frames(file, path, end, tail_allowed))


# ---------------------------------------------------------------------- framing


def _encode(records: Iterable[bytes | bytearray | memoryview]) -> tuple[bytes, int]:
    """Frame all records into one buffer, validating them before anything touches the file."""
    parts: list[bytes | bytearray | memoryview] = []
    count = 0
    for record in records:
        if not isinstance(record, (bytes, bytearray, memoryview)):
            raise TypeError(f"translog records must be bytes, not {type(record).__name__}")
        length = len(record) if not isinstance(record, memoryview) else record.nbytes
        if length == 0:
            raise ValueError("translog records must not be empty")
        if length > MAX_RECORD_SIZE:
            raise ValueError(f"translog record of {length} bytes exceeds {MAX_RECORD_SIZE}")
        parts.append(_HEADER.pack(length, zlib.crc32(record)))
        parts.append(record)
        count += 1
    return b"".join(parts), count


def _read_frames(file: Any, path: Path, end: int, tail_allowed: bool
                 ) -> Generator[bytes, None, tuple[int, int]]:
    """Parse frames in ``[0, end)``; on a bad frame decide between torn tail and corruption."""
    offset = 0
    operations = 0
    while offset < end:
        reason, payload = _read_one(file, end - offset)
        if reason is not None:
            _handle_bad_frame(file, path, offset, end, reason, tail_allowed)
            break
        yield payload
        operations += 1
        offset += _HEADER.size + len(payload)
    return operations, offset


def _read_one(file: Any, remaining: int) -> tuple[str | None, bytes]:
    """Read one frame; return ``(None, payload)`` or ``(reason it is bad, b"")``."""
    if remaining < _HEADER.size:
        return "truncated record header", b""
    header = file.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return "truncated record header", b""
    length, crc = _HEADER.unpack(header)
    if length == 0:
        return "zero record length", b""
    if length > remaining - _HEADER.size:
        return f"record length {length} runs past the end of the file", b""
    payload = file.read(length)
    if len(payload) < length:
        return "truncated record payload", b""
    if zlib.crc32(payload) != crc:
        return "record checksum mismatch", b""
    return None, payload


def _handle_bad_frame(file: Any, path: Path, offset: int, end: int, reason: str,
                      tail_allowed: bool) -> None:
    """Return if the bad frame at ``offset`` is a torn tail, raise if acknowledged data follows."""
    if not tail_allowed:
        raise TranslogCorruptedError(path, offset, f"{reason} in a sealed generation")
    following = _next_frame_by_declared_length(file, offset, end)
    if following is None:
        file.seek(offset)
        try:
            found = _find_valid_frame(file.read(end - offset))  # error path only: reads the rest
        except _ScanBudgetExceeded:
            raise TranslogCorruptedError(
                path, offset, f"{reason}; the {end - offset} bytes after it are too large and "
                "irregular to tell a torn tail from damaged acknowledged records") from None
        following = None if found is None else offset + found
    if following is not None:
        raise TranslogCorruptedError(
            path, offset, f"{reason}, followed by a valid record at byte offset {following}")


def _next_frame_by_declared_length(file: Any, offset: int, end: int) -> int | None:
    """Where the damaged frame's own length says the next frame starts, if one intact is there.

    This is the common corruption (a flipped payload bit) and is checked with two small reads,
    without loading the rest of the file.
    """
    file.seek(offset)
    header = file.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    declared = _HEADER.unpack(header)[0]
    candidate = offset + _HEADER.size + declared
    if declared == 0 or candidate + _HEADER.size >= end:
        return None
    file.seek(candidate)
    length, crc = _HEADER.unpack(file.read(_HEADER.size))
    if length == 0 or candidate + _HEADER.size + length > end:
        return None
    return candidate if zlib.crc32(file.read(length)) == crc else None


class _ScanBudgetExceeded(Exception):
    """The search for a valid frame after a bad one got too expensive to finish."""


def _find_valid_frame(data: bytes) -> int | None:
    """Offset (> 0) of the first position in ``data`` where an intact frame starts, if any.

    Every byte position is a candidate, so a damaged length field cannot hide the records behind
    it. Shortcuts keep the Python loop off most positions: a frame's length fits in the region, so
    its most significant byte is small (only positions three bytes before such a byte are tried),
    and a zero length is never valid (zero runs are skipped). Candidates whose length fits still
    cost a CRC over that length; on large random-looking garbage this grows quadratically, so the
    CRC work is capped and :class:`_ScanBudgetExceeded` raised when it runs out. Error path only.
    """
    size = len(data)
    last = size - _HEADER.size - 1  # a frame needs its header and at least one payload byte
    if last < 1:
        return None
    top_byte = _top_byte_finder(size)
    budget = _SCAN_BUDGET_BASE + _SCAN_BUDGET_FACTOR * size
    position = 1
    while position <= last:
        match = top_byte.search(data, position + 3)
        if match is None or match.start() - 3 > last:
            return None
        position = match.start() - 3
        length = _HEADER.unpack_from(data, position)[0]
        if length == 0:
            non_zero = _NON_ZERO.search(data, position)
            if non_zero is None:
                return None
            position = max(position + 1, non_zero.start() - 3)
            continue
        if position + _HEADER.size + length <= size:
            budget -= length
            if budget < 0:
                raise _ScanBudgetExceeded
            if _valid_frame_at(data, position):
                return position
        position += 1
    return None


def _top_byte_finder(size: int) -> re.Pattern[bytes]:
    """Regex for bytes that can be the most significant length byte of a frame in ``size`` bytes."""
    highest = min(0xFF, size >> 24)
    return re.compile(rb"[\x00-\x%02x]" % highest)


def _valid_frame_at(data: bytes, position: int) -> bool:
    if position + _HEADER.size >= len(data):
        return False
    length, crc = _HEADER.unpack_from(data, position)
    start = position + _HEADER.size
    if length == 0 or start + length > len(data):
        return False
    return zlib.crc32(memoryview(data)[start:start + length]) == crc


def _drain(generator: Generator[bytes, None, tuple[int, int]]) -> tuple[int, int]:
    """Run a frame reader to the end for its return value, discarding the payloads."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


# ---------------------------------------------------------------------- file helpers


def _parse_checkpoint(path: Path, data: Any) -> tuple[int, int]:
    try:
        if data.get("format") != _CHECKPOINT_FORMAT or data.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(f"unsupported checkpoint format {data.get('format')!r} "
                             f"version {data.get('version')!r}")
        generation, min_generation = data["generation"], data["min_generation"]
        if not (isinstance(generation, int) and isinstance(min_generation, int)
                and 1 <= min_generation <= generation):
            raise ValueError(f"invalid generations {min_generation}..{generation}")
    except (AttributeError, KeyError, ValueError) as exc:
        raise TranslogCorruptedError(path, None, f"invalid checkpoint: {exc}") from exc
    return min_generation, generation


def _create_empty_file(path: Path) -> int:
    """Create (or empty) a generation file and make its existence durable; return a write fd."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.fsync(fd)
        fsync_dir(path.parent)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """Write ``data`` at ``offset``; normally one syscall, looping only on a short write."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
