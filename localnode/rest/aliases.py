"""Alias APIs: atomic ``_aliases`` actions and the ``_alias`` get/put/delete/exists endpoints."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from localnode.errors import IllegalArgumentError, OpenSearchError
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.node import Node


#: Fields each alias action accepts (``AliasActions`` PARSERs in OpenSearch 2.19).
_ACTION_FIELDS = {
    "add": {"index", "indices", "alias", "aliases", "filter", "routing", "index_routing", "search_routing",
            "is_write_index", "is_hidden", "must_exist"},
    "remove": {"index", "indices", "alias", "aliases", "must_exist"},
    "remove_index": {"index", "indices", "must_exist"},
}


def _parse_error(reason: str, cause: OpenSearchError) -> OpenSearchError:
    return OpenSearchError(reason, status=400, error_type="x_content_parse_exception", caused_by=cause)


def validate_actions(actions: list[Any]) -> None:
    """Refuse what OpenSearch's parser refuses before any action runs: unknown fields, and add or
    remove without an alias, as ``x_content_parse_exception`` chains naming the action."""
    for action in actions:
        if not isinstance(action, dict) or len(action) != 1:
            continue   # the node reports malformed actions
        (kind, spec), = action.items()
        if kind not in _ACTION_FIELDS or not isinstance(spec, dict):
            continue
        unknown = next((key for key in spec if key not in _ACTION_FIELDS[kind]), None)
        if unknown is not None:
            inner = OpenSearchError(f"[{kind}] unknown field [{unknown}]", status=400,
                                    error_type="x_content_parse_exception")
            raise _parse_error("[aliases] failed to parse field [actions]",
                               _parse_error(f"[alias_action] failed to parse field [{kind}]", inner))
        if kind != "remove_index" and "alias" not in spec and "aliases" not in spec:
            raise _parse_error("[aliases] failed to parse field [actions]",
                               IllegalArgumentError("One of [alias] or [aliases] is required"))


def alias_view(spec: dict[str, Any]) -> dict[str, Any]:
    """An alias as GET shows it: ``routing`` is stored as both index and search routing."""
    view = dict(spec)
    routing = view.pop("routing", None)
    if routing is not None:
        view = {"index_routing": view.get("index_routing", routing),
                "search_routing": view.get("search_routing", routing),
                **{k: v for k, v in view.items() if k not in ("index_routing", "search_routing")}}
    if "filter" in view:   # keep OpenSearch's key order: filter first
        view = {"filter": view["filter"], **{k: v for k, v in view.items() if k != "filter"}}
    return view


@route("POST", "/_aliases")
def update_aliases(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise IllegalArgumentError("No action specified" if not actions else "[aliases] actions must be an array")
    validate_actions(actions)
    node.update_aliases(actions)
    return RestResponse(200, {"acknowledged": True})


@route("PUT", "/_alias/{name}", "/_aliases/{name}")
def put_alias_without_index(node: "Node", request: RestRequest) -> RestResponse:
    raise IllegalArgumentError("[indices] can't be empty")


@route("PUT,POST", "/{index}/_alias/{name}", "/{index}/_aliases/{name}")
def put_alias(node: "Node", request: RestRequest) -> RestResponse:
    indices = [i.name for i, _ in node.resolve(request.path_params["index"], allow_no_indices=False)]
    node.put_alias(indices, request.path_params["name"], request.json() or {})
    return RestResponse(200, {"acknowledged": True})


@route("DELETE", "/{index}/_alias/{name}", "/{index}/_aliases/{name}")
def delete_alias(node: "Node", request: RestRequest) -> RestResponse:
    indices = [i.name for i, _ in node.resolve(request.path_params["index"], allow_no_indices=False)]
    node.remove_alias(indices, request.path_params["name"].split(","))
    return RestResponse(200, {"acknowledged": True})


@route("GET", "/_alias", "/_alias/{name}", "/{index}/_alias", "/{index}/_alias/{name}", "/_aliases",
       "/{index}/_aliases")
def get_alias(node: "Node", request: RestRequest) -> RestResponse:
    expression = request.path_params.get("index")
    patterns = request.path_params.get("name", "*").split(",")
    indices = [i.name for i, _ in node.resolve(expression, allow_no_indices=True)] if expression else \
        sorted(node.indices)
    body: dict[str, Any] = {}
    found_any = False
    for name in indices:
        aliases = {a: alias_view(spec) for a, spec in node.aliases_of(name).items()
                   if any(fnmatch.fnmatchcase(a, p) or p == "_all" for p in patterns)}
        if aliases:
            found_any = True
        if aliases or ("name" not in request.path_params):
            body[name] = {"aliases": aliases}
    if "name" in request.path_params and not found_any:
        if request.method == "HEAD":
            return RestResponse(404, None)
        missing = ",".join(patterns)
        return RestResponse(404, {"error": f"alias [{missing}] missing", "status": 404})
    if request.method == "HEAD":
        return RestResponse(200, None)
    return RestResponse(200, body)


