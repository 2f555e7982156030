"""REST behaviour through opensearch-py: documents, bulk, indices, aliases and OpenSearch-shaped errors."""

from __future__ import annotations

import base64
import datetime as _dt
import time

import pytest
from opensearchpy import ConflictError, NotFoundError, RequestError, helpers

import pinsearch
from tests.localnode.bm25_reference import bm25, f32


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


# ==================================================================================================
# Sorting by _score (SortBuilder.buildSort drops a lone score-descending sort) and field sorts

WS = {"type": "text", "analyzer": "whitespace"}


@pytest.fixture
def scored(client):
    client.indices.create(index="srt", body={"mappings": {"properties": {"body": WS, "n": {"type": "integer"}}}})
    docs = [("0", "apple apple banana", 3), ("1", "apple", 1), ("2", "banana cherry", 2), ("3", "apple cherry kiwi fig", 5)]
    for doc_id, body, n in docs:
        client.index(index="srt", id=doc_id, body={"body": body, "n": n})
    client.indices.refresh(index="srt")
    total_terms = 3 + 1 + 2 + 4
    # match "apple": N = 4 docs with the field, df = 3
    return {"0": bm25(2, 3, total_terms, 4, 3), "1": bm25(1, 1, total_terms, 4, 3), "3": bm25(1, 4, total_terms, 4, 3)}


APPLE = {"match": {"body": "apple"}}


@pytest.mark.parametrize("sort", [["_score"], "_score", [{"_score": "desc"}], [{"_score": {"order": "desc"}}],
                                  {"_score": "desc"}])
def test_lone_score_descending_sort_is_no_sort(client, scored, sort):
    expected_order = sorted(scored, key=lambda d: (-float(scored[d]), d))
    response = client.search(index="srt", body={"query": APPLE, "sort": sort})
    hits = response["hits"]["hits"]
    assert [h["_id"] for h in hits] == expected_order
    assert [f32(h["_score"]) for h in hits] == [scored[d] for d in expected_order]
    assert all("sort" not in h for h in hits)
    assert f32(response["hits"]["max_score"]) == max(scored.values())
    unsorted = client.search(index="srt", body={"query": APPLE})
    assert unsorted["hits"]["hits"] == hits and unsorted["hits"]["max_score"] == response["hits"]["max_score"]
    with pytest.raises(RequestError):   # the sort is gone, so search_after has nothing to follow
        client.search(index="srt", body={"query": APPLE, "sort": sort, "search_after": [1.0]})


def test_field_colon_order_is_a_url_parameter_form_only(client, scored):
    """``sort=_score:desc`` is the URL parameter's syntax; in a body the string is a field name (as
    ``SearchSourceBuilder.sort(String)`` takes it), so OpenSearch finds no such field to sort on."""
    by_param = client.search(index="srt", body={"query": APPLE}, params={"sort": "_score:desc"})
    assert by_param["hits"]["hits"] == client.search(index="srt", body={"query": APPLE})["hits"]["hits"]
    with pytest.raises(RequestError) as info:
        client.search(index="srt", body={"query": APPLE, "sort": ["_score:desc"]})
    assert info.value.info["error"]["root_cause"][0]["reason"] == "No mapping found for [_score:desc] in order to sort on"


def test_score_ascending_and_score_then_field_sorts_keep_scores(client, scored):
    ascending = client.search(index="srt", body={"query": APPLE, "sort": [{"_score": "asc"}]})["hits"]
    order = sorted(scored, key=lambda d: (float(scored[d]), d))
    assert [h["_id"] for h in ascending["hits"]] == order
    for hit in ascending["hits"]:   # SearchPhaseController.getHits: the score comes from the sort value
        assert f32(hit["_score"]) == scored[hit["_id"]] and f32(hit["sort"][0]) == scored[hit["_id"]]
    assert ascending["max_score"] is None        # a sorted request tracks max_score only with track_scores
    tracked = client.search(index="srt", body={"query": APPLE, "sort": [{"_score": "asc"}], "track_scores": True})
    assert f32(tracked["hits"]["max_score"]) == max(scored.values())
    both = client.search(index="srt", body={"query": APPLE, "sort": [{"_score": "desc"}, {"n": "asc"}]})["hits"]
    assert [h["_id"] for h in both["hits"]] == sorted(scored, key=lambda d: -float(scored[d]))
    assert [(f32(h["_score"]), h["sort"][1]) for h in both["hits"]] == \
        [(scored[h["_id"]], {"0": 3, "1": 1, "3": 5}[h["_id"]]) for h in both["hits"]]
    assert both["max_score"] is None


