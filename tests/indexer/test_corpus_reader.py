"""The streaming reader API the indexer uses: typed records, references, rejects reported once."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from indexer.corpus import (
    CorpusReader,
    ErrorCode,
    Session,
    ValidationOptions,
    iter_valid,
    validate_corpus,
)
from indexer.corpus.linereader import FieldSizeScanner, iter_lines


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    _write(tmp_path / "boards.jsonl", [{"id": "b1", "name": "n", "owner": "u1"}, {"id": 7}])
    _write(tmp_path / "pins.jsonl", [
        {"id": "p1", "board_ids": ["b1", "b1"], "created_at": "2023-01-02T03:04:05+02:00"},
        {"id": "p2", "board_ids": ["b2"]},
        {"id": "p3", "created_at": "2023-01-02"},
    ])
    _write(tmp_path / "sessions.jsonl", [
        {"user": "u1", "events": [{"pin_id": "p1", "action": "click", "ts": "2023-01-02T00:00:00Z"},
                                  {"pin_id": "p3", "action": "save", "ts": "2023-01-02T00:00:09Z"}]},
        {"user": "u2", "events": [{"pin_id": "p2", "action": "view", "ts": "2023-01-02T00:00:00Z"}]},
        {"user": "u3", "events": []},
    ])
    _write(tmp_path / "judgements" / "interests.jsonl", [
        {"pin_id": "p1", "interest_id": 150, "relevant": 1},
        {"pin_id": "p1", "interest_id": 42424242, "relevant": 0},
        {"pin_id": "p3", "interest_id": 151, "relevant": True},
    ])
    return tmp_path


def test_reading_sessions_first_scans_what_they_reference(corpus: Path) -> None:
    rejects = []
    reader = CorpusReader(corpus, on_reject=rejects.append,
                          options=ValidationOptions(progress=False))
    sessions = list(reader.sessions())
    assert [s.user for s in sessions] == ["u1"]
    assert isinstance(sessions[0], Session) and sessions[0].events[1].action == "save"
    assert sessions[0].events[0].ts == datetime(2023, 1, 2, tzinfo=timezone.utc)
    # boards (1 reject), pins (1 reject: dangling b2), sessions (2 rejects: rejected pin, empty)
    assert [(r.file, r.line) for r in rejects] == [
        ("boards.jsonl", 2), ("pins.jsonl", 2), ("sessions.jsonl", 2), ("sessions.jsonl", 3)]
    pins = list(reader.pins())  # a second read yields again but reports nothing new
    assert [p.id for p in pins] == ["p1", "p3"] and len(rejects) == 4
    assert pins[0].board_ids == ("b1",)  # repeats collapsed
    assert pins[0].created_at == datetime(2023, 1, 2, 1, 4, 5, tzinfo=timezone.utc)
    assert pins[1].created_at == datetime(2023, 1, 2, tzinfo=timezone.utc)  # naive -> UTC
    assert reader.report.files["pins.jsonl"].valid == 2
    assert reader.report.files["pins.jsonl"].rejected == 1


def test_references_can_be_switched_off(corpus: Path) -> None:
    opts = ValidationOptions(check_references=False, progress=False)
    assert [p.id for p in iter_valid(corpus, "pins", options=opts)] == ["p1", "p2", "p3"]


def test_interest_ids_checked_against_a_taxonomy(corpus: Path) -> None:
    from indexer.interests import load_default_taxonomy

    ids = frozenset(n.id for n in load_default_taxonomy())
    report = validate_corpus(corpus, options=ValidationOptions(interest_ids=ids, progress=False))
    errs = [(e.line, e.field, e.code) for e in report.errors
            if e.file == "judgements/interests.jsonl"]
    assert errs == [(2, "interest_id", ErrorCode.DANGLING_REFERENCE),
                    (3, "relevant", ErrorCode.WRONG_TYPE)]


def test_unknown_kind(corpus: Path) -> None:
    with pytest.raises(ValueError, match="unknown corpus file kind"):
        iter_valid(corpus, "clicks")


def test_bounded_line_reader_and_scanner() -> None:
    data = (b'{"id":"a"}\r\n\n' + b'{"id":"big","x":"' + b"y" * 5000 + b'","z":[1,{"k":"\\""}]}\n'
            + b'\xef\xbb\xbf{"id":"c"}')
    lines = list(iter_lines(io.BytesIO(data), max_line_bytes=100, capture_keys=("id",)))
    assert [ln.number for ln in lines] == [1, 2, 3, 4]
    assert lines[0].data == b'{"id":"a"}' and lines[1].data == b""
    big = lines[2]
    assert big.oversized and big.data is None and big.size > 5000 and len(big.head) <= 1024
    assert big.scan.captured["id"] == "big"
    assert dict(big.scan.sizes)["x"] == 5002 and dict(big.scan.sizes)["z"] < 20
    assert lines[3].data == b'\xef\xbb\xbf{"id":"c"}'  # no final newline; BOM kept past line 1
    first = list(iter_lines(io.BytesIO(b'\xef\xbb\xbf{"id":"c"}\n'), max_line_bytes=100))
    assert first[0].data == b'{"id":"c"}'
    scanner = FieldSizeScanner(("id",))
    for piece in (b'{"i', b'd": "q\\', b'"x", "v": "', b"abc", b'"}'):  # split anywhere
        scanner.feed(piece)
    scanner.finish()
    assert scanner.captured["id"] == 'q\\"x' and dict(scanner.sizes)["v"] == 6
