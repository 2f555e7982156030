"""Versioned, zero-downtime reindex: build ``pins-vN`` beside the live index, verify, swap the alias.

The live alias only moves in one atomic ``_aliases`` call after the new index is complete and has
passed its checks, so searches never see a partial index; the previous version is kept for
``--rollback``. A run that dies half-way leaves an index no alias points to; the next run deletes
it before starting. Everything goes through the client, so a real cluster works the same way.

The checks are strict on purpose: a document the mapping refuses is a pin missing from search, so
a single refused bulk item (or a searchable count that differs from the valid pins read) stops the
swap with a :class:`ReindexError`. The refused items go to ``<rejects dir>/<alias>.index.rejects.jsonl``
(by default beside the corpus rejects ``pinsearch validate`` writes, ``CORPUS/.validation/rejects``)
and the half-built index stays for inspection until the next run deletes it as a stale build.

A complete, verified index can still be worse than the live one: empty (a garbage ``pins.jsonl`` or
``boards.jsonl`` rejects every pin), much smaller, or without a signal the live index has (a signal
that failed, or garbage ``sessions.jsonl`` giving no Pin2Vec vectors). The guard
(:mod:`indexer.reindex_guard`) compares the new index's size and per-signal coverage with the live
index's and raises :class:`ReindexRefused` instead of swapping, unless :class:`GuardOptions` accepts
it (``--min-docs``, ``--allow-shrink``, ``--allow-missing-signals``). Coverage is stored in the index
``_meta`` (``pinsearch.coverage``) for the next comparison, and reported in :class:`ReindexReport`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from opensearchpy import OpenSearch, helpers

from indexer.corpus import Board, CorpusReader, Pin, Reject
from indexer.corpus.reader import ValidationOptions
from indexer.documents import DEFAULT_KNN_ENGINE, PinSignals, load_pins_mapping, pin_document
from indexer.reindex_guard import Coverage, GuardOptions, Problem, check_guard, live_coverage

SignalProvider = Callable[[Pin], PinSignals]


class ReindexError(RuntimeError):
    """A reindex or rollback that did not happen; the live alias was left where it was.

    ``index`` is the unfinished index a failed build left behind (for inspection), ``rejects_file``
    the file listing the documents the engine refused and ``failed`` those documents (id, error type,
    reason), so callers can report them without parsing the message."""

    def __init__(self, message: str, *, index: str | None = None, rejects_file: Path | None = None,
                 failed: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.rejects_file = rejects_file
        self.failed = failed or []


class ReindexRefused(ReindexError):
    """The guard refused the result (:mod:`indexer.reindex_guard`): an empty or much smaller index,
    or a signal missing or far below the live index's coverage. The alias was not moved (an
    incremental run changed nothing). ``problems`` lists each reason with the option that accepts it;
    ``index`` is the refused index, kept for inspection until the next reindex deletes it (None for
    an incremental run); ``coverage`` and ``live_coverage`` are the compared numbers."""

    def __init__(self, message: str, *, problems: list[Problem], coverage: Coverage,
                 live_coverage: Coverage | None, index: str | None = None, alias: str = "pins",
                 live_index: str | None = None) -> None:
        super().__init__(message, index=index)
        self.problems = problems
        self.coverage = coverage
        self.live_coverage = live_coverage
        self.alias = alias
        self.live_index = live_index

    def to_dict(self) -> dict[str, Any]:
        return {"refused": True, "alias": self.alias, "index": self.index, "live_index": self.live_index,
                "problems": [p.to_dict() for p in self.problems], "coverage": self.coverage.to_dict(),
                "live_coverage": self.live_coverage.to_dict() if self.live_coverage else None}


REJECTS_SHOWN = 3  # refused documents named in a ReindexError message; the rest are in the file


@dataclass(slots=True)
class ReindexReport:
    """``stage_seconds``: prepare, read, documents (building them), bulk (sending them: client and
    engine), verify (refresh, count, smoke queries), provenance, swap. ``bulk_errors`` holds the
    refused documents as :func:`bulk_failure` rows; a report is only returned when it is empty."""

    alias: str
    index: str
    version: int
    previous_index: str | None
    indexed: int = 0
    bulk_errors: list[dict[str, Any]] = field(default_factory=list)
    corpus_rejects: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    deleted_stale: list[str] = field(default_factory=list)
    coverage: Coverage | None = None            # per signal, documents carrying it in the new index
    live_coverage: Coverage | None = None       # the same for the index the alias pointed to (None: none)
    missing_signals: dict[str, str] = field(default_factory=dict)  # accepted by allow_missing_signals

    @property
    def pins_per_second(self) -> float:
        total = sum(self.stage_seconds.values())
        return self.indexed / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["bulk_errors"] = self.bulk_errors[:20]
        body["bulk_error_count"] = len(self.bulk_errors)
        body["pins_per_second"] = round(self.pins_per_second, 1)
        body["coverage"] = self.coverage.to_dict() if self.coverage else None
        body["live_coverage"] = self.live_coverage.to_dict() if self.live_coverage else None
        return body


def versioned_indices(client: OpenSearch, alias: str) -> tuple[list[tuple[int, str]], set[str]]:
    """Existing ``alias-vN`` indices (sorted by N) and the ones the alias points to now."""
    pattern = re.compile(rf"^{re.escape(alias)}-v(\d+)$")
    found = client.indices.get(index=f"{alias}-v*", ignore_unavailable=True, allow_no_indices=True)
    versions = sorted((int(m.group(1)), name) for name in found if (m := pattern.match(name)))
    live: set[str] = set()
    if client.indices.exists_alias(name=alias):
        live = set(client.indices.get_alias(name=alias))
    return versions, live


def reindex_corpus(client: OpenSearch, corpus_dir: str | Path, *, alias: str = "pins",
                   signals: Any = None, now: datetime | None = None,
                   chunk_size: int = 1000, progress: bool = True,
                   on_reject: Callable[[Reject], None] | None = None,
                   rejects_dir: str | Path | None = None, guard: GuardOptions | None = None,
                   signal_errors: Mapping[str, str] | None = None,
                   knn_engine: str = DEFAULT_KNN_ENGINE,
                   active_models: Mapping[str, Any] | None = None) -> ReindexReport:
    """Build ``alias-vN`` from the corpus, verify it and move ``alias`` to it in one atomic call.

    Raises :class:`ReindexError` without touching the alias when any document is refused by the
    engine (written to ``rejects_dir/<alias>.index.rejects.jsonl``; ``rejects_dir`` defaults to
    ``CORPUS/.validation/rejects``, where ``pinsearch validate`` puts the corpus rejects), when the
    searchable count differs from the valid pins read, or when a smoke query finds nothing; and
    :class:`ReindexRefused` when the guard (``guard``, default :class:`GuardOptions`) finds the new
    index empty, much smaller than the live one or missing a signal.

    ``signals`` is a :class:`~indexer.signals.pipeline.SignalSet` (its failed signals count as
    missing) or any ``pin -> PinSignals`` callable, whose failures ``signal_errors`` names.
    ``knn_engine`` (``faiss`` or ``lucene``) is the HNSW engine of the vector fields, recorded in
    the mapping ``_meta``; so are ``active_models``, the LTR models active when the index was built
    (``ranking.ltr.upload.active_models_summary``), which a model's validity is checked against.
    """
    body = load_pins_mapping(knn_engine)  # first: an unknown engine fails before anything is touched
    signal_fn, signal_errors, computed = _signal_source(signals, signal_errors)
    guard = guard or GuardOptions()
    corpus_dir = Path(corpus_dir)
    rejects_file = index_rejects_path(corpus_dir, alias, rejects_dir)
    if rejects_file.is_file():  # from an earlier failed run: it would describe an index about to go
        rejects_file.unlink()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    versions, live = versioned_indices(client, alias)
    live_version = max((_version(name) for name in live), default=0)
    stale = [name for v, name in versions if name not in live and v > live_version]
    for name in stale:  # an unfinished build from a killed run
        client.indices.delete(index=name)
    versions = [(v, n) for v, n in versions if n not in stale]
    version = (versions[-1][0] + 1) if versions else 1
    index = f"{alias}-v{version}"
    previous = sorted(live)[0] if live else None
    report = ReindexReport(alias=alias, index=index, version=version, previous_index=previous,
                           deleted_stale=stale)
    client.indices.create(index=index, body={"settings": body["settings"], "mappings": body["mappings"]})
    timings["prepare"] = time.perf_counter() - started

    rejects = 0

    def count_reject(reject: Reject) -> None:
        nonlocal rejects
        rejects += 1
        if on_reject is not None:
            on_reject(reject)

    t0 = time.perf_counter()
    options = ValidationOptions(progress=False)
    reader = CorpusReader(corpus_dir, options=options, on_reject=count_reject)  # one reader: rejects once
    boards = {b.id: b for b in reader.boards()} if (corpus_dir / "boards.jsonl").exists() else {}
    pins = list(reader.pins())
    timings["read"] = time.perf_counter() - t0
    moment = now or _corpus_now(pins)

    t0 = time.perf_counter()
    built = [0.0]  # seconds spent building documents, inside the bulk loop
    coverage = Coverage(index=index)
    actions = _actions(index, pins, boards, moment, signal_fn, built, coverage)
    indexed = 0
    with _progress(progress, len(pins), f"indexing {index}") as advance:
        for ok, item in helpers.streaming_bulk(client, actions, chunk_size=chunk_size, raise_on_error=False,
                                               raise_on_exception=False, max_retries=5, initial_backoff=1):
            if ok:
                indexed += 1
            else:
                report.bulk_errors.append(bulk_failure(item))
            advance(1)
    timings["documents"] = built[0]
    timings["bulk"] = time.perf_counter() - t0 - built[0]

    t0 = time.perf_counter()
    client.indices.refresh(index=index)  # also for the failure paths: the kept index is inspectable
    if report.bulk_errors:
        raise _refused(report, alias, previous, len(pins), rejects_file)
    _verify(client, index, indexed, pins, alias=alias, previous=previous)
    timings["verify"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    live_cov = live_coverage(client, alias, live)
    problems, missing = check_guard(coverage, live_cov, guard, signal_errors=signal_errors, computed=computed,
                                    rejects=rejects)
    report.coverage, report.live_coverage = coverage, live_cov
    report.missing_signals = missing if not problems else {}
    timings["guard"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _record_provenance(client, index, alias, version, corpus_dir, indexed, rejects, knn_engine=knn_engine,
                       active_models=active_models, coverage=coverage,
                       missing_signals=missing, refused=problems)
    timings["provenance"] = time.perf_counter() - t0
    if problems:
        raise ReindexRefused(
            f"reindex into [{index}] refused: " + "; ".join(str(p) for p in problems)
            + f". Alias [{alias}] left on [{previous or 'nothing'}]; [{index}] is kept for inspection and "
              "deleted by the next reindex",
            problems=problems, coverage=coverage, live_coverage=live_cov, index=index, alias=alias,
            live_index=previous)

    t0 = time.perf_counter()
    actions_body: list[dict[str, Any]] = [{"remove": {"index": name, "alias": alias}} for name in sorted(live)]
    actions_body.append({"add": {"index": index, "alias": alias}})
    client.indices.update_aliases(body={"actions": actions_body})
    keep = {index} | live
    for _, name in versions:
        if name not in keep:
            client.indices.delete(index=name)
    timings["swap"] = time.perf_counter() - t0
    report.indexed = indexed
    report.corpus_rejects = rejects
    report.stage_seconds = {k: round(v, 3) for k, v in timings.items()}
    return report


def _signal_source(signals: Any, signal_errors: Mapping[str, str] | None
                   ) -> tuple[SignalProvider, dict[str, str], set[str] | None]:
    """``(pin -> PinSignals, failed signals, signals asked for or None)`` from a SignalSet (its
    ``for_pin``, ``errors`` and ``values``) or a plain callable (no signals when None)."""
    errors = dict(signal_errors or {})
    if signals is None:
        return (lambda pin: PinSignals()), errors, None
    for_pin = getattr(signals, "for_pin", None)
    if for_pin is not None:
        found = dict(getattr(signals, "errors", {}) or {})
        computed = set(getattr(signals, "values", {}) or {}) | set(found)
        return for_pin, {**found, **errors}, computed
    return signals, errors, None


def _record_provenance(client: OpenSearch, index: str, alias: str, version: int, corpus_dir: Path,
                       indexed: int, rejects: int, *, knn_engine: str = DEFAULT_KNN_ENGINE,
                       active_models: Mapping[str, Any] | None = None,
                       coverage: Coverage | None = None,
                       missing_signals: Mapping[str, str] | None = None,
                       refused: list[Problem] | None = None) -> None:
    """Write what this index version was built from, and which LTR models were active, into its
    mapping ``_meta``: a model is only valid for the index and feature-set versions it was trained on,
    so the next training or activation can tell whether it is looking at the same data. Also the
    per-signal coverage (what the next reindex compares with), the signals it lacks
    (``missing_signals``) and, for a build the guard refused, why (``refused``). The active models
    come from the caller (``ranking.ltr.upload.active_models_summary``): the indexer does not
    depend on the ranking layer."""
    meta = load_pins_mapping(knn_engine)["mappings"].get("_meta", {})
    models: Mapping[str, Any] = (active_models if active_models is not None
                                 else {"unknown": "the caller of reindex_corpus passed no active_models"})
    record: dict[str, Any] = {"alias": alias, "version": version, "corpus": str(corpus_dir.resolve()),
                              "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "pins": indexed, "corpus_rejects": rejects, "active_ltr_models": models}
    if coverage is not None:
        record["coverage"] = coverage.stored()
    if missing_signals:
        record["missing_signals"] = dict(missing_signals)
    if refused:
        record["refused"] = [p.to_dict() for p in refused]
    meta = {**meta, "pinsearch": record}
    client.indices.put_mapping(index=index, body={"_meta": meta})


def rollback(client: OpenSearch, alias: str = "pins") -> tuple[str, str]:
    """Point the alias back at the previous version; returns (from index, to index)."""
    versions, live = versioned_indices(client, alias)
    if not live:
        raise ReindexError(f"alias [{alias}] does not exist: nothing to roll back")
    current = max(live)
    older = [name for _, name in versions if name not in live and _version(name) < _version(current)]
    if not older:
        raise ReindexError(f"no previous version of [{alias}] is kept: cannot roll back from [{current}]")
    target = older[-1]
    client.indices.update_aliases(body={"actions": [
        *[{"remove": {"index": name, "alias": alias}} for name in sorted(live)],
        {"add": {"index": target, "alias": alias}}]})
    return current, target


def _version(name: str) -> int:
    return int(name.rsplit("-v", 1)[1])


def _actions(index: str, pins: list[Pin], boards: dict[str, Board], now: datetime,
             signals: SignalProvider, built: list[float], coverage: Coverage) -> Iterator[dict[str, Any]]:
    for pin in pins:
        t0 = time.perf_counter()
        doc = pin_document(pin, boards, now, signals(pin))
        coverage.add(doc)
        built[0] += time.perf_counter() - t0
        yield {"_index": index, "_id": pin.id, "_source": doc}


def _corpus_now(pins: list[Pin]) -> datetime:
    """The newest pin's date: freshness is relative to the corpus, so reindexing is reproducible."""
    dates = [p.created_at for p in pins if p.created_at is not None]
    if not dates:
        return datetime.now(timezone.utc)
    newest = max(d if d.tzinfo else d.replace(tzinfo=timezone.utc) for d in dates)
    return newest


