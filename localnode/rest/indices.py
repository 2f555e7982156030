"""Index APIs: create, delete, get, exists, mappings, settings, refresh, flush, force merge, stats, analyze."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localnode.errors import IllegalArgumentError, IndexNotFoundError, OpenSearchError
from localnode.index import settings as index_settings
from localnode.rest.aliases import alias_view
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex
    from localnode.node import Node


def _shards(count: int) -> dict[str, int]:
    return {"total": count, "successful": count, "failed": 0}


def _resolve(node: "Node", request: RestRequest, allow_no_indices: bool = True) -> list["LocalIndex"]:
    return [index for index, _ in node.resolve(
        request.path_params.get("index"), ignore_unavailable=request.flag("ignore_unavailable"),
        allow_no_indices=request.flag("allow_no_indices", allow_no_indices))]


@route("PUT", "/{index}")
def create_index(node: "Node", request: RestRequest) -> RestResponse:
    name = request.path_params["index"]
    node.create_index(name, request.json())
    return RestResponse(200, {"acknowledged": True, "shards_acknowledged": True, "index": name})


@route("DELETE", "/{index}")
def delete_index(node: "Node", request: RestRequest) -> RestResponse:
    expression = request.path_params["index"]
    if expression in ("_all", "*") :
        raise IllegalArgumentError("Wildcard expressions or all indices are not allowed")
    for part in expression.split(","):
        if part in node.aliases and "*" not in part:
            raise IllegalArgumentError(
                f"The provided expression [{part}] matches an alias, specify the corresponding concrete indices instead.")
    targets = _resolve(node, request, allow_no_indices=False)
    for index in targets:
        node.delete_index(index.name)
    return RestResponse(200, {"acknowledged": True})


@route("GET", "/{index}")
def get_index(node: "Node", request: RestRequest) -> RestResponse:
    if request.method == "HEAD":
        try:
            found = _resolve(node, request, allow_no_indices=False)
        except IndexNotFoundError:
            return RestResponse(404, None)
        return RestResponse(200 if found else 404, None)
    body = {}
    for index in _resolve(node, request, allow_no_indices=False):
        body[index.name] = {"aliases": {name: alias_view(spec) for name, spec in node.aliases_of(index.name).items()},
                            "mappings": index.mapping.to_dict(),
                            "settings": _settings_body(index)}
    return RestResponse(200, body)


def _settings_body(index: "LocalIndex") -> dict[str, Any]:
    flat = {k: v for k, v in index.settings.items() if k != "index.analysis"}
    nested = index_settings.nested(flat)
    if "index.analysis" in index.settings:
        nested.setdefault("index", {})["analysis"] = index.settings["index.analysis"]
    return nested


@route("GET", "/{index}/_mapping", "/_mapping")
def get_mapping(node: "Node", request: RestRequest) -> RestResponse:
    return RestResponse(200, {index.name: {"mappings": index.mapping.to_dict()} for index in _resolve(node, request)})


@route("PUT,POST", "/{index}/_mapping")
def put_mapping(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    targets = _resolve(node, request, allow_no_indices=False)
    for index in targets:  # validate everywhere first so a conflict changes nothing
        probe = index.mapping.__class__(index.mapping.to_dict(), knn_enabled=index.mapping.knn_enabled,
                                        analyzers=index.mapping.analyzers)
        probe.merge(body)
    for index in targets:
        index.put_mapping(body)
    return RestResponse(200, {"acknowledged": True})


@route("GET", "/{index}/_settings", "/_settings", "/{index}/_settings/{name}")
def get_settings(node: "Node", request: RestRequest) -> RestResponse:
    body = {}
    for index in _resolve(node, request):
        settings = _settings_body(index)
        body[index.name] = {"settings": settings}
    return RestResponse(200, body)


@route("PUT", "/{index}/_settings", "/_settings")
def put_settings(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    if "settings" in body and len(body) == 1:
        body = body["settings"]
    for index in _resolve(node, request, allow_no_indices=False):
        index.update_settings(body)
    return RestResponse(200, {"acknowledged": True})


@route("POST,GET", "/{index}/_refresh", "/_refresh")
def refresh(node: "Node", request: RestRequest) -> RestResponse:
    targets = _resolve(node, request)
    for index in targets:
        index.refresh()
    return RestResponse(200, {"_shards": _shards(len(targets))})


@route("POST,GET", "/{index}/_flush", "/_flush")
def flush(node: "Node", request: RestRequest) -> RestResponse:
    targets = _resolve(node, request)
    for index in targets:
        index.flush(force=request.flag("force"))
    return RestResponse(200, {"_shards": _shards(len(targets))})


@route("POST", "/{index}/_forcemerge", "/_forcemerge")
def force_merge(node: "Node", request: RestRequest) -> RestResponse:
    targets = _resolve(node, request)
    max_segments = int(request.param("max_num_segments") or 1)
    if max_segments < 1:
        raise IllegalArgumentError("max_num_segments must be >= 1")
    for index in targets:
        index.force_merge(max_segments, only_expunge_deletes=request.flag("only_expunge_deletes"))
    return RestResponse(200, {"_shards": _shards(len(targets))})


@route("GET", "/{index}/_stats", "/_stats", "/{index}/_stats/{metric}", "/_stats/{metric}")
def stats(node: "Node", request: RestRequest) -> RestResponse:
    per_index = {}
    totals = {"docs": {"count": 0, "deleted": 0}, "store": {"size_in_bytes": 0}}
    for index in _resolve(node, request):
        block = _index_stats(index)
        per_index[index.name] = {"uuid": index.uuid, "primaries": block, "total": block}
        totals["docs"]["count"] += block["docs"]["count"]
        totals["docs"]["deleted"] += block["docs"]["deleted"]
        totals["store"]["size_in_bytes"] += block["store"]["size_in_bytes"]
    count = len(per_index)
    return RestResponse(200, {"_shards": _shards(count), "_all": {"primaries": totals, "total": totals},
                              "indices": per_index})


def _index_stats(index: "LocalIndex") -> dict[str, Any]:
    counters = index.stats_counters
    return {"docs": {"count": index.doc_count(), "deleted": index.deleted_count()},
            "store": {"size_in_bytes": index.store_size(), "reserved_in_bytes": 0},
            "indexing": {"index_total": counters["index_total"], "delete_total": counters["delete_total"]},
            "search": {"query_total": counters["query_total"]},
            "refresh": {"total": counters["refresh_total"]}, "flush": {"total": counters["flush_total"]},
            "merges": {"total": counters["merge_total"]},
            "segments": {"count": len(index.reader.segments)},
            "translog": index.translog.stats()}


@route("GET,POST", "/_analyze", "/{index}/_analyze")
def analyze(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    text = body.get("text")
    if text is None:
        raise IllegalArgumentError("text is missing")
    texts = text if isinstance(text, list) else [text]
    index_name = request.path_params.get("index")
    index = node.index_or_404(index_name) if index_name else None
    analyzer_name = body.get("analyzer")
    if "field" in body:
        if index is None:
            raise IllegalArgumentError("analysis by field requires an index")
        mapper = index.mapping.field(body["field"])
        analyzer_name = mapper.analyzer if mapper is not None and mapper.type == "text" else \
            ("keyword" if mapper is not None else "standard")
    if "tokenizer" in body:  # an ad hoc chain: built as a custom analyzer of the index (or none)
        from localnode.analysis.custom import UnknownAnalyzerError, build_analyzer
        definition = {"type": "custom", "tokenizer": body["tokenizer"]}
        for key in ("filter", "char_filter"):
            if key in body:
                definition[key] = body[key]
        settings_analysis = index.settings.get("index.analysis") if index is not None else None
        try:
            analyzer = build_analyzer(definition, settings_analysis)
        except UnknownAnalyzerError as exc:
            raise IllegalArgumentError(str(exc)) from None
    elif any(k in body for k in ("filter", "char_filter")):
        raise OpenSearchError("_analyze with [filter] or [char_filter] but no [tokenizer] (a normalizer chain) is "
                              "not supported by the embedded engine", status=400,
                              error_type="illegal_argument_exception")
    else:
        analyzer_name = analyzer_name or "standard"
        if index is not None:
            analyzer = index.analyzer(analyzer_name)
        else:
            from localnode.index.analyzers import AnalyzerResolver
            analyzer = AnalyzerResolver(None).get(analyzer_name)
    tokens = []
    offset = 0
    position_base = 0
    for i, value in enumerate(texts):
        produced = analyzer.analyze(str(value))
        for token in produced:
            tokens.append({"token": token.term, "start_offset": token.start_offset + offset,
                           "end_offset": token.end_offset + offset, "type": token.type,
                           "position": token.position + position_base})
        if produced:
            position_base += produced[-1].position + 1 + 100
        offset += len(str(value)) + 1
    return RestResponse(200, {"tokens": tokens})
