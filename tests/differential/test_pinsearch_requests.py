"""Every request pinsearch itself sends, replayed on localnode and on the real node.

The S sample corpus is indexed into both engines with every signal (annotations, interests,
co-occurrence, Pin2Vec with the ``lucene`` k-NN engine, cohesion). Then the search first pass, Related
Pins and the web page's endpoints run against localnode while a recorder keeps each request they
send (method, URL, parameters, body); each recorded request is then sent to both engines and the
answers compared. Recording rather than re-deriving the bodies means a new request shape in
``ranking/`` or the page is covered the day it is written.

Requests to the Learning to Rank plugin (``_ltr`` URLs, ``sltr`` queries, ``ltr_log``) cannot be
compared: the real node has no LTR plugin (none is published on Maven Central). They are counted
and reported, not hidden.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from opensearchpy import OpenSearch

from tests.differential.harness import (ANN_KNOWN, TALLY, Pair, Recorder, call, check, compare_ann,
                                        compare_count, compare_search, compare_status)

N_QUERIES = 40
N_RELATED = 40


@pytest.fixture(scope="module")
def sample(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from indexer.corpus.sample import generate_sample
    from indexer.reindex import reindex_corpus
    from indexer.signals.pipeline import compute_signals
    from ranking.query_signals import query_signals_for

    workdir = tmp_path_factory.mktemp("sample")
    generate_sample(workdir / "s", "S", 0, progress=False, overwrite=True)
    corpus = workdir / "s" / "corpus"
    signal_set = compute_signals(corpus, workdir / "cache")
    alias = pair.name("pins")
    for client in (pair.local, pair.real):
        reindex_corpus(client, corpus, alias=alias, progress=False, signals=signal_set.for_pin, knn_engine="lucene")
    queries = [json.loads(line)["query"] for line in (corpus / "search_log.jsonl").read_text().splitlines()[:2000]]
    pins = [json.loads(line)["id"] for line in (corpus / "pins.jsonl").read_text().splitlines()]
    rng = random.Random(7)
    return {"alias": alias, "signals": query_signals_for(workdir / "cache"),
            "queries": rng.sample(sorted(set(queries)), N_QUERIES), "pins": rng.sample(pins, N_RELATED)}


@pytest.fixture
def recorder(pair: Pair) -> Iterator[Recorder]:
    rec = Recorder(pair.local)
    try:
        yield rec
    finally:
        rec.stop()


def _needs_ltr(url: str, body: Any) -> bool:
    text = url + (json.dumps(body) if body is not None else "")
    return "_ltr" in text or '"sltr"' in text or "ltr_log" in text


def replay(pair: Pair, calls: list[tuple[str, str, dict[str, Any], Any]], context: str) -> dict[str, int]:
    """Send each recorded request to both engines; returns counts per outcome."""
    counts = {"compared": 0, "ltr_skipped": 0}
    failures: list[str] = []
    for method, url, params, body in calls:
        if _needs_ltr(url, body):
            counts["ltr_skipped"] += 1
            TALLY.add_skipped("LTR plugin absent on the real node")
            continue
        local, real = call(pair.local, method, url, body, params), call(pair.real, method, url, body, params)
        path = url.split("?")[0]
        known = None
        if path.endswith("/_search") and '"knn"' in json.dumps(body):
            try:  # an approximate knn clause: Lucene's HNSW graph may return other neighbours
                diffs = compare_ann(local, real, min_overlap=0.5)
            except AssertionError as exc:
                diffs = [str(exc)]
            else:
                known = ANN_KNOWN if diffs else None
        elif path.endswith("/_search"):
            diffs = compare_search(local, real)
        elif path.endswith("/_count"):
            diffs = compare_count(local, real)
        elif path.endswith("/_mget") or (method == "GET" and "/_doc/" in path):
            diffs = compare_status(local, real)
            if not diffs and not local.is_error and local.body != _strip_volatile(real.body, local.body):
                diffs = [f"documents differ: {str(local.body)[:300]}"]
        else:
            diffs = compare_status(local, real)
        counts["compared"] += 1
        try:
            check(diffs, known=known, context=f"{context}: {method} {url} {json.dumps(body)[:400] if body else ''}")
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} of {counts['compared']} requests differ:\n" + "\n".join(failures[:5])
    return counts


def _strip_volatile(real: Any, local: Any) -> Any:
    """Documents carry _seq_no and _primary_term only when asked; both engines number writes alike,
    so only fields absent from the local answer are dropped."""
    if isinstance(real, dict) and isinstance(local, dict):
        return {k: _strip_volatile(v, local.get(k)) for k, v in real.items() if k in local}
    if isinstance(real, list) and isinstance(local, list):
        return [_strip_volatile(r, l) for r, l in zip(real, local)]
    return real


def test_search_first_pass(pair: Pair, sample: dict[str, Any], recorder: Recorder) -> None:
    from ranking.search import search_pins
    for query in sample["queries"]:
        search_pins(pair.local, query, 20, index=sample["alias"], signals=sample["signals"](query))
        search_pins(pair.local, query, 5, index=sample["alias"], signals=sample["signals"](query), explain=True)
    counts = replay(pair, recorder.stop(), "search first pass")
    assert counts["compared"] == 2 * N_QUERIES


def test_related_pins(pair: Pair, sample: dict[str, Any], recorder: Recorder) -> None:
    from ranking.related import related_pins
    for pin in sample["pins"]:
        related_pins(pair.local, pin, 20, index=sample["alias"], rescore=None)
        related_pins(pair.local, pin, 12, index=sample["alias"], rescore=None, explain=True)
    counts = replay(pair, recorder.stop(), "related pins")
    assert counts["compared"] >= 4 * N_RELATED


def test_web_page_endpoints(pair: Pair, sample: dict[str, Any], recorder: Recorder) -> None:
    from pinsearch.server.api import ENDPOINTS
    alias = sample["alias"]
    ENDPOINTS["status"](pair.local, {"index": alias})
    for query in sample["queries"][:10]:
        ENDPOINTS["search"](pair.local, {"q": query, "index": alias}, sample["signals"])
    for pin in sample["pins"][:10]:
        ENDPOINTS["related"](pair.local, {"pin": pin, "index": alias}, sample["signals"])
    ENDPOINTS["explain"](pair.local, {"q": sample["queries"][0], "pin": sample["pins"][0], "index": alias},
                         sample["signals"])
    counts = replay(pair, recorder.stop(), "web page")
    assert counts["compared"] >= 20
