"""Tests of localnode.store: translog durability and recovery, atomic files, data-dir lock.

The crash tests run real subprocesses and SIGKILL them, because the guarantees under test
(acknowledged == durable, no stale locks) are about what survives a process dying.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
try:
    import localnode.store  # noqa: F401
except ModuleNotFoundError:  # run as plain `pytest` without the project installed
    sys.path.insert(0, str(ROOT))

from localnode.store import (  # noqa: E402
    CHECKPOINT_FILE_NAME,
    LOCK_FILE_NAME,
    DataDirLock,
    DataDirLockedError,
    Translog,
    TranslogClosedError,
    TranslogCorruptedError,
    TranslogError,
    atomic_write_bytes,
    atomic_write_json,
    ensure_dir,
    read_json,
)

HEADER = 8


def gen_file(directory: Path, generation: int) -> Path:
    return directory / f"translog-{generation}.tlog"


def records(prefix: str, count: int, size: int = 40) -> list[bytes]:
    return [f"{prefix}-{i}:".encode().ljust(size, b".") for i in range(count)]


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "little") + zlib.crc32(payload).to_bytes(4, "little") + payload


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


# ---------------------------------------------------------------------- translog basics


def test_round_trip(tmp_path: Path) -> None:
    data = [b"first", b"\x00binary\xff", b"x" * 10_000]
    with Translog(tmp_path) as tlog:
        tlog.append(data)
        assert list(tlog.replay()) == data
    assert gen_file(tmp_path, 1).read_bytes() == b"".join(frame(r) for r in data)
    with Translog(tmp_path) as reopened:
        assert list(reopened.replay()) == data


def test_many_appends_then_replay_after_reopen(tmp_path: Path) -> None:
    expected: list[bytes] = []
    with Translog(tmp_path) as tlog:
        for batch in range(200):
            chunk = records(f"b{batch}", 1 + batch % 7, size=20 + batch)
            tlog.append(chunk)
            expected.extend(chunk)
    with Translog(tmp_path) as tlog:
        assert list(tlog.replay()) == expected
        tlog.append([b"after-reopen"])  # appends continue at the end of the intact records
        assert list(tlog.replay()) == expected + [b"after-reopen"]


def test_append_validates_before_writing(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"ok"])
        with pytest.raises(ValueError):
            tlog.append([b"fine", b""])
        with pytest.raises(TypeError):
            tlog.append([b"fine", "text"])  # type: ignore[list-item]
        tlog.append([])  # no-op, no fsync
        tlog.append([bytearray(b"ba"), memoryview(b"mv")])
        assert list(tlog.replay()) == [b"ok", b"ba", b"mv"]


def test_concurrent_appends_are_serialised(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        def worker(thread: int) -> None:
            for batch in range(25):
                tlog.append(records(f"t{thread}-b{batch}", 5))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        replayed = list(tlog.replay())
    assert sorted(replayed) == sorted(r for t in range(6) for b in range(25) for r in records(f"t{t}-b{b}", 5))
    for t in range(6):  # each thread's batches stay contiguous and in order
        mine = [r for r in replayed if r.startswith(f"t{t}-".encode())]
        assert mine == [r for b in range(25) for r in records(f"t{t}-b{b}", 5)]


def test_failed_fsync_closes_translog_and_reopen_recovers(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    tlog = Translog(tmp_path)
    tlog.append([b"durable"])

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(TranslogError, match="must be reopened"):
        tlog.append([b"not-acknowledged"])
    monkeypatch.undo()
    with pytest.raises(TranslogClosedError):  # after a failed fsync nothing may be trusted
        tlog.append([b"later"])
    tlog.close()
    with Translog(tmp_path) as reopened:
        assert list(reopened.replay())[0] == b"durable"


def test_closed_translog_rejects_operations(tmp_path: Path) -> None:
    tlog = Translog(tmp_path)
    tlog.close()
    tlog.close()  # idempotent
    for call in (lambda: tlog.append([b"x"]), tlog.roll_generation, tlog.stats, tlog.replay):
        with pytest.raises(TranslogClosedError):
            call()


# ---------------------------------------------------------------------- torn tails and corruption


def ckp_file(directory: Path, generation: int) -> Path:
    return directory / f"translog-{generation}.ckp"


def test_torn_unacknowledged_write_at_every_offset_is_cut(tmp_path: Path) -> None:
    # The last append's data reached the file (partly or wholly) but its checkpoint did not: a
    # crash before the acknowledgement. Whatever the checkpoint does not cover is cut, with a note.
    golden = tmp_path / "golden"
    good = records("good", 5)
    last = b"the-last-record:" + bytes(range(40))
    with Translog(golden) as tlog:
        tlog.append(good[:3])
        tlog.append(good[3:])
        acknowledged_state = {name: (golden / name).read_bytes()
                              for name in (CHECKPOINT_FILE_NAME, ckp_file(golden, 1).name)}
        tlog.append([last])
    full = gen_file(golden, 1).read_bytes()
    start = len(full) - len(frame(last))

    for cut in range(start + 1, len(full) + 1):
        case = tmp_path / f"cut-{cut}"
        case.mkdir()
        for name, content in acknowledged_state.items():
            (case / name).write_bytes(content)
        gen_file(case, 1).write_bytes(full[:cut])
        with Translog(case) as tlog:
            assert any(f"discarded {cut - start} byte(s)" in note for note in tlog.recovery_notes), cut
            assert list(tlog.replay()) == good, f"cut at {cut}"
            tlog.append([b"next"])
            assert list(tlog.replay()) == good + [b"next"], f"cut at {cut}"
        assert gen_file(case, 1).read_bytes() == full[:start] + frame(b"next"), f"cut at {cut}"
        with Translog(case) as tlog:  # and it stays clean across a reopen
            assert list(tlog.replay()) == good + [b"next"]
            assert tlog.recovery_notes == []


def test_checksum_mismatch_in_last_acknowledged_record_is_corruption(tmp_path: Path) -> None:
    # The last record is covered by the checkpoint: it was acknowledged, so this is a loss.
    with Translog(tmp_path) as tlog:
        tlog.append(records("r", 4))
    raw = bytearray(gen_file(tmp_path, 1).read_bytes())
    raw[-3] ^= 0x40
    gen_file(tmp_path, 1).write_bytes(bytes(raw))
    with Translog(tmp_path) as tlog:
        replayed: list[bytes] = []
        with pytest.raises(TranslogCorruptedError) as info:
            replayed.extend(tlog.replay())
        assert replayed == records("r", 3)
        assert (info.value.offset, info.value.operation, info.value.lost_operations) == (3 * (HEADER + 40), 3, 1)
        with pytest.raises(TranslogCorruptedError):
            tlog.append([b"fresh"])
    assert gen_file(tmp_path, 1).read_bytes() == bytes(raw)


def test_zero_filled_tail_is_not_replayed_as_records(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append(records("r", 3))
    with open(gen_file(tmp_path, 1), "ab") as f:
        f.write(b"\x00" * 4096)  # what a filesystem may expose after a power loss
    with Translog(tmp_path) as tlog:
        assert list(tlog.replay()) == records("r", 3)
        assert tlog.stats()["operations"] == 3


def test_mid_file_checksum_mismatch_raises_with_offset(tmp_path: Path) -> None:
    data = records("r", 10)
    with Translog(tmp_path) as tlog:
        tlog.append(data)
    path = gen_file(tmp_path, 1)
    raw = bytearray(path.read_bytes())
    bad_offset = 3 * (HEADER + 40)
    raw[bad_offset + HEADER + 5] ^= 0x01
    path.write_bytes(bytes(raw))

    with Translog(tmp_path) as tlog:
        replayed: list[bytes] = []
        with pytest.raises(TranslogCorruptedError) as info:
            for record in tlog.replay():
                replayed.append(record)
        assert replayed == data[:3]
        assert info.value.offset == bad_offset
        assert info.value.path == path
        assert path.name in str(info.value) and str(bad_offset) in str(info.value)
        with pytest.raises(TranslogCorruptedError):  # appending must not "repair" away good data
            tlog.append([b"x"])
    assert path.read_bytes() == bytes(raw)


def test_mid_file_damaged_length_field_still_raises(tmp_path: Path) -> None:
    data = records("r", 10)
    with Translog(tmp_path) as tlog:
        tlog.append(data)
    path = gen_file(tmp_path, 1)
    raw = bytearray(path.read_bytes())
    bad_offset = 2 * (HEADER + 40)
    raw[bad_offset:bad_offset + 4] = (10**6).to_bytes(4, "little")  # points past the end
    path.write_bytes(bytes(raw))
    with Translog(tmp_path) as tlog:
        with pytest.raises(TranslogCorruptedError) as info:
            list(tlog.replay())
    assert info.value.offset == bad_offset
    assert "runs past the checkpointed end" in str(info.value)
    assert (info.value.operation, info.value.lost_operations) == (2, 8)


# ---------------------------------------------------------------------- generations


def test_generations_roll_and_trim(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"a1", b"a2"])
        assert tlog.roll_generation() == 2
        tlog.append([b"b1"])
        assert list(tlog.replay()) == [b"a1", b"a2", b"b1"]
        assert list(tlog.replay(from_generation=2)) == [b"b1"]
        assert tlog.stats()["operations"] == 3

        # What the engine's flush does: roll, write the commit point with gen, trim below gen.
        gen = tlog.roll_generation()
        assert gen == 3
        tlog.trim_below(gen)
        assert not gen_file(tmp_path, 1).exists() and not gen_file(tmp_path, 2).exists()
        assert read_json(tmp_path / CHECKPOINT_FILE_NAME)["min_generation"] == 3
        tlog.append([b"c1"])
        assert list(tlog.replay(from_generation=3)) == [b"c1"]
        stats = tlog.stats()
        assert stats["operations"] == stats["uncommitted_operations"] == 1
        assert stats["size_in_bytes"] == tlog.size_in_bytes() == HEADER + 2

    with Translog(tmp_path) as tlog:
        assert (tlog.min_generation, tlog.generation) == (3, 3)
        assert list(tlog.replay(3)) == [b"c1"]
        with pytest.raises(TranslogError, match="already trimmed"):
            tlog.replay(from_generation=2)
        with pytest.raises(TranslogError, match="only reaches"):
            tlog.replay(from_generation=4)
        with pytest.raises(ValueError):
            tlog.trim_below(9)


def test_roll_cuts_torn_tail_before_sealing(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"keep"])
    with open(gen_file(tmp_path, 1), "ab") as f:
        f.write(frame(b"torn-record")[:-3])
    with Translog(tmp_path) as tlog:
        assert tlog.roll_generation() == 2  # a flush right after recovery, before any append
        tlog.append([b"later"])
        assert list(tlog.replay()) == [b"keep", b"later"]
    assert gen_file(tmp_path, 1).read_bytes() == frame(b"keep")


def test_torn_tail_in_sealed_generation_is_corruption(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"one"])
        tlog.roll_generation()
        tlog.append([b"two"])
    with open(gen_file(tmp_path, 1), "ab") as f:
        f.write(b"\x07garbage")
    with Translog(tmp_path) as tlog:
        with pytest.raises(TranslogCorruptedError, match="sealed generation"):
            list(tlog.replay())


def test_open_cleans_up_after_interrupted_roll_and_trim(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"a"])
        tlog.roll_generation()
        tlog.append([b"b"])
        tlog.trim_below(2)
    gen_file(tmp_path, 1).write_bytes(frame(b"a"))  # crash after checkpoint, before delete
    ckp_file(tmp_path, 1).write_bytes(ckp_file(tmp_path, 2).read_bytes())
    gen_file(tmp_path, 3).write_bytes(b"")  # crash in roll before its checkpoint
    ckp_file(tmp_path, 3).write_bytes(b"")
    (tmp_path / f".{CHECKPOINT_FILE_NAME}.abc.tmp").write_bytes(b"{")
    (tmp_path / ".translog-4.ckp.abc.tmp").write_bytes(b"\x00")  # crash while creating a checkpoint
    with Translog(tmp_path) as tlog:
        assert (tlog.min_generation, tlog.generation) == (2, 2)
        assert list(tlog.replay()) == [b"b"]
    assert {p.name for p in tmp_path.iterdir()} == {CHECKPOINT_FILE_NAME, "translog-2.tlog", "translog-2.ckp"}


def test_missing_generation_file_is_reported(tmp_path: Path) -> None:
    with Translog(tmp_path) as tlog:
        tlog.append([b"a"])
        tlog.roll_generation()
        tlog.roll_generation()
    gen_file(tmp_path, 2).unlink()
    with pytest.raises(TranslogCorruptedError, match="missing"):
        Translog(tmp_path)


# ---------------------------------------------------------------------- real crash

CRASH_CHILD = r"""
import sys
from localnode.store import Translog

