"""Search APIs: ``_search``, ``_count`` and ``_delete_by_query``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import OpenSearchError, SearchPhaseExecutionError, UnsupportedError
from localnode.rest.router import RestRequest, RestResponse, route
from localnode.search.execute import collect_matches, parse_for_index, search, with_alias_filters
from localnode.search.query import Searcher

if TYPE_CHECKING:
    from localnode.node import Node


def _targets(node: "Node", request: RestRequest) -> list[tuple[Any, list[dict[str, Any]]]]:
    return node.resolve(request.path_params.get("index"), ignore_unavailable=request.flag("ignore_unavailable"),
                        allow_no_indices=request.flag("allow_no_indices", True))


@route("GET,POST", "/_search", "/{index}/_search")
def search_handler(node: "Node", request: RestRequest) -> RestResponse:
    if request.param("q") is not None:
        raise UnsupportedError("URI search parameter [q] (query_string syntax)")
    if request.param("scroll") is not None:
        raise UnsupportedError("[scroll] searches")
    return RestResponse(200, search(_targets(node, request), request.json(), request.params))


@route("GET,POST", "/_count", "/{index}/_count")
def count_handler(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json() or {}
    for key in body:
        if key not in ("query",):
            raise OpenSearchError(f"request does not support [{key}]", status=400, error_type="parsing_exception")
    total = 0
    targets = _targets(node, request)
    for index, filters in targets:
        query = with_alias_filters(index, parse_for_index(index, body), filters)
        searcher = Searcher(index, index.reader)
        try:
            docs, _ = collect_matches(searcher, query.weight(searcher, np.float32(1.0), False))
        except OpenSearchError as exc:
            raise SearchPhaseExecutionError(exc, index.name) from None
        total += len(docs)
    return RestResponse(200, {"count": total, "_shards": {"total": len(targets), "successful": len(targets),
                                                          "skipped": 0, "failed": 0}})


@route("POST", "/{index}/_delete_by_query")
def delete_by_query(node: "Node", request: RestRequest) -> RestResponse:
    started = time.perf_counter()
    body = request.json(required=True)
    if "query" not in body:
        raise OpenSearchError("query is missing", status=400, error_type="action_request_validation_exception")
    deleted = 0
    batches = 0
    for index, filters in _targets(node, request):
        query = with_alias_filters(index, parse_for_index(index, body), filters)
        searcher = Searcher(index, index.reader)
        docs, _ = collect_matches(searcher, query.weight(searcher, np.float32(1.0), False))
        ids = []
        for doc in docs.tolist():
            segment, local = searcher.reader.locate(doc)
            ids.append(segment.ids[local])
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            outcomes = index.write_ops([{"op": "delete", "id": doc_id} for doc_id in chunk])
            deleted += sum(1 for o in outcomes if not isinstance(o, OpenSearchError) and o.result == "deleted")
            batches += 1
        if request.param("refresh") in ("", "true"):
            index.refresh()
    return RestResponse(200, {"took": int((time.perf_counter() - started) * 1000), "timed_out": False,
                              "total": deleted, "deleted": deleted, "batches": batches, "version_conflicts": 0,
                              "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                              "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []})
