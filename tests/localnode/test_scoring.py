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


def _idf(doc_freq: int, doc_count: int) -> np.float32:
    return f32(np.log(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)))


def test_phrase_idf_of_three_terms_is_summed_in_double(client):
    """BM25Similarity.idfExplain(collection, terms[]): per-term float idfs summed in double, cast once.

    N = 3 with docFreqs 1, 2, 3 gives 1.5843643; adding in float32 would give 1.5843642."""
    docs = [{"body": "alpha beta gamma"}, {"body": "beta gamma"}, {"body": "gamma"}]
    _index(client, "phrase3", docs, WS_TEXT)
    idfs = [_idf(1, 3), _idf(2, 3), _idf(3, 3)]
    idf_sum = f32(float(idfs[0]) + float(idfs[1]) + float(idfs[2]))
    assert idf_sum == f32(1.5843643) and f32(f32(idfs[0] + idfs[1]) + idfs[2]) == f32(1.5843642)
    avgdl = f32(6 / 3.0)
    inv = f32(1) / f32(f32(1.2) * f32(f32(0.25) + f32(f32(f32(0.75) * f32(3)) / avgdl)))
    weight = f32(f32(2.2) * idf_sum)
    expected = f32(weight - f32(weight / f32(1 + f32(f32(1) * inv))))
    assert _scores(client, "phrase3", {"match_phrase": {"body": "alpha beta gamma"}}) == {"0": expected}
    mm = _scores(client, "phrase3", {"multi_match": {"query": "alpha beta gamma", "fields": ["body"], "type": "phrase"}})
    assert mm == {"0": expected}


FS_MAPPING = {"properties": {"body": {"type": "text", "analyzer": "whitespace"}, "tag": {"type": "keyword"},
                             "pop": {"type": "double"}}}
FS_DOCS = [{"body": "cat", "tag": "a", "pop": 4.0}, {"body": "cat dog", "tag": "b", "pop": 0.5},
           {"body": "cat", "tag": "c"}, {"body": "cat cat", "tag": "a", "pop": 2.0}]


def _fs_base() -> dict[str, np.float32]:
    total = 1 + 2 + 1 + 2
    return {"0": bm25(1, 1, total, 4, 4), "1": bm25(1, 2, total, 4, 4), "2": bm25(1, 1, total, 4, 4),
            "3": bm25(2, 2, total, 4, 4)}


@pytest.mark.parametrize("score_mode", ["multiply", "sum", "avg", "max", "min", "first"])
def test_function_score_weights_and_score_modes(client, score_mode):
    """FunctionScoreQuery.FunctionFactorScorer: float weights, double factors, default boost_mode multiply."""
    _index(client, "fsw", FS_DOCS, FS_MAPPING)
    functions = [{"filter": {"term": {"tag": "a"}}, "weight": 0.3},
                 {"filter": {"terms": {"tag": ["a", "b"]}}, "field_value_factor": {"field": "pop", "factor": 1.5},
                  "weight": 2},
                 {"filter": {"term": {"tag": "b"}}, "weight": 5}]
    query = {"function_score": {"query": {"match": {"body": "cat"}}, "functions": functions,
                                "score_mode": score_mode}}
    scores = _scores(client, "fsw", query)
    w = [float(f32(0.3)), 2.0, 5.0]                     # weights are Java floats
    pop = {"0": 4.0, "1": 0.5, "3": 2.0}
    applies = {"0": [0, 1], "1": [1, 2], "2": [], "3": [0, 1]}
    for doc, base in _fs_base().items():
        values = {0: w[0], 1: pop.get(doc, 0.0) * float(f32(1.5)) * w[1], 2: w[2]}
        matched = [values[i] for i in applies[doc]]
        if not matched:
            factor = 1.0
        elif score_mode == "multiply":
            factor = float(np.prod(matched))
        elif score_mode == "sum":
            factor = sum(matched)
        elif score_mode == "avg":
            factor = sum(matched) / sum(w[i] for i in applies[doc])
        elif score_mode == "max":
            factor = max(matched)
        elif score_mode == "min":
            factor = min(matched)
        else:
            factor = matched[0]
        assert scores[doc] == f32(float(base) * factor), (doc, score_mode)


def test_function_score_boost_modes_and_plain_weight(client):
    _index(client, "fsb", FS_DOCS, FS_MAPPING)
    base = _fs_base()
    weight = float(f32(0.7))
    plain = _scores(client, "fsb", {"function_score": {"query": {"match": {"body": "cat"}}, "weight": 0.7}})
    assert plain == {d: f32(float(s) * weight) for d, s in base.items()}   # default boost_mode: multiply
    for mode, combine in [("sum", lambda q, f: q + f), ("avg", lambda q, f: (q + f) / 2.0), ("replace", lambda q, f: f),
                          ("max", max), ("min", min)]:
        got = _scores(client, "fsb", {"function_score": {"query": {"match": {"body": "cat"}}, "weight": 0.7,
                                                         "boost_mode": mode}})
        assert got == {d: f32(combine(float(s), weight)) for d, s in base.items()}, mode
    capped = _scores(client, "fsb", {"function_score": {"query": {"match": {"body": "cat"}}, "weight": 5,
                                                        "max_boost": 1.1}})
    assert capped == {d: f32(float(s) * float(f32(1.1))) for d, s in base.items()}


