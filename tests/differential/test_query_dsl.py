"""Every query type and search option in the README's support table, on real multilingual text,
answered by localnode and by the real node: same hits, same order, same float32 scores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.corpus import PAGES_MAPPING, QUESTIONS_MAPPING, pages, questions
from tests.differential.harness import Pair, check, compare_analyze, compare_count, compare_search


@pytest.fixture(scope="module")
def indexes(pair: Pair, shared_data_module) -> dict[str, str]:  # type: ignore[no-untyped-def]
    docs = list(pages(shared_data_module))
    return {
        "pages": pair.create("pages", PAGES_MAPPING, docs),
        "pages3": pair.create("pages3", PAGES_MAPPING, docs, batches=3),
        "questions": pair.create("questions", QUESTIONS_MAPPING, list(questions(shared_data_module))),
    }


@pytest.fixture(scope="module")
def shared_data_module():  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED_DATA
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data sets not found at {SHARED_DATA}")
    return SHARED_DATA


# name -> (index key, body). Each body is sent to both engines as is.
SEARCHES: dict[str, tuple[str, dict[str, Any]]] = {
    # full text
    "match": ("pages", {"query": {"match": {"body": "javascript code coverage"}}}),
    "match_and": ("pages", {"query": {"match": {"body": {"query": "the web page", "operator": "and"}}}}),
    "match_msm": ("pages", {"query": {"match": {"body": {"query": "fonts css layout browser", "minimum_should_match": "50%"}}}}),
    "match_english": ("pages", {"query": {"match": {"excerpt": "running libraries"}}, "size": 20}),
    "match_boost": ("pages", {"query": {"match": {"title": {"query": "news", "boost": 2.5}}}}),
    "match_french": ("pages", {"query": {"match": {"body": "les données de la république"}}}),
    "match_spanish": ("pages", {"query": {"match": {"body": "el gobierno de españa"}}}),
    "match_cjk": ("pages", {"query": {"match": {"body": "中文"}}}),
    "match_questions": ("questions", {"query": {"match": {"text": "what is the name of the first president"}}, "size": 25}),
    "match_questions_en": ("questions", {"query": {"match": {"text.en": "countries cities largest"}}, "size": 25}),
    "match_questions_deep": ("questions", {"query": {"match": {"text": "who how many"}}, "from": 90, "size": 15}),
    "match_3segments": ("pages3", {"query": {"match": {"body": "javascript code coverage"}}}),
    "multi_match_best": ("pages", {"query": {"multi_match": {"query": "open source software", "fields": ["title^3", "excerpt", "body"]}}}),
    "multi_match_tie": ("pages", {"query": {"multi_match": {"query": "open source software", "fields": ["title", "body"], "tie_breaker": 0.3}}}),
    "multi_match_most": ("pages", {"query": {"multi_match": {"query": "mozilla firefox", "type": "most_fields", "fields": ["title", "title.en", "body"]}}}),
    "multi_match_phrase": ("pages", {"query": {"multi_match": {"query": "open source", "type": "phrase", "fields": ["title", "body"]}}}),
    "multi_match_questions": ("questions", {"query": {"multi_match": {"query": "capital city country", "fields": ["text", "text.en^0.5"]}}, "size": 30}),
    "match_phrase": ("pages", {"query": {"match_phrase": {"body": "the first time"}}}),
    "match_phrase_questions": ("questions", {"query": {"match_phrase": {"text": "how many"}}, "size": 30}),
    # term level
    "term_keyword": ("pages", {"query": {"term": {"lang": "fr"}}}),
    "term_boolean": ("pages", {"query": {"term": {"readerable": False}}}),
    "term_text": ("pages", {"query": {"term": {"body": "browser"}}}),
    "terms": ("pages", {"query": {"terms": {"lang": ["es", "de", "cs"]}}}),
    "ids": ("pages", {"query": {"ids": {"values": ["001", "002", "nope"]}}}),
    "range_int": ("pages", {"query": {"range": {"length": {"gte": 1000, "lt": 2500}}}}),
    "range_date": ("pages", {"query": {"range": {"published": {"gte": "2015-01-01", "lte": "2019-12-31||/y"}}}}),
    "range_date_format": ("pages", {"query": {"range": {"published": {"gt": "01/06/2012", "format": "dd/MM/yyyy"}}}}),
    "range_date_format_lte": ("pages", {"query": {"range": {"published": {"lte": "2016", "format": "yyyy"}}}, "size": 40}),
    "range_date_format_time": ("pages", {"query": {"range": {"published": {"gte": "5.3.16 00:00", "format": "d.M.yy HH:mm||strict_date_optional_time"}}}, "size": 40}),
    "exists": ("pages", {"query": {"exists": {"field": "site"}}}),
    "match_all": ("pages", {"query": {"match_all": {}}, "size": 50}),
    "match_all_boost": ("pages", {"query": {"match_all": {"boost": 1.7}}, "size": 5}),
    "match_none": ("pages", {"query": {"match_none": {}}}),
    "term_coarse": ("questions", {"query": {"term": {"coarse": "LOC"}}, "size": 20}),
    # compound
    "bool": ("pages", {"query": {"bool": {"must": [{"match": {"body": "data"}}],
                                          "should": [{"match": {"title": "web"}}, {"term": {"lang": "en"}}],
                                          "must_not": [{"term": {"readerable": False}}],
                                          "filter": [{"range": {"words": {"gte": 50}}}]}}}),
    "bool_should_msm": ("pages", {"query": {"bool": {"should": [{"match": {"body": "css"}}, {"match": {"body": "html"}},
                                                                 {"match": {"body": "javascript"}}], "minimum_should_match": 2}}}),
    "bool_filter_only": ("pages", {"query": {"bool": {"filter": [{"term": {"lang": "en"}}]}}, "size": 30}),
    "bool_nested": ("questions", {"query": {"bool": {"should": [{"bool": {"must": [{"match": {"text": "first"}}, {"term": {"coarse": "HUM"}}]}},
                                                                  {"match_phrase": {"text": "the world"}}]}}, "size": 20}),
    "dis_max": ("pages", {"query": {"dis_max": {"queries": [{"match": {"title": "mozilla"}}, {"match": {"body": "mozilla"}}], "tie_breaker": 0.7}}}),
    "constant_score": ("pages", {"query": {"constant_score": {"filter": {"term": {"lang": "en"}}, "boost": 1.2}}, "size": 30}),
    "function_score_fvf": ("pages", {"query": {"function_score": {"query": {"match": {"body": "web"}},
                                                                  "field_value_factor": {"field": "words", "modifier": "log1p", "factor": 0.5, "missing": 1}}}}),
    "function_score_weight": ("pages", {"query": {"function_score": {"query": {"match": {"body": "web"}},
                                                                     "functions": [{"filter": {"term": {"lang": "en"}}, "weight": 3},
                                                                                   {"field_value_factor": {"field": "length", "modifier": "sqrt"}}],
                                                                     "score_mode": "sum", "boost_mode": "multiply"}}}),
    # rank features and vectors
    "rank_feature_saturation": ("pages", {"query": {"rank_feature": {"field": "quality"}}}),
    "rank_feature_saturation_pivot": ("pages", {"query": {"rank_feature": {"field": "quality", "saturation": {"pivot": 3.5}}}}),
    "rank_feature_log": ("pages", {"query": {"rank_feature": {"field": "quality", "log": {"scaling_factor": 2}}}}),
    "rank_feature_sigmoid": ("pages", {"query": {"rank_feature": {"field": "quality", "sigmoid": {"pivot": 2, "exponent": 0.6}}}}),
    "rank_feature_linear": ("pages", {"query": {"rank_feature": {"field": "quality", "linear": {}}}}),
    "rank_features_linear": ("pages", {"query": {"bool": {"should": [
        {"rank_feature": {"field": "topics.function", "linear": {}, "boost": 0.7}},
        {"rank_feature": {"field": "topics.which", "linear": {}, "boost": 0.3}},
        {"rank_feature": {"field": "topics.their", "saturation": {"pivot": 1.5}}}]}}}),
    "rank_feature_in_bool": ("pages", {"query": {"bool": {"must": {"match": {"body": "page"}},
                                                          "should": {"rank_feature": {"field": "quality", "boost": 2}}}}}),
    "knn": ("pages", {"query": {"knn": {"vec": {"vector": [1, 0, 2, 0, -1, 0, 0.5, 3], "k": 10}}}, "size": 10}),
    "knn_small_size": ("pages", {"query": {"knn": {"vec": {"vector": [1, 0, 2, 0, -1, 0, 0.5, 3], "k": 10}}}, "size": 4}),
    "knn_filter": ("pages", {"query": {"knn": {"vec": {"vector": [0, 1, 0, 1, 0, 1, 0, 1], "k": 5, "filter": {"term": {"lang": "en"}}}}}}),
    "knn_max_distance": ("pages", {"query": {"knn": {"vec": {"vector": [0, 1, 0, 1, 0, 1, 0, 1], "max_distance": 400}}}, "size": 100}),
    "knn_min_score": ("pages", {"query": {"knn": {"vec": {"vector": [0, 1, 0, 1, 0, 1, 0, 1], "min_score": 0.002}}}, "size": 100}),
    "knn_named_in_bool": ("pages", {"query": {"bool": {"should": [{"knn": {"vec": {"vector": [3, 1, 0, 1, 0, 1, 0, 1], "k": 8, "_name": "vec"}}},
                                                                    {"match": {"title": {"query": "web", "_name": "title"}}}]}}}),
    "knn_3segments": ("pages3", {"query": {"knn": {"vec": {"vector": [1, 0, 2, 0, -1, 0, 0.5, 3], "k": 10}}}}),
    "script_score_knn": ("pages", {"query": {"script_score": {"query": {"term": {"lang": "en"}}, "script": {
        "source": "knn_score", "lang": "knn", "params": {"field": "vec", "query_value": [1, 1, 0, 0, 2, 0, 0, 1], "space_type": "l2"}}}}}),
    "script_score_knn_cosine": ("pages", {"query": {"script_score": {"query": {"match_all": {}}, "script": {
        "source": "knn_score", "lang": "knn", "params": {"field": "vec", "query_value": [1, 1, 0, 0, 2, 0, 0, 1], "space_type": "cosinesimil"}}}}}),
    "script_score_knn_ip": ("pages", {"query": {"script_score": {"query": {"match_all": {}}, "script": {
        "source": "knn_score", "lang": "knn", "params": {"field": "vec", "query_value": [1, -1, 0, 0, 2, 0, 0, 1], "space_type": "innerproduct"}}}}}),
    # search options
    "from_size": ("questions", {"query": {"match": {"text": "what"}}, "from": 37, "size": 11}),
    "sort_field": ("pages", {"query": {"match": {"body": "web"}}, "sort": [{"length": "desc"}, "_score"]}),
    "sort_keyword": ("pages", {"query": {"match_all": {}}, "sort": [{"lang": "asc"}, {"title.raw": "desc"}], "size": 20}),
    "sort_date_missing": ("pages", {"query": {"match_all": {}}, "sort": [{"published": {"order": "asc"}}], "size": 15}),
    "source_filter": ("pages", {"query": {"match": {"body": "news"}}, "_source": ["title", "lang"]}),
    "source_false": ("pages", {"query": {"match": {"body": "news"}}, "_source": False}),
    "source_excludes": ("pages", {"query": {"match": {"body": "news"}}, "_source": {"excludes": ["body", "vec", "topics"]}}),
    "track_total_false": ("questions", {"query": {"match": {"text": "what"}}, "track_total_hits": False}),
    "track_total_100": ("questions", {"query": {"match": {"text": "what"}}, "track_total_hits": 100}),
    "track_total_true": ("questions", {"query": {"match": {"text": "what the"}}, "track_total_hits": True}),
    "explain": ("pages", {"query": {"match": {"body": "javascript code"}}, "explain": True, "size": 5}),
    "explain_bool": ("pages", {"query": {"bool": {"must": {"match": {"body": "page"}}, "should": {"rank_feature": {"field": "quality"}}}},
                               "explain": True, "size": 5}),
    "min_score": ("pages", {"query": {"match": {"body": "web browser page"}}, "min_score": 2.5}),
    "post_filter": ("pages", {"query": {"match": {"body": "web"}}, "post_filter": {"term": {"lang": "en"}}}),
    "rescore": ("pages", {"query": {"match": {"body": "web"}}, "rescore": {"window_size": 20, "query": {
        "rescore_query": {"match_phrase": {"body": "the web"}}, "query_weight": 0.7, "rescore_query_weight": 1.3}}}),
    "rescore_multiply": ("pages", {"query": {"match": {"body": "web"}}, "rescore": {"window_size": 5, "query": {
        "rescore_query": {"rank_feature": {"field": "quality"}}, "score_mode": "multiply"}}}),
    "version": ("pages", {"query": {"term": {"lang": "fr"}}, "version": True}),
    "matched_queries": ("pages", {"query": {"bool": {"should": [{"match": {"title": {"query": "web", "_name": "t"}}},
                                                                {"match": {"body": {"query": "web", "_name": "b"}}},
                                                                {"term": {"lang": {"value": "en", "_name": "en"}}}]}}}),
    "matched_queries_scores": ("pages", {"query": {"bool": {"should": [{"match": {"title": {"query": "web", "_name": "t"}}},
                                                                       {"match": {"body": {"query": "web", "_name": "b"}}}]}}},
                               ),
}


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_search(pair: Pair, indexes: dict[str, str], name: str) -> None:
    index, body = SEARCHES[name]
    params = {"include_named_queries_score": "true"} if name == "matched_queries_scores" else None
    local, real = pair.both("POST", f"/{indexes[index]}/_search", body, params)
    assert real.status == 200, f"the real node refused the request: {real.body}"
    check(compare_search(local, real), context=name)


COUNTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "all": ("pages", None),
    "match": ("questions", {"query": {"match": {"text": "how many"}}}),
    "range": ("pages", {"query": {"range": {"published": {"gte": "now-20y/y"}}}}),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_count(pair: Pair, indexes: dict[str, str], name: str) -> None:
    index, body = COUNTS[name]
    local, real = pair.both("POST", f"/{indexes[index]}/_count", body)
    check(compare_count(local, real), context=f"count {name}")


ANALYZE_TEXT = ("The Quick-Brown foxes' jumped over 3.5 lazy dogs at https://example.com/a_b, "
                "l'État français, São Paulo; 東京タワー and Ελληνικά running")


@pytest.mark.parametrize("analyzer", ["standard", "english", "simple", "whitespace", "keyword", "stop"])
def test_analyze_builtin(pair: Pair, analyzer: str) -> None:
    local, real = pair.both("POST", "/_analyze", {"analyzer": analyzer, "text": ANALYZE_TEXT})
    check(compare_analyze(local, real), context=f"_analyze {analyzer}")


def test_analyze_custom_and_pages(pair: Pair, indexes: dict[str, str], shared_data_module) -> None:  # type: ignore[no-untyped-def]
    local, real = pair.both("POST", f"/{indexes['pages']}/_analyze", {"analyzer": "folded", "text": ANALYZE_TEXT})
    check(compare_analyze(local, real), context="_analyze custom")
    for doc in list(pages(shared_data_module))[::9]:
        for analyzer in ("standard", "english"):
            local, real = pair.both("POST", "/_analyze", {"analyzer": analyzer, "text": doc["body"][:1500]})
            check(compare_analyze(local, real), context=f"_analyze {analyzer} of page {doc['_id']}")


ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown_query": ("pages", {"query": {"no_such_query": {}}}),
    "term_number_format": ("pages", {"query": {"term": {"length": "abc"}}}),
    "bad_size": ("pages", {"query": {"match_all": {}}, "size": -2}),
    "knn_wrong_dimension": ("pages", {"query": {"knn": {"vec": {"vector": [1, 2], "k": 3}}}}),
    "rank_feature_two_functions": ("pages", {"query": {"rank_feature": {"field": "quality", "log": {"scaling_factor": 1}, "linear": {}}}}),
    "unknown_field_in_match": ("pages", {"query": {"match": {"body": {"query": "x", "nonsense": 1}}}}),
    "missing_index": ("nope", {"query": {"match_all": {}}}),
    "malformed_bool": ("pages", {"query": {"bool": {"must": "x"}}}),
    "bool_number_clause": ("pages", {"query": {"bool": {"should": 3}}}),
    "bool_non_object_item": ("pages", {"query": {"bool": {"must_not": [1]}}}),
    "range_bad_date": ("pages", {"query": {"range": {"published": {"gte": "yesterday"}}}}),
    "range_date_wrong_format": ("pages", {"query": {"range": {"published": {"gte": "2014-05-06", "format": "dd/MM/yyyy"}}}}),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error(pair: Pair, indexes: dict[str, str], name: str) -> None:
    index, body = ERRORS[name]
    target = indexes.get(index, pair.name(index))
    local, real = pair.both("POST", f"/{target}/_search", body)
    assert real.is_error, f"the real node accepted it: {real.body}"
    check(compare_search(local, real), context=f"error {name}")
