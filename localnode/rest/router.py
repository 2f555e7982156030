"""REST routing: OpenSearch URL templates to handler functions, and the request/response objects.

Handlers register with :func:`route`; the router matches literal segments before placeholders so
``/_search`` never reaches the ``/{index}`` handlers, and a valid OpenSearch API the engine does not
serve answers with a 400 that says so instead of a misleading "no handler".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote

import orjson

from localnode.errors import OpenSearchError, ParsingError
from localnode.rest.params import check_params

if TYPE_CHECKING:
    from localnode.node import Node


@dataclass(slots=True)
class RestRequest:
    method: str
    path: str
    params: dict[str, str]
    body_bytes: bytes | None
    path_params: dict[str, str] = field(default_factory=dict)
    _json: Any = None
    _parsed: bool = False

    def json(self, required: bool = False) -> Any:
        if not self._parsed:
            self._parsed = True
            if self.body_bytes:
                try:
                    self._json = orjson.loads(self.body_bytes)
                except orjson.JSONDecodeError as exc:
                    raise OpenSearchError(f"Failed to parse request body: {exc}", status=400,
                                          error_type="json_parse_exception") from None
        if required and self._json is None:
            raise ParsingError("request body is required", error_type="parse_exception")
        return self._json

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.params.get(name)
        if value is None:
            return default
        return value in ("", "true")


@dataclass(slots=True)
class RestResponse:
    status: int
    body: Any
    content_type: str = "application/json; charset=UTF-8"

    def encode(self) -> str:
        if self.body is None:
            return ""
        if isinstance(self.body, str):
            return self.body
        return orjson.dumps(self.body, option=orjson.OPT_SERIALIZE_NUMPY).decode()


Handler = Callable[["Node", RestRequest], RestResponse]


@dataclass(slots=True)
class _Route:
    methods: frozenset[str]
    template: str
    pattern: re.Pattern[str]
    literal_count: int
    handler: Handler
    head: str | None  # the first path segment when it is literal: a cheap pre-filter before the regex


_ROUTES: list[_Route] = []
# (method, path) -> the route and path parameters it resolved to. Routing is a pure function of the
# method and path once the handlers are registered, and clients repeat the same few paths, so the
# ~30 regex tries of a placeholder path run once per distinct path instead of once per request.
_RESOLVED: dict[tuple[str, str], tuple[_Route, dict[str, str]]] = {}
_RESOLVED_LIMIT = 4096

KNOWN_UNSUPPORTED_APIS = {
    "_index_template", "_template", "_component_template", "_snapshot", "_ingest", "_nodes",
    "_scroll", "_search_scroll", "_msearch", "_mtermvectors", "_termvectors", "_rank_eval", "_field_caps",
    "_validate", "_explain", "_update_by_query", "_reindex", "_split", "_shrink", "_clone", "_rollover",
    "_open", "_close", "_freeze", "_data_stream", "_cache", "_segments", "_recovery", "_shard_stores",
    "_upgrade", "_plugins", "_opendistro", "_security", "_script_context", "_scripts", "_render",
    "_search_shards", "_count_by_query", "_pit",
}


def route(methods: str, *templates: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``methods`` (comma-separated) on each URL template."""
    def register(handler: Handler) -> Handler:
        for template in templates:
            parts = [p for p in template.strip("/").split("/") if p]
            regex = "^/" + "/".join(
                f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts) + "/?$"
            if not parts:
                regex = "^/?$"
            literals = sum(1 for p in parts if not p.startswith("{"))
            head = parts[0] if parts and not parts[0].startswith("{") else None
            _ROUTES.append(_Route(frozenset(methods.split(",")), template, re.compile(regex), literals, handler,
                                  head if parts else ""))
        _ROUTES.sort(key=lambda r: -r.literal_count)
        _RESOLVED.clear()
        return handler
    return register


def dispatch(node: "Node", request: RestRequest) -> RestResponse:
    """Route a request (:func:`_route_and_handle`), then apply ``filter_path`` to a JSON answer."""
    response = _route_and_handle(node, request)
    spec = request.params.get("filter_path") if request.params else None
    if spec and isinstance(response.body, (dict, list)):
        from localnode.rest import filter_path
        response.body = filter_path.apply(response.body, spec)
    return response


def _route_and_handle(node: "Node", request: RestRequest) -> RestResponse:
    """Route a request. Index names never start with '_', so a placeholder match like
    ``/{index}/_search`` for ``/_plugins/_search`` is only a fallback: a known API the engine does not
    serve gets a clear "not supported" 400 first, and only then do index handlers report the name."""
    key = (request.method, request.path)
    resolved = _RESOLVED.get(key)
    if resolved is not None:
        request.path_params = dict(resolved[1])
        if request.params:
            check_params(resolved[0].template, request.path, request.params)
        return resolved[0].handler(node, request)
    allowed: set[str] = set()
    fallback: tuple[_Route, dict[str, str]] | None = None
    first_segment = request.path.strip("/").split("/", 1)[0]
    for candidate in _ROUTES:
        if candidate.head is not None and candidate.head != first_segment:
            continue
        match = candidate.pattern.match(request.path)
        if match is None:
            continue
        values = {k: unquote(v) for k, v in match.groupdict().items()}
        if request.method not in candidate.methods and not (request.method == "HEAD" and "GET" in candidate.methods):
            allowed.update(candidate.methods)
            continue
        index = values.get("index")
        if index is not None and index.startswith("_") and index != "_all":
            fallback = fallback or (candidate, values)
            continue
        if len(_RESOLVED) >= _RESOLVED_LIMIT:
            _RESOLVED.clear()
        _RESOLVED[key] = (candidate, values)
        request.path_params = dict(values)
        if request.params:
            check_params(candidate.template, request.path, request.params)
        return candidate.handler(node, request)
    segments = request.path.strip("/").split("/")
    unsupported = next((s for s in segments[:2] if s in KNOWN_UNSUPPORTED_APIS), None)
    if unsupported is not None:
        raise OpenSearchError(
            f"the [{unsupported}] API is not supported by the embedded engine (localnode); "
            "use --cluster URL to run it against OpenSearch", status=400, error_type="illegal_argument_exception")
    if fallback is not None:
        request.path_params = fallback[1]
        if request.params:
            check_params(fallback[0].template, request.path, request.params)
        return fallback[0].handler(node, request)
    if allowed:
        return RestResponse(405, {"error": f"Incorrect HTTP method for uri [{request.path}] and method "
                                           f"[{request.method}], allowed: {sorted(allowed)}".replace("'", ""),
                                  "status": 405})
    return RestResponse(400, {"error": f"no handler found for uri [{request.path}] and method [{request.method}]"})