def test_field_sort_scores_only_with_track_scores(client, scored):
    plain = client.search(index="srt", body={"query": APPLE, "sort": [{"n": "desc"}]})["hits"]
    assert [(h["_id"], h["_score"], h["sort"]) for h in plain["hits"]] == [("3", None, [5]), ("0", None, [3]),
                                                                           ("1", None, [1])]
    assert plain["max_score"] is None
    # track_scores: every hit has its score, and max_score is the best score of *all* matches
    # (MaxScoreCollector), not only of the page: doc 3 comes first by n but scores lowest
    tracked = client.search(index="srt", body={"query": APPLE, "sort": [{"n": "desc"}], "track_scores": True,
                                               "size": 1})["hits"]
    assert [h["_id"] for h in tracked["hits"]] == ["3"] and f32(tracked["hits"][0]["_score"]) == scored["3"]
    assert f32(tracked["max_score"]) == max(scored.values()) > scored["3"]


# ==================================================================================================
# A term on a numeric field with a non-numeric value (NumberFieldMapper -> Double.parseDouble)

def test_non_numeric_term_on_numeric_fields_is_a_query_shard_exception(client):
    client.indices.create(index="nums", body={"mappings": {"properties": {
        "i": {"type": "integer"}, "l": {"type": "long"}, "f": {"type": "float"}}}})
    client.index(index="nums", id="1", body={"i": 7, "l": 7, "f": 7.5}, refresh=True)
    uuid = client.indices.get_settings(index="nums")["nums"]["settings"]["index"]["uuid"]
    queries = [{"term": {"i": "abc"}}, {"term": {"l": {"value": "abc"}}}, {"terms": {"l": [1, "abc"]}},
               {"match": {"i": "abc"}}, {"range": {"i": {"gte": "abc"}}}, {"term": {"f": "abc"}}]
    for query in queries:
        with pytest.raises(RequestError) as info:
            client.search(index="nums", body={"query": query})
        assert info.value.status_code == 400
        error = info.value.info["error"]
        shard_failure = {"type": "query_shard_exception", "reason": 'failed to create query: For input string: "abc"',
                         "index": "nums", "index_uuid": uuid}
        assert error["type"] == "search_phase_execution_exception" and error["reason"] == "all shards failed"
        assert error["phase"] == "query" and error["grouped"] is True
        assert error["root_cause"] == [shard_failure]
        assert error["failed_shards"][0]["shard"] == 0 and error["failed_shards"][0]["index"] == "nums"
        assert error["failed_shards"][0]["reason"] == {
            **shard_failure, "caused_by": {"type": "number_format_exception", "reason": 'For input string: "abc"'}}
        assert "caused_by" not in error   # SearchPhaseExecutionException.deduplicateCause
    with pytest.raises(RequestError) as info:
        client.search(index="nums", body={"query": {"term": {"i": ""}}})
    assert info.value.info["error"]["failed_shards"][0]["reason"]["caused_by"]["reason"] == "empty String"
    # numbers as strings work, a fractional value on an integer field matches nothing, lenient match skips
    assert client.search(index="nums", body={"query": {"term": {"l": " 7 "}}})["hits"]["total"]["value"] == 1
    assert client.search(index="nums", body={"query": {"term": {"i": "7.5"}}})["hits"]["total"]["value"] == 0
    assert client.search(index="nums", body={"query": {"term": {"f": 7.5}}})["hits"]["total"]["value"] == 1
    lenient = client.search(index="nums", body={"query": {"match": {"i": {"query": "abc", "lenient": True}}}})
    assert lenient["hits"]["total"]["value"] == 0


