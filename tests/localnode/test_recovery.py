"""Honest recovery (issue 20): translog checkpoints tell a torn, never acknowledged tail (cut, with a
warning) from damage to acknowledged operations (the index goes red with the reason; the node and its
other indices keep serving); checkpoints are synced after the data and replaced atomically; translogs
written before checkpoints still open.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from localnode.node import Node
from localnode.store import CHECKPOINT_FILE_NAME, Translog, TranslogCorruptedError, read_json
from localnode.store import translog as translog_module

ROOT = Path(__file__).resolve().parents[2]
HEADER = 8


def gen_file(directory: Path, generation: int) -> Path:
    return directory / f"translog-{generation}.tlog"


def ckp_file(directory: Path, generation: int) -> Path:
    return directory / f"translog-{generation}.ckp"


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "little") + zlib.crc32(payload).to_bytes(4, "little") + payload


def records(prefix: str, count: int, size: int = 40) -> list[bytes]:
    return [f"{prefix}-{i}:".encode().ljust(size, b".") for i in range(count)]


# ---------------------------------------------------------------------- translog: what is acknowledged


def test_truncated_acknowledged_tail_is_reported_at_every_offset(tmp_path: Path) -> None:
    # The probe's finding: cutting into the last *acknowledged* record used to end the replay silently.
    golden = tmp_path / "golden"
    with Translog(golden) as tlog:
        tlog.append(records("a", 3), max_seq_no=2)
        tlog.append(records("b", 2), max_seq_no=4)
    full = gen_file(golden, 1).read_bytes()
    start = 3 * (HEADER + 40)
    for cut in range(start, len(full)):
        case = tmp_path / f"cut-{cut}"
        case.mkdir()
        for name in (CHECKPOINT_FILE_NAME, ckp_file(golden, 1).name):
            (case / name).write_bytes((golden / name).read_bytes())
        gen_file(case, 1).write_bytes(full[:cut])
        with Translog(case) as tlog:
            replayed: list[bytes] = []
            with pytest.raises(TranslogCorruptedError) as info:
                replayed.extend(tlog.replay())
            intact = 1 if cut >= start + HEADER + 40 else 0   # b-0 survives a cut into b-1
            assert replayed == records("a", 3) + records("b", 2)[:intact], cut
            error = info.value
            assert (error.generation, error.operation, error.lost_operations) == (1, 3 + intact, 2 - intact), cut
            assert error.offset == start + intact * (HEADER + 40) and error.last_acknowledged_seq_no == 4
            assert f"the file ends at byte {cut}" in str(error) and f"records {len(full)} acknowledged bytes" in str(error)
            assert (f"{2 - intact} acknowledged operation(s) lost or damaged, from operation {3 + intact} "
                    "of generation 1") in str(error)
            with pytest.raises(TranslogCorruptedError):   # nothing may be written behind the damage
                tlog.append([b"x"])
        assert gen_file(case, 1).read_bytes() == full[:cut], "the damaged file must stay as found"


def test_unacknowledged_tail_is_cut_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append(records("a", 3))
    garbage = frame(b"in-flight-write")[:-5]   # a write the crash interrupted: never acknowledged
    with open(gen_file(tmp_path, 1), "ab") as fh:
        fh.write(garbage)
    with caplog.at_level(logging.WARNING, logger="localnode.translog"):
        with Translog(tmp_path) as tlog:
            assert list(tlog.replay()) == records("a", 3)
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and f"discarded {len(garbage)} byte(s) after the last acknowledged operation" in warning[0]
    assert "byte offset 144, 3 operation(s)" in warning[0]
    assert gen_file(tmp_path, 1).stat().st_size == 3 * (HEADER + 40)


def test_damage_in_a_sealed_generation_counts_every_later_operation(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append(records("a", 4), max_seq_no=3)
        tlog.roll_generation()
        tlog.append(records("b", 5), max_seq_no=8)
    raw = bytearray(gen_file(tmp_path, 1).read_bytes())
    raw[HEADER + 40 + HEADER + 7] ^= 0x01   # second record of generation 1
    gen_file(tmp_path, 1).write_bytes(bytes(raw))
    with Translog(tmp_path) as tlog:
        with pytest.raises(TranslogCorruptedError) as info:
            list(tlog.replay())
    error = info.value
    assert (error.generation, error.offset, error.operation, error.lost_operations) == (1, HEADER + 40, 1, 3 + 5)
    assert "record checksum mismatch before the checkpointed end" in str(error)


def test_checkpoint_counts_must_match_the_records(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"one", b"two"])
    ckp = ckp_file(tmp_path, 1)
    raw = bytearray(ckp.read_bytes())
    newest = _newest_slot(ckp)
    slot = translog_module._Checkpoint.decode(bytes(raw[newest * 512:]))
    assert slot is not None
    forged = translog_module._Checkpoint(slot.counter, 1, slot.offset, slot.operations + 1, slot.max_seq_no)
    raw[newest * 512:newest * 512 + 52] = forged.encode()
    ckp.write_bytes(bytes(raw))
    with Translog(tmp_path) as tlog:
        with pytest.raises(TranslogCorruptedError, match="records 3 operations but 2 records"):
            list(tlog.replay())


# ---------------------------------------------------------------------- translog: checkpoint atomicity


def test_append_syncs_the_data_before_writing_the_checkpoint(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    tlog = Translog(tmp_path)
    tlog.append([b"first"])   # the first append of a fresh translog: no setup in the trace below
    trace: list[tuple[str, str]] = []

    def name(fd: int) -> str:
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))

    def traced(label: str, real):  # type: ignore[no-untyped-def]
        def call(fd, *args):  # type: ignore[no-untyped-def]
            trace.append((label, name(fd)))
            return real(fd, *args)
        return call

    for label in ("pwrite", "fsync", "fdatasync", "write"):
        monkeypatch.setattr(os, label, traced(label, getattr(os, label)))
    tlog.append([b"second", b"third"])
    monkeypatch.undo()
    assert trace == [("pwrite", "translog-1.tlog"), ("fsync", "translog-1.tlog"),
                     ("pwrite", "translog-1.ckp"), ("fdatasync", "translog-1.ckp")]
    tlog.close()


def test_roll_creates_the_new_checkpoint_whole_before_switching(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real_atomic = translog_module.atomic_write_bytes
    real_json = translog_module.atomic_write_json

    def atomic(path, data):  # type: ignore[no-untyped-def]
        order.append(f"{Path(path).name}:{len(data)}")
        return real_atomic(path, data)

    def atomic_json(path, obj):  # type: ignore[no-untyped-def]
        order.append(f"{Path(path).name}:generation={obj['generation']}")
        return real_json(path, obj)

    with Translog(tmp_path) as tlog:
        tlog.append([b"a"])
        monkeypatch.setattr(translog_module, "atomic_write_bytes", atomic)
        monkeypatch.setattr(translog_module, "atomic_write_json", atomic_json)
        tlog.roll_generation()
    # the new generation's checkpoint is complete (rename) before translog.ckp points at it
    assert order == ["translog-2.ckp:1024", f"{CHECKPOINT_FILE_NAME}:generation=2"]


def _newest_slot(path: Path) -> int:
    raw = path.read_bytes()
    slots = [translog_module._Checkpoint.decode(raw[i * 512:(i + 1) * 512]) for i in range(2)]
    return max((i for i in range(2) if slots[i] is not None), key=lambda i: slots[i].counter)  # type: ignore[union-attr]


def test_torn_checkpoint_write_falls_back_to_the_previous_slot(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append(records("a", 2))
        tlog.append(records("b", 2))   # its checkpoint write is the one "torn" below
    ckp = ckp_file(tmp_path, 1)
    raw = bytearray(ckp.read_bytes())
    newest = _newest_slot(ckp)
    raw[newest * 512 + 20:newest * 512 + 52] = bytes(32)   # half of the slot did not reach the disk
    ckp.write_bytes(bytes(raw))
    with Translog(tmp_path) as tlog:
        # The second append was never acknowledged (its checkpoint sync did not complete): cut.
        assert list(tlog.replay()) == records("a", 2)
        assert any("discarded 96 byte(s)" in note for note in tlog.recovery_notes)


def test_checkpoint_without_a_valid_slot_is_corruption(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"a"])
    ckp_file(tmp_path, 1).write_bytes(bytes(1024))
    with pytest.raises(TranslogCorruptedError, match="no valid checkpoint slot"):
        Translog(tmp_path)


def test_missing_checkpoint_file_is_corruption(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"a"])
    ckp_file(tmp_path, 1).unlink()
    with pytest.raises(TranslogCorruptedError, match="checkpoint file is missing"):
        Translog(tmp_path)


# ---------------------------------------------------------------------- translog: before checkpoints


def write_legacy_translog(directory: Path, payloads: list[bytes], tail: bytes = b"") -> None:
    """A translog as written before checkpoints: version 1 translog.ckp, no translog-N.ckp."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CHECKPOINT_FILE_NAME).write_text(json.dumps(
        {"format": "pinsearch-translog", "version": 1, "generation": 1, "min_generation": 1}))
    gen_file(directory, 1).write_bytes(b"".join(frame(p) for p in payloads) + tail)


