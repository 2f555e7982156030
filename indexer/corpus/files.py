"""The files a corpus directory may hold, in the order they are validated.

Order matters: references are checked against ids already validated, so boards come before pins
(``pin.board_ids``) and pins before everything that names a pin.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CORPUS_FILES", "CorpusFile", "FILES_BY_KIND", "JUDGEMENT_KINDS"]


@dataclass(frozen=True, slots=True)
class CorpusFile:
    kind: str
    relpath: str
    required: bool
    id_field: str | None
    """The field that names a record in messages; unique within the file when ``unique_id``."""
    unique_id: bool
    enables: str


CORPUS_FILES: tuple[CorpusFile, ...] = (
    CorpusFile("boards", "boards.jsonl", False, "id", True,
               "board names as pin text, BoardJoin co-occurrence, pin.board_ids checks"),
    CorpusFile("pins", "pins.jsonl", True, "id", True,
               "everything: the indexed documents"),
    CorpusFile("pages", "pages.jsonl", False, "url", True,
               "cohesion (landing-page text against the pin), page text for annotations"),
    CorpusFile("sessions", "sessions.jsonl", False, "user", False,
               "Pin2Vec (sessions as sentences), engagement popularity"),
    CorpusFile("search_log", "search_log.jsonl", False, "query", False,
               "position-bias estimates, click-derived labels and LTR training for search"),
    CorpusFile("related_log", "related_log.jsonl", False, "query_pin", False,
               "position-bias estimates and LTR training for Related Pins"),
    CorpusFile("annotations", "judgements/annotations.jsonl", False, "pin_id", False,
               "training and evaluation of the annotation scorer"),
    CorpusFile("interests", "judgements/interests.jsonl", False, "pin_id", False,
               "training and evaluation of the Pin2Interest ranker"),
    CorpusFile("cohesion", "judgements/cohesion.jsonl", False, "pin_id", False,
               "training and evaluation of the cohesion blender"),
    CorpusFile("search_relevance", "judgements/search_relevance.jsonl", False, "query", False,
               "offline search evaluation (ndcg@10) and LTR labels"),
    CorpusFile("related_relevance", "judgements/related_relevance.jsonl", False, "query_pin",
               False, "offline Related Pins evaluation and LTR labels"),
)

FILES_BY_KIND: dict[str, CorpusFile] = {f.kind: f for f in CORPUS_FILES}
JUDGEMENT_KINDS: tuple[str, ...] = tuple(f.kind for f in CORPUS_FILES
                                         if f.relpath.startswith("judgements/"))