def test_other_shard_failures_keep_a_top_level_cause(client):
    """A JDK exception as the shard failure: OpenSearch guesses a new root cause, rendered as caused_by."""
    client.index(index="txt", id="1", body={"t": "x"}, refresh=True)
    with pytest.raises(RequestError) as info:
        client.search(index="txt", body={"sort": [{"t": "asc"}]})
    error = info.value.info["error"]
    assert error["root_cause"][0]["type"] == "illegal_argument_exception"
    assert error["caused_by"]["type"] == "illegal_argument_exception"
    assert error["caused_by"]["caused_by"]["reason"] == error["caused_by"]["reason"]


# ==================================================================================================
# Date ranges: lte/gt round up (missing time fields = their maximum), gte/lt round down

DAY_DOCS = {"a": "2024-01-01T23:59:59.999Z", "b": "2024-01-02T00:00:00.000Z", "c": "2024-01-02T12:00:00.000Z",
            "c2": "2024-01-02T12:00:00.500Z", "d": "2024-01-02T23:59:59.999Z", "e": "2024-01-03T00:00:00.000Z"}


def _date_ids(client, index: str, query: dict) -> set[str]:
    return {h["_id"] for h in client.search(index=index, body={"query": query, "size": 50})["hits"]["hits"]}


@pytest.mark.parametrize("bound", ["2024-01-02", "2024-01-02T05:06:07||/d", "2024-01-02||/d", "2024-01-02T23:00||/d"])
def test_date_range_bounds_round_like_opensearch(client, bound):
    client.indices.create(index="days", body={"mappings": {"properties": {"d": {"type": "date"}}}})
    for doc_id, value in DAY_DOCS.items():
        client.index(index="days", id=doc_id, body={"d": value})
    client.indices.refresh(index="days")
    whole_day = {"b", "c", "c2", "d"}
    assert _date_ids(client, "days", {"range": {"d": {"lte": bound}}}) == {"a"} | whole_day
    assert _date_ids(client, "days", {"range": {"d": {"gt": bound}}}) == {"e"}
    assert _date_ids(client, "days", {"range": {"d": {"gte": bound}}}) == whole_day | {"e"}
    assert _date_ids(client, "days", {"range": {"d": {"lt": bound}}}) == {"a"}
    assert _date_ids(client, "days", {"range": {"d": {"gte": bound, "lte": bound}}}) == whole_day
    assert _date_ids(client, "days", {"range": {"d": {"from": bound, "to": bound, "include_lower": False}}}) == set()


def test_date_bounds_with_times_and_terms(client):
    client.indices.create(index="times", body={"mappings": {"properties": {"d": {"type": "date"}}}})
    for doc_id, value in DAY_DOCS.items():
        client.index(index="times", id=doc_id, body={"d": value})
    client.indices.refresh(index="times")
    noon = "2024-01-02T12:00:00"   # no fraction: rounds up to 12:00:00.999 for lte and gt
    assert _date_ids(client, "times", {"range": {"d": {"lte": noon}}}) == {"a", "b", "c", "c2"}
    assert _date_ids(client, "times", {"range": {"d": {"gt": noon}}}) == {"d", "e"}
    assert _date_ids(client, "times", {"range": {"d": {"lt": noon}}}) == {"a", "b"}
    assert _date_ids(client, "times", {"range": {"d": {"gte": noon}}}) == {"c", "c2", "d", "e"}
    assert _date_ids(client, "times", {"range": {"d": {"lte": "2024-01-02T12:00:00.000"}}}) == {"a", "b", "c"}
    # a date term is rangeQuery(v, v, true, true): the whole day for a date without time
    assert _date_ids(client, "times", {"term": {"d": "2024-01-02"}}) == {"b", "c", "c2", "d"}
    assert _date_ids(client, "times", {"terms": {"d": ["2024-01-01", "2024-01-03T00:00:00.000Z"]}}) == {"a", "e"}
    assert _date_ids(client, "times", {"term": {"d": 1704196800000}}) == {"c"}   # epoch millis: one instant


