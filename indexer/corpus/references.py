"""Rules that span records: unique ids, references between files, one embedding dimension.

The state kept is the set of accepted ids per file (plus the lines of rejected ones, for better
messages), never the records themselves, so validation streams. Files are checked in the order of
``files.CORPUS_FILES`` so every reference points at a file already seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from indexer.corpus.errors import ErrorCode
from indexer.corpus.fields import FieldChecker
from indexer.corpus.files import FILES_BY_KIND
from indexer.corpus.records import (
    AnnotationJudgement,
    Board,
    CohesionJudgement,
    InterestJudgement,
    Page,
    Pin,
    Record,
    RelatedLogEntry,
    RelatedRelevanceJudgement,
    SearchLogEntry,
    SearchRelevanceJudgement,
    Session,
)

__all__ = ["ReferenceState", "record_key"]


def record_key(record: Record) -> str | None:
    """The unique key of a record of a file with unique ids (pins, boards, pages)."""
    if isinstance(record, (Pin, Board)):
        return record.id
    if isinstance(record, Page):
        return record.url
    return None


@dataclass
class ReferenceState:
    """What later records are checked against.

    ``accepted[kind]`` maps each kept id to its line; ``rejected[kind]`` does the same for ids of
    rejected records so a dangling reference can say *why* the target is missing. A kind absent
    from ``accepted`` was not read (file missing): references into it are not checked.
    """

    corpus_dir: Path
    check_page_files: bool = True
    check_references: bool = True
    embedding_dim: int | None = None
    embedding_dim_source: str | None = None
    interest_ids: frozenset[int] | None = None
    accepted: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: dict[str, dict[str, int]] = field(default_factory=dict)

    def start(self, kind: str) -> None:
        self.accepted.setdefault(kind, {})
        self.rejected.setdefault(kind, {})

    # -- checks -----------------------------------------------------------------------------------
    def check(self, kind: str, record: Record, c: FieldChecker) -> None:
        key = record_key(record)
        if key and kind in self.accepted:
            first = self.accepted[kind].get(key)
            if first is not None:
                fld = FILES_BY_KIND[kind].id_field
                c.error(fld, ErrorCode.DUPLICATE_ID,
                        f"duplicate {fld} {key!r}: first kept at line {first}")
        if isinstance(record, Pin):
            self._refs(c, "boards", ((f"board_ids[{i}]", b) for i, b in enumerate(record.board_ids)))
            if record.image_embedding is not None:
                dim = len(record.image_embedding)
                if self.embedding_dim is not None and dim != self.embedding_dim:
                    c.error("image_embedding", ErrorCode.DIMENSION_MISMATCH,
                            f"has {dim} dimensions, expected {self.embedding_dim} "
                            f"({self.embedding_dim_source})")
        elif isinstance(record, Page):
            if record.path is not None and self.check_page_files:
                if not (self.corpus_dir / record.path).is_file():
                    c.error("path", ErrorCode.DANGLING_REFERENCE,
                            f"file {record.path!r} does not exist under the corpus directory")
        elif isinstance(record, Session):
            self._refs(c, "pins", ((f"events[{i}].pin_id", e.pin_id)
                                   for i, e in enumerate(record.events)))
        elif isinstance(record, (SearchLogEntry, RelatedLogEntry)):
            refs = [(f"impressions[{i}].pin_id", imp.pin_id)
                    for i, imp in enumerate(record.impressions)]
            if isinstance(record, RelatedLogEntry):
                refs.insert(0, ("query_pin", record.query_pin))
            self._refs(c, "pins", refs)
        elif isinstance(record, RelatedRelevanceJudgement):
            self._refs(c, "pins", [("query_pin", record.query_pin), ("pin_id", record.pin_id)])
        elif isinstance(record, (AnnotationJudgement, InterestJudgement, CohesionJudgement,
                                 SearchRelevanceJudgement)):
            self._refs(c, "pins", [("pin_id", record.pin_id)])
            if (isinstance(record, InterestJudgement) and self.interest_ids is not None
                    and record.interest_id >= 0 and record.interest_id not in self.interest_ids):
                c.error("interest_id", ErrorCode.DANGLING_REFERENCE,
                        f"interest {record.interest_id} is not in the taxonomy")

    def _refs(self, c: FieldChecker, target: str, refs: Iterable[tuple[str, str]]) -> None:
        accepted = self.accepted.get(target)
        if accepted is None or not self.check_references:
            return  # the target file is absent: nothing to check against (reported once)
        rejected = self.rejected.get(target, {})
        tfile = FILES_BY_KIND[target].relpath
        for path, ref in refs:
            if not ref or ref in accepted:
                continue
            line = rejected.get(ref)
            if line is not None:
                c.error(path, ErrorCode.DANGLING_REFERENCE,
                        f"refers to {ref!r}, which was rejected ({tfile} line {line})")
            else:
                c.error(path, ErrorCode.DANGLING_REFERENCE, f"refers to {ref!r}, not in {tfile}")

    # -- outcome ----------------------------------------------------------------------------------
    def accept(self, kind: str, record: Record, line: int) -> None:
        key = record_key(record)
        if key is not None:
            self.accepted.setdefault(kind, {})[key] = line
        if isinstance(record, Pin) and record.image_embedding is not None \
                and self.embedding_dim is None:
            self.embedding_dim = len(record.image_embedding)
            self.embedding_dim_source = f"set by the first embedding, pins.jsonl line {line}"

    def reject(self, kind: str, key: str | None, line: int) -> None:
        if key and key not in self.accepted.get(kind, {}):
            self.rejected.setdefault(kind, {}).setdefault(key, line)
