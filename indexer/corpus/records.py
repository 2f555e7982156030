"""Typed records of a pinsearch corpus, one dataclass per JSON Lines file.

The validator (``schema.py``) turns each JSON object into one of these after checking it, so the
indexer and the ranking jobs work with checked, typed values (``datetime`` not strings, tuples not
lists) and never re-validate. ``docs/corpus-format.md`` documents every field; keep the two in step.
Optional fields absent from the JSON (or ``null``) take the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Union

__all__ = [
    "ACTIONS",
    "DEVICES",
    "AnnotationJudgement",
    "Board",
    "CohesionJudgement",
    "Impression",
    "InterestJudgement",
    "Page",
    "Pin",
    "Record",
    "RelatedLogEntry",
    "RelatedRelevanceJudgement",
    "SearchLogEntry",
    "SearchRelevanceJudgement",
    "Session",
    "SessionEvent",
]

Action = Literal["view", "click", "save", "closeup"]
Device = Literal["mobile", "desktop", "tablet"]

#: Session event actions, weakest engagement first.
ACTIONS: tuple[str, ...] = ("view", "closeup", "click", "save")
#: Devices of the impression logs; position bias is estimated per device.
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")


@dataclass(slots=True)
class Pin:
    """An image bookmark: what is indexed and ranked (``pins.jsonl``)."""

    id: str
    title: str = ""
    description: str = ""
    link: str | None = None
    image_signature: str | None = None
    board_ids: tuple[str, ...] = ()
    created_at: datetime | None = None
    repin_count: int = 0
    lang: str | None = None
    image_embedding: tuple[float, ...] | None = None
    image_annotations: tuple[str, ...] = ()


@dataclass(slots=True)
class Board:
    """A collection pins are saved to; its name is strong text evidence (``boards.jsonl``)."""

    id: str
    name: str = ""
    description: str = ""
    owner: str | None = None


@dataclass(slots=True)
class SessionEvent:
    pin_id: str
    action: Action
    ts: datetime


@dataclass(slots=True)
class Session:
    """One user's engagement sequence, ordered by time; Pin2Vec reads these as sentences."""

    user: str
    events: tuple[SessionEvent, ...]


@dataclass(slots=True)
class Page:
    """A fetched landing page (``pages.jsonl``); ``path`` is relative to the corpus directory."""

    url: str
    status: int
    path: str | None = None
    fetched_at: datetime | None = None


@dataclass(slots=True)
class Impression:
    pin_id: str
    position: int
    clicked: bool = False
    saved: bool = False


@dataclass(slots=True)
class SearchLogEntry:
    """A search result page as shown to a user, with what the user did (``search_log.jsonl``)."""

    query: str
    device: Device
    ts: datetime
    impressions: tuple[Impression, ...]


@dataclass(slots=True)
class RelatedLogEntry:
    """A Related Pins list under ``query_pin`` (``related_log.jsonl``)."""

    query_pin: str
    device: Device
    ts: datetime
    impressions: tuple[Impression, ...]


@dataclass(slots=True)
class AnnotationJudgement:
    pin_id: str
    annotation: str
    lang: str
    relevant: int


@dataclass(slots=True)
class InterestJudgement:
    pin_id: str
    interest_id: int
    relevant: int


@dataclass(slots=True)
class CohesionJudgement:
    pin_id: str
    url: str
    cohesive: int


@dataclass(slots=True)
class SearchRelevanceJudgement:
    query: str
    pin_id: str
    relevance: int


@dataclass(slots=True)
class RelatedRelevanceJudgement:
    query_pin: str
    pin_id: str
    relevance: int


Record = Union[
    Pin, Board, Session, Page, SearchLogEntry, RelatedLogEntry, AnnotationJudgement,
    InterestJudgement, CohesionJudgement, SearchRelevanceJudgement, RelatedRelevanceJudgement,
]
