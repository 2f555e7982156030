"""Related Pins: one ``_search`` that generates, unions and scores candidates inside the engine.

The query pin's document is read first (one small search on ``pin_id``) for its Pin2Vec vector,
image signature, annotations and interests. Then a single request on the alias sums three sources
in a ``bool.should`` (a candidate matching several sources gets the sum):

* **co-occurrence** -- ``rank_feature`` on ``cooccur.<query pin key>``: candidates carry the number
  of boards they share with the query pin under the query pin's key (written by
  ``indexer.signals.cooccurrence.cooccurrence_candidates``), so this clause *is* the candidate
  list and its saturation ``v / (v + pivot)`` scores it in (0, 1).
* **Pin2Vec** -- ``knn`` on ``pin2vec`` with the query pin's vector, ``num_candidates``
  neighbours; the cosinesimil score is in [0, 1].
* **content fallback** -- the cosine of the annotation / interest ``rank_features`` (``linear``
  clauses boosted by the query pin's L2-normalised weights) when the query pin has them, else a
  ``multi_match`` of its title and board names; down-weighted, so it mostly fills lists of pins
  with few co-occurrence or Pin2Vec candidates.

``must_not`` removes the query pin and its PinJoin duplicates (same ``image_signature``). Clauses
carry ``_name`` so each hit says which sources produced it (``matched_queries``). ``rescore`` is
the hook for the Related Pins LTR model: a rescore body (or a callable building one from the query
pin's source) appended to the request as is; ``related_pins`` uses the active Related Pins model
(``ranking.ltr``) by default and ``rescore=None`` is the first pass alone. Only documented
OpenSearch 2.19 request bodies are sent, so a real cluster answers the same request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch

from indexer.signals.cooccurrence import feature_key

SOURCE_FIELDS = ["pin_id", "title", "board_names", "link_domain", "image_signature", "repin_count"]
# Everything the request and the Related Pins LTR params (``ranking.ltr.featuresets.related_params``)
# read from the query pin: training logs features with params built from this same ``_source``, so a
# field missing here would score 0 at serving time although the model was trained on it.
QUERY_PIN_FIELDS = ["pin_id", "title", "board_names", "board_ids", "link_domain", "image_signature",
                    "image_annotations", "interest_ids", "pin2vec", "annotations",
                    "interests_l1", "interests_l2", "interests_l3", "interests_l4"]
EXPLAIN_FIELDS = ["cooccur", "pin2vec", "annotations", "interests_l1", "interests_l2", "interests_l3",
                  "interests_l4"]
INTEREST_FIELDS = ("interests_l1", "interests_l2", "interests_l3", "interests_l4")
SOURCES = ("cooccurrence", "pin2vec", "content")

RescoreHook = Mapping[str, Any] | list | Callable[[Mapping[str, Any]], Any] | str | None
#: ``rescore=ACTIVE_MODEL``: the active Related Pins LTR model's ``sltr`` rescore, none without one
ACTIVE_MODEL = "active"


class RelatedPinsError(LookupError):
    """The query pin is not in the index (message names the pin and the index)."""


@dataclass(slots=True)
class RelatedRequest:
    """Parameters of one Related Pins request; defaults are the documented blend."""
    pin_id: str
    k: int = 20
    num_candidates: int = 100          # knn neighbours taken from Pin2Vec
    cooccur_weight: float = 1.0
    cooccur_pivot: float = 2.0         # shared boards at which the co-occurrence score is 0.5
    pin2vec_weight: float = 1.0
    content_weight: float = 0.3        # cosine of annotations / interests
    text_weight: float = 0.005         # BM25 fallback (scores ~50-150) when the pin has no annotations or interests
    max_content_terms: int = 25
    explain: bool = False
    rescore: RescoreHook = None

    def __post_init__(self) -> None:
        if not self.pin_id:
            raise ValueError("the Related Pins query pin id is empty")
        if self.k <= 0:
            raise ValueError(f"k must be positive, got {self.k}")


@dataclass(slots=True)
class RelatedHit:
    pin_id: str
    score: float
    title: str
    board_names: list[str]
    sources: list[str]
    source_scores: dict[str, float] = field(default_factory=dict)
    explanation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"pin_id": self.pin_id, "score": self.score, "title": self.title,
                                "board_names": self.board_names, "sources": self.sources}
        if self.source_scores:
            body["source_scores"] = self.source_scores
        if self.explanation is not None:
            body["explanation"] = self.explanation
        return body


@dataclass(slots=True)
class RelatedResult:
    query_pin: str
    query_title: str
    hits: list[RelatedHit]
    took_ms: float
    request_body: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self, include_body: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"query_pin": self.query_pin, "query_title": self.query_title,
                                "took_ms": round(self.took_ms, 2), "hits": [h.to_dict() for h in self.hits],
                                "source_counts": {s: sum(s in h.sources for h in self.hits) for s in SOURCES}}
        if include_body:
            body["request"] = self.request_body
        return body


def fetch_query_pin(client: OpenSearch, pin_id: str, index: str = "pins") -> dict[str, Any]:
    """The query pin's ``_source`` (signals only); works on an alias and on a cluster."""
    response = client.search(index=index, body={"query": {"term": {"pin_id": pin_id}}, "size": 1,
                                                "_source": QUERY_PIN_FIELDS})
    hits = response["hits"]["hits"]
    if not hits:
        raise RelatedPinsError(f"pin [{pin_id}] is not in index [{index}] (check the id, or reindex the corpus)")
    return hits[0].get("_source", {})


