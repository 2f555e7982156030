"""Top-k pruning (MaxScore) must return exactly what scoring every match returns.

``track_total_hits: true`` forces the exhaustive path; ``false`` or a small threshold lets the
engine prune. Every query shape the pruning accepts is compared hit for hit, score for score (the
engine's scores are float32, so equality is exact), on an index with several segments and
deleted documents.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from localnode.search import daat

WORDS = ("red blue green garden kitchen home decor recipe easy dinner vegan cake bread wedding dress hair "
         "travel beach paris hiking camp road trip art drawing paint kids baby nursery room wood shelf").split()


def _text(rng: random.Random, low: int, high: int) -> str:
    # Zipf-like: early words are frequent, repeats give term frequencies above one.
    return " ".join(WORDS[min(int(rng.paretovariate(0.9)) - 1, len(WORDS) - 1)] for _ in range(rng.randint(low, high)))


@pytest.fixture(scope="module")
def pruning_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import pinsearch
    es = pinsearch.connect(f"embedded://{tmp_path_factory.mktemp('topk') / 'data'}")
    es.indices.create(index="p", body={"settings": {"refresh_interval": "-1"}, "mappings": {"properties": {
        "title": {"type": "text", "analyzer": "english"}, "body": {"type": "text"},
        "tag": {"type": "keyword"}}}})
    rng = random.Random(5)
    for batch in range(4):  # four refreshes -> four segments
        lines = []
        for i in range(batch * 700, (batch + 1) * 700):
            lines.append({"index": {"_index": "p", "_id": str(i)}})
            lines.append({"title": _text(rng, 2, 8), "body": _text(rng, 5, 60), "tag": rng.choice(WORDS[:6])})
        es.bulk(body=lines, refresh=True)
    es.bulk(body=[{"delete": {"_index": "p", "_id": str(i)}} for i in range(0, 2800, 7)], refresh=True)
    yield es
    pinsearch.close(es)


def _queries() -> list[dict[str, Any]]:
    rng = random.Random(11)
    out: list[dict[str, Any]] = []
    for _ in range(12):
        text = " ".join(rng.sample(WORDS, rng.randint(1, 4)))
        out += [
            {"match": {"body": text}},
            {"match": {"title": {"query": text, "boost": 2.5}}},
            {"multi_match": {"query": text, "fields": ["title^3", "body"]}},
            {"multi_match": {"query": text, "fields": ["title", "body"], "tie_breaker": 0.3}},
            {"multi_match": {"query": text, "fields": ["title", "body"], "type": "most_fields"}},
            {"bool": {"should": [{"match": {"title": text}}, {"match": {"body": {"query": text, "boost": 0.5}}},
                                 {"term": {"tag": text.split()[0]}}]}},
            {"dis_max": {"queries": [{"match": {"title": text}}, {"match": {"body": text}}], "tie_breaker": 0.7}},
        ]
    return out


def _hits(response: dict[str, Any]) -> list[tuple[str, float]]:
    return [(hit["_id"], hit["_score"]) for hit in response["hits"]["hits"]]


@pytest.mark.parametrize("size", [1, 10, 75])
def test_pruned_top_k_equals_exhaustive(pruning_index: Any, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    kernel = daat.maxscore_segment
    monkeypatch.setattr(daat, "maxscore_segment", lambda *a: calls.append(1) or kernel(*a))
    for query in _queries():
        exhaustive = pruning_index.search(index="p", body={"query": query, "size": size, "track_total_hits": True})
        calls.clear()
        pruned = pruning_index.search(index="p", body={"query": query, "size": size, "track_total_hits": False})
        assert calls, f"pruning did not run for {query}"
        assert _hits(pruned) == _hits(exhaustive), query
        assert pruned["hits"]["max_score"] == exhaustive["hits"]["max_score"]
        assert "total" not in pruned["hits"]


def test_pruned_total_is_a_true_lower_bound(pruning_index: Any) -> None:
    body = {"query": {"match": {"body": "red blue"}}, "size": 5}
    exact = pruning_index.search(index="p", body={**body, "track_total_hits": True})["hits"]["total"]["value"]
    assert exact > 100
    pruned = pruning_index.search(index="p", body={**body, "track_total_hits": 100})
    assert pruned["hits"]["total"] == {"value": 100, "relation": "gte"}
    exhaustive = pruning_index.search(index="p", body={**body, "track_total_hits": exact})
    assert exhaustive["hits"]["total"] == {"value": exact, "relation": "eq"}
    assert _hits(pruned) == _hits(exhaustive)


def test_count_threshold_passed_by_the_union_only(pruning_index: Any) -> None:
    """No clause alone passes the threshold but their union does: the engine counts exactly up to
    the threshold, then prunes (as Lucene's collector does), and the hits are still the exact top k."""
    index = pruning_index.transport.get_connection().node.indices["p"]
    reader = index.reader
    rare = sorted(WORDS, key=lambda w: reader.term_stats("body", w)[0])
    terms = [w for w in rare if reader.term_stats("body", w)[0] > 0][:4]
    biggest = max(reader.term_stats("body", w)[0] for w in terms)
    body = {"query": {"match": {"body": " ".join(terms)}}, "size": 10}
    exact = pruning_index.search(index="p", body={**body, "track_total_hits": True})
    union = exact["hits"]["total"]["value"]
    assert biggest < union - 1   # a threshold between the largest clause and the union exists
    threshold = (biggest + union) // 2
    between = pruning_index.search(index="p", body={**body, "track_total_hits": threshold})
    assert between["hits"]["total"] == {"value": threshold, "relation": "gte"}
    assert _hits(between) == _hits(exact)
    at_union = pruning_index.search(index="p", body={**body, "track_total_hits": union})
    assert at_union["hits"]["total"] == {"value": union, "relation": "eq"}
    assert _hits(at_union) == _hits(exact)


def test_pruned_top_k_feeds_rescore_window(pruning_index: Any) -> None:
    rescore = {"window_size": 40, "query": {"rescore_query": {"match": {"title": "garden"}},
                                            "query_weight": 0.5, "rescore_query_weight": 2.0}}
    body = {"query": {"multi_match": {"query": "home kitchen", "fields": ["title", "body"]}}, "size": 15,
            "rescore": rescore}
    pruned = pruning_index.search(index="p", body={**body, "track_total_hits": False})
    exhaustive = pruning_index.search(index="p", body={**body, "track_total_hits": True})
    assert _hits(pruned) == _hits(exhaustive)


def test_queries_outside_the_pruning_shapes_still_answer(pruning_index: Any) -> None:
    # a conjunction is not pruned: it must give the exhaustive answer through the normal path
    body = {"query": {"match": {"body": {"query": "red blue", "operator": "and"}}}, "size": 10}
    a = pruning_index.search(index="p", body={**body, "track_total_hits": False})
    b = pruning_index.search(index="p", body={**body, "track_total_hits": True})
    assert _hits(a) == _hits(b) and len(_hits(a)) == 10


def test_kernel_scores_equal_the_vectorised_path(pruning_index: Any) -> None:
    """The compiled kernel (pruning or not) against the numpy evaluation of the same weight."""
    import numpy as np

    from localnode.search.execute import collect_matches, parse_for_index, top_by_score
    from localnode.search.query import Searcher
    from localnode.search.topk import pruned_top_k
    index = pruning_index.transport.get_connection().node.indices["p"]
    searcher = Searcher(index, index.reader)
    for query in _queries():
        weight = parse_for_index(index, {"query": query}).weight(searcher)
        docs, scores = collect_matches(searcher, weight)
        expected_docs, expected_scores = top_by_score(docs, scores, 40)
        for track in (True, False, 10):
            found = pruned_top_k(searcher, weight, 40, track)
            assert found is not None, query
            got_docs, got_scores, total = found
            assert got_docs.tolist() == expected_docs.tolist(), (query, track)
            assert np.array_equal(got_scores, expected_scores), (query, track)
            if track is True:
                assert total == len(docs)
            elif track == 10 and total <= 10:
                assert total == len(docs)


def test_window_membership_equals_set_membership() -> None:
    """``Matches.restrict`` and ``members`` (binary search on sorted ids) agree with a set test,
    for sorted and unsorted match sets, empty sides and windows reaching past the matches."""
    import numpy as np

    from localnode.search.matches import Matches, members
    rng = np.random.default_rng(4)
    for _ in range(200):
        found = np.unique(rng.integers(0, 500, rng.integers(0, 60))).astype(np.int32)
        window = np.unique(rng.integers(0, 520, rng.integers(0, 40))).astype(np.int32)
        expected = np.isin(window, found)
        assert np.array_equal(members(window, found), expected)
        assert np.array_equal(members(window, rng.permutation(found)), expected)
        scores = rng.random(len(found)).astype(np.float32)
        kept = Matches(found, scores).restrict(window)
        keep = np.isin(found, window)
        assert np.array_equal(kept.docs, found[keep]) and np.array_equal(kept.scores, scores[keep])


def test_segments_without_one_of_the_fields(tmp_path: Any) -> None:
    """A multi-field query over segments where no document has one of the fields (that field has no
    postings there): the top-k path answers as the exhaustive evaluation does, instead of failing."""
    import numpy as np

    import pinsearch
    from localnode.search.execute import collect_matches, parse_for_index, top_by_score
    from localnode.search.query import Searcher
    from localnode.search.topk import pruned_top_k
    es = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    try:
        es.indices.create(index="m", body={"settings": {"refresh_interval": "-1"}, "mappings": {"properties": {
            "title": {"type": "text"}, "body": {"type": "text"}}}})
        rng = random.Random(3)
        es.bulk(body=[line for i in range(200) for line in ({"index": {"_index": "m", "_id": f"t{i}"}},
                                                             {"title": _text(rng, 2, 8)})], refresh=True)
        es.bulk(body=[line for i in range(200) for line in ({"index": {"_index": "m", "_id": f"b{i}"}},
                                                             {"body": _text(rng, 5, 30)})], refresh=True)
        index = es.transport.get_connection().node.indices["m"]
        assert len(index.reader.segments) == 2
        searcher = Searcher(index, index.reader)
        for text in ("red blue", "garden kitchen home", "wedding"):
            query = {"multi_match": {"query": text, "fields": ["title", "body"]}}
            weight = parse_for_index(index, {"query": query}).weight(searcher)
            docs, scores = collect_matches(searcher, weight)
            expected_docs, expected_scores = top_by_score(docs, scores, 10)
            found = pruned_top_k(searcher, weight, 10, True)
            assert found is not None
            assert found[0].tolist() == expected_docs.tolist()
            assert np.array_equal(found[1], expected_scores)
            assert found[2] == len(docs)
            assert es.search(index="m", body={"query": query})["hits"]["total"]["value"] == len(docs)
    finally:
        pinsearch.close(es)
