"""One index (a single shard): write path, realtime get, refresh, flush, merges and recovery.

Write path, as in OpenSearch: parse the document, apply it to the in-memory indexing buffer and the
live version map, append the operation to the translog, fsync, then acknowledge. Refresh freezes the
buffer into an immutable segment and publishes a new point-in-time :class:`Reader`; searchers hold
on to whichever reader they started with, so they never see a half-applied write, refresh or merge.
Flush writes unpersisted segments and a commit point, then trims the translog; recovery loads the
last commit and replays the translog after it.
"""

from __future__ import annotations

import base64
import bisect
import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from localnode.analysis import Analyzer
from localnode.errors import (DocumentMissingError, IllegalArgumentError, OpenSearchError,
                              VersionConflictError)
from localnode.index import settings as index_settings
from localnode.index.analyzers import AnalyzerResolver
from localnode.index.segment import Segment, SegmentBuilder, merge_segments
from localnode.mapping.document import DocumentParser
from localnode.mapping.fields import KEYWORD, BOOLEAN, AnalyzerCheck
from localnode.mapping.mapping import Mapping
from localnode.store import Translog, TranslogCorruptedError, atomic_write_bytes, fsync_dir, read_json

PRIMARY_TERM = 1
MERGE_FACTOR = 10


class TranslogRecoveryError(OpenSearchError):
    """OpenSearch's ``TranslogCorruptedException``: acknowledged operations are damaged or missing.

    The reason names the translog file, the byte offset, and the lost operations by sequence
    number: from the one after the last intact operation to the last one the checkpoints record.
    """
    status = 500
    error_type = "translog_corrupted_exception"

    def __init__(self, index: str, index_uuid: str, cause: TranslogCorruptedError, last_intact_seq_no: int) -> None:
        reason = f"translog corrupted: {cause.location}"
        last = cause.last_acknowledged_seq_no
        if cause.operation is not None:
            count = "" if cause.lost_operations is None else f"{cause.lost_operations} "
            where = f"operation {cause.operation} of generation {cause.generation} on"
            if last is not None and last > last_intact_seq_no:
                reason += (f"; {count}acknowledged operation(s) cannot be recovered: seq_no "
                           f"[{last_intact_seq_no + 1}] to [{last}] ({where})")
            else:
                reason += (f"; {count}acknowledged operation(s) after seq_no [{last_intact_seq_no}] "
                           f"cannot be recovered ({where})")
        super().__init__(reason, index=index, index_uuid=index_uuid, shard="0")
        self.translog_error = cause
        self.first_lost_seq_no = last_intact_seq_no + 1 if cause.operation is not None else None
        self.last_lost_seq_no = last if cause.operation is not None else None


@dataclass(slots=True)
class DocLocation:
    """Where the newest version of an id lives; ``segment`` is None while it is in the buffer."""
    segment: str | None
    doc: int
    version: int
    seq_no: int
    deleted: bool = False


@dataclass(slots=True)
class OpResult:
    doc_id: str
    result: str        # created | updated | deleted | not_found | noop
    version: int
    seq_no: int
    status: int


@dataclass(slots=True)
class StoredDoc:
    doc_id: str
    source: bytes
    version: int
    seq_no: int


