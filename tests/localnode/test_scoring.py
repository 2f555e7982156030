"""Scores of the embedded engine against the reference formulas, to float32 precision."""

from __future__ import annotations

import numpy as np
import pytest

from tests.localnode.bm25_reference import bm25, double_sum, f32, quantised_length


def _index(client, name: str, docs: list[dict], mappings: dict) -> None:
    client.indices.create(index=name, body={"mappings": mappings})
    for i, doc in enumerate(docs):
        client.index(index=name, id=str(i), body=doc)
    client.indices.refresh(index=name)


def _scores(client, index: str, query: dict, size: int = 50) -> dict[str, np.float32]:
    response = client.search(index=index, body={"query": query, "size": size})
    return {hit["_id"]: f32(hit["_score"]) for hit in response["hits"]["hits"]}


WS_TEXT = {"properties": {"body": {"type": "text", "analyzer": "whitespace"}}}


def _words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_published_explain_value(client):
    """tf=1, dl=16, avgdl=17, N=4, n=1 gives 1.2336599 (OpenSearch hybrid-search explain docs)."""
    docs = [{"body": "zebra " + _words(15)}, {"body": _words(17)}, {"body": _words(17)}, {"body": _words(18)}]
    _index(client, "bm25", docs, WS_TEXT)
    scores = _scores(client, "bm25", {"match": {"body": "zebra"}})
    assert scores == {"0": f32(1.2336599)}


def test_multi_term_match_sums_in_double(client):
    docs = [{"body": "apple banana apple"}, {"body": "banana cherry"}, {"body": "apple"},
            {"body": "cherry " + _words(50)}]
    _index(client, "multi", docs, WS_TEXT)
    total = 3 + 2 + 1 + 51
    scores = _scores(client, "multi", {"match": {"body": "apple banana"}})
    expected0 = double_sum(bm25(2, 3, total, 4, 2), bm25(1, 3, total, 4, 2))
    expected1 = bm25(1, 2, total, 4, 2)
    expected2 = bm25(1, 1, total, 4, 2)
    assert scores == {"0": expected0, "1": expected1, "2": expected2}


@pytest.mark.parametrize("length", [40, 41, 47, 63, 64, 100])
def test_long_fields_use_quantised_norms(client, length):
    docs = [{"body": "needle " + _words(length - 1)}, {"body": _words(10)}]
    _index(client, "long", docs, WS_TEXT)
    scores = _scores(client, "long", {"match": {"body": "needle"}})
    assert quantised_length(length) <= length
    assert scores["0"] == bm25(1, length, length + 10, 2, 1)


def test_multi_valued_field_length_and_stats(client):
    docs = [{"body": ["red fox", "quick red"]}, {"body": "lazy dog"}, {"body": ["red"]}]
    _index(client, "mv", docs, WS_TEXT)
    scores = _scores(client, "mv", {"match": {"body": "red"}})
    total = 4 + 2 + 1
    assert scores["0"] == bm25(2, 4, total, 3, 2)
    assert scores["2"] == bm25(1, 1, total, 3, 2)


def test_keyword_term_scores_idf(client):
    _index(client, "kw", [{"tag": "a"}, {"tag": "b"}, {"tag": "a"}, {"tag": "c"}],
           {"properties": {"tag": {"type": "keyword"}}})
    scores = _scores(client, "kw", {"term": {"tag": "a"}})
    idf = f32(np.log(1 + (4 - 2 + 0.5) / (2 + 0.5)))
    assert scores == {"0": bm25(1, 1, 4, 4, 2), "2": bm25(1, 1, 4, 4, 2)}
    assert abs(float(scores["0"]) - float(idf)) < 1e-6  # 2.2 / (1 + 1.2) = 1 up to float32 rounding


