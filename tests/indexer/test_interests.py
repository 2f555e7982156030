"""Pin2Interest on an XS sample corpus: candidates, ranker quality, roll-up, instant/Q2I, batch
output for reindex, persistence, new interests without retraining, interest targeting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.corpus.sample import generate_sample
from indexer.interests import load_default_taxonomy
from indexer.interests.candidates import MAX_CANDIDATES, CandidateGenerator, LabelIndex
from indexer.interests.classify import (Pin2Interest, as_rank_features, classify_corpus,
                                        load_corpus_items, read_interest_judgements)
from indexer.interests.items import InterestItem
from indexer.interests.q2i import classify_query, interest_targeting_filter, with_interest_targeting


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("p2i") / "xs"
    generate_sample(out, "XS", 3, progress=False, overwrite=True)
    return out


@pytest.fixture(scope="module")
def truth(sample: Path) -> dict[str, list[dict]]:
    rows = [json.loads(l) for l in (sample / "ground_truth" / "pin_interests.jsonl").open()]
    return {r["pin_id"]: r["interests"] for r in rows}


@pytest.fixture(scope="module")
def fitted(sample: Path):
    items, judged = load_corpus_items(sample / "corpus")
    return Pin2Interest(seed=0).fit(items, judged), items, judged


def test_candidates_are_capped_and_recall_primary(sample: Path, truth) -> None:
    items, _ = load_corpus_items(sample / "corpus")
    gen = CandidateGenerator(LabelIndex(load_default_taxonomy()))
    cands, lexical, support = gen.generate(items)
    sizes = [len(c) for c in cands]
    assert max(sizes) <= MAX_CANDIDATES
    assert 3 <= np.mean(sizes) <= 60
    primary = [any(x["interest_id"] in c for x in truth[it.id] if x["role"] == "primary")
               for it, c in zip(items, cands)]
    assert np.mean(primary) > 0.95
    # ancestors of every candidate are candidates too
    tax = gen.index.taxonomy
    for c in cands[:200]:
        for n in c:
            assert all(a.id in c for a in tax.ancestors(n))
    assert any(support), "board co-occurrence should support some interests"


def test_typos_and_reordering_match_labels() -> None:
    idx = LabelIndex(load_default_taxonomy())
    tax = idx.taxonomy
    item = InterestItem("x", {"title": "crafts and arts for kids", "description": "scrapbokking ideas"})
    m = idx.match(item)
    arts = tax.find_by_label("Arts and Crafts")[0].id
    scrap = tax.find_by_label("Scrapbooking")[0].id
    assert m[arts].best == pytest.approx(1.0)          # reordered tokens
    assert m[scrap].best > 0.5 and m[scrap].fuzzy == 1  # one edit away


def test_ranker_quality_on_unjudged_pins(fitted, truth) -> None:
    model, items, judged = fitted
    test = [it for it in items if it.id not in judged][:400]
    scores = model.score_candidates(test)
    tax = model.taxonomy_
    acc = {1: [], 2: []}
    for it, s in zip(test, scores):
        for level in (1, 2):
            tl = {x["interest_id"] for x in truth[it.id] if x["level"] == level}
            at = [n for n in s if tax[n].level == level]
            if tl and at:
                acc[level].append(max(at, key=s.get) in tl)
    assert np.mean(acc[1]) > 0.9
    assert np.mean(acc[2]) > 0.8
    assert model.manifest_["ranker"] == "HistGradientBoostingClassifier"


def test_output_has_ancestors_with_scores_at_least_childrens(fitted) -> None:
    model, items, _ = fitted
    tax = model.taxonomy_
    for out in model.predict_items(items[:50]):
        assert out and out[0].level == 1
        by_id = {s.interest_id: s for s in out}
        for s in out:
            for a in tax.ancestors(s.interest_id):
                assert a.id in by_id and by_id[a.id].score >= s.score - 1e-6
            assert s.label == tax[s.interest_id].label and 0 <= s.score <= 1


def test_instant_and_q2i_use_the_same_path(fitted) -> None:
    model, _, _ = fitted
    tax = model.taxonomy_
    food = tax.find_by_label("Food & Drink")[0].id
    out = model.classify_text("easy vegan dinner recipes")
    assert food in {s.interest_id for s in out if s.level == 1}
    q = classify_query("vegan dinner recipes", model)
    assert str(food) in q[1]
    assert all("." not in k for lvl in q.values() for k in lvl)
    # the lexical default needs no training data
    assert str(food) in classify_query("cooking dinner recipes")[1]


def test_classify_corpus_shape_and_persistence(sample: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    result = classify_corpus(sample / "corpus", model_dir=model_dir)
    assert (model_dir / "pin2interest.json").exists()
    items, _ = load_corpus_items(sample / "corpus")
    assert set(result) == {it.id for it in items}
    some = result[items[0].id]
    assert 1 in some and all(isinstance(lvl, int) for lvl in some)
    assert all(v > 0 and "." not in k and k.isdigit() for lvl in some.values() for k, v in lvl.items())
    again = classify_corpus(sample / "corpus", model_dir=model_dir)  # loads the saved model
    assert again[items[0].id] == some


def test_new_interest_is_scored_without_retraining(fitted) -> None:
    # runs last among the tests using ``fitted``: it adds a node to the model's taxonomy
    model, _, _ = fitted
    tax = model.taxonomy_
    food = tax.find_by_label("Food & Drink")[0].id
    node = tax.add_interest("Sourdough Baking", food, id=99_000_001)
    model.refresh_taxonomy()
    out = model.classify_text("my sourdough baking starter")
    assert node.id in {s.interest_id for s in out}


def test_judgements_reader_names_line(tmp_path: Path) -> None:
    p = tmp_path / "interests.jsonl"
    p.write_text('{"pin_id":"a","interest_id":1,"relevant":1}\n{"pin_id":"b","interest_id":"x","relevant":1}\n')
    with pytest.raises(ValueError, match=r"interests.jsonl:2: field 'interest_id'"):
        read_interest_judgements(p)


def test_rank_features_and_targeting_filter_in_engine(client) -> None:
    from indexer.interests.classify import InterestScore
    feats = as_rank_features([InterestScore(1, 210, "Food & Drink", 0.9),
                              InterestScore(2, 216, "Cooking", 0.0)])
    assert feats == {1: {"210": 0.9}, 2: {"216": 1e-4}}
    client.indices.create(index="t", body={"mappings": {"properties": {
        "title": {"type": "text"}, "interest_ids": {"type": "keyword"},
        "interests_l1": {"type": "rank_features"}}}})
    docs = [("a", ["210", "216"]), ("b", ["201"]), ("c", ["216"])]
    for pid, ids in docs:
        client.index(index="t", id=pid, body={"title": "pin", "interest_ids": ids})
    client.indices.refresh(index="t")
    query_pin = {1: {"210": 0.8}, 2: {"216": 0.7}}
    body = {"query": with_interest_targeting({"match": {"title": "pin"}}, query_pin)}
    hits = {h["_id"] for h in client.search(index="t", body=body)["hits"]["hits"]}
    assert hits == {"a", "c"}
    only_l1 = interest_targeting_filter(query_pin, levels=[1])
    assert only_l1 == {"bool": {"filter": [{"terms": {"interest_ids": ["210"]}}]}}
    hits = {h["_id"] for h in client.search(index="t", body={"query": interest_targeting_filter([])})["hits"]["hits"]}
    assert hits == set()


@pytest.mark.parametrize("shape", [(300, 2000), (400, 150)])  # kernel (dual) form and primal form
def test_multi_target_cg_ridge_matches_sklearn_sparse_cg(shape) -> None:
    import scipy.sparse as sp
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import normalize

    from indexer.interests.features import MultiTargetRidgeCG
    rng = np.random.default_rng(0)
    n, d = shape
    X = sp.random(n, d, density=0.02, format="csr", dtype=np.float32, random_state=1)
    X = normalize(X + sp.random(n, d, density=0.002, format="csr", dtype=np.float32, random_state=2))
    Y = (rng.random((n, 25)) < 0.05).astype(np.float32)
    Y[:, 3] = 0.0  # a target without positives: zero coefficients
    ref = Ridge(alpha=1.0, solver="sparse_cg", fit_intercept=False).fit(X, Y)
    ours = MultiTargetRidgeCG(alpha=1.0).fit(X, Y)
    assert ours.coef_.shape == ref.coef_.shape and ours.coef_.dtype == np.float32
    assert np.abs(ours.coef_ - ref.coef_).max() < 1e-3 * max(1.0, np.abs(ref.coef_).max())
    assert np.allclose(ours.predict(X), ref.predict(X), atol=1e-3)
    assert not ours.coef_[3].any()
