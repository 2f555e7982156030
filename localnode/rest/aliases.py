"""Alias APIs: atomic ``_aliases`` actions and the ``_alias`` get/put/delete/exists endpoints."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from localnode.errors import IllegalArgumentError
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.node import Node


@route("POST", "/_aliases")
def update_aliases(node: "Node", request: RestRequest) -> RestResponse:
    body = request.json(required=True)
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise IllegalArgumentError("No action specified" if not actions else "[aliases] actions must be an array")
    node.update_aliases(actions)
    return RestResponse(200, {"acknowledged": True})


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
        aliases = {a: spec for a, spec in node.aliases_of(name).items()
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