def test_translog_without_checkpoints_opens_as_before(tmp_path: Path) -> None:
    write_legacy_translog(tmp_path, records("old", 4), tail=frame(b"torn")[:-2])
    with Translog(tmp_path) as tlog:
        assert any("written before translog checkpoints" in n for n in tlog.recovery_notes)
        assert list(tlog.replay()) == records("old", 4)   # the torn tail ends the replay, as before
        assert not ckp_file(tmp_path, 1).exists()          # opening alone changes nothing
        tlog.append([b"new"], max_seq_no=4)
        assert any("discarded 10 byte(s) of torn or damaged tail" in n for n in tlog.recovery_notes)
    assert ckp_file(tmp_path, 1).exists()
    assert read_json(tmp_path / CHECKPOINT_FILE_NAME)["checkpointed_from"] == 1
    with Translog(tmp_path) as tlog:
        assert list(tlog.replay()) == records("old", 4) + [b"new"]
        assert tlog.recovery_notes == [] and tlog.last_acknowledged_seq_no == 4
    # from now on a truncated acknowledged tail is detected
    path = gen_file(tmp_path, 1)
    path.write_bytes(path.read_bytes()[:-2])
    with Translog(tmp_path) as tlog:
        with pytest.raises(TranslogCorruptedError, match="acknowledged bytes"):
            list(tlog.replay())


