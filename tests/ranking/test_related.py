"""Related Pins: the single request's shape, and its quality on the XS sample through the embedded engine."""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import pytest

import pinsearch
from indexer.documents import PinSignals
from indexer.reindex import reindex_corpus
from indexer.signals.cooccurrence import cooccurrence_candidates
from indexer.signals.pin2vec import pin2vec_vectors
from ranking.metrics import ndcg_at_k
from ranking.related import RelatedPinsError, RelatedRequest, build_related_body, related_pins


def test_body_unions_sources_and_excludes_duplicates() -> None:
    query = {"pin_id": "p1.x", "title": "vegan soup", "image_signature": "sig", "pin2vec": [0.1] * 128,
             "annotations": {"a1": 0.8, "a2": 0.6}}
    rescore = {"window_size": 50, "query": {"rescore_query": {"match_all": {}}}}
    body = build_related_body(query, RelatedRequest("p1.x", k=7, rescore=rescore))
    should = body["query"]["bool"]["should"]
    assert should[0]["rank_feature"]["field"] == "cooccur.p1_x"
    assert should[1]["knn"]["pin2vec"]["k"] == 100 and len(should[1]["knn"]["pin2vec"]["vector"]) == 128
    assert [c["rank_feature"]["field"] for c in should[2]["bool"]["should"]] == ["annotations.a1", "annotations.a2"]
    assert {"term": {"image_signature": "sig"}} in body["query"]["bool"]["must_not"]
    assert {"term": {"pin_id": "p1.x"}} in body["query"]["bool"]["must_not"]
    assert body["rescore"] == rescore and body["size"] == 7
    # without vector and annotations: co-occurrence plus a text fallback
    body = build_related_body({"title": "vegan soup", "board_names": ["soups"]},
                              RelatedRequest("p2", rescore=lambda q: {"window_size": 10, "query": {}}))
    names = [next(iter(c.values()))["_name"] for c in body["query"]["bool"]["should"]]
    assert names == ["cooccurrence", "content"] and body["rescore"]["window_size"] == 10


@pytest.fixture(scope="module")
def xs_index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from indexer.corpus.sample import generate_sample
    root = tmp_path_factory.mktemp("xs_related")
    generate_sample(root, "XS", 0, progress=False, overwrite=True)
    corpus = root / "corpus"
    vectors, cooccur = pin2vec_vectors(corpus), cooccurrence_candidates(corpus)
    es = pinsearch.connect(f"embedded://{root / 'data'}")
    reindex_corpus(es, corpus, progress=False,
                   signals=lambda p: PinSignals(cooccur=cooccur.get(p.id, {}), pin2vec=vectors.get(p.id)))
    judgements: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for line in (root / "ground_truth" / "related_relevance.jsonl").read_text().splitlines():
        row = json.loads(line)
        judgements[row["query_pin"]][row["pin_id"]] = row["relevance"]
    pins = {json.loads(l)["id"]: json.loads(l) for l in (corpus / "pins.jsonl").read_text().splitlines()}
    yield es, judgements, pins
    pinsearch.close(es)


def _ndcg(es, judgements, queries, **params) -> float:  # type: ignore[no-untyped-def]
    scores = [ndcg_at_k([h.pin_id for h in related_pins(es, q, request=RelatedRequest(q, 10, **params)).hits],
                        judgements[q], 10) for q in queries]
    return sum(scores) / len(scores)


def test_related_pins_quality_and_blend(xs_index) -> None:  # type: ignore[no-untyped-def]
    es, judgements, _ = xs_index
    queries = sorted(judgements)[:60]
    blend = _ndcg(es, judgements, queries)
    only_pin2vec = _ndcg(es, judgements, queries, cooccur_weight=0, text_weight=0)
    assert blend >= 0.65, blend
    assert blend > only_pin2vec


def test_results_exclude_query_and_its_image_duplicates(xs_index) -> None:  # type: ignore[no-untyped-def]
    es, _, pins = xs_index
    by_sig: dict[str, list[str]] = collections.defaultdict(list)
    for pid, pin in pins.items():
        by_sig[pin.get("image_signature")].append(pid)
    query = next(ids[0] for sig, ids in by_sig.items() if sig and len(ids) > 1)
    result = related_pins(es, query, 30, explain=True)
    ids = [h.pin_id for h in result.hits]
    assert query not in ids and not set(by_sig[pins[query]["image_signature"]]) & set(ids)
    assert all(h.sources for h in result.hits)
    co = [h for h in result.hits if "cooccurrence" in h.sources]
    assert all(h.source_scores["cooccurrence_shared_boards"] >= 1 for h in co)
    assert result.to_dict()["source_counts"]["pin2vec"] > 0


def test_unknown_pin_is_a_clear_error(xs_index) -> None:  # type: ignore[no-untyped-def]
    es, _, _ = xs_index
    with pytest.raises(RelatedPinsError, match="nope"):
        related_pins(es, "nope")


def test_cli_registers_related_and_shares_the_eval_parser() -> None:
    from pinsearch.commands import related as cmd
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    other = sub.add_parser("eval")  # another engineer's module registered first
    other._eval_sub = other.add_subparsers(dest="eval_command")
    other._eval_sub.add_parser("letor")
    cmd.register(sub, common)
    args = parser.parse_args(["related", "p1", "--k", "5", "--explain", "--json"])
    assert args.handler is cmd.cmd_related and args.k == 5 and args.explain
    args = parser.parse_args(["eval", "related", "--boards", "a", "--heldout", "b"])
    assert args.handler is cmd.cmd_eval_related
    assert {"letor", "related", "sessions"} <= set(other._eval_sub.choices)


def test_cli_related_prints_sources_and_matches_the_library(xs_index, capsys) -> None:  # type: ignore[no-untyped-def]
    from pinsearch.cli import main
    es, judgements, _ = xs_index
    data = es.transport.get_connection().node.data_path
    pin = sorted(judgements)[0]
    assert main(["--cluster", f"embedded://{data}", "--json", "related", pin, "--k", "5", "--explain"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = related_pins(es, pin, 5, explain=True)
    assert [h["pin_id"] for h in printed["hits"]] == [h.pin_id for h in expected.hits] and len(expected.hits) == 5
    assert pin not in {h["pin_id"] for h in printed["hits"]}
    assert all(h["sources"] for h in printed["hits"]) and "request" in json.dumps(printed)
    assert main(["--cluster", f"embedded://{data}", "related", pin, "--k", "3", "--explain"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Related Pins of {pin}") and text.count("\n") >= 4
    assert main(["--cluster", f"embedded://{data}", "related", "no-such-pin"]) == 1
    assert "no-such-pin" in capsys.readouterr().err
