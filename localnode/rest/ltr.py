"""Learning to Rank plugin REST API (opensearch-ltr 2.19): stores, elements, _addfeatures, _createmodel, caches, stats.

Every ``_ltr/...`` route has its ``_ltr/{store}/...`` twin, as in the plugin's handlers
(``RestStoreManager``, ``RestFeatureManager``, ``RestSearchStoreElements``, ``RestAddFeatureToSet``,
``RestCreateModelFromSet``, ``RestFeatureStoreCaches``, ``RestStatsLTRAction``). The handlers only
translate HTTP to :mod:`localnode.ltr.store`; element parsing lives in :mod:`localnode.ltr.elements`.
Importing this module also registers the ``sltr`` fetch-phase logger (``ext.ltr_log``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localnode.errors import IllegalArgumentError, OpenSearchError
from localnode.ltr import elements, store
from localnode.ltr import feature_logging as _ltr_feature_logging  # noqa: F401  (registers FETCH_EXTENSIONS["ltr_log"])
from localnode.ltr.sltr import validate_element
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.node import Node

_TYPES = (elements.FEATURE, elements.FEATURESET, elements.MODEL)


def _store(request: RestRequest) -> str:
    """``FeatureStoreBaseRestHandler.indexName``: the index behind the URL's store (no checks)."""
    store_param = request.path_params.get("store")
    return store.DEFAULT_STORE if store_param is None else store.STORE_PREFIX + store_param


def _int_param(request: RestRequest, name: str, default: int) -> int:
    raw = request.param(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise IllegalArgumentError(f"Failed to parse int parameter [{name}] with value [{raw}]") from None


def _bool_param(request: RestRequest, name: str, default: bool) -> bool:
    raw = request.param(name)
    if not raw:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise IllegalArgumentError(f"Failed to parse value [{raw}] as only [true] or [false] are allowed.")


# --------------------------------------------------------------------------------------------------
# Stores

@route("PUT,POST,DELETE,GET", "/_ltr", "/_ltr/{store}")
def manage_store(node: "Node", request: RestRequest) -> RestResponse:
    store.state(node)
    name = request.path_params.get("store")
    if request.method == "PUT":
        return RestResponse(200, store.create_store(node, name))
    if request.method == "POST":
        if name is not None:
            store.validate_store_name(name)
        raise IllegalArgumentError("Updating a feature store is not yet supported.")
    if request.method == "DELETE":
        return RestResponse(200, store.delete_store(node, name))
    if name is None:
        return RestResponse(200, store.list_stores(node))
    exists = _store(request) in node.indices
    if request.method == "HEAD":
        return RestResponse(200 if exists else 404, None)
    return RestResponse(200 if exists else 404, {"exists": exists})


# --------------------------------------------------------------------------------------------------
# Elements

def _element_handler(kind: str):  # type: ignore[no-untyped-def]
    def handle(node: "Node", request: RestRequest) -> RestResponse:
        index = _store(request)
        name = request.path_params["name"]
        if request.method == "DELETE":
            return RestResponse(*store.delete_element(node, index, kind, name))
        if request.method in ("GET", "HEAD"):
            try:
                status, body = store.get_element_doc(node, index, kind, name)
            except OpenSearchError:
                if request.method == "HEAD":
                    return RestResponse(404, None)
                raise
            return RestResponse(status, None if request.method == "HEAD" else body)
        parsed = elements.parse_store_request(kind, name, request.json(), request.method)
        return RestResponse(*store.store_element(node, index, parsed.element, create=parsed.create,
                                                 validation=parsed.validation, validator=validate_element))
    handle.__name__ = f"manage_{kind}"
    return handle


def _search_handler(kind: str):  # type: ignore[no-untyped-def]
    def handle(node: "Node", request: RestRequest) -> RestResponse:
        body = store.search_elements(node, _store(request), kind, request.param("prefix"),
                                     _int_param(request, "from", 0), _int_param(request, "size", 20))
        return RestResponse(200, body)
    handle.__name__ = f"search_{kind}"
    return handle


for _kind in _TYPES:
    route("PUT,POST,GET,DELETE", f"/_ltr/_{_kind}/{{name}}", f"/_ltr/{{store}}/_{_kind}/{{name}}")(_element_handler(_kind))
    route("GET", f"/_ltr/_{_kind}", f"/_ltr/{{store}}/_{_kind}")(_search_handler(_kind))


@route("POST", "/_ltr/_featureset/{name}/_addfeatures", "/_ltr/{store}/_featureset/{name}/_addfeatures",
       "/_ltr/_featureset/{name}/_addfeatures/{query}", "/_ltr/{store}/_featureset/{name}/_addfeatures/{query}")
def add_features(node: "Node", request: RestRequest) -> RestResponse:
    parsed = elements.parse_add_features_request(request.path_params["name"], request.json(),
                                                 request.path_params.get("query"), _bool_param(request, "merge", False))
    return RestResponse(*store.add_features(node, _store(request), parsed, validate_element))


@route("POST", "/_ltr/_featureset/{name}/_createmodel", "/_ltr/{store}/_featureset/{name}/_createmodel")
def create_model(node: "Node", request: RestRequest) -> RestResponse:
    parsed = elements.parse_create_model_request(request.path_params["name"], request.json(), request.param("version"))
    return RestResponse(*store.create_model_from_set(node, _store(request), parsed, validate_element))


# --------------------------------------------------------------------------------------------------
# Caches and stats

@route("POST", "/_ltr/_clearcache", "/_ltr/{store}/_clearcache")
def clear_cache(node: "Node", request: RestRequest) -> RestResponse:
    return RestResponse(200, store.clear_cache(node, _store(request)))


@route("GET", "/_ltr/_cachestats")
def cache_stats(node: "Node", request: RestRequest) -> RestResponse:
    return RestResponse(200, store.cache_stats(node))


_STATS_PATHS = [f"{base}{suffix}" for base in ("/_plugins/_ltr", "/_opendistro/_ltr")
                for suffix in ("/stats", "/stats/{stat}", "/{nodeId}/stats", "/{nodeId}/stats/{stat}")]


@route("GET", *_STATS_PATHS)
def ltr_stats(node: "Node", request: RestRequest) -> RestResponse:
    body = store.ltr_stats(node, request.path, request.path_params.get("nodeId"), request.path_params.get("stat"))
    return RestResponse(200, body)
