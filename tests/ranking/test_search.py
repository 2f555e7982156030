"""The search first pass: BM25 or query annotations retrieve, interests and popularity only score.

Scores are checked against the formulas the request implies (rank_feature ``linear`` is the stored
value decoded to 9 significant bits, times the clause boost), on the real pins mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pinsearch
from indexer.documents import load_pins_mapping
from ranking.ltr.featuresets import QuerySignals
from ranking.search import ANNOTATION_WEIGHT, INTEREST_WEIGHTS, build_search_body, search_pins


def _rank_feature_value(x: float) -> np.float32:
    """What a rank feature stores: the float32 with its low 15 mantissa bits cleared (9 significant bits)."""
    bits = np.array([x], dtype=np.float32).view(np.int32)[0] & ~0x7FFF
    return np.array([bits], dtype=np.int32).view(np.float32)[0]


@pytest.fixture()
def es(tmp_path: Path) -> Any:
    client = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    body = load_pins_mapping()
    client.indices.create(index="pins-v1", body={"settings": body["settings"], "mappings": body["mappings"],
                                                 "aliases": {"pins": {}}})
    docs = {
        "text": {"pin_id": "text", "title": "vegan dinner ideas", "description": "quick weeknight meals"},
        "annotated": {"pin_id": "annotated", "title": "lentil curry", "description": "one pot",
                      "annotations": {"a_vegan": 0.75}, "interests_l1": {"10": 0.5}},
        "interest_only": {"pin_id": "interest_only", "title": "garden shed", "description": "tools",
                          "interests_l1": {"10": 0.9}},
    }
    for pin, doc in docs.items():
        client.index(index="pins", id=pin, body=doc)
    client.indices.refresh(index="pins")
    yield client
    pinsearch.close(client)


def test_annotations_retrieve_pins_whose_words_differ(es: Any) -> None:
    signals = QuerySignals(annotations={"a_vegan": 0.9}, interests={1: {"10": 0.6}})
    without = {h.pin_id for h in search_pins(es, "vegan dinner", 10)}
    with_signals = {h.pin_id: h.score for h in search_pins(es, "vegan dinner", 10, signals=signals)}
    assert without == {"text"}
    # the annotated pin shares no word with the query; the interest-only pin is not retrieved
    assert set(with_signals) == {"text", "annotated"}
    # annotated: annotation cosine (one clause, boost 1.0) x weight + the level-1 interest cosine x weight
    expected = np.float32(ANNOTATION_WEIGHT) * _rank_feature_value(0.75) \
        + np.float32(INTEREST_WEIGHTS[1]) * _rank_feature_value(0.5)
    assert np.float32(with_signals["annotated"]) == pytest.approx(float(expected), rel=1e-6)


def test_body_without_signals_is_bm25_and_popularity() -> None:
    body = build_search_body("vegan dinner", 5)
    must = body["query"]["bool"]["must"]
    assert list(must[0]) == ["multi_match"]
    assert [next(iter(c)) for c in body["query"]["bool"]["should"]] == ["rank_feature"]
    # an empty signal set is the same request
    assert build_search_body("vegan dinner", 5, signals=QuerySignals()) == body


def test_interest_levels_and_weights_are_scoring_clauses_only() -> None:
    signals = QuerySignals(annotations=None, interests={1: {"10": 0.6}, 2: {"10.3": 0.4}, 3: {"10.3.1": 0.2}})
    body = build_search_body("soup", 5, signals=signals, interest_weights={1: 0.0, 3: 2.0})
    should = body["query"]["bool"]["should"]
    fields = [c["bool"]["should"][0]["rank_feature"]["field"] for c in should if "bool" in c]
    assert fields == ["interests_l3.10.3.1"] and should[0]["bool"]["boost"] == 2.0
    assert list(body["query"]["bool"]["must"][0]) == ["multi_match"]


def test_web_page_search_uses_the_query_signals(es: Any, tmp_path: Path) -> None:
    """The page's search endpoint builds the same first pass as ``pinsearch search`` with the cache's models."""
    import json
    import urllib.request

    from pinsearch.server.http import ServerConfig, start_server, stop_server
    signals = QuerySignals(annotations={"a_vegan": 0.9}, interests={1: {"10": 0.6}})
    srv, thread = start_server(ServerConfig(data_path=str(tmp_path / "data"), port=0))
    try:
        def page(q: str) -> dict[str, float]:
            with urllib.request.urlopen(f"{srv.url}/_pinsearch/api/search?q={q}&ltr=0") as response:
                return {h["pin_id"]: h["score"] for h in json.load(response)["hits"]}
        assert set(page("vegan+dinner")) == {"text"}          # no cache: BM25 and popularity
        srv.query_signals = lambda query: signals
        expected = {h.pin_id: h.score for h in search_pins(es, "vegan dinner", 20, signals=signals)}
        assert page("vegan+dinner") == pytest.approx(expected) and "annotated" in expected
    finally:
        stop_server(srv, thread)