class Reader:
    """A point-in-time view: segments with their live-docs masks and cached index statistics."""

    def __init__(self, index: "LocalIndex", segments: tuple[tuple[Segment, np.ndarray | None], ...],
                 generation: int) -> None:
        self.index = index
        self.segments = segments
        self.generation = generation
        self.bases = np.cumsum([0] + [s.max_doc for s, _ in segments])
        self._base_list: list[int] = self.bases.tolist()   # bisect on a list beats np.searchsorted per hit
        self._stats_cache: dict[tuple[str, str], Any] = {}
        self.num_docs = sum(s.max_doc if live is None else int(live.sum()) for s, live in segments)
        self.max_doc = int(self.bases[-1])

    def field_stats(self, field: str) -> tuple[int, int, int]:
        """(docCount, sumTotalTermFreq, sumDocFreq) over all segments, deleted docs included (as Lucene)."""
        key = ("__field__", field)
        cached = self._stats_cache.get(key)
        if cached is None:
            doc_count = sum_ttf = sum_df = 0
            for segment, _ in self.segments:
                fp = segment.postings.get(field)
                if fp is not None:
                    doc_count += fp.doc_count
                    sum_ttf += fp.sum_total_term_freq
                    sum_df += fp.sum_doc_freq
            cached = self._stats_cache[key] = (doc_count, sum_ttf, sum_df)
        return cached

    def term_stats(self, field: str, term: str) -> tuple[int, int]:
        """(docFreq, totalTermFreq) over all segments, deleted docs included."""
        key = (field, term)
        cached = self._stats_cache.get(key)
        if cached is None:
            doc_freq = total = 0
            for segment, _ in self.segments:
                fp = segment.postings.get(field)
                if fp is not None:
                    found = fp.postings(term)
                    if found is not None:
                        doc_freq += len(found[0])
                        total += int(found[1].sum(dtype=np.int64))
            cached = self._stats_cache[key] = (doc_freq, total)
        return cached

    def locate(self, global_doc: int) -> tuple[Segment, int]:
        seg_index = bisect.bisect_right(self._base_list, global_doc) - 1
        return self.segments[seg_index][0], global_doc - self._base_list[seg_index]


