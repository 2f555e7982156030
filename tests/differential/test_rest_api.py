"""The index, alias and document APIs of the README's support table, step by step on both engines.

Each step is one request; the answers must agree on status and error type, and on the fields a
client reads (``result``, ``_version``, ``found``, ``_source``, ``count``, per-item bulk outcomes,
alias tables). Fields that are the engine's own business (uuids, ``took``, byte sizes, node names)
are not compared.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.differential.harness import Answer, Pair, check, compare_errors, compare_search

Step = tuple[str, str, Any, dict[str, Any] | None, Callable[[Answer, Answer], list[str]] | None]


def same_keys(*keys: str) -> Callable[[Answer, Answer], list[str]]:
    """Compare status/error type, then the named top-level keys."""
    def compare(local: Answer, real: Answer) -> list[str]:
        if local.is_error or real.is_error:
            return compare_errors(local, real)
        return [f"{key}: local {local.body.get(key)!r} real {real.body.get(key)!r}"
                for key in keys if local.body.get(key) != real.body.get(key)]
    return compare


def bulk_items(local: Answer, real: Answer) -> list[str]:
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    diffs = []
    if local.body.get("errors") != real.body.get("errors"):
        diffs.append(f"errors: local {local.body.get('errors')} real {real.body.get('errors')}")
    for i, (li, ri) in enumerate(zip(local.body["items"], real.body["items"])):
        (lop, lv), (rop, rv) = next(iter(li.items())), next(iter(ri.items()))
        for key in ("status", "result", "_id", "_version"):
            if (lop, lv.get(key)) != (rop, rv.get(key)):
                diffs.append(f"item {i} {key}: local {lop} {lv.get(key)} real {rop} {rv.get(key)}")
        if lv.get("error", {}).get("type") != rv.get("error", {}).get("type"):
            diffs.append(f"item {i} error: local {lv.get('error')} real {rv.get('error')}")
    return diffs


def aliases_table(local: Answer, real: Answer) -> list[str]:
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    return [] if local.body == real.body else [f"aliases: local {local.body} real {real.body}"]


def mget_docs(local: Answer, real: Answer) -> list[str]:
    if local.is_error or real.is_error:
        return compare_errors(local, real)
    keys = ("_id", "found", "_source", "_version")
    lt = [{k: d.get(k) for k in keys} for d in local.body["docs"]]
    rt = [{k: d.get(k) for k in keys} for d in real.body["docs"]]
    return [] if lt == rt else [f"docs: local {lt} real {rt}"]


DOC = same_keys("_id", "found", "_source", "_version", "result")
STATUS = same_keys()


def steps(index: str, alias: str) -> list[Step]:
    mapping = {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
               "mappings": {"properties": {"title": {"type": "text"}, "n": {"type": "integer"},
                                           "tag": {"type": "keyword"}}}}
    bulk = "\n".join(json.dumps(line) for line in [
        {"index": {"_index": index, "_id": "1"}}, {"title": "red shoes", "n": 1, "tag": "a"},
        {"create": {"_index": index, "_id": "2"}}, {"title": "blue shoes", "n": 2, "tag": "b"},
        {"create": {"_index": index, "_id": "2"}}, {"title": "duplicate", "n": 3},
        {"index": {"_index": index, "_id": "3"}}, {"title": "green hat", "n": "not a number"},
        {"update": {"_index": index, "_id": "1"}}, {"doc": {"tag": "c"}},
        {"delete": {"_index": index, "_id": "404"}},
        {"index": {"_index": index, "_id": "4"}}, {"title": "yellow hat", "n": 4, "tag": "a"},
    ]) + "\n"
    return [
        ("PUT", f"/{index}", mapping, None, same_keys("acknowledged", "index")),
        ("PUT", f"/{index}", mapping, None, STATUS),                       # resource_already_exists
        ("HEAD", f"/{index}", None, None, STATUS),
        ("GET", f"/{index}/_mapping", None, None, aliases_table),
        ("PUT", f"/{index}/_mapping", {"properties": {"extra": {"type": "keyword"}}}, None, same_keys("acknowledged")),
        ("PUT", f"/{index}/_mapping", {"properties": {"n": {"type": "text"}}}, None, STATUS),  # cannot change type
        ("POST", "/_bulk", bulk, {"refresh": "true"}, bulk_items),
        ("GET", f"/{index}/_doc/1", None, None, DOC),
        ("GET", f"/{index}/_doc/404", None, None, DOC),
        ("GET", f"/{index}/_source/2", None, None, lambda l, r: compare_errors(l, r) or ([] if l.body == r.body else ["_source differs"])),
        ("HEAD", f"/{index}/_doc/2", None, None, STATUS),
        ("PUT", f"/{index}/_doc/5", {"title": "pink scarf", "n": 5}, {"refresh": "true"}, same_keys("_id", "result", "_version")),
        ("PUT", f"/{index}/_doc/5", {"title": "pink scarf", "n": 6}, {"refresh": "true"}, same_keys("_id", "result", "_version")),
        ("PUT", f"/{index}/_create/5", {"title": "again"}, None, STATUS),   # version_conflict
        ("PUT", f"/{index}/_doc/6", {"title": "x"}, {"version": "7", "version_type": "external"}, same_keys("result", "_version")),
        ("PUT", f"/{index}/_doc/6", {"title": "y"}, {"version": "3", "version_type": "external"}, STATUS),
        ("POST", f"/{index}/_update/5", {"doc": {"tag": "z"}}, {"refresh": "true"}, same_keys("result", "_version")),
        ("POST", f"/{index}/_update/5", {"doc": {"tag": "z"}}, None, same_keys("result", "_version")),   # noop
        ("POST", f"/{index}/_update/77", {"doc": {"tag": "z"}}, None, STATUS),                          # missing
        ("POST", f"/{index}/_update/77", {"doc": {"tag": "u"}, "doc_as_upsert": True}, None, same_keys("result", "_version")),
        ("POST", f"/{index}/_update/78", {"doc": {"tag": "u"}, "upsert": {"tag": "v"}}, {"refresh": "true"}, same_keys("result")),
        ("POST", f"/{index}/_mget", {"ids": ["1", "2", "404", "78"]}, None, mget_docs),
        ("POST", "/_mget", {"docs": [{"_index": index, "_id": "1"}, {"_index": index, "_id": "5", "_source": ["tag"]}]}, None, mget_docs),
        ("DELETE", f"/{index}/_doc/4", None, {"refresh": "true"}, same_keys("result", "_version")),
        ("DELETE", f"/{index}/_doc/4", None, None, STATUS),
        ("POST", f"/{index}/_count", None, None, same_keys("count")),
        ("POST", f"/{index}/_refresh", None, None, STATUS),
        ("POST", f"/{index}/_flush", None, None, STATUS),
        ("POST", f"/{index}/_forcemerge", None, {"max_num_segments": "1"}, STATUS),
        ("POST", f"/{index}/_search", {"query": {"match": {"title": "shoes"}}}, None,
         lambda l, r: compare_search(l, r, scores=False)),  # scores: see test_replaced_documents_statistics
        ("GET", f"/{index}/_settings", None, None, STATUS),
        ("POST", "/_aliases", {"actions": [{"add": {"index": index, "alias": alias}}]}, None, same_keys("acknowledged")),
        ("GET", f"/_alias/{alias}", None, None, aliases_table),
        ("GET", f"/{index}/_alias", None, None, aliases_table),
        ("POST", f"/{alias}/_search", {"query": {"term": {"tag": "a"}}}, None, compare_search),
        ("PUT", f"/{index}/_alias/{alias}-filtered", {"filter": {"term": {"tag": "b"}}}, None, same_keys("acknowledged")),
        ("POST", f"/{alias}-filtered/_count", None, None, same_keys("count")),
        ("POST", "/_aliases", {"actions": [{"remove": {"index": index, "alias": "no-such-alias"}}]}, None, STATUS),
        ("DELETE", f"/{index}/_alias/{alias}", None, None, same_keys("acknowledged")),
        ("GET", f"/_alias/{alias}", None, None, STATUS),
        ("POST", f"/{index}/_delete_by_query", {"query": {"term": {"tag": "z"}}}, {"refresh": "true"}, same_keys("deleted", "total", "failures")),
        ("POST", f"/{index}/_count", None, None, same_keys("count")),
        ("POST", "/_analyze", {"tokenizer": "standard", "filter": ["lowercase"], "text": "Hello World"}, None, STATUS),
        ("DELETE", f"/{index}", None, None, same_keys("acknowledged")),
        ("DELETE", f"/{index}", None, None, STATUS),
        ("GET", f"/{index}/_doc/1", None, None, STATUS),
    ]


def test_index_alias_and_document_apis(pair: Pair) -> None:
    index, alias = pair.name("api"), pair.name("api-alias")
    pair.drop("api")
    failures = []
    for number, (method, url, body, params, compare) in enumerate(steps(index, alias)):
        local, real = pair.both(method, url, body, params)
        try:
            check((compare or STATUS)(local, real), context=f"step {number}: {method} {url}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_cluster_health_of_a_single_node(pair: Pair) -> None:
    """Replicas make a single node yellow on both; without them it is green."""
    for replicas, name in ((1, "health1"), (0, "health0")):
        index = pair.create(name, {"settings": {"number_of_replicas": replicas}})
        local, real = pair.both("GET", f"/_cluster/health/{index}")
        check(same_keys("status", "active_primary_shards", "unassigned_shards")(local, real),
              context=f"_cluster/health with {replicas} replica(s)")


@pytest.mark.parametrize("body", [
    {"settings": {"number_of_shards": 0}},
    {"mappings": {"properties": {"x": {"type": "no_such_type"}}}},
    {"mappings": {"properties": {"x": {"type": "text", "analyzer": "no_such_analyzer"}}}},
    {"mappings": {"properties": {"x": {"type": "keyword", "unknown_param": 1}}}},
])
def test_bad_index_definitions(pair: Pair, body: dict[str, Any]) -> None:
    name = pair.name("bad")
    pair.drop("bad")
    local, real = pair.both("PUT", f"/{name}", body)
    assert real.is_error
    check(compare_errors(local, real), context=f"PUT index {json.dumps(body)}")


SOFT_DELETES_KNOWN = ("replaced or deleted documents: OpenSearch keeps them as soft deletes, in the BM25 "
                      "statistics, even through a force merge, while retention leases need them (12 h by "
                      "default); localnode drops a fully deleted segment at once and purges deleted documents "
                      "when it merges")


def test_replaced_documents_statistics(pair: Pair) -> None:
    """Pinned known difference: replace a document that sits alone in its segment, then score,
    before and after a force merge."""
    index = pair.create("softdel", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                    "mappings": {"properties": {"title": {"type": "text"}}}},
                        [{"_id": "1", "title": "red shoes"}, {"_id": "2", "title": "blue shoes"}])
    for client in (pair.local, pair.real):
        client.index(index=index, id="3", body={"title": "green hat"}, refresh="true")
        client.index(index=index, id="3", body={"title": "green cap"}, refresh="true")
    body = {"query": {"match": {"title": "shoes"}}}
    local, real = pair.both("POST", f"/{index}/_search", body)
    check(compare_search(local, real), known=SOFT_DELETES_KNOWN, context="BM25 after a fully deleted segment")
    pair.both("POST", f"/{index}/_forcemerge", None, {"max_num_segments": "1"})
    local, real = pair.both("POST", f"/{index}/_search", body)
    check(compare_search(local, real), known=SOFT_DELETES_KNOWN, context="BM25 after the merge")


def test_alias_forms(pair: Pair) -> None:
    """Every body and URL form of _aliases and _alias, with routing and write indices."""
    one, two = pair.create("al1", {"settings": {"number_of_replicas": 0}}), \
        pair.create("al2", {"settings": {"number_of_replicas": 0}})
    a = pair.name("x")
    alias_steps: list[tuple[str, str, Any]] = [
        ("POST", "/_aliases", {"actions": [{"add": {"index": one, "alias": f"{a}1", "routing": "r1"}}]}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": one, "alias": f"{a}2", "index_routing": "a",
                                                    "search_routing": "b,c"}}]}),
        ("POST", "/_aliases", {"actions": [{"add": {"indices": [one, two], "alias": f"{a}3", "is_write_index": False}},
                                           {"add": {"index": two, "alias": f"{a}3w", "is_write_index": True}}]}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": pair.name("al*"), "aliases": [f"{a}4", f"{a}5"]}}]}),
        ("PUT", f"/{one}/_alias/{a}6", {"routing": "z", "is_write_index": True}),
        ("PUT", f"/_alias/{a}7", None),
        ("PUT", f"/{one},{two}/_aliases/{a}8", {}),
        ("POST", f"/{one}/_alias/{a}9", None),
        ("GET", f"/_alias/{a}1,{a}2,{a}6", None),
        ("GET", f"/{one}/_alias", None),
        ("GET", f"/{one}", None),
        ("POST", "/_aliases", {"actions": [{"remove": {"index": one, "aliases": [f"{a}4", f"{a}5"]}}]}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": one, "alias": f"{a}bad", "bogus": 1}}]}),
        ("POST", "/_aliases", {"actions": [{"add": {"index": one}}]}),
        ("POST", "/_aliases", {"actions": [{"remove_index": {"index": two}}]}),
        ("GET", f"/{one}/_alias/{a}*", None),
    ]

    def outcome(local: Answer, real: Answer) -> list[str]:
        if local.is_error or real.is_error:
            return compare_errors(local, real)
        body_l, body_r = local.body, real.body
        if isinstance(body_l, dict) and isinstance(body_r, dict) and one in body_l and "settings" in body_l[one]:
            body_l, body_r = body_l[one]["aliases"], body_r[one]["aliases"]   # GET index: compare its aliases
        return [] if body_l == body_r else [f"local {body_l} real {body_r}"]

    failures = []
    for number, (method, url, body) in enumerate(alias_steps):
        local, real = pair.both(method, url, body)
        try:
            check(outcome(local, real), context=f"alias step {number}: {method} {url}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


ROUTING_KNOWN = ("routing on writes: refused by localnode (it stores no per-document routing, so GET could "
                 "not show _routing), accepted by OpenSearch")


def test_write_options(pair: Pair) -> None:
    """require_alias, op_type, if_seq_no, update's get/_source/forced_refresh, bulk update _source."""
    index = pair.create("w", {"settings": {"number_of_replicas": 0}})
    alias, missing = pair.name("w-alias"), pair.name("w-missing")
    pair.both("POST", "/_aliases", {"actions": [{"add": {"index": index, "alias": alias}}]})
    pair.drop("w-missing")
    bulk = "\n".join(json.dumps(x) for x in [
        {"update": {"_index": index, "_id": "1", "_source": True}}, {"doc": {"c": 1}},
        {"index": {"_index": index, "_id": "7", "require_alias": True}}, {"x": 1},
        {"index": {"_index": alias, "_id": "8", "require_alias": True}}, {"x": 1}]) + "\n"
    write_steps: list[tuple[str, str, Any, dict[str, str] | None]] = [
        ("PUT", f"/{index}/_doc/1", {"a": 1}, {"refresh": "true"}),
        ("PUT", f"/{index}/_doc/2", {"a": 2}, {"require_alias": "true"}),
        ("PUT", f"/{alias}/_doc/3", {"a": 3}, {"require_alias": "true"}),
        ("PUT", f"/{missing}/_doc/3", {"a": 3}, {"require_alias": "true"}),
        ("PUT", f"/{index}/_doc/1", {"a": 9}, {"op_type": "create"}),
        ("PUT", f"/{index}/_doc/1", {"a": 9}, {"op_type": "bogus"}),
        ("PUT", f"/{index}/_doc/1", {"a": 9}, {"if_seq_no": "5", "if_primary_term": "1"}),
        ("POST", f"/{index}/_update/1", {"doc": {"b": 1}, "_source": True}, None),
        ("POST", f"/{index}/_update/1", {"doc": {"b": 2}}, {"_source": "b"}),
        ("POST", f"/{index}/_update/1", {"doc": {"b": 3}}, {"_source_includes": "a"}),
        ("POST", f"/{index}/_update/1", {"doc": {"b": 4}}, {"refresh": "true"}),
        ("POST", f"/{index}/_update/1", {"doc": {"b": 5}}, {"retry_on_conflict": "3"}),
        ("POST", f"/{index}/_update/1", {"doc": {"b": 5}}, {"if_seq_no": "0", "if_primary_term": "1"}),
        ("POST", "/_bulk", bulk, {"refresh": "true"}),
        ("POST", "/_bulk", json.dumps({"index": {"_index": missing, "_id": "1"}}) + "\n{}\n", {"require_alias": "true"}),
    ]

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("took", "_seq_no", "_primary_term", "index_uuid")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    def outcome(local: Answer, real: Answer) -> list[str]:
        if local.is_error or real.is_error:
            return compare_errors(local, real)
        return [] if strip(local.body) == strip(real.body) else [f"local {strip(local.body)} real {strip(real.body)}"]

    failures = []
    for number, (method, url, body, params) in enumerate(write_steps):
        local, real = pair.both(method, url, body, params)
        try:
            check(outcome(local, real), context=f"write step {number}: {method} {url} {params}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)
    local, real = pair.both("PUT", f"/{index}/_doc/10", {"a": 1}, {"routing": "r"})
    check(outcome(local, real), known=ROUTING_KNOWN, context="index with routing")
