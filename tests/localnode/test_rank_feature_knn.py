"""rank_feature, knn and script_score (lang knn) through opensearch-py, against OpenSearch 2.19 numbers.

rank_feature scores must equal the reference test vectors bit for bit (float32); k-NN scores are
checked against the §2.3/§2.4 formulas computed independently in numpy, with a 1-ulp-ish tolerance
where the summation order can differ (the reference says to compare those with a tolerance).
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np
import pytest
from opensearchpy import RequestError, helpers

import pinsearch

F = np.float32
RTOL = 2e-6


# -- fixtures and helpers --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def es(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    client = pinsearch.connect(f"embedded://{tmp_path_factory.mktemp('rfknn') / 'data'}")
    try:
        yield client
    finally:
        pinsearch.close(client)


def create(es: Any, name: str, properties: dict[str, Any], knn: bool | None = None) -> None:
    settings: dict[str, Any] = {"index.refresh_interval": "-1"}
    if knn is not None:
        settings["index.knn"] = knn
    es.indices.create(index=name, body={"settings": settings, "mappings": {"properties": properties}})


def load(es: Any, name: str, docs: dict[str, dict[str, Any]]) -> None:
    helpers.bulk(es, ({"_index": name, "_id": doc_id, **body} for doc_id, body in docs.items()))
    es.indices.refresh(index=name)


def hits(es: Any, index: str, query: dict[str, Any], size: int = 100) -> dict[str, np.float32]:
    response = es.search(index=index, body={"query": query, "size": size})
    return {hit["_id"]: F(hit["_score"]) for hit in response["hits"]["hits"]}


def total(es: Any, index: str, query: dict[str, Any]) -> int:
    return es.search(index=index, body={"query": query, "size": 0})["hits"]["total"]["value"]


def error(es: Any, index: str, query: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(RequestError) as info:
        es.search(index=index, body={"query": query})
    assert info.value.status_code == 400
    return info.value.info["error"]


def shard_reason(err: dict[str, Any]) -> str:
    """The per-shard cause text (search_phase_execution_exception -> query_shard_exception -> cause)."""
    cause = err["failed_shards"][0]["reason"]
    assert cause["type"] == "query_shard_exception"
    return cause["caused_by"]["reason"]


def nine_bits(value: float) -> np.float32:
    """FeatureField encoding: float bits >>> 15, decoded back (9 significant bits)."""
    bits = np.array([value], dtype=F).view(np.int32) >> 15
    return (bits << 15).view(F)[0]


# -- rank_feature: the reference test vectors --------------------------------------------------------
VALUES = [1, 10, 25, 50, 100, 250, 500]
SATURATION = [0.024169207, 0.19851118, 0.38240916, 0.5532503, 0.71237755, 0.86095566, 0.9252834]


@pytest.fixture(scope="module")
def features(es: Any) -> str:
    create(es, "rf", {"pr": {"type": "rank_feature"},
                      "neg": {"type": "rank_feature", "positive_score_impact": False},
                      "teens": {"type": "rank_features"}, "kw": {"type": "keyword"}})
    docs: dict[str, dict[str, Any]] = {f"v{v}": {"pr": v} for v in VALUES}
    docs.update({"t1": {"teens": {"a": 25.9}}, "t2": {"teens": {"a": 10}},
                 "n2": {"neg": 2}, "n4": {"neg": 4}, "n10": {"neg": 10}, "none": {"kw": "x"}})
    load(es, "rf", docs)
    return "rf"


def test_default_saturation_matches_reference_vector(es: Any, features: str) -> None:
    got = hits(es, features, {"rank_feature": {"field": "pr"}})
    assert got == {f"v{v}": F(s) for v, s in zip(VALUES, SATURATION)}
    # the pivot the scores came from (explain shows k) is the reference's 40.375
    response = es.search(index=features, body={"query": {"rank_feature": {"field": "pr"}}, "explain": True, "size": 1})
    explanation = response["hits"]["hits"][0]["_explanation"]
    details = {d["description"].split(",")[0]: d["value"] for d in explanation["details"]}
    assert details["k"] == 40.375
    assert hits(es, features, {"rank_feature": {"field": "pr", "saturation": {"pivot": 40.375}}}) == got


def test_log_and_rank_features_reference_vectors(es: Any, features: str) -> None:
    assert hits(es, features, {"rank_feature": {"field": "pr", "log": {"scaling_factor": 2}}})["v1"] == F(1.0986123)
    got = hits(es, features, {"rank_feature": {"field": "teens.a"}})
    assert got == {"t1": F(0.6258503), "t2": F(0.39263803)}
    # pivot 15.46875 = decode((int) mean of the encoded values)
    explicit = hits(es, features, {"rank_feature": {"field": "teens.a", "saturation": {"pivot": 15.46875}}})
    assert explicit == got


def test_sigmoid_linear_and_explicit_pivot_formulas(es: Any, features: str) -> None:
    s = {f"v{v}": nine_bits(v) for v in VALUES}
    k, a, w = F(30.5), F(0.7), F(2.0)
    sigmoid = hits(es, features, {"rank_feature": {"field": "pr", "sigmoid": {"pivot": 30.5, "exponent": 0.7},
                                                   "boost": 2}})
    pka = math.pow(float(k), float(a))
    assert sigmoid == {d: F(float(w) * (1 - pka / (math.pow(float(v), float(a)) + pka))) for d, v in s.items()}
    linear = hits(es, features, {"rank_feature": {"field": "pr", "linear": {}, "boost": 2}})
    assert linear == {d: F(w * v) for d, v in s.items()}
    pivot = hits(es, features, {"rank_feature": {"field": "pr", "saturation": {"pivot": 20}, "boost": 2}})
    assert pivot == {d: F(w * (F(1) - F(20) / (v + F(20)))) for d, v in s.items()}
    log = hits(es, features, {"rank_feature": {"field": "pr", "log": {"scaling_factor": 3.5}}})
    assert log == {d: F(math.log(float(F(F(3.5) + v)))) for d, v in s.items()}


def test_nine_bit_truncation_and_negative_impact(es: Any, features: str) -> None:
    linear = hits(es, features, {"rank_feature": {"field": "teens.a", "linear": {}}})
    assert linear["t1"] == F(25.875) and linear["t2"] == F(10.0)
    negative = hits(es, features, {"rank_feature": {"field": "neg", "linear": {}}})
    assert negative == {f"n{v}": nine_bits(float(F(1) / F(v))) for v in (2, 4, 10)}
    assert negative["n2"] > negative["n4"] > negative["n10"]  # smaller values rank higher


def test_matching_unmapped_and_bool_composition(es: Any, features: str) -> None:
    assert hits(es, features, {"rank_feature": {"field": "nope"}}) == {}
    assert hits(es, features, {"rank_feature": {"field": "teens.never_indexed"}}) == {}
    should = hits(es, features, {"bool": {"must": [{"match_all": {}}],
                                          "should": [{"rank_feature": {"field": "pr", "linear": {}}}]}})
    assert should["none"] == F(1.0) and should["v10"] == F(1.0) + nine_bits(10)
    must = hits(es, features, {"bool": {"must": [{"rank_feature": {"field": "pr", "linear": {}}}]}})
    assert set(must) == {f"v{v}" for v in VALUES}


def test_rank_feature_errors(es: Any, features: str) -> None:
    err = error(es, features, {"rank_feature": {"field": "pr", "log": {"scaling_factor": 2}, "linear": {}}})
    assert err["type"] == "x_content_parse_exception"
    assert err["caused_by"]["reason"] == "Can only specify one of [log], [saturation], [sigmoid] and [linear]"
    err = error(es, features, {"rank_feature": {"field": "neg", "log": {"scaling_factor": 2}}})
    assert shard_reason(err) == ("Cannot use the [log] function with a field that has a negative score impact "
                                 "as it would trigger negative scores")
    err = error(es, features, {"rank_feature": {"field": "kw"}})
    assert shard_reason(err) == ("[rank_feature] query only works on [rank_feature] fields and features of "
                                 "[rank_features] fields, not [keyword]")
    err = error(es, features, {"rank_feature": {"field": "pr", "sigmoid": {"pivot": 2}}})
    assert err["caused_by"]["reason"] == "Required [exponent]"
    err = error(es, features, {"rank_feature": {"field": "pr", "saturation": {"pivot": -1}}})
    assert shard_reason(err) == "pivot must be > 0, got: -1.0"
    err = error(es, features, {"term": {"pr": 10}})  # rank_feature fields take no term queries
    assert "rank_feature" in str(err)


# -- knn -------------------------------------------------------------------------------------------
RNG = np.random.default_rng(7)
DIM = 4
Q = [0.25, -0.5, 0.75, 0.125]


def knn_scores(space: str, q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """§2.3 / §2.4 formulas, float32, written independently of localnode.knn.spaces."""
    q = q.astype(F)
    v = v.astype(F)
    if space == "l2":
        return F(1) / (F(1) + ((v - q) ** 2).sum(axis=1, dtype=F))
    if space == "l1":
        return F(1) / (F(1) + np.abs(v - q).sum(axis=1, dtype=F))
    if space == "linf":
        return F(1) / (F(1) + np.abs(v - q).max(axis=1))
    if space == "innerproduct":
        dot = (v @ q).astype(F)
        return np.where(dot < 0, F(1) / (F(1) - dot), dot + F(1)).astype(F)
    cos = (v @ q).astype(np.float64) / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    return np.maximum((1 + cos) / 2, 0).astype(F)


def vector_index(es: Any, name: str, space: str, engine: str, n: int = 60, knn: bool = True) -> np.ndarray:
    field: dict[str, Any] = {"type": "knn_vector", "dimension": DIM}
    if knn:
        field["method"] = {"name": "hnsw", "engine": engine, "space_type": space}
    else:
        field["space_type"] = space
    create(es, name, {"vec": field, "tag": {"type": "keyword"}, "body": {"type": "text"}}, knn=knn)
    vectors = RNG.standard_normal((n, DIM)).astype(F)
    load(es, name, {str(i): {"vec": vectors[i].tolist(), "tag": "a" if i % 20 == 0 else "b",
                             "body": "hello" if i % 3 == 0 else "other"} for i in range(n)})
    return vectors


@pytest.mark.parametrize("space,engine", [("l2", "faiss"), ("innerproduct", "faiss"), ("cosinesimil", "faiss"),
                                          ("l2", "lucene"), ("cosinesimil", "lucene"), ("l1", "nmslib"),
                                          ("linf", "nmslib")])
def test_knn_scores_follow_the_space_formula(es: Any, space: str, engine: str) -> None:
    name = f"sp-{space}-{engine}"
    vectors = vector_index(es, name, space, engine)
    expected = knn_scores(space, np.array(Q, F), vectors)
    top = np.lexsort((np.arange(len(expected)), -expected))[:5]
    got = hits(es, name, {"knn": {"vec": {"vector": Q, "k": 5, "boost": 3}}})
    assert list(got) == [str(i) for i in top]
    np.testing.assert_allclose([got[str(i)] for i in top], expected[top] * F(3), rtol=RTOL)


def test_filter_is_applied_before_top_k(es: Any) -> None:
    vectors = vector_index(es, "filtered", "l2", "faiss", n=2000)  # one 2,000-vector segment
    # below the 15,000 default threshold a segment has no graph; 0 makes this one go through HNSW
    es.indices.put_settings(index="filtered", body={"index.knn.advanced.approximate_threshold": 0})
    allowed = np.flatnonzero(np.arange(2000) % 20 == 0)            # 5 % of the docs
    expected = knn_scores("l2", np.array(Q, F), vectors[allowed])
    best = allowed[np.argsort(-expected, kind="stable")[:10]]
    got = hits(es, "filtered", {"knn": {"vec": {"vector": Q, "k": 10, "filter": {"term": {"tag": "a"}}}}})
    assert set(got) == {str(i) for i in best}
    # unfiltered, this segment goes through the HNSW graph: scores are still exact, recall ~100 %
    everything = knn_scores("l2", np.array(Q, F), vectors)
    ann = hits(es, "filtered", {"knn": {"vec": {"vector": Q, "k": 10}}})
    assert len(set(ann) & {str(i) for i in np.argsort(-everything, kind="stable")[:10]}) >= 9
    np.testing.assert_allclose([ann[d] for d in ann], everything[[int(d) for d in ann]], rtol=RTOL)
    # a bool filter around knn post-filters the unfiltered top 10 instead: (almost) nothing is left
    post = hits(es, "filtered", {"bool": {"must": [{"knn": {"vec": {"vector": Q, "k": 10}}}],
                                          "filter": [{"term": {"tag": "a"}}]}})
    assert len(post) < 10


def test_k_applies_per_segment_for_faiss_and_per_shard_for_lucene(es: Any) -> None:
    for engine in ("faiss", "lucene"):
        name = f"segments-{engine}"
        create(es, name, {"vec": {"type": "knn_vector", "dimension": DIM,
                                  "method": {"name": "hnsw", "engine": engine, "space_type": "l2"}}}, knn=True)
        vectors = RNG.standard_normal((200, DIM)).astype(F)
        load(es, name, {str(i): {"vec": vectors[i].tolist()} for i in range(100)})
        load(es, name, {str(i): {"vec": vectors[i].tolist()} for i in range(100, 200)})  # second segment
        scores = knn_scores("l2", np.array(Q, F), vectors)
        order = np.argsort(-scores, kind="stable")
        got = hits(es, name, {"knn": {"vec": {"vector": Q, "k": 5}}})
        if engine == "faiss":
            per_segment = {str(i) for part in (order[order < 100], order[order >= 100]) for i in part[:5]}
            assert set(got) == per_segment and len(got) == 10
            rescored = hits(es, name, {"knn": {"vec": {"vector": Q, "k": 5, "rescore": {"oversample_factor": 2}}}})
            assert set(rescored) == {str(i) for i in order[:5]}
        else:
            assert set(got) == {str(i) for i in order[:5]}
            wide = hits(es, name, {"knn": {"vec": {"vector": Q, "k": 5, "method_parameters": {"ef_search": 8}}}})
            assert set(wide) == {str(i) for i in order[:8]}  # lucene: max(k, ef_search) per shard


def test_radial_search_min_score_and_max_distance(es: Any) -> None:
    vectors = vector_index(es, "radial", "l2", "faiss", n=300)
    d2 = ((vectors - np.array(Q, F)) ** 2).sum(axis=1, dtype=F)
    limit = float(np.sort(d2)[20] + np.sort(d2)[21]) / 2  # between the 21st and 22nd nearest
    got = hits(es, "radial", {"knn": {"vec": {"vector": Q, "max_distance": limit}}})
    assert set(got) == {str(i) for i in np.flatnonzero(d2 <= limit)} and len(got) == 21
    threshold = 1 / (1 + limit)
    by_score = hits(es, "radial", {"knn": {"vec": {"vector": Q, "min_score": threshold}}})
    assert set(by_score) == set(got)
    np.testing.assert_allclose([by_score[k] for k in got], [got[k] for k in got], rtol=0)


def test_hybrid_bool_should_sums_bm25_and_knn(es: Any) -> None:
    vector_index(es, "hybrid", "l2", "faiss", n=60)
    bm25 = hits(es, "hybrid", {"match": {"body": "hello"}})
    knn = hits(es, "hybrid", {"knn": {"vec": {"vector": Q, "k": 8}}})
    got = hits(es, "hybrid", {"bool": {"should": [{"match": {"body": "hello"}},
                                                  {"knn": {"vec": {"vector": Q, "k": 8}}}]}})
    assert set(got) == set(bm25) | set(knn)
    for doc, score in got.items():
        expected = F(float(bm25.get(doc, 0.0)) + float(knn.get(doc, 0.0)))  # disjunction: double sum, then float
        assert score == expected, doc
    must = hits(es, "hybrid", {"bool": {"must": [{"knn": {"vec": {"vector": Q, "k": 8}}}],
                                        "should": [{"match": {"body": "hello"}}]}})
    assert set(must) == set(knn)


# -- script_score (lang knn) -------------------------------------------------------------------------
def knn_script(space: str, query_value: list[float], field: str = "vec") -> dict[str, Any]:
    return {"lang": "knn", "source": "knn_score",
            "params": {"field": field, "query_value": query_value, "space_type": space}}


@pytest.fixture(scope="module")
def flat(es: Any) -> np.ndarray:
    vectors = vector_index(es, "flat", "l2", "", n=40, knn=False)
    load(es, "flat", {"novec": {"tag": "a"}})
    return vectors


@pytest.mark.parametrize("space", ["l2", "l1", "linf", "innerproduct", "cosinesimil"])
def test_knn_score_script_per_space_on_a_flat_field(es: Any, flat: np.ndarray, space: str) -> None:
    got = hits(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": knn_script(space, Q),
                                             "boost": 2}})
    expected = knn_scores(space, np.array(Q, F), flat) * F(2)
    assert got.pop("novec") == F(0.0)  # matched by the inner query, no vector: 0
    np.testing.assert_allclose([got[str(i)] for i in range(len(flat))], expected, rtol=RTOL)


def test_knn_score_script_inner_query_and_min_score(es: Any, flat: np.ndarray) -> None:
    script = knn_script("l2", Q)
    filtered = hits(es, "flat", {"script_score": {"query": {"term": {"tag": "a"}}, "script": script}})
    assert set(filtered) == {"0", "20", "novec"}
    everything = hits(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": script}})
    cut = sorted(everything.values())[-5]
    top = hits(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": script, "min_score": float(cut)}})
    assert top == {k: v for k, v in everything.items() if v >= cut}
    # the same field indexed for ANN scores the same through the script
    vectors = vector_index(es, "scripted-ann", "l2", "faiss", n=20)
    got = hits(es, "scripted-ann", {"script_score": {"query": {"match_all": {}}, "script": script}})
    np.testing.assert_allclose([got[str(i)] for i in range(20)], knn_scores("l2", np.array(Q, F), vectors),
                               rtol=RTOL)


# -- errors ----------------------------------------------------------------------------------------
def test_knn_and_script_errors(es: Any, flat: np.ndarray) -> None:
    vector_index(es, "err-lucene", "cosinesimil", "lucene", n=5)
    vector_index(es, "err-faiss", "cosinesimil", "faiss", n=5)
    err = error(es, "err-lucene", {"knn": {"vec": {"vector": [1.0, 2.0], "k": 3}}})
    assert shard_reason(err) == "Query vector has invalid dimension: 2. Dimension should be: 4"
    err = error(es, "err-lucene", {"knn": {"vec": {"vector": [0.0] * DIM, "k": 3}}})
    assert shard_reason(err) == "zero vector is not supported when space type is [cosinesimil]"
    err = error(es, "err-faiss", {"knn": {"vec": {"vector": [0.0] * DIM, "k": 3}}})
    assert shard_reason(err) == "Cannot normalize a zero-length vector"  # faiss normalises the query first
    err = error(es, "flat", {"knn": {"vec": {"vector": Q, "k": 3}}})
    assert shard_reason(err) == "Field 'vec' is not built for ANN search."
    vector_index(es, "err-nmslib", "l2", "nmslib", n=5)
    err = error(es, "err-nmslib", {"knn": {"vec": {"vector": Q, "k": 3, "filter": {"term": {"tag": "a"}}}}})
    assert shard_reason(err) == "Engine [NMSLIB] does not support filters"
    err = error(es, "err-nmslib", {"knn": {"vec": {"vector": Q, "min_score": 0.5}}})
    assert shard_reason(err) == "Engine [NMSLIB] does not support radial search"
    err = error(es, "flat", {"knn": {"tag": {"vector": Q, "k": 3}}})
    assert shard_reason(err) == "Field 'tag' is not knn_vector type."
    err = error(es, "flat", {"knn": {"vec": {"vector": Q, "k": 3, "min_score": 0.5}}})
    assert err["reason"] == "[knn] requires exactly one of k, distance or score to be set"
    err = error(es, "flat", {"knn": {"vec": {"vector": Q, "k": 0}}})
    assert err["reason"] == "[knn] requires k to be in the range (0, 10000]"
    err = error(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": {"source": "doc['vec'].size()"}}})
    assert "painless" in err["reason"] and "not supported by the embedded engine" in err["reason"]
    err = error(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": knn_script("hammingbit", Q)}})
    assert "not supported by the embedded engine" in err["reason"]
    err = error(es, "flat", {"script_score": {"script": knn_script("l2", Q)}})
    assert err["reason"] == "Required [query]"
    err = error(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": knn_script("l2", [1.0])}})
    assert shard_reason(err) == "Object's dimension=1 does not match the expected dimension=4."
    err = error(es, "flat", {"script_score": {"query": {"match_all": {}}, "script": knn_script("l2", Q, "tag")}})
    assert shard_reason(err) == "Incompatible field_type for l2 space. The field type must be knn_vector."


# -- approximate threshold, ef_search, _name, persistence -------------------------------------------
APPROX = "index.knn.advanced.approximate_threshold"


@pytest.fixture
def graph_searches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """(segment size, k, ef_search) of every HNSW graph search (exact searches are not recorded)."""
    from localnode.knn.ann import VectorIndex
    calls: list[tuple[int, int, int]] = []
    original = VectorIndex._graph_search

    def spy(self: Any, q: np.ndarray, k: int, ef_search: int, row_mask: Any) -> np.ndarray:
        calls.append((len(self), k, ef_search))
        return original(self, q, k, ef_search, row_mask)
    monkeypatch.setattr(VectorIndex, "_graph_search", spy)
    return calls


def knn_index(es: Any, name: str, settings: dict[str, Any], sizes: list[int]) -> np.ndarray:
    """A faiss l2 field, one refreshed segment per entry of ``sizes``."""
    es.indices.create(index=name, body={"settings": {"index.knn": True, "index.refresh_interval": "-1", **settings},
                                        "mappings": {"properties": {"vec": {
                                            "type": "knn_vector", "dimension": DIM,
                                            "method": {"name": "hnsw", "engine": "faiss", "space_type": "l2"}}}}})
    vectors = RNG.standard_normal((sum(sizes), DIM)).astype(F)
    start = 0
    for size in sizes:
        load(es, name, {str(i): {"vec": vectors[i].tolist()} for i in range(start, start + size)})
        start += size
    return vectors


def per_segment_top(vectors: np.ndarray, sizes: list[int], k: int) -> dict[str, np.float32]:
    scores = knn_scores("l2", np.array(Q, F), vectors)
    expected: dict[str, np.float32] = {}
    start = 0
    for size in sizes:
        part = np.arange(start, start + size)
        for i in part[np.lexsort((part, -scores[part]))][:k]:
            expected[str(i)] = scores[i]
        start += size
    return expected


def test_approximate_threshold_decides_graph_or_exact_per_segment(es: Any, graph_searches: list) -> None:
    sizes = [49, 50]   # threshold 50: the first segment is searched exactly, the second through HNSW
    vectors = knn_index(es, "thr-50", {APPROX: 50}, sizes)
    got = hits(es, "thr-50", {"knn": {"vec": {"vector": Q, "k": 5}}})
    assert graph_searches == [(50, 5, 100)]
    expected = per_segment_top(vectors, sizes, 5)
    assert set(got) == set(expected)
    np.testing.assert_allclose([got[d] for d in expected], [expected[d] for d in expected], rtol=RTOL)
    flat = es.indices.get_settings(index="thr-50")["thr-50"]["settings"]["index"]
    assert flat["knn.advanced"] == {"approximate_threshold": "50"} and flat["knn"] == "true"


def test_approximate_threshold_default_zero_and_minus_one(es: Any, graph_searches: list) -> None:
    knn_index(es, "thr-default", {}, [2_000])         # default 15,000: a 2,000-vector segment is exact
    knn_index(es, "thr-zero", {APPROX: 0}, [3])       # 0: even a 3-vector segment gets a graph
    knn_index(es, "thr-never", {APPROX: -1}, [2_000])  # -1: never
    for name in ("thr-default", "thr-zero", "thr-never"):
        assert len(hits(es, name, {"knn": {"vec": {"vector": Q, "k": 3}}})) == 3
    assert graph_searches == [(3, 3, 100)]
    assert "knn.advanced" not in es.indices.get_settings(index="thr-default")["thr-default"]["settings"]["index"]


@pytest.mark.parametrize("value, reason", [
    (-2, "Failed to parse value [-2] for setting [index.knn.advanced.approximate_threshold] must be >= -1"),
    (2_147_483_646, "Failed to parse value [2147483646] for setting [index.knn.advanced.approximate_threshold] "
                    "must be <= 2147483645"),
    ("many", "Failed to parse value [many] for setting [index.knn.advanced.approximate_threshold]"),
    (1.5, "Failed to parse value [1.5] for setting [index.knn.advanced.approximate_threshold]")])
def test_approximate_threshold_validation(es: Any, value: Any, reason: str) -> None:
    with pytest.raises(RequestError) as info:
        es.indices.create(index="thr-bad", body={"settings": {"index.knn": True, APPROX: value}})
    assert info.value.info["error"]["type"] == "illegal_argument_exception"
    assert info.value.info["error"]["reason"] == reason
    assert not es.indices.exists(index="thr-bad")


def test_approximate_threshold_is_dynamic(es: Any) -> None:
    knn_index(es, "thr-dyn", {}, [10])
    es.indices.put_settings(index="thr-dyn", body={"index": {"knn.advanced.approximate_threshold": 2_147_483_645}})
    assert es.indices.get_settings(index="thr-dyn")["thr-dyn"]["settings"]["index"]["knn.advanced"] == \
        {"approximate_threshold": "2147483645"}
    with pytest.raises(RequestError):
        es.indices.put_settings(index="thr-dyn", body={"index": {"knn.advanced.approximate_threshold": -5}})


def test_ef_search_setting_accepted_reported_and_used(es: Any, graph_searches: list) -> None:
    knn_index(es, "ef", {"index.knn.algo_param.ef_search": 256, APPROX: 0}, [40])
    index = es.indices.get_settings(index="ef")["ef"]["settings"]["index"]
    assert index["knn.algo_param"] == {"ef_search": "256"}
    hits(es, "ef", {"knn": {"vec": {"vector": Q, "k": 4}}})
    es.indices.put_settings(index="ef", body={"index.knn.algo_param.ef_search": 64})
    assert es.indices.get_settings(index="ef")["ef"]["settings"]["index"]["knn.algo_param"] == {"ef_search": "64"}
    hits(es, "ef", {"knn": {"vec": {"vector": Q, "k": 4}}})
    hits(es, "ef", {"knn": {"vec": {"vector": Q, "k": 4, "method_parameters": {"ef_search": 9}}}})
    assert graph_searches == [(40, 4, 256), (40, 4, 64), (40, 4, 9)]
    with pytest.raises(RequestError) as info:
        es.indices.put_settings(index="ef", body={"index.knn.algo_param.ef_search": 1})
    assert info.value.info["error"]["reason"] == \
        "Failed to parse value [1] for setting [index.knn.algo_param.ef_search] must be >= 2"


def test_knn_name_gives_matched_queries(es: Any) -> None:
    vectors = vector_index(es, "named", "l2", "faiss", n=30)
    nearest = {str(i) for i in np.argsort(-knn_scores("l2", np.array(Q, F), vectors), kind="stable")[:3]}
    body = {"size": 30, "query": {"bool": {"should": [
        {"knn": {"vec": {"vector": Q, "k": 3, "_name": "near"}}},
        {"match": {"body": {"query": "hello", "_name": "text"}}}]}}}
    response = es.search(index="named", body=body)["hits"]["hits"]
    assert {h["_id"] for h in response} == nearest | {str(i) for i in range(30) if i % 3 == 0}
    for hit in response:
        expected = (["near"] if hit["_id"] in nearest else []) + (["text"] if int(hit["_id"]) % 3 == 0 else [])
        assert sorted(hit["matched_queries"]) == expected, hit["_id"]
    alone = es.search(index="named", body={"query": {"knn": {"vec": {"vector": Q, "k": 3, "_name": "near"}}}})
    assert [h["matched_queries"] for h in alone["hits"]["hits"]] == [["near"]] * 3


def test_vectors_survive_close_and_reopen(tmp_path: Any) -> None:
    url = f"embedded://{tmp_path / 'vectors'}"
    client = pinsearch.connect(url)
    properties = {"vec": {"type": "knn_vector", "dimension": DIM,
                          "method": {"name": "hnsw", "engine": "faiss", "space_type": "l2"}},
                  "cos": {"type": "knn_vector", "dimension": DIM, "space_type": "cosinesimil",
                          "method": {"name": "hnsw", "engine": "faiss"}}}
    client.indices.create(index="persist", body={"settings": {"index.knn": True, APPROX: 0},
                                                 "mappings": {"properties": properties}})
    vectors = RNG.standard_normal((60, DIM)).astype(F)
    helpers.bulk(client, ({"_index": "persist", "_id": str(i), "vec": vectors[i].tolist(),
                           "cos": (vectors[i] * 3).tolist()} for i in range(50)), refresh=True)
    for i in range(50, 60):   # a second segment
        client.index(index="persist", id=str(i), body={"vec": vectors[i].tolist(), "cos": (vectors[i] * 3).tolist()})
    queries = [{"knn": {"vec": {"vector": Q, "k": 10}}}, {"knn": {"cos": {"vector": Q, "k": 7}}},
               {"knn": {"vec": {"vector": Q, "k": 5, "filter": {"ids": {"values": ["1", "2", "55"]}}}}}]

    def run(es: Any) -> list[list[tuple[str, float]]]:
        return [[(h["_id"], h["_score"]) for h in es.search(index="persist", body={"query": q, "size": 60})
                 ["hits"]["hits"]] for q in queries]
    client.indices.refresh(index="persist")
    before = run(client)
    pinsearch.close(client)
    reopened = pinsearch.connect(url)
    try:
        after = run(reopened)
    finally:
        pinsearch.close(reopened)
    assert after == before
    # two segments (50 + 10 vectors), faiss: top k per segment
    l2 = per_segment_top(vectors, [50, 10], 10)
    assert {d for d, _ in before[0]} == set(l2) and len(before[0]) == 20
    np.testing.assert_allclose([s for _, s in before[0]], [l2[d] for d, _ in before[0]], rtol=RTOL)
    cos = knn_scores("cosinesimil", np.array(Q, F), vectors)
    cos_top = {str(i) for part in (np.arange(50), np.arange(50, 60)) for i in part[np.argsort(-cos[part])[:7]]}
    assert {d for d, _ in before[1]} == cos_top
    np.testing.assert_allclose([s for _, s in before[1]], [cos[int(d)] for d, _ in before[1]], rtol=RTOL)
    assert {d for d, _ in before[2]} == {"1", "2", "55"}


def test_knn_score_script_as_a_rescore_scores_only_the_window(es: Any, flat: np.ndarray,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A rescore (or an LTR feature) of ``knn_score`` computes the window's distances, not the segment's."""
    from localnode.search.queries import script_score as module
    rows: list[int] = []
    real = module.spaces.script_score

    def counting(space: str, query: np.ndarray, vectors: np.ndarray, **kwargs: Any) -> np.ndarray:
        rows.append(len(vectors))
        return real(space, query, vectors, **kwargs)
    monkeypatch.setattr(module.spaces, "script_score", counting)
    body = {"query": {"match_all": {}}, "size": 5, "rescore": {"window_size": 5, "query": {
        "rescore_query": {"script_score": {"query": {"match_all": {}}, "script": knn_script("l2", Q)}},
        "query_weight": 0.0}}}
    got = {h["_id"]: h["_score"] for h in es.search(index="flat", body=body)["hits"]["hits"]}
    assert len(got) == 5 and sum(rows) <= 5
    expected = knn_scores("l2", np.array(Q, F), flat)
    for pin, score in got.items():
        assert F(score) == pytest.approx(float(expected[int(pin)]), rel=RTOL)
