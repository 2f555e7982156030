"""URL parameters: refused when unrecognized (with OpenSearch's error), ``filter_path`` on any JSON
answer, ``version`` on get. Compared with the real node."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.harness import Answer, Pair, check, compare_errors


def same_body(local: Answer, real: Answer) -> list[str]:
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    return [] if local.body == real.body else [f"body: local {local.body} real {real.body}"]


@pytest.fixture(scope="module")
def index(pair: Pair) -> str:
    return pair.create("params", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                  "mappings": {"properties": {"t": {"type": "text"}, "k": {"type": "keyword"},
                                                              "o": {"properties": {"x": {"type": "integer"}}}}}},
                       [{"_id": "1", "t": "red shoes", "k": "a", "o": {"x": 1}},
                        {"_id": "2", "t": "blue shoes", "k": "b", "o": {"x": 2}}])


CASES: list[tuple[str, str, Any, dict[str, str]]] = [
    ("POST", "/{index}/_search", {"query": {"match_all": {}}}, {"bogus": "x"}),
    ("POST", "/{index}/_search", {"query": {"match_all": {}}}, {"refersh": "true", "sizee": "3"}),
    ("GET", "/{index}/_doc/1", None, {"bogus": "1"}),
    ("GET", "/{index}/_doc/1", None, {"realtim": "false"}),
    ("GET", "/{index}/_mapping", None, {"bogus": "x"}),
    ("PUT", "/{index}/_doc/9", {"t": "x"}, {"refesh": "true"}),
    ("POST", "/{index}/_count", {"query": {"match_all": {}}}, {"bogus": "x"}),
    ("GET", "/_cluster/health", None, {"bogus": "x"}),
    ("GET", "/{index}/_doc/1", None, {"version": "1"}),
    ("GET", "/{index}/_doc/1", None, {"version": "7"}),
    ("GET", "/{index}/_doc/1", None, {"filter_path": "_source.o,_id"}),
    ("GET", "/{index}/_doc/1", None, {"filter_path": "-_source,-_seq_no,-_primary_term"}),
    ("GET", "/{index}/_doc/1", None, {"filter_path": "**.x"}),
    ("POST", "/{index}/_search", {"query": {"match": {"t": "shoes"}}}, {"filter_path": "hits.hits._id,hits.total"}),
    ("POST", "/{index}/_search", {"query": {"match": {"t": "shoes"}}}, {"filter_path": "hits.hits._source.o*"}),
    ("POST", "/{index}/_search", {"query": {"match": {"t": "shoes"}}}, {"filter_path": "nothing.here"}),
    ("POST", "/{index}/_count", {"query": {"term": {"k": "a"}}}, {"filter_path": "count"}),
]


@pytest.mark.parametrize("number", range(len(CASES)))
def test_params(pair: Pair, index: str, number: int) -> None:
    method, url, body, params = CASES[number]
    local, real = pair.both(method, url.format(index=index), body, params)
    compare = same_body if "filter_path" in params or method == "GET" and "version" in params else compare_errors
    if real.is_error or local.is_error:
        compare = compare_errors
    check(compare(local, real), context=f"{method} {url} {params}")


DELETE_BY_QUERY: list[tuple[dict[str, str], dict[str, Any]]] = [
    ({"max_docs": "3", "refresh": "true"}, {"query": {"match_all": {}}}),
    ({"refresh": "true"}, {"query": {"match_all": {}}, "max_docs": 4}),
    ({"conflicts": "proceed", "scroll_size": "5", "refresh": "true"}, {"query": {"term": {"k": "a"}}}),
    ({"slices": "auto", "refresh": "true"}, {"query": {"term": {"k": "a"}}}),
    ({"conflicts": "bad"}, {"query": {"match_all": {}}}),
    ({"max_docs": "-1"}, {"query": {"match_all": {}}}),
    ({"wait_for_completion": "false", "refresh": "true"}, {"query": {"term": {"k": "b"}}}),
]


@pytest.mark.parametrize("number", range(len(DELETE_BY_QUERY)))
def test_delete_by_query_options(pair: Pair, number: int) -> None:
    params, body = DELETE_BY_QUERY[number]
    docs = [{"_id": str(i), "k": "a" if i % 2 else "b", "n": i} for i in range(20)]
    index = pair.create("dbq", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                "mappings": {"properties": {"k": {"type": "keyword"}, "n": {"type": "integer"}}}}, docs)
    local, real = pair.both("POST", f"/{index}/_delete_by_query", body, params)
    keys = ("total", "deleted", "batches", "version_conflicts", "noops", "failures")

    def outcome(a: Answer, b: Answer) -> list[str]:
        if a.is_error or b.is_error:
            return compare_errors(a, b)
        if "task" in b.body:
            if "task" not in a.body:
                return [f"local answered {a.body} instead of a task"]
            import time
            time.sleep(0.5)
            a, b = pair.local_real_task(a.body["task"], b.body["task"])
            if a.body.get("completed") is not True or b.body.get("completed") is not True:
                return [f"task not completed: local {a.body} real {b.body}"]
            a, b = Answer(200, a.body["response"]), Answer(200, b.body["response"])
        return [f"{k}: local {a.body.get(k)} real {b.body.get(k)}" for k in keys if a.body.get(k) != b.body.get(k)]

    check(outcome(local, real), context=f"_delete_by_query {params} {body}")
    remaining_local, remaining_real = pair.both("POST", f"/{index}/_search",
                                                {"size": 30, "sort": [{"n": "asc"}], "_source": False})
    assert [h["_id"] for h in remaining_local.body["hits"]["hits"]] == \
        [h["_id"] for h in remaining_real.body["hits"]["hits"]]


STORED = {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
          "mappings": {"properties": {"k": {"type": "keyword", "store": True}, "t": {"type": "text", "store": True},
                                      "n": {"type": "integer", "store": True}, "f": {"type": "float", "store": True},
                                      "b": {"type": "boolean", "store": True}, "d": {"type": "date", "store": True},
                                      "ns": {"type": "keyword"},
                                      "o": {"properties": {"x": {"type": "long", "store": True}}}}}}


@pytest.mark.parametrize("params", [{"stored_fields": "k"}, {"stored_fields": "k,t,n,f,b,d"}, {"stored_fields": "ns"},
                                    {"stored_fields": "o.x"}, {"stored_fields": "*"}, {"stored_fields": "_none_"},
                                    {"stored_fields": "k", "_source": "true"},
                                    {"stored_fields": "t", "_source_includes": "ns"}])
def test_get_stored_fields(pair: Pair, params: dict[str, str]) -> None:
    index = pair.create("stored", STORED, [{"_id": "1", "k": ["A", "B"], "t": "some text", "n": "7", "f": 1.5,
                                             "b": True, "d": "2014-05-06", "ns": "x", "o": {"x": 3}}])
    local, real = pair.both("GET", f"/{index}/_doc/1", None, params)
    check(same_body(local, real), context=f"get with {params}")


@pytest.mark.parametrize("level", ["cluster", "indices", "shards"])
@pytest.mark.parametrize("replicas", [0, 1])
def test_cluster_health_levels(pair: Pair, level: str, replicas: int) -> None:
    index = pair.create(f"lvl{replicas}", {"settings": {"number_of_shards": 1, "number_of_replicas": replicas}})
    local, real = pair.both("GET", f"/_cluster/health/{index}", None, {"level": level})

    def outcome(a: Answer, b: Answer) -> list[str]:
        if a.is_error or b.is_error:
            return compare_errors(a, b)
        keys = ("status", "active_primary_shards", "active_shards", "unassigned_shards", "indices")
        return [f"{k}: local {a.body.get(k)} real {b.body.get(k)}" for k in keys if a.body.get(k) != b.body.get(k)]
    check(outcome(local, real), context=f"_cluster/health level={level} replicas={replicas}")


CAT_CASES = [
    {"format": "json", "s": "index"},
    {"format": "json", "s": "index", "h": "i,h,dc,dd,p,r"},
    {"format": "json", "s": "docs.count:desc,index", "h": "index,docs.count,health,bogus"},
    {"format": "json", "s": "index", "health": "green", "h": "index"},
    {"v": "true", "s": "index", "h": "index,health,pri,rep,docs.count"},
    {"s": "index", "h": "index,dc"},
    {"format": "json", "s": "index", "bytes": "b", "h": "index"},
    {"format": "json", "health": "purple"},
]


@pytest.mark.parametrize("number", range(len(CAT_CASES)))
def test_cat_indices(pair: Pair, number: int) -> None:
    params = CAT_CASES[number]
    for name, replicas, docs in (("cat-a", 0, 3), ("cat-b", 1, 5), ("cat-c", 0, 1)):
        pair.create(name, {"settings": {"number_of_shards": 1, "number_of_replicas": replicas}},
                    [{"_id": str(i), "n": i} for i in range(docs)])
    local, real = pair.both("GET", f"/_cat/indices/{pair.name('cat-*')}", None, params)

    def outcome(a: Answer, b: Answer) -> list[str]:
        if a.is_error or b.is_error:
            return compare_errors(a, b)
        if isinstance(a.body, str) or isinstance(b.body, str):   # text: the same cells, padding aside
            cells = lambda text: [line.split() for line in str(text).splitlines()]  # noqa: E731
            return [] if cells(a.body) == cells(b.body) else [f"text: local {a.body!r} real {b.body!r}"]
        own = ("uuid", "store.size", "pri.store.size")   # each engine's own: ids and bytes on disk
        mask = lambda rows: [{k: ("?" if k in own else v) for k, v in row.items()} for row in rows]  # noqa: E731
        return [] if mask(a.body) == mask(b.body) else [f"rows: local {a.body} real {b.body}"]
    check(outcome(local, real), context=f"_cat/indices {params}")


@pytest.mark.parametrize("params", [{"wait_for_status": "green", "timeout": "1s"},
                                    {"wait_for_status": "yellow", "timeout": "1s"},
                                    {"wait_for_status": "purple"}, {"timeout": "xx"}])
def test_cluster_health_wait_for_status(pair: Pair, params: dict[str, str]) -> None:
    index = pair.create("wait1", {"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    # in the URL itself: opensearch-py's transport takes a `timeout` parameter as its own socket timeout
    query = "&".join(f"{k}={v}" for k, v in params.items())
    local, real = pair.both("GET", f"/_cluster/health/{index}?{query}")

    def outcome(a: Answer, b: Answer) -> list[str]:
        if a.status != b.status or (a.is_error and a.status != 408) or (b.is_error and b.status != 408):
            return compare_errors(a, b)
        keys = ("status", "timed_out", "active_primary_shards", "unassigned_shards")
        return [f"{k}: local {a.body.get(k)} real {b.body.get(k)}" for k in keys if a.body.get(k) != b.body.get(k)]
    check(outcome(local, real), context=f"_cluster/health {params}")