def test_now_rounding_inclusive_and_exclusive(client):
    today = _dt.datetime.now(_dt.timezone.utc).date()
    start = _dt.datetime.combine(today, _dt.time(), tzinfo=_dt.timezone.utc)
    millis = int(start.timestamp() * 1000)
    docs = {"yesterday_end": millis - 1, "today_start": millis, "today_end": millis + 86_400_000 - 1,
            "tomorrow": millis + 86_400_000}
    client.indices.create(index="now", body={"mappings": {"properties": {"d": {"type": "date"}}}})
    for doc_id, value in docs.items():
        client.index(index="now", id=doc_id, body={"d": value})
    client.indices.refresh(index="now")
    got = {op: _date_ids(client, "now", {"range": {"d": {op: "now/d"}}}) for op in ("lte", "gt", "gte", "lt")}
    if _dt.datetime.now(_dt.timezone.utc).date() != today:
        pytest.skip("the UTC day changed while the test ran")
    assert got == {"lte": {"yesterday_end", "today_start", "today_end"}, "gt": {"tomorrow"},
                   "gte": {"today_start", "today_end", "tomorrow"}, "lt": {"yesterday_end"}}


def test_date_epoch_millis_input_and_ranges(client):
    client.indices.create(index="epoch", body={"mappings": {"properties": {"d": {"type": "date"}}}})
    client.index(index="epoch", id="n", body={"d": 1704153600000})          # 2024-01-02T00:00:00Z
    client.index(index="epoch", id="s", body={"d": "1704157200000"})        # 01:00, millis as a string
    client.index(index="epoch", id="i", body={"d": "2024-01-02T02:00:00Z"})
    client.index(index="epoch", id="old", body={"d": -86_400_000})          # 1969-12-31
    client.indices.refresh(index="epoch")
    assert _date_ids(client, "epoch", {"range": {"d": {"gte": 1704153600000, "lt": "2024-01-02T01:00:00Z"}}}) == {"n"}
    assert _date_ids(client, "epoch", {"range": {"d": {"gt": "1704153600000"}}}) == {"s", "i"}
    assert _date_ids(client, "epoch", {"range": {"d": {"lt": 0}}}) == {"old"}
    assert _date_ids(client, "epoch", {"range": {"d": {"gte": "2024-01-02||-1h", "lte": "2024-01-02T00:30:00Z"}}}) == {"n"}
    hits = client.search(index="epoch", body={"sort": [{"d": "asc"}], "query": {"match_all": {}}})["hits"]["hits"]
    assert [(h["_id"], h["sort"]) for h in hits] == [("old", [-86_400_000]), ("n", [1704153600000]),
                                                    ("s", [1704157200000]), ("i", [1704160800000])]
    assert hits[1]["_source"] == {"d": 1704153600000} and hits[2]["_source"] == {"d": "1704157200000"}


# ==================================================================================================
# Index APIs

def test_get_and_delete_index(client):
    client.indices.create(index="gi", body={"settings": {"number_of_replicas": 0},
                                            "mappings": {"properties": {"t": {"type": "keyword"}}},
                                            "aliases": {"gi-alias": {}}})
    got = client.indices.get(index="gi")
    assert set(got) == {"gi"}
    assert got["gi"]["aliases"] == {"gi-alias": {}}
    assert got["gi"]["mappings"] == {"properties": {"t": {"type": "keyword"}}}
    index_settings = got["gi"]["settings"]["index"]
    assert index_settings["number_of_shards"] == "1" and index_settings["number_of_replicas"] == "0"
    assert index_settings["provided_name"] == "gi" and index_settings["uuid"]
    assert index_settings["version"] == {"created": "136408127"} and index_settings["creation_date"].isdigit()
    assert set(client.indices.get(index="gi-alias")) == {"gi"}          # an alias resolves to its index
    assert client.indices.delete(index="gi") == {"acknowledged": True}
    assert not client.indices.exists(index="gi")
    with pytest.raises(NotFoundError) as info:
        client.indices.get(index="gi")
    assert info.value.info["error"]["type"] == "index_not_found_exception"
    assert info.value.info["error"]["reason"] == "no such index [gi]"
    with pytest.raises(NotFoundError):
        client.indices.delete(index="gi")
    assert client.indices.get_alias(name="gi-alias", ignore=404).get("status") == 404  # the alias went with it


