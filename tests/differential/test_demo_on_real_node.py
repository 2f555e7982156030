"""The main job end to end on the real node: ``pinsearch --cluster URL demo --knn-engine lucene``.

Signals, reindex with the alias swap, search, Related Pins and evaluation run against the real
node; the LTR steps are skipped with the reason (the node has no LTR plugin), and say so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.differential.conftest import _real_url


def test_demo_runs_end_to_end_on_the_real_node(tmp_path: Path) -> None:
    url = _real_url()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, "-m", "pinsearch.cli", "--cluster", url, "--json", "demo", "--size", "S",
                          "--knn-engine", "lucene", "--workdir", str(tmp_path / "demo")],
                         capture_output=True, text=True, env=env, timeout=1200, check=False)
    assert run.returncode == 0, f"demo failed on {url}:\n{run.stderr[-3000:]}"
    report = json.loads(run.stdout)
    reindex = report["reindex"]
    assert reindex["indexed"] > 4000
    assert reindex["index"].startswith("pins-v")
    assert all(report["examples"][i]["hits"] for i in range(len(report["examples"])))
    assert report["related_examples"] and all(r["hits"] for r in report["related_examples"])
    assert report["evaluation"]["pinsearch_first_pass"]["ndcg@10"] > 0.3
    for kind in ("search", "related"):
        assert "Learning to Rank plugin" in report["ltr"][kind]["skipped"]
    mapping_meta = _mapping_meta(url, reindex["index"])
    assert mapping_meta["knn_engine"] == "lucene"


def _mapping_meta(url: str, index: str) -> dict:
    import pinsearch
    client = pinsearch.connect(url)
    try:
        return client.indices.get_mapping(index=index)[index]["mappings"]["_meta"]
    finally:
        client.transport.close()
