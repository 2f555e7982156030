"""k-NN emulation: 2.19 score translations, knn_vector mapping validation, VectorIndex search.

Reference values come from the formulas of the plugin (float32 arithmetic) and, where the public
documentation prints cluster output (the radial-search example), from that output.
"""

from __future__ import annotations

import numpy as np
import pytest

from localnode.errors import IllegalArgumentError, MapperParsingError, OpenSearchError
from localnode.knn import spaces
from localnode.knn.ann import VectorIndex
from localnode.knn.mapping import KnnFieldSpec, parse_knn_mapping, validate_vector

F = np.float32


def spec_for(space: str = "l2", engine: str = "faiss", dimension: int = 2, **params: int) -> KnnFieldSpec:
    method: dict = {"name": "hnsw", "engine": engine, "space_type": space}
    if params:
        method["parameters"] = params
    return parse_knn_mapping("v", {"type": "knn_vector", "dimension": dimension, "method": method},
                             index_knn_enabled=True)


def raises(exc: type[OpenSearchError], fn, *args, **kwargs) -> OpenSearchError:
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    return info.value


# -- score translations ----------------------------------------------------------------------------
def test_l2_score_is_one_over_one_plus_squared_distance_in_float32() -> None:
    q = np.array([1.0, 2.0, 3.0], dtype=F)
    vectors = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.25], [10.0, 0.0, -3.0]], dtype=F)
    d2 = ((vectors - q) ** 2).sum(axis=1, dtype=F)
    expected = F(1) / (F(1) + d2)
    got = spaces.score("l2", q, vectors)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=2e-7)
    assert got[0] == F(1.0)  # identical vectors: exactly 1, no cancellation error


def test_cosine_score_extremes_and_formula() -> None:
    q = np.array([1.0, 0.0], dtype=F)
    vectors = np.array([[3.0, 0.0], [-2.0, 0.0], [0.0, 5.0], [1.0, 1.0]], dtype=F)
    got = spaces.score("cosinesimil", q, vectors)
    assert got[0] == F(1.0)     # cos = 1
    assert got[1] == F(0.0)     # cos = -1 → (1-1)/2 = 0
    assert got[2] == F(0.5)     # orthogonal
    assert got[3] == pytest.approx((1 + np.cos(np.pi / 4)) / 2, rel=1e-6)


def test_inner_product_branches() -> None:
    q = np.array([1.0, 2.0], dtype=F)
    vectors = np.array([[3.0, 1.0], [-3.0, -1.0], [0.0, 0.0], [2.0, -1.0]], dtype=F)  # dots 5, -5, 0, 0
    got = spaces.score("innerproduct", q, vectors)
    assert got[0] == F(6.0)                  # dot >= 0 → dot + 1
    assert got[1] == F(1) / F(6)             # dot < 0 → 1/(1 - dot)
    assert got[2] == F(1.0) and got[3] == F(1.0)


def test_l1_linf_scores() -> None:
    q = np.array([0.0, 0.0], dtype=F)
    vectors = np.array([[1.0, -2.0]], dtype=F)
    assert spaces.score("l1", q, vectors)[0] == F(1) / F(4)
    assert spaces.score("linf", q, vectors)[0] == F(1) / F(3)


def test_knn_score_script_variants() -> None:
    q = np.array([1.0, 0.0], dtype=F)
    vectors = np.array([[0.0, 1.0], [-1.0, 0.0]], dtype=F)
    np.testing.assert_array_equal(spaces.script_score("cosinesimil", q, vectors), np.array([0.5, 0.0], F))
    np.testing.assert_array_equal(spaces.script_score("cosinesimil", q, vectors, legacy_cosine=True),
                                  np.array([1.0, 0.0], F))  # 1 + cos before 2.19
    np.testing.assert_array_equal(spaces.script_score("innerproduct", q, vectors), np.array([1.0, 0.5], F))
    np.testing.assert_array_equal(spaces.script_score("l2", q, vectors), np.array([1 / 3, 0.2], F))
    err = raises(IllegalArgumentError, spaces.script_score, "cosine", q, vectors)
    assert err.reason == "Invalid space type. Please refer to the available space types."
    err = raises(IllegalArgumentError, spaces.script_score, "cosinesimil", np.zeros(2, F), vectors)
    assert err.reason == "zero vector is not supported when space type is [cosinesimil]"


