"""Per-segment, per-field vector index: exact search, faiss HNSW search, radial search, persistence.

Why per segment: the plugin builds one native graph per Lucene segment and, for faiss, takes the
top ``k`` *per segment*; the embedded engine keeps the same unit so per-segment ``k`` semantics and
segment-merge rebuilds (from the stored vectors) fall out naturally.

Fidelity notes:

* Both ``faiss`` and ``lucene`` engines are served by faiss ``IndexHNSWFlat`` here (nmslib too). The
  graph is built with the mapping's ``m``/``ef_construction`` but it is not the cluster's graph
  (Lucene builds its own HNSW; faiss inserts in parallel, so graphs differ run to run), so *which*
  documents an approximate search returns can differ from a real cluster when recall < 100%. The
  *score* of any returned document is always the exact float32 one with the 2.19 translation
  (:mod:`localnode.knn.spaces`), recomputed from the stored vector (or, for l2, taken from faiss'
  distances once they are verified bit-identical to that recomputation), so exact and ANN agree
  on every score.
* Efficient filtering follows ``KNNWeight`` (faiss, 2.19): the filter is applied *before* the top-k
  (faiss ``IDSelectorBitmap`` inside the graph walk). The search goes exact when the filter matches
  ``<= k`` documents, when ``index.knn.advanced.filtered_exact_search_threshold`` is set and ``>=``
  the filter's cardinality, or otherwise when ``cardinality * dimension <= 2,048,000``
  (``MAX_DISTANCE_COMPUTATIONS``); and it falls back to exact when the filtered graph search returns
  fewer than ``k`` while the filter matches ``>= k``. The lucene engine uses Lucene's rule
  (exact when the filter matches ``<= k``, or when the graph search comes back short).
* Deleted documents (``live``) are applied the way Lucene does: inside the filter bitset when a
  filter is present, otherwise *after* the top-k (so deletions can leave fewer than ``k`` hits, as
  on a cluster before a merge).
* Radial search (``min_score``/``max_distance``) is always exact here: the result is the exact set
  of documents at or above the threshold (a cluster's faiss range search is approximate).
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from localnode.errors import IllegalArgumentError
from localnode.knn import spaces
from localnode.knn.mapping import DEFAULT_EF_SEARCH, LUCENE, NMSLIB, KnnFieldSpec
from localnode.knn.memory import back_hnsw_with_huge_pages, locality_order
from localnode.store.fsutil import atomic_write_bytes, ensure_dir

__all__ = ["VectorIndex", "MAX_DISTANCE_COMPUTATIONS", "set_faiss_threads", "INDEX_FORMAT"]

#: ``KNNConstants.MAX_DISTANCE_COMPUTATIONS``: below ``cardinality * dimension`` of this, filtered
#: searches are exact (k-NN issue #1049).
MAX_DISTANCE_COMPUTATIONS = 2_048_000
INDEX_FORMAT = 1
_META = "meta.json"
_DOC_IDS = "doc_ids.npy"
_VECTORS = "vectors.npy"
_GRAPH = "hnsw.faiss"
_GRAPH_ROWS = "graph_rows.npy"
#: Graphs of at least this many vectors are renumbered for memory locality
#: (:func:`localnode.knn.memory.locality_order`); smaller ones stay in cache anyway.
REORDER_MIN_VECTORS = 100_000

#: Searches whose faiss distances must equal the exact recomputation, bit for bit, before they are
#: used as scores (see VectorIndex._graph_scores).
_DISTANCE_CHECKS = 8

_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_SCORES = np.zeros(0, dtype=np.float32)


def set_faiss_threads(threads: int) -> None:
    """Set faiss' OpenMP thread count (process-wide).

    Single-query HNSW search never opens a parallel region, so this only affects graph builds and
    batched searches; see the module report for measurements on 2 cores.
    """
    faiss.omp_set_num_threads(max(1, int(threads)))


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class VectorIndex:
    """The vectors of one ``knn_vector`` field in one segment, searchable exactly and approximately.

    ``doc_ids`` (int32, one per row) are the segment-local doc numbers the vectors belong to; every
    result is expressed in them. ``allowed``/``live`` masks are boolean arrays indexed by doc number
    (doc numbers beyond the mask's length count as not allowed). Results are ``(doc_ids, scores)``
    sorted by score descending, ties by doc number ascending (Lucene's ``HitQueue`` order); scores
    are float32 k-NN scores before ``boost``.

    The HNSW graph is built lazily on the first approximate search (or :meth:`build`), and only for
    ANN fields with at least ``approximate_threshold`` vectors (``index.knn.advanced.
    approximate_threshold``; 0 = always, -1 = never): without a graph, ANN searches run exactly,
    as the plugin does for segments without native engine files.
    """

    def __init__(self, doc_ids: Any, vectors: Any, spec: KnnFieldSpec, *, approximate_threshold: int = 0) -> None:
        self.spec = spec
        self.doc_ids = np.ascontiguousarray(np.asarray(doc_ids, dtype=np.int32).reshape(-1))
        self.vectors = spaces.as_vector_matrix(vectors, spec.dimension)
        if self.vectors.shape[0] != self.doc_ids.shape[0]:
            raise ValueError(f"{self.doc_ids.shape[0]} doc ids for {self.vectors.shape[0]} vectors")
        if self.vectors.shape[0] and self.vectors.shape[1] != spec.dimension:
            raise ValueError(f"vectors have dimension {self.vectors.shape[1]}, the field {spec.dimension}")
        self.approximate_threshold = approximate_threshold
        self._sq_norms: np.ndarray | None = None
        self._graph: Any = None
        # graph node -> row, when the graph was renumbered for locality (None: node == row); the
        # faiss vector twin backs the filter translation and must live as long as the graph
        self._graph_rows: np.ndarray | None = None
        self._graph_rows_vector: Any = None
        self._plain_params: dict[int, Any] = {}
        # whether faiss' l2 distances are the exact ones (None: not decided yet, after
        # _distances_to_check more bit-for-bit comparisons)
        # faiss' own l2 distances may stand in for a recomputation once checked; never for the lucene
        # engine, whose scores follow Lucene's operation order, not faiss'.
        self._trust_distances: bool | None = (None if spec.space_type == spaces.L2 and spec.engine != LUCENE
                                              else False)
        self._distances_to_check = _DISTANCE_CHECKS
        self._lock = threading.Lock()

    # -- shape and state ---------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.doc_ids.shape[0])

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    @property
    def built(self) -> bool:
        """Whether the HNSW graph exists in memory (built or loaded)."""
        return self._graph is not None

    @property
    def wants_graph(self) -> bool:
        """Whether this segment gets a graph at all (ANN field, threshold reached, not empty)."""
        threshold = self.approximate_threshold
        return self.spec.ann_enabled and len(self) > 0 and threshold >= 0 and len(self) >= threshold

    def build(self) -> None:
        """Build the HNSW graph now (idempotent, thread-safe); a no-op when :attr:`wants_graph` is False."""
        if self._graph is not None or not self.wants_graph:
            return
        with self._lock:
            if self._graph is None:
                graph = self._make_graph()
                if len(self) >= REORDER_MIN_VECTORS:
                    order = locality_order(graph)
                    graph.permute_entries(order)
                    self._set_graph_rows(order)
                back_hnsw_with_huge_pages(graph)
                self._graph = graph

    def _metric(self) -> int:
        space = self.spec.space_type
        if space == spaces.L2:
            return faiss.METRIC_L2
        if space in (spaces.INNER_PRODUCT, spaces.COSINESIMIL):
            return faiss.METRIC_INNER_PRODUCT
        if space == spaces.L1:
            return faiss.METRIC_L1
        if space == spaces.LINF:
            return faiss.METRIC_Linf
        raise IllegalArgumentError(f"Space type [{space}] is not supported with [float] data type")

    def _graph_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine runs as inner product over unit vectors (what the plugin does for faiss)."""
        if self.spec.space_type != spaces.COSINESIMIL:
            return vectors
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float32))
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(vectors / norms[:, None], dtype=np.float32)

    def _make_graph(self) -> Any:
        index = faiss.IndexHNSWFlat(self.dimension, max(2, self.spec.m), self._metric())
        index.hnsw.efConstruction = max(1, self.spec.ef_construction)
        index.add(self._graph_vectors(self.vectors))
        return index

    def _set_graph_rows(self, rows: np.ndarray) -> None:
        self._graph_rows = rows
        vector = faiss.Int64Vector()
        faiss.copy_array_to_vector(rows, vector)
        self._graph_rows_vector = vector

    def _norms(self) -> np.ndarray:
        if self._sq_norms is None:
            self._sq_norms = spaces.squared_norms(self.vectors)
        return self._sq_norms

    # -- helpers -----------------------------------------------------------------------------
    def _query(self, query: Any) -> np.ndarray:
        return spaces.validate_query_vector(self.spec, query)

    def _row_mask(self, docs_mask: np.ndarray | None) -> np.ndarray | None:
        """Project a doc-number mask onto this index's rows."""
        if docs_mask is None:
            return None
        mask = np.asarray(docs_mask, dtype=bool).reshape(-1)
        rows = np.zeros(len(self), dtype=bool)
        inside = self.doc_ids < mask.shape[0]
        rows[inside] = mask[self.doc_ids[inside]]
        return rows

    def _row_scores(self, q: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """Exact scores for ``rows`` (positions; None = every row)."""
        space = self.spec.space_type
        engine = self.spec.engine
        if engine == LUCENE:  # Lucene's own arithmetic (no cached norms: it recomputes them)
            return spaces.score(space, q, self.vectors if rows is None else self.vectors[rows], engine=engine)
        if rows is None:
            norms = self._norms() if space == spaces.COSINESIMIL else None
            return spaces.score(space, q, self.vectors, norms)
        norms = self._norms()[rows] if space == spaces.COSINESIMIL else None
        return spaces.score(space, q, self.vectors[rows], norms)

    def _top_k(self, rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` of ``rows`` by score; ties keep the lower doc number (HitQueue semantics)."""
        docs = self.doc_ids[rows]
        if k < scores.shape[0]:
            kth = np.partition(scores, scores.shape[0] - k)[scores.shape[0] - k]
            greater = np.flatnonzero(scores > kth)
            equal = np.flatnonzero(scores == kth)
            if greater.shape[0] + equal.shape[0] > k:
                equal = equal[np.argsort(docs[equal], kind="stable")[:k - greater.shape[0]]]
            chosen = np.concatenate([greater, equal])
            docs, scores = docs[chosen], scores[chosen]
        order = np.lexsort((docs, -scores))
        return docs[order], scores[order]

    def _exact_rows(self, q: np.ndarray, k: int, row_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if row_mask is None:
            rows = np.arange(len(self))
            scores = self._row_scores(q, None)
        else:
            rows = np.flatnonzero(row_mask)
            if rows.shape[0] * 2 > len(self):  # most rows wanted: one pass over all beats a gather
                scores = self._row_scores(q, None)[rows]
            else:
                scores = self._row_scores(q, rows)
        if rows.shape[0] == 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        return self._top_k(rows, scores, k)

    def _post_filter_live(self, result: tuple[np.ndarray, np.ndarray],
                          live: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if live is None:
            return result
        docs, scores = result
        mask = np.asarray(live, dtype=bool).reshape(-1)
        keep = np.zeros(docs.shape[0], dtype=bool)
        inside = docs < mask.shape[0]
        keep[inside] = mask[docs[inside]]
        return docs[keep], scores[keep]

    @staticmethod
    def _combine(allowed: np.ndarray | None, live: np.ndarray | None) -> np.ndarray | None:
        if allowed is None:
            return None
        mask = np.asarray(allowed, dtype=bool).reshape(-1)
        if live is None:
            return mask
        alive = np.asarray(live, dtype=bool).reshape(-1)
        size = min(mask.shape[0], alive.shape[0])
        combined = np.zeros(mask.shape[0], dtype=bool)
        combined[:size] = mask[:size] & alive[:size]
        return combined

    def _require_ann(self) -> None:
        if not self.spec.ann_enabled:
            raise IllegalArgumentError(f"Field '{self.spec.name}' is not built for ANN search.")

    # -- exact search ------------------------------------------------------------------------
    def search_exact(self, query: Any, k: int, allowed: np.ndarray | None = None, *,
                     live: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` over the vectors whose docs are ``allowed`` (all when None).

        Works for flat fields too (what ``knn_score``-style exact scoring needs).
        """
        q = self._query(query)
        if k <= 0 or len(self) == 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        if allowed is None:
            return self._post_filter_live(self._exact_rows(q, k, None), live)
        return self._exact_rows(q, k, self._row_mask(self._combine(allowed, live)))

    # -- approximate search ------------------------------------------------------------------
    def _prefer_exact(self, cardinality: int, k: int, filtered_exact_threshold: int | None) -> bool:
        if cardinality <= k:
            return True
        if self.spec.engine == LUCENE:
            return False
        if filtered_exact_threshold is not None and filtered_exact_threshold != -1:
            return filtered_exact_threshold >= cardinality
        return MAX_DISTANCE_COMPUTATIONS >= cardinality * self.dimension

    def _graph_search(self, q: np.ndarray, k: int, ef_search: int,
                      row_mask: np.ndarray | None) -> np.ndarray:
        """Row positions of the graph's top-``k`` (filter applied inside the walk)."""
        self.build()
        graph = self._graph
        ef = max(1, int(ef_search))
        bits = bitmap = selector = None
        if row_mask is None:
            # unfiltered parameters are read-only to faiss: one object per ef serves every request
            params = self._plain_params.get(ef)
            if params is None:
                params = faiss.SearchParametersHNSW()
                params.efSearch = ef
                self._plain_params[ef] = params
        else:
            params = faiss.SearchParametersHNSW()
            params.efSearch = ef
            bits = np.packbits(row_mask, bitorder="little")
            bitmap = selector = faiss.IDSelectorBitmap(bits.shape[0], faiss.swig_ptr(bits))
            if self._graph_rows_vector is not None:   # the bitmap is over rows, the walk over nodes
                selector = faiss.IDSelectorTranslated(self._graph_rows_vector, bitmap)
            params.sel = selector
        query = np.ascontiguousarray(self._graph_vectors(q.reshape(1, -1)), dtype=np.float32)
        count = min(k, len(self))
        distances = np.empty((1, count), dtype=np.float32)
        labels = np.empty((1, count), dtype=np.int64)
        # faiss' low-level entry point: the Python wrapper's checks and allocations cost more than
        # a small graph's search, and the arrays here are already what it would make them
        graph.search_c(1, faiss.swig_ptr(query), count, faiss.swig_ptr(distances), faiss.swig_ptr(labels), params)
        del bits, bitmap, selector  # kept alive until here: faiss only holds raw pointers
        keep = labels[0] >= 0
        found, distances = labels[0][keep], distances[0][keep]
        rows = found if self._graph_rows is None else self._graph_rows[found]
        return rows, distances

    def _graph_scores(self, q: np.ndarray, rows: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """Exact float32 scores of the graph's hits. For l2, faiss' own distances are the exact
        ones whenever its search computes them with the kernel the exact path uses (it does for
        most dimensions, not for a few small ones with special kernels); the first searches check
        that bit for bit, and from then on the distances are translated instead of recomputed."""
        if self._trust_distances:
            return spaces.translate_l2(distances)
        scores = self._row_scores(q, rows)
        if self._trust_distances is None:
            if np.array_equal(spaces.translate_l2(distances).view(np.uint32), scores.view(np.uint32)):
                self._distances_to_check -= 1
                if self._distances_to_check <= 0:
                    self._trust_distances = True
            else:
                self._trust_distances = False
        return scores

    def search_ann(self, query: Any, k: int, ef_search: int | None = None, allowed: np.ndarray | None = None, *,
                   live: np.ndarray | None = None,
                   filtered_exact_threshold: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-``k`` (the ``knn`` query's per-segment search).

        ``ef_search`` defaults to the mapping's faiss ``ef_search`` parameter, then 100.
        ``allowed`` is the efficient-filter bitset (applied before the top-k); the exact fallbacks
        are the plugin's (module docstring). ``filtered_exact_threshold`` is the index setting
        ``index.knn.advanced.filtered_exact_search_threshold`` (None/-1 = unset).
        """
        self._require_ann()
        q = self._query(query)
        if allowed is not None and self.spec.engine == NMSLIB:
            raise IllegalArgumentError("Engine [NMSLIB] does not support filters")
        if k <= 0 or len(self) == 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        ef = ef_search if ef_search is not None else (self.spec.ef_search_param or DEFAULT_EF_SEARCH)
        if allowed is None:
            if not self.wants_graph:
                return self._post_filter_live(self._exact_rows(q, k, None), live)
            rows, distances = self._graph_search(q, k, ef, None)
            return self._post_filter_live(self._top_k(rows, self._graph_scores(q, rows, distances), k), live)
        docs_mask = self._combine(allowed, live)
        assert docs_mask is not None
        cardinality = int(np.count_nonzero(docs_mask))
        if cardinality == 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        row_mask = self._row_mask(docs_mask)
        assert row_mask is not None
        if not self.wants_graph or self._prefer_exact(cardinality, k, filtered_exact_threshold):
            return self._exact_rows(q, k, row_mask)
        rows, distances = self._graph_search(q, k, ef, None if row_mask.all() else row_mask)
        if rows.shape[0] < k <= cardinality:
            return self._exact_rows(q, k, row_mask)
        return self._top_k(rows, self._graph_scores(q, rows, distances), k)

    # -- radial search -----------------------------------------------------------------------
    def search_radial(self, query: Any, min_score: float, allowed: np.ndarray | None = None, *,
                      live: np.ndarray | None = None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every document scoring ``>= min_score`` (exact), best first, at most ``limit`` of them.

        Turn ``max_distance``/``min_score`` into ``min_score`` with
        :func:`localnode.knn.spaces.score_threshold_for_max_distance` / ``..._for_min_score``;
        ``limit`` is the plugin's cap (``index.max_result_window``) when the caller wants it.
        """
        self._require_ann()
        q = self._query(query)
        if len(self) == 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        docs_mask = self._combine(allowed, live) if allowed is not None else live
        row_mask = self._row_mask(None if docs_mask is None else np.asarray(docs_mask, dtype=bool))
        rows = np.arange(len(self)) if row_mask is None else np.flatnonzero(row_mask)
        scores = self._row_scores(q, None if row_mask is None else rows)
        hit = scores >= np.float32(min_score)
        rows, scores = rows[hit], scores[hit]
        if rows.shape[0] == 0:
            return _EMPTY_IDS, _EMPTY_SCORES
        return self._top_k(rows, scores, rows.shape[0] if limit is None else max(0, int(limit)))

    # -- persistence -------------------------------------------------------------------------
    def _graph_key(self) -> dict[str, Any]:
        return {"space_type": self.spec.space_type, "m": max(2, self.spec.m),
                "ef_construction": max(1, self.spec.ef_construction), "dimension": self.dimension}

    def save(self, directory: str | os.PathLike[str], *, include_graph: bool = True) -> None:
        """Persist vectors, doc ids and (when built) the faiss graph so reopening does not rebuild.

        Each file is replaced atomically and ``meta.json`` is written last, so a reader sees a
        complete save or notices the mismatch (counts are checked on load).
        """
        target = Path(directory)
        ensure_dir(target)
        atomic_write_bytes(target / _DOC_IDS, _npy_bytes(self.doc_ids))
        atomic_write_bytes(target / _VECTORS, _npy_bytes(self.vectors))
        graph_file = rows_file = None
        if include_graph and self._graph is not None:
            atomic_write_bytes(target / _GRAPH, memoryview(faiss.serialize_index(self._graph)))
            graph_file = _GRAPH
            if self._graph_rows is not None:
                atomic_write_bytes(target / _GRAPH_ROWS, _npy_bytes(self._graph_rows))
                rows_file = _GRAPH_ROWS
        elif (target / _GRAPH).exists():
            os.remove(target / _GRAPH)
        if rows_file is None and (target / _GRAPH_ROWS).exists():
            os.remove(target / _GRAPH_ROWS)
        meta = {"format": INDEX_FORMAT, "count": len(self), "graph": graph_file, "graph_rows": rows_file,
                **self._graph_key()}
        atomic_write_bytes(target / _META, json.dumps(meta, sort_keys=True).encode())

    @classmethod
    def load(cls, directory: str | os.PathLike[str], spec: KnnFieldSpec, *, approximate_threshold: int = 0,
             mmap: bool = False) -> "VectorIndex":
        """Reopen a :meth:`save`; the stored graph is reused when it was built with ``spec``'s
        space/m/ef_construction, otherwise it is rebuilt lazily. ``mmap`` maps the vectors file."""
        source = Path(directory)
        meta = json.loads((source / _META).read_text())
        if meta.get("format") != INDEX_FORMAT:
            raise ValueError(f"vector index {source} has unknown format {meta.get('format')}")
        doc_ids = np.load(source / _DOC_IDS, allow_pickle=False)
        vectors = np.load(source / _VECTORS, allow_pickle=False, mmap_mode="r" if mmap else None)
        if doc_ids.shape[0] != meta["count"] or vectors.shape[0] != meta["count"]:
            raise ValueError(f"vector index {source} is incomplete (counts do not match meta.json)")
        index = cls(doc_ids, vectors, spec, approximate_threshold=approximate_threshold)
        graph_file = meta.get("graph")
        if graph_file and spec.ann_enabled and (source / graph_file).exists() \
                and all(meta.get(key) == value for key, value in index._graph_key().items()):
            graph = faiss.read_index(str(source / graph_file))
            rows_file = meta.get("graph_rows")
            rows = np.load(source / rows_file, allow_pickle=False) if rows_file else None
            if graph.ntotal == len(index) and graph.d == index.dimension \
                    and (rows is None or rows.shape[0] == len(index)):
                if rows is not None:
                    index._set_graph_rows(rows.astype(np.int64))
                back_hnsw_with_huge_pages(graph)
                index._graph = graph
        return index
