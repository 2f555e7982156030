"""Error values of corpus validation.

A bad record is data, not an exception: it is reported (file, line, record id, field, reason),
written to a rejects file and skipped, so one bad line never stops indexing. Only a corpus that
cannot be read at all raises :class:`CorpusFatalError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CorpusFatalError", "ErrorCode", "RecordError", "Reject"]


class ErrorCode:
    """Stable machine-readable error codes (counted per file in the report)."""

    MALFORMED_JSON = "malformed_json"
    INVALID_UTF8 = "invalid_utf8"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    BAD_FORMAT = "bad_format"
    DUPLICATE_ID = "duplicate_id"
    DANGLING_REFERENCE = "dangling_reference"
    OVERSIZED_FIELD = "oversized_field"
    OVERSIZED_RECORD = "oversized_record"
    DIMENSION_MISMATCH = "dimension_mismatch"
    ORDER = "out_of_order"
    MISSING_FILE = "missing_file"


@dataclass(slots=True)
class RecordError:
    """One problem with one record.

    ``file`` is the path relative to the corpus directory (``pins.jsonl``,
    ``judgements/interests.jsonl``); ``line`` is 1-based; ``field`` is a path into the record
    (``board_ids[2]``, ``events[3].ts``) or ``None`` for whole-line problems.
    """

    file: str
    line: int
    record_id: str | None
    field: str | None
    code: str
    reason: str

    def __str__(self) -> str:
        rid = f" id={self.record_id!r}" if self.record_id is not None else ""
        fld = f" field {self.field!r}" if self.field is not None else ""
        return f"{self.file}:{self.line}{rid}{fld}: {self.reason} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "id": self.record_id, "field": self.field,
                "code": self.code, "reason": self.reason}


@dataclass(slots=True)
class Reject:
    """A rejected line: its errors and its original bytes (only the head when the line is huge)."""

    file: str
    line: int
    record_id: str | None
    errors: list[RecordError]
    raw: bytes
    raw_size: int
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class CorpusFatalError(Exception):
    """The corpus cannot be read at all (missing ``pins.jsonl``, unreadable directory)."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))
