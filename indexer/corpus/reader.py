"""Streaming, validating reader of a corpus directory.

This is the one code path that turns corpus bytes into typed records: ``validate_corpus`` drains it
to build a report, the indexer iterates it (``read_valid_pins``) and gets only records that passed,
while every rejected line goes to an ``on_reject`` callback. So "validated" and "indexed" can never
disagree about what a good record is.

Memory: one line at a time (bounded by ``max_line_bytes``), plus the id sets needed for references.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from indexer.corpus.errors import CorpusFatalError, ErrorCode, RecordError, Reject
from indexer.corpus.fields import describe
from indexer.corpus.files import CORPUS_FILES, FILES_BY_KIND, CorpusFile
from indexer.corpus.linereader import FieldSizeScanner, RawLine, iter_lines
from indexer.corpus.progress import byte_progress
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
from indexer.corpus.references import ReferenceState, record_key
from indexer.corpus.report import ValidationReport
from indexer.corpus.schema import parse_record

__all__ = [
    "CorpusReader",
    "RejectHandler",
    "ValidationOptions",
    "iter_valid",
    "read_valid_pins",
]

RejectHandler = Callable[[Reject], None]

#: Which files must be read first so references of ``kind`` can be checked.
_PREREQUISITES: dict[str, tuple[str, ...]] = {"boards": (), "pins": ("boards",), "pages": ()}
_DEFAULT_PREREQ = ("boards", "pins")


@dataclass(frozen=True)
class ValidationOptions:
    """Knobs of validation; the defaults suit real corpora.

    ``max_field_bytes`` caps any single top-level field (1 MiB). Lines up to ``max_line_bytes``
    (default ``8 * max_field_bytes``) are parsed; longer lines are streamed and rejected without
    being held in memory. ``embedding_dim`` fixes the image embedding dimension; ``None`` takes it
    from the first valid embedding. ``interest_ids`` enables checking
    ``judgements/interests.jsonl`` against a taxonomy.
    """

    max_field_bytes: int = 1 << 20
    max_line_bytes: int | None = None
    max_errors: int = 1000
    head_bytes: int = 1024
    embedding_dim: int | None = None
    check_references: bool = True
    check_page_files: bool = True
    interest_ids: frozenset[int] | None = None
    progress: bool = True
    progress_min_bytes: int = 8 << 20

    @property
    def line_limit(self) -> int:
        if self.max_line_bytes is not None:
            return self.max_line_bytes
        return max(8 * self.max_field_bytes, 64 << 10)


class CorpusReader:
    """Reads a corpus directory file by file, yielding valid typed records.

    Reading a file whose records reference another file first scans that file (silently, to
    collect its valid ids) unless it has been read already; each file's rejects are reported once.
    Accumulates a :class:`ValidationReport` in :attr:`report`.
    """

    def __init__(self, corpus_dir: str | Path, *, options: ValidationOptions | None = None,
                 on_reject: RejectHandler | None = None,
                 report: ValidationReport | None = None) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.options = options or ValidationOptions()
        self.on_reject = on_reject
        self.report = report or ValidationReport(str(self.corpus_dir),
                                                 max_errors=self.options.max_errors)
        self.state = ReferenceState(self.corpus_dir,
                                    check_page_files=self.options.check_page_files,
                                    embedding_dim=self.options.embedding_dim,
                                    interest_ids=self.options.interest_ids,
                                    check_references=self.options.check_references)
        if self.options.embedding_dim is not None:
            self.state.embedding_dim_source = "set by ValidationOptions.embedding_dim"
        self._done: set[str] = set()
        self._checked_dir = False

    # -- whole-corpus checks ----------------------------------------------------------------------
    def check_directory(self) -> list[str]:
        """Fatal problems: unreadable directory or missing ``pins.jsonl``. Also fills file stats."""
        fatal: list[str] = []
        d = self.corpus_dir
        if not d.exists():
            fatal.append(f"corpus directory {d} does not exist")
        elif not d.is_dir():
            fatal.append(f"{d} is not a directory")
        else:
            try:
                os.listdir(d)
            except OSError as exc:
                fatal.append(f"corpus directory {d} is not readable: {exc.strerror or exc}")
        if not fatal:
            for spec in CORPUS_FILES:
                st = self.report.stats(spec.relpath)
                st.required = spec.required
                p = d / spec.relpath
                st.present = p.is_file()
                if st.present:
                    st.bytes = p.stat().st_size
                    if not os.access(p, os.R_OK):
                        fatal.append(f"{spec.relpath} is not readable")
                elif spec.required:
                    fatal.append(f"required file {spec.relpath} is missing from {d} "
                                 "(a corpus needs at least pins.jsonl)")
            if self.report.files.get("boards.jsonl") and \
                    not self.report.files["boards.jsonl"].present:
                self.report.warnings.append("boards.jsonl is absent: pin board_ids are not checked")
        for msg in fatal:
            if msg not in self.report.fatal:
                self.report.fatal.append(msg)
        self._checked_dir = True
        return fatal

    def _ensure_readable(self) -> None:
        if not self._checked_dir:
            self.check_directory()
        if self.report.fatal:
            raise CorpusFatalError(self.report.fatal)

    # -- typed iterators --------------------------------------------------------------------------
    def records(self, kind: str) -> Iterator[Record]:
        """Valid records of one file (``kind`` as in ``files.CORPUS_FILES``); none if absent."""
        if kind not in FILES_BY_KIND:
            raise ValueError(f"unknown corpus file kind {kind!r}; expected one of "
                             + ", ".join(FILES_BY_KIND))
        self._ensure_readable()
        if self.options.check_references:
            for pre in _PREREQUISITES.get(kind, _DEFAULT_PREREQ):
                if pre not in self._done:
                    for _ in self._scan(FILES_BY_KIND[pre]):
                        pass
        return self._scan(FILES_BY_KIND[kind])

    def pins(self) -> Iterator[Pin]:
        return self.records("pins")  # type: ignore[return-value]

    def boards(self) -> Iterator[Board]:
        return self.records("boards")  # type: ignore[return-value]

    def sessions(self) -> Iterator[Session]:
        return self.records("sessions")  # type: ignore[return-value]

    def pages(self) -> Iterator[Page]:
        return self.records("pages")  # type: ignore[return-value]

    def search_log(self) -> Iterator[SearchLogEntry]:
        return self.records("search_log")  # type: ignore[return-value]

    def related_log(self) -> Iterator[RelatedLogEntry]:
        return self.records("related_log")  # type: ignore[return-value]

    def annotation_judgements(self) -> Iterator[AnnotationJudgement]:
        return self.records("annotations")  # type: ignore[return-value]

    def interest_judgements(self) -> Iterator[InterestJudgement]:
        return self.records("interests")  # type: ignore[return-value]

    def cohesion_judgements(self) -> Iterator[CohesionJudgement]:
        return self.records("cohesion")  # type: ignore[return-value]

    def search_relevance_judgements(self) -> Iterator[SearchRelevanceJudgement]:
        return self.records("search_relevance")  # type: ignore[return-value]

    def related_relevance_judgements(self) -> Iterator[RelatedRelevanceJudgement]:
        return self.records("related_relevance")  # type: ignore[return-value]

    # -- the core loop ----------------------------------------------------------------------------
    def _scan(self, spec: CorpusFile) -> Iterator[Record]:
        path = self.corpus_dir / spec.relpath
        first_time = spec.kind not in self._done
        if not path.is_file():
            self._done.add(spec.kind)
            return
        # A re-read starts from a clean slate for this file's own ids (duplicates are judged
        # within the file); its counts and rejects were reported the first time.
        self.state.accepted[spec.kind] = {}
        self.state.rejected[spec.kind] = {}
        st = self.report.stats(spec.relpath)
        if first_time:
            st.present = True
            st.records = st.valid = st.rejected = 0
        opts = self.options
        bar = byte_progress(f"checking {spec.relpath}", path.stat().st_size,
                            enabled=opts.progress and first_time,
                            min_bytes=opts.progress_min_bytes)
        id_field = spec.id_field or ""
        try:
            with open(path, "rb") as fh:
                for n, raw in enumerate(iter_lines(fh, max_line_bytes=opts.line_limit,
                                                   head_bytes=opts.head_bytes,
                                                   capture_keys=(id_field,))):
                    if n % 4096 == 0:
                        bar.update(raw.end_offset)
                    if raw.data is not None and not raw.data.strip():
                        continue
                    record, errors, rid = self._check_line(spec, raw)
                    if first_time:
                        st.records += 1
                    if not errors:
                        assert record is not None
                        self.state.accept(spec.kind, record, raw.number)
                        if first_time:
                            st.valid += 1
                        yield record
                        continue
                    key = record_key(record) if record is not None else rid
                    self.state.reject(spec.kind, key, raw.number)
                    if first_time:
                        st.rejected += 1
                        self._report_reject(spec, raw, rid, errors)
        finally:
            bar.close()
            if first_time:
                self._done.add(spec.kind)
                if self.state.embedding_dim is not None:
                    self.report.embedding_dim = self.state.embedding_dim

    def _check_line(self, spec: CorpusFile, raw: RawLine
                    ) -> tuple[Record | None, list[RecordError], str | None]:
        file, line = spec.relpath, raw.number
        opts = self.options
        if raw.data is None:  # oversized line: never parsed
            assert raw.scan is not None
            rid = raw.scan.captured.get(spec.id_field or "")
            errs = [RecordError(file, line, rid, name, ErrorCode.OVERSIZED_FIELD,
                                f"field is {size:,} bytes, over the {opts.max_field_bytes:,}-byte "
                                "limit (max_field_bytes)")
                    for name, size in raw.scan.sizes if size > opts.max_field_bytes]
            if not errs:
                errs.append(RecordError(file, line, rid, None, ErrorCode.OVERSIZED_RECORD,
                                        f"line is {raw.size:,} bytes, over the "
                                        f"{opts.line_limit:,}-byte limit (max_line_bytes)"))
            return None, errs, rid
        data = raw.data
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            rid = _peek_id(data.decode("utf-8", "replace"), spec.id_field)
            return None, [RecordError(file, line, rid, _field_at(data, exc.start),
                                      ErrorCode.INVALID_UTF8,
                                      f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte "
                                      f"{exc.start} of the line ({exc.reason})")], rid
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            rid = _regex_id(data, spec.id_field)
            return None, [RecordError(file, line, rid, None, ErrorCode.MALFORMED_JSON,
                                      f"malformed JSON: {exc}")], rid
        if not isinstance(obj, dict):
            return None, [RecordError(file, line, None, None, ErrorCode.NOT_AN_OBJECT,
                                      f"each line must be a JSON object, got {describe(obj)}")], None
        rid_val = obj.get(spec.id_field) if spec.id_field else None
        rid = rid_val if isinstance(rid_val, str) else None
        record, checker = parse_record(spec.kind, obj, file, line, rid)
        if len(data) > opts.max_field_bytes:
            for name, value in obj.items():
                size = _json_size(value, opts.max_field_bytes)
                if size > opts.max_field_bytes:
                    checker.error(name, ErrorCode.OVERSIZED_FIELD,
                                  f"field is {size:,} bytes, over the {opts.max_field_bytes:,}-byte"
                                  " limit (max_field_bytes)")
        self.state.check(spec.kind, record, checker)
        return record, checker.errors, rid

    def _report_reject(self, spec: CorpusFile, raw: RawLine, rid: str | None,
                       errors: list[RecordError]) -> None:
        for e in errors:
            self.report.add_error(e)
        if self.on_reject is None:
            return
        if raw.data is None:
            head, truncated = raw.head, True
        elif raw.size > self.options.max_field_bytes:
            head, truncated = raw.data[: self.options.head_bytes], True
        else:
            head, truncated = raw.data, False
        self.on_reject(Reject(spec.relpath, raw.number, rid, list(errors), head, raw.size,
                              truncated))


def _json_size(value: Any, limit: int) -> int:
    """Bytes the value takes in JSON (strings measured as UTF-8 without escapes)."""
    if isinstance(value, str):
        if len(value) * 4 <= limit:
            return len(value)
        return len(value.encode("utf-8"))
    if value is None or isinstance(value, (bool, int, float)):
        return 8
    return len(orjson.dumps(value))


def _regex_id(data: bytes, id_field: str | None) -> str | None:
    """Best-effort record id of a line that is not valid JSON (a plain string value only)."""
    if not id_field:
        return None
    m = re.search(rb'"' + re.escape(id_field.encode()) + rb'"\s*:\s*"([^"\\]{1,256})"', data)
    return m.group(1).decode("utf-8", "replace") if m else None


def _peek_id(text: str, id_field: str | None) -> str | None:
    if not id_field:
        return None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    value = obj.get(id_field) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def _field_at(data: bytes, offset: int) -> str | None:
    """The top-level key whose value contains byte ``offset`` (for invalid UTF-8 messages)."""
    scanner = FieldSizeScanner()
    scanner.feed(data[:offset])
    return scanner.open_field()


def read_valid_pins(corpus_dir: str | Path, *, on_reject: RejectHandler | None = None,
                    options: ValidationOptions | None = None) -> Iterator[Pin]:
    """Valid pins of a corpus, streamed; rejected lines go to ``on_reject``.

    Raises :class:`CorpusFatalError` when the corpus cannot be read at all.
    """
    reader = CorpusReader(corpus_dir, options=options or ValidationOptions(progress=False),
                          on_reject=on_reject)
    return reader.pins()


def iter_valid(corpus_dir: str | Path, kind: str, *, on_reject: RejectHandler | None = None,
               options: ValidationOptions | None = None) -> Iterator[Record]:
    """Valid records of any corpus file (``kind``: ``pins``, ``sessions``, ``interests`` ...)."""
    reader = CorpusReader(corpus_dir, options=options or ValidationOptions(progress=False),
                          on_reject=on_reject)
    return reader.records(kind)
