"""Incremental reindex: apply only what changed in the corpus to the live index, in place.

The live index's documents carry ``content_hash`` (what the pin's own fields depend on) and
``signals_hash`` (the computed signals). A pin whose content changed is re-indexed whole; a pin whose
content is the same but whose signals moved (new co-occurrences, a retrained annotator) gets a
partial update of the signal fields only; pins gone from the corpus are deleted. Everything goes
through the alias, so it works the same on a cluster, where the alias names the write index.

The reindex guard applies before anything is written: the documents the corpus gives are counted
first (per-signal coverage, as a full reindex counts its new index), and an incremental run that would
leave the live index empty, below ``min_share`` of its documents, or without a signal it has raises
:class:`~indexer.reindex.ReindexRefused` with the live index untouched. After the changes, the live
index's ``_meta`` coverage is brought up to date.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from opensearchpy import OpenSearch, helpers

from indexer.corpus import CorpusReader, Reject
from indexer.corpus.reader import ValidationOptions
from indexer.documents import SIGNAL_FIELDS, pin_document
from indexer.reindex import ReindexError, ReindexRefused, _corpus_now, _signal_source
from indexer.reindex_guard import Coverage, GuardOptions, check_guard, index_meta, live_coverage

PAGE = 5000


@dataclass(slots=True)
class IncrementalReport:
    alias: str
    index: str
    added: int = 0
    changed: int = 0
    signals_updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    corpus_rejects: int = 0
    bulk_errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    coverage: Coverage | None = None        # per signal, documents carrying it after the changes
    live_coverage: Coverage | None = None   # the same before them
    missing_signals: dict[str, str] = field(default_factory=dict)  # accepted by allow_missing_signals

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["bulk_errors"] = self.bulk_errors[:20]
        body["bulk_error_count"] = len(self.bulk_errors)
        body["coverage"] = self.coverage.to_dict() if self.coverage else None
        body["live_coverage"] = self.live_coverage.to_dict() if self.live_coverage else None
        return body


def indexed_hashes(client: OpenSearch, index: str) -> dict[str, tuple[str, str]]:
    """pin id -> (content_hash, signals_hash) of every document, paged with search_after."""
    found: dict[str, tuple[str, str]] = {}
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": PAGE, "sort": [{"pin_id": "asc"}], "_source": ["content_hash", "signals_hash"],
                                "query": {"match_all": {}}}
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=index, body=body)["hits"]["hits"]
        if not hits:
            return found
        for hit in hits:
            source = hit.get("_source", {})
            found[hit["_id"]] = (source.get("content_hash", ""), source.get("signals_hash", ""))
        after = hits[-1]["sort"]


def reindex_incremental(client: OpenSearch, corpus_dir: str | Path, *, alias: str = "pins",
                        signals: Any = None, now: datetime | None = None,
                        on_reject: Callable[[Reject], None] | None = None, chunk_size: int = 1000,
                        guard: GuardOptions | None = None,
                        signal_errors: Mapping[str, str] | None = None) -> IncrementalReport:
    """Apply the corpus's new, changed and deleted pins to the index behind ``alias``.

    ``signals`` and ``signal_errors`` as for :func:`~indexer.reindex.reindex_corpus`. Raises
    :class:`~indexer.reindex.ReindexRefused`, before writing anything, when the guard (``guard``,
    default :class:`GuardOptions`) finds the result empty, much smaller than the live index or
    missing a signal the live index has."""
    started = time.perf_counter()
    signal_fn, signal_errors, computed = _signal_source(signals, signal_errors)
    guard = guard or GuardOptions()
    corpus_dir = Path(corpus_dir)
    if not client.indices.exists_alias(name=alias):
        raise ReindexError(f"alias [{alias}] does not exist: run a full `pinsearch reindex` first")
    targets = sorted(client.indices.get_alias(name=alias))
    report = IncrementalReport(alias=alias, index=",".join(targets))
    rejects = 0

    def count_reject(reject: Reject) -> None:
        nonlocal rejects
        rejects += 1
        if on_reject is not None:
            on_reject(reject)

    options = ValidationOptions(progress=False)
    reader = CorpusReader(corpus_dir, options=options, on_reject=count_reject)  # one reader: rejects once
    boards = {b.id: b for b in reader.boards()} if (corpus_dir / "boards.jsonl").exists() else {}
    pins = list(reader.pins())
    moment = now or _corpus_now(pins)

    # the guard, before anything is written: the index after this run holds exactly these documents
    planned = Coverage(index=report.index)
    for pin in pins:
        planned.add(pin_document(pin, boards, moment, signal_fn(pin)))
    live_cov = live_coverage(client, alias, targets)
    problems, missing = check_guard(planned, live_cov, guard, signal_errors=signal_errors, computed=computed,
                                    rejects=rejects)
    report.coverage, report.live_coverage = planned, live_cov
    if problems:
        raise ReindexRefused(
            f"incremental reindex of [{alias}] refused: " + "; ".join(str(p) for p in problems)
            + f". Nothing was changed: [{report.index}] is as it was",
            problems=problems, coverage=planned, live_coverage=live_cov, index=None, alias=alias,
            live_index=report.index)
    report.missing_signals = missing

    existing = indexed_hashes(client, alias)

    def actions() -> Iterator[dict[str, Any]]:
        for pin in pins:
            doc = pin_document(pin, boards, moment, signal_fn(pin))
            previous = existing.get(pin.id)
            if previous is None:
                report.added += 1
                yield {"_op_type": "index", "_index": alias, "_id": pin.id, "_source": doc}
            elif previous[0] != doc["content_hash"]:
                report.changed += 1
                yield {"_op_type": "index", "_index": alias, "_id": pin.id, "_source": doc}
            elif previous[1] != doc["signals_hash"]:
                report.signals_updated += 1
                partial = {k: doc.get(k) for k in SIGNAL_FIELDS}
                partial["signals_hash"] = doc["signals_hash"]
                yield {"_op_type": "update", "_index": alias, "_id": pin.id, "doc": partial}
            else:
                report.unchanged += 1
        corpus_ids = {pin.id for pin in pins}
        for pin_id in sorted(set(existing) - corpus_ids):
            report.deleted += 1
            yield {"_op_type": "delete", "_index": alias, "_id": pin_id}

    for ok, item in helpers.streaming_bulk(client, actions(), chunk_size=chunk_size, raise_on_error=False,
                                           raise_on_exception=False, max_retries=5, initial_backoff=1):
        if not ok:
            report.bulk_errors.append(item)
    client.indices.refresh(index=alias)
    if len(targets) == 1:
        _store_coverage(client, targets[0], planned if not report.bulk_errors else None, missing)
    report.corpus_rejects = rejects
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _store_coverage(client: OpenSearch, index: str, coverage: Coverage | None, missing: Mapping[str, str]) -> None:
    """Bring the live index's ``_meta`` coverage up to date after an incremental run (``_meta`` is
    replaced whole, so the rest is read and written back). With refused documents the exact numbers
    are unknown: the stored coverage is dropped and the next run counts it."""
    meta = index_meta(client, index)
    record = dict(meta.get("pinsearch") or {})
    if coverage is not None:
        record["coverage"] = coverage.stored()
        record["pins"] = coverage.pins
    else:
        record.pop("coverage", None)
    if missing:
        record["missing_signals"] = dict(missing)
    else:
        record.pop("missing_signals", None)
    record["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    client.indices.put_mapping(index=index, body={"_meta": {**meta, "pinsearch": record}})