def test_translog_without_checkpoints_still_reports_mid_file_damage(tmp_path: Path) -> None:
    data = records("old", 6)
    write_legacy_translog(tmp_path, data)
    raw = bytearray(gen_file(tmp_path, 1).read_bytes())
    raw[2 * (HEADER + 40) + HEADER + 3] ^= 0x10
    gen_file(tmp_path, 1).write_bytes(bytes(raw))
    with Translog(tmp_path) as tlog:
        with pytest.raises(TranslogCorruptedError, match="followed by a valid record"):
            list(tlog.replay())


# ---------------------------------------------------------------------- the node: red index, others serve


def crash(node: Node) -> None:
    """Drop a node as a SIGKILL would: no flush, no close; only the OS lock is released."""
    node._stop.set()
    node._thread.join()
    node._lock.release()


def bulk(node: Node, index: str, start: int, count: int) -> None:
    body = "".join(f'{{"index":{{"_id":"{i}"}}}}\n{{"t":"doc {i} red shoes"}}\n' for i in range(start, start + count))
    response = node.handle("POST", f"/{index}/_bulk", {}, body.encode())
    assert response.status == 200 and not response.body["errors"]


def two_indices(data: Path) -> tuple[Path, Path]:
    """Indices "good" and "bad" with 3 bulks of 10 documents each, unflushed; the node crashed."""
    node = Node(data)
    for name in ("good", "bad"):
        node.handle("PUT", f"/{name}", {}, b'{"settings": {"number_of_replicas": 0, "refresh_interval": "-1"}}')
        for b in range(3):
            bulk(node, name, 10 * b, 10)
    paths = node.indices["good"].path / "translog", node.indices["bad"].path / "translog"
    crash(node)
    return paths


