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
    indices = node.resolve(expression, allow_no_indices=True, skip_failed=True) if expression else \
        [(i, []) for i in node.indices.values()]
    failed = node.failed_matching(expression)
    status = "yellow" if any(int(i.settings.get("index.number_of_replicas", "1")) > 0 for i, _ in indices) else "green"
    unassigned = sum(int(i.settings.get("index.number_of_replicas", "1")) for i, _ in indices)
    percent = 100.0
    if failed:   # a primary that failed recovery is unassigned: the index, and so the cluster, is red
        status = "red"
        unassigned += sum(1 + f.replicas for f in failed)
        percent = 100.0 * len(indices) / (len(indices) + unassigned)
    body = {
        "cluster_name": "localnode", "status": status if indices or failed else "green", "timed_out": False,
        "number_of_nodes": 1, "number_of_data_nodes": 1, "discovered_master": True,
        "discovered_cluster_manager": True, "active_primary_shards": len(indices), "active_shards": len(indices),
        "relocating_shards": 0, "initializing_shards": 0,
        "unassigned_shards": unassigned,
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": percent}
    if request.param("level") in ("indices", "shards"):
        per_index: dict[str, dict[str, object]] = {}
        for index, _ in indices:
            replicas = int(index.settings.get("index.number_of_replicas", "1"))
            per_index[index.name] = _index_health("yellow" if replicas else "green", replicas, 1, replicas)
        for red in failed:
            per_index[red.name] = _index_health("red", red.replicas, 0, 1 + red.replicas)
        if request.param("level") == "shards":  # one shard per index: shard 0 mirrors its index
            for health in per_index.values():
                health["shards"] = {"0": {"status": health["status"],
                                          "primary_active": bool(health["active_primary_shards"]),
                                          "active_shards": health["active_shards"], "relocating_shards": 0,
                                          "initializing_shards": 0, "unassigned_shards": health["unassigned_shards"]}}
        body["indices"] = {name: per_index[name] for name in sorted(per_index)}
    return RestResponse(200, body)


def _index_health(status: str, replicas: int, active: int, unassigned: int) -> dict[str, object]:
    return {"status": status, "number_of_shards": 1, "number_of_replicas": replicas,
            "active_primary_shards": active, "active_shards": active, "relocating_shards": 0,
            "initializing_shards": 0, "unassigned_shards": unassigned}


@route("GET,POST", "/_cluster/allocation/explain")
def allocation_explain(node: "Node", request: RestRequest) -> RestResponse:
    """Why a shard is unassigned: here, the recovery failure of a red index (``unassigned_info.details``)."""
    body = request.json() or {}
    failed = node.failed_matching(None)
    wanted = body.get("index")
    if wanted is not None:
        failed = [f for f in failed if f.name == wanted]
        if not failed:
            from localnode.errors import IllegalArgumentError
            raise IllegalArgumentError(f"the shard [{wanted}][{body.get('shard', 0)}] is active; only unassigned "
                                       "shards of an index that failed recovery can be explained")
    if not failed:
        from localnode.errors import IllegalArgumentError
        raise IllegalArgumentError("unable to find any unassigned shards to explain "
                                   "[ClusterAllocationExplainRequest[useAnyUnassignedShard=true,includeYesDecisions?=false]")
    red = failed[0]
    return RestResponse(200, {
        "index": red.name, "shard": 0, "primary": True, "current_state": "unassigned",
        "unassigned_info": {"reason": "ALLOCATION_FAILED", "at": _iso(red.failed_at_ms),
                            "failed_allocation_attempts": 1, "details": red.reason,
                            "last_allocation_status": "no"},
        "can_allocate": "no",
        "allocate_explanation": "cannot allocate because the shard's data failed to recover on the only node; "
                                "restore the index directory or delete the index"})


def _iso(millis: int) -> str:
    import datetime
    moment = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


@route("GET", "/_cat/indices", "/_cat/indices/{index}")
def cat_indices(node: "Node", request: RestRequest) -> RestResponse:
    expression = request.path_params.get("index")
    rows: list[dict[str, str | None]] = []
    for index, _ in node.resolve(expression, allow_no_indices=True, skip_failed=True):
        rows.append({"health": "yellow" if int(index.settings.get("index.number_of_replicas", "1")) else "green",
                     "status": "open", "index": index.name, "uuid": index.uuid, "pri": "1",
                     "rep": index.settings.get("index.number_of_replicas", "1"),
                     "docs.count": str(index.doc_count()), "docs.deleted": str(index.deleted_count()),
                     "store.size": f"{index.store_size()}b", "pri.store.size": f"{index.store_size()}b"})
    for red in node.failed_matching(expression):   # as OpenSearch: red, and no counts or sizes
        rows.append({"health": "red", "status": "open", "index": red.name, "uuid": red.uuid, "pri": "1",
                     "rep": str(red.replicas), "docs.count": None, "docs.deleted": None,
                     "store.size": None, "pri.store.size": None})
    rows.sort(key=lambda row: str(row["index"]))
    if request.param("format") == "json":
        return RestResponse(200, rows)
    lines = [" ".join("" if v is None else str(v) for v in row.values()).rstrip() for row in rows]
    return RestResponse(200, "\n".join(lines) + ("\n" if lines else ""), "text/plain; charset=UTF-8")
