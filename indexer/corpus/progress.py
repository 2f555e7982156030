"""A byte-based progress bar for long file scans, silent when not wanted.

Validation of a large corpus takes minutes; a bar (rich.progress on stderr) says how far it is.
Small files and ``quiet`` runs get a no-op, so tests and ``--json`` output stay clean.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ByteProgress", "byte_progress"]


class ByteProgress(Protocol):
    def update(self, done: int) -> None: ...
    def close(self) -> None: ...


class _Null:
    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Rich:
    def __init__(self, label: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(),
                                  console=Console(stderr=True), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def update(self, done: int) -> None:
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        self._progress.stop()


def byte_progress(label: str, total: int, *, enabled: bool, min_bytes: int) -> ByteProgress:
    if not enabled or total < min_bytes:
        return _Null()
    return _Rich(label, total)