def current_generation(translog_dir: Path) -> Path:
    return gen_file(translog_dir, read_json(translog_dir / CHECKPOINT_FILE_NAME)["generation"])


def test_bit_flip_in_the_middle_turns_only_that_index_red(tmp_path: Path) -> None:
    _, bad = two_indices(tmp_path / "n")
    path = current_generation(bad)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x04
    path.write_bytes(bytes(raw))

    node = Node(tmp_path / "n")   # the node starts
    try:
        health = node.handle("GET", "/_cluster/health", {}, None).body
        assert health["status"] == "red" and health["active_primary_shards"] == 1 and health["unassigned_shards"] == 1
        assert node.handle("GET", "/_cluster/health/bad", {}, None).body["status"] == "red"
        assert node.handle("GET", "/_cluster/health/good", {}, None).body["status"] == "green"
        rows = {r["index"]: r for r in node.handle("GET", "/_cat/indices", {"format": "json"}, None).body}
        assert rows["bad"]["health"] == "red" and rows["bad"]["docs.count"] is None
        assert rows["good"]["health"] == "green" and rows["good"]["docs.count"] == "30"

        search = node.handle("POST", "/bad/_search", {}, b'{"query": {"match_all": {}}}')
        assert search.status == 503
        error = search.body["error"]
        assert error["type"] == "search_phase_execution_exception" and error["reason"] == "all shards failed"
        cause = error["root_cause"][0]
        assert cause["type"] == "no_shard_available_action_exception" and cause["index"] == "bad"
        assert "translog corrupted" in cause["reason"] and path.name in cause["reason"]
        assert "acknowledged operation(s) cannot be recovered: seq_no [" in cause["reason"]
        assert "\n" not in cause["reason"]

        get = node.handle("GET", "/bad/_doc/1", {}, None)
        assert get.status == 503 and get.body["error"]["type"] == "no_shard_available_action_exception"
        write = node.handle("PUT", "/bad/_doc/1", {}, b'{"t": "x"}')
        assert write.status == 503 and write.body["error"]["type"] == "unavailable_shards_exception"
        mixed = node.handle("POST", "/_bulk", {}, b'{"index":{"_index":"bad","_id":"n"}}\n{"t":"x"}\n'
                                                  b'{"index":{"_index":"good","_id":"n"}}\n{"t":"x"}\n')
        items = [next(iter(i.values())) for i in mixed.body["items"]]
        assert items[0]["status"] == 503 and items[0]["error"]["type"] == "unavailable_shards_exception"
        assert items[1]["status"] == 201
        recreate = node.handle("PUT", "/bad", {}, None)
        assert recreate.status == 400 and recreate.body["error"]["type"] == "resource_already_exists_exception"
        assert node.handle("HEAD", "/bad", {}, None).status == 200
        explain = node.handle("GET", "/_cluster/allocation/explain", {}, None).body
        assert explain["index"] == "bad" and explain["current_state"] == "unassigned"
        assert "translog corrupted" in explain["unassigned_info"]["details"]

        # the other index answers, reads and writes
        count = node.handle("GET", "/good/_count", {}, None)
        assert count.status == 200 and count.body["count"] == 30
        node.handle("POST", "/good/_refresh", {}, None)
        everything = node.handle("POST", "/_search", {}, b'{"size": 0}').body
        assert everything["hits"]["total"]["value"] == 31   # wildcard searches leave the red index out
    finally:
        node.close()

    node = Node(tmp_path / "n")   # still red after a clean restart: the data was left as found
    try:
        assert "bad" in node.failed_indices and path.read_bytes() == bytes(raw)
        assert node.handle("DELETE", "/bad", {}, None).status == 200
        assert node.handle("GET", "/_cluster/health", {}, None).body["status"] == "green"
    finally:
        node.close()
    node = Node(tmp_path / "n")
    try:
        assert not node.failed_indices and set(node.indices) == {"good"}
    finally:
        node.close()


