"""Incremental reindex with instant signals versus recomputing every signal, on a sample corpus.

    python benchmarks/bench_incremental.py --size S --new 50 --changed 5 --pages 3 --deleted 3

A full reindex of the sample (signals computed and models trained into a fresh cache), then the same
corpus with ``--new`` pins added (the text, boards and pages of pins of another sample, under new
ids), ``--changed`` titles edited, ``--pages`` linked pages re-fetched with other content and
``--deleted`` pins removed (with their log and judgement records, as the system deleting them would).
The changed corpus is applied twice from copies of the same state, in this order: ``--incremental``
(instant signals: saved models, only new or changed pins) and ``--incremental --full-signals`` (every
signal recomputed and retrained: what ``--incremental`` did before instant signals). Reports the
seconds of each (signals per signal, then the index update), how many pins got instant signals, and
whether each new pin is found by a ``rank_feature`` query on its best annotation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pinsearch
from indexer.corpus.sample import generate_sample
from indexer.incremental import reindex_incremental
from indexer.reindex import reindex_corpus
from indexer.signals.pipeline import compute_signals


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def change_corpus(base: Path, donor: Path, out: Path, *, new: int, changed: int, pages: int,
                  deleted: int) -> dict[str, Any]:
    """``base`` copied to ``out`` with the changes described in the module docstring."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(base, out)
    pins, boards, page_rows = _rows(out / "pins.jsonl"), _rows(out / "boards.jsonl"), _rows(out / "pages.jsonl")
    board_by_name = {b["name"]: b["id"] for b in boards}
    donor_boards = {b["id"]: b for b in _rows(donor / "boards.jsonl")}
    donor_pages = {p["url"]: p for p in _rows(donor / "pages.jsonl")}
    known_urls = {p["url"] for p in page_rows}
    added_pins, added_boards, added_pages = [], {}, []
    (out / "pages" / "new").mkdir(parents=True, exist_ok=True)
    for i, pin in enumerate(_rows(donor / "pins.jsonl")[1000:1000 + new]):
        ids = []
        for b in pin.get("board_ids", []):  # the same board name is the same board; others are new boards
            name = donor_boards[b]["name"]
            ids.append(board_by_name.get(name) or
                       added_boards.setdefault(b, {**donor_boards[b], "id": f"bnew{len(added_boards):05d}"})["id"])
        page = donor_pages.get(pin.get("link"))
        if page is not None and page["url"] not in known_urls:
            page = dict(page)
            if page.get("path"):
                target = f"pages/new/{i:05d}.html"
                shutil.copy(donor / page["path"], out / target)
                page["path"] = target
            added_pages.append(page)
            known_urls.add(page["url"])
        added_pins.append({**pin, "id": f"pnew{i:05d}", "board_ids": ids})
    for pin in pins[10:10 + changed]:
        pin["title"] = pin["title"] + " edited version"
    by_url = {p["url"]: p for p in page_rows}
    refetched = []
    for pin, other in zip(pins[20:20 + pages], pins[3000:3000 + pages]):
        page, source = by_url.get(pin.get("link")), by_url.get(other.get("link"))
        if page and source and page.get("path") and source.get("path"):
            shutil.copy(out / source["path"], out / page["path"])
            page["fetched_at"] = "2030-01-01T00:00:00Z"
            refetched.append(pin["id"])
    gone = {p["id"] for p in pins[40:40 + deleted]}
    _write(out / "pins.jsonl", [p for p in pins if p["id"] not in gone] + added_pins)
    _write(out / "boards.jsonl", boards + list(added_boards.values()))
    _write(out / "pages.jsonl", page_rows + added_pages)
    if gone:
        for path in [out / "sessions.jsonl", out / "search_log.jsonl", out / "related_log.jsonl",
                     *(out / "judgements").glob("*.jsonl")]:
            kept = []
            for rec in _rows(path):
                if rec.get("pin_id") in gone or rec.get("query_pin") in gone:
                    continue
                for key in ("events", "impressions"):
                    if key in rec:
                        rec[key] = [e for e in rec[key] if e["pin_id"] not in gone]
                if all(rec.get(key, [1]) for key in ("events", "impressions")):
                    kept.append(rec)
            _write(path, kept)
    return {"new_pins": [p["id"] for p in added_pins], "new_boards": len(added_boards),
            "new_pages": len(added_pages), "changed_titles": changed, "refetched_pages": refetched,
            "deleted": sorted(gone)}


