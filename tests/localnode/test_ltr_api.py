"""LTR plugin through opensearch-py: stores, elements, sltr scoring, rescoring and ext.ltr_log.

Expected scores are computed here independently from the logged feature values, the way the
plugin's Java does it (float32 step by step), so the engine is checked against the spec, not
against itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from opensearchpy import ConflictError, NotFoundError, RequestError, TransportError

F = np.float32

DOCS = [
    ("d0", "rambo first blood", 1982, 10.0),
    ("d1", "rambo rambo", 1985, 500.0),
    ("d2", "rocky balboa", 2006, 100.0),
    ("d3", "first blood part two", 1985, 50.0),
    ("d4", "the last blood of rambo", 2019, 250.0),
    ("d5", "rocky", 1976, 900.0),
    ("d6", "blood diamond", 2006, 75.0),
    ("d7", "first man", 2018, 20.0),
]
ORDER = {doc_id: i for i, (doc_id, *_rest) in enumerate(DOCS)}

FEATURES = [
    {"name": "title_bm25", "params": ["keywords"], "template": {"match": {"title": "{{keywords}}"}}},
    {"name": "popularity", "params": [],
     "template": {"function_score": {"query": {"match_all": {}},
                                     "field_value_factor": {"field": "popularity", "missing": 0}}}},
    {"name": "recent", "params": [], "template": {"range": {"year": {"gte": 2000}}}},
    {"name": "year", "params": [],
     "template": {"function_score": {"query": {"match_all": {}}, "field_value_factor": {"field": "year"}}}},
]


@pytest.fixture
def ltr(client):
    client.indices.create(index="movies", body={"mappings": {"properties": {
        "title": {"type": "text"}, "year": {"type": "integer"}, "popularity": {"type": "float"}}}})
    for doc_id, title, year, popularity in DOCS:
        client.index(index="movies", id=doc_id, body={"title": title, "year": year, "popularity": popularity})
    client.indices.refresh(index="movies")
    client.plugins.ltr.create_default_store()
    client.plugins.ltr.create_featureset(id="movie_features", body={"featureset": {"features": FEATURES}})
    return client


def raw(client, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
    return client.transport.perform_request(method, path, body=body, params=params)


def logged(hit: dict, log_name: str) -> list[dict]:
    return hit["fields"]["_ltrlog"][0][log_name]


def vector(entries: list[dict]) -> np.ndarray:
    """A feature vector from a log entry list: absent value = feature did not match = 0.0."""
    return np.array([F(e["value"]) if "value" in e else F(0.0) for e in entries], dtype=np.float32)


def linear(weights: list[float], x: np.ndarray) -> np.float32:
    s = F(0.0)
    for w, v in zip(weights, x):
        s = F(s + F(F(w) * v))
    return s


def error_chain(exc: TransportError) -> list[str]:
    """Reasons from the outer error down; a search phase failure continues with its shard's failure."""
    reasons, node = [], exc.info["error"]
    while node:
        reasons.append(node["reason"])
        if node.get("type") == "search_phase_execution_exception" and node.get("failed_shards"):
            node = node["failed_shards"][0]["reason"]
        else:
            node = node.get("caused_by")
    return reasons


# ==================================================================================================
# Stores

