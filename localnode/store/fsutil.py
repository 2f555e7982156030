"""Small filesystem helpers for crash-safe metadata files.

Everything the store persists besides the translog itself (translog checkpoint, commit points,
segment manifests) is a small file that is rewritten as a whole. Rewriting in place is not safe:
a crash half-way leaves a file that is neither the old nor the new version. The pattern used here
is the classic one: write a temporary file *in the same directory* (so the rename cannot cross a
filesystem), fsync it, ``os.replace`` it over the target (atomic on POSIX), then fsync the
directory so the rename itself survives a power loss. A reader therefore always sees either the
complete old file or the complete new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_json", "ensure_dir", "fsync_dir", "read_json", "TEMP_SUFFIX"]

#: Suffix of the temporary files :func:`atomic_write_bytes` creates. A crash between creating
#: and renaming one leaves it behind; owners of a directory may delete ``.*.tmp`` leftovers.
TEMP_SUFFIX = ".tmp"

_MISSING: Any = object()


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (creations, renames, deletions) to stable storage.

    fsync on a file makes its *contents* durable, but the name pointing at it lives in the parent
    directory; without this a freshly created or renamed file can vanish after a power loss.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: str | os.PathLike[str]) -> None:
    """Create ``path`` (and missing parents) so that the new directories survive a power loss.

    A durable file inside a directory whose own entry was never fsynced into *its* parent can
    still disappear with the directory; so every directory created here is fsynced into its
    parent. Existing directories cost one ``stat``.
    """
    target = Path(path)
    if target.is_dir():
        return
    missing: list[Path] = []
    probe = target
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            pass  # created concurrently; still make its entry durable below
        fsync_dir(directory.parent)
    if not target.is_dir():
        raise NotADirectoryError(str(target))


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written (a single write may legally be short)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Replace ``path`` with ``data`` so that readers and crashes see the old or the new content.

    The temporary file is fsynced before the rename (otherwise the rename could be persisted
    before the data, exposing an empty file after a crash) and the directory after it.
    """
    target = Path(path)
    directory = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=directory)
    try:
        try:
            os.fchmod(fd, 0o644)  # mkstemp creates 0600; metadata files are ordinary files.
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write ``obj`` as UTF-8 JSON (see :func:`atomic_write_bytes`).

    Keys are sorted and the output indented so that the files are stable and easy to inspect
    by hand when debugging a data directory.
    """
    text = json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike[str], default: Any = _MISSING) -> Any:
    """Read a JSON file written by :func:`atomic_write_json`.

    With ``default`` given, a missing file returns it instead of raising ``FileNotFoundError``;
    that is the usual "first start, nothing committed yet" case. Malformed content always raises
    (``json.JSONDecodeError``/``UnicodeDecodeError``): atomic writes never produce it, so it
    means outside damage and must not be silently replaced by a default.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        if default is _MISSING:
            raise
        return default
    return json.loads(raw.decode("utf-8"))
