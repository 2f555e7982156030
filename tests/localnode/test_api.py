"""REST behaviour through opensearch-py: documents, bulk, indices, aliases and OpenSearch-shaped errors."""

from __future__ import annotations

import pytest
from opensearchpy import ConflictError, NotFoundError, RequestError, helpers


def test_index_get_update_delete_roundtrip(client):
    created = client.index(index="docs", id="1", body={"title": "Hello", "n": 1})
    assert created["result"] == "created" and created["_version"] == 1 and created["_seq_no"] == 0
    got = client.get(index="docs", id="1")
    assert got["found"] and got["_source"] == {"title": "Hello", "n": 1}
    updated = client.update(index="docs", id="1", body={"doc": {"n": 2}})
    assert updated["result"] == "updated" and updated["_version"] == 2
    noop = client.update(index="docs", id="1", body={"doc": {"n": 2}})
    assert noop["result"] == "noop"
    assert client.get(index="docs", id="1")["_source"] == {"title": "Hello", "n": 2}
    upsert = client.update(index="docs", id="2", body={"doc": {"title": "new"}, "doc_as_upsert": True})
    assert upsert["result"] == "created"
    assert client.delete(index="docs", id="1")["result"] == "deleted"
    with pytest.raises(NotFoundError):
        client.get(index="docs", id="1")
    assert client.exists(index="docs", id="2")
    assert not client.exists(index="docs", id="1")
    again = client.index(index="docs", id="1", body={"title": "back"})
    assert again["_version"] == 4  # version continues after a delete tombstone
    mget = client.mget(index="docs", body={"ids": ["1", "2", "missing"]})
    assert [d["found"] for d in mget["docs"]] == [True, True, False]


def test_realtime_get_before_refresh_and_search_after_refresh(client):
    client.indices.create(index="rt", body={"settings": {"refresh_interval": "-1"}})
    client.index(index="rt", id="a", body={"t": "visible later"})
    assert client.get(index="rt", id="a")["found"]
    assert client.count(index="rt")["count"] == 0
    client.indices.refresh(index="rt")
    assert client.count(index="rt")["count"] == 1


def test_create_conflicts_and_optimistic_concurrency(client):
    client.index(index="occ", id="1", body={"v": 1}, refresh=True)
    with pytest.raises(ConflictError) as info:
        client.create(index="occ", id="1", body={"v": 2})
    assert info.value.info["error"]["type"] == "version_conflict_engine_exception"
    current = client.get(index="occ", id="1")
    client.index(index="occ", id="1", body={"v": 3}, if_seq_no=current["_seq_no"], if_primary_term=1)
    with pytest.raises(ConflictError):
        client.index(index="occ", id="1", body={"v": 4}, if_seq_no=current["_seq_no"], if_primary_term=1)


def test_bulk_reports_bad_items_and_keeps_good_ones(client):
    client.indices.create(index="b", body={"mappings": {"properties": {"n": {"type": "integer"}}}})
    body = "\n".join([
        '{"index": {"_index": "b", "_id": "1"}}', '{"n": 1}',
        '{"index": {"_index": "b", "_id": "2"}}', '{"n": "not a number"}',
        '{"create": {"_index": "b", "_id": "1"}}', '{"n": 5}',
        '{"index": {"_index": "b", "_id": "3"}}', '{"n": 3',
        '{"delete": {"_index": "b", "_id": "404"}}',
        '{"update": {"_index": "b", "_id": "1"}}', '{"doc": {"n": 10}}',
    ]) + "\n"
    response = client.bulk(body=body, refresh=True)
    assert response["errors"] is True
    statuses = [next(iter(item.values()))["status"] for item in response["items"]]
    assert statuses == [201, 400, 409, 400, 404, 200]
    types = [next(iter(item.values())).get("error", {}).get("type") for item in response["items"]]
    assert types == [None, "mapper_parsing_exception", "version_conflict_engine_exception",
                     "mapper_parsing_exception", None, None]
    assert client.get(index="b", id="1")["_source"] == {"n": 10}
    assert client.count(index="b")["count"] == 1


def test_malformed_bulk_action_line_fails_whole_request(client):
    with pytest.raises(RequestError) as info:
        client.bulk(body='{"index": {"_index": "x"}}\n{}\nnot json\n')
    assert info.value.info["error"]["type"] == "illegal_argument_exception"


