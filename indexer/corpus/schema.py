"""Per-file record schemas: a checked JSON object becomes a typed record.

Each parser reads every field through a :class:`FieldChecker`, so a record with several problems
reports all of them in one pass. Cross-record rules (duplicate ids, references between files,
embedding dimension) live in ``references.py``; this module only judges one record on its own.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Callable

from indexer.corpus.errors import ErrorCode
from indexer.corpus.fields import FieldChecker
from indexer.corpus.records import (
    ACTIONS,
    DEVICES,
    AnnotationJudgement,
    Board,
    CohesionJudgement,
    Impression,
    InterestJudgement,
    Page,
    Pin,
    Record,
    RelatedLogEntry,
    RelatedRelevanceJudgement,
    SearchLogEntry,
    SearchRelevanceJudgement,
    Session,
    SessionEvent,
)

__all__ = ["PARSERS", "parse_record"]


def _pin(c: FieldChecker) -> Pin:
    board_ids = c.string_list("board_ids")
    if len(set(board_ids)) != len(board_ids):  # a pin saved twice to one board counts once
        board_ids = tuple(dict.fromkeys(board_ids))
    return Pin(
        id=c.string("id", required=True, nonempty=True, default=""),
        title=c.string("title"),
        description=c.string("description"),
        link=c.url("link"),
        image_signature=c.string("image_signature", default=None, nonempty=True),
        board_ids=board_ids,
        created_at=c.timestamp("created_at"),
        repin_count=c.integer("repin_count", minimum=0),
        lang=c.lang("lang"),
        image_embedding=c.float_list("image_embedding"),
        image_annotations=c.string_list("image_annotations"),
    )


def _board(c: FieldChecker) -> Board:
    return Board(
        id=c.string("id", required=True, nonempty=True, default=""),
        name=c.string("name"),
        description=c.string("description"),
        owner=c.string("owner", default=None, nonempty=True),
    )


def _session(c: FieldChecker) -> Session:
    user = c.string("user", required=True, nonempty=True, default="")
    events: list[SessionEvent] = []
    previous = None
    for path, ev in c.object_list("events", required=True, nonempty=True):
        pin_id = c.string("pin_id", required=True, nonempty=True, default="", obj=ev,
                          path=f"{path}.pin_id")
        action = c.choice("action", ACTIONS, required=True, default="view", obj=ev,
                          path=f"{path}.action")
        ts = c.timestamp("ts", required=True, obj=ev, path=f"{path}.ts")
        if ts is not None:
            if previous is not None and ts < previous[1]:
                c.error(f"{path}.ts", ErrorCode.ORDER, f"events must be ordered by ts: "
                        f"{ts.isoformat()} is earlier than {previous[0]}.ts "
                        f"({previous[1].isoformat()})")
            previous = (path, ts)
            events.append(SessionEvent(pin_id, action, ts))
    return Session(user=user, events=tuple(events))


def _page(c: FieldChecker) -> Page:
    url = c.url("url", required=True) or ""
    status = c.integer("status", required=True, minimum=100, maximum=599, default=0)
    path = c.string("path", default=None, nonempty=True)
    if path is not None:
        p = PurePosixPath(path.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or (len(path) > 1 and path[1] == ":"):
            c.error("path", ErrorCode.BAD_FORMAT, f"must be relative to the corpus directory "
                    f"without '..', got {path!r}")
            path = None
    return Page(url=url, status=status, path=path, fetched_at=c.timestamp("fetched_at"))


def _impressions(c: FieldChecker) -> tuple[Impression, ...]:
    out: list[Impression] = []
    seen: dict[int, str] = {}
    for path, imp in c.object_list("impressions", required=True):
        pin_id = c.string("pin_id", required=True, nonempty=True, default="", obj=imp,
                          path=f"{path}.pin_id")
        position = c.integer("position", required=True, minimum=1, default=0, obj=imp,
                             path=f"{path}.position")
        if position:
            if position in seen:
                c.error(f"{path}.position", ErrorCode.OUT_OF_RANGE,
                        f"position {position} already used by {seen[position]}")
            seen[position] = path
        out.append(Impression(
            pin_id=pin_id, position=position,
            clicked=c.boolean("clicked", obj=imp, path=f"{path}.clicked"),
            saved=c.boolean("saved", obj=imp, path=f"{path}.saved"),
        ))
    return tuple(out)


def _search_log(c: FieldChecker) -> SearchLogEntry:
    return SearchLogEntry(
        query=c.string("query", required=True, nonempty=True, default=""),
        device=c.choice("device", DEVICES, required=True, default="desktop"),
        ts=c.timestamp("ts", required=True),  # type: ignore[arg-type]
        impressions=_impressions(c),
    )


def _related_log(c: FieldChecker) -> RelatedLogEntry:
    return RelatedLogEntry(
        query_pin=c.string("query_pin", required=True, nonempty=True, default=""),
        device=c.choice("device", DEVICES, required=True, default="desktop"),
        ts=c.timestamp("ts", required=True),  # type: ignore[arg-type]
        impressions=_impressions(c),
    )


def _annotations(c: FieldChecker) -> AnnotationJudgement:
    return AnnotationJudgement(
        pin_id=c.string("pin_id", required=True, nonempty=True, default=""),
        annotation=c.string("annotation", required=True, nonempty=True, default=""),
        lang=c.lang("lang", required=True) or "",
        relevant=c.choice("relevant", (0, 1), required=True, default=0),
    )


def _interests(c: FieldChecker) -> InterestJudgement:
    return InterestJudgement(
        pin_id=c.string("pin_id", required=True, nonempty=True, default=""),
        interest_id=c.integer("interest_id", required=True, minimum=0, default=-1),
        relevant=c.choice("relevant", (0, 1), required=True, default=0),
    )


def _cohesion(c: FieldChecker) -> CohesionJudgement:
    return CohesionJudgement(
        pin_id=c.string("pin_id", required=True, nonempty=True, default=""),
        url=c.url("url", required=True) or "",
        cohesive=c.choice("cohesive", (0, 1), required=True, default=0),
    )


def _search_relevance(c: FieldChecker) -> SearchRelevanceJudgement:
    return SearchRelevanceJudgement(
        query=c.string("query", required=True, nonempty=True, default=""),
        pin_id=c.string("pin_id", required=True, nonempty=True, default=""),
        relevance=c.choice("relevance", (0, 1, 2, 3), required=True, default=0),
    )


def _related_relevance(c: FieldChecker) -> RelatedRelevanceJudgement:
    return RelatedRelevanceJudgement(
        query_pin=c.string("query_pin", required=True, nonempty=True, default=""),
        pin_id=c.string("pin_id", required=True, nonempty=True, default=""),
        relevance=c.choice("relevance", (0, 1, 2, 3), required=True, default=0),
    )


PARSERS: dict[str, Callable[[FieldChecker], Record]] = {
    "pins": _pin,
    "boards": _board,
    "sessions": _session,
    "pages": _page,
    "search_log": _search_log,
    "related_log": _related_log,
    "annotations": _annotations,
    "interests": _interests,
    "cohesion": _cohesion,
    "search_relevance": _search_relevance,
    "related_relevance": _related_relevance,
}


def parse_record(kind: str, obj: dict[str, Any], file: str, line: int,
                 record_id: str | None) -> tuple[Record, FieldChecker]:
    """Parse ``obj`` as a ``kind`` record; the checker's ``errors`` say whether to keep it."""
    checker = FieldChecker(obj, file, line, record_id)
    return PARSERS[kind](checker), checker
