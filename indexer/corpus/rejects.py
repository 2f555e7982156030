"""Rejects files: every rejected line with its errors, so bad data can be fixed and re-fed.

``<out>/rejects/<file>.rejects.jsonl`` (``pins.rejects.jsonl``,
``judgements/interests.rejects.jsonl``), one JSON object per rejected line:
``{"file", "line", "id", "errors": [{"field", "code", "reason"}], "raw", "raw_bytes",
"raw_truncated"}`` plus ``"raw_base64"`` (the exact bytes) when the line is not valid UTF-8.
``raw`` is the original line, or its first 1 KB when the line is larger than the field limit.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import BinaryIO

import orjson

from indexer.corpus.errors import Reject
from indexer.corpus.files import CORPUS_FILES

__all__ = ["RejectWriter", "rejects_path"]


def rejects_path(rejects_dir: Path, relpath: str) -> Path:
    stem = relpath[: -len(".jsonl")] if relpath.endswith(".jsonl") else relpath
    return rejects_dir / f"{stem}.rejects.jsonl"


class RejectWriter:
    """Opens a rejects file lazily on the first reject of a corpus file."""

    def __init__(self, out_dir: str | Path) -> None:
        self.dir = Path(out_dir) / "rejects"
        self._handles: dict[str, BinaryIO] = {}
        self.written: dict[str, int] = {}

    def clear_stale(self) -> None:
        """Remove rejects files of an earlier run (only the names this writer would produce)."""
        for spec in CORPUS_FILES:
            p = rejects_path(self.dir, spec.relpath)
            if p.is_file():
                p.unlink()

    def __call__(self, reject: Reject) -> None:
        fh = self._handles.get(reject.file)
        if fh is None:
            path = rejects_path(self.dir, reject.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = self._handles[reject.file] = open(path, "wb")
        try:
            raw_text = reject.raw.decode("utf-8")
            exact = True
        except UnicodeDecodeError:
            raw_text = reject.raw.decode("utf-8", "replace")
            exact = False
        row = {
            "file": reject.file,
            "line": reject.line,
            "id": reject.record_id,
            "errors": [{"field": e.field, "code": e.code, "reason": e.reason}
                       for e in reject.errors],
            "raw": raw_text,
            "raw_bytes": reject.raw_size,
            "raw_truncated": reject.truncated,
        }
        if not exact:
            row["raw_base64"] = base64.b64encode(reject.raw).decode("ascii")
        fh.write(orjson.dumps(row) + b"\n")
        self.written[reject.file] = self.written.get(reject.file, 0) + 1

    def close(self) -> None:
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()

    def __enter__(self) -> "RejectWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