# -- radial thresholds -----------------------------------------------------------------------------
DOC_QUERY = np.array([7.1, 8.3], dtype=F)
DOC_VECTORS = np.array([[7.0, 8.2], [7.1, 7.4], [7.3, 8.3], [6.5, 8.8], [5.7, 7.9]], dtype=F)


def test_radial_search_matches_documented_cluster_output() -> None:
    """docs ``radial-search-knn.md``: max_distance 2 → docs 1, 3, 4, 2 with these scores."""
    index = VectorIndex(np.arange(1, 6), DOC_VECTORS, spec_for("l2", dimension=2))
    threshold = spaces.score_threshold_for_max_distance("l2", 2.0)
    assert threshold == F(1) / F(3)
    docs, scores = index.search_radial(DOC_QUERY, threshold)
    assert docs.tolist() == [1, 3, 4, 2]
    np.testing.assert_allclose(scores, [0.98039204, 0.9615384, 0.62111807, 0.5524861], rtol=1e-6)
    docs, _ = index.search_radial(DOC_QUERY, spaces.score_threshold_for_min_score("l2", 0.95))
    assert docs.tolist() == [1, 3]
    allowed = np.zeros(6, dtype=bool)
    allowed[[1, 4]] = True  # the documented price filter keeps docs 1 and 4
    docs, _ = index.search_radial(DOC_QUERY, threshold, allowed)
    assert docs.tolist() == [1, 4]
    docs, _ = index.search_radial(DOC_QUERY, threshold, limit=2)
    assert docs.tolist() == [1, 3]


def test_radial_thresholds_per_space() -> None:
    assert spaces.score_threshold_for_max_distance("cosinesimil", 0.2) == pytest.approx(0.9)
    # faiss innerproduct: distance = -dot, so max_distance -0.5 keeps dot >= 0.5 (score 1.5)
    assert spaces.score_threshold_for_max_distance("innerproduct", -0.5) == F(1.5)
    assert spaces.score_threshold_for_max_distance("innerproduct", 0.5) == F(1) / F(1.5)
    # lucene: the distance is the dot product itself
    assert spaces.score_threshold_for_max_distance("innerproduct", 0.5, engine="lucene") == F(1.5)
    assert spaces.score_threshold_for_min_score("innerproduct", 1.7) == pytest.approx(1.7, rel=1e-6)
    assert spaces.score_threshold_for_min_score("innerproduct", 0.4) == pytest.approx(0.4, rel=1e-6)
    assert spaces.score_threshold_for_min_score("cosinesimil", 0.8) == pytest.approx(0.8, rel=1e-6)


def test_radial_validation_messages() -> None:
    err = raises(IllegalArgumentError, spaces.score_threshold_for_max_distance, "l2", -1.0)
    assert err.reason == "[knn] requires distance to be non-negative for space type: L2"
    spaces.score_threshold_for_max_distance("innerproduct", -1.0)  # allowed for innerproduct
    err = raises(IllegalArgumentError, spaces.score_threshold_for_min_score, "cosinesimil", 1.5)
    assert err.reason == "[knn] requires score to be in the range [0, 1] for space type: COSINESIMIL"
    err = raises(IllegalArgumentError, spaces.score_threshold_for_min_score, "l2", 0.0)
    assert err.reason == "score cannot be 0 when space type is [l2]"
    err = raises(OpenSearchError, spaces.check_radial_supported, "nmslib")
    assert err.reason == "Engine [NMSLIB] does not support radial search"