def test_store_lifecycle_and_status_codes(client):
    ltr = client.plugins.ltr
    assert ltr.create_default_store() == {"acknowledged": True, "shards_acknowledged": True, "index": ".ltrstore"}
    with pytest.raises(RequestError) as info:
        ltr.create_default_store()
    assert info.value.info["error"]["type"] == "resource_already_exists_exception"
    assert ltr.create_store(store="mystore")["index"] == ".ltrstore_mystore"
    assert ltr.get_store(store="mystore") == {"exists": True}
    with pytest.raises(NotFoundError) as info:
        ltr.get_store(store="nope")
    assert info.value.info == {"exists": False}
    for reserved in ("feature", "features", "model", "models", "feature_sets"):
        with pytest.raises(RequestError) as info:
            ltr.create_store(store=reserved)
        assert "cannot be based on the words" in info.value.info["error"]["reason"]
    with pytest.raises(RequestError) as info:
        raw(client, "POST", "/_ltr")
    assert info.value.info["error"]["reason"] == "Updating a feature store is not yet supported."

    ltr.create_feature(id="f1", store="mystore", body={"feature": {"template": {"match_all": {}}}})
    stores = ltr.list_stores()["stores"]
    assert stores["_default_"] == {"store": "_default_", "index": ".ltrstore", "version": 2, "counts": {}}
    assert stores["mystore"]["counts"] == {"feature": 1}
    # Stores are hidden: not part of a plain _all search.
    assert client.count()["count"] == 0

    assert ltr.delete_store(store="mystore") == {"acknowledged": True}
    with pytest.raises(NotFoundError) as info:
        ltr.delete_store(store="mystore")
    assert info.value.info["error"]["type"] == "index_not_found_exception"
    with pytest.raises(RequestError) as info:
        ltr.create_feature(id="f1", store="mystore", body={"feature": {"template": {"match_all": {}}}})
    assert info.value.info["error"]["reason"] == \
        "Store [.ltrstore_mystore] does not exist, please create it first."


def test_featureset_crud(ltr):
    api = ltr.plugins.ltr
    body = {"featureset": {"features": FEATURES[:1]}}
    created = api.create_featureset(id="small", body=body)
    assert created["_id"] == "featureset-small" and created["result"] == "created" and created["forced_refresh"]
    with pytest.raises(ConflictError):
        api.create_featureset(id="small", body=body)
    updated = api.update_featureset(id="small", body={"featureset": {"features": FEATURES[:2]}})
    assert updated["result"] == "updated" and updated["_version"] == 2
    got = api.get_featureset(id="small")
    assert got["_source"]["name"] == "small" and got["_source"]["type"] == "featureset"
    assert [f["name"] for f in got["_source"]["featureset"]["features"]] == ["title_bm25", "popularity"]
    assert raw(ltr, "HEAD", "/_ltr/_featureset/small") is True
    assert raw(ltr, "HEAD", "/_ltr/_featureset/nope") is False
    with pytest.raises(NotFoundError) as info:
        api.get_featureset(id="nope")
    assert info.value.info == {"_index": ".ltrstore", "_id": "featureset-nope", "found": False}

    # The body must be wrapped in {"featureset": ...}; an inner name must match the URL.
    with pytest.raises(RequestError):
        api.create_featureset(id="bad", body={"features": FEATURES})
    with pytest.raises(RequestError) as info:
        api.create_featureset(id="bad", body={"featureset": {"name": "other", "features": FEATURES}})
    assert "Invalid [name], expected [bad] but got [other]" in str(error_chain(info.value))

    # Search by name prefix (a normal _search response over the store).
    found = api.search_featuresets(prefix="sm")
    assert [h["_id"] for h in found["hits"]["hits"]] == ["featureset-small"]
    assert found["hits"]["hits"][0]["_score"] > 0
    everything = api.search_featuresets()
    assert everything["hits"]["total"]["value"] == 2 and everything["hits"]["max_score"] == 0.0

    deleted = api.delete_featureset(id="small")
    assert deleted["result"] == "deleted"
    with pytest.raises(NotFoundError):
        api.get_featureset(id="small")
    with pytest.raises(NotFoundError):
        api.delete_featureset(id="small")


def test_models_are_not_updatable(ltr):
    api = ltr.plugins.ltr
    model = {"model": {"name": "m", "feature_set": {"name": "fs", "features": FEATURES[:2]},
                       "model": {"type": "model/linear", "definition": {"title_bm25": 1.0}}}}
    assert api.create_model(id="m", body=model)["result"] == "created"
    with pytest.raises(ConflictError):
        api.create_model(id="m", body=model)
    with pytest.raises(TransportError) as info:
        raw(ltr, "POST", "/_ltr/_model/m", body=model)
    assert info.value.status_code == 405
    assert info.value.info["error"]["reason"] == \
        "Element of type [model] are not updatable, please create a new one instead."
    got = api.get_model(id="m")
    assert got["_source"]["model"]["feature_set"]["name"] == "fs"
    # A bad definition is rejected at upload.
    bad = {"model": {"name": "b", "feature_set": {"name": "fs", "features": FEATURES[:2]},
                     "model": {"type": "model/linear", "definition": {"nope": 1.0}}}}
    with pytest.raises(RequestError) as info:
        api.create_model(id="b", body=bad)
    assert info.value.info["error"]["reason"] == "Error while parsing model [b] with type [model/linear]"
    assert api.delete_model(id="m")["result"] == "deleted"