def _top_weights(weights: Mapping[str, float] | None, limit: int) -> list[tuple[str, float]]:
    if not weights:
        return []
    return sorted(((k, float(v)) for k, v in weights.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))[:limit]


def content_clause(query: Mapping[str, Any], request: RelatedRequest) -> dict[str, Any] | None:
    """Annotation / interest cosine when the pin has them, else a text match on title and boards."""
    clauses: list[dict[str, Any]] = []
    for field_name in ("annotations", *INTEREST_FIELDS):
        for key, weight in _top_weights(query.get(field_name), request.max_content_terms):
            clauses.append({"rank_feature": {"field": f"{field_name}.{key}", "linear": {},
                                             "boost": round(weight * request.content_weight / 2, 6)}})
    if clauses:
        return {"bool": {"should": clauses, "_name": "content"}}
    text = " ".join([query.get("title", "")] + list(query.get("board_names", []) or [])).strip()
    if not text or request.text_weight <= 0:
        return None
    return {"multi_match": {"query": text[:1000], "fields": ["title^2", "board_names", "description"],
                            "minimum_should_match": "30%", "boost": request.text_weight, "_name": "content"}}


def build_related_body(query: Mapping[str, Any], request: RelatedRequest) -> dict[str, Any]:
    """The single Related Pins request body for a query pin's ``_source``."""
    pin_id = request.pin_id
    should: list[dict[str, Any]] = []
    if request.cooccur_weight > 0:
        should.append({"rank_feature": {"field": f"cooccur.{feature_key(pin_id)}",
                                        "saturation": {"pivot": request.cooccur_pivot},
                                        "boost": request.cooccur_weight, "_name": "cooccurrence"}})
    vector = query.get("pin2vec")
    if vector and request.pin2vec_weight > 0:
        should.append({"knn": {"pin2vec": {"vector": list(vector), "k": max(request.num_candidates, request.k),
                                           "boost": request.pin2vec_weight, "_name": "pin2vec"}}})
    content = content_clause(query, request)
    if content is not None:
        should.append(content)
    must_not: list[dict[str, Any]] = [{"term": {"pin_id": pin_id}}]
    if query.get("image_signature"):
        must_not.append({"term": {"image_signature": query["image_signature"]}})
    body: dict[str, Any] = {"size": request.k,
                            "query": {"bool": {"should": should, "must_not": must_not, "minimum_should_match": 1}},
                            "_source": SOURCE_FIELDS + (EXPLAIN_FIELDS if request.explain else [])}
    if isinstance(request.rescore, str):
        raise TypeError(f"rescore={request.rescore!r} needs a client to resolve: call related_pins")
    rescore = request.rescore(query) if callable(request.rescore) else request.rescore
    if rescore:
        body["rescore"] = rescore
    if request.explain:
        body["explain"] = True
    return body


