"""Which URL parameters each REST route accepts, checked before the handler runs.

OpenSearch refuses a parameter no handler consumes (``BaseRestHandler``: 400
``illegal_argument_exception`` "request [PATH] contains unrecognized parameter: [x]"), so a typo
such as ``refersh=true`` fails loudly instead of being dropped. The embedded engine does the same,
and also refuses the parameters OpenSearch knows but it does not implement: silently ignoring
them would be a silent difference. Accepted are the parameters the handlers implement and the
ones that change nothing on one node with one shard per index (``timeout``,
``wait_for_active_shards``, ``preference``, ``routing`` ...).

The table is keyed by route template, so adding a route means adding one line here.
"""

from __future__ import annotations

from collections.abc import Iterable

from localnode.errors import IllegalArgumentError

#: Accepted everywhere (OpenSearch's response and error formatting parameters).
COMMON = frozenset({"pretty", "human", "error_trace", "filter_path", "source", "source_content_type"})

_INDICES_OPTIONS = frozenset({"ignore_unavailable", "allow_no_indices", "expand_wildcards"})
_CLUSTER_TIMEOUTS = frozenset({"timeout", "master_timeout", "cluster_manager_timeout"})
# Writes do not take ``routing``: the engine does not store a document's routing, so GET could not
# show ``_routing`` as OpenSearch does; it is refused rather than dropped.
_WRITE = frozenset({"refresh", "timeout", "wait_for_active_shards", "require_alias"})
_VERSIONED_WRITE = _WRITE | {"if_seq_no", "if_primary_term", "version", "version_type", "pipeline"}
_SOURCE = frozenset({"_source", "_source_includes", "_source_excludes"})
_SEARCH = (_INDICES_OPTIONS | _SOURCE | {
    "from", "size", "sort", "track_total_hits", "explain", "version", "seq_no_primary_term",
    "rest_total_hits_as_int", "timeout", "preference", "routing", "request_cache", "typed_keys",
    "search_type", "q", "scroll", "include_named_queries_score", "allow_partial_search_results",
    "ccs_minimize_roundtrips", "batched_reduce_size", "max_concurrent_shard_requests", "pre_filter_shard_size"})

ROUTE_PARAMS: dict[str, frozenset[str]] = {
    # search
    "/_search": _SEARCH, "/{index}/_search": _SEARCH,
    "/_count": _INDICES_OPTIONS | {"preference", "routing"},
    "/{index}/_count": _INDICES_OPTIONS | {"preference", "routing"},
    "/{index}/_delete_by_query": _INDICES_OPTIONS | {"refresh", "timeout", "wait_for_active_shards", "routing",
                                                     "conflicts", "max_docs", "scroll_size", "slices",
                                                     "wait_for_completion"},
    "/_tasks/{task_id}": frozenset({"wait_for_completion", "timeout"}),
    # documents
    "/{index}/_doc/{id}": _VERSIONED_WRITE | _SOURCE | {"op_type", "realtime", "preference", "stored_fields",
                                                        "routing"},   # routing: GET only (checked there)
    "/{index}/_doc": _VERSIONED_WRITE | {"op_type"},
    "/{index}/_create/{id}": _VERSIONED_WRITE,
    "/{index}/_source/{id}": _SOURCE | {"realtime", "refresh", "routing", "preference", "version", "version_type"},
    "/{index}/_update/{id}": _WRITE | _SOURCE | {"if_seq_no", "if_primary_term", "retry_on_conflict"},
    "/_mget": _SOURCE | {"realtime", "refresh", "routing", "preference"},
    "/{index}/_mget": _SOURCE | {"realtime", "refresh", "routing", "preference"},
    "/_bulk": _WRITE | _SOURCE | {"pipeline"},
    "/{index}/_bulk": _WRITE | _SOURCE | {"pipeline"},
    # indices
    "/{index}": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"wait_for_active_shards", "local"},
    "/{index}/_mapping": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/_mapping": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/{index}/_settings": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/_settings": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/{index}/_settings/{name}": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/{index}/_refresh": _INDICES_OPTIONS, "/_refresh": _INDICES_OPTIONS,
    "/{index}/_flush": _INDICES_OPTIONS | {"force", "wait_if_ongoing"},
    "/_flush": _INDICES_OPTIONS | {"force", "wait_if_ongoing"},
    "/{index}/_forcemerge": _INDICES_OPTIONS | {"max_num_segments", "only_expunge_deletes", "flush",
                                                "wait_for_completion"},
    "/_forcemerge": _INDICES_OPTIONS | {"max_num_segments", "only_expunge_deletes", "flush",
                                        "wait_for_completion"},
    "/{index}/_stats": _INDICES_OPTIONS, "/_stats": _INDICES_OPTIONS,
    "/{index}/_stats/{metric}": _INDICES_OPTIONS, "/_stats/{metric}": _INDICES_OPTIONS,
    "/_analyze": frozenset(), "/{index}/_analyze": frozenset(),
    # aliases
    "/_aliases": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/{index}/_alias/{name}": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/{index}/_aliases/{name}": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/_alias": _INDICES_OPTIONS | {"local"}, "/_alias/{name}": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/_aliases/{name}": _CLUSTER_TIMEOUTS | _INDICES_OPTIONS | {"local"},
    "/{index}/_alias": _INDICES_OPTIONS | {"local"},
    # cluster
    "/": frozenset(),
    "/_cluster/health": _CLUSTER_TIMEOUTS | {"local", "level", "wait_for_status"},
    "/_cluster/health/{index}": _CLUSTER_TIMEOUTS | {"local", "level", "wait_for_status"},
    "/_cat/indices": _CLUSTER_TIMEOUTS | {"format", "local", "v", "h", "s", "health", "bytes"},
    "/_cat/indices/{index}": _CLUSTER_TIMEOUTS | {"format", "local", "v", "h", "s", "health", "bytes"},
}


def check_params(template: str, path: str, params: Iterable[str]) -> None:
    """Raise OpenSearch's error when ``params`` holds one the route does not accept.

    Routes missing from the table (the LTR plugin's, which validates its own) are not checked.
    """
    accepted = ROUTE_PARAMS.get(template)
    if accepted is None:
        return
    unknown = sorted(name for name in params if name not in accepted and name not in COMMON)
    if not unknown:
        return
    options = sorted(accepted | COMMON)
    described = ", ".join(_describe(name, options) for name in unknown)
    noun = "parameter" if len(unknown) == 1 else "parameters"
    raise IllegalArgumentError(f"request [{path}] contains unrecognized {noun}: {described}")


def _describe(name: str, options: list[str]) -> str:
    """``[x]``, or ``[x] -> did you mean [y]?`` for a near miss (OpenSearch's Levenshtein >= 0.5)."""
    scored = sorted(((_similarity(name, option), option) for option in options), key=lambda p: (-p[0], p[1]))
    close = [option for score, option in scored if score >= 0.5]
    if not close:
        return f"[{name}]"
    if len(close) == 1:
        return f"[{name}] -> did you mean [{close[0]}]?"
    return f"[{name}] -> did you mean any of [{', '.join(close)}]?"


def _similarity(a: str, b: str) -> float:
    """Lucene's LevenshteinDistance: 1 - distance / max(len)."""
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))