# -- mapping ---------------------------------------------------------------------------------------
def test_mapping_defaults_and_serialization() -> None:
    spec = parse_knn_mapping("a.emb", {"type": "knn_vector", "dimension": 4, "data_type": "float",
                                       "method": {"name": "hnsw", "parameters": {"m": 24, "ef_construction": 128}}},
                             index_knn_enabled=True)
    assert (spec.dimension, spec.engine, spec.space_type, spec.m, spec.ef_construction) == (4, "faiss", "l2", 24, 128)
    assert spec.ann_enabled and spec.name == "a.emb" and spec.ef_search_param is None
    # engine and space are resolved into "method"; data_type float is the default and not shown
    assert spec.serialize() == {"type": "knn_vector", "dimension": 4, "method": {
        "engine": "faiss", "space_type": "l2", "name": "hnsw", "parameters": {"ef_construction": 128, "m": 24}}}
    assert list(spec.serialize()["method"]["parameters"]) == ["ef_construction", "m"]  # Java HashMap order

    plain = parse_knn_mapping("emb", {"type": "knn_vector", "dimension": 3, "space_type": "innerproduct"},
                              index_knn_enabled=True)
    assert (plain.engine, plain.method_name, plain.space_type, plain.m, plain.ef_construction) == \
        ("faiss", "hnsw", "innerproduct", 16, 100)
    assert plain.serialize() == {"type": "knn_vector", "dimension": 3, "space_type": "innerproduct"}

    faiss_ef = spec_for("cosinesimil", ef_search=64, m=8)
    assert faiss_ef.ef_search_param == 64 and faiss_ef.m == 8 and faiss_ef.normalizes_vectors
    assert spec_for("innerproduct", engine="lucene").engine == "lucene"
    assert spec_for("l1", engine="nmslib").space_type == "l1"  # deprecated engine still accepted


def test_flat_field_when_index_knn_is_false() -> None:
    spec = parse_knn_mapping("v", {"type": "knn_vector", "dimension": 3}, index_knn_enabled=False)
    assert spec.is_flat and not spec.ann_enabled
    err = raises(IllegalArgumentError, parse_knn_mapping, "v",
                 {"type": "knn_vector", "dimension": 3, "method": {"name": "hnsw"}}, index_knn_enabled=False)
    assert err.reason == "Cannot set modelId or method parameters when index.knn setting is false"
    index = VectorIndex([0], np.ones((1, 3), F), spec)
    err = raises(IllegalArgumentError, index.search_ann, np.ones(3), 1)
    assert err.reason == "Field 'v' is not built for ANN search."
    assert index.search_exact(np.ones(3), 1)[0].tolist() == [0]