def test_standalone_dis_max_with_tie_breaker(client):
    mappings = {"properties": {"title": {"type": "text", "analyzer": "whitespace"},
                               "desc": {"type": "text", "analyzer": "whitespace"}}}
    docs = [{"title": "blue shoe", "desc": "a blue shoe for running"}, {"title": "red hat", "desc": "blue"},
            {"title": "blue", "desc": "green"}]
    _index(client, "dm", docs, mappings)
    title_total, desc_total = 2 + 2 + 1, 5 + 1 + 1
    t_blue = {"0": bm25(1, 2, title_total, 3, 2), "2": bm25(1, 1, title_total, 3, 2)}
    t_shoe = {"0": bm25(1, 2, title_total, 3, 1)}
    d_blue = {"0": bm25(1, 5, desc_total, 3, 2), "1": bm25(1, 1, desc_total, 3, 2)}
    title_q = {d: double_sum(t_blue.get(d, f32(0)), t_shoe.get(d, f32(0))) for d in ("0", "2")}
    tie = float(f32(0.35))
    query = {"dis_max": {"queries": [{"match": {"title": "blue shoe"}}, {"match": {"desc": {"query": "blue",
                                                                                               "boost": 2}}}],
                         "tie_breaker": 0.35}}
    desc_q = {d: bm25(1, 5 if d == "0" else 1, desc_total, 3, 2, boost=2.0) for d in d_blue}
    expected = {}
    for doc in ("0", "1", "2"):
        parts = [s for s in (title_q.get(doc), desc_q.get(doc)) if s is not None]
        top = max(parts)
        expected[doc] = f32(float(top) + (sum(float(p) for p in parts) - float(top)) * tie)
    assert _scores(client, "dm", query) == expected
    assert _scores(client, "dm", {"dis_max": {"queries": query["dis_max"]["queries"]}}) == \
        {d: max(s for s in (title_q.get(d), desc_q.get(d)) if s is not None) for d in ("0", "1", "2")}


RESCORE_DOCS = [{"body": "fox"}, {"body": "fox fox quick"}, {"body": "quick brown fox jumps"}, {"body": "lazy dog"},
                {"body": "fox brown"}]


def _rescore_expected(client):
    _index(client, "rs", RESCORE_DOCS, WS_TEXT)
    total = 1 + 3 + 4 + 2 + 2
    first = {"0": bm25(1, 1, total, 5, 4), "1": bm25(2, 3, total, 5, 4), "2": bm25(1, 4, total, 5, 4),
             "4": bm25(1, 2, total, 5, 4)}
    brown = {"2": bm25(1, 4, total, 5, 2), "4": bm25(1, 2, total, 5, 2)}
    quick = {"1": bm25(1, 3, total, 5, 2), "2": bm25(1, 4, total, 5, 2)}
    return first, brown, quick


def _ranked(scores: dict[str, np.float32]) -> list[tuple[str, np.float32]]:
    order = sorted(scores, key=lambda d: (-float(scores[d]), int(d)))
    return [(d, scores[d]) for d in order]


@pytest.mark.parametrize("mode", ["multiply", "avg", "max", "min", "total"])
def test_rescore_score_modes(client, mode):
    first, brown, _ = _rescore_expected(client)
    qw, rw = f32(0.7), f32(1.6)
    window = [d for d, _ in _ranked(first)][:3]
    combine = {"multiply": lambda a, b: f32(a * b), "avg": lambda a, b: f32(f32(a + b) / f32(2)),
               "max": max, "min": min, "total": lambda a, b: f32(a + b)}[mode]
    expected = {}
    for doc, score in first.items():
        a = f32(score * qw)
        expected[doc] = combine(a, f32(brown[doc] * rw)) if doc in window and doc in brown else a
    body = {"query": {"match": {"body": "fox"}},
            "rescore": {"window_size": 3, "query": {"rescore_query": {"match": {"body": "brown"}},
                                                    "query_weight": 0.7, "rescore_query_weight": 1.6,
                                                    "score_mode": mode}}}
    hits = client.search(index="rs", body=body)["hits"]
    got = [(h["_id"], f32(h["_score"])) for h in hits["hits"]]
    assert got == _ranked(expected)
    assert f32(hits["max_score"]) == max(expected.values())


def test_two_rescores_apply_in_order(client):
    first, _, quick = _rescore_expected(client)
    brown2 = {"2": bm25(1, 4, 12, 5, 2, boost=2.0), "4": bm25(1, 2, 12, 5, 2, boost=2.0)}
    # 1st: window 3, multiply by the boosted "brown" score where it matches (doc 2 is outside the window);
    # 2nd: window 3 over the re-sorted list, total with 0.5 x "quick"
    after_one = {}
    window_one = [d for d, _ in _ranked(first)][:3]
    for doc, score in first.items():
        after_one[doc] = f32(score * brown2[doc]) if doc in window_one and doc in brown2 else score
    window_two = [d for d, _ in _ranked(after_one)][:3]
    after_two = {}
    for doc, score in after_one.items():
        after_two[doc] = f32(score + f32(quick[doc] * f32(0.5))) if doc in window_two and doc in quick else score
    body = {"query": {"match": {"body": "fox"}}, "rescore": [
        {"window_size": 3, "query": {"rescore_query": {"match": {"body": {"query": "brown", "boost": 2}}},
                                     "score_mode": "multiply"}},
        {"window_size": 3, "query": {"rescore_query": {"match": {"body": "quick"}}, "rescore_query_weight": 0.5}}]}
    got = [(h["_id"], f32(h["_score"])) for h in client.search(index="rs", body=body)["hits"]["hits"]]
    assert got == _ranked(after_two)
    assert [d for d, _ in _ranked(after_two)] == ["1", "4", "0", "2"]   # both rescores moved documents
    assert after_one["2"] == first["2"] and after_two["2"] == first["2"]  # outside both windows
