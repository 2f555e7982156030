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


def _pairwise_problem(n_queries: int, seed: int, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Graded labels from a known linear utility in six dimensions (plus per-query offsets and noise)."""
    rng = np.random.default_rng(seed)
    per = 10
    X = rng.normal(size=(n_queries * per, len(w)))
    qid = np.repeat(np.arange(n_queries), per)
    utility = X @ w + np.repeat(rng.normal(0, 3, n_queries), per) + rng.normal(0, 0.2, len(qid))
    y = np.zeros(len(qid))
    for q in range(n_queries):
        rows = np.where(qid == q)[0]
        y[rows] = np.digitize(utility[rows] - utility[rows].mean(), [-1.0, 0.0, 1.0])
    return X, y, qid


@pytest.mark.parametrize("solver", ["linearsvc", "sgd"])
def test_both_solvers_recover_the_weight_direction(solver: str) -> None:
    w = np.array([1.5, -2.0, 0.0, 0.7, 3.0, -0.4])
    X, y, qid = _pairwise_problem(150, 5, w)
    Xv, yv, qv = _pairwise_problem(60, 6, w)
    # the validation selection works the same for both: C is mapped to SGD's alpha = 1 / (C * n_pairs)
    sel = fit_with_validation(X, y, qid, Xv, yv, qv, Cs=(0.01, 1.0), metric="pairwise_accuracy", solver=solver)
    assert sel.model.solver_ == solver and set(sel.validation) == {0.01, 1.0}
    cosine = float(sel.model.coef_ @ w / np.linalg.norm(sel.model.coef_) / np.linalg.norm(w))
    assert cosine > 0.95, (solver, cosine)
    assert sel.model.pairwise_accuracy(Xv, yv, qv) > 0.85


def test_auto_switches_to_sgd_above_the_threshold(tmp_path) -> None:
    from ranking.ltr.ranksvm import SGD_MIN_PAIRS, choose_solver
    assert choose_solver("auto", SGD_MIN_PAIRS) == "linearsvc"
    assert choose_solver("auto", SGD_MIN_PAIRS + 1) == "sgd"
    assert choose_solver("linearsvc", 10 * SGD_MIN_PAIRS) == "linearsvc" and choose_solver("sgd", 1) == "sgd"
    X, y, qid = _pairwise_problem(30, 7, np.array([1.0, -1.0, 0.5, 0.0, 2.0, 0.3]))
    n_pairs = pairwise_transform(X, y, qid)[0].shape[0]
    assert RankSVM(sgd_min_pairs=n_pairs).fit(X, y, qid).solver_ == "linearsvc"   # at the threshold: exact solver
    model = RankSVM(sgd_min_pairs=n_pairs - 1).fit(X, y, qid)
    assert model.solver_ == "sgd" and model.n_pairs_ == n_pairs
    model.save(tmp_path / "sgd.joblib")
    assert json.loads((tmp_path / "sgd.joblib.json").read_text())["solver_used"] == "sgd"
    with pytest.raises(ValueError, match="unknown RankSVM solver"):
        RankSVM(solver="newton").fit(X, y, qid)


def test_cli_help_states_the_threshold() -> None:
    """The CLI spells the threshold out (so it starts without numpy): it must match the code."""
    from pinsearch.commands.ltr import SGD_MIN_PAIRS_HELP
    from ranking.ltr.ranksvm import SGD_MIN_PAIRS
    assert SGD_MIN_PAIRS_HELP == f"{SGD_MIN_PAIRS:,}"