@pytest.mark.parametrize("definition, error, reason", [
    ({"type": "knn_vector", "method": {"name": "hnsw"}}, IllegalArgumentError,
     "Dimension value missing for vector: v"),
    ({"type": "knn_vector", "dimension": 0}, IllegalArgumentError,
     "Dimension value must be greater than 0 for vector: v"),
    ({"type": "knn_vector", "dimension": "abc"}, IllegalArgumentError,
     "Unable to parse [dimension] from provided value [abc] for vector [v]"),
    ({"type": "knn_vector", "dimension": 16001}, OpenSearchError,
     "Validation Failed: 1: Dimension value cannot be greater than 16000 for vector with engine: faiss;"),
    ({"type": "knn_vector", "dimension": 3, "method": {"name": "hnsw", "engine": "lucene", "space_type": "l1"}},
     OpenSearchError, 'Validation Failed: 1: "hnsw" with "lucene" configuration does not support space type: "l1".;'),
    ({"type": "knn_vector", "dimension": 3, "method": {"name": "hnsw", "engine": "faiss", "space_type": "linf"}},
     OpenSearchError, 'Validation Failed: 1: "hnsw" with "faiss" configuration does not support space type: "linf".;'),
    ({"type": "knn_vector", "dimension": 3, "method": {"name": "ivf", "engine": "faiss"}},
     OpenSearchError, 'Validation Failed: 1: "method" requires training.;'),
    ({"type": "knn_vector", "dimension": 3, "method": {"name": "ivf", "engine": "lucene"}},
     IllegalArgumentError, "Invalid method name: ivf"),
    ({"type": "knn_vector", "dimension": 3,
      "method": {"name": "hnsw", "engine": "lucene", "parameters": {"ef_search": 10, "m": 0}}},
     OpenSearchError, "Validation Failed: 1: Unknown parameter 'ef_search' found;"
                      "2: parameter validation failed for Integer parameter [m].;"),
    ({"type": "knn_vector", "dimension": 3, "method": {"name": "hnsw", "engine": "elastic"}},
     MapperParsingError, "Invalid engine: elastic"),
    ({"type": "knn_vector", "dimension": 3, "method": {"engine": "faiss"}}, MapperParsingError, "name needs to be set"),
    ({"type": "knn_vector", "dimension": 3, "space_type": "l2", "method": {"name": "hnsw", "space_type": "innerproduct"}},
     MapperParsingError,
     'Space type in "method" and top level space type should be same or one of them should be defined'),
    ({"type": "knn_vector", "dimension": 3, "space_type": "cosine"}, IllegalArgumentError,
     "Unable to find space: cosine . Valid values are: [l2, cosinesimil, l1, linf, innerproduct, hamming]"),
    ({"type": "knn_vector", "dimension": 3, "data_type": "half"}, IllegalArgumentError,
     "Invalid value provided for [data_type] field. Supported values are [binary,byte,float]"),
    ({"type": "knn_vector", "dimension": 3, "method": {"name": "hnsw"}, "model_id": "m1"}, IllegalArgumentError,
     "Method and model can not be both specified in the mapping: v"),
    ({"type": "knn_vector", "dimension": 3, "mode": "in_memory", "method": {"name": "hnsw"}}, MapperParsingError,
     'Compression and mode can not be specified in a "method" mapping configuration for field: v'),
])
def test_mapping_errors_use_plugin_wording(definition: dict, error: type[OpenSearchError], reason: str) -> None:
    err = raises(error, parse_knn_mapping, "v", definition, index_knn_enabled=True)
    assert err.reason == reason
    assert err.status == 400


def test_validation_exception_type() -> None:
    err = raises(OpenSearchError, parse_knn_mapping, "v",
                 {"type": "knn_vector", "dimension": 3, "method": {"name": "ivf"}}, index_knn_enabled=True)
    assert err.error_type == "validation_exception"


@pytest.mark.parametrize("definition", [
    {"type": "knn_vector", "dimension": 8, "data_type": "byte"},
    {"type": "knn_vector", "dimension": 8, "data_type": "binary"},
    {"type": "knn_vector", "dimension": 8, "model_id": "trained"},
    {"type": "knn_vector", "dimension": 8, "mode": "on_disk"},
    {"type": "knn_vector", "dimension": 8, "method": {"name": "hnsw", "parameters": {"encoder": {"name": "sq"}}}},
])
def test_unsupported_features_are_explicit(definition: dict) -> None:
    err = raises(MapperParsingError, parse_knn_mapping, "v", definition, index_knn_enabled=True)
    assert "not supported by the embedded engine" in err.reason


# -- document vectors ------------------------------------------------------------------------------
def test_validate_vector_errors_and_preview() -> None:
    spec = spec_for("cosinesimil", dimension=3)
    err = raises(MapperParsingError, validate_vector, spec, [1.0, 2.0], doc_id="7")
    body = err.to_body()["error"]
    assert body["reason"] == ("failed to parse field [v] of type [knn_vector] in document with id '7'. "
                              "Preview of field's value: 'null'")
    assert body["caused_by"] == {"type": "illegal_argument_exception",
                                 "reason": "Vector dimension mismatch. Expected: 3, Given: 2"}
    err = raises(IllegalArgumentError, validate_vector, spec, [0, 0, 0])
    assert err.reason == "zero vector is not supported when space type is [cosinesimil]"
    assert raises(IllegalArgumentError, validate_vector, spec, [1, float("nan"), 2]).reason == \
        "KNN vector values cannot be NaN"
    assert raises(IllegalArgumentError, validate_vector, spec, [1e39, 1, 2]).reason == \
        "KNN vector values cannot be infinity"
    # faiss + cosinesimil stores unit vectors (NormalizeVectorTransformer, 2.19)
    np.testing.assert_allclose(validate_vector(spec, [3, "4", 0]), [0.6, 0.8, 0.0], rtol=1e-7)
    # lucene keeps them as given; flat fields skip the zero-vector rule
    np.testing.assert_array_equal(validate_vector(spec_for("cosinesimil", "lucene", 3), [3, 4, 0]), [3, 4, 0])
    flat = parse_knn_mapping("v", {"type": "knn_vector", "dimension": 2, "space_type": "cosinesimil"},
                             index_knn_enabled=False)
    np.testing.assert_array_equal(validate_vector(flat, [0, 0]), [0, 0])


