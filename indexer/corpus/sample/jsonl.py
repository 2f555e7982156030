"""Deterministic JSON Lines output and UTC timestamps for the sample generator.

orjson writes keys in insertion order and floats in shortest round-trip form, so the same records
give the same bytes on every run; nothing here reads the clock.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

__all__ = ["JsonlWriter", "iso"]


def iso(ts: int) -> str:
    """Epoch seconds to ISO 8601 UTC (``2024-03-01T12:00:05Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class JsonlWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "wb", buffering=1 << 20)
        self.count = 0

    def write(self, obj: dict[str, Any]) -> None:
        self._fh.write(orjson.dumps(obj))
        self._fh.write(b"\n")
        self.count += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
