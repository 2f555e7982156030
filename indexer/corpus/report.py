"""The outcome of validating (or reading) a corpus.

Counts are exact; the error list is capped (``max_errors``) so a corpus with millions of bad lines
cannot exhaust memory, while ``error_total`` and the per-code counts still say how bad it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexer.corpus.errors import RecordError

__all__ = ["FileStats", "ValidationReport"]


@dataclass
class FileStats:
    """Per-file counts. ``records`` counts non-blank lines; ``valid + rejected == records``."""

    file: str
    present: bool = False
    required: bool = False
    records: int = 0
    valid: int = 0
    rejected: int = 0
    bytes: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "present": self.present, "required": self.required,
                "records": self.records, "valid": self.valid, "rejected": self.rejected,
                "bytes": self.bytes, "error_counts": dict(sorted(self.error_counts.items()))}


@dataclass
class ValidationReport:
    corpus_dir: str
    files: dict[str, FileStats] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)
    error_total: int = 0
    max_errors: int = 1000
    fatal: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    embedding_dim: int | None = None
    rejects_dir: str | None = None
    seconds: float = 0.0

    # -- accumulation -----------------------------------------------------------------------------
    def stats(self, file: str) -> FileStats:
        st = self.files.get(file)
        if st is None:
            st = self.files[file] = FileStats(file)
        return st

    def add_error(self, error: RecordError) -> None:
        self.error_total += 1
        st = self.stats(error.file)
        st.error_counts[error.code] = st.error_counts.get(error.code, 0) + 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)

    # -- views ------------------------------------------------------------------------------------
    @property
    def valid(self) -> int:
        return sum(s.valid for s in self.files.values())

    @property
    def rejected(self) -> int:
        return sum(s.rejected for s in self.files.values())

    @property
    def errors_truncated(self) -> bool:
        return self.error_total > len(self.errors)

    @property
    def ok(self) -> bool:
        """Usable and no rejected record."""
        return self.usable and self.rejected == 0

    @property
    def usable(self) -> bool:
        """Indexing can proceed (rejected records are skipped): nothing fatal and at least one valid pin."""
        return not self.unusable_reasons

    @property
    def unusable_reasons(self) -> list[str]:
        """Why nothing can be indexed: the fatal problems, or no valid pin in ``pins.jsonl``."""
        if self.fatal:
            return list(self.fatal)
        pins = self.files.get("pins.jsonl")
        if pins is None or not pins.present:
            return ["pins.jsonl was not read"]
        if pins.valid == 0:
            if pins.rejected == 0:
                return ["pins.jsonl has no records"]
            codes = ", ".join(f"{code}={n}" for code, n in sorted(pins.error_counts.items(), key=lambda kv: -kv[1]))
            return [f"no valid pin: all {pins.rejected} records of pins.jsonl were rejected"
                    + (f" (errors: {codes})" if codes else "")]
        return []

    @property
    def status(self) -> str:
        """``clean``, ``usable_with_rejects`` or ``unusable`` (``pinsearch validate``'s exit status 0, 3, 4)."""
        if not self.usable:
            return "unusable"
        return "clean" if self.rejected == 0 else "usable_with_rejects"

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus_dir": self.corpus_dir,
            "ok": self.ok,
            "usable": self.usable,
            "status": self.status,
            "unusable_reasons": self.unusable_reasons,
            "valid": self.valid,
            "rejected": self.rejected,
            "fatal": list(self.fatal),
            "warnings": list(self.warnings),
            "embedding_dim": self.embedding_dim,
            "rejects_dir": self.rejects_dir,
            "seconds": round(self.seconds, 3),
            "files": {name: st.to_dict() for name, st in self.files.items()},
            "error_total": self.error_total,
            "errors_truncated": self.errors_truncated,
            "errors": [e.to_dict() for e in self.errors],
        }

    def summary(self, max_lines: int = 20) -> str:
        """A few lines for humans: status, a table of files, the first errors."""
        lines: list[str] = []
        status = ("FATAL" if self.fatal else "UNUSABLE" if not self.usable else "OK" if self.ok
                  else f"usable, {self.rejected} record(s) rejected")
        lines.append(f"corpus {self.corpus_dir}: {status}")
        for msg in self.fatal:
            lines.append(f"  fatal: {msg}")
        if not self.fatal:
            for msg in self.unusable_reasons:
                lines.append(f"  unusable: {msg}")
        width = max((len(n) for n in self.files), default=10)
        for name, st in self.files.items():
            if not st.present:
                lines.append(f"  {name:<{width}}  absent" + (" (required)" if st.required else ""))
                continue
            codes = ", ".join(f"{k}={v}" for k, v in sorted(st.error_counts.items()))
            lines.append(f"  {name:<{width}}  {st.valid:>9} valid  {st.rejected:>7} rejected"
                         + (f"  ({codes})" if codes else ""))
        if self.embedding_dim is not None:
            lines.append(f"  image_embedding dimension: {self.embedding_dim}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for e in self.errors[:max_lines]:
            lines.append(f"  {e}")
        more = self.error_total - min(len(self.errors), max_lines)
        if more > 0:
            lines.append(f"  ... {more} more error(s)"
                         + (f"; see {self.rejects_dir}" if self.rejects_dir else ""))
        return "\n".join(lines)
