"""Pin search: the first-pass request (BM25 over pin text plus popularity) and its results.

The request is a plain OpenSearch body, identical for the embedded engine and a cluster. Later
stages add to it (annotation and interest features, the LTR rescore) through
:func:`build_search_body`'s parameters rather than by editing requests elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch

TEXT_FIELDS = ["title^3", "title.exact^1.5", "board_names^2", "description"]
SOURCE_FIELDS = ["pin_id", "title", "description", "board_names", "link_domain", "lang", "repin_count",
                 "annotation_terms", "interest_ids"]


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


def build_search_body(query: str, k: int = 20, *, popularity_weight: float = 1.0,
                      explain: bool = False, rescore: dict[str, Any] | list[dict[str, Any]] | None = None
                      ) -> dict[str, Any]:
    """BM25 over title, exact title, board names and description, plus a saturated popularity prior.

    ``rescore``: an OpenSearch rescore clause (e.g. the active LTR model's ``sltr`` rescore from
    :func:`ranking.ltr.rescore.search_rescore`), attached as is.
    """
    must = {"multi_match": {"query": query, "fields": TEXT_FIELDS, "type": "best_fields", "tie_breaker": 0.3}}
    should: list[dict[str, Any]] = []
    if popularity_weight > 0:
        should.append({"rank_feature": {"field": "popularity", "saturation": {"pivot": 3.0},
                                        "boost": popularity_weight}})
    body: dict[str, Any] = {"query": {"bool": {"must": [must], "should": should}}, "size": k,
                            "_source": SOURCE_FIELDS}
    if explain:
        body["explain"] = True
    if rescore:
        body["rescore"] = rescore
    return body


def search_pins(client: OpenSearch, query: str, k: int = 20, *, index: str = "pins",
                explain: bool = False, rescore: dict[str, Any] | list[dict[str, Any]] | None = None
                ) -> list[SearchHit]:
    if not query.strip():
        raise ValueError("the search query is empty")
    response = client.search(index=index, body=build_search_body(query, k, explain=explain, rescore=rescore))
    return [_hit(h) for h in response["hits"]["hits"]]


def _hit(raw: dict[str, Any]) -> SearchHit:
    source = raw.get("_source", {})
    return SearchHit(pin_id=raw["_id"], score=float(raw["_score"] or 0.0), title=source.get("title", ""),
                     description=source.get("description", ""), board_names=source.get("board_names", []),
                     link_domain=source.get("link_domain"), source=source, explanation=raw.get("_explanation"))