def test_put_settings(client):
    client.indices.create(index="ps", body={"settings": {"refresh_interval": "-1"}})
    assert client.indices.put_settings(index="ps", body={"index": {"refresh_interval": "5s",
                                                                    "number_of_replicas": 2}}) == {"acknowledged": True}
    flat = client.indices.get_settings(index="ps")["ps"]["settings"]["index"]
    assert flat["refresh_interval"] == "5s" and flat["number_of_replicas"] == "2"
    client.indices.put_settings(index="ps", body={"index.max_result_window": 20})
    assert client.indices.get_settings(index="ps")["ps"]["settings"]["index"]["max_result_window"] == "20"
    with pytest.raises(RequestError) as info:   # static settings cannot change on an open index
        client.indices.put_settings(index="ps", body={"index": {"number_of_shards": 2}})
    assert info.value.info["error"]["type"] == "illegal_argument_exception"
    with pytest.raises(RequestError):
        client.indices.put_settings(index="ps", body={"index": {"refresh_interval": "soon"}})
    assert client.indices.get_settings(index="ps")["ps"]["settings"]["index"]["refresh_interval"] == "5s"
    with pytest.raises(NotFoundError):
        client.indices.put_settings(index="missing", body={"index": {"refresh_interval": "1s"}})


def test_delete_alias(client):
    client.indices.create(index="da1")
    client.indices.create(index="da2")
    client.indices.put_alias(index="da1,da2", name="both")
    client.indices.put_alias(index="da1", name="one")
    assert client.indices.delete_alias(index="da1", name="both") == {"acknowledged": True}
    assert client.indices.get_alias(name="both") == {"da2": {"aliases": {"both": {}}}}
    assert client.indices.get_alias(index="da1") == {"da1": {"aliases": {"one": {}}}}
    client.indices.delete_alias(index="_all", name="both")
    assert not client.indices.exists_alias(name="both")
    with pytest.raises(NotFoundError) as info:
        client.indices.delete_alias(index="da1", name="both")
    assert info.value.info["error"]["type"] == "aliases_not_found_exception"
    assert info.value.info["error"]["reason"] == "aliases [both] missing"
    client.index(index="one", id="x", body={"v": 1}, refresh=True)   # "one" still points at da1
    assert client.get(index="da1", id="x")["found"]


# ==================================================================================================
# Search options

def test_from_paging(client):
    helpers.bulk(client, ({"_index": "pg", "_id": f"p{i:02d}", "_source": {"n": i}} for i in range(25)), refresh=True)
    page = client.search(index="pg", body={"sort": [{"n": "asc"}], "from": 10, "size": 5})["hits"]
    assert [h["_source"]["n"] for h in page["hits"]] == [10, 11, 12, 13, 14]
    assert page["total"] == {"value": 25, "relation": "eq"}
    pages = [client.search(index="pg", body={"query": {"match_all": {}}, "from": start, "size": 10})["hits"]["hits"]
             for start in (0, 10, 20)]
    ids = [h["_id"] for p in pages for h in p]
    assert len(ids) == 25 and len(set(ids)) == 25 and [len(p) for p in pages] == [10, 10, 5]
    assert all(h["_score"] == 1.0 for p in pages for h in p)
    as_params = client.search(index="pg", body={"sort": [{"n": "desc"}]}, params={"from": 22, "size": 10})["hits"]
    assert [h["_source"]["n"] for h in as_params["hits"]] == [2, 1, 0]
    beyond = client.search(index="pg", body={"from": 30})["hits"]
    assert beyond["hits"] == [] and beyond["total"]["value"] == 25
    with pytest.raises(RequestError) as info:
        client.search(index="pg", body={"from": 9_995, "size": 10})
    assert "Result window is too large, from + size must be less than or equal to: [10000] but was [10005]" in \
        info.value.info["error"]["root_cause"][0]["reason"]