def test_truncated_acknowledged_tail_turns_the_index_red_naming_the_lost_seq_nos(tmp_path: Path) -> None:
    good, bad = two_indices(tmp_path / "n")
    path = current_generation(bad)
    path.write_bytes(path.read_bytes()[:-7])   # the last acknowledged operation lost its last bytes
    node = Node(tmp_path / "n")
    try:
        failed = node.failed_indices["bad"]
        assert "1 acknowledged operation(s) cannot be recovered: seq_no [29] to [29]" in failed.reason
        assert node.handle("GET", "/good/_doc/29", {}, None).status == 200
    finally:
        node.close()


def test_torn_unacknowledged_tail_opens_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "n"
    node = Node(data)
    node.handle("PUT", "/t", {}, b'{"settings": {"number_of_replicas": 0, "refresh_interval": "-1"}}')
    bulk(node, "t", 0, 10)
    translog_dir = node.indices["t"].path / "translog"
    generation = read_json(translog_dir / CHECKPOINT_FILE_NAME)["generation"]
    before = ckp_file(translog_dir, generation).read_bytes()
    size_before = current_generation(translog_dir).stat().st_size
    bulk(node, "t", 10, 10)
    crash(node)
    # As if the crash came after the second bulk's data sync but before its checkpoint (so before
    # the acknowledgement), with the last bytes of the write torn off.
    ckp_file(translog_dir, generation).write_bytes(before)
    path = current_generation(translog_dir)
    path.write_bytes(path.read_bytes()[:-5])
    torn = path.stat().st_size - size_before
    with caplog.at_level(logging.WARNING, logger="localnode.translog"):
        node = Node(data)
    try:
        assert not node.failed_indices
        assert any(f"discarded {torn} byte(s) after the last acknowledged operation" in r.getMessage()
                   for r in caplog.records)
        assert node.handle("GET", "/t/_count", {}, None).body["count"] == 10   # only the acknowledged bulk
        bulk(node, "t", 20, 5)   # writes continue after the cut
    finally:
        node.close()
    node = Node(data)
    try:
        assert node.handle("GET", "/t/_count", {}, None).body["count"] == 15
    finally:
        node.close()


def test_cli_prints_one_line_for_a_red_index(tmp_path: Path) -> None:
    data = tmp_path / "n"
    node = Node(data)
    node.handle("PUT", "/pins-v1", {}, b'{"settings": {"number_of_replicas": 0}, "aliases": {"pins": {}}}')
    bulk(node, "pins-v1", 0, 10)
    translog_dir = node.indices["pins-v1"].path / "translog"
    crash(node)
    path = current_generation(translog_dir)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x20
    path.write_bytes(bytes(raw))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pinsearch.cli", "--cluster", f"embedded://{data}", "search", "red shoes"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("pinsearch")]
    assert len(lines) == 1 and "503" in lines[0] and "translog corrupted" in lines[0], result.stderr


def test_segments_of_an_interrupted_flush_are_not_committed_in_place_of_new_ones(tmp_path: Path) -> None:
    # Found by benchmarks/bench_kill.py: a kill between a flush's segment writes and its commit point
    # left segment directories whose names the recovered engine gives to new segments; the next
    # flush kept the stale directory and committed it, losing the new segment's documents.
    data = tmp_path / "n"
    node = Node(data)
    node.handle("PUT", "/t", {}, b'{"settings": {"number_of_replicas": 0, "refresh_interval": "-1"}}')
    bulk(node, "t", 0, 10)
    node.handle("POST", "/t/_flush", {}, None)
    for start in (10, 20):   # two segments in memory ...
        bulk(node, "t", start, 10)
        node.handle("POST", "/t/_refresh", {}, None)
    index = node.indices["t"]
    for segment, _ in index.reader.segments:   # ... written by a flush that is killed before its commit
        if not segment.persisted:
            segment.write(index.path / "segments")
    crash(node)
    node = Node(data)
    try:
        bulk(node, "t", 30, 10)
        node.handle("POST", "/t/_flush", {}, None)
    finally:
        node.close()
    node = Node(data)
    try:
        assert node.handle("GET", "/t/_count", {}, None).body["count"] == 40
        docs = node.handle("POST", "/t/_mget", {}, json.dumps({"ids": [str(i) for i in range(40)]}).encode()).body
        assert [d["_id"] for d in docs["docs"] if not d["found"]] == []
    finally:
        node.close()