def test_validate_vector_inputs() -> None:
    spec = spec_for("l2", dimension=2)
    np.testing.assert_array_equal(validate_vector(spec, np.array([1.5, 2.0])), np.array([1.5, 2.0], F))
    err = raises(MapperParsingError, validate_vector, spec, 0.0001, doc_id="x")
    assert err.reason.endswith("Preview of field's value: '1.0E-4'")  # Java Double.toString
    assert err.caused_by is not None and err.caused_by.reason == "Vector dimension mismatch. Expected: 2, Given: 1"
    err = raises(MapperParsingError, validate_vector, spec, [1, "abc"], doc_id="x")
    assert err.caused_by is not None and err.caused_by.error_type == "number_format_exception"
    assert raises(IllegalArgumentError, validate_vector, spec, {"a": 1}).reason == \
        "Vector dimension mismatch. Expected: 2, Given: 0"
    assert validate_vector(spec, None) is None


def test_mapping_accepts_plugin_spellings() -> None:
    spec = parse_knn_mapping("v", {"type": "knn_vector", "dimension": "8", "mode": "in_memory",
                                   "space_type": "L2"}, index_knn_enabled=True)
    assert spec.dimension == 8 and spec.space_type == "l2"
    assert spec.serialize() == {"type": "knn_vector", "dimension": 8, "mode": "in_memory", "space_type": "L2"}
    upper = parse_knn_mapping("v", {"type": "knn_vector", "dimension": 2,
                                    "method": {"name": "hnsw", "engine": "Lucene", "space_type": "COSINESIMIL"}},
                              index_knn_enabled=True)
    assert upper.serialize()["method"] == {"engine": "lucene", "space_type": "cosinesimil", "name": "hnsw",
                                           "parameters": {}}


def test_query_vector_validation() -> None:
    index = VectorIndex([0, 1], np.array([[1, 0, 0], [0, 1, 0]], F), spec_for("cosinesimil", dimension=3))
    err = raises(IllegalArgumentError, index.search_exact, [1.0, 2.0], 1)
    assert err.reason == "Query vector has invalid dimension: 2. Dimension should be: 3"
    err = raises(IllegalArgumentError, index.search_ann, [0.0, 0.0, 0.0], 1)
    assert err.reason == "zero vector is not supported when space type is [cosinesimil]"


# -- VectorIndex -----------------------------------------------------------------------------------
N, DIM = 20_000, 128


def embedding_like(rng: np.random.Generator, count: int, basis: np.ndarray) -> np.ndarray:
    """Vectors with a 16-d latent structure plus noise, like real embeddings (i.i.d. Gaussian
    128-d data has no neighbourhood structure: HNSW recall on it is ~0.8 on any engine)."""
    latent = rng.standard_normal((count, basis.shape[0])).astype(F)
    return (latent @ basis + F(0.1) * rng.standard_normal((count, basis.shape[1])).astype(F)).astype(F)


@pytest.fixture(scope="module")
def corpus() -> tuple[VectorIndex, np.ndarray]:
    rng = np.random.default_rng(7)
    basis = rng.standard_normal((16, DIM)).astype(F)
    vectors = embedding_like(rng, N, basis)
    queries = embedding_like(rng, 50, basis)
    spec = spec_for("l2", dimension=DIM, m=16, ef_construction=40)
    index = VectorIndex(np.arange(N, dtype=np.int32) * 3, vectors, spec)  # sparse doc numbers
    index.build()
    return index, queries


