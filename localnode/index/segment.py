"""Immutable segments: postings, norms, doc values, vectors and stored sources for a set of documents.

A segment never changes once frozen (deletions live outside it, in the reader's live-docs masks),
which is what lets searchers read a consistent point-in-time view without locks and lets merges
build new segments in the background, as in Lucene.
"""

from __future__ import annotations

import json
import os
import shutil
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from localnode.search.similarity import norm_bytes
from localnode.store import atomic_write_bytes, fsync_dir

SEGMENT_FORMAT = 1


def encode_feature(value: float) -> int:
    """Lucene FeatureField: the term frequency that stores a feature value (9 significant bits)."""
    return int(np.array([value], dtype=np.float32).view(np.int32)[0]) >> 15


def decode_features(freqs: np.ndarray) -> np.ndarray:
    return (freqs.astype(np.int32) << 15).view(np.float32)


POSTINGS_BLOCK = 128   # postings per block of the block-max score bounds (see FieldPostings.impacts)


@dataclass(slots=True)
class FieldPostings:
    """An inverted field: term -> (sorted doc ids, term frequencies), plus BM25 collection stats."""

    term_list: list[str]
    offsets: np.ndarray          # int64[n_terms + 1]
    docs: np.ndarray             # int32, grouped by term, sorted by doc within a term
    freqs: np.ndarray            # int32
    doc_count: int
    sum_total_term_freq: int
    sum_doc_freq: int
    _terms: dict[str, int] | None = None
    _impacts: dict[tuple[str, bytes], tuple[np.float32, np.ndarray]] | None = None

    @property
    def terms(self) -> dict[str, int]:
        if self._terms is None:
            self._terms = {term: i for i, term in enumerate(self.term_list)}
        return self._terms

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        ordinal = self.terms.get(term)
        if ordinal is None:
            return None
        start, end = self.offsets[ordinal], self.offsets[ordinal + 1]
        return self.docs[start:end], self.freqs[start:end]

    def term_range(self, term: str) -> tuple[int, int] | None:
        """The term's postings as ``[start, end)`` of ``docs`` / ``freqs``."""
        ordinal = self.terms.get(term)
        if ordinal is None:
            return None
        return int(self.offsets[ordinal]), int(self.offsets[ordinal + 1])

    def impacts(self, term: str, norms: np.ndarray, inv_norms: np.ndarray) -> tuple[np.float32, np.ndarray]:
        """The largest float32 ``freq * inv_norm`` of the term's postings, overall and per block of
        :data:`POSTINGS_BLOCK` postings (from the term's first posting). BM25 increases with it,
        so these give the term's exact maximum score, and each block's, for any weight: what
        Lucene's impacts give its MaxScore scorer, letting top-k search skip whole blocks.
        Cached per term and norms table (the field's avgdl)."""
        from localnode.search.daat import block_max_tf_inv
        key = (term, inv_norms.tobytes())
        if self._impacts is None:
            self._impacts = {}
        cached = self._impacts.get(key)
        if cached is None:
            found = self.term_range(term)
            if found is None:
                return np.float32(0.0), np.zeros(0, dtype=np.float32)
            start, end = found
            blocks = block_max_tf_inv(self.docs[start:end], self.freqs[start:end], norms,
                                      inv_norms.astype(np.float32), POSTINGS_BLOCK)
            cached = (np.float32(blocks.max()) if len(blocks) else np.float32(0.0), blocks)
            if len(self._impacts) > 65536:
                self._impacts.clear()
            self._impacts[key] = cached
        return cached

    def doc_freq(self, term: str) -> int:
        ordinal = self.terms.get(term)
        return 0 if ordinal is None else int(self.offsets[ordinal + 1] - self.offsets[ordinal])

    def total_term_freq(self, term: str) -> int:
        found = self.postings(term)
        return 0 if found is None else int(found[1].sum(dtype=np.int64))