def test_addfeatures_append_merge_and_query(ltr):
    api = ltr.plugins.ltr
    api.add_features_to_set(name="grow", body={"features": FEATURES[:2]})
    assert api.get_featureset(id="grow")["_version"] == 1
    with pytest.raises(RequestError) as info:
        api.add_features_to_set(name="grow", body={"features": [FEATURES[0]]})
    assert "defined twice in this set" in info.value.info["error"]["reason"]
    replacement = {"name": "title_bm25", "params": ["keywords"], "template": {"match_phrase": {"title": "{{keywords}}"}}}
    merged = api.add_features_to_set(name="grow", body={"features": [replacement, FEATURES[2]]}, merge=True)
    assert merged["result"] == "updated"
    features = api.get_featureset(id="grow")["_source"]["featureset"]["features"]
    assert [f["name"] for f in features] == ["title_bm25", "popularity", "recent"]
    assert "match_phrase" in features[0]["template"]

    for feature in FEATURES:
        api.create_feature(id="std_" + feature["name"], body={"feature": {**feature, "name": "std_" + feature["name"]}})
    api.add_features_to_set_by_query(name="from_store", query="std_*")
    names = [f["name"] for f in api.get_featureset(id="from_store")["_source"]["featureset"]["features"]]
    assert names == ["std_" + f["name"] for f in FEATURES]
    with pytest.raises(RequestError) as info:
        api.add_features_to_set_by_query(name="from_store", query="zzz*")
    assert info.value.info["error"]["reason"] == "The feature query [zzz*] returned no features"
    with pytest.raises(RequestError) as info:
        raw(ltr, "POST", "/_ltr/_featureset/x/_addfeatures/std_year", body={"features": FEATURES[:1]})
    assert "not both" in info.value.info["error"]["reason"]


def test_createmodel_copies_the_set(ltr):
    api = ltr.plugins.ltr
    definition = {"type": "model/linear", "definition": {"title_bm25": 1.0, "popularity": 0.5}}
    with pytest.raises(RequestError) as info:
        api.create_model_from_set(name="movie_features", body={"model": {"name": "v", "model": definition}},
                                  params={"version": 7})
    assert info.value.info["error"]["reason"] == \
        "Stored feature set [movie_features] has version [1] but [7] was expected."
    created = api.create_model_from_set(name="movie_features", body={"model": {"name": "v", "model": definition}},
                                        params={"version": 1})
    assert created["_id"] == "model-v" and created["result"] == "created"
    api.update_featureset(id="movie_features", body={"featureset": {"features": FEATURES[:1]}})
    copied = api.get_model(id="v")["_source"]["model"]["feature_set"]
    assert [f["name"] for f in copied["features"]] == [f["name"] for f in FEATURES]
    with pytest.raises(TransportError) as info:   # the set changed: the new copy has only title_bm25
        api.create_model_from_set(name="movie_features", body={"model": {"name": "v", "model": {
            "type": "model/linear", "definition": {"title_bm25": 1.0}}}})
    assert info.value.status_code == 405
    with pytest.raises(RequestError) as info:
        api.create_model_from_set(name="nope", body={"model": {"name": "w", "model": definition}})
    assert info.value.info["error"]["reason"] == "Stored feature set [nope] does not exist"


def test_validation_runs_the_element_before_storing(ltr):
    api = ltr.plugins.ltr
    good = {"featureset": {"features": FEATURES}, "validation": {"index": "movies", "params": {"keywords": "rambo"}}}
    assert api.create_featureset(id="checked", body=good)["result"] == "created"
    bad = {"featureset": {"features": FEATURES}, "validation": {"index": "movies", "params": {}}}
    with pytest.raises(RequestError) as info:
        api.create_featureset(id="unchecked", body=bad)
    chain = error_chain(info.value)
    assert chain[0] == "Cannot store element, validation failed."
    assert chain[-1] == "Missing required param(s): [keywords]"
    with pytest.raises(NotFoundError):
        api.get_featureset(id="unchecked")


