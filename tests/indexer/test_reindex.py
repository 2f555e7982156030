"""Versioned reindex: alias swap, rollback, stale cleanup, searches during a reindex, mapping in step."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

import pinsearch
from indexer.corpus.records import Board, Pin
from indexer.corpus.sample import generate_sample
from indexer.documents import PinSignals, load_pins_mapping, pin_document
from indexer.reindex import ReindexError, reindex_corpus, rollback


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, "XS", 3, progress=False, overwrite=True)
    return out / "corpus"


def test_reindex_swaps_alias_and_rolls_back(tmp_path, corpus):
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        first = reindex_corpus(es, corpus, progress=False)
        n_pins = sum(1 for _ in (corpus / "pins.jsonl").open())
        assert first.index == "pins-v1" and first.indexed == n_pins and not first.bulk_errors
        assert es.count(index="pins")["count"] == n_pins
        second = reindex_corpus(es, corpus, progress=False)
        assert second.index == "pins-v2" and second.previous_index == "pins-v1"
        assert set(es.indices.get_alias(name="pins")) == {"pins-v2"}
        third = reindex_corpus(es, corpus, progress=False)
        assert not es.indices.exists(index="pins-v1")  # only the previous version is kept
        assert rollback(es) == ("pins-v3", "pins-v2")
        assert set(es.indices.get_alias(name="pins")) == {"pins-v2"}
        assert third.previous_index == "pins-v2"
    finally:
        pinsearch.close(es)


def test_unfinished_build_is_cleaned_and_live_alias_untouched(tmp_path, corpus):
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        reindex_corpus(es, corpus, progress=False)
        es.indices.create(index="pins-v2")  # what a killed run leaves behind
        es.index(index="pins-v2", id="partial", body={"pin_id": "partial"}, refresh=True)
        assert set(es.indices.get_alias(name="pins")) == {"pins-v1"}
        report = reindex_corpus(es, corpus, progress=False)
        assert report.deleted_stale == ["pins-v2"] and report.index == "pins-v2"
        assert not es.exists(index="pins", id="partial")
    finally:
        pinsearch.close(es)


def test_rollback_without_history_is_a_clear_error(tmp_path):
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        with pytest.raises(ReindexError, match="does not exist"):
            rollback(es)
    finally:
        pinsearch.close(es)


def test_bad_records_are_reported_and_the_rest_indexed(tmp_path, corpus):
    bad = tmp_path / "bad"
    bad.mkdir()
    lines = (corpus / "pins.jsonl").read_text().splitlines()[:50]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"id": 42, "title": "wrong id type"}))
    (bad / "pins.jsonl").write_text("\n".join(lines) + "\n")
    rejects = []
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        report = reindex_corpus(es, bad, progress=False, on_reject=rejects.append)
        assert report.indexed == 50 and report.corpus_rejects == 2 and len(rejects) == 2
    finally:
        pinsearch.close(es)


def test_searches_during_reindex_never_fail_or_come_back_empty(tmp_path, corpus):
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    reindex_corpus(es, corpus, progress=False)
    title = json.loads((corpus / "pins.jsonl").open().readline())["title"]
    stop = threading.Event()
    failures: list[str] = []
    searches = 0

    def searcher() -> None:
        nonlocal searches
        while not stop.is_set():
            try:
                hits = es.search(index="pins", body={"query": {"match": {"title": title}}, "size": 1})
                if hits["hits"]["total"]["value"] == 0:
                    failures.append("empty result during reindex")
            except Exception as exc:  # any failure is what this test is about
                failures.append(repr(exc))
            searches += 1

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for _ in range(2):
            reindex_corpus(es, corpus, progress=False)
    finally:
        stop.set()
        thread.join()
        pinsearch.close(es)
    assert searches > 10 and not failures, failures[:3]


def test_document_builder_and_mapping_stay_in_step():
    mapping = load_pins_mapping()["mappings"]["properties"]
    pin = Pin(id="p1", title="Vegan dinner", description="Easy", link="https://www.example.com/a",
              image_signature="abc", board_ids=("b1",), created_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
              repin_count=12, lang="en", image_annotations=("food",))
    signals = PinSignals(annotations={"a1": 2.0, "a2": 1.0}, interests={1: {"10": 0.9}, 2: {"1001": 0.5}},
                         cooccur={"p2": 3.0}, pin2vec=[0.1] * 128, cohesion=0.8)
    doc = pin_document(pin, {"b1": Board(id="b1", name="Dinners")}, datetime(2024, 2, 1, tzinfo=timezone.utc), signals)
    for field_name, value in doc.items():
        assert field_name in mapping, f"document field [{field_name}] is not in pinsearch/mappings/pins.json"
        declared = mapping[field_name]["type"]
        if declared == "rank_features":
            assert isinstance(value, dict) and all(v > 0 for v in value.values())
        if declared == "rank_feature":
            assert value > 0
        if declared == "knn_vector":
            assert len(value) == mapping[field_name]["dimension"]
    assert doc["link_domain"] == "example.com" and doc["board_names"] == ["Dinners"]
    assert abs(sum(v * v for v in doc["annotations"].values()) - 1.0) < 1e-9


def test_incremental_reindex_applies_only_changes(tmp_path, corpus):
    from indexer.incremental import reindex_incremental
    work = tmp_path / "corpus"
    work.mkdir()
    for name in ("boards.jsonl",):
        (work / name).write_bytes((corpus / name).read_bytes())
    rows = [json.loads(line) for line in (corpus / "pins.jsonl").read_text().splitlines()]
    (work / "pins.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        reindex_corpus(es, work, progress=False)
        rows[0]["title"] = "completely new zanzibar title"
        removed = rows.pop(1)
        rows.append({**rows[2], "id": "p-new-1", "title": "brand new quokka pin"})
        (work / "pins.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        boost = {rows[3]["id"]: PinSignals(cooccur={rows[4]["id"]: 2.0})}
        report = reindex_incremental(es, work, signals=lambda pin: boost.get(pin.id, PinSignals()))
        assert (report.added, report.changed, report.deleted, report.signals_updated) == (1, 1, 1, 1)
        assert report.unchanged == len(rows) - 3
        assert es.search(index="pins", body={"query": {"match": {"title": "zanzibar"}}})["hits"]["total"]["value"] == 1
        assert es.search(index="pins", body={"query": {"match": {"title": "quokka"}}})["hits"]["total"]["value"] == 1
        assert not es.exists(index="pins", id=removed["id"])
        hit = es.search(index="pins", body={"query": {"rank_feature": {"field": f"cooccur.{rows[4]['id']}"}}})
        assert [h["_id"] for h in hit["hits"]["hits"]] == [rows[3]["id"]]
        again = reindex_incremental(es, work, signals=lambda pin: boost.get(pin.id, PinSignals()))
        assert (again.added, again.changed, again.deleted, again.signals_updated) == (0, 0, 0, 0)
    finally:
        pinsearch.close(es)


def test_index_version_records_its_provenance(tmp_path, corpus):
    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        report = reindex_corpus(es, corpus, progress=False)
        meta = es.indices.get_mapping(index="pins")[report.index]["mappings"]["_meta"]["pinsearch"]
        assert meta["version"] == 1 and meta["pins"] == report.indexed and meta["alias"] == "pins"
        assert meta["corpus"] == str(corpus.resolve()) and "active_ltr_models" in meta
    finally:
        pinsearch.close(es)


def _small_corpus(root: Path, source: Path, n: int = 60) -> Path:
    """A private corpus (pins and boards only) so a failed run's rejects land beside it, not in the
    module's shared sample."""
    root.mkdir(parents=True)
    (root / "boards.jsonl").write_bytes((source / "boards.jsonl").read_bytes())
    lines = (source / "pins.jsonl").read_text().splitlines()[:n]
    (root / "pins.jsonl").write_text("".join(line + "\n" for line in lines))
    return root


