"""Query rescoring (OpenSearch QueryRescorer), applied per shard to the top of the first pass.

For each rescorer in order: take the top ``window_size`` hits, score them with the rescore query
(only those docs are evaluated, which is what keeps an ``sltr`` rescore cheap), combine
``query_weight × first`` with ``rescore_query_weight × second`` by ``score_mode`` (a doc the rescore
query does not match keeps ``query_weight × first``), sort the window, give hits beyond it
``query_weight × first``, then re-sort everything by score (ties by doc id).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from localnode.errors import IllegalArgumentError, ParsingError
from localnode.search.query import Query, Searcher

_MODES = {"total", "multiply", "avg", "max", "min"}


def apply_rescores(searcher: Searcher, docs: np.ndarray, scores: np.ndarray, specs: list[dict[str, Any]],
                   queries: list[Query]) -> tuple[np.ndarray, np.ndarray]:
    for spec, query in zip(specs, queries):
        docs, scores = _rescore_once(searcher, docs, scores, spec, query)
    return docs, scores


def _rescore_once(searcher: Searcher, docs: np.ndarray, scores: np.ndarray, spec: dict[str, Any],
                  query: Query) -> tuple[np.ndarray, np.ndarray]:
    window = int(spec.get("window_size", 10))
    if window < 0:
        raise IllegalArgumentError(f"[window_size] must be greater than or equal to 0, got {window}")
    if window > 10_000:
        raise IllegalArgumentError(
            f"Rescore window [{window}] is too large. It must be less than [10000]. This prevents allocating "
            "massive heaps for storing the results to be rescored. This limit can be set by changing the "
            "[index.max_rescore_window] index level setting.")
    inner = spec["query"]
    query_weight = np.float32(inner.get("query_weight", 1.0))
    rescore_weight = np.float32(inner.get("rescore_query_weight", 1.0))
    mode = str(inner.get("score_mode", "total")).lower()
    if mode not in _MODES:
        raise ParsingError(f"illegal score_mode [{mode}]", error_type="illegal_argument_exception")
    first = scores.astype(np.float32)
    new_scores = (first * query_weight).astype(np.float32)
    head = min(window, len(docs))
    if head:
        window_docs = docs[:head]
        second, matched = evaluate_on_docs(searcher, query, window_docs)
        a = (first[:head] * query_weight).astype(np.float32)
        b = (second * rescore_weight).astype(np.float32)
        combined = _combine(a, b, mode)
        new_scores[:head] = np.where(matched, combined, a)
        window_order = np.lexsort((window_docs, -new_scores[:head].astype(np.float64)))
        docs = np.concatenate([window_docs[window_order], docs[head:]])
        new_scores = np.concatenate([new_scores[:head][window_order], new_scores[head:]])
    order = np.lexsort((docs, -new_scores.astype(np.float64)))
    return docs[order], new_scores[order]


def _combine(a: np.ndarray, b: np.ndarray, mode: str) -> np.ndarray:
    if mode == "total":
        return (a + b).astype(np.float32)
    if mode == "multiply":
        return (a * b).astype(np.float32)
    if mode == "avg":
        return ((a + b) / np.float32(2)).astype(np.float32)
    if mode == "max":
        return np.maximum(a, b)
    return np.minimum(a, b)


def evaluate_on_docs(searcher: Searcher, query: Query, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores of ``query`` for specific global docs: (float32 scores, matched mask)."""
    weight = query.weight(searcher, np.float32(1.0), True)
    scores = np.zeros(len(docs), dtype=np.float32)
    matched = np.zeros(len(docs), dtype=bool)
    for ctx in searcher.segment_contexts():
        in_seg = np.flatnonzero((docs >= ctx.base) & (docs < ctx.base + ctx.segment.max_doc))
        if not len(in_seg):
            continue
        local = (docs[in_seg] - ctx.base).astype(np.int32)
        order = np.argsort(local)
        found = weight.matches_in(ctx, local[order]) if hasattr(weight, "matches_in") else \
            weight.matches(ctx).restrict(np.sort(local))
        positions = np.searchsorted(found.docs, local)
        clipped = np.minimum(positions, max(len(found.docs) - 1, 0))
        hit = (len(found.docs) > 0) & (found.docs[clipped] == local) if len(found.docs) else np.zeros(len(local), bool)
        scores[in_seg[hit]] = found.scores[clipped[hit]]
        matched[in_seg[hit]] = True
    return scores, matched