# ==================================================================================================
# sltr scoring

LINEAR = {"title_bm25": 1.5, "popularity": 0.25, "recent": 0.75, "year": 0.125}
NORMALIZERS = {"popularity": {"min_max": {"minimum": 0, "maximum": 1000}},
               "year": {"standard": {"mean": 1995.0, "standard_deviation": 15.0}}}


def normalise(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[1] = F(F(x[1] - F(0.0)) / F(F(1000.0) - F(0.0)))
    out[3] = F(F(x[3] - F(1995.0)) / F(15.0))
    return out


def test_linear_model_rescore_equals_logged_vector_and_reorders_window(ltr):
    ltr.plugins.ltr.create_model_from_set(name="movie_features", body={"model": {"name": "lin", "model": {
        "type": "model/linear", "definition": LINEAR, "feature_normalizers": NORMALIZERS}}})
    query = {"match": {"title": "rambo blood first"}}
    first = ltr.search(index="movies", body={"query": query, "size": 20})["hits"]["hits"]
    first_scores = {h["_id"]: F(h["_score"]) for h in first}
    window, qw, rqw = 3, 0.7, 1.3
    body = {"query": query, "size": 20,
            "rescore": {"window_size": window, "query": {
                "rescore_query": {"sltr": {"model": "lin", "params": {"keywords": "rambo"}}},
                "query_weight": qw, "rescore_query_weight": rqw}},
            "ext": {"ltr_log": {"log_specs": {"name": "log", "rescore_index": 0}}}}
    hits = ltr.search(index="movies", body=body)["hits"]["hits"]
    assert {h["_id"] for h in hits} == set(first_scores)

    model_scores = {}
    for hit in hits:
        x = vector(logged(hit, "log"))
        model_scores[hit["_id"]] = linear(list(LINEAR.values()), normalise(x))
        # Logged values are the raw feature values: the popularity feature is the field itself.
        assert x[1] == F(dict((d, p) for d, _, _, p in DOCS)[hit["_id"]])

    # Reference §1.6, computed here: window by first-pass rank, combine, re-sort everything.
    ranked = sorted(first_scores, key=lambda d: (-float(first_scores[d]), ORDER[d]))
    expected = {}
    for rank, doc_id in enumerate(ranked):
        base = F(F(qw) * first_scores[doc_id])
        expected[doc_id] = F(base + F(F(rqw) * model_scores[doc_id])) if rank < window else base
    expected_order = sorted(expected, key=lambda d: (-float(expected[d]), ORDER[d]))
    assert [h["_id"] for h in hits] == expected_order
    for hit in hits:
        assert F(hit["_score"]) == expected[hit["_id"]], hit["_id"]


def test_featureset_only_sltr_is_the_sum_of_features_and_filter_sltr_is_matched(ltr):
    body = {"query": {"bool": {
        "filter": [{"terms": {"_id": ["d0", "d2", "d4", "d7"]}},
                   {"sltr": {"_name": "logged", "featureset": "movie_features", "params": {"keywords": "rambo"}}}],
        "must": [{"sltr": {"_name": "scored", "featureset": "movie_features", "params": {"keywords": "rambo"}}}]}},
        "ext": {"ltr_log": {"log_specs": [{"named_query": "logged"}, {"name": "s", "named_query": "scored"}]}}}
    hits = ltr.search(index="movies", body=body)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == ["d0", "d2", "d4", "d7"]
    for hit in hits:
        x = vector(logged(hit, "logged"))
        assert F(hit["_score"]) == linear([1.0] * len(FEATURES), x)
        assert logged(hit, "s") == logged(hit, "logged")
        assert set(hit["matched_queries"]) == {"logged", "scored"}
    by_id = {h["_id"]: logged(h, "logged") for h in hits}
    assert "value" not in by_id["d2"][0]                          # "rambo" not in "rocky balboa"
    assert by_id["d2"][2] == {"name": "recent", "value": 1.0}     # 2006 >= 2000
    assert "value" not in by_id["d0"][2]


def test_sltr_boost_multiplies_feature_values(ltr):
    def score(boost: float) -> float:
        body = {"query": {"bool": {"filter": [{"ids": {"values": ["d4"]}}],
                                   "must": [{"sltr": {"featureset": "movie_features", "boost": boost,
                                                      "params": {"keywords": "rambo"}, "active_features": ["popularity"]}}]}}}
        return ltr.search(index="movies", body=body)["hits"]["hits"][0]["_score"]
    assert score(1.0) == 250.0 and score(2.0) == 500.0


def test_missing_params_error(ltr):
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={"query": {"sltr": {"featureset": "movie_features", "params": {}}}})
    assert info.value.info["error"]["type"] == "search_phase_execution_exception"
    assert error_chain(info.value)[-1] == "Missing required param(s): [keywords]"
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={"query": {"sltr": {"featureset": "movie_features"}}})
    assert info.value.info["error"]["reason"] == "Field [params] is mandatory."
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={"query": {"sltr": {"params": {}}}})
    assert info.value.info["error"]["reason"] == "Either [model] or [featureset] must be set."
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={"query": {"sltr": {"model": "nope", "params": {}}}})
    assert error_chain(info.value)[-1] == "Unknown model [nope]"


