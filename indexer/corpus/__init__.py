"""The pinsearch corpus: its format (``docs/corpus-format.md``), typed records, validation and a
deterministic sample-corpus generator (``indexer.corpus.sample``)."""

from indexer.corpus.errors import CorpusFatalError, ErrorCode, RecordError, Reject
from indexer.corpus.files import CORPUS_FILES, CorpusFile
from indexer.corpus.reader import (
    CorpusReader,
    ValidationOptions,
    iter_valid,
    read_valid_pins,
)
from indexer.corpus.records import (
    AnnotationJudgement,
    Board,
    CohesionJudgement,
    Impression,
    InterestJudgement,
    Page,
    Pin,
    RelatedLogEntry,
    RelatedRelevanceJudgement,
    SearchLogEntry,
    SearchRelevanceJudgement,
    Session,
    SessionEvent,
)
from indexer.corpus.report import FileStats, ValidationReport
from indexer.corpus.validate import validate_corpus

__all__ = [
    "AnnotationJudgement",
    "Board",
    "CORPUS_FILES",
    "CohesionJudgement",
    "CorpusFatalError",
    "CorpusFile",
    "CorpusReader",
    "ErrorCode",
    "FileStats",
    "Impression",
    "InterestJudgement",
    "Page",
    "Pin",
    "RecordError",
    "Reject",
    "RelatedLogEntry",
    "RelatedRelevanceJudgement",
    "SearchLogEntry",
    "SearchRelevanceJudgement",
    "Session",
    "SessionEvent",
    "ValidationOptions",
    "ValidationReport",
    "iter_valid",
    "read_valid_pins",
    "validate_corpus",
]