def test_refused_documents_stop_the_swap_and_are_written_to_rejects(tmp_path, corpus, monkeypatch):
    import indexer.reindex as reindex_module
    from indexer.reindex import index_rejects_path

    work = _small_corpus(tmp_path / "corpus", corpus)
    bad_id = json.loads((work / "pins.jsonl").read_text().splitlines()[7])["id"]
    real_builder = reindex_module.pin_document

    def builder(pin, boards, now, signals):  # what a signal or builder bug would send: a negative rank_feature
        doc = real_builder(pin, boards, now, signals)
        if pin.id == bad_id:
            doc["popularity"] = -1.0
        return doc

    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        reindex_corpus(es, work, progress=False)
        monkeypatch.setattr(reindex_module, "pin_document", builder)
        with pytest.raises(ReindexError, match=rf"1 of 60 documents were rejected.*pin \[{bad_id}\] "
                                               r"mapper_parsing_exception.*popularity") as failure:
            reindex_corpus(es, work, progress=False)
        rejects_file = index_rejects_path(work)
        assert rejects_file == work / ".validation" / "rejects" / "pins.index.rejects.jsonl"
        assert str(rejects_file) in str(failure.value) and failure.value.rejects_file == rejects_file
        assert "Alias [pins] left on [pins-v1]" in str(failure.value)
        rows = [json.loads(line) for line in rejects_file.read_text().splitlines()]
        assert [(r["id"], r["index"], r["status"]) for r in rows] == [(bad_id, "pins-v2", 400)]
        assert rows[0]["errors"][0]["field"] == "popularity"
        assert rows[0]["errors"][0]["code"] == "mapper_parsing_exception"
        # the live alias never moved; the half-built index is kept for inspection
        assert set(es.indices.get_alias(name="pins")) == {"pins-v1"}
        assert es.count(index="pins-v2")["count"] == 59
        # the next (fixed) run cleans the failed build and its rejects file up
        monkeypatch.setattr(reindex_module, "pin_document", real_builder)
        report = reindex_corpus(es, work, progress=False)
        assert report.deleted_stale == ["pins-v2"] and report.index == "pins-v2" and report.indexed == 60
        assert set(es.indices.get_alias(name="pins")) == {"pins-v2"} and not rejects_file.exists()
    finally:
        pinsearch.close(es)


def test_count_differing_from_valid_pins_stops_the_swap(tmp_path, corpus, monkeypatch):
    import indexer.reindex as reindex_module

    work = _small_corpus(tmp_path / "corpus", corpus, n=30)
    real_actions = reindex_module._actions

    def colliding(index, pins, *rest):  # two pins written under one id: acknowledged, yet one is missing
        for i, action in enumerate(real_actions(index, pins, *rest)):
            yield {**action, "_id": pins[0].id} if i == 1 else action

    es = pinsearch.connect(f"embedded://{tmp_path / 'd'}")
    try:
        reindex_corpus(es, work, progress=False, rejects_dir=tmp_path / "rejects")
        monkeypatch.setattr(reindex_module, "_actions", colliding)
        with pytest.raises(ReindexError, match=r"30 valid pins read, 30 acknowledged, 29 searchable"):
            reindex_corpus(es, work, progress=False, rejects_dir=tmp_path / "rejects")
        assert set(es.indices.get_alias(name="pins")) == {"pins-v1"} and es.count(index="pins")["count"] == 30
        assert not (tmp_path / "rejects").exists()  # nothing was refused, so no rejects file
    finally:
        pinsearch.close(es)
