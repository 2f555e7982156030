"""Query rescoring (OpenSearch QueryRescorer), applied per shard to the top of the first pass.

For each rescorer in order: take the top ``window_size`` hits, score them with the rescore query
(only those docs are evaluated, which is what keeps an ``sltr`` rescore cheap), combine
``query_weight × first`` with ``rescore_query_weight × second`` by ``score_mode`` (a doc the rescore
query does not match keeps ``query_weight × first``), sort the window, give hits beyond it
``query_weight × first``, then re-sort everything by score (ties by doc id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from localnode.errors import OpenSearchError
from localnode.search.query import Query, Searcher, Weight

if TYPE_CHECKING:
    from localnode.search.execute import RescoreSpec

_MODES = {"total", "multiply", "avg", "max", "min"}


def apply_rescores(searcher: Searcher, docs: np.ndarray, scores: np.ndarray, specs: list["RescoreSpec"],
                   weights: list[Weight]) -> tuple[np.ndarray, np.ndarray]:
    for spec, weight in zip(specs, weights):
        docs, scores = _rescore_once(searcher, docs, scores, spec, weight)
    return docs, scores


def _rescore_once(searcher: Searcher, docs: np.ndarray, scores: np.ndarray, spec: "RescoreSpec",
                  weight: Weight) -> tuple[np.ndarray, np.ndarray]:
    window = spec.window
    if window < 0:
        # QueryRescorer sizes an array by the window: OpenSearch 2.19 fails with a 500
        raise OpenSearchError(str(window), status=500, error_type="negative_array_size_exception")
    with np.errstate(over="ignore", invalid="ignore"):
        query_weight = np.float32(spec.query_weight)
        rescore_weight = np.float32(spec.rescore_query_weight)
    mode = spec.score_mode
    first = scores.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):   # non-finite weights: NaN/inf scores, as in Java
        return _rescore_window(searcher, docs, first, query_weight, rescore_weight, mode, window, weight)


def _rescore_window(searcher: Searcher, docs: np.ndarray, first: np.ndarray, query_weight: np.float32,
                    rescore_weight: np.float32, mode: str, window: int, weight: Weight) -> tuple[np.ndarray, np.ndarray]:
    new_scores = (first * query_weight).astype(np.float32)
    head = min(window, len(docs))
    if head:
        window_docs = docs[:head]
        second, matched = evaluate_on_docs(searcher, weight, window_docs)
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


def evaluate_on_docs(searcher: Searcher, query: Query | Weight, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores of ``query`` (or of an already built weight) for specific global docs: (float32 scores,
    matched mask)."""
    weight = query if isinstance(query, Weight) else query.weight(searcher, np.float32(1.0), True)
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