class LocalIndex:
    def __init__(self, name: str, path: Path, settings: dict[str, Any], mapping: dict[str, Any] | None,
                 *, create: bool) -> None:
        self.name = name
        self.path = path
        self.settings = settings
        self._write_lock = threading.RLock()
        self._analysis = AnalyzerResolver(settings.get("index.analysis"))
        self.mapping = Mapping(mapping, knn_enabled=self.knn_enabled,
                               analyzers=AnalyzerCheck(self._analysis.known_names()))
        self._parser = DocumentParser(self.mapping)
        self._versions: dict[str, DocLocation] = {}
        self._buffer = self._new_buffer()
        self._buffer_deleted: set[int] = set()
        self._pending_deletes: dict[str, list[int]] = {}
        self._segment_counter = 0
        self._commit_generation = 0
        self._max_seq_no = -1
        self._last_refresh = time.monotonic()
        self._reader_generation = 0
        self._closed = False
        self.stats_counters = {"index_total": 0, "delete_total": 0, "query_total": 0, "refresh_total": 0,
                               "flush_total": 0, "merge_total": 0}
        if create:
            path.mkdir(parents=True, exist_ok=False)
            (path / "segments").mkdir()
            self._write_metadata()
        self.translog = Translog(path / "translog")
        try:
            segments: list[tuple[Segment, np.ndarray | None]] = []
            if not create:
                segments = self._load_commit()
            self._reader = Reader(self, tuple(segments), 0)
            if not create:
                self._replay_translog()
            if create:
                self.flush(force=True)
        except BaseException:
            # A failed recovery leaves nothing open: the node reports the index red and the data
            # stays as found, for inspection (only a never acknowledged translog tail was cut).
            self._closed = True
            self.translog.close()
            raise

    # -- properties ---------------------------------------------------------------------------
    @property
    def uuid(self) -> str:
        return self.settings["index.uuid"]

    @property
    def knn_enabled(self) -> bool:
        return index_settings.is_truthy(self.settings.get("index.knn", "false"))

    @property
    def reader(self) -> Reader:
        return self._reader

    def analyzer(self, name: str) -> Analyzer:
        return self._analysis.get(name)

    def _new_buffer(self) -> SegmentBuilder:
        mapping = self.mapping  # its field table is replaced when the mapping grows: look up each time

        def analyze(field: str, text: str) -> list[str]:
            return self._analysis.get(mapping.fields[field].analyzer).terms(text)

        def docs_only(field: str) -> bool:
            mapper = mapping.fields.get(field)
            return mapper is not None and mapper.type in (KEYWORD, BOOLEAN)

        def has_norms(field: str) -> bool:
            mapper = mapping.fields.get(field)
            return mapper is not None and mapper.has_norms

        def integer_field(field: str) -> bool:
            mapper = mapping.fields.get(field)
            return mapper is not None and mapper.type not in ("float", "double", "half_float")

        return SegmentBuilder(analyze, docs_only, has_norms, integer_field)

    # -- write path ---------------------------------------------------------------------------
    def write_ops(self, ops: list[dict[str, Any]]) -> list[OpResult | OpenSearchError]:
        """Apply index/create/delete operations in order; one translog fsync for the whole batch.

        Each op: ``{"op": "index"|"create"|"delete", "id": str|None, "source": dict,
        "if_seq_no": int|None, "if_primary_term": int|None, "version": int|None, "version_type": str|None}``.
        A failing op yields its error in place; the others still apply (bulk semantics).
        """
        results: list[OpResult | OpenSearchError] = []
        records: list[bytes] = []
        with self._write_lock:
            self._check_open()
            for op in ops:
                try:
                    result, record = self._apply(op)
                except OpenSearchError as exc:
                    results.append(exc)
                    continue
                results.append(result)
                if record is not None:
                    records.append(record)
            if records:
                self.translog.append(records, max_seq_no=self._max_seq_no)
                self._maybe_flush_on_size()
        return results

    def _apply(self, op: dict[str, Any]) -> tuple[OpResult, bytes | None]:
        kind = op["op"]
        doc_id = op.get("id")
        if kind == "delete":
            return self._delete(doc_id, op)
        if doc_id is None:
            doc_id = _auto_id()
        if not isinstance(doc_id, str) or not doc_id:
            raise IllegalArgumentError("if _id is specified it must not be empty")
        if len(doc_id.encode()) > 512:
            raise IllegalArgumentError(f"id [{doc_id}] is too long, must be no longer than 512 bytes but was: {len(doc_id.encode())}")
        current = self._versions.get(doc_id)
        exists = current is not None and not current.deleted
        self._check_conditions(doc_id, current, op)
        if kind == "create" and exists:
            raise VersionConflictError(
                f"[{doc_id}]: version conflict, document already exists (current version [{current.version}])",
                index=self.name, index_uuid=self.uuid, shard="0")
        source = op["source"]
        parsed = self._parser.parse(source, doc_id)
        raw = op.get("source_raw")  # the bytes as sent (bulk): stored as-is, as OpenSearch stores _source
        source_bytes = raw if raw is not None else orjson.dumps(source)
        external = op.get("version_type") in ("external", "external_gte")
        version = int(op["version"]) if external else (current.version + 1 if current is not None else 1)
        seq_no = self._max_seq_no + 1
        self._delete_location(current)
        doc = self._buffer.add(doc_id, parsed, source_bytes, seq_no, version)
        self._versions[doc_id] = DocLocation(None, doc, version, seq_no)
        self._max_seq_no = seq_no
        self.stats_counters["index_total"] += 1
        record = orjson.dumps({"o": "i", "id": doc_id, "s": seq_no, "v": version,
                               "src": orjson.Fragment(source_bytes)})
        return OpResult(doc_id, "updated" if exists else "created", version, seq_no, 200 if exists else 201), record

    def _delete(self, doc_id: Any, op: dict[str, Any]) -> tuple[OpResult, bytes | None]:
        if not isinstance(doc_id, str) or not doc_id:
            raise IllegalArgumentError("id is missing")
        current = self._versions.get(doc_id)
        self._check_conditions(doc_id, current, op)
        exists = current is not None and not current.deleted
        external = op.get("version_type") in ("external", "external_gte")
        version = int(op["version"]) if external else (current.version + 1 if current is not None else 1)
        seq_no = self._max_seq_no + 1
        self._max_seq_no = seq_no
        self._delete_location(current)
        self._versions[doc_id] = DocLocation(None, -1, version, seq_no, deleted=True)
        self.stats_counters["delete_total"] += 1
        record = orjson.dumps({"o": "d", "id": doc_id, "s": seq_no, "v": version})
        return OpResult(doc_id, "deleted" if exists else "not_found", version, seq_no, 200 if exists else 404), record

    def _check_conditions(self, doc_id: str, current: DocLocation | None, op: dict[str, Any]) -> None:
        if_seq_no, if_term = op.get("if_seq_no"), op.get("if_primary_term")
        if if_seq_no is not None or if_term is not None:
            if current is None or current.deleted:
                raise VersionConflictError(
                    f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], primary term [{if_term}]. "
                    "but no document was found", index=self.name, index_uuid=self.uuid, shard="0")
            if int(if_seq_no) != current.seq_no or int(if_term) != PRIMARY_TERM:
                raise VersionConflictError(
                    f"[{doc_id}]: version conflict, required seqNo [{if_seq_no}], primary term [{if_term}]. "
                    f"current document has seqNo [{current.seq_no}] and primary term [{PRIMARY_TERM}]",
                    index=self.name, index_uuid=self.uuid, shard="0")
        version_type = op.get("version_type")
        if version_type in ("external", "external_gte"):
            wanted = op.get("version")
            if wanted is None:
                raise IllegalArgumentError("an external version is required")
            if current is not None:
                ok = int(wanted) > current.version if version_type == "external" else int(wanted) >= current.version
                if not ok:
                    raise VersionConflictError(
                        f"[{doc_id}]: version conflict, current version [{current.version}] is higher or equal "
                        f"to the one provided [{wanted}]", index=self.name, index_uuid=self.uuid, shard="0")
        elif op.get("version") is not None:
            raise IllegalArgumentError(
                "internal versioning can not be used for optimistic concurrency control. "
                "Please use `if_seq_no` and `if_primary_term` instead")

    def _delete_location(self, location: DocLocation | None) -> None:
        if location is None or location.deleted:
            return
        if location.segment is None:
            self._buffer_deleted.add(location.doc)
        else:
            self._pending_deletes.setdefault(location.segment, []).append(location.doc)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, doc_id: str) -> StoredDoc | None:
        """Realtime get: the newest acknowledged version, refreshed or not (OpenSearch's default)."""
        with self._write_lock:
            location = self._versions.get(doc_id)
            if location is None or location.deleted:
                return None
            if location.segment is None:
                source = self._buffer.sources[location.doc]
            else:
                segment = self._segment_by_name(location.segment)
                source = segment.source_bytes(location.doc)
            return StoredDoc(doc_id, source, location.version, location.seq_no)

    def _segment_by_name(self, name: str) -> Segment:
        for segment, _ in self._reader.segments:
            if segment.name == name:
                return segment
        raise KeyError(name)

    def update(self, doc_id: str, body: dict[str, Any], if_seq_no: int | None = None,
               if_primary_term: int | None = None, retry_on_conflict: int = 0) -> tuple[OpResult, dict[str, Any]]:
        """Partial update (``doc``, ``doc_as_upsert``, ``upsert``, ``detect_noop``); returns the new source too."""
        unknown = [k for k in body if k not in ("doc", "upsert", "doc_as_upsert", "detect_noop", "_source",
                                                "scripted_upsert")]
        if "script" in body:
            from localnode.errors import UnsupportedError
            raise UnsupportedError("[script] in the update API")
        if unknown:
            from localnode.errors import ParsingError
            raise ParsingError(f"[UpdateRequest] unknown field [{unknown[0]}]")
        partial = body.get("doc")
        if partial is None and "upsert" not in body:
            from localnode.errors import ActionRequestValidationError
            raise ActionRequestValidationError("Validation Failed: 1: script or doc is missing;")
        with self._write_lock:
            current = self.get(doc_id)
            if current is None:
                if body.get("doc_as_upsert"):
                    new_source = partial
                elif "upsert" in body:
                    new_source = body["upsert"]
                else:
                    raise DocumentMissingError(f"[{doc_id}]: document missing", index=self.name,
                                               index_uuid=self.uuid, shard="0")
                result = self.write_ops([{"op": "index", "id": doc_id, "source": new_source,
                                          "if_seq_no": if_seq_no, "if_primary_term": if_primary_term}])[0]
            else:
                old_source = orjson.loads(current.source)
                new_source = _merge_source(old_source, partial or {})
                if body.get("detect_noop", True) and new_source == old_source:
                    if if_seq_no is not None and (if_seq_no != current.seq_no or if_primary_term != PRIMARY_TERM):
                        self._check_conditions(doc_id, self._versions[doc_id],
                                               {"if_seq_no": if_seq_no, "if_primary_term": if_primary_term})
                    return OpResult(doc_id, "noop", current.version, current.seq_no, 200), old_source
                result = self.write_ops([{"op": "index", "id": doc_id, "source": new_source,
                                          "if_seq_no": if_seq_no, "if_primary_term": if_primary_term}])[0]
            if isinstance(result, OpenSearchError):
                raise result
            return result, new_source

    # -- refresh -------------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Publish buffered writes and deletes to searchers. Returns whether anything changed."""
        with self._write_lock:
            self._last_refresh = time.monotonic()
            if not len(self._buffer) and not self._pending_deletes and not self._buffer_deleted:
                return False
            segments = list(self._reader.segments)
            if self._pending_deletes:
                updated = []
                for segment, live in segments:
                    deletes = self._pending_deletes.get(segment.name)
                    if deletes:
                        live = np.ones(segment.max_doc, dtype=bool) if live is None else live.copy()
                        live[np.asarray(deletes, dtype=np.int64)] = False
                    updated.append((segment, live))
                segments = updated
                self._pending_deletes = {}
            if len(self._buffer):
                name = self._next_segment_name()
                segment = self._buffer.freeze(name)
                live = None
                if self._buffer_deleted:
                    live = np.ones(segment.max_doc, dtype=bool)
                    live[np.fromiter(self._buffer_deleted, dtype=np.int64)] = False
                for doc_id in segment.ids:
                    location = self._versions.get(doc_id)
                    if location is not None and location.segment is None and not location.deleted:
                        location.segment = name
                segments.append((segment, live))
                self._buffer = self._new_buffer()
            self._buffer_deleted = set()
            self._publish(segments)
            self.stats_counters["refresh_total"] += 1
            return True

    def _publish(self, segments: list[tuple[Segment, np.ndarray | None]]) -> None:
        self._reader_generation += 1
        # Segments whose every doc is deleted are dropped now, as Lucene drops fully deleted segments.
        kept = tuple((s, live) for s, live in segments if live is None or live.any())
        self._reader = Reader(self, kept, self._reader_generation)

    def _next_segment_name(self) -> str:
        self._segment_counter += 1
        return f"_{self._segment_counter:06d}"

    def maybe_scheduled_refresh(self) -> None:
        interval = index_settings.refresh_interval_seconds(self.settings)
        if interval is not None and time.monotonic() - self._last_refresh >= interval:
            self.refresh()

    # -- merges --------------------------------------------------------------------------------
    def maybe_merge(self) -> bool:
        """Tiered merging: when a size tier holds MERGE_FACTOR segments, merge them into one."""
        segments = self._reader.segments
        tiers: dict[int, list[Segment]] = {}
        for segment, _ in segments:
            tiers.setdefault(len(str(max(segment.max_doc, 1))), []).append(segment)
        for tier in sorted(tiers):
            if len(tiers[tier]) >= MERGE_FACTOR:
                return self._merge([s.name for s in tiers[tier][:MERGE_FACTOR]])
        return False

    def force_merge(self, max_num_segments: int = 1, only_expunge_deletes: bool = False) -> None:
        self.refresh()
        segments = self._reader.segments
        if only_expunge_deletes:
            names = [s.name for s, live in segments if live is not None]
            if names:
                self._merge(names)
        else:
            while len(self._reader.segments) > max(max_num_segments, 1) or \
                    (max_num_segments == 1 and any(live is not None for _, live in self._reader.segments)):
                names = [s.name for s, _ in sorted(self._reader.segments, key=lambda p: p[0].max_doc)]
                count = len(names) - max(max_num_segments, 1) + 1
                if not self._merge(names[:max(count, 1)]):
                    break
        self.flush(force=True)

    def _merge(self, names: list[str]) -> bool:
        with self._write_lock:
            snapshot = {s.name: (s, live) for s, live in self._reader.segments}
        parts = [snapshot[n] for n in names if n in snapshot]
        if not parts or (len(parts) == 1 and parts[0][1] is None):
            return False
        with self._write_lock:
            merged_name = self._next_segment_name()
        merged = merge_segments(merged_name, parts)  # heavy work outside the write lock
        with self._write_lock:
            current = {s.name: (s, live) for s, live in self._reader.segments}
            if any(n not in current for n in names):
                return False
            merged_live = np.ones(merged.max_doc, dtype=bool)
            base = 0
            for segment, old_live in parts:
                alive = np.ones(segment.max_doc, dtype=bool) if old_live is None else old_live
                new_ids = np.full(segment.max_doc, -1, dtype=np.int64)
                new_ids[alive] = np.arange(base, base + int(alive.sum()))
                base += int(alive.sum())
                now_live = current[segment.name][1]
                late = list(self._pending_deletes.pop(segment.name, []))
                if now_live is not None:
                    late.extend(np.flatnonzero(alive & ~now_live).tolist())
                for doc in late:
                    if new_ids[doc] >= 0:
                        merged_live[new_ids[doc]] = False
            for new_doc, doc_id in enumerate(merged.ids):
                location = self._versions.get(doc_id)
                if location is not None and not location.deleted and location.segment in names \
                        and merged_live[new_doc]:
                    location.segment = merged_name
                    location.doc = new_doc
            kept = [(s, live) for s, live in self._reader.segments if s.name not in names]
            insert_at = min(i for i, (s, _) in enumerate(self._reader.segments) if s.name in names)
            kept.insert(insert_at, (merged, None if merged_live.all() else merged_live))
            self._publish(kept)
            self.stats_counters["merge_total"] += 1
        return True

    # -- flush, commit, recovery -------------------------------------------------------------
    def flush(self, force: bool = False) -> None:
        """Persist segments and a commit point, then trim the translog (OpenSearch's flush)."""
        with self._write_lock:
            self._check_open()
            self.refresh()
            if not force and self.translog.stats()["uncommitted_operations"] == 0:
                return
            segments_dir = self.path / "segments"
            for segment, _ in self._reader.segments:
                if not segment.persisted:
                    segment.write(segments_dir)
            generation = self.translog.roll_generation()
            self._commit_generation += 1
            deletes = {s.name: np.flatnonzero(~live).astype(np.int32)
                       for s, live in self._reader.segments if live is not None}
            commit_name = f"commit-{self._commit_generation:08d}"
            if deletes:
                with open(self.path / f"{commit_name}.deletes.npz.tmp", "wb") as fh:
                    np.savez(fh, **deletes)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(self.path / f"{commit_name}.deletes.npz.tmp", self.path / f"{commit_name}.deletes.npz")
            commit = {"segments": [s.name for s, _ in self._reader.segments],
                      "translog_generation": generation, "max_seq_no": self._max_seq_no,
                      "segment_counter": self._segment_counter, "has_deletes": bool(deletes)}
            self._write_metadata()
            atomic_write_bytes(self.path / f"{commit_name}.json", json.dumps(commit).encode())
            fsync_dir(self.path)
            self.translog.trim_below(generation)
            self._cleanup_files(commit_name, set(commit["segments"]))
            self.stats_counters["flush_total"] += 1

    def _cleanup_files(self, keep_commit: str, keep_segments: set[str]) -> None:
        for entry in self.path.iterdir():
            if entry.name.startswith("commit-") and not entry.name.startswith(keep_commit):
                entry.unlink(missing_ok=True)
        for entry in (self.path / "segments").iterdir():
            if entry.name not in keep_segments:
                shutil.rmtree(entry, ignore_errors=True)

    def _maybe_flush_on_size(self) -> None:
        threshold = index_settings.parse_byte_size(
            self.settings.get("index.translog.flush_threshold_size", "512mb"), "index.translog.flush_threshold_size")
        if self.translog.stats()["uncommitted_size_in_bytes"] > threshold:
            self.flush()

    def _write_metadata(self) -> None:
        meta = {"name": self.name, "settings": self.settings, "mappings": self.mapping.to_dict()}
        atomic_write_bytes(self.path / "index.json", json.dumps(meta).encode())

    def _load_commit(self) -> list[tuple[Segment, np.ndarray | None]]:
        commits = sorted(p for p in self.path.glob("commit-*.json"))
        if not commits:
            self._remove_uncommitted_files(None, set())
            return []
        commit = read_json(commits[-1])
        self._remove_uncommitted_files(commits[-1].stem, set(commit["segments"]))
        self._commit_generation = int(commits[-1].stem.split("-")[1])
        self._segment_counter = commit["segment_counter"]
        self._max_seq_no = commit["max_seq_no"]
        self._translog_start = commit["translog_generation"]
        deletes: dict[str, np.ndarray] = {}
        if commit.get("has_deletes"):
            with np.load(self.path / f"{commits[-1].stem}.deletes.npz") as data:
                deletes = {k: data[k] for k in data.files}
        segments: list[tuple[Segment, np.ndarray | None]] = []
        for name in commit["segments"]:
            segment = Segment.read(self.path / "segments" / name)
            live = None
            if name in deletes:
                live = np.ones(segment.max_doc, dtype=bool)
                live[deletes[name]] = False
            segments.append((segment, live))
            for doc, doc_id in enumerate(segment.ids):
                if live is None or live[doc]:
                    self._versions[doc_id] = DocLocation(name, doc, int(segment.versions[doc]),
                                                         int(segment.seq_nos[doc]))
        return segments

    def _remove_uncommitted_files(self, commit_name: str | None, segments: set[str]) -> None:
        """Recovery: delete what an interrupted flush wrote beyond the last commit point.

        A flush writes segment directories before the commit point that lists them; a crash in
        between leaves directories named after segments the recovered engine will name again (the
        segment counter comes from the commit). :meth:`Segment.write` keeps an existing directory,
        so such a leftover would be committed in place of the new segment, losing its documents.
        """
        segments_dir = self.path / "segments"
        removed = False
        for entry in segments_dir.iterdir():
            if entry.name not in segments:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed = True
        for entry in self.path.iterdir():
            if entry.name.startswith("commit-") and (commit_name is None or not entry.name.startswith(commit_name + ".")):
                entry.unlink(missing_ok=True)
                removed = True
        if removed:
            fsync_dir(segments_dir)
            fsync_dir(self.path)

    def _replay_translog(self) -> None:
        """Apply the translog after the commit point; damaged acknowledged operations fail the open.

        A torn, never acknowledged tail was already cut (and logged) by the translog. Damage
        before the last checkpoint raises :class:`TranslogRecoveryError`, which names the lost
        operations by sequence number; the node then reports the index red instead of opening it
        without them.
        """
        start = getattr(self, "_translog_start", None)
        committed_max_seq_no = self._max_seq_no
        last_seq_no = committed_max_seq_no
        replayed = 0
        try:
            for record in self.translog.replay(from_generation=start):
                op = orjson.loads(record)
                last_seq_no = max(last_seq_no, op["s"])
                if op["s"] <= committed_max_seq_no:  # already inside the committed segments
                    continue
                self._replay_op(op)
                replayed += 1
        except TranslogCorruptedError as exc:
            raise TranslogRecoveryError(self.name, self.uuid, exc, last_seq_no) from exc
        if replayed:
            self.refresh()

    def _replay_op(self, op: dict[str, Any]) -> None:
        doc_id = op["id"]
        current = self._versions.get(doc_id)
        self._delete_location(current)
        if op["o"] == "i":
            source = op["src"]
            parsed = self._parser.parse(source, doc_id)
            doc = self._buffer.add(doc_id, parsed, orjson.dumps(source), op["s"], op["v"])
            self._versions[doc_id] = DocLocation(None, doc, op["v"], op["s"])
        else:
            self._versions[doc_id] = DocLocation(None, -1, op["v"], op["s"], deleted=True)
        self._max_seq_no = max(self._max_seq_no, op["s"])

    # -- mapping, settings, lifecycle ---------------------------------------------------------
    def put_mapping(self, body: dict[str, Any]) -> None:
        with self._write_lock:
            self.mapping.merge(body)
            self._write_metadata()

    def update_settings(self, body: dict[str, Any]) -> None:
        with self._write_lock:
            self.settings = index_settings.apply_update(self.settings, body, self.name)
            self._write_metadata()

    def doc_count(self) -> int:
        return self._reader.num_docs

    def deleted_count(self) -> int:
        return sum(int((~live).sum()) for _, live in self._reader.segments if live is not None)

    def store_size(self) -> int:
        total = 0
        for root, _, files in os.walk(self.path):
            for file in files:
                try:
                    total += os.path.getsize(os.path.join(root, file))
                except OSError:
                    pass
        return total

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self.flush()
            self.translog.close()
            self._closed = True

    def abandon(self) -> None:
        """Close without flushing (the index is being deleted)."""
        with self._write_lock:
            self._closed = True
            self.translog.close()

    def _check_open(self) -> None:
        if self._closed:
            raise OpenSearchError(f"index [{self.name}] is closed", status=400, error_type="index_closed_exception")


def _merge_source(old: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_source(merged[key], value)
        else:
            merged[key] = value
    return merged


def _auto_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes[:15]).decode().rstrip("=")


def load_metadata(path: Path) -> dict[str, Any]:
    return read_json(path / "index.json")
