"""RankSVM: pairs within queries only, recovers a planted linear preference, persists with a manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ranking.ltr.ranksvm import RankSVM, fit_with_validation, pairwise_transform


def _data(n_queries: int, seed: int, w=(2.0, -1.0, 0.0, 0.5)):
    rng = np.random.default_rng(seed)
    X = rng.random((n_queries * 12, len(w)))
    qid = np.repeat(np.arange(n_queries), 12)
    # a per-query offset the ranker must ignore: labels only depend on within-query order
    utility = X @ np.asarray(w) + np.repeat(rng.normal(0, 5, n_queries), 12) + rng.normal(0, 0.1, len(qid))
    y = np.zeros(len(qid))
    for q in range(n_queries):
        rows = np.where(qid == q)[0]
        ranks = np.argsort(np.argsort(-utility[rows]))
        y[rows] = np.where(ranks < 2, 2, np.where(ranks < 5, 1, 0))
    return X, y, qid


def test_pairs_only_within_queries_and_balanced():
    X = np.array([[1.0], [0.0], [5.0], [5.0]])
    D, s = pairwise_transform(X, np.array([1, 0, 1, 1]), np.array([1, 1, 2, 2]))
    assert D.shape == (1, 1) and abs(D[0, 0]) == 1.0 and s[0] * D[0, 0] > 0
    X, y, qid = _data(50, 0)
    D, s = pairwise_transform(X, y, qid)
    assert 0.4 < (s > 0).mean() < 0.6


def test_recovers_planted_weights_and_ranks_well():
    X, y, qid = _data(200, 1)
    model = RankSVM(C=1.0).fit(X, y, qid)
    w = model.coef_ / np.linalg.norm(model.coef_)
    truth = np.array([2.0, -1.0, 0.0, 0.5]) / np.linalg.norm([2.0, -1.0, 0.0, 0.5])
    assert float(w @ truth) > 0.97
    Xt, yt, qt = _data(100, 2)
    assert model.score(Xt, yt, qt, "ndcg@10") > 0.9
    assert model.pairwise_accuracy(Xt, yt, qt) > 0.9


def test_validation_picks_c_and_model_roundtrips(tmp_path):
    X, y, qid = _data(100, 3)
    Xv, yv, qv = _data(50, 4)
    sel = fit_with_validation(X, y, qid, Xv, yv, qv, Cs=(1e-4, 1.0), metric="ndcg@10")
    assert set(sel.validation) == {1e-4, 1.0} and sel.C in sel.validation
    assert sel.validation[sel.C] == max(sel.validation.values())
    path = sel.model.save(tmp_path / "m.joblib", feature_names=["a", "b", "c", "d"], metrics={"ndcg@10": 1})
    manifest = json.loads((tmp_path / "m.joblib.json").read_text())
    assert manifest["parameters"]["C"] == sel.C and manifest["feature_names"] == ["a", "b", "c", "d"]
    loaded = RankSVM.load(path)
    np.testing.assert_allclose(loaded.predict(Xv), sel.model.predict(Xv))


def test_single_label_queries_are_an_error():
    with pytest.raises(ValueError, match="no training pairs"):
        RankSVM().fit(np.ones((3, 2)), np.zeros(3), np.zeros(3))