def test_ann_recall_at_10(corpus: tuple[VectorIndex, np.ndarray]) -> None:
    index, queries = corpus
    recalls = []
    for q in queries:
        exact_docs, exact_scores = index.search_exact(q, 10)
        ann_docs, ann_scores = index.search_ann(q, 10, ef_search=100)
        recalls.append(len(set(exact_docs.tolist()) & set(ann_docs.tolist())) / 10)
        # a document both return has the same (exact, float32) score
        common = {d: s for d, s in zip(ann_docs.tolist(), ann_scores.tolist())}
        for d, s in zip(exact_docs.tolist(), exact_scores.tolist()):
            if d in common:
                assert common[d] == s
        assert np.all(np.diff(ann_scores) <= 0)
    assert np.mean(recalls) >= 0.95


def test_filter_applies_before_top_k(corpus: tuple[VectorIndex, np.ndarray]) -> None:
    index, queries = corpus
    rng = np.random.default_rng(3)
    allowed = np.zeros(N * 3, dtype=bool)
    allowed[index.doc_ids[rng.random(N) < 0.05]] = True
    for q in queries[:10]:
        # forced graph path (the filtered_exact_search_threshold setting set to 0)
        docs, scores = index.search_ann(q, 10, 100, allowed, filtered_exact_threshold=0)
        assert len(docs) == 10 and allowed[docs].all()
        # default rule: 1000 allowed * 128 dims <= 2,048,000 distance computations → exact
        exact = index.search_exact(q, 10, allowed)
        default = index.search_ann(q, 10, 100, allowed)
        np.testing.assert_array_equal(default[0], exact[0])
        np.testing.assert_array_equal(default[1], exact[1])
        # post-filtering the unfiltered top-10 would leave (almost) nothing
        assert allowed[index.search_ann(q, 10, 100)[0]].sum() < 10


def test_tiny_filter_goes_exact_and_empty_filter_returns_nothing(corpus: tuple[VectorIndex, np.ndarray]) -> None:
    index, queries = corpus
    allowed = np.zeros(N * 3, dtype=bool)
    allowed[index.doc_ids[[5, 500, 5000]]] = True
    docs, scores = index.search_ann(queries[0], 10, 100, allowed, filtered_exact_threshold=0)
    assert sorted(docs.tolist()) == sorted(index.doc_ids[[5, 500, 5000]].tolist())
    assert index.search_ann(queries[0], 10, 100, np.zeros(N * 3, dtype=bool))[0].size == 0


def test_live_docs_are_post_filtered_without_a_filter(corpus: tuple[VectorIndex, np.ndarray]) -> None:
    index, queries = corpus
    top, _ = index.search_exact(queries[0], 10)
    live = np.ones(N * 3, dtype=bool)
    live[top[:3]] = False
    docs, _ = index.search_exact(queries[0], 10, live=live)
    assert docs.tolist() == top[3:].tolist()  # deleted docs used up slots, as before a merge


def test_save_load_round_trip(tmp_path, corpus: tuple[VectorIndex, np.ndarray]) -> None:
    index, queries = corpus
    index.save(tmp_path / "seg_v")
    loaded = VectorIndex.load(tmp_path / "seg_v", index.spec)
    assert loaded.built  # the graph is read back, not rebuilt
    for q in queries[:20]:
        for a, b in zip(index.search_ann(q, 10, 50), loaded.search_ann(q, 10, 50)):
            np.testing.assert_array_equal(a, b)
    other = spec_for("l2", dimension=DIM, m=8)
    assert not VectorIndex.load(tmp_path / "seg_v", other).built  # different graph params: rebuild lazily


def test_cosine_and_inner_product_indexes_score_like_exact() -> None:
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((500, 8)).astype(F)
    q = rng.standard_normal(8).astype(F)
    for space in ("cosinesimil", "innerproduct"):
        index = VectorIndex(np.arange(500), vectors, spec_for(space, dimension=8))
        docs, scores = index.search_ann(q, 5, ef_search=500)
        np.testing.assert_array_equal(scores, spaces.score(space, q, vectors[docs]))
        exact_docs, _ = index.search_exact(q, 5)
        assert docs.tolist() == exact_docs.tolist()