def test_boost_folds_into_weight(client):
    docs = [{"body": "alpha beta"}, {"body": "beta gamma delta"}]
    _index(client, "boost", docs, WS_TEXT)
    scores = _scores(client, "boost", {"match": {"body": {"query": "beta", "boost": 3.7}}})
    assert scores["0"] == bm25(1, 2, 5, 2, 2, boost=3.7)
    assert scores["1"] == bm25(1, 3, 5, 2, 2, boost=3.7)


def test_bool_must_plus_should_adds_in_float(client):
    docs = [{"body": "alpha beta"}, {"body": "alpha"}, {"body": "beta gamma"}]
    _index(client, "bool", docs, WS_TEXT)
    query = {"bool": {"must": [{"match": {"body": "alpha"}}], "should": [{"match": {"body": "beta"}}],
                      "filter": [{"exists": {"field": "body"}}], "must_not": [{"match": {"body": "gamma"}}]}}
    scores = _scores(client, "bool", query)
    alpha0 = bm25(1, 2, 5, 3, 2)
    beta0 = bm25(1, 2, 5, 3, 2)
    assert scores == {"0": f32(alpha0 + beta0), "1": bm25(1, 1, 5, 3, 2)}


def test_bool_filter_only_scores_zero_and_empty_bool_is_match_all(client):
    _index(client, "f", [{"body": "a"}, {"body": "b"}], WS_TEXT)
    assert _scores(client, "f", {"bool": {"filter": {"match": {"body": "a"}}}}) == {"0": f32(0.0)}
    assert _scores(client, "f", {"bool": {}}) == {"0": f32(1.0), "1": f32(1.0)}
    assert _scores(client, "f", {"bool": {"must_not": {"match": {"body": "a"}}}}) == {"1": f32(0.0)}


def test_minimum_should_match(client):
    docs = [{"body": "a b c"}, {"body": "a b"}, {"body": "a"}]
    _index(client, "msm", docs, WS_TEXT)
    scores = _scores(client, "msm", {"match": {"body": {"query": "a b c", "minimum_should_match": "2"}}})
    assert set(scores) == {"0", "1"}
    scores = _scores(client, "msm", {"match": {"body": {"query": "a b c", "operator": "and"}}})
    assert set(scores) == {"0"}
    scores = _scores(client, "msm", {"match": {"body": {"query": "a b c", "minimum_should_match": "-34%"}}})
    assert set(scores) == {"0", "1"}  # 3 * -0.34 = -1.02 -> 3 - 1 = 2


def test_multi_match_best_and_most_fields(client):
    mappings = {"properties": {"title": {"type": "text", "analyzer": "whitespace"},
                               "desc": {"type": "text", "analyzer": "whitespace"}}}
    docs = [{"title": "blue shoe", "desc": "a blue shoe for running"}, {"title": "red hat", "desc": "blue"}]
    _index(client, "mm", docs, mappings)
    t0 = bm25(1, 2, 4, 2, 1, boost=2.0)
    d0 = bm25(1, 5, 6, 2, 2)
    d1 = bm25(1, 1, 6, 2, 2)
    best = _scores(client, "mm", {"multi_match": {"query": "blue", "fields": ["title^2", "desc"], "tie_breaker": 0.3}})
    assert best["0"] == f32(float(max(t0, d0)) + float(min(t0, d0)) * float(f32(0.3)))
    assert best["1"] == d1
    most = _scores(client, "mm", {"multi_match": {"query": "blue", "fields": ["title^2", "desc"], "type": "most_fields"}})
    assert most["0"] == f32(float(max(t0, d0)) + float(min(t0, d0)))


def test_match_phrase_counts_phrase_freq_and_sums_idf(client):
    docs = [{"body": "new york is new york"}, {"body": "york new"}, {"body": "new jersey"}]
    _index(client, "phrase", docs, WS_TEXT)
    scores = _scores(client, "phrase", {"match_phrase": {"body": "new york"}})
    idf_new = f32(np.log(1 + (3 - 3 + 0.5) / (3 + 0.5)))
    idf_york = f32(np.log(1 + (3 - 2 + 0.5) / (2 + 0.5)))
    idf_sum = f32(idf_new + idf_york)
    avgdl = f32(9 / 3.0)
    inv = f32(1) / f32(f32(1.2) * f32(f32(0.25) + f32(f32(f32(0.75) * f32(5)) / avgdl)))
    weight = f32(f32(2.2) * idf_sum)
    expected = f32(weight - f32(weight / f32(1 + f32(f32(2) * inv))))
    assert scores == {"0": expected}