def test_injection_in_params_does_not_change_the_query(ltr):
    payload = '"} , "match_all": {'
    body = {"query": {"bool": {"filter": [{"match_all": {}},
                                          {"sltr": {"_name": "x", "featureset": "movie_features",
                                                    "params": {"keywords": payload}, "active_features": "title_bm25"}}]}},
            "size": 20, "ext": {"ltr_log": {"log_specs": {"named_query": "x"}}}}
    hits = ltr.search(index="movies", body=body)["hits"]["hits"]
    direct = ltr.search(index="movies", body={"query": {"match": {"title": payload}}, "size": 20})["hits"]["hits"]
    direct_scores = {h["_id"]: F(h["_score"]) for h in direct}
    assert len(hits) == len(DOCS)
    for hit in hits:
        entry = logged(hit, "x")[0]
        if hit["_id"] in direct_scores:
            assert F(entry["value"]) == direct_scores[hit["_id"]]
        else:
            assert "value" not in entry   # a match_all would have given every doc a value


def test_active_features_and_missing_as_zero(ltr):
    body = {"query": {"bool": {"filter": [{"ids": {"values": ["d2"]}},
                                          {"sltr": {"_name": "x", "featureset": "movie_features",
                                                    "params": {"keywords": "rambo"},
                                                    "active_features": ["popularity", "recent"]}}]}},
            "ext": {"ltr_log": {"log_specs": [{"name": "plain", "named_query": "x"},
                                              {"name": "zeros", "named_query": "x", "missing_as_zero": True}]}}}
    hit = ltr.search(index="movies", body=body)["hits"]["hits"][0]
    assert logged(hit, "plain") == [{"name": "title_bm25"}, {"name": "popularity", "value": 100.0},
                                    {"name": "recent", "value": 1.0}, {"name": "year"}]
    assert logged(hit, "zeros") == [{"name": "title_bm25", "value": 0.0}, {"name": "popularity", "value": 100.0},
                                    {"name": "recent", "value": 1.0}, {"name": "year", "value": 0.0}]
    body["query"]["bool"]["filter"][1]["sltr"]["active_features"] = ["nope"]
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body=body)
    assert error_chain(info.value)[-1] == "Feature: [nope] provided in active_features does not exist"


