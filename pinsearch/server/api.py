"""The small JSON endpoints behind the web page (``/_pinsearch/api/...``).

Why not let the page call ``_search`` itself: the request bodies (first pass, the active model's
``sltr`` rescore, Related Pins' single blended query) are built by :mod:`ranking` and must stay
identical to what the CLI and the evaluations send. These handlers only call that code through an
ordinary opensearch-py client and reshape the answers for display. Search and explain also take
the query understanding (instant annotations, Q2I) from the models the indexer saved, as
``pinsearch search`` does, so the page ranks with the same features the model was trained on.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, TransportError

import pinsearch
from ranking.ltr.rescore import RELATED_FEATURESET, SEARCH_FEATURESET, explain_search, related_rescore, search_rescore
from ranking.ltr.upload import active_model, concrete_index
from ranking.related import RelatedPinsError, related_pins
from ranking.ltr.featuresets import QuerySignals
from ranking.search import SOURCE_FIELDS, build_search_body

DISPLAY_FIELDS = ["pin_id", "title", "description", "board_names", "link_domain", "annotation_terms",
                  "interest_ids", "image_signature", "repin_count"]
MAX_K = 100
QuerySignalsFn = Callable[[str], QuerySignals]


class ApiError(Exception):
    """A user-facing failure of a page endpoint: its status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _int(params: Mapping[str, str], name: str, default: int, low: int = 1, high: int = MAX_K) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"parameter [{name}] must be an integer, got [{raw}]") from None
    if not low <= value <= high:
        raise ApiError(400, f"parameter [{name}] must be between {low} and {high}, got {value}")
    return value


def _model_name(client: OpenSearch, featureset: str) -> str | None:
    try:
        record = active_model(client, featureset)
    except TransportError:
        return None
    return record["name"] if record else None


def status(client: OpenSearch, params: Mapping[str, str], query_signals: QuerySignalsFn | None = None
           ) -> dict[str, Any]:
    """Index (alias, concrete versioned index, document count) and the active LTR models."""
    index = params.get("index") or "pins"
    body: dict[str, Any] = {"pinsearch_version": pinsearch.__version__, "index": index, "exists": False,
                            "concrete_index": None, "docs": 0,
                            "models": {"search": _model_name(client, SEARCH_FEATURESET),
                                       "related": _model_name(client, RELATED_FEATURESET)}}
    if client.indices.exists(index=index):
        body["exists"] = True
        body["concrete_index"] = concrete_index(client, index)
        body["docs"] = int(client.count(index=index)["count"])
    return body


def _check_index(client: OpenSearch, index: str) -> None:
    if not client.indices.exists(index=index):
        raise ApiError(404, f"index [{index}] does not exist: build it with `pinsearch reindex CORPUS`")


def search(client: OpenSearch, params: Mapping[str, str], query_signals: QuerySignalsFn | None = None
           ) -> dict[str, Any]:
    """First-pass search plus the active search model's rescore (when one is active and ``ltr`` != 0)."""
    query = (params.get("q") or "").strip()
    if not query:
        raise ApiError(400, "the search query is empty")
    index = params.get("index") or "pins"
    k = _int(params, "k", 20)
    _check_index(client, index)
    use_ltr = params.get("ltr", "1") not in ("0", "false")
    model = _model_name(client, SEARCH_FEATURESET) if use_ltr else None
    signals = query_signals(query) if query_signals else None
    rescore = search_rescore(client, query, model=model, signals=signals) if model else None
    body = build_search_body(query, k, signals=signals, rescore=rescore)
    body["_source"] = sorted(set(SOURCE_FIELDS) | set(DISPLAY_FIELDS))
    started = time.perf_counter()
    response = client.search(index=index, body=body)
    hits = [{"pin_id": h["_id"], "score": float(h.get("_score") or 0.0),
             **{f: h.get("_source", {}).get(f) for f in DISPLAY_FIELDS if f != "pin_id"}}
            for h in response["hits"]["hits"]]
    return {"query": query, "index": index, "model": model, "took_ms": round((time.perf_counter() - started) * 1000, 2),
            "total": response["hits"]["total"]["value"], "hits": hits}


def related(client: OpenSearch, params: Mapping[str, str], query_signals: QuerySignalsFn | None = None
            ) -> dict[str, Any]:
    """Related Pins of ``pin`` (with the active related model's rescore), plus display fields."""
    pin = (params.get("pin") or "").strip()
    if not pin:
        raise ApiError(400, "parameter [pin] is required")
    index = params.get("index") or "pins"
    k = _int(params, "k", 12)
    _check_index(client, index)
    model = _model_name(client, RELATED_FEATURESET)
    hook: Callable[[Mapping[str, Any]], Any] | None = (
        (lambda doc: related_rescore(client, doc, pin, model=model)) if model else None)
    try:
        result = related_pins(client, pin, k, index=index, rescore=hook, explain=True)
    except RelatedPinsError as exc:
        raise ApiError(404, str(exc)) from None
    payload = result.to_dict()
    ids = [h["pin_id"] for h in payload["hits"]]
    extra: dict[str, dict[str, Any]] = {}
    if ids:
        docs = client.mget(index=index, body={"ids": ids}, _source_includes=["image_signature", "link_domain"])
        extra = {d["_id"]: d.get("_source", {}) for d in docs["docs"] if d.get("found")}
    for hit in payload["hits"]:
        hit.update({f: extra.get(hit["pin_id"], {}).get(f) for f in ("image_signature", "link_domain")})
    payload["model"] = model
    return payload


def explain(client: OpenSearch, params: Mapping[str, str], query_signals: QuerySignalsFn | None = None
            ) -> dict[str, Any]:
    """Per-feature contributions of the active search model for one (query, pin) pair."""
    query, pin = (params.get("q") or "").strip(), (params.get("pin") or "").strip()
    if not query or not pin:
        raise ApiError(400, "parameters [q] and [pin] are required")
    index = params.get("index") or "pins"
    try:
        record = active_model(client, SEARCH_FEATURESET)
    except NotFoundError:
        record = None
    if record is None:
        return {"model": None, "pin_id": pin, "contributions": {},
                "message": "no active search model: train and activate one with `pinsearch ltr`"}
    out = explain_search(client, query, [pin], index=index, record=record,
                         signals=query_signals(query) if query_signals else None)
    entry = out.get(pin)
    if entry is None:
        raise ApiError(404, f"pin [{pin}] was not logged by the model's features (is it in [{index}]?)")
    return {"pin_id": pin, **entry}


ENDPOINTS: dict[str, Callable[..., dict[str, Any]]] = {  # (client, params, query_signals=None)
    "status": status, "search": search, "related": related, "explain": explain,
}
