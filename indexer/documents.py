"""The one place where a pin and its signals become an index document.

The schema is ``pinsearch/mappings/pins.json`` (package data, read with ``importlib.resources``).

Everything the engine scores on is decided here: field names, the popularity and freshness
transforms, which signal goes into which ``rank_features`` field. A test keeps this module and the
mapping in step, so a field can never be written that the mapping does not declare.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Mapping
from urllib.parse import urlsplit

import orjson

from indexer.corpus.records import Board, Pin

FRESHNESS_HALF_LIFE_DAYS = 90.0
MAPPINGS_PACKAGE = "pinsearch.mappings"      # package data of the pinsearch distribution


KNN_ENGINES = ("faiss", "lucene")
DEFAULT_KNN_ENGINE = "faiss"
"""What OpenSearch distributions use for HNSW; ``lucene`` serves the same queries without native
code (the only choice on a node built from Maven Central's k-NN plugin, which has none)."""


def load_pins_mapping(knn_engine: str = DEFAULT_KNN_ENGINE) -> dict[str, Any]:
    """Settings and mappings for a pins index (the versioned JSON file in ``pinsearch/mappings/``),
    with ``knn_engine`` as the method engine of every ``knn_vector`` field, recorded in ``_meta``."""
    if knn_engine not in KNN_ENGINES:
        raise ValueError(f"k-NN engine [{knn_engine}] is not one of {', '.join(KNN_ENGINES)}")
    body = json.loads(resources.files(MAPPINGS_PACKAGE).joinpath("pins.json").read_text())
    mappings = body["mappings"]
    for spec in mappings["properties"].values():
        if spec.get("type") == "knn_vector":
            spec["method"]["engine"] = knn_engine
    mappings.setdefault("_meta", {})["knn_engine"] = knn_engine
    return body


@dataclass(slots=True)
class PinSignals:
    """Per-pin signals computed by the indexer; any of them may be absent."""
    annotations: Mapping[str, float] = field(default_factory=dict)       # annotation id -> weight
    interests: Mapping[int, Mapping[str, float]] = field(default_factory=dict)  # level -> interest id -> score
    cooccur: Mapping[str, float] = field(default_factory=dict)           # pin id -> shared boards
    pin2vec: list[float] | None = None
    cohesion: float | None = None


def link_domain(link: str | None) -> str | None:
    if not link:
        return None
    host = urlsplit(link).hostname
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def popularity(repin_count: int) -> float:
    """log-scaled saves, strictly positive as rank_feature values must be."""
    return 1.0 + math.log1p(max(repin_count, 0))


def freshness(created_at: datetime | None, now: datetime) -> float | None:
    """Exponential decay with a 90-day half-life, in (0, 1]; None when the pin has no date."""
    if created_at is None:
        return None
    moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=timezone.utc)
    age_days = max((now - moment).total_seconds() / 86400.0, 0.0)
    return max(0.5 ** (age_days / FRESHNESS_HALF_LIFE_DAYS), 1e-6)


def l2_normalised(weights: Mapping[str, float]) -> dict[str, float]:
    """L2-normalised positive weights, so a bool of linear rank_feature clauses is a cosine."""
    positive = {k: float(v) for k, v in weights.items() if v > 0}
    norm = math.sqrt(sum(v * v for v in positive.values()))
    if norm == 0:
        return {}
    return {k: max(v / norm, 1e-6) for k, v in positive.items()}


def content_hash(pin: Pin, boards: Mapping[str, Board]) -> str:
    """What the pin's document depends on, hashed: unchanged pins are skipped by incremental reindex."""
    parts = [pin.id, pin.title, pin.description, pin.link or "", pin.image_signature or "",
             ",".join(pin.board_ids), str(pin.repin_count), pin.lang or "",
             pin.created_at.isoformat() if pin.created_at else "", ",".join(pin.image_annotations)]
    parts.extend(f"{b}:{boards[b].name}" for b in pin.board_ids if b in boards)
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def pin_document(pin: Pin, boards: Mapping[str, Board], now: datetime,
                 signals: PinSignals | None = None) -> dict[str, Any]:
    """The ``_source`` of a pin in the pins index."""
    signals = signals or PinSignals()
    doc: dict[str, Any] = {
        "pin_id": pin.id,
        "title": pin.title,
        "description": pin.description,
        "board_names": [boards[b].name for b in pin.board_ids if b in boards and boards[b].name],
        "board_ids": list(pin.board_ids),
        "repin_count": pin.repin_count,
        "popularity": popularity(pin.repin_count),
        "content_hash": content_hash(pin, boards),
    }
    optional: dict[str, Any] = {
        "lang": pin.lang, "link": pin.link, "link_domain": link_domain(pin.link),
        "image_signature": pin.image_signature,
        "image_annotations": list(pin.image_annotations) or None,
        "created_at": pin.created_at.isoformat() if pin.created_at else None,
        "freshness": freshness(pin.created_at, now),
        "cohesion": max(signals.cohesion, 1e-6) if signals.cohesion is not None else None,
        "pin2vec": signals.pin2vec,
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    annotations = l2_normalised(signals.annotations)
    if annotations:
        doc["annotations"] = annotations
        doc["annotation_terms"] = sorted(annotations)
    interest_ids: set[str] = set()
    for level, scores in sorted(signals.interests.items()):
        normalised = l2_normalised(scores)
        if normalised:
            doc[f"interests_l{level}"] = normalised
            interest_ids.update(normalised)
    if interest_ids:
        doc["interest_ids"] = sorted(interest_ids)
    cooccur = {k: float(v) for k, v in signals.cooccur.items() if v > 0}
    if cooccur:
        doc["cooccur"] = cooccur
    doc["signals_hash"] = signals_hash(doc)
    return doc


SIGNAL_FIELDS = ("annotations", "annotation_terms", "interests_l1", "interests_l2", "interests_l3",
                 "interests_l4", "interest_ids", "cooccur", "pin2vec", "cohesion", "freshness")


def signals_hash(doc: dict[str, Any]) -> str:
    """Hash of the computed-signal fields: incremental reindex updates only these when it changes."""
    payload = orjson.dumps({k: doc.get(k) for k in SIGNAL_FIELDS}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(payload).hexdigest()
