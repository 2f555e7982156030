"""Durability and concurrency: acknowledged writes survive SIGKILL; readers see consistent views."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import pinsearch
from localnode.store import DataDirLockedError

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    import pinsearch
    from opensearchpy import helpers
    es = pinsearch.connect("embedded://" + sys.argv[1])
    batch = 0
    while True:
        actions = [{"_index": "crash", "_id": f"{batch}-{i}",
                    "_source": {"title": f"pin {batch} {i} red shoes", "n": i}} for i in range(200)]
        helpers.bulk(es, actions)
        print(batch, flush=True)   # only printed after the bulk was acknowledged
        batch += 1
""")


def test_acknowledged_bulk_writes_survive_sigkill(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(data)], stdout=subprocess.PIPE, text=True, env=env)
    acknowledged: list[int] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while len(acknowledged) < 15 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line))
    proc.send_signal(signal.SIGKILL)
    remaining = proc.stdout.read()
    acknowledged.extend(int(x) for x in remaining.split())
    proc.wait()
    assert len(acknowledged) >= 15, "the writer did not get going"
    es = pinsearch.connect(f"embedded://{data}")
    try:
        es.indices.refresh(index="crash")
        for batch in acknowledged:
            found = es.mget(index="crash", body={"ids": [f"{batch}-0", f"{batch}-199"]})["docs"]
            assert all(d["found"] for d in found), f"acknowledged batch {batch} lost"
        count = es.count(index="crash")["count"]
        assert count >= 200 * len(acknowledged)
        hits = es.search(index="crash", body={"query": {"match": {"title": "red"}}, "size": 1})
        assert hits["hits"]["total"]["value"] == count
    finally:
        pinsearch.close(es)


def test_second_process_gets_a_clear_lock_error(tmp_path):
    data = tmp_path / "locked"
    es = pinsearch.connect(f"embedded://{data}")
    try:
        code = f"import pinsearch\npinsearch.connect('embedded://{data}')"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert result.returncode != 0
        assert "DataDirLockedError" in result.stderr and str(os.getpid()) in result.stderr
    finally:
        pinsearch.close(es)
    assert issubclass(DataDirLockedError, RuntimeError)


def test_clients_in_one_process_share_the_engine(tmp_path):
    url = f"embedded://{tmp_path / 'shared'}"
    first, second = pinsearch.connect(url), pinsearch.connect(url)
    try:
        first.index(index="s", id="1", body={"a": 1}, refresh=True)
        assert second.get(index="s", id="1")["found"]
    finally:
        pinsearch.close(first)
        pinsearch.close(second)


def test_readers_see_consistent_views_during_writes_and_merges(tmp_path):
    es = pinsearch.connect(f"embedded://{tmp_path / 'c'}")
    es.indices.create(index="c", body={"settings": {"refresh_interval": "-1"}})
    stop = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            # every refresh publishes whole pairs: one "a" doc and one "b" doc per round
            es.bulk(body=f'{{"index":{{"_index":"c","_id":"a{i}"}}}}\n{{"k":"a"}}\n'
                         f'{{"index":{{"_index":"c","_id":"b{i}"}}}}\n{{"k":"b"}}\n', refresh=True)
            if i % 25 == 0:
                es.indices.forcemerge(index="c", max_num_segments=1)
            i += 1

    def reader() -> None:
        while not stop.is_set():
            a = es.search(index="c", body={"query": {"term": {"k.keyword": "a"}}, "size": 0})
            total = es.search(index="c", body={"size": 0})["hits"]["total"]["value"]
            if total % 2:
                errors.append(f"odd total {total}: a refresh was seen half-applied")
            if a["hits"]["total"]["value"] * 2 > total + 2:
                errors.append("inconsistent counts")

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    pinsearch.close(es)
    assert not errors, errors[:3]


@pytest.mark.parametrize("durability", ["request"])
def test_translog_replay_after_unclean_close(tmp_path, durability):
    from localnode.node import Node
    node = Node(tmp_path / "n")
    node.handle("PUT", "/u", {}, b'{"settings": {"refresh_interval": "-1"}}')
    node.handle("PUT", "/u/_doc/1", {}, b'{"t": "kept"}')
    # simulate a crash: drop the node without flushing, release only the OS lock
    node._stop.set()
    node._lock.release()
    reopened = Node(tmp_path / "n")
    try:
        response = reopened.handle("GET", "/u/_doc/1", {}, None)
        assert response.status == 200 and response.body["_source"] == {"t": "kept"}
    finally:
        reopened.close()


def test_kill_benchmark_short_run_loses_no_acknowledged_document(tmp_path):
    """benchmarks/bench_kill.py, short: 5 SIGKILLs of a process writing with 3 threads, each reopen
    checks every document acknowledged so far (the long run, >= 100 kills, is in BENCHMARKS.md)."""
    import json
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_kill.py"), "--kills", "5", "--max-delay", "0.3",
         "--dir", str(tmp_path / "kill"), "--json"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["kills"] == 5 and summary["ok"]
    assert summary["acknowledged_documents"] > 0 and summary["documents_lost"] == 0
    assert summary["red_indices"] == [] and summary["documents_with_wrong_source"] == 0
    assert time.monotonic() - started < 30
