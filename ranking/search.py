"""Pin search: the first-pass request (BM25, query annotations, Q2I interests, popularity) and its results.

The request is a plain OpenSearch body, identical for the embedded engine and a cluster. The first
pass retrieves a pin when its text matches the query (BM25) **or** when it carries one of the
query's instant annotations: Pinterest's annotations exist precisely to find pins whose words differ
from the query's (a "vegan dinner" pin annotated "plant based recipes"). Interests only score: a
level-1 interest such as "Food & Drink" would otherwise retrieve a whole category. The LTR rescore
is attached through :func:`build_search_body`'s parameters rather than by editing requests elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch

from ranking.ltr.featuresets import QuerySignals, weighted_clauses

TEXT_FIELDS = ["title^3", "title.exact^1.5", "board_names^2", "description"]
SOURCE_FIELDS = ["pin_id", "title", "description", "board_names", "link_domain", "lang", "repin_count",
                 "annotation_terms", "interest_ids"]
ANNOTATION_WEIGHT = 4.0      # a perfect annotation cosine (1.0) counts like a solid single-field BM25 match
INTEREST_WEIGHTS = {1: 0.5, 2: 1.0}   # finer levels say more; both only break ties among text matches


@dataclass(slots=True)
class SearchHit:
    pin_id: str
    score: float
    title: str
    description: str
    board_names: list[str]
    link_domain: str | None
    source: dict[str, Any] = field(repr=False, default_factory=dict)
    explanation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        body = {"pin_id": self.pin_id, "score": self.score, "title": self.title,
                "description": self.description, "board_names": self.board_names,
                "link_domain": self.link_domain}
        if self.explanation is not None:
            body["explanation"] = self.explanation
        return body


def build_search_body(query: str, k: int = 20, *, signals: QuerySignals | None = None,
                      popularity_weight: float = 1.0, annotation_weight: float = ANNOTATION_WEIGHT,
                      interest_weights: dict[int, float] | None = None, explain: bool = False,
                      rescore: dict[str, Any] | list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The first pass: BM25 over title, exact title, board names and description, or the query's
    annotations (a ``rank_feature`` dot product with the pins' ``annotations``); plus Q2I interest
    cosines per level and a saturated popularity prior as scoring-only clauses.

    ``signals`` (query understanding, :func:`ranking.query_signals.query_signals_for`) come from the
    models the indexer trained; without them the first pass is BM25 and popularity. ``rescore``: an
    OpenSearch rescore clause (e.g. the active LTR model's ``sltr`` rescore from
    :func:`ranking.ltr.rescore.search_rescore`), attached as is.
    """
    signals = signals or QuerySignals()
    text = {"multi_match": {"query": query, "fields": TEXT_FIELDS, "type": "best_fields", "tie_breaker": 0.3}}
    retrieve: dict[str, Any] = text
    if signals.annotations and annotation_weight > 0:
        retrieve = {"bool": {"should": [text, _boosted(weighted_clauses("annotations", signals.annotations),
                                                        annotation_weight)],
                             "minimum_should_match": 1}}
    should: list[dict[str, Any]] = []
    interests = signals.interests or {}
    for level, weight in sorted((INTEREST_WEIGHTS if interest_weights is None else interest_weights).items()):
        if interests.get(level) and weight > 0:
            should.append(_boosted(weighted_clauses(f"interests_l{level}", interests[level]), weight))
    if popularity_weight > 0:
        should.append({"rank_feature": {"field": "popularity", "saturation": {"pivot": 3.0},
                                        "boost": popularity_weight}})
    body: dict[str, Any] = {"query": {"bool": {"must": [retrieve], "should": should}}, "size": k,
                            "_source": SOURCE_FIELDS}
    if explain:
        body["explain"] = True
    if rescore:
        body["rescore"] = rescore
    return body


def _boosted(clauses: list[dict[str, Any]], weight: float) -> dict[str, Any]:
    """One ``bool`` of the cosine clauses, scaled by ``weight`` (its score is weight x cosine)."""
    return {"bool": {"should": clauses, "boost": weight}}


def search_pins(client: OpenSearch, query: str, k: int = 20, *, index: str = "pins",
                signals: QuerySignals | None = None, explain: bool = False,
                rescore: dict[str, Any] | list[dict[str, Any]] | None = None) -> list[SearchHit]:
    if not query.strip():
        raise ValueError("the search query is empty")
    body = build_search_body(query, k, signals=signals, explain=explain, rescore=rescore)
    response = client.search(index=index, body=body)
    return [_hit(h) for h in response["hits"]["hits"]]


def _hit(raw: dict[str, Any]) -> SearchHit:
    source = raw.get("_source", {})
    return SearchHit(pin_id=raw["_id"], score=float(raw["_score"] or 0.0), title=source.get("title", ""),
                     description=source.get("description", ""), board_names=source.get("board_names", []),
                     link_domain=source.get("link_domain"), source=source, explanation=raw.get("_explanation"))