def test_logging_errors(ltr):
    base = {"query": {"bool": {"filter": [{"match_all": {"_name": "all"}},
                                          {"sltr": {"_name": "x", "featureset": "movie_features",
                                                    "params": {"keywords": "a"}}}]}}}
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={**base, "ext": {"ltr_log": {"log_specs": {"named_query": "y"}}}})
    assert error_chain(info.value)[-1] == "No query named [y] found"
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={**base, "ext": {"ltr_log": {"log_specs": {"named_query": "all"}}}})
    assert error_chain(info.value)[-1] == "Query named [all] must be a [sltr] query [MatchAllDocsQuery] found"
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={**base, "ext": {"ltr_log": {"log_specs": {"rescore_index": 0}}}})
    assert error_chain(info.value)[-1] == \
        "rescore index [0] is out of bounds, only [0] rescore context(s) are available"
    # The plugin's quirk: with no named query at all in the main query, named specs are skipped silently.
    quiet = ltr.search(index="movies", body={"query": {"match_all": {}},
                                            "ext": {"ltr_log": {"log_specs": {"named_query": "y"}}}})
    assert quiet["hits"]["hits"] and all("fields" not in h for h in quiet["hits"]["hits"])
    with pytest.raises(RequestError) as info:
        ltr.search(index="movies", body={**base, "ext": {"ltr_log": {"log_specs": {"name": "n"}}}})
    assert "Either [named_query] or [rescore_index] must be set." in str(error_chain(info.value))


# ==================================================================================================
# XGBoost

TREES = [
    {"nodeid": 0, "depth": 0, "split": "title_bm25", "split_condition": 0.5, "yes": 1, "no": 2, "missing": 1,
     "children": [
         {"nodeid": 1, "depth": 1, "split": "popularity", "split_condition": 100.0, "yes": 3, "no": 4, "missing": 3,
          "children": [{"nodeid": 3, "leaf": 0.125}, {"nodeid": 4, "leaf": 0.875}]},
         {"nodeid": 2, "leaf": 1.5}]},
    {"nodeid": 0, "depth": 0, "split": "year", "split_condition": 2000.0, "yes": 1, "no": 2,
     "children": [{"nodeid": 1, "leaf": -0.25}, {"nodeid": 2, "leaf": 0.3}]},
]


def tree_eval(node: dict, names: list[str], x: np.ndarray) -> np.float32:
    while "leaf" not in node:
        value = x[names.index(node["split"])]
        node = node["children"][0] if value < F(node["split_condition"]) else node["children"][1]
    return F(node["leaf"])


def test_xgboost_model_scores_like_the_trees(ltr):
    ltr.plugins.ltr.create_model_from_set(name="movie_features", body={"model": {"name": "xgb", "model": {
        "type": "model/xgboost+json", "definition": {"objective": "reg:logistic", "splits": TREES}}}})
    names = [f["name"] for f in FEATURES]
    body = {"query": {"bool": {"filter": [{"match_all": {}}],
                               "must": [{"sltr": {"_name": "m", "model": "xgb", "params": {"keywords": "rambo"}}}]}},
            "size": 20, "ext": {"ltr_log": {"log_specs": {"named_query": "m"}}}}
    hits = ltr.search(index="movies", body=body)["hits"]["hits"]
    assert len(hits) == len(DOCS)
    for hit in hits:
        x = vector(logged(hit, "m"))
        total = F(0.0)
        for tree in TREES:
            total = F(total + tree_eval(tree, names, x))
        assert F(hit["_score"]) == F(1.0 / (1.0 + math.exp(-float(total)))), hit["_id"]


# ==================================================================================================
# Aliases, caches, stats

def test_sltr_through_an_alias(ltr):
    ltr.indices.put_alias(index="movies", name="films")
    body = {"query": {"match": {"title": "blood"}},
            "rescore": {"window_size": 10, "query": {"rescore_query": {
                "sltr": {"featureset": "movie_features", "params": {"keywords": "blood"}}}}},
            "ext": {"ltr_log": {"log_specs": {"rescore_index": 0}}}}
    via_alias = ltr.search(index="films", body=body)["hits"]["hits"]
    direct = ltr.search(index="movies", body=body)["hits"]["hits"]
    assert [(h["_id"], h["_score"], h["fields"]) for h in via_alias] == \
        [(h["_id"], h["_score"], h["fields"]) for h in direct]
    assert via_alias and "rescore[0]" in via_alias[0]["fields"]["_ltrlog"][0]