def test_source_filtering(client):
    source = {"title": "x", "meta": {"a": 1, "b": {"c": 2, "d": 3}}, "tags": ["t1", "t2"],
              "parts": [{"k": 1, "v": "one"}, {"k": 2, "v": "two"}]}
    client.index(index="src", id="1", body=source, refresh=True)

    def filtered(spec):
        hit = client.search(index="src", body={"_source": spec})["hits"]["hits"][0]
        return hit.get("_source", "absent")
    assert filtered({"includes": ["meta.b"], "excludes": ["meta.b.d"]}) == {"meta": {"b": {"c": 2}}}
    assert filtered({"excludes": ["meta", "parts.v"]}) == {"title": "x", "tags": ["t1", "t2"],
                                                           "parts": [{"k": 1}, {"k": 2}]}
    assert filtered(["title", "meta.a"]) == {"title": "x", "meta": {"a": 1}}
    assert filtered("meta.*") == {"meta": {"a": 1, "b": {"c": 2, "d": 3}}}
    assert filtered({"includes": ["parts.k"]}) == {"parts": [{"k": 1}, {"k": 2}]}
    assert filtered(False) == "absent"
    assert filtered(True) == source
    got = client.get(index="src", id="1", params={"_source_includes": "meta.b", "_source_excludes": "meta.b.c"})
    assert got["_source"] == {"meta": {"b": {"d": 3}}}
    assert "_source" not in client.get(index="src", id="1", params={"_source": "false"})


def test_refresh_wait_for_makes_writes_visible_on_return(client):
    client.indices.create(index="wf", body={"settings": {"refresh_interval": "30s"}})
    created = client.index(index="wf", id="1", body={"t": "hello"}, refresh="wait_for")
    assert created["result"] == "created" and "forced_refresh" not in created
    assert client.search(index="wf", body={"query": {"match": {"t": "hello"}}})["hits"]["total"]["value"] == 1
    bulk = client.bulk(body='{"index":{"_index":"wf","_id":"2"}}\n{"t":"hello again"}\n'
                            '{"delete":{"_index":"wf","_id":"1"}}\n', refresh="wait_for")
    assert not bulk["errors"] and all("forced_refresh" not in next(iter(i.values())) for i in bulk["items"])
    assert [h["_id"] for h in client.search(index="wf")["hits"]["hits"]] == ["2"]
    forced = client.bulk(body='{"index":{"_index":"wf","_id":"3"}}\n{"t":"x"}\n', refresh=True)
    assert forced["items"][0]["index"]["forced_refresh"] is True
    assert client.count(index="wf")["count"] == 2


def test_periodic_refresh_makes_documents_searchable(client):
    client.indices.create(index="tick", body={"settings": {"refresh_interval": "200ms"}})
    client.indices.create(index="never", body={"settings": {"refresh_interval": "-1"}})
    client.index(index="tick", id="1", body={"t": "later"})
    client.index(index="never", id="1", body={"t": "later"})
    deadline = time.monotonic() + 5.0
    while client.count(index="tick")["count"] == 0:
        assert time.monotonic() < deadline, "a 200ms refresh_interval did not publish the document within 5s"
        time.sleep(0.05)
    time.sleep(0.6)   # several scheduler rounds: refresh_interval -1 never refreshes on its own
    assert client.count(index="never")["count"] == 0
    assert client.get(index="never", id="1")["found"]   # realtime get still sees it


def test_background_merges_reduce_segment_count(client):
    client.indices.create(index="bm", body={"settings": {"refresh_interval": "-1"}})
    for i in range(12):
        client.index(index="bm", id=str(i), body={"t": f"doc {i}"}, refresh=True)
    deadline = time.monotonic() + 10.0
    while True:
        stats = client.indices.stats(index="bm")["indices"]["bm"]["primaries"]
        if stats["segments"]["count"] <= 3:
            break
        assert time.monotonic() < deadline, f"no background merge: {stats['segments']['count']} segments"
        time.sleep(0.1)
    assert stats["merges"]["total"] >= 1 and stats["docs"]["count"] == 12
    hits = client.search(index="bm", body={"query": {"match": {"t": "doc"}}, "size": 20})["hits"]
    assert hits["total"]["value"] == 12 and sorted(int(h["_id"]) for h in hits["hits"]) == list(range(12))


