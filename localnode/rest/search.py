"""Search APIs: ``_search``, ``_count`` and ``_delete_by_query``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from localnode.errors import (IllegalArgumentError, OpenSearchError, ParsingError, SearchPhaseExecutionError,
                              UnsupportedError)
from localnode.rest import tasks
from localnode.rest.router import RestRequest, RestResponse, route
from localnode.search.execute import (build_weight, collect_matches, parse_for_index, parse_request, search,
                                      with_alias_filters)
from localnode.search.queries.compound import MatchAllQuery, check_rewrite
from localnode.search.query import ParseContext, Query, Searcher, parse_query_stream
from localnode.search.xcontent import TokenStream, decode_body_checked, token, walk_tokens

if TYPE_CHECKING:
    from localnode.node import Node


def _targets(node: "Node", request: RestRequest) -> list[tuple[Any, list[dict[str, Any]]]]:
    return node.resolve(request.path_params.get("index"), ignore_unavailable=request.flag("ignore_unavailable"),
                        allow_no_indices=request.flag("allow_no_indices", True))


def _body(request: RestRequest) -> tuple[Any, bool, bool]:
    """The request body as Jackson reads it (:func:`localnode.search.xcontent.decode_body_checked`),
    whether there was one, and whether it may hold NaN/Infinity literals."""
    if not request.body_bytes or not request.body_bytes.strip():
        return None, False, False
    body, non_standard = decode_body_checked(request.body_bytes)
    return body, True, non_standard


@route("GET,POST", "/_search", "/{index}/_search")
def search_handler(node: "Node", request: RestRequest) -> RestResponse:
    if request.param("q") is not None:
        raise UnsupportedError("URI search parameter [q] (query_string syntax)")
    if request.param("scroll") is not None:
        raise UnsupportedError("[scroll] searches")
    body, has_body, non_standard = _body(request)
    parsed = parse_request(body, request.params, has_body=has_body, non_standard=non_standard)
    return RestResponse(200, search(_targets(node, request), parsed, request.params))


def parse_count_body(body: Any, has_body: bool) -> Query | None:
    """``RestActions.getQueryContent``: an object whose only key is ``query``; every failure that is not
    already a parsing error becomes one ("Failed to parse")."""
    if not has_body:
        return None
    try:
        if token(body) != "START_OBJECT":
            raise ParsingError(f"Expected [START_OBJECT] but found [{token(body)}]")
        query = None
        stream = TokenStream(body, started=True)
        while (kind := stream.next_token()) not in ("END_OBJECT", None):
            if kind == "FIELD_NAME":   # the loop skips every other token
                if stream.value != "query":
                    raise ParsingError(f"request does not support [{stream.value}]")
                query = parse_query_stream(stream, ParseContext())
        walk_tokens(body)
        return query
    except OpenSearchError as exc:
        if exc.error_type == "parsing_exception":
            raise
        raise ParsingError("Failed to parse", caused_by=exc) from None


@route("GET,POST", "/_count", "/{index}/_count")
def count_handler(node: "Node", request: RestRequest) -> RestResponse:
    body, has_body, _ = _body(request)
    parsed = parse_count_body(body, has_body)
    terminate_after = request.param("terminate_after")
    if terminate_after is not None and terminate_after.lstrip("-").isdigit() and int(terminate_after) < 0:
        raise IllegalArgumentError("terminateAfter must be > 0")
    total = 0
    targets = _targets(node, request)
    for index, filters in targets:
        query = with_alias_filters(index, parsed or MatchAllQuery(), filters)
        searcher = Searcher(index, index.reader)
        try:
            weight = build_weight(searcher, query, False)
            check_rewrite(weight)
            docs, _ = collect_matches(searcher, weight)
        except OpenSearchError as exc:
            raise SearchPhaseExecutionError(exc, index.name) from None
        total += len(docs)
    return RestResponse(200, {"count": total, "_shards": {"total": len(targets), "successful": len(targets),
                                                          "skipped": 0, "failed": 0}})


@route("POST", "/{index}/_delete_by_query")
def delete_by_query(node: "Node", request: RestRequest) -> RestResponse:
    """Delete the matches in index order, in batches of ``scroll_size``, at most ``max_docs``.

    Writes are applied synchronously, so there are no version conflicts to abort on or proceed past
    (``conflicts`` is validated and accepted). ``slices`` of 1 or ``auto`` (one shard: one slice) run
    as one; more slices would change how the work and the response are split and are refused.
    ``wait_for_completion=false`` runs the work, keeps the result as a finished task and answers
    with its id, which ``GET _tasks/ID`` returns as OpenSearch does.
    """
    started = time.perf_counter()
    body = request.json(required=True)
    if "query" not in body:
        raise OpenSearchError("query is missing", status=400, error_type="action_request_validation_exception")
    conflicts = request.param("conflicts", body.get("conflicts", "abort"))
    if conflicts not in ("abort", "proceed"):
        raise IllegalArgumentError(f'conflicts may only be "proceed" or "abort" but was [{conflicts}]')
    max_docs = _non_negative(request.param("max_docs", body.get("max_docs")), "max_docs")
    scroll_size = _non_negative(request.param("scroll_size"), "scroll_size") or 1000
    slices = request.param("slices", "1")
    if slices not in ("1", "auto"):
        raise UnsupportedError(f"[slices] of [{slices}] in _delete_by_query (one slice per shard: use 1 or auto)")
    deleted = batches = total = 0
    body = {k: v for k, v in body.items() if k not in ("conflicts", "max_docs")}
    for index, filters in _targets(node, request):
        query = with_alias_filters(index, parse_for_index(index, body), filters)
        searcher = Searcher(index, index.reader)
        docs, _ = collect_matches(searcher, query.weight(searcher, np.float32(1.0), False))
        ids = []
        for doc in docs.tolist():
            if max_docs is not None and total + len(ids) >= max_docs:
                break
            segment, local = searcher.reader.locate(doc)
            ids.append(segment.ids[local])
        total += len(ids)
        for start in range(0, len(ids), scroll_size):
            chunk = ids[start:start + scroll_size]
            outcomes = index.write_ops([{"op": "delete", "id": doc_id} for doc_id in chunk])
            deleted += sum(1 for o in outcomes if not isinstance(o, OpenSearchError) and o.result == "deleted")
            batches += 1
        if request.param("refresh") in ("", "true"):
            index.refresh()
    result = {"took": int((time.perf_counter() - started) * 1000), "timed_out": False,
              "total": total, "deleted": deleted, "batches": batches, "version_conflicts": 0,
              "noops": 0, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
              "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []}
    if request.param("wait_for_completion") == "false":
        status = {k: result[k] for k in ("total", "deleted", "batches", "version_conflicts", "noops", "retries",
                                         "throttled_millis", "requests_per_second", "throttled_until_millis")}
        task_id = tasks.record(node, "indices:data/write/delete/byquery",
                               f"delete-by-query [{request.path_params['index']}]",
                               {"updated": 0, "created": 0, **status}, result, started)
        return RestResponse(200, {"task": task_id})
    return RestResponse(200, result)


def _non_negative(raw: Any, name: str) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise IllegalArgumentError(f"Failed to parse int parameter [{name}] with value [{raw}]") from None
    if value < 0:
        raise IllegalArgumentError(f"[{name}] parameter cannot be negative, found [{value}]")
    return value
