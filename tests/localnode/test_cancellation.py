"""Bounded work: a search's ``timeout`` and a caller that gives up both stop the engine's work (and the
formatting parameter ``pretty``, also applied by the node as it writes an answer)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import pinsearch
from localnode.search import cancellation
from localnode.search.query import Searcher


@pytest.fixture
def many_segments(tmp_path: Path):  # type: ignore[no-untyped-def]
    client = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    client.indices.create(index="t", body={"settings": {"number_of_replicas": 0},
                                           "mappings": {"properties": {"text": {"type": "text"}}}})
    for batch in range(12):   # one segment per refreshed bulk
        lines = []
        for i in range(50):
            lines.append('{"index": {"_index": "t"}}')
            lines.append('{"text": "red shoes %d blue"}' % (batch * 50 + i))
        client.bulk(body="\n".join(lines) + "\n", refresh="true")
    try:
        yield client
    finally:
        pinsearch.close(client)


def test_timeout_stops_the_query_phase_and_says_so(many_segments, monkeypatch: pytest.MonkeyPatch) -> None:
    visited = []
    original = Searcher.segment_contexts

    def slow(self):  # type: ignore[no-untyped-def]
        for context in original(self):
            visited.append(context)
            time.sleep(0.02)   # 12 segments x 20 ms: far beyond a 30 ms budget
            yield context
    monkeypatch.setattr(Searcher, "segment_contexts", slow)
    answer = many_segments.search(index="t", body={"query": {"match": {"text": "shoes"}}, "timeout": "30ms"})
    assert answer["timed_out"] is True and answer["hits"]["hits"] == []
    assert len(visited) < 12, "the work went on after the timeout"
    visited.clear()
    full = many_segments.search(index="t", body={"query": {"match": {"text": "shoes"}}, "timeout": "10s"})
    assert full["timed_out"] is False and full["hits"]["total"]["value"] == 600


def test_a_cancelled_budget_stops_work_in_another_thread(many_segments, monkeypatch: pytest.MonkeyPatch) -> None:
    """What serve does after its 504: the worker's request ends at its next segment."""
    original = Searcher.segment_contexts
    started = threading.Event()

    def slow(self):  # type: ignore[no-untyped-def]
        for context in original(self):
            started.set()
            time.sleep(0.05)
            yield context
    monkeypatch.setattr(Searcher, "segment_contexts", slow)
    budget = cancellation.Budget()
    outcome: dict[str, object] = {}

    def work() -> None:
        outcome["answer"] = cancellation.run_within(
            budget, lambda: many_segments.search(index="t", body={"query": {"match": {"text": "shoes"}}}))

    from opensearchpy.exceptions import TransportError
    thread = threading.Thread(target=lambda: outcome.setdefault("error", _capture(work, TransportError)))
    began = time.monotonic()
    thread.start()
    started.wait(5)
    budget.cancel()
    thread.join(10)
    assert time.monotonic() - began < 0.5, "the cancelled search did not stop at its next segment"
    error = outcome.get("error")
    assert "answer" not in outcome
    assert error is not None and getattr(error, "error", None) == "task_cancelled_exception", error


def _capture(fn, kind):  # type: ignore[no-untyped-def]
    try:
        fn()
    except kind as exc:
        return exc
    return None


def test_time_values() -> None:
    from localnode.search.execute import parse_time_value
    assert parse_time_value("30ms", "timeout") == pytest.approx(0.03)
    assert parse_time_value("2s", "timeout") == 2.0
    assert parse_time_value("-1", "timeout") is None
    assert parse_time_value("0", "timeout") == 0.0


def test_pretty_answers_are_indented_like_opensearch(tmp_path: Path) -> None:
    import json
    from localnode.node import Node
    node = Node(tmp_path / "node")
    try:
        text = node.handle("GET", "/", {"pretty": "true"}, None).encode()
        assert text.startswith('{\n  "name" : ') and text.endswith("}\n")
        assert json.loads(text) == json.loads(node.handle("GET", "/", {}, None).encode())
        error = node.handle("GET", "/nope/_doc/1", {"pretty": ""}, None).encode()
        assert error.startswith("{\n") and json.loads(error)["status"] == 404
    finally:
        node.close()
