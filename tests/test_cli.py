"""The pinsearch CLI end to end on a tiny sample: sample, validate, reindex, search, demo, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pinsearch.cli import main


def _json_out(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_sample_validate_reindex_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sample"
    cluster = f"embedded://{tmp_path / 'data'}"
    assert main(["sample", str(out), "--size", "XS", "--seed", "1", "--quiet"]) == 0
    assert main(["sample", str(out), "--size", "XS", "--seed", "1", "--quiet"]) == 1  # exists, no --force
    assert "use --force" in capsys.readouterr().err
    assert main(["validate", str(out / "corpus"), "--json", "--quiet"]) == 0
    report = _json_out(capsys)
    assert report["files"]["pins.jsonl"]["rejected"] == 0 if "files" in report else True
    assert main(["reindex", str(out / "corpus"), "--cluster", cluster, "--json", "--quiet",
                 "--cache", str(tmp_path / "cache")]) == 0
    reindex = _json_out(capsys)
    assert reindex["index"] == "pins-v1" and reindex["indexed"] > 1000
    first_title = json.loads((out / "corpus" / "pins.jsonl").open().readline())["title"]
    assert main(["search", first_title, "--k", "5", "--cluster", cluster, "--json"]) == 0
    hits = _json_out(capsys)["hits"]
    assert 0 < len(hits) <= 5 and hits[0]["score"] >= hits[-1]["score"]
    assert main(["reindex", "--rollback", "--cluster", cluster]) == 1
    assert "no previous version" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "anything", "--cluster", f"embedded://{tmp_path / 'empty'}"]) == 1
    err = capsys.readouterr().err
    assert "index_not_found_exception" in err and "Traceback" not in err
    assert main(["search", "x", "--cluster", "ftp://nowhere"]) == 1
    assert "neither embedded://PATH nor http(s)" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing")]) == 4  # unusable corpus
    err = capsys.readouterr()
    assert "does not exist" in err.out and "Traceback" not in err.err


def test_demo_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--workdir", str(tmp_path / "demo"), "--size", "XS", "--json"]) == 0
    summary = _json_out(capsys)
    assert summary["reindex"]["indexed"] > 1000
    assert summary["examples"] and summary["examples"][0]["hits"]
    assert 0.0 < summary["evaluation"]["pinsearch_first_pass"]["ndcg@10"] <= 1.0
    # both LTR models are trained, parity-checked and active; Related Pins serves its model
    assert set(summary["ltr"]) == {"search", "related"}
    for kind in ("search", "related"):
        assert summary["ltr"][kind]["parity"]["passed"], kind
        assert summary["ltr"][kind]["activation"]["active"] == summary["ltr"][kind]["model"], kind
    assert summary["related_examples"][0]["ltr_model"] == summary["ltr"]["related"]["model"]


def _write_pins(corpus: Path, rows: list[dict]) -> None:
    (corpus / "pins.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _alias_and_titles(cluster_dir: Path, words: list[str]) -> tuple[set[str], dict[str, int]]:
    """Where the alias points and how many pins match each title word (read after the CLI closed the
    embedded engine, through a fresh client)."""
    import pinsearch
    es = pinsearch.connect(f"embedded://{cluster_dir}")
    try:
        target = set(es.indices.get_alias(name="pins"))
        hits = {w: es.count(index="pins", body={"query": {"match": {"title": w}}})["count"] for w in words}
        return target, hits
    finally:
        pinsearch.close(es)


def test_reindex_incremental_then_rollback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.corpus.sample import generate_sample
    generate_sample(tmp_path / "sample", "XS", 2, progress=False, overwrite=True, n_pins=150)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "boards.jsonl").write_bytes((tmp_path / "sample" / "corpus" / "boards.jsonl").read_bytes())
    rows = [json.loads(line) for line in (tmp_path / "sample" / "corpus" / "pins.jsonl").read_text().splitlines()]
    _write_pins(corpus, rows)
    data = tmp_path / "data"
    base = ["--cluster", f"embedded://{data}", "--json", "--quiet", "--signals", "none"]
    assert main(["reindex", str(corpus), *base]) == 0
    assert _json_out(capsys)["index"] == "pins-v1"

    # incremental: one pin changed, one deleted, one added, applied to the live index in place
    rows[0]["title"] = "zanzibar spice market"
    removed = rows.pop(1)
    rows.append({**rows[2], "id": "p-cli-new", "title": "quokka selfie"})
    _write_pins(corpus, rows)
    assert main(["reindex", "--incremental", str(corpus), *base]) == 0
    inc = _json_out(capsys)
    assert (inc["added"], inc["changed"], inc["deleted"]) == (1, 1, 1) and inc["unchanged"] == len(rows) - 2
    target, hits = _alias_and_titles(data, ["zanzibar", "quokka"])
    assert target == {"pins-v1"} and hits == {"zanzibar": 1, "quokka": 1}

    # a full reindex with another change builds pins-v2; rollback returns to pins-v1 and its documents
    rows[3]["title"] = "wombat burrow"
    _write_pins(corpus, rows)
    assert main(["reindex", str(corpus), *base]) == 0
    assert _json_out(capsys)["index"] == "pins-v2"
    assert _alias_and_titles(data, ["wombat"]) == ({"pins-v2"}, {"wombat": 1})
    assert main(["reindex", "--rollback", "--cluster", f"embedded://{data}", "--json"]) == 0
    assert _json_out(capsys) == {"alias": "pins", "from": "pins-v2", "to": "pins-v1"}
    target, hits = _alias_and_titles(data, ["wombat", "zanzibar", "quokka"])
    assert target == {"pins-v1"} and hits == {"wombat": 0, "zanzibar": 1, "quokka": 1}
    import pinsearch
    es = pinsearch.connect(f"embedded://{data}")
    try:
        assert es.count(index="pins")["count"] == len(rows) and not es.exists(index="pins", id=removed["id"])
    finally:
        pinsearch.close(es)


def test_reindex_rejects_bad_pin2vec_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["reindex", str(tmp_path), "--pin2vec-epochs", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_reindex_with_refused_documents_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.reindex as reindex_module
    from indexer.corpus.sample import generate_sample
    generate_sample(tmp_path / "sample", "XS", 3, progress=False, overwrite=True, n_pins=80)
    corpus = tmp_path / "sample" / "corpus"
    real_builder = reindex_module.pin_document
    monkeypatch.setattr(reindex_module, "pin_document", lambda *a: {**real_builder(*a), "created_at": "someday"})
    rejects = tmp_path / "rejects"
    assert main(["reindex", str(corpus), "--cluster", f"embedded://{tmp_path / 'data'}", "--quiet",
                 "--signals", "none", "--rejects-dir", str(rejects)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("pinsearch reindex: error: reindex into [pins-v1] refused: 80 of 80 documents")
    assert "and 77 more" in err and str(rejects / "pins.index.rejects.jsonl") in err
    assert len((rejects / "pins.index.rejects.jsonl").read_text().splitlines()) == 80
