"""Cohesion: BM25 keywords see past boilerplate, the blender separates gold labels on a sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.cohesion.blender import CohesionBlender
from indexer.cohesion.keywords import BM25Keywords
from indexer.cohesion.text import tokens


def test_bm25_keywords_rank_boilerplate_low() -> None:
    boiler = "free shipping on all orders privacy policy accept all cookies newsletter subscribe"
    topics = ["vegan lentil curry coconut", "boho bedroom macrame wall", "trail running shoes hills",
              "sourdough bread starter flour", "watercolor flowers painting brush"]
    docs = [tokens(f"{boiler} {t} {t}") for t in topics]
    kw = BM25Keywords(top_k=4).fit(docs)
    top = [t for t, _ in kw.keywords(docs[0])]
    assert set(top) == {"vegan", "lentil", "curry", "coconut"}
    s = kw.scores(docs[0])
    assert s["shipping"] < s["curry"] and s["privacy"] < s["vegan"]


def test_blender_fit_predict_save_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[:, 2] = np.where(rng.random(200) < 0.3, np.nan, X[:, 2])
    y = (X[:, 0] > 0).astype(int)
    b = CohesionBlender(seed=0).fit(X, y)
    p = b.predict_proba(X)[:, 1]
    assert ((p > 0) & (p <= 1)).all() and b.score(X, y) > 0.95
    b.save(tmp_path / "m", features=("a", "b", "c"))
    again = CohesionBlender.load(tmp_path / "m")
    assert np.allclose(again.predict_proba(X), b.predict_proba(X))
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["component"] == "cohesion_blender"
    with pytest.raises(ValueError, match="both classes"):
        CohesionBlender().fit(X, np.ones(200, dtype=int))


@pytest.fixture(scope="module")
def xs_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from indexer.corpus.sample import generate_sample

    out = tmp_path_factory.mktemp("xs")
    generate_sample(out, "XS", 3, progress=False, overwrite=True)
    return out


@pytest.mark.slow
def test_evaluate_cohesion_on_sample(xs_sample: Path) -> None:
    from indexer.cohesion.batch import evaluate_cohesion

    res = evaluate_cohesion(xs_sample, n_jobs=1)
    blend = res["methods"]["blend"]
    assert blend["auc"] >= 0.97 and blend["precision"] >= 0.95
    assert blend["auc"] >= res["methods"]["text_cos"]["auc"] - 0.005
    assert res["page_errors"] == 0


def test_cohesion_scores_separate_gold_labels(xs_sample: Path, tmp_path: Path) -> None:
    from indexer.cohesion.batch import cohesion_scores

    scores = cohesion_scores(xs_sample / "corpus", tmp_path / "model", n_jobs=1)
    pins = [json.loads(line)["id"] for line in (xs_sample / "corpus" / "pins.jsonl").open()]
    assert set(scores) == set(pins)
    assert all(0 < v <= 1 for v in scores.values())
    assert (tmp_path / "model" / "cohesion.joblib").is_file()
    truth = [json.loads(line) for line in (xs_sample / "ground_truth" / "cohesion.jsonl").open()]
    good = [scores[t["pin_id"]] for t in truth if t["page_fetched"] and t["cohesive"] == 1]
    bad = [scores[t["pin_id"]] for t in truth if t["page_fetched"] and t["cohesive"] == 0]
    assert np.mean(good) > 0.8 and np.mean(bad) < 0.3