def payload(batch, i):
    return (f"{batch}:{i}|" * 40).encode()[:300]

tlog = Translog(sys.argv[1])
batch = 0
while True:
    tlog.append([payload(batch, i) for i in range(50)])
    print(batch, flush=True)  # acknowledged: append returned
    if batch % 40 == 39:
        tlog.roll_generation()
    batch += 1
"""


def crash_payload(batch: int, i: int) -> bytes:
    return (f"{batch}:{i}|" * 40).encode()[:300]


def test_acknowledged_batches_survive_sigkill(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CRASH_CHILD, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, env=child_env())
    acked: list[int] = []
    reader = threading.Thread(target=lambda: acked.extend(int(line) for line in proc.stdout))
    reader.start()
    deadline = time.monotonic() + 10
    while not acked and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join()
    assert proc.returncode == -signal.SIGKILL
    assert acked, "child never acknowledged a batch"

    batches: dict[int, list[bytes]] = {}
    with Translog(tmp_path) as tlog:
        for record in tlog.replay():
            batches.setdefault(int(record.split(b":", 1)[0]), []).append(record)
    assert sorted(batches) == list(range(len(batches))), "batches missing or out of order"
    for batch in acked:
        assert batches.get(batch) == [crash_payload(batch, i) for i in range(50)], f"batch {batch}"
    # At most the one batch in flight at the kill may be present without an acknowledgement.
    assert max(batches) - max(acked) <= 1


# ---------------------------------------------------------------------- data directory lock

LOCK_CHILD = r"""
import sys, time
from localnode.store import DataDirLock
DataDirLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_second_process_gets_clear_error_and_sigkill_frees_lock(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_CHILD, str(data_dir)],
                              stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirLockedError) as info:
            DataDirLock(data_dir).acquire()
        message = str(info.value)
        assert str(data_dir) in message
        assert str(holder.pid) in message and info.value.holder_pid == holder.pid
        assert "Only one process may open an embedded data directory at a time" in message
        assert "pinsearch serve" in message
        assert isinstance(info.value, RuntimeError)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()

    with DataDirLock(data_dir) as lock:  # no stale lock after SIGKILL
        assert lock.held
        assert (data_dir / LOCK_FILE_NAME).read_text().strip() == str(os.getpid())
    assert not lock.held