def test_helpers_bulk_and_search_shapes(client):
    actions = ({"_index": "h", "_id": str(i), "_source": {"title": f"pin number {i}", "n": i}} for i in range(250))
    ok, errors = helpers.bulk(client, actions, chunk_size=100, refresh=True)
    assert ok == 250 and errors == []
    response = client.search(index="h", body={"query": {"range": {"n": {"gte": 240}}}, "sort": [{"n": "desc"}],
                                              "size": 3, "_source": ["n"]})
    assert response["hits"]["total"] == {"value": 10, "relation": "eq"}
    assert [h["_id"] for h in response["hits"]["hits"]] == ["249", "248", "247"]
    assert response["hits"]["hits"][0]["sort"] == [249] and response["hits"]["hits"][0]["_score"] is None
    assert response["hits"]["hits"][0]["_source"] == {"n": 249}
    big = client.search(index="h", body={"query": {"match_all": {}}, "track_total_hits": 100})
    assert big["hits"]["total"] == {"value": 100, "relation": "gte"}


def test_errors_are_opensearch_shaped(client):
    with pytest.raises(NotFoundError) as info:
        client.search(index="nope", body={"query": {"match_all": {}}})
    assert info.value.info["error"]["type"] == "index_not_found_exception"
    assert info.value.info["status"] == 404
    client.indices.create(index="e")
    with pytest.raises(RequestError) as info:
        client.indices.create(index="e")
    assert info.value.info["error"]["type"] == "resource_already_exists_exception"
    with pytest.raises(RequestError) as info:
        client.search(index="e", body={"query": {"no_such_query": {}}})
    assert info.value.info["error"]["type"] == "parsing_exception"
    with pytest.raises(RequestError) as info:
        client.search(index="e", body={"query": {"fuzzy": {"a": "b"}}})
    assert "not supported by the embedded engine" in info.value.info["error"]["reason"]
    with pytest.raises(RequestError) as info:
        client.search(index="e", body={"aggs": {"x": {"terms": {"field": "a"}}}})
    assert "not supported" in info.value.info["error"]["reason"]
    with pytest.raises(RequestError) as info:
        client.indices.create(index="e2", body={"mappings": {"properties": {"a": {"type": "no_such_type"}}}})
    assert info.value.info["error"]["type"] == "mapper_parsing_exception"


@pytest.mark.parametrize("name", ["UPPER", "a/b", "../escape", "a*b", "_hidden", "-x", "+x", ".", "..", "a,b",
                                  "a#b", 'a"b', "a b", "a\\b"])
def test_index_names_validated(client, name):
    with pytest.raises(RequestError) as info:
        client.indices.create(index=name)
    assert info.value.info["error"]["type"] in ("invalid_index_name_exception",)


