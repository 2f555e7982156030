"""The signal cache on full reindexes: unchanged inputs reuse every cached signal, and editing one
corpus file recomputes exactly the signals that read it (and retrains only their models)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexer.corpus.sample import generate_sample
from indexer.signals.pipeline import SIGNALS, model_dir
from pinsearch.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache-sample")
    generate_sample(out, "XS", 11, progress=False, overwrite=True, n_pins=250)
    return out / "corpus"


def _reindex(corpus: Path, root: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    """One full ``pinsearch reindex`` (every signal) and its JSON report."""
    assert main(["reindex", str(corpus), "--cluster", f"embedded://{root / 'data'}", "--cache", str(root / "cache"),
                 "--json", "--quiet", "--pin2vec-epochs", "2"]) == 0
    return json.loads(capsys.readouterr().out)


def _model_files(cache: Path) -> dict[str, dict[str, int]]:
    """mtime of every saved model file per signal: a retrained model rewrites its files."""
    return {name: {str(p.relative_to(model_dir(cache, name))): p.stat().st_mtime_ns
                   for p in model_dir(cache, name).rglob("*") if p.is_file()}
            for name, spec in SIGNALS.items() if spec.trains_model}


def test_full_reindex_reuses_cached_signals_and_recomputes_only_readers_of_an_edited_file(
        corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "corpus"
    shutil.copytree(corpus, work)
    first = _reindex(work, tmp_path, capsys)
    assert first["index"] == "pins-v1"
    assert {name: s.get("cached") for name, s in first["signals"].items()} == {name: False for name in SIGNALS}
    models = _model_files(tmp_path / "cache")
    assert all(models.values()), models  # every model-training signal saved its model, pin2vec included

    second = _reindex(work, tmp_path, capsys)
    assert second["index"] == "pins-v2"
    assert {name: s["cached"] for name, s in second["signals"].items()} == {name: True for name in SIGNALS}
    assert {name: s["pins"] for name, s in second["signals"].items()} == \
        {name: s["pins"] for name, s in first["signals"].items()}
    assert _model_files(tmp_path / "cache") == models  # nothing retrained

    sessions = (work / "sessions.jsonl").read_text().splitlines()
    (work / "sessions.jsonl").write_text("".join(line + "\n" for line in sessions[:-3]))
    readers = {name for name, spec in SIGNALS.items() if "sessions.jsonl" in spec.inputs}
    assert readers == {"pin2vec"}
    third = _reindex(work, tmp_path, capsys)
    assert {name for name, s in third["signals"].items() if not s["cached"]} == readers
    after = _model_files(tmp_path / "cache")
    assert {name for name in after if after[name] != models[name]} == readers
