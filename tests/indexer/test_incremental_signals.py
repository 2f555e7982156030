"""Instant signals on incremental reindex: new and changed pins get annotations, interests and
cohesion from the saved models (no retraining), unchanged pins keep their values, deleted pins go."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import pytest

import pinsearch
from indexer.corpus.sample import generate_sample
from indexer.reindex import reindex_corpus
from indexer.signals.pipeline import compute_signals, model_dir

INSTANT = ["annotations", "interests", "cohesion"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("instant") / "xs"
    generate_sample(out, "XS", 5, progress=False, overwrite=True, n_pins=600)
    return out / "corpus"


@pytest.fixture(scope="module")
def setup(sample: Path, tmp_path_factory: pytest.TempPathFactory):
    """A corpus copy, its batch signals, then the same corpus with one pin added (a copy of an
    existing pin's text under a new id, linking to another pin's page), one changed, one deleted."""
    root = tmp_path_factory.mktemp("run")
    corpus = root / "corpus"
    shutil.copytree(sample, corpus)
    cache = root / "cache"
    batch = compute_signals(corpus, cache, INSTANT, strict=True)
    mtimes = {name: _mtimes(model_dir(cache, name)) for name in INSTANT}
    rows = [json.loads(line) for line in (corpus / "pins.jsonl").read_text().splitlines()]
    changed, deleted = rows[5], rows[7]
    donor = next(r for r in rows[10:] if len(batch.values["annotations"][r["id"]]) >= 2 and r.get("link"))
    text = next(r for r in rows[20:] if len(batch.values["annotations"][r["id"]]) >= 2
                and r.get("lang") == changed.get("lang")
                and set(batch.values["annotations"][r["id"]]) != set(batch.values["annotations"][changed["id"]]))
    changed["title"], changed["description"] = text["title"], text["description"]
    new = {**donor, "id": "pnew-1"}  # a re-pin of the donor: same text, boards and page
    rows = [r for r in rows if r["id"] != deleted["id"]] + [new]
    (corpus / "pins.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _forget(corpus, deleted["id"])
    return {"corpus": corpus, "cache": cache, "batch": batch, "mtimes": mtimes, "changed": changed["id"],
            "text": text["id"],
            "deleted": deleted["id"], "new": new, "donor": donor["id"], "rows": rows}


def _forget(corpus: Path, pin_id: str) -> None:
    """Remove a deleted pin from the logs and judgements, as the system that deletes it would
    (otherwise whole log records are rejected and other pins lose their clicked queries)."""
    for path in [corpus / "sessions.jsonl", corpus / "search_log.jsonl", corpus / "related_log.jsonl",
                 *(corpus / "judgements").glob("*.jsonl")]:
        kept = []
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if pin_id in (rec.get("pin_id"), rec.get("query_pin")):
                continue
            for key in ("events", "impressions"):
                if key in rec:
                    rec[key] = [e for e in rec[key] if e["pin_id"] != pin_id]
                    if not rec[key]:
                        rec = None
                        break
            if rec is not None:
                kept.append(json.dumps(rec) + "\n")
        path.write_text("".join(kept))


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def incremental(setup):
    return compute_signals(setup["corpus"], setup["cache"], INSTANT, strict=True, incremental=True)


def test_new_and_changed_pins_get_instant_signals_without_retraining(setup, incremental):
    for name in INSTANT:
        assert _mtimes(model_dir(setup["cache"], name)) == setup["mtimes"][name], f"{name} was retrained"
        assert incremental.instant[name] == {"computed": 2, "kept": len(setup["rows"]) - 2, "dropped": 1}
        assert not incremental.cached[name]
    new_id, donor = setup["new"]["id"], setup["donor"]
    values, batch = incremental.values, setup["batch"].values
    # the saved annotator's own output for the new pin (the instant path is the batch code)
    from indexer.annotations.model import AnnotationModel
    from indexer.annotations.sources import CorpusContext
    ctx = CorpusContext(setup["corpus"])
    pin = next(p for p in ctx.pins() if p.id == new_id)
    model = AnnotationModel.load(model_dir(setup["cache"], "annotations"))
    assert values["annotations"][new_id] == {a.id: a.score for a in model.annotate(ctx.pin_text(pin))}
    # a re-pin of the donor: the donor's text and page, only its clicked queries are missing
    assert set(values["annotations"][new_id]) & set(batch["annotations"][donor])
    top = {level: max(scores, key=scores.get) for level, scores in values["interests"][new_id].items()}
    assert top[1] == max(batch["interests"][donor][1], key=batch["interests"][donor][1].get)
    assert values["cohesion"][new_id] == pytest.approx(batch["cohesion"][donor])


def test_changed_pins_are_updated_unchanged_kept_deleted_dropped(setup, incremental):
    batch, values = setup["batch"].values, incremental.values
    changed, deleted = setup["changed"], setup["deleted"]
    assert values["annotations"][changed] != batch["annotations"][changed]
    assert set(values["annotations"][changed]) & set(batch["annotations"][setup["text"]])
    for name in INSTANT:
        assert deleted not in values[name]
        assert set(values[name]) == {r["id"] for r in setup["rows"]} & (set(batch[name]) | {changed, setup["new"]["id"]})
        unchanged = [pid for pid in values[name] if pid not in (changed, setup["new"]["id"])]
        assert unchanged and all(values[name][pid] == batch[name][pid] for pid in unchanged)


def test_instant_result_is_cached_for_incremental_runs_only(setup, incremental):
    again = compute_signals(setup["corpus"], setup["cache"], INSTANT, strict=True, incremental=True)
    assert all(again.cached[name] for name in INSTANT) and not again.instant
    assert again.values == incremental.values
    files = sorted(p.name for p in (setup["cache"] / "annotations").iterdir())
    assert len(files) == 2 and all(".instant." in name for name in files)
    state = joblib.load(next(p for p in (setup["cache"] / "annotations").iterdir() if p.name.endswith(".pins.joblib")))
    assert set(state["keys"]) == {r["id"] for r in setup["rows"]}


def test_incremental_reindex_makes_new_pins_searchable_by_annotations(setup, incremental, tmp_path):
    corpus = tmp_path / "before"
    shutil.copytree(setup["corpus"], corpus)
    rows = setup["rows"]
    (corpus / "pins.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))  # without the new pin
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        reindex_corpus(es, corpus, progress=False, signals=setup["batch"].for_pin)
        from indexer.incremental import reindex_incremental
        report = reindex_incremental(es, setup["corpus"], signals=incremental.for_pin)
        assert report.added == 1
        new_id = setup["new"]["id"]
        term = max(incremental.values["annotations"][new_id].items(), key=lambda kv: kv[1])[0]
        hits = es.search(index="pins", body={"size": 100, "query": {"rank_feature": {"field": f"annotations.{term}"}}})
        assert new_id in {h["_id"] for h in hits["hits"]["hits"]}
        doc = es.get(index="pins", id=new_id)["_source"]
        assert doc["interest_ids"] and doc["annotation_terms"] and doc["cohesion"] > 0
    finally:
        pinsearch.close(es)


def test_without_a_saved_model_or_when_not_incremental_the_batch_runs(setup, incremental, tmp_path, monkeypatch):
    from indexer.signals import pipeline

    batch_runs: list[str] = []

    def fake_batch(spec, corpus_dir, cache_dir, log, **_):  # the batch path, without training anything
        batch_runs.append(spec.name)
        return {}

    monkeypatch.setattr(pipeline, "_batch", fake_batch)
    cache = tmp_path / "cache"
    shutil.copytree(setup["cache"], cache)
    shutil.rmtree(model_dir(cache, "cohesion"))
    corpus = tmp_path / "corpus"
    shutil.copytree(setup["corpus"], corpus)
    (corpus / "pins.jsonl").write_text("".join(json.dumps(r) + "\n" for r in setup["rows"][:-1]))
    out = compute_signals(corpus, cache, ["cohesion", "annotations"], strict=True, incremental=True)
    assert batch_runs == ["cohesion"] and "cohesion" not in out.instant  # no model to start from
    assert out.instant["annotations"] == {"computed": 0, "kept": len(setup["rows"]) - 1, "dropped": 1}
    full = compute_signals(corpus, cache, ["annotations"], strict=True)  # a full reindex: batch, retrained
    assert batch_runs == ["cohesion", "annotations"] and not full.cached["annotations"]