# ==================================================================================================
# Field types and mappings

def test_double_fields_keep_double_precision(client):
    client.indices.create(index="dbl", body={"mappings": {"properties": {"x": {"type": "double"},
                                                                          "y": {"type": "float"}}}})
    client.index(index="dbl", id="a", body={"x": 1.00000001, "y": 1.00000001})
    client.index(index="dbl", id="b", body={"x": 1.00000002, "y": 1.00000002})
    client.index(index="dbl", id="c", body={"x": 0.1, "y": 0.1})
    client.indices.refresh(index="dbl")

    def ids(query):
        return sorted(h["_id"] for h in client.search(index="dbl", body={"query": query})["hits"]["hits"])
    assert ids({"term": {"x": 1.00000001}}) == ["a"]               # doubles stay distinct
    assert ids({"term": {"y": 1.00000001}}) == ["a", "b"]          # both are 1.0f in a float field
    assert ids({"term": {"y": 0.1}}) == ["c"] and ids({"range": {"y": {"lte": 0.1}}}) == ["c"]  # 0.1f == 0.1f
    assert ids({"range": {"x": {"gt": 1.00000001}}}) == ["b"]
    assert ids({"range": {"x": {"lte": "0.1"}}}) == ["c"]
    hits = client.search(index="dbl", body={"sort": [{"x": "desc"}]})["hits"]["hits"]
    assert [h["sort"] for h in hits] == [[1.00000002], [1.00000001], [0.1]]
    scored = client.search(index="dbl", body={"query": {"function_score": {
        "field_value_factor": {"field": "x", "factor": 3}, "boost_mode": "replace"}}})["hits"]["hits"]
    assert {h["_id"]: f32(h["_score"]) for h in scored} == {"a": f32(1.00000001 * 3), "b": f32(1.00000002 * 3),
                                                            "c": f32(0.1 * 3)}


def test_dotted_object_paths(client):
    client.index(index="obj", id="1", body={"o": {"a": "red fox", "n": 5, "deep": {"k": "v1"}}})
    client.index(index="obj", id="2", body={"o.a": "blue fox", "o.n": 7, "o.deep.k": "v2"})
    client.indices.refresh(index="obj")
    props = client.indices.get_mapping(index="obj")["obj"]["mappings"]["properties"]
    assert set(props) == {"o"} and set(props["o"]["properties"]) == {"a", "n", "deep"}
    assert props["o"]["properties"]["n"] == {"type": "long"}

    def ids(query):
        return sorted(h["_id"] for h in client.search(index="obj", body={"query": query})["hits"]["hits"])
    assert ids({"match": {"o.a": "fox"}}) == ["1", "2"]
    assert ids({"match": {"o.a": "blue"}}) == ["2"]
    assert ids({"term": {"o.a.keyword": "red fox"}}) == ["1"]
    assert ids({"range": {"o.n": {"gte": 6}}}) == ["2"]
    assert ids({"term": {"o.deep.k.keyword": "v1"}}) == ["1"] and ids({"term": {"o.deep.k.keyword": "v2"}}) == ["2"]
    assert ids({"exists": {"field": "o.deep"}}) == ["1", "2"]
    assert ids({"match_phrase": {"o.a": "blue fox"}}) == ["2"]
    hits = client.search(index="obj", body={"sort": [{"o.n": "desc"}]})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["2", "1"]
    assert hits[0]["_source"] == {"o.a": "blue fox", "o.n": 7, "o.deep.k": "v2"}   # source kept as sent