def test_function_score_field_value_factor(client):
    mappings = {"properties": {"body": {"type": "text", "analyzer": "whitespace"}, "pop": {"type": "float"}}}
    docs = [{"body": "cat", "pop": 9.0}, {"body": "cat dog", "pop": 0.5}, {"body": "cat"}]
    _index(client, "fs", docs, mappings)
    query = {"function_score": {"query": {"match": {"body": "cat"}},
                                "field_value_factor": {"field": "pop", "factor": 1.5, "modifier": "log1p", "missing": 1},
                                "boost_mode": "sum"}}
    scores = _scores(client, "fs", query)
    base0 = bm25(1, 1, 4, 3, 3)
    base1 = bm25(1, 2, 4, 3, 3)
    assert scores["0"] == f32(float(base0) + np.log10(9.0 * 1.5 + 1))
    assert scores["1"] == f32(float(base1) + np.log10(0.5 * 1.5 + 1))
    assert scores["2"] == f32(float(base0) + np.log10(1.0 * 1.5 + 1))


def test_constant_score_terms_range_ids(client):
    mappings = {"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}}
    _index(client, "cs", [{"n": 1, "tag": "x"}, {"n": 5, "tag": "y"}, {"n": 9, "tag": "z"}], mappings)
    assert _scores(client, "cs", {"range": {"n": {"gte": 2, "lt": 9, "boost": 2}}}) == {"1": f32(2.0)}
    assert _scores(client, "cs", {"terms": {"tag": ["x", "z"]}}) == {"0": f32(1.0), "2": f32(1.0)}
    assert _scores(client, "cs", {"ids": {"values": ["2"]}}) == {"2": f32(1.0)}
    assert _scores(client, "cs", {"constant_score": {"filter": {"term": {"tag": "y"}}, "boost": 4.5}}) == {"1": f32(4.5)}


def test_english_analyzer_stems_and_drops_stop_words(client):
    mappings = {"properties": {"body": {"type": "text", "analyzer": "english"}}}
    _index(client, "en", [{"body": "The students are studying"}, {"body": "A study of running"}], mappings)
    scores = _scores(client, "en", {"match": {"body": "study"}})
    assert set(scores) == {"0", "1"}
    # "the" and "are" are stop words: dl of doc 0 counts only "students studying" = 2 tokens
    assert scores["0"] == bm25(1, 2, 2 + 2, 2, 2)


def test_scores_survive_reopen_and_merge(tmp_path):
    import pinsearch
    url = f"embedded://{tmp_path / 'd'}"
    es = pinsearch.connect(url)
    es.indices.create(index="r", body={"mappings": WS_TEXT})
    for i in range(30):
        es.index(index="r", id=str(i), body={"body": f"term{i % 3} filler{i}"}, refresh=True)
    before = _scores(es, "r", {"match": {"body": "term1"}})
    es.indices.forcemerge(index="r", max_num_segments=1)
    assert _scores(es, "r", {"match": {"body": "term1"}}) == before
    pinsearch.close(es)
    es = pinsearch.connect(url)
    assert _scores(es, "r", {"match": {"body": "term1"}}) == before
    pinsearch.close(es)


def test_phrase_does_not_match_across_values_or_stop_word_gaps(client):
    mappings = {"properties": {"body": {"type": "text", "analyzer": "english"}}}
    _index(client, "gap", [{"body": ["red of", "shoes"]}, {"body": ["red shoes"]}, {"body": "red the shoes"}], mappings)
    assert set(_scores(client, "gap", {"match_phrase": {"body": "red shoes"}})) == {"1"}