def active_rescore_hook(client: OpenSearch, pin_id: str) -> Callable[[Mapping[str, Any]], Any] | None:
    """The active Related Pins model's rescore as a hook on the query pin's ``_source``; None without one."""
    from ranking.ltr.rescore import RELATED_FEATURESET, related_rescore
    from ranking.ltr.upload import active_model
    record = active_model(client, RELATED_FEATURESET)
    if record is None:
        return None
    name = record["name"]
    return lambda doc: related_rescore(client, doc, pin_id, model=name)


def related_pins(client: OpenSearch, pin_id: str, k: int = 20, *, index: str = "pins", explain: bool = False,
                 rescore: RescoreHook = ACTIVE_MODEL, request: RelatedRequest | None = None) -> RelatedResult:
    """Related Pins of ``pin_id``: one query-pin lookup, then one ``_search`` on ``index``.

    ``rescore`` defaults to the active Related Pins LTR model (what users should see); ``None`` is the
    first pass alone (what evaluations compare against). A ``request`` carries its own ``rescore``.
    """
    request = request or RelatedRequest(pin_id=pin_id, k=k, explain=explain, rescore=rescore)
    if request.rescore == ACTIVE_MODEL:
        request.rescore = active_rescore_hook(client, request.pin_id)
    started = time.perf_counter()
    query = fetch_query_pin(client, request.pin_id, index)
    body = build_related_body(query, request)
    response = client.search(index=index, body=body)
    took = (time.perf_counter() - started) * 1000
    hits = [_hit(raw, query, request) for raw in response["hits"]["hits"]]
    return RelatedResult(query_pin=request.pin_id, query_title=query.get("title", ""), hits=hits, took_ms=took,
                         request_body=body)


def _cosine(a: Any, b: Any) -> float | None:
    if not a or not b or len(a) != len(b):
        return None
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else None


def _sparse_cosine(a: Mapping[str, float] | None, b: Mapping[str, float] | None) -> float:
    if not a or not b:
        return 0.0
    return float(sum(v * b[key] for key, v in a.items() if key in b))


def source_scores(candidate: Mapping[str, Any], query: Mapping[str, Any], request: RelatedRequest) -> dict[str, float]:
    """Raw per-source values for ``--explain``: shared boards, Pin2Vec cosine, content cosine."""
    scores: dict[str, float] = {}
    shared = (candidate.get("cooccur") or {}).get(feature_key(request.pin_id))
    if shared:
        scores["cooccurrence_shared_boards"] = float(shared)
        scores["cooccurrence"] = request.cooccur_weight * shared / (shared + request.cooccur_pivot)
    cos = _cosine(candidate.get("pin2vec"), query.get("pin2vec"))
    if cos is not None:
        scores["pin2vec_cosine"] = round(cos, 6)
    content = _sparse_cosine(candidate.get("annotations"), query.get("annotations"))
    content += sum(_sparse_cosine(candidate.get(f), query.get(f)) for f in INTEREST_FIELDS)
    if content:
        scores["content_cosine_sum"] = round(content, 6)
    return scores


def _hit(raw: Mapping[str, Any], query: Mapping[str, Any], request: RelatedRequest) -> RelatedHit:
    source = raw.get("_source", {})
    matched = raw.get("matched_queries") or []
    names = list(matched) if isinstance(matched, list) else list(matched.keys())
    return RelatedHit(pin_id=raw["_id"], score=float(raw.get("_score") or 0.0), title=source.get("title", ""),
                      board_names=list(source.get("board_names", [])),
                      sources=[s for s in SOURCES if s in names],
                      source_scores=source_scores(source, query, request) if request.explain else {},
                      explanation=raw.get("_explanation") if request.explain else None)
