"""The reindex guard: no alias swap (and no incremental change) to an empty or much smaller index,
or to one missing a signal the live index has; the overrides; coverage stored and compared; the
signal cache keyed on page HTML; ``pinsearch validate`` exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import pinsearch
from indexer.corpus.sample import generate_sample
from indexer.incremental import reindex_incremental
from indexer.reindex import ReindexError, ReindexRefused, reindex_corpus
from indexer.reindex_guard import Coverage, GuardOptions, check_guard, count_coverage, index_meta
from indexer.signals.pipeline import SIGNALS, SignalSet, cache_key, compute_signals
from pinsearch.cli import EXIT_REINDEX_REFUSED, EXIT_VALIDATE_REJECTS, EXIT_VALIDATE_UNUSABLE, main

N_PINS = 150


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guard-sample")
    generate_sample(out, "XS", 11, progress=False, overwrite=True, n_pins=N_PINS)
    return out / "corpus"


@pytest.fixture
def corpus(sample: Path, tmp_path: Path) -> Path:
    """A private copy of the sample corpus, free to break."""
    work = tmp_path / "corpus"
    shutil.copytree(sample, work)
    return work


@pytest.fixture
def es(tmp_path: Path):
    client = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    try:
        yield client
    finally:
        pinsearch.close(client)


def _pin_ids(corpus: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (corpus / "pins.jsonl").read_text().splitlines()]


def fake_signals(pin_ids: list[str], *, share: dict[str, float] | None = None,
                 errors: dict[str, str] | None = None) -> SignalSet:
    """Every signal for every pin (a vector, a score, an annotation, an interest, a co-occurrence),
    except for ``share[name]``: that signal only for the first fraction of the pins."""
    share = share or {}

    def first(name: str) -> list[str]:
        return pin_ids[:round(len(pin_ids) * share.get(name, 1.0))]

    values = {
        "pin2vec": {pid: [1.0 + i % 3] + [0.1] * 127 for i, pid in enumerate(first("pin2vec"))},
        "cohesion": {pid: 0.7 for pid in first("cohesion")},
        "annotations": {pid: {"vegan-dinner": 0.8} for pid in first("annotations")},
        "interests": {pid: {1: {"42": 0.9}} for pid in first("interests")},
        "cooccur": {pid: {pin_ids[0]: 2.0} for pid in first("cooccur")},
    }
    for name in errors or {}:
        values.pop(name, None)
    return SignalSet(values=values, errors=dict(errors or {}))


def _alias(es) -> set[str]:
    return set(es.indices.get_alias(name="pins")) if es.indices.exists_alias(name="pins") else set()


def _live(es, corpus: Path) -> None:
    """pins-v1 with every signal on every pin, behind the alias."""
    reindex_corpus(es, corpus, progress=False, signals=fake_signals(_pin_ids(corpus)))
    assert _alias(es) == {"pins-v1"}


# -- documents: empty, all invalid, garbage boards, shrink ---------------------------------------------
def test_empty_pins_file_is_refused_and_the_alias_stays(es, corpus):
    _live(es, corpus)
    (corpus / "pins.jsonl").write_text("")
    with pytest.raises(ReindexRefused) as caught:
        reindex_corpus(es, corpus, progress=False, signals=fake_signals([]))
    refused = caught.value
    assert [p.code for p in refused.problems] == ["empty"]
    assert "no documents" in str(refused) and "--min-docs 0" in str(refused)
    assert "Alias [pins] left on [pins-v1]" in str(refused) and "[pins-v2] is kept for inspection" in str(refused)
    assert isinstance(refused, ReindexError)  # callers catching the old error still catch it
    assert _alias(es) == {"pins-v1"} and es.count(index="pins")["count"] == N_PINS
    assert es.indices.exists(index="pins-v2") and es.count(index="pins-v2")["count"] == 0
    assert index_meta(es, "pins-v2")["pinsearch"]["refused"][0]["code"] == "empty"
    assert refused.problems[0].override == "--min-docs 0 and --allow-shrink"
    # emptying a live index takes both options: --min-docs 0 alone still meets the shrink check
    with pytest.raises(ReindexRefused, match=r"0 documents, 0% of the 150 in the live index") as caught:
        reindex_corpus(es, corpus, progress=False, guard=GuardOptions(min_docs=0))
    assert [p.code for p in caught.value.problems] == ["shrink"] and _alias(es) == {"pins-v1"}
    report = reindex_corpus(es, corpus, progress=False, guard=GuardOptions(min_docs=0, allow_shrink=True))
    assert report.indexed == 0 and _alias(es) == {report.index}


def test_all_invalid_pins_are_refused(es, corpus):
    _live(es, corpus)
    (corpus / "pins.jsonl").write_text("{not json\n" + json.dumps({"id": 42, "title": "wrong id type"}) + "\n")
    with pytest.raises(ReindexRefused, match=r"0 valid pins, 2 corpus records rejected") as caught:
        reindex_corpus(es, corpus, progress=False)
    assert [p.code for p in caught.value.problems] == ["empty"]
    assert _alias(es) == {"pins-v1"}


def test_garbage_boards_failing_every_pin_are_refused(es, corpus):
    _live(es, corpus)
    (corpus / "boards.jsonl").write_text("nonsense\n")
    with pytest.raises(ReindexRefused, match="no documents") as caught:
        reindex_corpus(es, corpus, progress=False, signals=fake_signals(_pin_ids(corpus)))
    assert caught.value.coverage.pins == 0 and caught.value.live_coverage.pins == N_PINS
    assert _alias(es) == {"pins-v1"}


def test_first_reindex_of_an_empty_corpus_is_refused_unless_min_docs_0(es, corpus):
    (corpus / "pins.jsonl").write_text("")
    with pytest.raises(ReindexRefused, match="no documents"):
        reindex_corpus(es, corpus, progress=False)
    assert _alias(es) == set()  # no alias was created for it
    report = reindex_corpus(es, corpus, progress=False, guard=GuardOptions(min_docs=0))
    assert report.indexed == 0 and _alias(es) == {report.index}


def test_a_much_smaller_index_is_refused_unless_allowed(es, corpus):
    _live(es, corpus)
    lines = (corpus / "pins.jsonl").read_text().splitlines()
    (corpus / "pins.jsonl").write_text("".join(line + "\n" for line in lines[:40]))
    small = fake_signals(_pin_ids(corpus))
    with pytest.raises(ReindexRefused, match=r"40 documents, 27% of the 150 in the live index \[pins-v1\]") as caught:
        reindex_corpus(es, corpus, progress=False, signals=small)
    assert [p.code for p in caught.value.problems] == ["shrink"]
    assert caught.value.problems[0].override == "--allow-shrink"
    assert _alias(es) == {"pins-v1"}
    # a lower share accepts it; so does --allow-shrink
    report = reindex_corpus(es, corpus, progress=False, signals=small, guard=GuardOptions(min_share=0.25))
    assert _alias(es) == {report.index} and report.indexed == 40
    (corpus / "pins.jsonl").write_text("".join(line + "\n" for line in lines[:10]))
    with pytest.raises(ReindexRefused, match="shrink|27%|7%"):
        reindex_corpus(es, corpus, progress=False, signals=fake_signals(_pin_ids(corpus)))
    report = reindex_corpus(es, corpus, progress=False, signals=fake_signals(_pin_ids(corpus)),
                            guard=GuardOptions(allow_shrink=True))
    assert report.indexed == 10 and _alias(es) == {report.index}


def test_min_docs_is_an_absolute_minimum(es, corpus):
    with pytest.raises(ReindexRefused, match=f"{N_PINS} documents, fewer than --min-docs 1000") as caught:
        reindex_corpus(es, corpus, progress=False, guard=GuardOptions(min_docs=1000, allow_shrink=True))
    assert [p.code for p in caught.value.problems] == ["min_docs"] and _alias(es) == set()


# -- signals: failed, dropped, overridden and recorded -------------------------------------------------
def test_a_signal_missing_from_the_new_index_is_refused_then_allowed_and_recorded(es, corpus):
    _live(es, corpus)
    ids = _pin_ids(corpus)
    without = fake_signals(ids, share={"pin2vec": 0.0})
    with pytest.raises(ReindexRefused) as caught:
        reindex_corpus(es, corpus, progress=False, signals=without)
    refused = caught.value
    assert [(p.code, p.signal) for p in refused.problems] == [("signal_dropped", "pin2vec")]
    assert "covers 0 of 150 pins (0%), the live index [pins-v1] 150 of 150 (100%)" in str(refused)
    assert "--allow-missing-signals" in str(refused)
    assert _alias(es) == {"pins-v1"}
    report = reindex_corpus(es, corpus, progress=False, signals=without,
                            guard=GuardOptions(allow_missing_signals=True))
    assert _alias(es) == {report.index} and set(report.missing_signals) == {"pin2vec"}
    meta = index_meta(es, report.index)["pinsearch"]
    assert set(meta["missing_signals"]) == {"pin2vec"} and meta["coverage"]["signals"]["pin2vec"] == 0
    assert "refused" not in meta


@pytest.mark.parametrize("kept, refused", [(0.4, True), (0.6, False)])
def test_a_signal_is_missing_when_its_coverage_share_falls_below_half(es, corpus, kept, refused):
    _live(es, corpus)  # cohesion on 100 % of the pins
    signals = fake_signals(_pin_ids(corpus), share={"cohesion": kept})
    if refused:
        with pytest.raises(ReindexRefused, match=r"signal \[cohesion\] covers 60 of 150 pins"):
            reindex_corpus(es, corpus, progress=False, signals=signals)
        assert _alias(es) == {"pins-v1"}
    else:
        report = reindex_corpus(es, corpus, progress=False, signals=signals)
        assert report.coverage.signals["cohesion"] == 90 and _alias(es) == {"pins-v2"}


def test_a_failed_signal_is_refused_even_without_a_live_index(es, corpus):
    failed = fake_signals(_pin_ids(corpus), errors={"cohesion": "ValueError: no judged pin has a fetched page"})
    with pytest.raises(ReindexRefused, match=r"signal \[cohesion\] failed: ValueError: no judged pin") as caught:
        reindex_corpus(es, corpus, progress=False, signals=failed)
    assert [(p.code, p.signal) for p in caught.value.problems] == [("signal_failed", "cohesion")]
    assert _alias(es) == set()
    report = reindex_corpus(es, corpus, progress=False, signals=failed, guard=GuardOptions(allow_missing_signals=True))
    assert report.missing_signals["cohesion"].startswith("failed: ValueError")
    assert index_meta(es, report.index)["pinsearch"]["missing_signals"] == report.missing_signals


def test_a_signal_left_out_with_a_plain_callable_and_signal_errors(es, corpus):
    """The Python API with a ``pin -> PinSignals`` callable: failures come in ``signal_errors``."""
    _live(es, corpus)
    signals = fake_signals(_pin_ids(corpus))
    with pytest.raises(ReindexRefused, match=r"signal \[interests\] failed: boom"):
        reindex_corpus(es, corpus, progress=False, signals=signals.for_pin, signal_errors={"interests": "boom"})


def test_coverage_is_stored_and_equals_exists_counts_on_an_index_without_it(es, corpus):
    ids = _pin_ids(corpus)
    report = reindex_corpus(es, corpus, progress=False,
                            signals=fake_signals(ids, share={"pin2vec": 0.8, "annotations": 0.5, "cooccur": 0.3}))
    stored = index_meta(es, "pins-v1")["pinsearch"]["coverage"]
    assert stored == {"pins": 150, "signals": {"pin2vec": 120, "cohesion": 150, "annotations": 75,
                                               "interests": 150, "cooccur": 45}}
    assert report.coverage.stored() == stored
    counted = count_coverage(es, "pins-v1")  # what an index built before coverage was stored gives
    assert counted.pins == 150 and counted.signals == {**stored["signals"], "cooccur": None}

    # strip the stored coverage: the live index is then counted with exists queries, and still guarded
    meta = index_meta(es, "pins-v1")
    del meta["pinsearch"]["coverage"]
    es.indices.put_mapping(index="pins-v1", body={"_meta": meta})
    with pytest.raises(ReindexRefused, match=r"signal \[pin2vec\] covers 0 of 150") as caught:
        reindex_corpus(es, corpus, progress=False, signals=fake_signals(ids, share={"pin2vec": 0.0}))
    live = caught.value.live_coverage
    assert live.source == "counted" and live.signals["pin2vec"] == 120 and live.signals["cooccur"] is None


def test_check_guard_reports_nothing_for_an_equal_or_better_index():
    live = Coverage(pins=100, signals={"pin2vec": 90, "cohesion": 0, "annotations": 50, "interests": 100,
                                       "cooccur": None}, index="pins-v1")
    better = Coverage(pins=100, signals={"pin2vec": 95, "cohesion": 10, "annotations": 50, "interests": 100,
                                         "cooccur": 0})
    assert check_guard(better, live, GuardOptions()) == ([], {})
    worse = Coverage(pins=100, signals={**better.signals, "interests": 49})
    problems, missing = check_guard(worse, live, GuardOptions())
    assert [p.signal for p in problems] == ["interests"] and set(missing) == {"interests"}


# -- incremental: the same guard, before anything is written ------------------------------------------
def test_incremental_reindex_obeys_the_guard(es, corpus):
    _live(es, corpus)
    ids = _pin_ids(corpus)
    lines = (corpus / "pins.jsonl").read_text()
    (corpus / "pins.jsonl").write_text("")
    with pytest.raises(ReindexRefused, match=r"incremental reindex of \[pins\] refused: the new index has no "
                                             r"documents.*Nothing was changed") as caught:
        reindex_incremental(es, corpus, signals=fake_signals([]))
    assert caught.value.index is None and es.count(index="pins")["count"] == N_PINS

    (corpus / "pins.jsonl").write_text(lines)
    without = fake_signals(ids, share={"pin2vec": 0.0})
    with pytest.raises(ReindexRefused, match=r"signal \[pin2vec\] covers 0 of 150"):
        reindex_incremental(es, corpus, signals=without)
    assert es.count(index="pins", body={"query": {"exists": {"field": "pin2vec"}}})["count"] == N_PINS

    report = reindex_incremental(es, corpus, signals=without, guard=GuardOptions(allow_missing_signals=True))
    assert report.signals_updated == N_PINS and set(report.missing_signals) == {"pin2vec"}
    assert es.count(index="pins", body={"query": {"exists": {"field": "pin2vec"}}})["count"] == 0
    meta = index_meta(es, "pins-v1")["pinsearch"]
    assert meta["coverage"]["signals"]["pin2vec"] == 0 and set(meta["missing_signals"]) == {"pin2vec"}
    assert _alias(es) == {"pins-v1"}


# -- the CLI, with real signals ------------------------------------------------------------------------
def _cli(args: list[str], root: Path) -> int:
    return main(["reindex", *args, "--cluster", f"embedded://{root / 'data'}", "--cache", str(root / "cache")])


def _cli_alias(root: Path) -> set[str]:
    client = pinsearch.connect(f"embedded://{root / 'data'}")
    try:
        return _alias(client)
    finally:
        pinsearch.close(client)


def test_cli_garbage_sessions_leave_no_pin2vec_and_are_refused(corpus, tmp_path, capsys):
    args = [str(corpus), "--signals", "pin2vec", "--pin2vec-epochs", "2"]
    assert _cli(args, tmp_path) == 0
    out = capsys.readouterr().out
    assert "signal coverage (pins): pin2vec " in out and "(live" not in out  # no live index yet
    first = int(out.split("pin2vec ")[1].split("/")[0])
    assert first > 100

    (corpus / "sessions.jsonl").write_text("garbage\n{\"user\": 1}\n")
    assert _cli(args + ["--quiet"], tmp_path) == EXIT_REINDEX_REFUSED
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and "Traceback" not in err
    assert f"signal [pin2vec] covers 0 of {N_PINS} pins (0%), the live index [pins-v1] {first} of {N_PINS}" in err
    assert "--allow-missing-signals" in err and "[pins-v2] is kept for inspection" in err
    assert _cli_alias(tmp_path) == {"pins-v1"}

    assert _cli(args + ["--allow-missing-signals"], tmp_path) == 0
    captured = capsys.readouterr()
    assert f"pin2vec 0/{N_PINS} (live {first}/{N_PINS})" in captured.out
    assert "signal [pin2vec] missing (--allow-missing-signals)" in captured.err
    assert _cli_alias(tmp_path) == {"pins-v2"}


def test_cli_deleted_page_files_recompute_cohesion_and_are_refused(corpus, tmp_path, capsys):
    args = [str(corpus), "--signals", "cohesion", "--quiet", "--json"]
    assert _cli(args, tmp_path) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["coverage"]["signals"]["cohesion"] == N_PINS and first["live_coverage"] is None
    shutil.rmtree(corpus / "pages")  # pages.jsonl unchanged: only the HTML files are gone
    assert _cli(args, tmp_path) == EXIT_REINDEX_REFUSED
    captured = capsys.readouterr()
    refused = json.loads(captured.out)
    assert refused["refused"] is True and refused["live_index"] == "pins-v1"
    assert [(p["code"], p["signal"]) for p in refused["problems"]] == [("signal_failed", "cohesion")]
    assert "signal [cohesion] failed" in captured.err
    assert _cli_alias(tmp_path) == {"pins-v1"}


def test_cli_incremental_with_an_empty_corpus_is_refused(corpus, tmp_path, capsys):
    args = [str(corpus), "--signals", "none", "--quiet"]
    assert _cli(args, tmp_path) == 0
    (corpus / "pins.jsonl").write_text("")
    assert _cli(["--incremental", *args], tmp_path) == EXIT_REINDEX_REFUSED
    assert "no documents" in capsys.readouterr().err
    client = pinsearch.connect(f"embedded://{tmp_path / 'data'}")
    try:
        assert client.count(index="pins")["count"] == N_PINS
    finally:
        pinsearch.close(client)
    assert _cli(["--incremental", *args, "--min-docs", "0", "--allow-shrink"], tmp_path) == 0


def test_cli_reindex_help_documents_the_guard_and_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["reindex", "--help"])
    text = capsys.readouterr().out
    for needle in ("--min-docs", "--allow-shrink", "--allow-missing-signals", "--min-share", "exit status",
                   "5  refused by the guard"):
        assert needle in text


# -- the signal cache: page HTML is an input -----------------------------------------------------------
def test_cache_key_covers_page_html_and_boards(corpus):
    keys = {name: cache_key(spec, corpus) for name, spec in SIGNALS.items()}
    page = corpus / json.loads((corpus / "pages.jsonl").read_text().splitlines()[0])["path"]
    page.write_text(page.read_text().replace("<title>", "<title>Changed "))
    after = {name: cache_key(spec, corpus) for name, spec in SIGNALS.items()}
    assert {name for name in SIGNALS if after[name] != keys[name]} == {"cohesion", "annotations"}
    page.unlink()
    assert cache_key(SIGNALS["cohesion"], corpus) not in (keys["cohesion"], after["cohesion"])
    (corpus / "boards.jsonl").write_text((corpus / "boards.jsonl").read_text() + "\n")  # any byte counts
    assert all(cache_key(spec, corpus) != keys[name] for name, spec in SIGNALS.items())


def test_cohesion_cache_is_invalidated_by_a_page_html_change(corpus, tmp_path):
    cache = tmp_path / "cache"
    first = compute_signals(corpus, cache, ["cohesion"], strict=True)
    assert compute_signals(corpus, cache, ["cohesion"], strict=True).cached["cohesion"]
    row = json.loads((corpus / "pages.jsonl").read_text().splitlines()[0])
    page = corpus / row["path"]
    page.write_text("<html><head><title>Completely different</title></head><body>"
                    + "unrelated words about tractors " * 50 + "</body></html>")
    again = compute_signals(corpus, cache, ["cohesion"], strict=True)
    assert again.cached["cohesion"] is False
    linked = [pid for pid, link in ((json.loads(line)["id"], json.loads(line).get("link"))
                                    for line in (corpus / "pins.jsonl").read_text().splitlines())
              if link == row["url"]]
    assert linked and any(again.values["cohesion"][pid] != first.values["cohesion"][pid] for pid in linked)


def test_instant_pin_keys_follow_the_page_html(corpus):
    from indexer.signals.instant import INSTANT, CorpusState
    before = {name: INSTANT[name].pin_keys(CorpusState(corpus)) for name in ("cohesion", "annotations")}
    row = json.loads((corpus / "pages.jsonl").read_text().splitlines()[0])
    (corpus / row["path"]).write_text("<html><head><title>Other</title></head><body>other</body></html>")
    after = {name: INSTANT[name].pin_keys(CorpusState(corpus)) for name in ("cohesion", "annotations")}
    linked = {json.loads(line)["id"] for line in (corpus / "pins.jsonl").read_text().splitlines()
              if json.loads(line).get("link") == row["url"]}
    assert linked
    for name in before:
        assert {pid for pid in before[name] if before[name][pid] != after[name][pid]} == linked


# -- pinsearch validate exit codes -----------------------------------------------------------------------
def _validate(corpus: Path, capsys) -> tuple[int, dict]:
    code = main(["validate", str(corpus), "--json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def test_validate_exit_codes(corpus, tmp_path, capsys):
    code, report = _validate(corpus, capsys)
    assert code == 0 and report["status"] == "clean" and report["usable"] and report["ok"]

    with (corpus / "sessions.jsonl").open("a") as fh:
        fh.write("garbage\n")
    code, report = _validate(corpus, capsys)
    assert code == EXIT_VALIDATE_REJECTS == 3
    assert report["status"] == "usable_with_rejects" and report["usable"] and not report["ok"]

    pins = (corpus / "pins.jsonl").read_text()
    for broken in ("", "{not json\n" + json.dumps({"id": 42}) + "\n"):
        (corpus / "pins.jsonl").write_text(broken)
        code, report = _validate(corpus, capsys)
        assert code == EXIT_VALIDATE_UNUSABLE == 4, broken
        assert report["status"] == "unusable" and not report["usable"] and not report["ok"]
        assert report["unusable_reasons"]
    assert main(["validate", str(corpus), "--quiet"]) == EXIT_VALIDATE_UNUSABLE
    text = capsys.readouterr().out
    assert "UNUSABLE" in text and "no valid pin" in text and "usable," not in text

    (corpus / "pins.jsonl").write_text(pins)
    (corpus / "boards.jsonl").write_text("nonsense\n")  # every pin's board reference fails
    code, report = _validate(corpus, capsys)
    assert code == EXIT_VALIDATE_UNUSABLE and report["files"]["pins.jsonl"]["valid"] == 0
    assert "dangling_reference" in report["unusable_reasons"][0]

    (corpus / "pins.jsonl").unlink()
    code, report = _validate(corpus, capsys)
    assert code == EXIT_VALIDATE_UNUSABLE and report["fatal"]
    assert main(["validate", str(tmp_path / "missing"), "--quiet"]) == EXIT_VALIDATE_UNUSABLE


def test_validate_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = capsys.readouterr().out
    assert "0  clean" in text and "3  usable" in text and "4  unusable" in text
