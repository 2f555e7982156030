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
    assert main(["validate", str(tmp_path / "missing")]) == 1


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