def test_dynamic_mapping_and_strict(client):
    client.index(index="dyn", id="1", body={"title": "x", "count": 3, "price": 1.5, "ok": True,
                                            "when": "2024-01-02T03:04:05Z", "nested": {"a": "b"}})
    props = client.indices.get_mapping(index="dyn")["dyn"]["mappings"]["properties"]
    assert props["title"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert props["count"] == {"type": "long"} and props["price"] == {"type": "float"}
    assert props["ok"] == {"type": "boolean"} and props["when"] == {"type": "date"}
    assert props["nested"] == {"properties": {"a": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}}
    client.indices.create(index="strict", body={"mappings": {"dynamic": "strict", "properties": {"a": {"type": "keyword"}}}})
    with pytest.raises(RequestError) as info:
        client.index(index="strict", id="1", body={"a": "x", "b": "y"})
    assert info.value.info["error"]["type"] == "strict_dynamic_mapping_exception"
    client.indices.put_mapping(index="strict", body={"properties": {"b": {"type": "keyword"}}})
    client.index(index="strict", id="1", body={"a": "x", "b": "y"}, refresh=True)
    assert client.search(index="strict", body={"query": {"term": {"b": "y"}}})["hits"]["total"]["value"] == 1
    with pytest.raises(RequestError):
        client.indices.put_mapping(index="strict", body={"properties": {"b": {"type": "text"}}})


def test_aliases_swap_atomically_and_filter(client):
    client.indices.create(index="v1")
    client.indices.create(index="v2")
    client.index(index="v1", id="1", body={"k": "old"}, refresh=True)
    client.index(index="v2", id="1", body={"k": "new"}, refresh=True)
    client.indices.update_aliases(body={"actions": [{"add": {"index": "v1", "alias": "live"}}]})
    assert client.search(index="live")["hits"]["hits"][0]["_source"] == {"k": "old"}
    client.indices.update_aliases(body={"actions": [{"remove": {"index": "v1", "alias": "live"}},
                                                    {"add": {"index": "v2", "alias": "live"}}]})
    hit = client.search(index="live")["hits"]["hits"][0]
    assert hit["_source"] == {"k": "new"} and hit["_index"] == "v2"
    with pytest.raises(NotFoundError):  # a failing action leaves every alias as it was
        client.indices.update_aliases(body={"actions": [{"remove": {"index": "v2", "alias": "live"}},
                                                        {"remove": {"index": "v2", "alias": "ghost"}}]})
    assert client.indices.get_alias(name="live") == {"v2": {"aliases": {"live": {}}}}
    client.indices.put_alias(index="v1", name="filtered", body={"filter": {"term": {"k.keyword": "nothing"}}})
    assert client.search(index="filtered")["hits"]["total"]["value"] == 0
    client.indices.update_aliases(body={"actions": [{"remove_index": {"index": "v1"}}]})
    assert not client.indices.exists(index="v1")
    client.index(index="live", id="2", body={"k": "via alias"}, refresh=True)
    assert client.get(index="v2", id="2")["found"]


def test_delete_by_query_and_count(client):
    helpers.bulk(client, ({"_index": "dq", "_id": str(i), "_source": {"n": i}} for i in range(20)), refresh=True)
    response = client.delete_by_query(index="dq", body={"query": {"range": {"n": {"lt": 5}}}}, refresh=True)
    assert response["deleted"] == 5
    assert client.count(index="dq")["count"] == 15


def test_explain_and_named_queries(client):
    client.index(index="ex", id="1", body={"t": "blue whale"}, refresh=True)
    client.index(index="ex", id="2", body={"t": "red whale"}, refresh=True)
    response = client.search(index="ex", body={"explain": True, "query": {"bool": {"should": [
        {"match": {"t": {"query": "blue", "_name": "is_blue"}}}, {"match": {"t": {"query": "whale", "_name": "whale"}}}]}}})
    top = response["hits"]["hits"][0]
    assert top["_id"] == "1" and sorted(top["matched_queries"]) == ["is_blue", "whale"]
    assert abs(top["_explanation"]["value"] - top["_score"]) < 1e-6
    assert response["hits"]["hits"][1]["matched_queries"] == ["whale"]


def test_stats_settings_and_cat(client):
    client.indices.create(index="st", body={"settings": {"number_of_replicas": 0}})
    client.index(index="st", id="1", body={"a": 1}, refresh=True)
    stats = client.indices.stats(index="st")
    assert stats["indices"]["st"]["primaries"]["docs"]["count"] == 1
    settings = client.indices.get_settings(index="st")["st"]["settings"]["index"]
    assert settings["number_of_replicas"] == "0" and settings["number_of_shards"] == "1"
    with pytest.raises(RequestError):
        client.indices.create(index="multi", body={"settings": {"number_of_shards": 3}})
    assert client.cluster.health()["status"] == "green"


def test_search_after_pages_through_everything(client):
    helpers.bulk(client, ({"_index": "sa", "_id": f"d{i:03d}", "_source": {"key": f"k{i:03d}", "n": i % 7}}
                          for i in range(230)), refresh=True)
    seen, after = [], None
    while True:
        body = {"size": 50, "sort": [{"key.keyword": "asc"}], "query": {"match_all": {}}}
        if after is not None:
            body["search_after"] = after
        hits = client.search(index="sa", body=body)["hits"]["hits"]
        if not hits:
            break
        seen.extend(h["_id"] for h in hits)
        after = hits[-1]["sort"]
    assert seen == [f"d{i:03d}" for i in range(230)]
    desc = client.search(index="sa", body={"size": 3, "sort": [{"n": "desc"}, {"key.keyword": "desc"}],
                                           "search_after": [6, "k209"]})["hits"]["hits"]
    assert [h["sort"] for h in desc] == [[6, "k202"], [6, "k195"], [6, "k188"]]