def index_rejects_path(corpus_dir: str | Path, alias: str = "pins", rejects_dir: str | Path | None = None) -> Path:
    """Where a full reindex lists the documents the engine refused: beside the corpus rejects of
    ``pinsearch validate`` (``CORPUS/.validation/rejects``) unless ``rejects_dir`` says otherwise,
    named after the alias so two aliases built from one corpus do not overwrite each other's."""
    folder = Path(rejects_dir) if rejects_dir is not None else Path(corpus_dir) / ".validation" / "rejects"
    return folder / f"{alias}.index.rejects.jsonl"


_FIELD_IN_REASON = re.compile(r"failed to parse field \[([^\]]+)\]")


def bulk_failure(item: dict[str, Any]) -> dict[str, Any]:
    """One refused bulk item as a JSON-safe row: pin id, index, HTTP status, error type and reason,
    the field when the engine names it, and the underlying cause. Item-level errors come back as
    ``{"type", "reason", "caused_by"}``; a whole chunk lost to a transport error (the helper's
    ``raise_on_exception=False`` path) comes back as a string and an exception object, which are
    flattened here so the row can be written to JSON."""
    op_type, info = next(iter(item.items())) if item else ("index", {})
    error = info.get("error")
    if isinstance(error, dict):
        kind = str(error.get("type", "unknown"))
        reason = str(error.get("reason", ""))
        cause = error.get("caused_by")
        caused_by = f"{cause.get('type')}: {cause.get('reason')}" if isinstance(cause, dict) else None
    else:
        exc = info.get("exception")
        kind = type(exc).__name__ if exc is not None else "transport_error"
        reason = str(error)
        caused_by = None
    match = _FIELD_IN_REASON.search(reason)
    return {"file": "pins.jsonl", "id": info.get("_id"), "index": info.get("_index"), "op": op_type,
            "status": info.get("status"),
            "errors": [{"field": match.group(1) if match else None, "code": kind, "reason": reason,
                        "caused_by": caused_by}]}


