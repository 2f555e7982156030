"""The validator on a corpus seeded with bad records: every error located, every good record kept."""

from __future__ import annotations

import base64
import json
import time
import tracemalloc
from pathlib import Path

import orjson
import pytest

from indexer.corpus import (
    CorpusFatalError,
    ErrorCode,
    ValidationOptions,
    read_valid_pins,
    validate_corpus,
)

HUGE = 50 << 20  # a 50 MB description


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A corpus whose pins.jsonl mixes valid pins with one of each kind of bad line.

    Line numbers are fixed (asserted below); the returned set is the ids of the valid pins.
    """
    d = tmp_path_factory.mktemp("bad_corpus")
    (d / "boards.jsonl").write_bytes(_line({"id": "b1", "name": "vegan dinner ideas"})
                                     + _line({"id": "b2", "name": "cozy kitchen"}))
    lines: list[bytes] = [
        _line({"id": "p1", "title": "vegan dinner", "board_ids": ["b1"],
               "image_embedding": [0.1, 0.2, 0.3], "lang": "en"}),          # 1 valid
        b'{"id": "p2", "title": "broken" \n',                              # 2 malformed JSON
        _line({"id": "p3", "repin_count": "12"}),                           # 3 wrong type
        _line({"title": "no id here"}),                                     # 4 missing id
        _line({"id": "p5", "board_ids": ["b1", "b404"]}),                   # 5 dangling board
        b'{"id": "p6", "title": "caf\xe9 \xff"}\n',                         # 6 invalid UTF-8
        _line({"id": "p1", "title": "again"}),                              # 7 duplicate id
        _line({"id": "p8", "title": "ok", "board_ids": ["b2"], "created_at": "2023-05-01T10:00:00Z",
               "repin_count": 3, "link": "https://example.com/a"}),         # 8 valid
        b"\n",                                                             # 9 blank: skipped
        _line({"id": "p10", "image_embedding": [1.0, 2.0]}),                # 10 wrong dimension
        _line({"id": "p11", "repin_count": -1, "lang": "english"}),         # 11 range + lang
        _line({"id": "p12", "description": "ünïcödé ✨", "image_embedding": [0, 1, 2]}),  # 12 ok
    ]
    with open(d / "pins.jsonl", "wb") as fh:
        for ln in lines:
            fh.write(ln)
        # 13: a 50 MB field, written in chunks so the test itself stays small
        fh.write(b'{"id": "p13", "title": "huge", "description": "')
        chunk = b"x" * (1 << 20)
        for _ in range(HUGE >> 20):
            fh.write(chunk)
        fh.write(b'", "repin_count": 1}\n')
        fh.write(b"[1, 2, 3]\n")                                           # 14 not an object
        fh.write(_line({"id": "p15"}).rstrip(b"\n"))                       # 15 valid, no final \n
    (d / "sessions.jsonl").write_bytes(
        _line({"user": "u1", "events": [
            {"pin_id": "p1", "action": "view", "ts": "2023-05-01T10:00:00Z"},
            {"pin_id": "p8", "action": "save", "ts": "2023-05-01T10:00:05Z"}]})
        + _line({"user": "u2", "events": [
            {"pin_id": "p3", "action": "view", "ts": "2023-05-01T10:00:00Z"},
            {"pin_id": "p1", "action": "like", "ts": "2023-05-01T09:00:00Z"}]}))
    (d / "pages").mkdir()
    (d / "pages" / "a.html").write_text("<html></html>", encoding="utf-8")
    (d / "pages.jsonl").write_bytes(
        _line({"url": "https://example.com/a", "path": "pages/a.html", "status": 200})
        + _line({"url": "https://example.com/b", "path": "pages/missing.html", "status": 200})
        + _line({"url": "https://example.com/c", "path": "../etc/passwd", "status": 700}))
    (d / "search_log.jsonl").write_bytes(
        _line({"query": "vegan dinner", "device": "mobile", "ts": "2023-05-01T10:00:00Z",
               "impressions": [{"pin_id": "p1", "position": 1, "clicked": True, "saved": False},
                               {"pin_id": "p8", "position": 2, "clicked": False}]})
        + _line({"query": "vegan dinner", "device": "phone", "ts": "2023-05-01T10:00:00Z",
                 "impressions": [{"pin_id": "p99", "position": 0, "clicked": 1}]}))
    (d / "judgements").mkdir()
    (d / "judgements" / "search_relevance.jsonl").write_bytes(
        _line({"query": "vegan dinner", "pin_id": "p1", "relevance": 3})
        + _line({"query": "vegan dinner", "pin_id": "p8", "relevance": 4}))
    return d, {"p1", "p8", "p12", "p15"}


@pytest.fixture(scope="module")
def report_and_rejects(bad_corpus, tmp_path_factory):
    corpus, _ = bad_corpus
    out = tmp_path_factory.mktemp("validate_out")
    started = time.perf_counter()
    report = validate_corpus(corpus, out, quiet=True)
    return report, out, time.perf_counter() - started


def _errors(report, file: str, line: int):
    return [e for e in report.errors if e.file == file and e.line == line]


def test_every_bad_line_is_located(report_and_rejects) -> None:
    report, _, _ = report_and_rejects
    expect = {  # line -> (code, field, record id)
        2: (ErrorCode.MALFORMED_JSON, None, "p2"),
        3: (ErrorCode.WRONG_TYPE, "repin_count", "p3"),
        4: (ErrorCode.MISSING_FIELD, "id", None),
        5: (ErrorCode.DANGLING_REFERENCE, "board_ids[1]", "p5"),
        6: (ErrorCode.INVALID_UTF8, "title", "p6"),
        7: (ErrorCode.DUPLICATE_ID, "id", "p1"),
        10: (ErrorCode.DIMENSION_MISMATCH, "image_embedding", "p10"),
        13: (ErrorCode.OVERSIZED_FIELD, "description", "p13"),
        14: (ErrorCode.NOT_AN_OBJECT, None, None),
    }
    for line, (code, field, rid) in expect.items():
        errs = _errors(report, "pins.jsonl", line)
        assert errs, f"no error reported for pins.jsonl line {line}"
        e = errs[0]
        assert (e.code, e.field, e.record_id) == (code, field, rid), str(e)
        text = str(e)
        assert text.startswith(f"pins.jsonl:{line}")
        if field is not None:
            assert repr(field) in text
    assert {(e.field, e.code) for e in _errors(report, "pins.jsonl", 11)} == {
        ("repin_count", ErrorCode.OUT_OF_RANGE), ("lang", ErrorCode.BAD_FORMAT)}
    assert "b404" in _errors(report, "pins.jsonl", 5)[0].reason
    assert "first kept at line 1" in _errors(report, "pins.jsonl", 7)[0].reason
    assert "field is 52,428,80" in _errors(report, "pins.jsonl", 13)[0].reason  # + quotes


def test_counts_and_status(report_and_rejects) -> None:
    report, _, _ = report_and_rejects
    pins = report.files["pins.jsonl"]
    assert (pins.records, pins.valid, pins.rejected) == (14, 4, 10)
    assert report.files["boards.jsonl"].valid == 2
    assert report.embedding_dim == 3
    assert not report.ok and report.usable and not report.fatal
    d = report.to_dict()
    json.dumps(d)  # JSON-able
    assert d["files"]["pins.jsonl"]["error_counts"][ErrorCode.OVERSIZED_FIELD] == 1
    assert "pins.jsonl" in report.summary() and "rejected" in report.summary()


def test_cross_file_errors(report_and_rejects) -> None:
    report, _, _ = report_and_rejects
    s = {(e.field, e.code) for e in _errors(report, "sessions.jsonl", 2)}
    assert (("events[0].pin_id", ErrorCode.DANGLING_REFERENCE) in s
            and ("events[1].action", ErrorCode.OUT_OF_RANGE) in s
            and ("events[1].ts", ErrorCode.ORDER) in s)
    rejected_pin = [e for e in _errors(report, "sessions.jsonl", 2) if e.field == "events[0].pin_id"]
    assert "rejected (pins.jsonl line 3)" in rejected_pin[0].reason
    assert report.files["sessions.jsonl"].valid == 1
    pages = {(e.line, e.field, e.code) for e in report.errors if e.file == "pages.jsonl"}
    assert (2, "path", ErrorCode.DANGLING_REFERENCE) in pages
    assert (3, "path", ErrorCode.BAD_FORMAT) in pages and (3, "status", ErrorCode.OUT_OF_RANGE) in pages
    log = {(e.field, e.code) for e in _errors(report, "search_log.jsonl", 2)}
    assert log >= {("device", ErrorCode.OUT_OF_RANGE),
                   ("impressions[0].pin_id", ErrorCode.DANGLING_REFERENCE),
                   ("impressions[0].position", ErrorCode.OUT_OF_RANGE),
                   ("impressions[0].clicked", ErrorCode.WRONG_TYPE)}
    j = _errors(report, "judgements/search_relevance.jsonl", 2)
    assert j[0].field == "relevance" and j[0].code == ErrorCode.OUT_OF_RANGE


def test_huge_field_is_fast_and_bounded(bad_corpus, tmp_path: Path) -> None:
    corpus, _ = bad_corpus
    tracemalloc.start()
    started = time.perf_counter()
    report = validate_corpus(corpus, quiet=True)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.files["pins.jsonl"].rejected == 10
    assert seconds < 10.0  # typically well under a second (slower under tracemalloc)
    assert peak < 24 << 20, f"peak {peak / 1e6:.1f} MB while reading a 50 MB line"


def test_rejects_files(report_and_rejects, bad_corpus) -> None:
    report, out, _ = report_and_rejects
    corpus, _ = bad_corpus
    path = out / "rejects" / "pins.rejects.jsonl"
    rows = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6, 7, 10, 11, 13, 14]
    original = (corpus / "pins.jsonl").read_bytes().split(b"\n")
    by_line = {r["line"]: r for r in rows}
    assert by_line[3]["raw"].encode() == original[2]  # the exact original line
    assert by_line[3]["errors"][0] == {"field": "repin_count", "code": "wrong_type",
                                       "reason": "expected an integer, got string '12'"}
    assert base64.b64decode(by_line[6]["raw_base64"]) == original[5]
    huge = by_line[13]
    assert huge["raw_truncated"] and len(huge["raw"]) <= 1024 and huge["raw_bytes"] > HUGE
    assert huge["id"] == "p13" and huge["errors"][0]["field"] == "description"
    assert (out / "rejects" / "sessions.rejects.jsonl").is_file()
    assert (out / "rejects" / "judgements" / "search_relevance.rejects.jsonl").is_file()
    assert report.rejects_dir == str(out / "rejects")


def test_every_valid_pin_survives(bad_corpus) -> None:
    corpus, valid = bad_corpus
    rejects = []
    pins = list(read_valid_pins(corpus, on_reject=rejects.append))
    assert [p.id for p in pins] == ["p1", "p8", "p12", "p15"]
    assert {p.id for p in pins} == valid
    assert len(rejects) == 10 and {r.line for r in rejects} == {2, 3, 4, 5, 6, 7, 10, 11, 13, 14}
    p8 = pins[1]
    assert p8.board_ids == ("b2",) and p8.repin_count == 3 and p8.created_at.year == 2023
    assert pins[2].description == "ünïcödé ✨" and pins[2].image_embedding == (0.0, 1.0, 2.0)


def test_configurable_field_limit(tmp_path: Path) -> None:
    (tmp_path / "pins.jsonl").write_bytes(_line({"id": "a", "description": "y" * 5000})
                                          + _line({"id": "b", "description": "short"}))
    report = validate_corpus(tmp_path, max_field_bytes=1000, quiet=True)
    assert [(e.line, e.field, e.code) for e in report.errors] == [
        (1, "description", ErrorCode.OVERSIZED_FIELD)]
    assert report.files["pins.jsonl"].valid == 1
    opts = ValidationOptions(embedding_dim=4, progress=False)
    (tmp_path / "pins.jsonl").write_bytes(_line({"id": "a", "image_embedding": [1, 2, 3]}))
    assert validate_corpus(tmp_path, options=opts).errors[0].code == ErrorCode.DIMENSION_MISMATCH


def test_fatal_errors(tmp_path: Path) -> None:
    report = validate_corpus(tmp_path / "nope", quiet=True)
    assert report.fatal and "does not exist" in report.fatal[0] and not report.usable
    (tmp_path / "boards.jsonl").write_bytes(_line({"id": "b1"}))
    report = validate_corpus(tmp_path, quiet=True)
    assert any("pins.jsonl" in m for m in report.fatal)
    with pytest.raises(CorpusFatalError, match="pins.jsonl"):
        list(read_valid_pins(tmp_path))


def test_error_list_is_capped(tmp_path: Path) -> None:
    (tmp_path / "pins.jsonl").write_bytes(b"".join(_line({"id": i}) for i in range(50)))
    report = validate_corpus(tmp_path, options=ValidationOptions(max_errors=10, progress=False))
    assert len(report.errors) == 10 and report.error_total == 50 and report.errors_truncated
    assert report.files["pins.jsonl"].error_counts == {ErrorCode.WRONG_TYPE: 50}