def test_lock_is_exclusive_within_a_process_too(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path).acquire()
    try:
        with pytest.raises(DataDirLockedError, match="this process"):
            DataDirLock(tmp_path).acquire()
        with pytest.raises(RuntimeError):
            first.acquire()
    finally:
        first.release()
    first.release()  # idempotent
    with DataDirLock(tmp_path):
        pass


# ---------------------------------------------------------------------- fsutil


def test_atomic_json_round_trip_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "commit.json"
    atomic_write_json(target, {"generation": 1})
    atomic_write_json(target, {"generation": 2, "name": "é"})
    assert read_json(target) == {"generation": 2, "name": "é"}
    assert json.loads(target.read_text(encoding="utf-8"))["generation"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["commit.json"]
    assert read_json(tmp_path / "absent.json", default=None) is None
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "absent.json")


def test_atomic_write_failure_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    class Exploding:
        def __len__(self) -> int:
            raise Boom

    with pytest.raises((Boom, TypeError)):
        atomic_write_bytes(target, Exploding())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]


def test_ensure_dir_creates_nested_directories(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "c"
    ensure_dir(nested)
    ensure_dir(nested)
    assert nested.is_dir()
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises((NotADirectoryError, FileExistsError)):
        ensure_dir(tmp_path / "file")
