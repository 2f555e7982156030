"""Write-ahead log (translog) of an embedded index.

Why it exists: segments are immutable and expensive to write, so they are written only on flush.
Between flushes every acknowledged write lives only in the translog; with
``index.translog.durability: request`` semantics a bulk request is acknowledged only after its
operations are fsynced here. On open, the engine loads the last commit point and replays the
translog from the generation recorded in that commit.

Layout of the translog directory::

    translog.ckp            JSON: current generation, oldest generation still needed, and the first
                            generation that has a per-generation checkpoint (absent before v2)
    translog-<gen>.tlog     one file per generation; appends go to the current (highest) one
    translog-<gen>.ckp      binary checkpoint of that generation: how many bytes / operations of
                            it are acknowledged (as OpenSearch's translog-N.ckp / translog.ckp)

Each record is framed as ``[u32 length LE][u32 CRC32(payload) LE][payload]``. One
:meth:`Translog.append` call (one bulk request) is encoded into a single buffer, written with one
``write`` and made durable with one ``fsync``; then the generation's checkpoint is advanced to the
new end and made durable with a second (tiny) sync, and only then does ``append`` return. So the
checkpoint never points past durable data, and everything up to it was acknowledged or about to be.

Checkpoint file: 1024 bytes, two 512-byte slots (one per disk sector). Each slot holds
``magic, version, counter, generation, offset, operations, max_seq_no`` and a CRC32; appends
overwrite the older slot in place (``pwrite`` + ``fdatasync``, no rename: one sync per request), and
open uses the valid slot with the higher counter. A write torn by a power loss therefore damages at
most the slot being written, and the other one still holds the previous checkpoint, which is just
as true (the torn write was not acknowledged). New checkpoint files are created whole with an
atomic rename. ``translog-<gen>.ckp`` of a sealed generation is final.

What open and replay conclude (``offset`` = the checkpoint's acknowledged end of a generation):

* bytes after ``offset`` in the current generation: a write that was never acknowledged (a crash
  between the data and the checkpoint sync, or a torn write). Harmless: they are cut off at open
  and a warning logged with the byte count (:attr:`Translog.recovery_notes`).
* anything wrong before ``offset`` (a checksum mismatch, a truncated file, a record straddling the
  checkpoint, a count that does not match), a missing or unreadable checkpoint or generation file,
  bytes after the end of a sealed generation: acknowledged operations are lost or damaged.
  :class:`TranslogCorruptedError` names the file, the byte offset, the generation, the first lost
  operation and how many acknowledged operations are lost; the translog then refuses writes, so
  nothing can be appended behind damage.

Generations written before checkpoints existed (``translog.ckp`` version 1) still open as they
always did: a torn or checksum-failing tail of the current generation ends the replay (logged as a
note, since without a checkpoint a truncated acknowledged tail cannot be told from a torn write)
and damage followed by valid records raises. The first write after such an open creates the
checkpoint of the current generation, and every later generation has one.

Empty payloads are rejected: a zero-filled region (which some filesystems expose after a power
loss) would otherwise parse as an endless run of valid zero-length records, since CRC32(b"") == 0.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Generator

from .fsutil import TEMP_SUFFIX, atomic_write_bytes, atomic_write_json, ensure_dir, fsync_dir, read_json

__all__ = [
    "Translog",
    "TranslogError",
    "TranslogCorruptedError",
    "TranslogClosedError",
    "CHECKPOINT_FILE_NAME",
    "MAX_RECORD_SIZE",
]

logger = logging.getLogger("localnode.translog")

CHECKPOINT_FILE_NAME = "translog.ckp"
_CHECKPOINT_FORMAT = "pinsearch-translog"
_CHECKPOINT_VERSION = 2
_GENERATION_FILE_RE = re.compile(r"^translog-(\d+)\.tlog$")
_GEN_CHECKPOINT_RE = re.compile(r"^translog-(\d+)\.ckp$")

_HEADER = struct.Struct("<II")
#: A single record may not exceed this (the length field is 32 bits; keep a margin).
MAX_RECORD_SIZE = 0xFFFF_FFFF - _HEADER.size
_READ_BUFFER = 1 << 20
_NON_ZERO = re.compile(rb"[^\x00]")
#: CRC work allowed when searching for valid records behind a bad one (see _find_valid_frame).
_SCAN_BUDGET_BASE = 1 << 30  # about half a second of CRC32
_SCAN_BUDGET_FACTOR = 4

# Per-generation checkpoint slot: magic, format version, reserved, counter, generation, offset,
# operations, max_seq_no; followed by the CRC32 of those bytes.
_SLOT = struct.Struct("<4sHHQQQQq")
_SLOT_CRC = struct.Struct("<I")
_SLOT_MAGIC = b"PSTC"
_SLOT_VERSION = 1
_SLOT_STRIDE = 512
_SLOT_COUNT = 2
_CKP_FILE_SIZE = _SLOT_STRIDE * _SLOT_COUNT


class TranslogError(Exception):
    """Base class of translog failures."""


class TranslogClosedError(TranslogError):
    """The translog was closed, or closed itself after a failed write (see :meth:`Translog.append`)."""


class TranslogCorruptedError(TranslogError):
    """Acknowledged data is damaged or missing; carries what operators need to know.

    ``path``/``offset``: the file and byte offset of the damage (``offset`` None when it is about a
    whole file). Where checkpoints allow it: ``generation``, ``operation`` (index of the first
    lost operation within that generation), ``lost_operations`` (acknowledged operations that
    cannot be replayed, this one and every later one) and ``last_acknowledged_seq_no`` (as the
    newest checkpoint records it); each is None when unknown.
    """

    def __init__(self, path: Path, offset: int | None, reason: str, *, generation: int | None = None,
                 operation: int | None = None, lost_operations: int | None = None,
                 last_acknowledged_seq_no: int | None = None) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        self.generation = generation
        self.operation = operation
        self.lost_operations = lost_operations
        self.last_acknowledged_seq_no = last_acknowledged_seq_no
        super().__init__(self._message())

    @property
    def location(self) -> str:
        """``<file> at byte offset <n>: <reason>``."""
        where = f"{self.path}" if self.offset is None else f"{self.path} at byte offset {self.offset}"
        return f"{where}: {self.reason}"

    def _message(self) -> str:
        text = f"translog corrupted: {self.location}"
        if self.lost_operations is not None and self.generation is not None and self.operation is not None:
            text += (f"; {self.lost_operations} acknowledged operation(s) lost or damaged, from operation "
                     f"{self.operation} of generation {self.generation} on")
        return text

    def with_loss(self, *, generation: int, operation: int, lost_operations: int | None,
                  last_acknowledged_seq_no: int | None) -> "TranslogCorruptedError":
        """A copy with the loss details filled in (the reader knows the position, the log the totals)."""
        return TranslogCorruptedError(self.path, self.offset, self.reason, generation=generation,
                                      operation=operation, lost_operations=lost_operations,
                                      last_acknowledged_seq_no=last_acknowledged_seq_no)


@dataclass
class _Generation:
    """What we know about one generation file without a checkpoint: intact records and their end."""

    operations: int
    size: int


@dataclass(frozen=True)
class _Checkpoint:
    """One slot of ``translog-<gen>.ckp``: the acknowledged end of a generation."""

    counter: int
    generation: int
    offset: int
    operations: int
    max_seq_no: int

    def encode(self) -> bytes:
        body = _SLOT.pack(_SLOT_MAGIC, _SLOT_VERSION, 0, self.counter, self.generation, self.offset,
                          self.operations, self.max_seq_no)
        return body + _SLOT_CRC.pack(zlib.crc32(body))

    @staticmethod
    def decode(raw: bytes) -> "_Checkpoint | None":
        """The slot in ``raw`` (at least one slot long), or None if it is not a valid slot."""
        if len(raw) < _SLOT.size + _SLOT_CRC.size:
            return None
        body = raw[:_SLOT.size]
        if zlib.crc32(body) != _SLOT_CRC.unpack_from(raw, _SLOT.size)[0]:
            return None
        magic, version, _, counter, generation, offset, operations, max_seq_no = _SLOT.unpack(body)
        if magic != _SLOT_MAGIC or version != _SLOT_VERSION:
            return None
        return _Checkpoint(counter, generation, offset, operations, max_seq_no)


class Translog:
    """Append-only, fsynced, checksummed and checkpointed operation log split into generations.

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
        #: Damage found in acknowledged data (at open or by a replay): writes are refused after it.
        self._corruption: TranslogCorruptedError | None = None
        #: What open found and did, one human-readable line each (also logged).
        self.recovery_notes: list[str] = []
        # Scans of generations without a checkpoint, filled lazily by replay/_scanned.
        self._generations: dict[int, _Generation] = {}
        # Checkpoints of the retained generations that have one; the current one is kept up to date.
        self._checkpoints: dict[int, _Checkpoint] = {}
        self._tail_clean = False
        self._ckp_fd: int | None = None
        self._fd: int | None = None
        self._min_generation, self._generation, self._checkpointed_from = self._load_or_create_checkpoint()
        self._remove_leftovers()
        self._check_generations_present()
        self._load_generation_checkpoints()
        try:
            self._fd = os.open(self._path(self._generation), os.O_WRONLY | os.O_CLOEXEC)
            if self._generation in self._checkpoints:
                self._ckp_fd = os.open(self._ckp_path(self._generation), os.O_WRONLY | os.O_CLOEXEC)
                self._cut_unacknowledged_tail()
            else:
                self._note_legacy()
        except BaseException:
            self._close_fds()
            raise

    # ------------------------------------------------------------------ public API

    @property
    def generation(self) -> int:
        """The generation appends currently go to."""
        return self._generation

    @property
    def min_generation(self) -> int:
        """The oldest generation still retained (everything below was trimmed)."""
        return self._min_generation

    @property
    def last_acknowledged_seq_no(self) -> int | None:
        """The highest ``max_seq_no`` any retained checkpoint records (None if none does)."""
        with self._lock:
            values = [c.max_seq_no for c in self._checkpoints.values() if c.max_seq_no >= 0]
        return max(values) if values else None

    def append(self, records: Iterable[bytes | bytearray | memoryview], *, max_seq_no: int | None = None) -> None:
        """Durably append ``records``: one write and one fsync for the batch, then the checkpoint.

        When this returns, every record survives a crash or power loss and the generation's
        checkpoint covers it. ``max_seq_no`` (optional) is recorded in the checkpoint so that a
        later loss can be reported by sequence number. If a write or sync fails the translog
        closes itself (like OpenSearch's "tragic event"): after a failed fsync the kernel may have
        dropped the dirty pages, so nothing written since can be trusted. Reopening cuts off
        whatever the checkpoint does not cover.
        """
        frames, count = _encode(records)
        if count == 0:
            return
        with self._lock:
            self._check_writable()
            current = self._prepare_current_for_write()
            assert self._fd is not None
            try:
                _pwrite_all(self._fd, frames, current.offset)
                os.fsync(self._fd)          # 1. the records are durable ...
                advanced = replace(
                    current, counter=current.counter + 1, offset=current.offset + len(frames),
                    operations=current.operations + count,
                    max_seq_no=current.max_seq_no if max_seq_no is None else max(current.max_seq_no, max_seq_no))
                self._write_slot(advanced)  # 2. ... before the checkpoint says they exist
            except OSError as exc:
                self._fail(exc)
                raise TranslogError(f"translog append to {self._path(self._generation)} failed; "
                                    f"the translog is closed and must be reopened: {exc}") from exc
            self._checkpoints[self._generation] = advanced

    def replay(self, from_generation: int | None = None) -> Iterator[bytes]:
        """Yield every acknowledged record of generations ``>= from_generation`` in write order.

        ``from_generation`` is the generation stored in the last commit point (``None`` = all
        retained generations). Asking for a generation that was already trimmed, or one that does
        not exist yet, raises :class:`TranslogError` right away: either would silently lose
        operations. Damage to acknowledged records raises :class:`TranslogCorruptedError` when the
        iteration reaches it (after yielding every intact record before it).
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
            self._check_writable()
            sealed = self._prepare_current_for_write()  # never leave a torn tail in a sealed file
            new_generation = self._generation + 1
            new_fd = _create_empty_file(self._path(new_generation))
            try:
                fresh = _Checkpoint(1, new_generation, 0, 0, sealed.max_seq_no)
                new_ckp_fd = self._create_checkpoint_file(fresh)
                try:
                    self._write_checkpoint(new_generation, self._min_generation)
                except BaseException:
                    os.close(new_ckp_fd)
                    raise
            except BaseException:
                os.close(new_fd)
                raise
            self._close_fds()
            self._fd, self._ckp_fd = new_fd, new_ckp_fd
            self._generation = new_generation
            self._checkpoints[new_generation] = fresh
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
                self._checkpoints.pop(gen, None)
                self._path(gen).unlink(missing_ok=True)
                self._ckp_path(gen).unlink(missing_ok=True)
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
        Checkpointed generations are counted from their checkpoint; others are read once.
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
        """Close the write handles (idempotent). Appended data is already durable."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close_fds()

    def __enter__(self) -> "Translog":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Translog({str(self.directory)!r}, generation={self._generation}, "
                f"min_generation={self._min_generation}, closed={self._closed})")

    # ------------------------------------------------------------------ open / checkpoints

    def _path(self, generation: int) -> Path:
        return self.directory / f"translog-{generation}.tlog"

    def _ckp_path(self, generation: int) -> Path:
        return self.directory / f"translog-{generation}.ckp"

    def _generation_files(self, pattern: re.Pattern[str] = _GENERATION_FILE_RE) -> dict[int, Path]:
        found: dict[int, Path] = {}
        for entry in self.directory.iterdir():
            match = pattern.match(entry.name)
            if match:
                found[int(match.group(1))] = entry
        return found

    def _load_or_create_checkpoint(self) -> tuple[int, int, int | None]:
        """Return ``(min_generation, generation, checkpointed_from)``, creating a fresh translog if none.

        Without ``translog.ckp`` but with generation files (a crash while creating the translog,
        or a deleted file) the range is rebuilt from the files so no data is ignored.
        """
        checkpoint_path = self.directory / CHECKPOINT_FILE_NAME
        try:
            data = read_json(checkpoint_path, default=None)
        except ValueError as exc:
            raise TranslogCorruptedError(checkpoint_path, None, f"unreadable checkpoint: {exc}") from exc
        if data is not None:
            return _parse_checkpoint(checkpoint_path, data)
        files = self._generation_files()
        checkpointed = set(self._generation_files(_GEN_CHECKPOINT_RE))
        if files:
            low, high = min(files), max(files)
            first_checkpointed: int | None = None
            for gen in range(high, low - 1, -1):  # the run of checkpointed generations at the top
                if gen not in checkpointed:
                    break
                first_checkpointed = gen
        else:
            low = high = 1
            first_checkpointed = 1
            os.close(_create_empty_file(self._path(1)))
            os.close(self._create_checkpoint_file(_Checkpoint(1, 1, 0, 0, -1)))
        self._min_generation, self._generation, self._checkpointed_from = low, high, first_checkpointed
        self._write_checkpoint(high, low)
        return low, high, first_checkpointed

    def _write_checkpoint(self, generation: int, min_generation: int) -> None:
        atomic_write_json(self.directory / CHECKPOINT_FILE_NAME, {
            "format": _CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "generation": generation,
            "min_generation": min_generation,
            "checkpointed_from": self._checkpointed_from,
        })

    def _create_checkpoint_file(self, checkpoint: _Checkpoint) -> int:
        """Write a new ``translog-<gen>.ckp`` atomically (rename); return a write fd on it."""
        path = self._ckp_path(checkpoint.generation)
        first_slot = checkpoint.encode().ljust(_SLOT_STRIDE, b"\x00")
        atomic_write_bytes(path, first_slot.ljust(_CKP_FILE_SIZE, b"\x00"))
        return os.open(path, os.O_WRONLY | os.O_CLOEXEC)

    def _write_slot(self, checkpoint: _Checkpoint) -> None:
        """Overwrite the older slot of the current checkpoint file in place and sync it; lock held."""
        assert self._ckp_fd is not None
        _pwrite_all(self._ckp_fd, checkpoint.encode(), (checkpoint.counter % _SLOT_COUNT) * _SLOT_STRIDE)
        _fdatasync(self._ckp_fd)

    def _read_checkpoint_file(self, generation: int) -> _Checkpoint:
        path = self._ckp_path(generation)
        raw = path.read_bytes()
        slots = [_Checkpoint.decode(raw[i * _SLOT_STRIDE:(i + 1) * _SLOT_STRIDE]) for i in range(_SLOT_COUNT)]
        valid = [slot for slot in slots if slot is not None]
        if not valid:
            raise TranslogCorruptedError(path, None, "no valid checkpoint slot (checksum or format "
                                         "mismatch): how much of the generation was acknowledged is unknown",
                                         generation=generation)
        newest = max(valid, key=lambda slot: slot.counter)
        if newest.generation != generation:
            raise TranslogCorruptedError(path, None, f"checkpoint is for generation {newest.generation}",
                                         generation=generation)
        return newest

    def _remove_leftovers(self) -> None:
        """Delete what interrupted operations leave behind.

        Below ``min_generation``: files a crash during :meth:`trim_below` did not delete yet.
        Above ``generation``: files created by an interrupted :meth:`roll_generation` before the
        directory checkpoint was written; nothing is ever appended there, so they must be empty.
        """
        changed = False
        for gen, path in self._generation_files().items():
            if gen > self._generation and path.stat().st_size > 0:
                raise TranslogCorruptedError(path, None, f"generation {gen} is newer than the "
                                             f"checkpoint's generation {self._generation} but not empty")
            if gen < self._min_generation or gen > self._generation:
                path.unlink()
                changed = True
        for gen, path in self._generation_files(_GEN_CHECKPOINT_RE).items():
            if gen < self._min_generation or gen > self._generation:
                path.unlink()
                changed = True
        for path in self.directory.glob(f".*{TEMP_SUFFIX}"):
            if path.name.startswith((f".{CHECKPOINT_FILE_NAME}.", ".translog-")):
                path.unlink(missing_ok=True)
                changed = True
        if changed:
            fsync_dir(self.directory)

    def _check_generations_present(self) -> None:
        for gen in self._retained():
            if not self._path(gen).exists():
                raise TranslogCorruptedError(self._path(gen), None,
                                             f"generation file is missing (checkpoint retains "
                                             f"{self._min_generation}..{self._generation})",
                                             generation=gen)
            if self._checkpointed_from is not None and gen >= self._checkpointed_from \
                    and not self._ckp_path(gen).exists():
                raise TranslogCorruptedError(self._ckp_path(gen), None,
                                             "checkpoint file is missing: how much of the generation "
                                             "was acknowledged is unknown", generation=gen)

    def _load_generation_checkpoints(self) -> None:
        for gen in self._retained():
            if self._ckp_path(gen).exists():
                self._checkpoints[gen] = self._read_checkpoint_file(gen)

    def _cut_unacknowledged_tail(self) -> None:
        """Open of a checkpointed current generation: drop what the checkpoint does not cover."""
        assert self._fd is not None
        checkpoint = self._checkpoints[self._generation]
        path = self._path(self._generation)
        size = os.fstat(self._fd).st_size
        if size > checkpoint.offset:
            extra = size - checkpoint.offset
            os.ftruncate(self._fd, checkpoint.offset)
            os.fsync(self._fd)
            self._note(logging.WARNING,
                       f"translog {path}: discarded {extra} byte(s) after the last acknowledged operation "
                       f"(byte offset {checkpoint.offset}, {checkpoint.operations} operation(s) in generation "
                       f"{self._generation}): a write that was never acknowledged, torn by a crash")
        elif size < checkpoint.offset:
            # Acknowledged bytes are gone. Replay reports which operations; writes are refused now.
            self._corruption = TranslogCorruptedError(
                path, size, f"the file ends at byte {size} but its checkpoint records "
                f"{checkpoint.offset} acknowledged bytes ({checkpoint.operations} operations)",
                generation=self._generation)
        self._tail_clean = True

    def _note_legacy(self) -> None:
        legacy = [gen for gen in self._retained() if gen not in self._checkpoints]
        self._note(logging.INFO,
                   f"translog {self.directory}: generation(s) {legacy[0]}..{legacy[-1]} were written before "
                   "translog checkpoints: a truncated tail there cannot be told from a torn write and ends "
                   "the replay as it always did; the next write starts checkpointing")

    def _note(self, level: int, message: str) -> None:
        self.recovery_notes.append(message)
        logger.log(level, "%s", message)

    # ------------------------------------------------------------------ state helpers

    def _retained(self) -> list[int]:
        return list(range(self._min_generation, self._generation + 1))

    def _file_size(self, generation: int) -> int:
        return os.stat(self._path(generation)).st_size

    def _check_open(self) -> None:
        if self._closed:
            raise TranslogClosedError(f"translog {self.directory} is closed") from self._failure

    def _check_writable(self) -> None:
        self._check_open()
        if self._corruption is not None:
            raise self._corruption

    def _close_fds(self) -> None:
        for fd in (self._fd, self._ckp_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._ckp_fd = None

    def _fail(self, exc: BaseException) -> None:
        """Close after a failed write; callers holding the lock only."""
        self._failure = exc
        self._closed = True
        self._close_fds()

    def _scanned(self, generation: int) -> _Generation:
        """Record count and acknowledged length of a generation (checkpoint, or one read if none)."""
        checkpoint = self._checkpoints.get(generation)
        if checkpoint is not None:
            return _Generation(checkpoint.operations, checkpoint.offset)
        known = self._generations.get(generation)
        if known is None:
            operations, size = _drain(self._read_generation(generation, limit=None))
            known = self._generations[generation] = _Generation(operations, size)
        return known

    def _prepare_current_for_write(self) -> _Checkpoint:
        """Make the current generation safe to append to and return its checkpoint; lock held.

        A checkpointed generation is ready (open already cut its unacknowledged tail). One written
        before checkpoints is scanned once for the end of its intact records, a torn tail there
        truncated (and the truncation fsynced), and its checkpoint created.
        """
        checkpoint = self._checkpoints.get(self._generation)
        if checkpoint is not None:
            return checkpoint
        assert self._fd is not None
        current = self._scanned(self._generation)
        size = os.fstat(self._fd).st_size
        if size > current.size:
            os.ftruncate(self._fd, current.size)
            os.fsync(self._fd)
            self._note(logging.WARNING,
                       f"translog {self._path(self._generation)}: discarded {size - current.size} byte(s) of "
                       f"torn or damaged tail at byte offset {current.size} (generation {self._generation} "
                       "was written before checkpoints: whether they were acknowledged cannot be known)")
        self._tail_clean = True
        checkpoint = _Checkpoint(1, self._generation, current.size, current.operations, -1)
        self._ckp_fd = self._create_checkpoint_file(checkpoint)
        self._checkpoints[self._generation] = checkpoint
        self._generations.pop(self._generation, None)
        if self._checkpointed_from is None:
            self._checkpointed_from = self._generation
            self._write_checkpoint(self._generation, self._min_generation)
        return checkpoint

    # ------------------------------------------------------------------ reading

    def _replay_range(self, first: int, last: int) -> Iterator[bytes]:
        for gen in range(first, last + 1):
            with self._lock:
                checkpoint = self._checkpoints.get(gen)
                known = self._generations.get(gen)
                # Known generations are read up to their acknowledged end, which also hides a
                # write that is in flight right now.
                limit = known.size if known is not None else None
            try:
                if checkpoint is not None:
                    yield from self._read_checkpointed(gen, checkpoint, sealed=gen < last)
                    continue
                result = yield from self._read_generation(gen, limit)
            except TranslogCorruptedError as exc:
                raise self._record_corruption(exc, gen, last) from None
            with self._lock:
                retained = self._min_generation <= gen <= self._generation
                if retained and gen not in self._generations and gen not in self._checkpoints \
                        and not self._closed:
                    self._generations[gen] = _Generation(*result)

    def _record_corruption(self, exc: TranslogCorruptedError, gen: int, last: int) -> TranslogCorruptedError:
        """Fill in the loss totals from the checkpoints and refuse writes from now on."""
        with self._lock:
            if exc.operation is not None:
                lost: int | None = self._checkpoints[gen].operations - exc.operation \
                    if gen in self._checkpoints else None
                for later in range(gen + 1, last + 1):
                    if lost is None or later not in self._checkpoints:
                        lost = None
                        break
                    lost += self._checkpoints[later].operations
                seq_nos = [c.max_seq_no for c in self._checkpoints.values() if c.max_seq_no >= 0]
                exc = exc.with_loss(generation=gen, operation=exc.operation, lost_operations=lost,
                                    last_acknowledged_seq_no=max(seq_nos) if seq_nos else None)
            if self._corruption is None or self._corruption.generation == gen:
                self._corruption = exc
        return exc

    def _read_checkpointed(self, generation: int, checkpoint: _Checkpoint, sealed: bool
                           ) -> Generator[bytes, None, None]:
        """Yield the records a checkpoint covers; any damage before its offset is corruption."""
        path = self._path(generation)
        end = checkpoint.offset
        with open(path, "rb", buffering=_READ_BUFFER) as file:
            size = os.fstat(file.fileno()).st_size
            offset = operations = 0
            while offset < end:
                reason, payload = _read_one(file, end - offset)
                if reason is not None:
                    if size < end:
                        reason = (f"{reason}: the file ends at byte {size} but its checkpoint records "
                                  f"{end} acknowledged bytes ({checkpoint.operations} operations)")
                    elif "runs past the end" in reason:
                        reason = reason.replace("the end of the file", f"the checkpointed end {end}")
                    raise TranslogCorruptedError(path, offset, f"{reason} before the checkpointed end",
                                                 generation=generation, operation=operations)
                yield payload
                operations += 1
                offset += _HEADER.size + len(payload)
            if operations != checkpoint.operations:
                raise TranslogCorruptedError(
                    path, None, f"its checkpoint records {checkpoint.operations} operations but "
                    f"{operations} records end at its offset {end}", generation=generation,
                    operation=min(operations, checkpoint.operations))
            if sealed and size > end:
                raise TranslogCorruptedError(
                    path, end, f"{size - end} unexpected byte(s) after the end of a sealed generation "
                    "(its acknowledged records are intact)", generation=generation)

    def _read_generation(self, generation: int, limit: int | None
                         ) -> Generator[bytes, None, tuple[int, int]]:
        """Yield a generation's intact records (no checkpoint); return ``(operations, intact_size)``."""
        path = self._path(generation)
        with open(path, "rb", buffering=_READ_BUFFER) as file:
            end = os.fstat(file.fileno()).st_size if limit is None else limit
            tail_allowed = generation == self._generation
            return (yield from _read_frames(file, path, end, tail_allowed))


def _fdatasync(fd: int) -> None:
    """``fdatasync`` where the platform has it (the checkpoint's size never changes), else ``fsync``."""
    sync = getattr(os, "fdatasync", None)
    (sync or os.fsync)(fd)


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


def _parse_checkpoint(path: Path, data: Any) -> tuple[int, int, int | None]:
    """``(min_generation, generation, checkpointed_from)``; version 1 files have no checkpoints."""
    try:
        version = data.get("version")
        if data.get("format") != _CHECKPOINT_FORMAT or version not in (1, _CHECKPOINT_VERSION):
            raise ValueError(f"unsupported checkpoint format {data.get('format')!r} "
                             f"version {data.get('version')!r}")
        generation, min_generation = data["generation"], data["min_generation"]
        if not (isinstance(generation, int) and isinstance(min_generation, int)
                and 1 <= min_generation <= generation):
            raise ValueError(f"invalid generations {min_generation}..{generation}")
        checkpointed_from = data.get("checkpointed_from") if version >= 2 else None
        if checkpointed_from is not None and not (isinstance(checkpointed_from, int) and checkpointed_from >= 1):
            raise ValueError(f"invalid checkpointed_from {checkpointed_from!r}")
    except (AttributeError, KeyError, ValueError) as exc:
        raise TranslogCorruptedError(path, None, f"invalid checkpoint: {exc}") from exc
    return min_generation, generation, checkpointed_from


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
