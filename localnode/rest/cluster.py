"""Node-level endpoints: ``GET /``, cluster health, ``_cat/indices``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from localnode.errors import IllegalArgumentError, UnsupportedError
from localnode.rest.router import RestRequest, RestResponse, route

if TYPE_CHECKING:
    from localnode.node import Node


@route("GET", "/")
def info(node: "Node", request: RestRequest) -> RestResponse:
    from localnode.node import CLUSTER_NAME, VERSION
    return RestResponse(200, {"name": "localnode", "cluster_name": CLUSTER_NAME, "cluster_uuid": node.node_id,
                              "version": VERSION, "tagline": "The OpenSearch Project: https://opensearch.org/"})


_HEALTH_ORDER = {"red": 0, "yellow": 1, "green": 2}


@route("GET", "/_cluster/health", "/_cluster/health/{index}")
def health(node: "Node", request: RestRequest) -> RestResponse:
    """Cluster health; ``wait_for_status`` waits (re-checking) up to ``timeout`` (default 30s) and
    answers 408 with ``timed_out: true`` when the status was not reached, as OpenSearch does. On one
    node a missing replica never assigns, so waiting for green on a yellow index times out."""
    from localnode.search.execute import parse_time_value
    wanted = request.param("wait_for_status")
    if wanted is not None and wanted.lower() not in _HEALTH_ORDER:
        raise IllegalArgumentError(f"No enum constant org.opensearch.cluster.health.ClusterHealthStatus."
                                   f"{wanted.upper()}")
    timeout = parse_time_value(request.param("timeout", "30s") or "30s", "timeout")
    deadline = time.monotonic() + (timeout if timeout is not None else 30.0)
    while True:
        response = _health_now(node, request)
        if wanted is None or _HEALTH_ORDER[response.body["status"]] >= _HEALTH_ORDER[wanted.lower()]:
            return response
        if time.monotonic() >= deadline:
            response.body["timed_out"] = True
            return RestResponse(408, response.body)
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def _health_now(node: "Node", request: RestRequest) -> RestResponse:
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


#: _cat/indices columns in default order, with the aliases ``h`` and ``s`` accept; True = numeric.
_CAT_INDICES_COLUMNS: list[tuple[str, tuple[str, ...], bool]] = [
    ("health", ("h",), False), ("status", ("s",), False), ("index", ("i", "idx"), False),
    ("uuid", ("id",), False), ("pri", ("p", "shards.primary", "shardsPrimary"), True),
    ("rep", ("r", "shards.replica", "shardsReplica"), True), ("docs.count", ("dc", "docsCount"), True),
    ("docs.deleted", ("dd", "docsDeleted"), True), ("store.size", ("ss", "storeSize"), True),
    ("pri.store.size", (), True)]
_CAT_ALIASES = {alias: name for name, aliases, _ in _CAT_INDICES_COLUMNS for alias in (name, *aliases)}
_CAT_NUMERIC = {name for name, _, numeric in _CAT_INDICES_COLUMNS if numeric}
_SIZE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


def _human_size(size: int) -> str:
    """``ByteSizeValue.toString``: the largest unit that keeps the value >= 1, one decimal at most."""
    for unit in ("pb", "tb", "gb", "mb", "kb"):
        if size >= _SIZE_UNITS[unit]:
            value = round(size / _SIZE_UNITS[unit], 1)
            return f"{value:g}{unit}" if value != int(value) else f"{int(value)}{unit}"
    return f"{size}b"


@route("GET", "/_cat/indices", "/_cat/indices/{index}")
def cat_indices(node: "Node", request: RestRequest) -> RestResponse:
    """``_cat/indices`` with ``h`` (columns, aliases; unknown names are dropped, as OpenSearch does),
    ``s`` (sort keys, ``:desc``), ``health`` (filter), ``bytes`` (size unit), ``v`` (header) and
    ``format=json``."""
    expression = request.path_params.get("index")
    bytes_unit = request.param("bytes")
    if bytes_unit is not None and bytes_unit not in _SIZE_UNITS:
        raise IllegalArgumentError(f"failed to parse setting [bytes] with value [{bytes_unit}] as a size in bytes")
    rows: list[dict[str, Any]] = []
    for index, _ in node.resolve(expression, allow_no_indices=True, skip_failed=True):
        replicas = int(index.settings.get("index.number_of_replicas", "1"))
        rows.append({"health": "yellow" if replicas else "green", "status": "open", "index": index.name,
                     "uuid": index.uuid, "pri": 1, "rep": replicas, "docs.count": index.doc_count(),
                     "docs.deleted": index.deleted_count(), "store.size": index.store_size(),
                     "pri.store.size": index.store_size()})
    for red in node.failed_matching(expression):   # as OpenSearch: red, and no counts or sizes
        rows.append({"health": "red", "status": "open", "index": red.name, "uuid": red.uuid, "pri": 1,
                     "rep": red.replicas, "docs.count": None, "docs.deleted": None,
                     "store.size": None, "pri.store.size": None})
    health = request.param("health")
    if health is not None:
        if health not in ("green", "yellow", "red"):
            raise IllegalArgumentError(f"No enum constant org.opensearch.cluster.health.ClusterHealthStatus."
                                       f"{health.upper()}")
        rows = [row for row in rows if row["health"] == health]
    rows.sort(key=lambda row: str(row["index"]))
    for key in reversed([k for k in (request.param("s") or "").split(",") if k]):
        name, _, order = key.partition(":")
        column = _CAT_ALIASES.get(name)
        if column is None:
            raise UnsupportedError(f"sorting _cat/indices by [{name}]")
        numeric = column in _CAT_NUMERIC
        rows.sort(key=lambda row: (row[column] is None, row[column] if numeric else str(row[column] or "")),
                  reverse=order == "desc")
    wanted = [c.strip() for c in request.param("h").split(",")] if request.param("h") else \
        [name for name, _, _ in _CAT_INDICES_COLUMNS]
    columns = [(label, _CAT_ALIASES[label]) for label in wanted if label in _CAT_ALIASES]

    def cell(row: dict[str, Any], column: str) -> str | None:
        value = row[column]
        if value is None:
            return None
        if column.endswith("store.size"):
            return str(value // _SIZE_UNITS[bytes_unit]) if bytes_unit else _human_size(value)
        return str(value)

    if request.param("format") == "json":
        return RestResponse(200, [{label: cell(row, column) for label, column in columns} for row in rows])
    table = [[cell(row, column) or "" for _, column in columns] for row in rows]
    if request.flag("v"):
        table.insert(0, [label for label, _ in columns])
    widths = [max((len(line[i]) for line in table), default=0) for i in range(len(columns))]
    lines = [" ".join(text.rjust(widths[i]) if columns[i][1] in _CAT_NUMERIC and not (request.flag("v") and n == 0)
                      else text.ljust(widths[i]) for i, text in enumerate(line)).rstrip()
             for n, line in enumerate(table)]
    return RestResponse(200, "\n".join(lines) + ("\n" if lines else ""), "text/plain; charset=UTF-8")