def test_dynamic_false_keeps_unmapped_fields_in_source_only(client):
    mappings = {"dynamic": False, "properties": {"a": {"type": "keyword"}}}
    client.indices.create(index="dynf", body={"mappings": mappings})
    client.index(index="dynf", id="1", body={"a": "x", "b": "hidden", "c": {"d": 5}}, refresh=True)
    assert client.get(index="dynf", id="1")["_source"] == {"a": "x", "b": "hidden", "c": {"d": 5}}
    for query in ({"term": {"b": "hidden"}}, {"match": {"b": "hidden"}}, {"exists": {"field": "b"}},
                  {"range": {"c.d": {"gte": 0}}}, {"exists": {"field": "c"}}):
        assert client.search(index="dynf", body={"query": query})["hits"]["total"]["value"] == 0, query
    assert client.search(index="dynf", body={"query": {"term": {"a": "x"}}})["hits"]["total"]["value"] == 1
    assert client.indices.get_mapping(index="dynf")["dynf"]["mappings"] == {
        "dynamic": "false", "properties": {"a": {"type": "keyword"}}}
    hit = client.search(index="dynf", body={"_source": ["b"]})["hits"]["hits"][0]
    assert hit["_source"] == {"b": "hidden"}


def test_match_none(client):
    client.index(index="mn", id="1", body={"t": "a"}, refresh=True)
    response = client.search(index="mn", body={"query": {"match_none": {}}})
    assert response["hits"] == {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []}
    should = client.search(index="mn", body={"query": {"bool": {"should": [
        {"match_none": {"_name": "nothing"}}, {"match_all": {"_name": "all"}}]}}})["hits"]["hits"]
    assert [(h["_id"], h["_score"], h["matched_queries"]) for h in should] == [("1", 1.0, ["all"])]
    assert client.count(index="mn", body={"query": {"match_none": {}}})["count"] == 0


# ==================================================================================================
# pinsearch.connect

def test_connect_credentials_from_environment(monkeypatch):
    monkeypatch.setenv("OPENSEARCH_USERNAME", "alice")
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "s3cret")
    es = pinsearch.connect("https://search.example.com:9243")
    connection = es.transport.get_connection()
    assert connection.host == "https://search.example.com:9243"
    assert connection.http_auth == ("alice", "s3cret")
    assert connection.headers["authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    in_url = pinsearch.connect("http://bob:p%40ss@localhost:9200").transport.get_connection()
    assert in_url.http_auth == ("bob", "p@ss") and in_url.host == "http://localhost:9200"  # the URL wins
    monkeypatch.delenv("OPENSEARCH_USERNAME")
    anonymous = pinsearch.connect("http://localhost:9200").transport.get_connection()
    assert anonymous.http_auth is None and "authorization" not in anonymous.headers


def test_connect_relative_embedded_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    es = pinsearch.connect("embedded://rel/data")
    try:
        assert es.transport.get_connection().data_path == str(tmp_path / "rel" / "data")
        es.index(index="r", id="1", body={"t": "x"}, refresh=True)
        assert (tmp_path / "rel" / "data").is_dir()
        monkeypatch.chdir(tmp_path / "rel")   # a later working directory does not move the engine
        assert es.get(index="r", id="1")["_source"] == {"t": "x"}
    finally:
        pinsearch.close(es)
    again = pinsearch.connect("embedded://./data")  # same directory, seen from tmp_path/rel
    try:
        assert again.get(index="r", id="1")["found"]
    finally:
        pinsearch.close(again)


def test_values_a_field_type_cannot_take_fail_the_query(client):
    client.indices.create(index="bools", body={"mappings": {"properties": {"b": {"type": "boolean"},
                                                                            "k": {"type": "keyword"}}}})
    client.index(index="bools", id="1", body={"b": True, "k": "x"}, refresh=True)
    for query in ({"term": {"b": "maybe"}}, {"terms": {"b": ["true", "maybe"]}}):
        with pytest.raises(RequestError) as info:
            client.search(index="bools", body={"query": query})
        shard = info.value.info["error"]["failed_shards"][0]["reason"]
        assert shard["type"] == "query_shard_exception"
        assert shard["reason"] == "failed to create query: Can't parse boolean value [maybe], expected [true] or [false]"
        assert shard["caused_by"]["type"] == "illegal_argument_exception"
    assert client.search(index="bools", body={"query": {"term": {"b": "true"}}})["hits"]["total"]["value"] == 1