def _write_rejects(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the refused documents, one JSON object per line (the corpus rejects' layout), beside
    the final name and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def _refused(report: ReindexReport, alias: str, previous: str | None, valid_pins: int,
             rejects_file: Path) -> ReindexError:
    """The error for a build with refused documents: how many, the first few by pin id with error
    type and reason, where the full list is, and that the alias did not move."""
    failed = report.bulk_errors
    try:
        _write_rejects(rejects_file, failed)
        where = f"all {len(failed)} in {rejects_file}"
    except OSError as exc:  # a read-only corpus directory must not hide the real failure
        where = f"could not write {rejects_file} ({exc})"
    shown = "; ".join(f"pin [{row['id']}] {err['code']}: {err['reason']}"
                      + (f" ({err['caused_by']})" if err.get("caused_by") else "")
                      for row in failed[:REJECTS_SHOWN] for err in row["errors"][:1])
    more = f"; and {len(failed) - REJECTS_SHOWN} more" if len(failed) > REJECTS_SHOWN else ""
    return ReindexError(
        f"reindex into [{report.index}] refused: {len(failed)} of {valid_pins} documents were rejected by the "
        f"engine: {shown}{more}; {where}. Alias [{alias}] left on [{previous or 'nothing'}]; "
        f"[{report.index}] is kept for inspection and deleted by the next reindex",
        index=report.index, rejects_file=rejects_file, failed=failed)


def _verify(client: OpenSearch, index: str, indexed: int, pins: list[Pin], *, alias: str,
            previous: str | None) -> None:
    """The new index holds exactly the valid pins read (not just what the engine acknowledged: a
    lost acknowledgement or a duplicate id would hide a missing pin), and a few titles find their
    pins. Any failure leaves the alias where it is."""
    kept = f"alias [{alias}] left on [{previous or 'nothing'}]; [{index}] is kept for inspection and " \
           "deleted by the next reindex"
    count = client.count(index=index)["count"]
    if count != len(pins):
        raise ReindexError(f"verification failed for [{index}]: {len(pins)} valid pins read, {indexed} "
                           f"acknowledged, {count} searchable; {kept}", index=index)
    for pin in pins[:5]:
        words = " ".join(pin.title.split()[:3])
        if not words:
            continue
        hits = client.search(index=index, body={"query": {"match": {"title": words}}, "size": 10})
        if hits["hits"]["total"]["value"] == 0:
            raise ReindexError(f"verification failed for [{index}]: smoke query [{words}] (pin [{pin.id}]) "
                               f"found nothing; {kept}", index=index)


class _progress:
    """A rich progress bar when asked for, a no-op otherwise."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.enabled = enabled
        self.total = total
        self.label = label

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), transient=True)
        self._bar.__enter__()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)