@dataclass(slots=True)
class NumericColumn:
    """Doc values of a numeric/date/boolean field; multi-valued docs repeat their doc id."""

    docs: np.ndarray     # int32, sorted
    values: np.ndarray   # int64 or float64


@dataclass(slots=True)
class VectorColumn:
    docs: np.ndarray     # int32, sorted
    vectors: np.ndarray  # float32 (n, dim)
    ann: object | None = None  # lazily built localnode.knn.ann.VectorIndex


@dataclass(slots=True)
class Segment:
    name: str
    max_doc: int
    ids: list[str]
    seq_nos: np.ndarray
    versions: np.ndarray
    source_blob: bytes
    source_offsets: np.ndarray
    postings: dict[str, FieldPostings] = field(default_factory=dict)
    norms: dict[str, np.ndarray] = field(default_factory=dict)
    numbers: dict[str, NumericColumn] = field(default_factory=dict)
    vectors: dict[str, VectorColumn] = field(default_factory=dict)
    persisted: bool = False
    _id_lookup: dict[str, int] | None = None
    _docs_with_field: dict[str, np.ndarray] | None = None
    _first_values: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def first_values(self, field_name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Dense per-doc (has_value, smallest value) of a numeric field, as SortedNumericDocValues'
        first value; cached because function_score and sorting read it per doc."""
        column = self.numbers.get(field_name)
        if column is None:
            return None
        if self._first_values is None:
            self._first_values = {}
        cached = self._first_values.get(field_name)
        if cached is None:
            values = np.full(self.max_doc, np.nan, dtype=np.float64)
            order = np.lexsort((-column.values.astype(np.float64), column.docs))  # last write = smallest
            values[column.docs[order]] = column.values[order].astype(np.float64)
            cached = (~np.isnan(values), values)
            self._first_values[field_name] = cached
        return cached

    def local_doc(self, doc_id: str) -> int | None:
        """The local doc number of an ``_id`` in this segment (deleted or not), or None."""
        if self._id_lookup is None:
            self._id_lookup = {doc_id_: i for i, doc_id_ in enumerate(self.ids)}
        return self._id_lookup.get(doc_id)

    def docs_with_field(self, field_name: str) -> np.ndarray:
        """Sorted docs that have any indexed value in a field (postings, doc values or vectors)."""
        if self._docs_with_field is None:
            self._docs_with_field = {}
        cached = self._docs_with_field.get(field_name)
        if cached is None:
            parts = []
            fp = self.postings.get(field_name)
            if fp is not None:
                parts.append(fp.docs)
            if field_name in self.numbers:
                parts.append(self.numbers[field_name].docs)
            if field_name in self.vectors:
                parts.append(self.vectors[field_name].docs)
            cached = np.unique(np.concatenate(parts)).astype(np.int32) if parts else np.zeros(0, np.int32)
            self._docs_with_field[field_name] = cached
        return cached

    def source_bytes(self, doc: int) -> bytes:
        return self.source_blob[self.source_offsets[doc]:self.source_offsets[doc + 1]]

    def size_in_bytes(self) -> int:
        total = len(self.source_blob) + self.source_offsets.nbytes
        for fp in self.postings.values():
            total += fp.docs.nbytes + fp.freqs.nbytes + fp.offsets.nbytes
        total += sum(n.nbytes for n in self.norms.values())
        total += sum(c.docs.nbytes + c.values.nbytes for c in self.numbers.values())
        total += sum(c.docs.nbytes + c.vectors.nbytes for c in self.vectors.values())
        return total

    # -- persistence ----------------------------------------------------------------------------
    def write(self, directory: Path) -> None:
        """Write the segment under ``directory/<name>`` atomically (temp dir + rename + fsync)."""
        final = directory / self.name
        if final.exists():
            self.persisted = True
            return
        tmp = directory / f".{self.name}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        arrays: dict[str, np.ndarray] = {
            "seq_nos": self.seq_nos, "versions": self.versions, "source_offsets": self.source_offsets,
            "source_blob": np.frombuffer(self.source_blob, dtype=np.uint8),
        }
        ids_blob, ids_offsets = _pack_strings(self.ids)
        arrays["ids_blob"], arrays["ids_offsets"] = ids_blob, ids_offsets
        meta: dict[str, object] = {"format": SEGMENT_FORMAT, "name": self.name, "max_doc": self.max_doc,
                                   "postings": {}, "norms": [], "numbers": [], "vectors": []}
        for i, (fname, fp) in enumerate(self.postings.items()):
            blob, offs = _pack_strings(fp.term_list)
            arrays[f"p{i}_terms_blob"], arrays[f"p{i}_terms_offsets"] = blob, offs
            arrays[f"p{i}_offsets"], arrays[f"p{i}_docs"], arrays[f"p{i}_freqs"] = fp.offsets, fp.docs, fp.freqs
            meta["postings"][fname] = {"i": i, "doc_count": fp.doc_count,  # type: ignore[index]
                                       "sum_total_term_freq": fp.sum_total_term_freq,
                                       "sum_doc_freq": fp.sum_doc_freq}
        for i, (fname, norms) in enumerate(self.norms.items()):
            arrays[f"n{i}"] = norms
            meta["norms"].append(fname)  # type: ignore[union-attr]
        for i, (fname, col) in enumerate(self.numbers.items()):
            arrays[f"d{i}_docs"], arrays[f"d{i}_values"] = col.docs, col.values
            meta["numbers"].append(fname)  # type: ignore[union-attr]
        for i, (fname, vcol) in enumerate(self.vectors.items()):
            arrays[f"v{i}_docs"], arrays[f"v{i}_vectors"] = vcol.docs, vcol.vectors
            meta["vectors"].append(fname)  # type: ignore[union-attr]
        with open(tmp / "data.npz", "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        atomic_write_bytes(tmp / "meta.json", json.dumps(meta).encode())
        fsync_dir(tmp)
        os.replace(tmp, final)
        fsync_dir(directory)
        self.persisted = True

    @staticmethod
    def read(path: Path) -> "Segment":
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != SEGMENT_FORMAT:
            raise ValueError(f"segment {path} has unknown format {meta.get('format')}")
        with np.load(path / "data.npz") as data:
            arrays = {key: data[key] for key in data.files}
        segment = Segment(
            name=meta["name"], max_doc=meta["max_doc"],
            ids=_unpack_strings(arrays["ids_blob"], arrays["ids_offsets"]),
            seq_nos=arrays["seq_nos"], versions=arrays["versions"],
            source_blob=arrays["source_blob"].tobytes(), source_offsets=arrays["source_offsets"],
            persisted=True)
        for fname, info in meta["postings"].items():
            i = info["i"]
            segment.postings[fname] = FieldPostings(
                term_list=_unpack_strings(arrays[f"p{i}_terms_blob"], arrays[f"p{i}_terms_offsets"]),
                offsets=arrays[f"p{i}_offsets"], docs=arrays[f"p{i}_docs"], freqs=arrays[f"p{i}_freqs"],
                doc_count=info["doc_count"], sum_total_term_freq=info["sum_total_term_freq"],
                sum_doc_freq=info["sum_doc_freq"])
        for i, fname in enumerate(meta["norms"]):
            segment.norms[fname] = arrays[f"n{i}"]
        for i, fname in enumerate(meta["numbers"]):
            segment.numbers[fname] = NumericColumn(arrays[f"d{i}_docs"], arrays[f"d{i}_values"])
        for i, fname in enumerate(meta["vectors"]):
            segment.vectors[fname] = VectorColumn(arrays[f"v{i}_docs"], arrays[f"v{i}_vectors"])
        return segment


def _pack_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _unpack_strings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    bounds = offsets.tolist()
    return [raw[bounds[i]:bounds[i + 1]].decode("utf-8", "surrogatepass") for i in range(len(bounds) - 1)]


# ------------------------------------------------------------------------------------------------
class _Vocabulary(dict):
    """term -> id, assigning the next id on first sight (``map(vocab.__getitem__, terms)`` stays in C)."""

    def __missing__(self, term: str) -> int:
        term_id = self[term] = len(self)
        return term_id


class _FieldAccumulator:
    """Collects (term id, doc) pairs for one inverted field while documents are added."""

    __slots__ = ("vocab", "tids", "docs", "freqs", "docs_only")

    def __init__(self, docs_only: bool, explicit_freqs: bool = False) -> None:
        self.vocab: dict[str, int] = _Vocabulary()
        self.tids = array("i")
        self.docs = array("i")
        self.freqs: array | None = array("i") if explicit_freqs else None
        self.docs_only = docs_only

    def add_terms(self, doc: int, terms: list[str]) -> None:
        self.tids.extend(map(self.vocab.__getitem__, terms))
        self.docs.extend([doc] * len(terms))

    def add_weighted(self, doc: int, term: str, freq: int) -> None:
        assert self.freqs is not None
        self.tids.append(self.vocab[term])
        self.docs.append(doc)
        self.freqs.append(freq)

    def freeze(self, max_doc: int) -> FieldPostings:
        tids = np.frombuffer(self.tids, dtype=np.int32).astype(np.int64)
        docs = np.frombuffer(self.docs, dtype=np.int32).astype(np.int64)
        if self.freqs is not None:
            freqs_in = np.frombuffer(self.freqs, dtype=np.int32)
            order = np.lexsort((docs, tids))
            return _postings_from_sorted(list(self.vocab), tids[order], docs[order], freqs_in[order],
                                         docs_only=False)
        keys = tids * max(max_doc, 1) + docs
        if self.docs_only:
            keys = np.unique(keys)
            freqs = np.ones(len(keys), dtype=np.int32)
        else:
            keys, counts = np.unique(keys, return_counts=True)
            freqs = counts.astype(np.int32)
        stride = max(max_doc, 1)
        return _postings_from_sorted(list(self.vocab), keys // stride, keys % stride, freqs, self.docs_only)


def _postings_from_sorted(term_list: list[str], tids: np.ndarray, docs: np.ndarray, freqs: np.ndarray,
                          docs_only: bool) -> FieldPostings:
    offsets = np.searchsorted(tids, np.arange(len(term_list) + 1), side="left").astype(np.int64)
    docs32 = docs.astype(np.int32)
    doc_count = int(np.unique(docs32).size) if docs32.size else 0
    sum_doc_freq = int(docs32.size)
    sum_ttf = sum_doc_freq if docs_only else int(freqs.sum(dtype=np.int64))
    return FieldPostings(term_list, offsets, docs32, freqs.astype(np.int32), doc_count, sum_ttf, sum_doc_freq)


class SegmentBuilder:
    """The indexing buffer: documents added since the last refresh, frozen into a Segment on refresh."""

    def __init__(self, analyze: Callable[[str, str], list[str]], docs_only_fields: Callable[[str], bool],
                 has_norms: Callable[[str], bool], integer_field: Callable[[str], bool]) -> None:
        self._analyze = analyze
        self._docs_only = docs_only_fields
        self._has_norms = has_norms
        self._integer_field = integer_field
        self.ids: list[str] = []
        self.seq_nos = array("q")
        self.versions = array("q")
        self.sources: list[bytes] = []
        self._fields: dict[str, _FieldAccumulator] = {}
        self._lengths: dict[str, dict[int, int]] = {}
        self._numbers: dict[str, tuple[array, list]] = {}
        self._vectors: dict[str, tuple[array, list]] = {}
        self.ram_bytes = 0

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, doc_id: str, parsed: "ParsedDocumentLike", source: bytes, seq_no: int, version: int) -> int:
        doc = len(self.ids)
        self.ids.append(doc_id)
        self.seq_nos.append(seq_no)
        self.versions.append(version)
        self.sources.append(source)
        self.ram_bytes += len(source) * 3 + 200
        for fname, values in parsed.texts.items():
            acc = self._fields.get(fname)
            if acc is None:
                acc = self._fields[fname] = _FieldAccumulator(docs_only=False)
            length = 0
            for value in values:
                terms = self._analyze(fname, value)
                acc.add_terms(doc, terms)
                length += len(terms)
            self._lengths.setdefault(fname, {})[doc] = length
        for fname, values in parsed.keywords.items():
            acc = self._fields.get(fname)
            if acc is None:
                acc = self._fields[fname] = _FieldAccumulator(docs_only=True)
            acc.add_terms(doc, values)
        for fname, features in parsed.features.items():
            acc = self._fields.get(fname)
            if acc is None:
                acc = self._fields[fname] = _FieldAccumulator(docs_only=False, explicit_freqs=True)
            for key, value in features.items():
                acc.add_weighted(doc, key, encode_feature(value))
        for fname, numbers in parsed.numbers.items():
            col = self._numbers.get(fname)
            if col is None:
                col = self._numbers[fname] = (array("i"), [])
            col[0].extend([doc] * len(numbers))
            col[1].extend(numbers)
        for fname, vector in parsed.vectors.items():
            vcol = self._vectors.get(fname)
            if vcol is None:
                vcol = self._vectors[fname] = (array("i"), [])
            vcol[0].append(doc)
            vcol[1].append(vector)
            self.ram_bytes += vector.nbytes
        return doc

    def freeze(self, name: str) -> Segment:
        max_doc = len(self.ids)
        offsets = np.zeros(max_doc + 1, dtype=np.int64)
        if max_doc:
            np.cumsum([len(s) for s in self.sources], out=offsets[1:])
        segment = Segment(name=name, max_doc=max_doc, ids=list(self.ids),
                          seq_nos=np.frombuffer(self.seq_nos, dtype=np.int64).copy(),
                          versions=np.frombuffer(self.versions, dtype=np.int64).copy(),
                          source_blob=b"".join(self.sources), source_offsets=offsets)
        for fname, acc in self._fields.items():
            segment.postings[fname] = acc.freeze(max_doc)
        for fname, per_doc in self._lengths.items():
            if self._has_norms(fname):
                lengths = np.zeros(max_doc, dtype=np.int64)
                lengths[np.fromiter(per_doc.keys(), dtype=np.int64, count=len(per_doc))] = \
                    np.fromiter(per_doc.values(), dtype=np.int64, count=len(per_doc))
                segment.norms[fname] = norm_bytes(lengths)
        for fname, (docs, values) in self._numbers.items():
            dtype = np.int64 if self._integer_field(fname) else np.float64
            segment.numbers[fname] = NumericColumn(np.frombuffer(docs, dtype=np.int32).copy(),
                                                   np.asarray(values, dtype=dtype))
        for fname, (docs, vectors) in self._vectors.items():
            segment.vectors[fname] = VectorColumn(np.frombuffer(docs, dtype=np.int32).copy(),
                                                  np.vstack(vectors).astype(np.float32))
        return segment


class ParsedDocumentLike:  # pragma: no cover - documentation of the duck type the builder reads
    texts: dict[str, list[str]]
    keywords: dict[str, list[str]]
    features: dict[str, dict[str, float]]
    numbers: dict[str, list]
    vectors: dict[str, np.ndarray]


# ------------------------------------------------------------------------------------------------
def merge_segments(name: str, parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
    """Merge segments (with their live-docs masks) into one, dropping deleted documents."""
    remaps: list[np.ndarray] = []
    base = 0
    for segment, live in parts:
        alive = np.ones(segment.max_doc, dtype=bool) if live is None else live
        remap = np.full(segment.max_doc, -1, dtype=np.int64)
        count = int(alive.sum())
        remap[alive] = np.arange(base, base + count)
        remaps.append(remap)
        base += count
    max_doc = base
    ids: list[str] = []
    sources: list[bytes] = []
    seq_nos, versions = [], []
    for (segment, _), remap in zip(parts, remaps):
        keep = np.flatnonzero(remap >= 0)
        ids.extend(segment.ids[i] for i in keep.tolist())
        sources.extend(segment.source_bytes(i) for i in keep.tolist())
        seq_nos.append(segment.seq_nos[keep])
        versions.append(segment.versions[keep])
    offsets = np.zeros(max_doc + 1, dtype=np.int64)
    if max_doc:
        np.cumsum([len(s) for s in sources], out=offsets[1:])
    merged = Segment(name=name, max_doc=max_doc, ids=ids,
                     seq_nos=np.concatenate(seq_nos) if seq_nos else np.zeros(0, np.int64),
                     versions=np.concatenate(versions) if versions else np.zeros(0, np.int64),
                     source_blob=b"".join(sources), source_offsets=offsets)
    field_names = sorted({f for segment, _ in parts for f in segment.postings})
    for fname in field_names:
        merged.postings[fname] = _merge_postings(fname, parts, remaps)
    for fname in sorted({f for segment, _ in parts for f in segment.norms}):
        chunks = []
        for (segment, _), remap in zip(parts, remaps):
            keep = remap >= 0
            norms = segment.norms.get(fname)
            chunks.append(norms[keep] if norms is not None else np.zeros(int(keep.sum()), dtype=np.uint8))
        merged.norms[fname] = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
    for fname in sorted({f for segment, _ in parts for f in segment.numbers}):
        docs_chunks, value_chunks = [], []
        for (segment, _), remap in zip(parts, remaps):
            col = segment.numbers.get(fname)
            if col is None:
                continue
            new_docs = remap[col.docs]
            keep = new_docs >= 0
            docs_chunks.append(new_docs[keep].astype(np.int32))
            value_chunks.append(col.values[keep])
        merged.numbers[fname] = NumericColumn(np.concatenate(docs_chunks), np.concatenate(value_chunks))
    for fname in sorted({f for segment, _ in parts for f in segment.vectors}):
        docs_chunks, vec_chunks = [], []
        for (segment, _), remap in zip(parts, remaps):
            vcol = segment.vectors.get(fname)
            if vcol is None:
                continue
            new_docs = remap[vcol.docs]
            keep = new_docs >= 0
            docs_chunks.append(new_docs[keep].astype(np.int32))
            vec_chunks.append(vcol.vectors[keep])
        merged.vectors[fname] = VectorColumn(np.concatenate(docs_chunks), np.concatenate(vec_chunks))
    return merged


def _merge_postings(fname: str, parts: Sequence[tuple[Segment, np.ndarray | None]],
                    remaps: list[np.ndarray]) -> FieldPostings:
    vocab: dict[str, int] = {}
    tid_chunks, doc_chunks, freq_chunks = [], [], []
    docs_only = True
    for (segment, _), remap in zip(parts, remaps):
        fp = segment.postings.get(fname)
        if fp is None:
            continue
        if fp.sum_total_term_freq != fp.sum_doc_freq:
            docs_only = False
        local_to_global = np.fromiter((vocab.setdefault(t, len(vocab)) for t in fp.term_list),
                                      dtype=np.int64, count=len(fp.term_list))
        lengths = np.diff(fp.offsets)
        tids = np.repeat(local_to_global, lengths)
        new_docs = remap[fp.docs]
        keep = new_docs >= 0
        tid_chunks.append(tids[keep])
        doc_chunks.append(new_docs[keep])
        freq_chunks.append(fp.freqs[keep])
    tids = np.concatenate(tid_chunks) if tid_chunks else np.zeros(0, np.int64)
    docs = np.concatenate(doc_chunks) if doc_chunks else np.zeros(0, np.int64)
    freqs = np.concatenate(freq_chunks) if freq_chunks else np.zeros(0, np.int32)
    order = np.lexsort((docs, tids))
    # Terms whose every posting was deleted stay in the vocabulary with zero postings (harmless).
    return _postings_from_sorted(list(vocab), tids[order], docs[order], freqs[order], docs_only)
