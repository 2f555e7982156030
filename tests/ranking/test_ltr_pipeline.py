"""The search LTR loop on the XS sample: feature sets valid on the mapping, engine-logged features,
non-negative model/linear, exact sltr parity, activation rules, rescored search, --explain, CLI handlers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from ranking.ltr.export import LinearModel, add_offset, check_non_negative
from ranking.ltr.featuresets import (FeatureSetError, check_against_mapping, load_featureset, search_params,
                                     validate_body)
from ranking.ltr.rescore import SEARCH_FEATURESET, explain_search, search_rescore
from ranking.ltr.upload import ActivationRefused, activate, active_model, create_model, parity_check, registry
from ranking.search import search_pins

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import pinsearch
    from indexer.corpus.sample import generate_sample
    from indexer.reindex import reindex_corpus
    from ranking.ltr.pipeline import train_and_activate
    root = tmp_path_factory.mktemp("ltr")
    generate_sample(root / "sample", "XS", 0, progress=False, overwrite=True)
    es = pinsearch.connect(f"embedded://{root / 'data'}")
    reindex_corpus(es, root / "sample" / "corpus", progress=False)
    summary = train_and_activate(es, root / "sample", out_dir=root / "models", kinds=("search",))["search"]
    yield es, summary, root
    pinsearch.close(es)


def test_featuresets_are_plugin_bodies_and_match_the_mapping():
    from indexer.documents import load_pins_mapping
    mapping = load_pins_mapping()["mappings"]
    for kind in ("search", "related"):
        fs = load_featureset(kind)
        assert set(fs.body) <= {"featureset", "validation"} and fs.feature_names[-1] == "offset"
        assert check_against_mapping(fs, mapping) == []
    bad = json.loads(json.dumps(load_featureset("search").body))
    bad["featureset"]["features"][1]["template"] = {"match": {"title": "{{nope}}"}}
    with pytest.raises(FeatureSetError, match="undeclared params"):
        validate_body(bad, "x.json")
    with pytest.raises(FeatureSetError, match="featureset"):
        validate_body({"name": "x", "features": []}, "x.json")
    typo = load_featureset("search")
    typo.features[1]["template"] = {"match": {"titel": "{{keywords}}"}}
    assert "titel" in check_against_mapping(typo, mapping)[0]


def test_non_negative_guarantee_is_checked_before_upload():
    names = ["bm25", "cos", "offset"]
    model = LinearModel(names, {"bm25": 0.5, "cos": -2.0}, {"bm25": (0.0, 10.0), "cos": (0.0, 1.0)},
                        {"bm25": None, "cos": 1.0, "offset": 1.0})
    with pytest.raises(ValueError, match="< 0"):
        check_non_negative(model)
    add_offset(model)
    assert check_non_negative(model) >= 0
    worst = model.score(np.array([[0.0, 1.0, 1.0]], dtype=np.float32))[0]
    assert worst >= 0
    model.weights["bm25"] = -0.1
    with pytest.raises(ValueError):
        add_offset(model)


def test_pipeline_trains_uploads_with_exact_parity_and_activates(trained):
    es, summary, _ = trained
    assert summary["parity"]["passed"] and summary["parity"]["checked"] >= 50
    assert summary["parity"]["exact_float32"] == summary["parity"]["checked"]
    assert summary["score_lower_bound"] >= 0
    assert summary["activation"]["active"] == summary["model"]
    assert active_model(es, SEARCH_FEATURESET)["name"] == summary["model"]
    record = registry(es, SEARCH_FEATURESET)["models"][summary["model"]]
    assert record["index"].startswith("pins") and record["featureset_version"] >= 1
    # the text features carry the model: a positive weight on the first-pass text feature
    assert summary["weights"]["text_first_pass"] > 0
    # LTR is at least as good as the first pass on held-out queries (XS is small: no CI claim here)
    assert summary["ltr"]["ndcg@10"] >= summary["first_pass"]["ndcg@10"] - 0.01


def test_worse_model_or_failed_parity_is_refused(trained):
    es, summary, _ = trained
    from ranking.ltr.pipeline import evaluate_search_models, is_test, parity_samples, read_relevance
    good = LinearModel.from_dict(registry(es, SEARCH_FEATURESET)["models"][summary["model"]]["linear"])
    bad = LinearModel(good.feature_names, {"popularity": 1.0}, good.normalizers, good.bounds)
    add_offset(bad)
    fs_version = registry(es, SEARCH_FEATURESET)["models"][summary["model"]]["featureset_version"]
    create_model(es, SEARCH_FEATURESET, fs_version, "bad-popularity-only", bad, index="pins")
    _, _, root = trained
    truth = read_relevance(root / "sample" / "ground_truth" / "search_relevance.jsonl")
    queries = sorted(q for q in truth if is_test(q))[:40]
    ev = evaluate_search_models(es, truth, queries, models={"bad": "bad-popularity-only", "active": summary["model"]})
    parity = parity_check(es, "pins", "bad-popularity-only", bad, parity_samples(es, queries, index="pins"))
    assert parity["passed"]
    with pytest.raises(ActivationRefused, match="worse"):
        activate(es, SEARCH_FEATURESET, "bad-popularity-only", parity=parity,
                 candidate_metric=ev["bad"]["ndcg@10"], active_metric=ev["active"]["ndcg@10"])
    # parity fails when the offline model differs from what the engine runs
    shifted = LinearModel(bad.feature_names, dict(bad.weights, popularity=2.0), bad.normalizers, bad.bounds)
    broken = parity_check(es, "pins", "bad-popularity-only", shifted, parity_samples(es, queries, index="pins"))
    assert not broken["passed"]
    with pytest.raises(ActivationRefused, match="parity"):
        activate(es, SEARCH_FEATURESET, "bad-popularity-only", parity=broken, candidate_metric=1.0, active_metric=0.0)
    assert active_model(es, SEARCH_FEATURESET)["name"] == summary["model"]


def test_rescored_search_and_explain_agree(trained):
    es, summary, _ = trained
    query = "vegan dinner"
    rescore = search_rescore(es, query)
    assert rescore["query"]["rescore_query"]["sltr"]["model"] == summary["model"]
    hits = search_pins(es, query, 10, rescore=rescore)
    assert hits and all(h.score >= 0 for h in hits)
    explained = explain_search(es, query, [h.pin_id for h in hits])
    for h in hits:
        e = explained[h.pin_id]
        assert sum(e["contributions"].values()) == pytest.approx(e["ltr_score"], abs=1e-4)
        assert h.score == pytest.approx(e["ltr_score"], abs=1e-2)  # + 1e-4 x first pass


def test_cli_handlers(trained, capsys):
    es, summary, root = trained
    from pinsearch.commands import ltr as cmd
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command")
    cmd.register(sub, common)
    assert hasattr(sub.choices["eval"], "_eval_sub")
    args = parser.parse_args(["eval", "--report", str(root / "report")])
    (root / "report").mkdir()
    # one kind's summary on its own (train_and_activate(...)["search"]) is accepted as well as the keyed file
    (root / "report" / "summary.json").write_text(json.dumps(summary, default=str))
    assert args.handler(args) == 0
    assert (root / "report" / "index.html").exists() and (root / "report" / "search-position_bias.png").exists()
    args = parser.parse_args(["eval", "letor", "--data", str(root / "missing"), "--json"])
    from pinsearch.cli import CommandError
    with pytest.raises(CommandError, match="partN"):
        args.handler(args)


def test_summaries_merge_by_kind_and_skipped_kinds_are_reported(trained, tmp_path: Path) -> None:
    """``--kind search`` then ``--kind related`` into one DIR keep both; a skipped kind says why."""
    _es, summary, _root = trained
    from ranking.ltr.report import load_summaries, save_summaries, write_report
    path = save_summaries(tmp_path / "summary.json", {"search": summary})
    save_summaries(path, {"related": {"skipped": "no related_log.jsonl"}})
    loaded = load_summaries(path)
    assert list(loaded) == ["search", "related"] and loaded["search"]["model"] == summary["model"]
    page = write_report(loaded, tmp_path).read_text()
    assert "skipped: no related_log.jsonl" in page and "search-per_query_delta.png" in page
    assert not (tmp_path / "related-metrics_by_model.png").exists()


@pytest.mark.parametrize("content, message", [
    (None, "not found: run 'pinsearch ltr train CORPUS --activate --report DIR'"),
    ("{not json", "not JSON"),
    ("[1, 2]", "expected a JSON object keyed by kind"),
    ('{"search": {"kind": "search", "model_file": "m.linear.json", "weights": {}}}', "without --activate"),
    ('{"search": {"first_pass": {"ndcg@10": 0.5}, "ltr": {"ndcg@10": 0.6, "map": 0.1, "mrr@10": 0.2}}}',
     "'first_pass' lacks numeric map, mrr@10"),
    ('{"hello": 1}', "not an LTR summary"),
    ('{"related": {"skipped": "no clicks"}}', "nothing to report"),
])
def test_eval_report_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               content: str | None, message: str) -> None:
    from pinsearch.cli import main
    if content is not None:
        (tmp_path / "summary.json").write_text(content)
    assert main(["eval", "--report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1, err


def test_train_report_needs_activate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pinsearch.cli import main
    assert main(["ltr", "train", str(tmp_path), "--report", str(tmp_path / "r"),
                 "--cluster", f"embedded://{tmp_path / 'data'}"]) == 1
    assert "--report needs --activate" in capsys.readouterr().err


def test_cli_search_explain_contributions_sum_to_the_rescore_score(trained, capsys: pytest.CaptureFixture[str]
                                                                   ) -> None:
    """``pinsearch search QUERY --explain --json`` through the CLI handler: per hit, the contributions
    (weight x normalised value) add up to the ``sltr`` part of the hit's score. The rescore is
    ``score = FIRST_PASS_WEIGHT x first pass + 1.0 x sltr`` (``score_mode: total``), and the engine's
    explanation is the first-pass query's, so the sltr part is ``score - FIRST_PASS_WEIGHT x explanation``."""
    es, summary, root = trained
    from pinsearch.cli import main
    from ranking.ltr.featuresets import search_params
    from ranking.ltr.feature_logging import log_features
    from ranking.ltr.rescore import FIRST_PASS_WEIGHT
    query = "vegan dinner"
    assert main(["search", query, "--k", "8", "--explain", "--json", "--cluster", f"embedded://{root / 'data'}",
                 "--cache", str(root / "no-signal-cache")]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == 8
    record = registry(es, SEARCH_FEATURESET)["models"][summary["model"]]
    model = LinearModel.from_dict(record["linear"])
    raw = log_features(es, "pins", SEARCH_FEATURESET, model.feature_names, search_params(query, None),
                       [h["pin_id"] for h in hits])
    for hit in hits:
        ltr, engine = hit["explanation"]["ltr"], hit["explanation"]["engine"]
        assert ltr["model"] == summary["model"]
        # each contribution is weight x normalised value, recomputed here from the engine-logged raw features
        normalised = model.normalise(raw[hit["pin_id"]][None, :])[0]
        expected = {n: model.weights.get(n, 0.0) * float(normalised[i]) for i, n in enumerate(model.feature_names)}
        assert set(ltr["contributions"]) == {n for n, w in model.weights.items() if w != 0.0}
        for name, value in ltr["contributions"].items():
            assert value == pytest.approx(expected[name], abs=1e-5), name
        rescore_part = hit["score"] - FIRST_PASS_WEIGHT * engine["value"]
        assert sum(ltr["contributions"].values()) == pytest.approx(rescore_part, abs=1e-4)
        assert ltr["ltr_score"] == pytest.approx(rescore_part, abs=1e-4)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_first_model_measurably_worse_than_the_first_pass_is_refused() -> None:
    from ranking.ltr.activation import first_pass_gate
    worse = {"ndcg@10": {"delta": -0.02, "ci95": [-0.035, -0.004], "wins": 10, "losses": 30}}
    reason = first_pass_gate("m1", worse)
    assert reason is not None and "worse than the first pass" in reason and "-0.0350" in reason
    assert first_pass_gate("m1", {"ndcg@10": {"delta": -0.01, "ci95": [-0.03, 0.01]}}) is None  # uncertain
    assert first_pass_gate("m1", {"ndcg@10": {"delta": 0.03, "ci95": [0.01, 0.05]}}) is None
    assert first_pass_gate("m1", {}) is None


def test_one_activation_rule_for_train_and_upload(trained, tmp_path: Path) -> None:
    """activate_with_checks: with no active model a candidate needs a first-pass comparison and must not
    be measurably worse than the first pass (force overrides that, never parity); with an active model,
    a lower metric is refused. `ltr upload --activate` goes through the same function."""
    from ranking.ltr.activation import ActivationEvidence, activate_with_checks
    from ranking.ltr.upload import _save_registry
    es, summary, _ = trained
    doc = registry(es, SEARCH_FEATURESET)
    model = summary["model"]
    ok_parity = {"passed": True, "checked": 10}
    saved_active = doc["active"]
    try:
        doc["active"] = None
        _save_registry(es, doc)
        with pytest.raises(ActivationRefused, match="no held-out judgements"):
            activate_with_checks(es, SEARCH_FEATURESET, model, ActivationEvidence(parity=ok_parity))
        worse = {"ndcg@10": {"delta": -0.05, "ci95": [-0.08, -0.02]}}
        with pytest.raises(ActivationRefused, match="worse than the first pass"):
            activate_with_checks(es, SEARCH_FEATURESET, model,
                                 ActivationEvidence(parity=ok_parity, first_pass_comparison=worse))
        with pytest.raises(ActivationRefused, match="parity"):
            activate_with_checks(es, SEARCH_FEATURESET, model,
                                 ActivationEvidence(parity={"passed": False}, first_pass_comparison=worse), force=True)
        forced = activate_with_checks(es, SEARCH_FEATURESET, model,
                                      ActivationEvidence(parity=ok_parity, first_pass_comparison=worse), force=True)
        assert forced["active"] == model
        with pytest.raises(ActivationRefused, match="worse than the active"):
            activate_with_checks(es, SEARCH_FEATURESET, model,
                                 ActivationEvidence(parity=ok_parity, candidate_metric=0.4, active_metric=0.5))
    finally:
        doc = registry(es, SEARCH_FEATURESET)
        doc["active"] = saved_active
        _save_registry(es, doc)
    assert active_model(es, SEARCH_FEATURESET)["name"] == saved_active
