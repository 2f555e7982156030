"""Single-document APIs: index, create, get, source, exists, delete, update, mget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from localnode.errors import (ActionRequestValidationError, IllegalArgumentError, IndexNotFoundError, OpenSearchError,
                             UnsupportedError, VersionConflictError)
from localnode.rest.router import RestRequest, RestResponse, route
from localnode.search.source_filter import SourceFilter

if TYPE_CHECKING:
    from localnode.index.shard import LocalIndex, OpResult
    from localnode.node import Node


def shards_info(index: "LocalIndex") -> dict[str, int]:
    replicas = int(index.settings.get("index.number_of_replicas", "1"))
    return {"total": 1 + replicas, "successful": 1, "failed": 0}


def write_body(index: "LocalIndex", result: "OpResult") -> dict[str, Any]:
    return {"_index": index.name, "_id": result.doc_id, "_version": result.version, "result": result.result,
            "_shards": shards_info(index) if result.result != "noop" else {"total": 0, "successful": 0, "failed": 0},
            "_seq_no": result.seq_no, "_primary_term": 1}


def write_routing_refused() -> UnsupportedError:
    """Routing is not stored per document (one shard makes it moot for placement, but OpenSearch
    shows it as ``_routing`` on every read), so a write that sets it is refused, not half-served."""
    return UnsupportedError("[routing] on writes (the engine does not store a document's routing)")


def refuse_write_routing(request: RestRequest) -> None:
    if request.method != "GET" and request.param("routing") is not None:
        raise write_routing_refused()


def not_an_alias(name: str) -> OpenSearchError:
    """``require_alias``: a write must name an alias, never an index (nor create one)."""
    return OpenSearchError(f"no such index [{name}] and [require_alias] request flag is [true] and "
                           f"[{name}] is not an alias", status=404, error_type="index_not_found_exception",
                           index=name)


def require_alias(node: "Node", name: str, required: bool) -> None:
    if required and name not in node.aliases:
        raise not_an_alias(name)


def update_get(spec: Any, includes: str | None, excludes: str | None, result: Any, source: Any) -> dict[str, Any] | None:
    """The ``get`` part of an update answer, when ``_source`` (body, URL or bulk metadata) or the URL's
    ``_source_includes``/``_source_excludes`` ask for the updated document."""
    if spec in (None, False, "false") and not includes and not excludes:
        return None
    params = {k: v for k, v in (("_source_includes", includes), ("_source_excludes", excludes)) if v}
    source_filter = SourceFilter.parse(None if spec in (None, True, "true") else spec, params)
    return {"_seq_no": result.seq_no, "_primary_term": 1, "found": True, "_source": source_filter.apply(source)}


def refresh_after_write(index: "LocalIndex", request: RestRequest) -> bool:
    mode = request.param("refresh")
    if mode in ("", "true", "wait_for"):
        index.refresh()
        return mode != "wait_for"
    if mode not in (None, "false"):
        raise IllegalArgumentError(f"Unknown value for refresh: [{mode}].")
    return False


def write_op_from_params(request: RestRequest, op: str, doc_id: str | None, source: Any) -> dict[str, Any]:
    params = request.params
    spec: dict[str, Any] = {"op": op, "id": doc_id, "source": source}
    if "if_seq_no" in params or "if_primary_term" in params:
        if "if_seq_no" not in params or "if_primary_term" not in params:
            raise ActionRequestValidationError(
                "Validation Failed: 1: ifSeqNo is set, but primary term is [0];")
        spec["if_seq_no"] = int(params["if_seq_no"])
        spec["if_primary_term"] = int(params["if_primary_term"])
    if "version" in params:
        spec["version"] = int(params["version"])
    if "version_type" in params:
        spec["version_type"] = params["version_type"]
    if params.get("pipeline"):
        raise OpenSearchError("ingest pipelines are not supported by the embedded engine", status=400,
                              error_type="illegal_argument_exception")
    return spec


def _apply_single(index: "LocalIndex", spec: dict[str, Any], request: RestRequest) -> RestResponse:
    result = index.write_ops([spec])[0]
    if isinstance(result, OpenSearchError):
        raise result
    forced = refresh_after_write(index, request)
    body = write_body(index, result)
    if forced:
        body["forced_refresh"] = True
    return RestResponse(result.status, body)


@route("PUT,POST", "/{index}/_doc/{id}")
def index_doc(node: "Node", request: RestRequest) -> RestResponse:
    source = request.json(required=True)
    op_type = request.param("op_type", "index")
    if op_type not in ("index", "create"):
        raise IllegalArgumentError(f"opType must be 'create' or 'index', found: [{op_type}]")
    refuse_write_routing(request)
    require_alias(node, request.path_params["index"], request.flag("require_alias"))
    index = node.get_or_create_for_write(request.path_params["index"])
    return _apply_single(index, write_op_from_params(request, op_type, request.path_params["id"], source), request)


@route("POST", "/{index}/_doc")
def index_auto_id(node: "Node", request: RestRequest) -> RestResponse:
    source = request.json(required=True)
    refuse_write_routing(request)
    require_alias(node, request.path_params["index"], request.flag("require_alias"))
    index = node.get_or_create_for_write(request.path_params["index"])
    return _apply_single(index, write_op_from_params(request, "create", None, source), request)


@route("PUT,POST", "/{index}/_create/{id}")
def create_doc(node: "Node", request: RestRequest) -> RestResponse:
    source = request.json(required=True)
    refuse_write_routing(request)
    require_alias(node, request.path_params["index"], request.flag("require_alias"))
    index = node.get_or_create_for_write(request.path_params["index"])
    return _apply_single(index, write_op_from_params(request, "create", request.path_params["id"], source), request)


def _single_index(node: "Node", name: str) -> "LocalIndex":
    resolved = node.resolve(name, allow_no_indices=False)
    if len(resolved) != 1:
        raise IllegalArgumentError(
            f"alias [{name}] has more than one index associated with it [{', '.join(i.name for i, _ in resolved)}], "
            "can't execute a single index op")
    return resolved[0][0]


@route("GET", "/{index}/_doc/{id}")
def get_doc(node: "Node", request: RestRequest) -> RestResponse:
    try:
        index = _single_index(node, request.path_params["index"])
    except IndexNotFoundError:
        if request.method == "HEAD":
            return RestResponse(404, None)
        raise
    doc_id = request.path_params["id"]
    if request.param("realtime") == "false":
        stored = _get_from_reader(index, doc_id)
    else:
        stored = index.get(doc_id)
    if request.method == "HEAD":
        return RestResponse(200 if stored is not None else 404, None)
    if stored is None:
        return RestResponse(404, {"_index": index.name, "_id": doc_id, "found": False})
    wanted = request.param("version")
    if wanted is not None and int(wanted) != stored.version:  # VersionType.isVersionConflictForReads
        raise VersionConflictError(f"[{doc_id}]: version conflict, current version [{stored.version}] is different "
                                   f"than the one provided [{wanted}]", index=index.name, shard="0",
                                   index_uuid=index.uuid)
    body: dict[str, Any] = {"_index": index.name, "_id": doc_id, "_version": stored.version,
                            "_seq_no": stored.seq_no, "_primary_term": 1, "found": True}
    stored_fields = request.param("stored_fields")
    if stored_fields is not None:
        fields = _stored_fields(index, orjson.loads(stored.source), stored_fields)
        if fields:
            body["fields"] = fields
        if not any(p in request.params for p in ("_source", "_source_includes", "_source_excludes")):
            return RestResponse(200, body)   # stored_fields replaces _source unless it is asked for too
    source_filter = SourceFilter.parse(None, request.params)
    if source_filter.enabled:
        body["_source"] = source_filter.apply(orjson.loads(stored.source))
    return RestResponse(200, body)


def _stored_fields(index: "LocalIndex", source: dict[str, Any], spec: str) -> dict[str, list[Any]]:
    """Values of the requested fields mapped with ``store: true`` (others are not stored: absent),
    read from ``_source`` and typed as the stored field returns them. Names are exact, as in a
    get: a pattern matches nothing."""
    from localnode.mapping.dates import DateParseError, format_millis, parse_date_millis
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if names == ["_none_"]:
        return {}
    out: dict[str, list[Any]] = {}
    mapping = index.mapping
    for name in names:
        for path in [name]:  # a get does not expand patterns: "*" names no stored field
            mapper = mapping.field(path)
            if mapper is None or mapper.params.get("store") not in (True, "true"):
                continue
            values = _values_at(source, mapper.source_path.split("."))
            typed: list[Any] = []
            for value in values:
                if value is None:
                    continue
                if mapper.type in ("long", "integer", "short", "byte"):
                    typed.append(int(value))
                elif mapper.type in ("float", "double", "half_float", "scaled_float"):
                    typed.append(float(value))
                elif mapper.type == "date":
                    try:
                        typed.append(format_millis(parse_date_millis(value, mapper.date_format)))
                    except DateParseError:
                        typed.append(value)
                else:
                    typed.append(value)
            if typed:
                out[path] = typed
    return out


def _values_at(node: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return list(node) if isinstance(node, list) else [node]
    if isinstance(node, list):
        return [v for item in node for v in _values_at(item, parts)]
    if not isinstance(node, dict):
        return []
    if parts[0] in node:
        return _values_at(node[parts[0]], parts[1:])
    dotted = ".".join(parts)
    return _values_at(node[dotted], []) if dotted in node else []


def _get_from_reader(index: "LocalIndex", doc_id: str):  # type: ignore[no-untyped-def]
    from localnode.index.shard import StoredDoc
    for segment, live in index.reader.segments:
        local = segment.local_doc(doc_id)
        if local is not None and (live is None or live[local]):
            return StoredDoc(doc_id, segment.source_bytes(local), int(segment.versions[local]),
                             int(segment.seq_nos[local]))
    return None


@route("GET", "/{index}/_source/{id}")
def get_source(node: "Node", request: RestRequest) -> RestResponse:
    index = _single_index(node, request.path_params["index"])
    stored = index.get(request.path_params["id"])
    if request.method == "HEAD":
        return RestResponse(200 if stored is not None else 404, None)
    if stored is None:
        raise OpenSearchError(f"Document not found [{index.name}]/[{request.path_params['id']}]", status=404,
                              error_type="resource_not_found_exception")
    return RestResponse(200, SourceFilter.parse(None, request.params).apply(orjson.loads(stored.source)))


@route("DELETE", "/{index}/_doc/{id}")
def delete_doc(node: "Node", request: RestRequest) -> RestResponse:
    index = _single_index(node, request.path_params["index"])
    spec = write_op_from_params(request, "delete", request.path_params["id"], None)
    result = index.write_ops([spec])[0]
    if isinstance(result, OpenSearchError):
        raise result
    refresh_after_write(index, request)
    return RestResponse(result.status, write_body(index, result))


@route("POST", "/{index}/_update/{id}")
def update_doc(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    refuse_write_routing(request)
    require_alias(node, request.path_params["index"], request.flag("require_alias"))
    index = node.get_or_create_for_write(request.path_params["index"])
    if_seq_no = int(request.params["if_seq_no"]) if "if_seq_no" in request.params else None
    if_term = int(request.params["if_primary_term"]) if "if_primary_term" in request.params else None
    result, new_source = index.update(request.path_params["id"], body, if_seq_no, if_term)
    forced = refresh_after_write(index, request)
    response = write_body(index, result)
    if forced and result.result != "noop":
        response = {**{k: v for k, v in response.items() if k != "_shards"}, "forced_refresh": True,
                    "_shards": response["_shards"]}
    got = update_get(body.get("_source", request.params.get("_source")), request.params.get("_source_includes"),
                     request.params.get("_source_excludes"), result, new_source)
    if got is not None:
        response["get"] = got
    return RestResponse(200 if result.result != "created" else 201, response)


@route("GET,POST", "/_mget", "/{index}/_mget")
def mget(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    default_index = request.path_params.get("index")
    specs: list[dict[str, Any]]
    if "docs" in body:
        specs = body["docs"]
    elif "ids" in body:
        specs = [{"_id": i} for i in body["ids"]]
    else:
        raise ActionRequestValidationError("Validation Failed: 1: no documents to get;")
    docs = []
    for spec in specs:
        name = spec.get("_index", default_index)
        doc_id = str(spec.get("_id"))
        if name is None:
            raise ActionRequestValidationError("Validation Failed: 1: index is missing for doc 0;")
        try:
            index = _single_index(node, name)
        except OpenSearchError as exc:
            docs.append({"_index": name, "_id": doc_id, "error": exc.cause_dict()})
            continue
        stored = index.get(doc_id)
        if stored is None:
            docs.append({"_index": index.name, "_id": doc_id, "found": False})
            continue
        entry: dict[str, Any] = {"_index": index.name, "_id": doc_id, "_version": stored.version,
                                 "_seq_no": stored.seq_no, "_primary_term": 1, "found": True}
        source_filter = SourceFilter.parse(spec.get("_source"), request.params)
        if source_filter.enabled:
            entry["_source"] = source_filter.apply(orjson.loads(stored.source))
        docs.append(entry)
    return RestResponse(200, {"docs": docs})
