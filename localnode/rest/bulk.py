"""``_bulk``: NDJSON actions applied in order, one translog fsync per index per request.

As in OpenSearch, a malformed action line fails the whole request (the stream cannot be trusted
past it), while a bad document only fails its own item: the response lists every item in order
with its status, and valid items are indexed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from localnode.errors import IllegalArgumentError, MapperParsingError, OpenSearchError
from localnode.rest.documents import (not_an_alias, refresh_after_write, shards_info, update_get,
                                      write_routing_refused)
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex
    from localnode.node import Node

_ACTIONS = ("index", "create", "update", "delete")
_META_KEYS = {"_index", "_id", "routing", "if_seq_no", "if_primary_term", "version", "version_type",
              "require_alias", "retry_on_conflict", "pipeline", "_source", "dynamic_templates"}


def parse_bulk(body: bytes, default_index: str | None) -> list[dict[str, Any]]:
    lines = body.split(b"\n")
    items: list[dict[str, Any]] = []
    i = 0
    line_no = 0
    while i < len(lines):
        raw = lines[i].strip()
        i += 1
        line_no += 1
        if not raw:
            continue
        try:
            action_obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise IllegalArgumentError(
                f"Malformed action/metadata line [{line_no}], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]") from None
        if not isinstance(action_obj, dict) or len(action_obj) != 1:
            raise IllegalArgumentError(
                f"Malformed action/metadata line [{line_no}], expected START_OBJECT but found [{type(action_obj).__name__}]")
        action, meta = next(iter(action_obj.items()))
        if action not in _ACTIONS:
            raise IllegalArgumentError(
                f"Malformed action/metadata line [{line_no}], expected field [create], [delete], [index] or [update] but found [{action}]")
        if not isinstance(meta, dict):
            raise IllegalArgumentError(f"Malformed action/metadata line [{line_no}], expected START_OBJECT")
        for key in meta:
            if key not in _META_KEYS:
                raise IllegalArgumentError(f"Action/metadata line [{line_no}] contains an unknown parameter [{key}]")
        index = meta.get("_index", default_index)
        item: dict[str, Any] = {"action": action, "meta": meta, "index": index, "line": line_no}
        if action != "delete":
            if i >= len(lines) or not lines[i].strip():
                raise IllegalArgumentError("The bulk request must be terminated by a newline [\\n]" if i >= len(lines)
                                           else f"Missing source for action [{action}] at line [{line_no}]")
            item["source_raw"] = lines[i]
            i += 1
            line_no += 1
        items.append(item)
    return items


@route("POST,PUT", "/_bulk", "/{index}/_bulk")
def bulk(node: "Node", request: RestRequest) -> RestResponse:
    started = time.perf_counter()
    if not request.body_bytes:
        raise IllegalArgumentError("request body is required")
    items = parse_bulk(request.body_bytes, request.path_params.get("index"))
    results: list[dict[str, Any] | None] = [None] * len(items)
    by_index: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        if item["index"] is None:
            results[position] = _error_item(item, None, IllegalArgumentError("index is missing"), status=400)
            continue
        by_index.setdefault(item["index"], []).append(position)
    touched: list[tuple["LocalIndex", list[int]]] = []
    alias_required = request.flag("require_alias")
    for name, positions in by_index.items():
        required = [p for p in positions if items[p]["meta"].get("require_alias", alias_required)]
        if required and name not in node.aliases:   # per item: the action's flag, else the URL's
            error = not_an_alias(name)
            for position in required:
                results[position] = _error_item(items[position], name, error)
            positions = [p for p in positions if p not in set(required)]
            if not positions:
                continue
        try:
            index = node.get_or_create_for_write(name)
        except OpenSearchError as exc:
            for position in positions:
                results[position] = _error_item(items[position], name, exc)
            continue
        touched.append((index, positions))
        _apply_index_items(index, [(p, items[p]) for p in positions], results)
    forced: dict[str, bool] = {}
    for index, positions in touched:
        if index.name not in forced:
            forced[index.name] = refresh_after_write(index, request)
        if forced[index.name]:
            # refresh=true: BulkShardResponse.setForcedRefresh marks every item that has a response
            for position in positions:
                body = next(iter(results[position].values())) if results[position] else None
                if body is not None and "error" not in body:
                    body["forced_refresh"] = True
    errors = any("error" in next(iter(r.values())) for r in results if r is not None)
    return RestResponse(200, {"took": int((time.perf_counter() - started) * 1000), "errors": errors,
                              "items": results})


def _apply_index_items(index: "LocalIndex", entries: list[tuple[int, dict[str, Any]]],
                       results: list[dict[str, Any] | None]) -> None:
    batch: list[tuple[int, dict[str, Any], dict[str, Any]]] = []

    def flush_batch() -> None:
        if not batch:
            return
        outcomes = index.write_ops([spec for _, _, spec in batch])
        for (position, item, _), outcome in zip(batch, outcomes):
            if isinstance(outcome, OpenSearchError):
                results[position] = _error_item(item, index.name, outcome)
            else:
                results[position] = {item["action"]: {
                    "_index": index.name, "_id": outcome.doc_id, "_version": outcome.version,
                    "result": outcome.result, "_shards": shards_info(index), "_seq_no": outcome.seq_no,
                    "_primary_term": 1, "status": outcome.status}}
        batch.clear()

    for position, item in entries:
        meta = item["meta"]
        action = item["action"]
        try:
            if action == "update":
                flush_batch()
                body = _load_source(item)
                result, new_source = index.update(str(meta.get("_id")), body, meta.get("if_seq_no"),
                                                  meta.get("if_primary_term"))
                results[position] = {"update": {
                    "_index": index.name, "_id": result.doc_id, "_version": result.version, "result": result.result,
                    "_shards": shards_info(index), "_seq_no": result.seq_no, "_primary_term": 1,
                    "status": 201 if result.result == "created" else 200}}
                got = update_get(meta.get("_source", body.get("_source") if isinstance(body, dict) else None),
                                 None, None, result, new_source)
                if got is not None:
                    results[position]["update"]["get"] = got
                continue
            if meta.get("pipeline"):
                raise IllegalArgumentError("ingest pipelines are not supported by the embedded engine")
            if meta.get("routing") is not None:
                raise write_routing_refused()
            spec: dict[str, Any] = {"op": action, "id": None if meta.get("_id") is None else str(meta["_id"])}
            if action == "delete" and spec["id"] is None:
                raise IllegalArgumentError("id is missing")
            if action != "delete":
                spec["source"] = _load_source(item)
                spec["source_raw"] = bytes(item["source_raw"]).strip()
            for key in ("if_seq_no", "if_primary_term", "version", "version_type"):
                if key in meta:
                    spec[key] = meta[key]
            batch.append((position, item, spec))
        except OpenSearchError as exc:
            results[position] = _error_item(item, index.name, exc)
    flush_batch()


def _load_source(item: dict[str, Any]) -> Any:
    try:
        return orjson.loads(item["source_raw"])
    except orjson.JSONDecodeError as exc:
        raise MapperParsingError("failed to parse", caused_by=OpenSearchError(
            f"Unexpected character in document source at bulk line [{item['line'] + 1}]: {exc}",
            status=400, error_type="json_parse_exception")) from None


def _error_item(item: dict[str, Any], index: str | None, error: OpenSearchError, status: int | None = None) -> dict[str, Any]:
    meta = item["meta"]
    body = {"_index": index, "_id": None if meta.get("_id") is None else str(meta.get("_id")),
            "status": status or error.status, "error": error.cause_dict()}
    if isinstance(error, OpenSearchError) and "index_uuid" not in body["error"] and index is not None:
        body["error"].setdefault("index", index)
    return {item["action"]: body}