def apply(corpus: Path, cache: Path, data: Path, *, full_signals: bool) -> dict[str, Any]:
    started = time.perf_counter()
    signals = compute_signals(corpus, cache, incremental=not full_signals)
    signals_s = time.perf_counter() - started
    es = pinsearch.connect(f"embedded://{data}")
    try:
        report = reindex_incremental(es, corpus, signals=signals.for_pin)
    finally:
        pinsearch.close(es)
    return {"seconds_total": round(time.perf_counter() - started, 2), "signals_seconds": round(signals_s, 2),
            "signals": signals.summary(), "index_update": report.to_dict(), "_values": signals.values}


def searchable(data: Path, pin_ids: list[str], annotations: dict[str, dict[str, float]]) -> dict[str, int]:
    """New pins with annotations, and how many a rank_feature query on their best one finds."""
    found = with_annotations = 0
    es = pinsearch.connect(f"embedded://{data}")
    try:
        for pin_id in pin_ids:
            mine = annotations.get(pin_id) or {}
            if not mine:
                continue
            with_annotations += 1
            best = max(mine, key=mine.get)
            body = {"size": 0, "query": {"bool": {"must": [{"rank_feature": {"field": f"annotations.{best}"}}],
                                                  "filter": [{"ids": {"values": [pin_id]}}]}}}
            found += es.search(index="pins", body=body)["hits"]["total"]["value"]
    finally:
        pinsearch.close(es)
    return {"new_pins": len(pin_ids), "with_annotations": with_annotations, "found_by_annotation": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="S")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--new", type=int, default=50)
    parser.add_argument("--changed", type=int, default=5)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--deleted", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pinsearch-bench-incremental"))
    args = parser.parse_args()
    work = args.workdir
    base, donor = work / f"sample-{args.size}-{args.seed}", work / f"sample-{args.size}-{args.seed + 1}"
    for out, seed in ((base, args.seed), (donor, args.seed + 1)):
        if not (out / "manifest.json").exists():
            generate_sample(out, args.size, seed, progress=False, overwrite=True)
    run = work / f"run-{time.time_ns()}"
    changed = run / "changed"
    changes = change_corpus(base / "corpus", donor / "corpus", changed, new=args.new, changed=args.changed,
                            pages=args.pages, deleted=args.deleted)
    t0 = time.perf_counter()
    signals = compute_signals(base / "corpus", run / "cache", log=lambda m: print(m, file=sys.stderr))
    es = pinsearch.connect(f"embedded://{run / 'data'}")
    try:
        full = reindex_corpus(es, base / "corpus", progress=False, signals=signals.for_pin)
    finally:
        pinsearch.close(es)
    full_s = time.perf_counter() - t0
    for name in ("instant", "full-signals"):
        shutil.copytree(run / "cache", run / f"cache-{name}")
        shutil.copytree(run / "data", run / f"data-{name}")
    instant = apply(changed, run / "cache-instant", run / "data-instant", full_signals=False)
    recompute = apply(changed, run / "cache-full-signals", run / "data-full-signals", full_signals=True)
    found = searchable(run / "data-instant", changes["new_pins"], instant["_values"].get("annotations", {}))
    found_full = searchable(run / "data-full-signals", changes["new_pins"],
                            recompute["_values"].get("annotations", {}))
    for result in (instant, recompute):
        del result["_values"]
    print(json.dumps({
        "size": args.size, "seed": args.seed, "pins": full.indexed, "cores": os.cpu_count(),
        "load_average": os.getloadavg(), "changes": changes,
        "full_reindex": {"seconds": round(full_s, 2), "signals": signals.summary(), "stage_seconds": full.stage_seconds},
        "incremental_instant": instant | {"search_new_pins": found},
        "incremental_full_signals": recompute | {"search_new_pins": found_full},
        "speedup": round(recompute["seconds_total"] / instant["seconds_total"], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
