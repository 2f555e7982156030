"""Node-level endpoints: ``GET /``, cluster health, ``_cat/indices``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.node import Node


@route("GET", "/")
def info(node: "Node", request: RestRequest) -> RestResponse:
    from localnode.node import CLUSTER_NAME, VERSION
    return RestResponse(200, {"name": "localnode", "cluster_name": CLUSTER_NAME, "cluster_uuid": node.node_id,
                              "version": VERSION, "tagline": "The OpenSearch Project: https://opensearch.org/"})


@route("GET", "/_cluster/health", "/_cluster/health/{index}")
def health(node: "Node", request: RestRequest) -> RestResponse:
    expression = request.path_params.get("index")
    indices = node.resolve(expression, allow_no_indices=True) if expression else \
        [(i, []) for i in node.indices.values()]
    status = "yellow" if any(int(i.settings.get("index.number_of_replicas", "1")) > 0 for i, _ in indices) else "green"
    return RestResponse(200, {
        "cluster_name": "localnode", "status": status if indices else "green", "timed_out": False,
        "number_of_nodes": 1, "number_of_data_nodes": 1, "discovered_master": True,
        "discovered_cluster_manager": True, "active_primary_shards": len(indices), "active_shards": len(indices),
        "relocating_shards": 0, "initializing_shards": 0,
        "unassigned_shards": sum(int(i.settings.get("index.number_of_replicas", "1")) for i, _ in indices),
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0})


@route("GET", "/_cat/indices", "/_cat/indices/{index}")
def cat_indices(node: "Node", request: RestRequest) -> RestResponse:
    expression = request.path_params.get("index")
    rows = []
    for index, _ in node.resolve(expression, allow_no_indices=True):
        rows.append({"health": "yellow" if int(index.settings.get("index.number_of_replicas", "1")) else "green",
                     "status": "open", "index": index.name, "uuid": index.uuid, "pri": "1",
                     "rep": index.settings.get("index.number_of_replicas", "1"),
                     "docs.count": str(index.doc_count()), "docs.deleted": str(index.deleted_count()),
                     "store.size": f"{index.store_size()}b", "pri.store.size": f"{index.store_size()}b"})
    if request.param("format") == "json":
        return RestResponse(200, rows)
    lines = [" ".join(str(v) for v in row.values()) for row in rows]
    return RestResponse(200, "\n".join(lines) + ("\n" if lines else ""), "text/plain; charset=UTF-8")