def test_caches_and_stats(ltr):
    api = ltr.plugins.ltr
    body = {"query": {"sltr": {"featureset": "movie_features", "params": {"keywords": "rambo"}}}}
    ltr.search(index="movies", body=body)
    ltr.search(index="movies", body=body)
    stats = api.cache_stats()
    assert stats["all"]["featuresets"]["count"] == 1 and stats["stores"][".ltrstore"]["total"]["count"] == 1
    node_stats = api.stats()
    node = next(iter(node_stats["nodes"].values()))
    assert node["cache"]["featureset"]["hit_count"] == 1 and node["cache"]["featureset"]["miss_count"] == 1
    assert node["request_total_count"] == 2 and node["request_error_count"] == 0
    assert node_stats["stores"][".ltrstore"] == {"status": "green", "feature_count": 4, "featureset_count": 1,
                                                 "model_count": 0}
    assert node_stats["status"] == "green"
    assert api.clear_cache() == {"acknowledged": True}
    assert api.cache_stats()["all"]["total"]["count"] == 0
    assert set(api.stats(stat="status")) == {"_nodes", "cluster_name", "status", "nodes"}
    with pytest.raises(RequestError) as info:
        api.stats(stat="nope")
    assert "contains unrecognized stat: [nope]" in info.value.info["error"]["reason"]
    # Other plugin APIs stay refused as unsupported.
    with pytest.raises(RequestError) as info:
        raw(ltr, "GET", "/_plugins/_security/api/roles")
    assert "not supported by the embedded engine" in info.value.info["error"]["reason"]


def test_rescore_only_evaluates_the_window(ltr, monkeypatch):
    """A rescore asks the sltr weight for the window's docs only (matches_in), never the whole index."""
    from localnode.ltr import sltr
    seen: list[int] = []
    original = sltr.SltrWeight.vectors

    def spy(self, ctx, docs, *, dense):
        seen.append(len(docs))
        return original(self, ctx, docs, dense=dense)
    monkeypatch.setattr(sltr.SltrWeight, "vectors", spy)
    body = {"query": {"match_all": {}}, "size": 2,
            "rescore": {"window_size": 3, "query": {"rescore_query": {
                "sltr": {"featureset": "movie_features", "params": {"keywords": "x"}}}}}}
    ltr.search(index="movies", body=body)
    assert seen == [3]


def test_derived_feature_cache_flag_and_explain(ltr):
    derived = {"name": "mix", "params": ["w"], "template_language": "derived_expression",
               "template": "title_bm25 * w + popularity / 1000"}
    ltr.plugins.ltr.add_features_to_set(name="movie_features", body={"features": [derived]})
    sltr = {"_name": "m", "featureset": "movie_features", "params": {"keywords": "rambo", "w": 2}}
    body = {"query": {"bool": {"filter": [{"ids": {"values": ["d0", "d1", "d2"]}}, {"sltr": sltr}]}},
            "ext": {"ltr_log": {"log_specs": {"named_query": "m"}}}}
    plain = ltr.search(index="movies", body=body)["hits"]["hits"]
    for hit in plain:
        x = vector(logged(hit, "m"))   # evaluated in double, cast to float, as Lucene expressions do
        assert x[4] == F(float(x[0]) * 2 + float(x[1]) / 1000)
    body["query"]["bool"]["filter"][1]["sltr"]["cache"] = True
    cached = ltr.search(index="movies", body=body)["hits"]["hits"]
    assert [h["fields"] for h in cached] == [h["fields"] for h in plain]

    explained = ltr.search(index="movies", body={"query": {"sltr": {
        "featureset": "movie_features", "params": {"keywords": "rambo", "w": 2}}}, "size": 1, "explain": True})
    hit = explained["hits"]["hits"][0]
    explanation = hit["_explanation"]
    assert explanation["description"] == " LtrModel: linear using features:"
    assert F(explanation["value"]) == F(hit["_score"])
    assert [d["description"].split(":")[0] for d in explanation["details"]] == \
        [f"Feature {i}({f})" for i, f in enumerate(["title_bm25", "popularity", "recent", "year", "mix"])]