def test_ties_break_by_doc_number_and_lucene_filter_rule() -> None:
    vectors = np.array([[1.0, 0.0]] * 6, dtype=F)
    index = VectorIndex([9, 4, 7, 1, 3, 8], vectors, spec_for("l2", "lucene"))
    docs, scores = index.search_exact(np.array([1.0, 0.0]), 3)
    assert docs.tolist() == [1, 3, 4] and scores.tolist() == [1.0, 1.0, 1.0]
    allowed = np.zeros(10, dtype=bool)
    allowed[[7, 8, 9]] = True
    assert index.search_ann(np.array([1.0, 0.0]), 2, allowed=allowed)[0].tolist() == [7, 8]


def test_approximate_threshold_skips_graph() -> None:
    index = VectorIndex(np.arange(10), np.eye(10, dtype=F), spec_for("l2", dimension=10), approximate_threshold=100)
    docs, _ = index.search_ann(np.eye(10, dtype=F)[3], 1)
    assert docs.tolist() == [3] and not index.built


def test_locality_renumbered_graph_answers_like_the_original(corpus: tuple[VectorIndex, np.ndarray],
                                                             tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renumbering the graph's nodes for memory locality (done for large graphs) is invisible:
    rows come back (not node numbers) with the recall of an unrenumbered graph, filters apply
    (translated node -> row), and a save and reload answers identically."""
    import localnode.knn.ann as ann
    index, queries = corpus
    monkeypatch.setattr(ann, "REORDER_MIN_VECTORS", 1)
    renumbered = VectorIndex(index.doc_ids, index.vectors, index.spec)
    renumbered.build()
    assert renumbered._graph_rows is not None
    assert sorted(renumbered._graph_rows.tolist()) == list(range(len(index)))
    rng = np.random.default_rng(11)
    allowed = np.zeros(N * 3, dtype=bool)
    allowed[index.doc_ids[rng.random(N) < 0.3]] = True
    renumbered.save(tmp_path / "v")
    reloaded = VectorIndex.load(tmp_path / "v", index.spec)
    assert reloaded._graph is not None and np.array_equal(reloaded._graph_rows, renumbered._graph_rows)
    recalls = []
    for q in queries[:20]:
        exact = set(index.search_exact(q, 10)[0].tolist())
        for candidate in (renumbered, reloaded):
            docs, scores = candidate.search_ann(q, 10, 100)
            recalls.append(len(exact & set(docs.tolist())) / 10)
            assert np.all(np.diff(scores) <= 0)
            filtered = candidate.search_ann(q, 10, 100, allowed, filtered_exact_threshold=0)
            assert len(filtered[0]) == 10 and allowed[filtered[0]].all()
        np.testing.assert_array_equal(renumbered.search_ann(q, 10, 100)[0], reloaded.search_ann(q, 10, 100)[0])
    assert np.mean(recalls) >= 0.95


@pytest.mark.parametrize("dimension", [4, 128])
def test_graph_distances_replace_the_recomputation_only_when_bit_identical(dimension: int) -> None:
    """faiss computes l2 with the exact path's kernel for most dimensions (then its distances are
    used as scores after a few verified searches), but not for some small ones (dimension 4 uses a
    transposed kernel): there the engine keeps recomputing. Either way every score equals the
    exact search's."""
    rng = np.random.default_rng(dimension)
    vectors = rng.standard_normal((3000, dimension)).astype(F)
    index = VectorIndex(np.arange(3000, dtype=np.int32), vectors, spec_for("l2", dimension=dimension),
                        approximate_threshold=0)
    queries = rng.standard_normal((30, dimension)).astype(F)
    for q in queries:
        docs, scores = index.search_ann(q, 10, ef_search=3000)   # ef >= n: the exact top 10
        exact_docs, exact_scores = index.search_exact(q, 10)
        np.testing.assert_array_equal(docs, exact_docs)
        np.testing.assert_array_equal(scores, exact_scores)
    assert index._trust_distances is (dimension == 128)
