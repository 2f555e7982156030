"""Durable storage primitives of the embedded engine.

* :class:`Translog` - the fsynced write-ahead log that makes acknowledged writes survive crashes.
* :class:`DataDirLock` - one process per data directory, with a clear error for the second one.
* :mod:`.fsutil` - atomic whole-file replacement for checkpoints, commit points and manifests.
"""

from .fsutil import atomic_write_bytes, atomic_write_json, ensure_dir, fsync_dir, read_json
from .lock import LOCK_FILE_NAME, DataDirLock, DataDirLockedError
from .translog import (
    CHECKPOINT_FILE_NAME,
    MAX_RECORD_SIZE,
    Translog,
    TranslogClosedError,
    TranslogCorruptedError,
    TranslogError,
)

__all__ = [
    "CHECKPOINT_FILE_NAME",
    "LOCK_FILE_NAME",
    "MAX_RECORD_SIZE",
    "DataDirLock",
    "DataDirLockedError",
    "Translog",
    "TranslogClosedError",
    "TranslogCorruptedError",
    "TranslogError",
    "atomic_write_bytes",
    "atomic_write_json",
    "ensure_dir",
    "fsync_dir",
    "read_json",
]