def test_sltr_with_a_named_store(ltr):
    api = ltr.plugins.ltr
    api.create_store(store="other")
    api.create_featureset(id="pop_only", store="other", body={"featureset": {"features": [FEATURES[1]]}})
    body = {"query": {"bool": {"filter": [{"ids": {"values": ["d5"]}}],
                               "must": [{"sltr": {"store": "other", "featureset": "pop_only", "params": {}}}]}}}
    assert ltr.search(index="movies", body=body)["hits"]["hits"][0]["_score"] == 900.0
    body["query"]["bool"]["must"][0]["sltr"]["store"] = "missing"
    with pytest.raises(RequestError) as info:   # query_shard_exception around the cache's IOException
        ltr.search(index="movies", body=body)
    assert error_chain(info.value)[1:] == [
        "failed to create query: [.ltrstore_missing] IndexNotFoundException[no such index [.ltrstore_missing]]",
        "[.ltrstore_missing] IndexNotFoundException[no such index [.ltrstore_missing]]",
        "no such index [.ltrstore_missing]"]
    assert api.get_store(store="other") == {"exists": True}


def test_mustache_to_json_and_join_through_sltr(ltr):
    """``{{#toJson}}`` and ``{{#join}}`` rendered inside real sltr features, values logged via ext.ltr_log.

    Expected values come from the BM25 formulas over the movie titles (standard analyzer: 21 tokens,
    8 docs), not from the engine."""
    from tests.localnode.bm25_reference import bm25, double_sum
    features = [
        {"name": "tags_terms", "params": ["words"],
         "template": '{"terms": {"title": {{#toJson}}words{{/toJson}}, "boost": 2.5}}'},
        {"name": "joined", "params": ["words"], "template": {"match": {"title": "{{#join}}words{{/join}}"}}},
        {"name": "joined_and", "params": ["pair"],
         "template": {"match": {"title": {"query": "{{#join delimiter=' '}}pair{{/join delimiter=' '}}",
                                          "operator": "and"}}}},
    ]
    ltr.plugins.ltr.create_featureset(id="mustache_fs", body={"featureset": {"features": features}})
    params = {"words": ["rambo", "rocky"], "pair": ["first", "blood"]}
    body = {"size": 20, "query": {"bool": {"filter": [
        {"match_all": {}}, {"sltr": {"_name": "m", "featureset": "mustache_fs", "params": params}}]}},
        "ext": {"ltr_log": {"log_specs": {"name": "log", "named_query": "m"}}}}
    hits = {h["_id"]: logged(h, "log") for h in ltr.search(index="movies", body=body)["hits"]["hits"]}
    assert len(hits) == len(DOCS)
    total, n = 21, 8
    dl = {doc_id: len(title.split()) for doc_id, title, *_ in DOCS}
    rambo = {d: bm25(tf, dl[d], total, n, 3) for d, tf in (("d0", 1), ("d1", 2), ("d4", 1))}
    rocky = {d: bm25(1, dl[d], total, n, 2) for d in ("d2", "d5")}
    first_blood = {d: double_sum(bm25(1, dl[d], total, n, 3), bm25(1, dl[d], total, n, 4)) for d in ("d0", "d3")}
    for doc_id, entries in hits.items():
        values = {e["name"]: F(e["value"]) for e in entries if "value" in e}
        expected = {}
        if doc_id in rambo or doc_id in rocky:
            expected["tags_terms"] = F(2.5)
            expected["joined"] = rambo.get(doc_id, rocky.get(doc_id))
        if doc_id in first_blood:
            expected["joined_and"] = first_blood[doc_id]
        assert values == expected, doc_id
        assert [e["name"] for e in entries] == ["tags_terms", "joined", "joined_and"]
    # the featureset's implicit linear model: the sltr score is the float32 sum of the feature values
    scored = ltr.search(index="movies", body={"query": {"bool": {
        "filter": [{"ids": {"values": ["d0"]}}],
        "must": [{"sltr": {"featureset": "mustache_fs", "params": params}}]}}})["hits"]["hits"][0]
    assert F(scored["_score"]) == linear([1, 1, 1], np.array([F(2.5), rambo["d0"], first_blood["d0"]], dtype=F))
